"""What every grading method returns (:class:`MethodResult`), and small helpers the methods share.

Public: the registry (``methods/__init__.py``), the adjustment and the sensitivity runs read results and level
names through it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmap.config import PointAggregation
from riskmap.frames import per_distinct
from riskmap.levels import Level, label
from riskmap.rejects import rejects_frame

__all__ = [
    "MethodResult",
    "RESULT_COLUMNS",
    "fmt",
    "level_labels",
    "level_names_zh",
    "aggregate_points",
    "empty_result",
]

#: Columns of a method's per-facility result (index: facility_id). ``rank`` 0 means "not applicable".
RESULT_COLUMNS = ["score", "rank", "reason_zh", "reason_en"]


@dataclass
class MethodResult:
    """Per-facility results of one method plus the related-table rows it could not use."""

    results: pd.DataFrame
    rejects: pd.DataFrame = field(default_factory=rejects_frame)
    #: Per facility id, the values of its own register the method could not use (a count > 0; the indicator
    #: method's refused cells): no rejects row (the facility itself is not rejected), but the facility is flagged
    #: as graded on incomplete data.
    unusable: pd.Series | None = None


def fmt(values: pd.Series, digits: int = 2) -> pd.Series:
    """Numbers as short text: 10 -> "10.0", 0.1381 -> "0.14", and with ``digits=0`` 100 -> "100".

    >>> fmt(pd.Series([10.0, 0.1381, 2.5])).tolist(), fmt(pd.Series([100.0]), 0).tolist()
    (['10.0', '0.14', '2.5'], ['100'])
    """
    return per_distinct(values.round(digits), lambda v: _fmt_rounded(v, digits))


def _fmt_rounded(values: pd.Series, digits: int) -> pd.Series:
    if digits == 0:
        return values.map(lambda v: f"{v:.0f}")
    text = values.map(lambda v: f"{v:.{digits}f}".rstrip("0")).astype(str)
    return text.where(~text.str.endswith("."), text + "0")


def level_labels(ranks: pd.Series, lang: str) -> pd.Series:
    """Level labels for ranks 1..4 (empty for 0)."""
    names = {0: ""} | {int(lvl): (lvl.zh if lang == "zh" else lvl.en) for lvl in Level}
    return ranks.astype(int).map(names)


def level_names_zh(levels: pd.Series) -> pd.Series:
    """Chinese level names (重大风险 ... 未评估 for ``none``) of level keys, once per distinct key."""
    return per_distinct(
        levels, lambda keys: keys.map(lambda k: Level.parse(k).zh if k != "none" else label("none"))
    )


def _descending_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes that order ``values`` from highest to lowest (NaN last; equal values, equal codes)."""
    # + 0.0 turns -0.0 into 0.0: they are equal, so they must share a code.
    codes, uniques = pd.factorize(values.to_numpy(dtype=float) + 0.0)
    position = np.empty(len(uniques), dtype=np.int64)
    position[np.argsort(-uniques)] = np.arange(len(uniques))
    return np.where(codes < 0, len(uniques), position[codes]), len(uniques) + 1


def _first_best(codes: np.ndarray, n_groups: int, rank: pd.Series, score: pd.Series) -> np.ndarray:
    """Per group (``codes`` 0..n_groups-1), the row with the highest rank, then score, then the first.

    What a stable sort and ``drop_duplicates`` give, without sorting: one integer key orders rows by (rank,
    score, row number), and its per-group minimum is the row wanted.
    """
    n = len(codes)
    rank_codes, _ = _descending_codes(rank)
    score_codes, n_scores = _descending_codes(score)
    key = (rank_codes * n_scores + score_codes) * n + np.arange(n)  # < ranks x scores x rows: fits int64
    best = np.full(n_groups, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, codes, key)
    return best % n


def aggregate_points(
    points: pd.DataFrame,
    params: PointAggregation,
    prefix: tuple[str, str],
    describe: Callable[[pd.DataFrame], tuple[pd.Series, pd.Series]],
) -> pd.DataFrame:
    """Facility results from graded risk points.

    ``points`` has ``facility_id``, ``rank`` (1..4) and ``score`` plus whatever ``describe`` needs to word a
    point in Chinese and English; it is called on the deciding point of each facility only, so a million points
    cost one string per facility, not per point. ``worst``: the facility takes its worst point (highest rank,
    then highest score). ``count``: the facility is at the highest level for which at least
    ``count_thresholds[level]`` points are at that level or above.
    """
    from riskmap.columns import FACILITY_ID

    # Facilities as integer codes in id order (a missing id last, as sort_values puts it): then picking and
    # counting work on integers, not millions of id strings.
    codes, ids = pd.factorize(points[FACILITY_ID], sort=True, use_na_sentinel=False)
    rank_arr = points["rank"].to_numpy()
    worst = points.iloc[_first_best(codes, len(ids), points["rank"], points["score"])].set_index(FACILITY_ID)
    # Points per facility and level: a bincount over (facility, rank).
    valid = (rank_arr >= 1) & (rank_arr <= 4) & ~pd.isna(ids)[codes]  # groupby leaves a missing id out
    tally = np.bincount(codes[valid] * 5 + rank_arr[valid].astype(np.int64), minlength=len(ids) * 5)
    tally = tally.reshape(len(ids), 5)
    counts = pd.DataFrame(tally[:, [4, 3, 2, 1]], index=worst.index, columns=[4, 3, 2, 1])
    n_total = counts.sum(axis=1).astype(str)
    if params.aggregate == "worst":
        rank = worst["rank"].astype(int)
    else:
        at_or_above = counts.cumsum(axis=1).to_numpy()  # red, orange, yellow, blue: points at or above
        need = np.array([params.count_thresholds.get(Level(r).key, 1) for r in (4, 3, 2, 1)])  # type: ignore[call-overload]
        meets = at_or_above >= need
        first = np.where(meets.any(axis=1), meets.argmax(axis=1), -1)
        rank = pd.Series(np.where(first >= 0, 4 - first, 0), index=worst.index, dtype=int)
    text_zh, text_en = describe(worst)
    if params.aggregate == "worst":
        zh = prefix[0] + ": 最高风险点 " + text_zh + " (共 " + n_total + " 个风险点)"
        en = prefix[1] + ": worst risk point " + text_en + " (" + n_total + " points)"
    else:
        c = {r: counts[r].astype(str) for r in (4, 3, 2, 1)}
        tally_zh = "红" + c[4] + "/橙" + c[3] + "/黄" + c[2] + "/蓝" + c[1]
        tally_en = c[4] + " red, " + c[3] + " orange, " + c[2] + " yellow, " + c[1] + " blue"
        zh = (
            prefix[0]
            + ": 按风险点数量规则 ("
            + tally_zh
            + ") → "
            + level_labels(rank, "zh")
            + "; 最高风险点 "
            + text_zh
        )
        en = (
            prefix[1]
            + ": by point counts ("
            + tally_en
            + ") -> "
            + level_labels(rank, "en")
            + "; worst point "
            + text_en
        )
    return pd.DataFrame(
        {"score": worst["score"].astype(float), "rank": rank, "reason_zh": zh, "reason_en": en},
        index=worst.index,
    )


def empty_result() -> MethodResult:
    """A method result for a method that has no records at all."""
    return MethodResult(results=pd.DataFrame(columns=RESULT_COLUMNS))
