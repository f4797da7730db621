"""What every grading method returns, and small helpers shared by the methods."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmap.config import PointAggregation
from riskmap.levels import Level
from riskmap.validate import rejects_frame

__all__ = ["MethodResult", "RESULT_COLUMNS", "fmt", "level_labels", "aggregate_points", "empty_result"]

#: Columns of a method's per-facility result (index: facility_id). ``rank`` 0 means "not applicable".
RESULT_COLUMNS = ["score", "rank", "reason_zh", "reason_en"]


@dataclass
class MethodResult:
    """Per-facility results of one method plus the related-table rows it could not use."""

    results: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=rejects_frame)


def fmt(values: pd.Series, digits: int = 2) -> pd.Series:
    """Numbers as short text: 10 -> "10.0", 0.1381 -> "0.14", and with ``digits=0`` 100 -> "100".

    >>> fmt(pd.Series([10.0, 0.1381, 2.5])).tolist(), fmt(pd.Series([100.0]), 0).tolist()
    (['10.0', '0.14', '2.5'], ['100'])
    """
    if digits == 0:
        return values.round(0).map(lambda v: f"{v:.0f}")
    text = values.round(digits).map(lambda v: f"{v:.{digits}f}".rstrip("0")).astype(str)
    return text.where(~text.str.endswith("."), text + "0")


def level_labels(ranks: pd.Series, lang: str) -> pd.Series:
    """Level labels for ranks 1..4 (empty for 0)."""
    names = {0: ""} | {int(lvl): (lvl.zh if lang == "zh" else lvl.en) for lvl in Level}
    return ranks.astype(int).map(names)


def aggregate_points(points: pd.DataFrame, params: PointAggregation, prefix: tuple[str, str]) -> pd.DataFrame:
    """Facility results from graded risk points.

    ``points`` has ``facility_id``, ``rank`` (1..4), ``score`` and ``text_zh``/``text_en`` describing each point.
    ``worst``: the facility takes its worst point (highest rank, then highest score). ``count``: the facility is
    at the highest level for which at least ``count_thresholds[level]`` points are at that level or above.
    """
    from riskmap.validate import FACILITY_ID

    pts = points.sort_values([FACILITY_ID, "rank", "score"], ascending=[True, False, False], kind="stable")
    worst = pts.groupby(FACILITY_ID, sort=True).head(1).set_index(FACILITY_ID)
    counts = (
        pd.crosstab(pts[FACILITY_ID], pts["rank"])
        .reindex(columns=[4, 3, 2, 1], fill_value=0)
        .reindex(worst.index)
    )
    n_total = counts.sum(axis=1)
    if params.aggregate == "worst":
        rank = worst["rank"].astype(int)
    else:
        at_or_above = counts.cumsum(
            axis=1
        )  # columns red, orange, yellow, blue: points at that level or above
        need = [params.count_thresholds.get(Level(r).key, 1) for r in (4, 3, 2, 1)]  # type: ignore[call-overload]
        meets = at_or_above.to_numpy() >= np.array(need)
        first = np.where(meets.any(axis=1), meets.argmax(axis=1), -1)
        rank = pd.Series(np.where(first >= 0, 4 - first, 0), index=worst.index, dtype=int)
    tally_zh = (
        "红"
        + counts[4].astype(str)
        + "/橙"
        + counts[3].astype(str)
        + "/黄"
        + counts[2].astype(str)
        + "/蓝"
        + counts[1].astype(str)
    )
    tally_en = (
        counts[4].astype(str)
        + " red, "
        + counts[3].astype(str)
        + " orange, "
        + counts[2].astype(str)
        + " yellow, "
        + counts[1].astype(str)
        + " blue"
    )
    if params.aggregate == "worst":
        zh = prefix[0] + ": 最高风险点 " + worst["text_zh"] + " (共 " + n_total.astype(str) + " 个风险点)"
        en = prefix[1] + ": worst risk point " + worst["text_en"] + " (" + n_total.astype(str) + " points)"
    else:
        zh = (
            prefix[0]
            + ": 按风险点数量规则 ("
            + tally_zh
            + ") → "
            + level_labels(rank, "zh")
            + "; 最高风险点 "
            + worst["text_zh"]
        )
        en = (
            prefix[1]
            + ": by point counts ("
            + tally_en
            + ") -> "
            + level_labels(rank, "en")
            + "; worst point "
            + worst["text_en"]
        )
    return pd.DataFrame(
        {"score": worst["score"].astype(float), "rank": rank, "reason_zh": zh, "reason_en": en},
        index=worst.index,
    )


def empty_result() -> MethodResult:
    """A method result for a method that has no records at all."""
    return MethodResult(results=pd.DataFrame(columns=RESULT_COLUMNS))
