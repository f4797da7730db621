"""Weighted indicators, for sectors with no national grading method (e.g. crowded places, 人员密集场所).

Each indicator is a facility column, normalised to 0..100 between its ``min`` and ``max`` (clipped; reversed for
``lower_worse``; text values mapped through ``categories``). Cells are read as quantities are: ``3000人``,
``约2000``, ``0.5万`` and ``50%`` are numbers, with their text shown beside them in the reason. The index is the
weighted mean; fixed breaks turn it into a level. All of it is configuration; nothing is evaluated as code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskmap.columns import FACILITY_ID
from riskmap.config import Indicator, IndicatorParams
from riskmap.frames import per_distinct
from riskmap.i18n import N_, per_row, rendered
from riskmap.methods.base import MethodResult, empty_result, fmt, level_labels
from riskmap.validate import read_quantities, to_number

__all__ = ["normalise", "index_ranks", "grade_facilities"]


def index_ranks(index: np.ndarray | pd.Series, params: IndicatorParams) -> np.ndarray:
    """Level rank from the 0..100 index (a value equal to a break takes the higher level).

    >>> index_ranks(np.array([75, 74.9, 50, 25, 24.9]), IndicatorParams()).tolist()
    [4, 3, 3, 2, 1]
    """
    x = np.asarray(index, dtype=float)
    b = params.breaks
    return np.select([x >= b["red"], x >= b["orange"], x >= b["yellow"]], [4, 3, 2], default=1)


def normalise(values: pd.Series, lo: float, hi: float, lower_worse: bool = False) -> pd.Series:
    """Scale to 0..100 between ``lo`` and ``hi`` (clipped); reversed when lower values are worse."""
    scaled = ((values - lo) / (hi - lo) * 100.0).clip(0.0, 100.0)
    return 100.0 - scaled if lower_worse else scaled


def _values(cells: pd.Series, name: str, ind: Indicator) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The numbers of one indicator's cells, how each is shown in the reason, and why a refused one is.

    Cells are read as quantities are (:func:`riskmap.validate.read_quantities`): a unit is dropped (3000人),
    约/左右 read as the number (约2000), 万 multiplies (0.5万 = 5000), and a percent is percent points, or a
    fraction on an indicator whose ``max`` is at most 1 (50% = 0.5). A cell that is not the plain number shows
    its text beside the number read. Refused, with the reason: a bound (3000以上), a text, a decimal comma, a
    number beyond floating point, and a negative value where the scale starts at 0 or above (a negative count
    of persons is a typing slip, not zero).
    """
    read = read_quantities(cells)
    percent = read["unit"] == "%"
    value = read["value"].where(~percent, read["value"] / 100 if ind.max <= 1 else read["value"])
    problem = read["problem"].copy()
    negative = (value < 0) & (problem == "") & (ind.min >= 0)
    if negative.any():
        problem[negative] = per_row(
            N_("'{cell}' is negative: {name} starts at {min}"),
            cell=cells[negative].astype(str).str.strip(), name=name, min=f"{ind.min:g}",
        )  # fmt: skip
    value = value.where(problem == "")
    plain = per_distinct(cells.astype(str), to_number).notna()
    shown = per_distinct(value, lambda v: v.map("{:g}".format)).astype(str)
    noted = value.notna() & ~plain
    shown = shown.where(~noted, shown + " ('" + cells.astype(str).str.strip() + "')")
    return value, shown, problem


def grade_facilities(facilities: pd.DataFrame, params: IndicatorParams) -> MethodResult:
    """Index and level of every facility that has all configured indicators.

    A facility missing a value, or with a value refused (see :func:`_values`; categorical indicators: not one
    of the categories), gets no level from this method, with a reason naming the indicator, the column and
    why. Refused values (not empty cells) are counted in the result's ``unusable``: the facility is graded
    by its other methods on incomplete data, and says so.
    """
    fac = facilities.set_index(FACILITY_ID)
    if len(fac) == 0:
        return empty_result()
    if not params.indicators:
        reason = "indicator: no indicators configured ([methods.indicator.indicators])"
        return MethodResult(
            results=pd.DataFrame(
                {"score": np.nan, "rank": 0, "reason_zh": reason, "reason_en": reason}, index=fac.index
            )
        )
    total_w = sum(ind.weight for ind in params.indicators.values())
    index = pd.Series(0.0, index=fac.index)
    missing_zh = pd.Series("", index=fac.index)
    missing_en = pd.Series("", index=fac.index)
    unusable = pd.Series(0, index=fac.index)
    parts: list[pd.Series] = []
    for name, ind in params.indicators.items():
        problem = pd.Series("", index=fac.index, dtype=object)
        if ind.column not in fac.columns:
            raw = pd.Series(np.nan, index=fac.index)
            shown = pd.Series("nan", index=fac.index)
        elif ind.categories is not None:
            shown = fac[ind.column].astype(str).str.strip()
            raw = shown.map(ind.categories).astype(float)
        else:
            raw, shown, problem = _values(fac[ind.column], name, ind)
        missing = raw.isna()
        bad = (problem != "").to_numpy()
        why_zh = pd.Series(np.where(bad, ": " + rendered(problem, "zh"), ""), index=fac.index)
        why_en = pd.Series(np.where(bad, ": " + rendered(problem, "en"), ""), index=fac.index)
        missing_zh[missing] += f"{name}({ind.column}) 缺失或无法识别" + why_zh[missing] + "; "
        missing_en[missing] += f"{name} ({ind.column}) missing or not understood" + why_en[missing] + "; "
        unusable += (problem != "").astype(int)
        score = normalise(raw, ind.min, ind.max, ind.direction == "lower_worse")
        index += score.fillna(0.0) * (ind.weight / total_w)
        parts.append(name + "=" + shown + "→" + fmt(score, 0))
    complete = missing_zh == ""
    rank = pd.Series(np.where(complete, index_ranks(index, params), 0), index=fac.index)
    # ", ".join of the parts, as one vectorised concatenation per indicator rather than a join per facility.
    detail = parts[0]
    for part in parts[1:]:
        detail = detail + ", " + part
    idx_txt = fmt(index, 1)
    zh = np.where(
        complete,
        "指标法: 综合指数 " + idx_txt + " (" + detail + ") → " + level_labels(rank, "zh"),
        "指标法: " + missing_zh.str.rstrip("; "),
    )
    en = np.where(
        complete,
        "indicator: index " + idx_txt + " (" + detail + ") -> " + level_labels(rank, "en"),
        "indicator: " + missing_en.str.rstrip("; "),
    )
    results = pd.DataFrame(
        {"score": index.where(complete), "rank": rank.astype(int), "reason_zh": zh, "reason_en": en},
        index=fac.index,
    )
    results.index.name = FACILITY_ID
    return MethodResult(results=results, unusable=unusable[unusable > 0])
