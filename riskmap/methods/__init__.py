"""Grading methods, picked by name, and the scoring stage that applies them per sector.

Each method turns a facility's related records into a score, a level rank (0 = the method does not apply, e.g.
a chemical plant below the GB 18218 threshold) and reasons in Chinese and English. A facility's level is the
highest its sector's methods give; a facility no method can grade is rejected with the reasons, never made
blue by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from riskmap.config import Config
from riskmap.levels import Level, level_from_rank
from riskmap.methods import chem2018, gb18218, indicator, lec, ls_matrix
from riskmap.methods._common import MethodResult, empty_result
from riskmap.validate import FACILITY_ID, SECTOR, make_rejects, rejects_frame

__all__ = [
    "METHODS",
    "Method",
    "ScoringInputs",
    "score_facilities",
    "LEVEL",
    "LEVEL_ZH",
    "SCORE",
    "METHOD",
    "REASONS",
    "REASONS_EN",
    "PERSONS",
    "DATA_ISSUES",
]

LEVEL = "level"
LEVEL_ZH = "level_zh"
SCORE = "score"
METHOD = "method"
REASONS = "reasons"
REASONS_EN = "reasons_en"
#: Number of a facility's related rows (inventory, risk points, deductions) that were rejected.
DATA_ISSUES = "rejected_records"
#: Persons within the GB 18218 radius of each facility (from a column or the population raster).
PERSONS = "persons_500m"

_SEP_ZH = "；"
_SEP_EN = "; "


@dataclass
class ScoringInputs:
    """What the methods read: facilities and the related tables, with their file names for rejects."""

    facilities: pd.DataFrame
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    #: Results already computed in this run (chem2018 reuses the GB 18218 grades).
    cache: dict[str, MethodResult] = field(default_factory=dict)


def _gb18218(inputs: ScoringInputs, config: Config) -> MethodResult:
    cached = inputs.cache.get("gb18218")
    if cached is not None:
        return cached
    inv = inputs.tables.get("inventory")
    if inv is None or inv.empty:
        return empty_result()
    persons = inputs.facilities.set_index(FACILITY_ID)[PERSONS]
    params = config.methods.gb18218
    result = gb18218.grade_facilities(
        inv,
        persons,
        grade_levels=params.grade_levels,
        beta_overrides=params.beta_overrides,
        source=inputs.sources.get("inventory", "inventory"),
    )
    inputs.cache["gb18218"] = result
    return result


def _points(
    module: ModuleType, params_of: Callable[[Config], Any]
) -> Callable[[ScoringInputs, Config], MethodResult]:
    def grade(inputs: ScoringInputs, config: Config) -> MethodResult:
        pts = inputs.tables.get("risk_points")
        if pts is None or pts.empty:
            return empty_result()
        return module.grade_facilities(
            pts, params_of(config), inputs.sources.get("risk_points", "risk_points")
        )

    return grade


def _chem2018(inputs: ScoringInputs, config: Config) -> MethodResult:
    rows = inputs.tables.get("deductions")
    if rows is None or rows.empty:
        return empty_result()
    grades = None
    if config.methods.chem2018.major_hazard_from_gb18218 and "inventory" in inputs.tables:
        grades = _gb18218(inputs, config).results.get("gb18218_grade")
    return chem2018.grade_facilities(
        rows, config.methods.chem2018, grades, inputs.sources.get("deductions", "deductions")
    )


def _indicator(inputs: ScoringInputs, config: Config) -> MethodResult:
    # Only the sectors that use the method: the others would cost a reason string each for nothing.
    sectors = [s for s, names in config.scoring.sectors.items() if "indicator" in names]
    uses_default = "indicator" in (config.scoring.default or [])
    fac = inputs.facilities
    mask = fac[SECTOR].isin(sectors) | (uses_default & ~fac[SECTOR].isin(list(config.scoring.sectors)))
    return indicator.grade_facilities(fac[mask], config.methods.indicator)


@dataclass(frozen=True)
class Method:
    """A grading method in the registry."""

    grade: Callable[[ScoringInputs, Config], MethodResult]
    #: The related table it reads (``None``: facility columns only) and the canonical columns it needs there.
    table: str | None
    columns: tuple[str, ...]
    #: Reason (zh, en) for a facility with no records for this method.
    no_records: tuple[str, str]


#: Methods by the name used in ``[scoring.sectors]``.
METHODS: dict[str, Method] = {
    "gb18218": Method(
        _gb18218,
        "inventory",
        ("substance", "quantity_t"),
        ("GB 18218: 无危险化学品存量记录", "GB 18218: no chemical inventory records"),
    ),
    "chem2018": Method(
        _chem2018,
        "deductions",
        ("item", "points"),
        ("2018导则: 无评估扣分记录", "2018 guide: no deduction records"),
    ),
    "lec": Method(
        _points(lec, lambda c: c.methods.lec),
        "risk_points",
        ("lec_l", "lec_e", "lec_c"),
        ("LEC: 无风险点记录", "LEC: no risk point records"),
    ),
    "ls_matrix": Method(
        _points(ls_matrix, lambda c: c.methods.ls_matrix),
        "risk_points",
        ("likelihood", "severity"),
        ("LS: 无风险点记录", "LS: no risk point records"),
    ),
    "indicator": Method(_indicator, None, (), ("指标法: 无指标", "indicator: no indicators")),
}


def _join_reasons(long: pd.DataFrame, column: str, sep: str) -> pd.Series:
    """Each facility's reasons joined in the order of ``long`` (deciding method first).

    One column per position, concatenated: no Python join per facility.
    """
    pos = long.groupby(FACILITY_ID, sort=False).cumcount()
    wide = pd.DataFrame({FACILITY_ID: long[FACILITY_ID].to_numpy(), "pos": pos.to_numpy(),
                         "text": long[column].astype(str).to_numpy()}).pivot(index=FACILITY_ID, columns="pos",
                                                                               values="text")  # fmt: skip
    out = wide[0]
    for p in wide.columns[1:]:
        out = out.where(wide[p].isna(), out + sep + wide[p])
    return out


def score_facilities(inputs: ScoringInputs, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grade every facility with its sector's methods.

    Returns the facilities that got a level (with ``level``, ``level_zh``, ``score``, ``method``, ``reasons``,
    ``reasons_en`` and method-specific columns) and the rejects (facilities no method could grade, and
    related-table rows a method could not use).
    """
    fac = inputs.facilities
    sectors = config.scoring.sectors
    methods_of = fac[SECTOR].map(lambda s: sectors.get(s, config.scoring.default))
    no_method = methods_of.isna()
    rejects = [
        make_rejects(
            inputs.sources.get("facilities", "facilities"),
            fac[no_method],
            SECTOR,
            "no grading method for this sector; configured sectors: "
            + "、".join(sectors)
            + " (add it under [scoring.sectors] or set scoring.default)",
            "score",
        )
    ]
    fac = fac[~no_method]
    methods_of = methods_of[~no_method]

    pairs = pd.DataFrame({FACILITY_ID: fac[FACILITY_ID].to_numpy(), METHOD: methods_of.to_numpy()}).explode(
        METHOD
    )
    pairs["order"] = pairs.groupby(FACILITY_ID).cumcount()
    long_parts = []
    extra_cols: list[pd.DataFrame] = []
    for name in pairs[METHOD].dropna().unique():
        method = METHODS[name]
        none_zh, none_en = method.no_records
        result = method.grade(inputs, config)
        rejects.append(result.rejects)
        res = result.results
        sub = pairs[pairs[METHOD] == name].join(res, on=FACILITY_ID)
        missing = sub["rank"].isna()
        sub.loc[missing, ["rank", "reason_zh", "reason_en"]] = [0, none_zh, none_en]
        long_parts.append(sub)
        extra = [c for c in res.columns if c not in ("score", "rank", "reason_zh", "reason_en")]
        if extra:
            extra_cols.append(res[extra])
    long = (
        pd.concat(long_parts, ignore_index=True)
        if long_parts
        else pairs.assign(score=np.nan, rank=0, reason_zh="", reason_en="")
    )
    long["rank"] = long["rank"].astype(int)
    # The deciding method: highest rank, then the order the sector lists its methods in.
    long = long.sort_values([FACILITY_ID, "rank", "order"], ascending=[True, False, True], kind="stable")
    decider = long.groupby(FACILITY_ID, sort=False).head(1).set_index(FACILITY_ID)
    reasons_zh = _join_reasons(long, "reason_zh", _SEP_ZH)
    reasons_en = _join_reasons(long, "reason_en", _SEP_EN)

    out = fac.set_index(FACILITY_ID)
    rank = decider["rank"].reindex(out.index).fillna(0).astype(int)
    out[LEVEL] = level_from_rank(rank).to_numpy()
    out[LEVEL_ZH] = out[LEVEL].map(lambda k: Level.parse(k).zh if k != "none" else "")
    out[SCORE] = decider["score"].reindex(out.index).astype(float)
    out[METHOD] = decider[METHOD].reindex(out.index)
    out[REASONS] = reasons_zh.reindex(out.index)
    out[REASONS_EN] = reasons_en.reindex(out.index)
    for extra in extra_cols:
        out = out.join(extra, how="left")

    # A facility whose related rows were partly rejected is graded on what is left: say so in its reasons.
    related = [r for r in rejects if not r.empty and (r["source"] != inputs.sources.get("facilities")).any()]
    issues = (
        pd.concat(related)["record_id"].value_counts().reindex(out.index).fillna(0).astype(int)
        if related
        else pd.Series(0, index=out.index)
    )
    out[DATA_ISSUES] = issues
    flagged = issues > 0
    out.loc[flagged, REASONS] = (
        out.loc[flagged, REASONS]
        + _SEP_ZH
        + "数据不完整: "
        + issues[flagged].astype(str)
        + " 条相关记录被拒绝, 见 rejects"
    )
    out.loc[flagged, REASONS_EN] = (
        out.loc[flagged, REASONS_EN]
        + _SEP_EN
        + "incomplete data: "
        + issues[flagged].astype(str)
        + " related rows rejected, see rejects"
    )

    ungraded = rank == 0
    if ungraded.any():
        bad = out[ungraded].reset_index()
        rejects.append(
            make_rejects(
                inputs.sources.get("facilities", "facilities"),
                bad,
                SECTOR,
                "no method could grade this facility: " + bad[REASONS_EN].astype(str),
                "score",
            )
        )
    scored = out[~ungraded].reset_index()
    rej = [r for r in rejects if not r.empty]
    return scored, (pd.concat(rej, ignore_index=True) if rej else rejects_frame())
