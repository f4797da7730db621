"""LS risk matrix (风险矩阵法): R = L × S, likelihood and severity each 1..5.

The level of a risk point comes from a 5×5 matrix: a preset banding of R (common: 20–25 red, 15–16 orange,
9–12 yellow, 1–8 blue) or a full matrix from the project file. A facility takes its worst risk point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from riskmap.columns import FACILITY_ID
from riskmap.config import LS_PRESETS, LSMatrixParams
from riskmap.frames import per_distinct
from riskmap.i18n import Msg
from riskmap.levels import Level
from riskmap.methods.base import MethodResult, aggregate_points, empty_result, level_labels
from riskmap.rejects import make_rejects, rejects_frame
from riskmap.validate import to_number

__all__ = ["matrix_ranks", "point_ranks", "grade_facilities"]


def matrix_ranks(params: LSMatrixParams) -> np.ndarray:
    """The 5×5 matrix of level ranks (1..4), rows L=1..5, columns S=1..5.

    >>> m = matrix_ranks(LSMatrixParams())
    >>> int(m[3, 4]), int(m[2, 3]), int(m[0, 0])  # L4xS5=20 red, L3xS4=12 yellow, 1 blue
    (4, 2, 1)
    """
    if params.matrix is not None:
        return np.array([[int(Level.parse(k)) for k in row] for row in params.matrix], dtype=np.int8)
    bands = LS_PRESETS[params.preset]
    r = np.outer(np.arange(1, 6), np.arange(1, 6))
    out = np.zeros((5, 5), dtype=np.int8)
    for key, (lo, hi) in bands.items():
        out[(r >= lo) & (r <= hi)] = int(Level.parse(key))
    # Products that no band names (e.g. 13, 14, 17–19 are not L×S values, but a preset may leave gaps)
    # take the band below, so a matrix never has a hole.
    for i in range(5):
        for j in range(5):
            if out[i, j] == 0:
                lower = [int(Level.parse(k)) for k, (lo, _) in bands.items() if lo <= r[i, j]]
                out[i, j] = max(lower) if lower else 1
    return out


def point_ranks(
    likelihood: Sequence[int] | np.ndarray, severity: Sequence[int] | np.ndarray, params: LSMatrixParams
) -> np.ndarray:
    """Level rank of each risk point (vectorised lookup)."""
    m = matrix_ranks(params)
    return m[np.asarray(likelihood, dtype=int) - 1, np.asarray(severity, dtype=int) - 1]


def _describe(worst: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    base = worst["name"] + " L=" + worst["l"].astype(str)
    s, r, rank = worst["s"].astype(str), worst["score"].astype(int).astype(str), worst["rank"]
    zh = base + "×S=" + s + "=" + r + " → " + level_labels(rank, "zh")
    en = base + " x S=" + s + " = " + r + " -> " + level_labels(rank, "en")
    return zh, en


def _concat(rejects: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(rejects, ignore_index=True) if rejects else rejects_frame()


def grade_facilities(
    points: pd.DataFrame, params: LSMatrixParams, source: str = "risk_points"
) -> MethodResult:
    """Grade facilities from their risk points; reject points whose L or S is not an integer 1..5."""
    # A few distinct texts among millions of points: parse each once.
    lik = per_distinct(points["likelihood"], to_number)
    sev = per_distinct(points["severity"], to_number)
    bad_l = ~lik.isin([1, 2, 3, 4, 5])
    bad_s = ~sev.isin([1, 2, 3, 4, 5]) & ~bad_l  # one reject per row, for the first bad field
    rejects = [
        make_rejects(source, points[bad], col, Msg("{column} must be an integer 1..5", column=col), "score")
        for col, bad in (("likelihood", bad_l), ("severity", bad_s))
        if bad.any()
    ]
    keep = ~(bad_l | bad_s)
    # Only the columns read below: filtering every text column of millions of points costs seconds.
    points = points.loc[keep, [c for c in (FACILITY_ID, "point_name") if c in points.columns]]
    lik, sev = lik[keep].astype(int), sev[keep].astype(int)
    if points.empty:
        return MethodResult(results=empty_result().results, rejects=_concat(rejects))
    graded = pd.DataFrame(
        {
            FACILITY_ID: points[FACILITY_ID],
            "rank": point_ranks(lik, sev, params).astype(int),
            "score": (lik * sev).astype(float),
            "name": points["point_name"].astype(str) if "point_name" in points else "",
            "l": lik,
            "s": sev,
        }
    )
    results = aggregate_points(graded, params, ("LS", "LS"), _describe)
    return MethodResult(
        results=results, rejects=pd.concat(rejects, ignore_index=True) if rejects else rejects_frame()
    )
