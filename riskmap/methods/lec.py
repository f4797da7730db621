"""LEC (作业条件危险性评价法): D = L × E × C per risk point.

L (likelihood) ∈ {10, 6, 3, 1, 0.5, 0.2, 0.1}, E (exposure frequency) ∈ {10, 6, 3, 2, 1, 0.5}, C (consequence)
∈ {100, 40, 15, 7, 3, 1}. Default levels: D ≥ 320 red, 160 ≤ D < 320 orange, 70 ≤ D < 160 yellow, D < 70 blue;
where a province puts the bound in the lower class, set ``boundary = "upper"``. A facility takes its worst point
(or a count rule).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmap.columns import FACILITY_ID
from riskmap.config import LECParams
from riskmap.frames import per_distinct
from riskmap.i18n import Msg
from riskmap.methods.base import MethodResult, aggregate_points, empty_result, level_labels
from riskmap.rejects import make_rejects, rejects_frame
from riskmap.validate import to_number

__all__ = ["L_VALUES", "E_VALUES", "C_VALUES", "point_ranks", "grade_facilities"]

L_VALUES = (10.0, 6.0, 3.0, 1.0, 0.5, 0.2, 0.1)
E_VALUES = (10.0, 6.0, 3.0, 2.0, 1.0, 0.5)
C_VALUES = (100.0, 40.0, 15.0, 7.0, 3.0, 1.0)


def point_ranks(d: np.ndarray | pd.Series, params: LECParams) -> np.ndarray:
    """Level rank (1..4) of each D.

    >>> point_ranks(np.array([320, 319.9, 160, 70, 69.9]), LECParams()).tolist()
    [4, 3, 3, 2, 1]
    >>> point_ranks(np.array([320, 160, 70]), LECParams(boundary="upper")).tolist()
    [3, 2, 1]
    """
    d = np.asarray(d, dtype=float)
    t = params.thresholds
    if params.boundary == "lower":
        conds = [d >= t["red"], d >= t["orange"], d >= t["yellow"]]
    else:
        conds = [d > t["red"], d > t["orange"], d > t["yellow"]]
    return np.select(conds, [4, 3, 2], default=1)


def _describe(worst: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    def g(values: pd.Series) -> pd.Series:
        return per_distinct(values, lambda v: v.map("{:g}".format))

    factors = g(worst["l"]) + "×" + g(worst["e"]) + "×" + g(worst["c"])
    d = g(worst["score"])
    zh = worst["name"] + " D=" + factors + "=" + d + " → " + level_labels(worst["rank"], "zh")
    en = (
        worst["name"]
        + " D="
        + factors.str.replace("×", " x ")
        + " = "
        + d
        + " -> "
        + level_labels(worst["rank"], "en")
    )
    return zh, en


def _in_set(values: pd.Series, allowed: tuple[float, ...]) -> np.ndarray:
    """Whether each value is (close to) one of ``allowed``; checked once per distinct value."""

    def check(v: pd.Series) -> pd.Series:
        return pd.Series(
            np.isclose(v.to_numpy()[:, None], np.array(allowed)[None, :]).any(axis=1), index=v.index
        )

    return per_distinct(values, check).to_numpy()


def _concat(rejects: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(rejects, ignore_index=True) if rejects else rejects_frame()


def grade_facilities(points: pd.DataFrame, params: LECParams, source: str = "risk_points") -> MethodResult:
    """Grade facilities from the L, E, C of their risk points; a value outside its set is a reject."""
    # A few distinct texts among millions of points: parse each once.
    values = {col: per_distinct(points[col], to_number) for col in ("lec_l", "lec_e", "lec_c")}
    allowed = {"lec_l": L_VALUES, "lec_e": E_VALUES, "lec_c": C_VALUES}
    bad_any = pd.Series(False, index=points.index)
    rejects = []
    for col, v in values.items():
        bad = ~_in_set(v, allowed[col]) & ~bad_any.to_numpy()
        bad = pd.Series(bad, index=points.index)
        if bad.any():
            sets = ", ".join(f"{x:g}" for x in allowed[col])
            rejects.append(
                make_rejects(
                    source,
                    points[bad],
                    col,
                    Msg("{column} must be one of {values}", column=col, values=sets),
                    "score",
                )
            )
        bad_any |= bad
    keep = ~bad_any
    # Only the columns read below: filtering every text column of millions of points costs seconds.
    pts = points.loc[keep, [c for c in (FACILITY_ID, "point_name") if c in points.columns]]
    if pts.empty:
        return MethodResult(results=empty_result().results, rejects=_concat(rejects))
    lv, ev, cv = (values[c][keep] for c in ("lec_l", "lec_e", "lec_c"))
    d = lv * ev * cv
    graded = pd.DataFrame(
        {
            FACILITY_ID: pts[FACILITY_ID],
            "rank": point_ranks(d, params).astype(int),
            "score": d.astype(float),
            "name": pts["point_name"].astype(str) if "point_name" in pts else "",
            "l": lv,
            "e": ev,
            "c": cv,
        }
    )
    results = aggregate_points(graded, params, ("LEC", "LEC"), _describe)
    return MethodResult(
        results=results, rejects=pd.concat(rejects, ignore_index=True) if rejects else rejects_frame()
    )
