"""Grading methods, picked by name, and the scoring stage that applies them per sector.

Each method turns a facility's related records into a score, a level rank (0 = the method does not apply, e.g.
a chemical plant below the GB 18218 threshold) and reasons in Chinese and English. A facility's level is the
highest its sector's methods give; a facility no method can grade is rejected with the reasons (or kept as
"not assessed", grey, with ``[scoring] unassessed = "grey"``), never made blue by default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

from riskmap.columns import (
    DATA_ISSUES,
    FACILITY_ID,
    LEVEL,
    LEVEL_ZH,
    METHOD,
    NAME,
    PERSONS_NOTE,
    PERSONS_NOTE_EN,
    REASON_SEP_EN,
    REASON_SEP_ZH,
    REASONS,
    REASONS_EN,
    SCORE,
    SECTOR,
    persons_column,
)
from riskmap.config import Config, ScoringConfig
from riskmap.frames import id_positions, ids_in, join_positions, take_or_missing
from riskmap.i18n import N_, Msg, per_row
from riskmap.levels import level_from_rank
from riskmap.methods import baseline, chem2018, gb18218, indicator, lec, ls_matrix
from riskmap.methods.base import MethodResult, empty_result, level_names_zh
from riskmap.rejects import (
    from_source,
    is_duplicate,
    make_rejects,
    reads_sheets,
    rejects_frame,
    written_per_row,
)
from riskmap.sectors import canonical_sectors, no_method_reasons

__all__ = [
    "METHODS",
    "Method",
    "ScoringInputs",
    "score_facilities",
]


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
    fac = inputs.facilities
    ids = pd.Index(fac[FACILITY_ID])
    column = persons_column(config.methods.gb18218.buffer_m)
    persons = pd.Series(fac[column].to_numpy(), index=ids, name=column)
    notes = None
    if PERSONS_NOTE in fac.columns:  # how the persons were found (exposure.persons_within), for the reasons
        notes = pd.DataFrame(
            {"zh": fac[PERSONS_NOTE].to_numpy(), "en": fac[PERSONS_NOTE_EN].to_numpy()}, index=ids
        )
    params = config.methods.gb18218
    result = gb18218.grade_facilities(
        inv,
        persons,
        persons_notes=notes,
        densities=config.inventory.densities if config.inventory is not None else None,
        grade_levels=params.grade_levels,
        beta_overrides=params.beta_overrides,
        source=inputs.sources.get("inventory", "inventory"),
    )
    inputs.cache["gb18218"] = result
    return result


def _graded_by(facilities: pd.DataFrame, scoring: ScoringConfig, name: str) -> np.ndarray:
    """Whether each facility's sector lists method ``name`` (or takes ``scoring.default`` and that does)."""
    sectors = [s for s, names in scoring.sectors.items() if name in names]
    uses_default = name in (scoring.default or [])
    listed = facilities[SECTOR].isin(list(scoring.sectors))
    return (facilities[SECTOR].isin(sectors) | (uses_default & ~listed)).to_numpy(dtype=bool)


#: The risk-point methods, each with the other one that may share its table.
_OTHER_POINT_METHOD = {"lec": "ls_matrix", "ls_matrix": "lec"}


def _blank(values: pd.Series) -> np.ndarray:
    return (values.isna() | (values.astype(str).str.strip() == "")).to_numpy(dtype=bool)


def _shared_columns(config: Config) -> set[str]:
    """Risk-point roles read from one file column (``likelihood = "L"``, ``lec_l = "L"``).

    Such a column says nothing of which method a row belongs to.
    """
    by_column: dict[str, list[str]] = {}
    for canonical, column in (config.risk_points.columns if config.risk_points is not None else {}).items():
        by_column.setdefault(column, []).append(canonical)
    return {c for roles in by_column.values() if len(roles) > 1 for c in roles}


def _skip_other_method_rows(
    pts: pd.DataFrame, fac: pd.DataFrame, mine: np.ndarray, config: Config, name: str
) -> pd.DataFrame:
    """The risk points less those of the other point method, for facilities whose sector uses both.

    A sector graded by LEC and the LS matrix may give some points L/S and others L/E/C: a row with none of this
    method's fields and some of the other's belongs to the other method, and is not rejected here. A column both
    methods read (one L column for both) decides nothing.
    """
    other = _OTHER_POINT_METHOD[name]
    both = mine & _graded_by(fac, config.scoring, other)
    if not both.any():
        return pts
    shared = _shared_columns(config)
    own_cols = [c for c in METHODS[name].columns if c in pts.columns and c not in shared]
    other_cols = [c for c in METHODS[other].columns if c in pts.columns and c not in shared]
    if not other_cols:
        return pts
    blank_own = np.logical_and.reduce([_blank(pts[c]) for c in own_cols]) if own_cols else True
    filled_other = ~np.logical_and.reduce([_blank(pts[c]) for c in other_cols])
    skip = blank_own & filled_other
    if skip.any():
        skip &= ids_in(pts[FACILITY_ID], pd.Index(fac[FACILITY_ID][both]))
    return pts[~skip] if skip.any() else pts


def _points(
    module: ModuleType, params_of: Callable[[Config], Any], name: str
) -> Callable[[ScoringInputs, Config], MethodResult]:
    def grade(inputs: ScoringInputs, config: Config) -> MethodResult:
        pts = inputs.tables.get("risk_points")
        if pts is None or pts.empty:
            return empty_result()
        # One risk-point table may serve sectors graded by LEC and sectors graded by the LS matrix: a method
        # reads (and rejects) only the rows of facilities in its own sectors.
        fac = inputs.facilities
        mine = _graded_by(fac, config.scoring, name)
        if not mine.all():
            pts = pts[ids_in(pts[FACILITY_ID], pd.Index(fac[FACILITY_ID][mine]))]
        pts = _skip_other_method_rows(pts, fac, mine, config, name)
        if pts.empty:
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
    fac = inputs.facilities
    return indicator.grade_facilities(
        fac[_graded_by(fac, config.scoring, "indicator")], config.methods.indicator
    )


def _baseline(inputs: ScoringInputs, config: Config) -> MethodResult:
    fac = inputs.facilities
    mask = _graded_by(fac, config.scoring, "baseline")
    fc = config.facilities
    return baseline.grade_facilities(
        fac if mask.all() else fac[mask],
        config.methods.baseline,
        renamed={fc.id: FACILITY_ID, fc.name: NAME, fc.sector: SECTOR},
        source=inputs.sources.get("facilities", "facilities"),
    )


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
        _points(lec, lambda c: c.methods.lec, "lec"),
        "risk_points",
        ("lec_l", "lec_e", "lec_c"),
        ("LEC: 无风险点记录", "LEC: no risk point records"),
    ),
    "ls_matrix": Method(
        _points(ls_matrix, lambda c: c.methods.ls_matrix, "ls_matrix"),
        "risk_points",
        ("likelihood", "severity"),
        ("LS: 无风险点记录", "LS: no risk point records"),
    ),
    "indicator": Method(_indicator, None, (), ("指标法: 无指标", "indicator: no indicators")),
    "baseline": Method(
        _baseline,
        None,
        (),
        ("固有风险: 行业无固有等级", "baseline: no inherent level for the sector"),
    ),
}


@dataclass
class _Pairs:
    """One row per facility and method of its sector (the rows of ``explode`` on the method lists).

    ``fpos``: the facility's position; ``method``: the method name (NaN for an empty list); ``order``: its
    position in the sector's list.
    """

    fpos: np.ndarray
    method: np.ndarray
    order: np.ndarray


def _methods_of(sectors: pd.Series, scoring: ScoringConfig) -> tuple[np.ndarray, np.ndarray]:
    """Each facility's sector as a code, and the method list (``None``: no method) of each code.

    Looked up once per distinct sector, not per facility.
    """
    codes, uniques = pd.factorize(sectors, use_na_sentinel=False)
    lists = np.empty(len(uniques), dtype=object)
    lists[:] = [scoring.sectors.get(s, scoring.default) for s in uniques]
    return codes, lists


def _pairs(codes: np.ndarray, lists: np.ndarray) -> _Pairs:
    """Facility-method rows, in facility order and then the order of the sector's list."""
    lens = np.array([max(len(m or ()), 1) for m in lists], dtype=np.intp)  # None: no facility left has it
    # Method names by (sector code, position); an empty list has one row with no method, as explode gives.
    table = np.full((len(lists), int(lens.max(initial=1))), np.nan, dtype=object)
    for i, names in enumerate(lists):
        table[i, : len(names or ())] = names or ()
    per_fac = lens[codes]
    fpos = np.repeat(np.arange(len(codes)), per_fac)
    starts = np.cumsum(per_fac) - per_fac
    order = np.arange(len(fpos)) - np.repeat(starts, per_fac)
    return _Pairs(fpos, table[codes[fpos], order], order)


@dataclass
class _Long:
    """Every facility-method result: positions in the facility table plus rank, score and reasons."""

    fpos: np.ndarray
    order: np.ndarray
    rank: np.ndarray
    score: np.ndarray
    method: np.ndarray
    zh: pd.Series
    en: pd.Series


def _method_rows(
    pairs: _Pairs, sel: np.ndarray, ids: pd.Index, res: pd.DataFrame, none: tuple[str, str]
) -> _Long:
    """The rows ``sel`` of ``pairs`` with one method's results.

    A facility the method has no result for gets rank 0 and the method's "no records" reasons.
    """
    fpos = pairs.fpos[sel]
    at = id_positions(res.index, ids.take(fpos)) if len(res) else np.full(len(fpos), -1, dtype=np.intp)
    rank = take_or_missing(res["rank"], at)
    missing = rank.isna().to_numpy()
    return _Long(
        fpos=fpos,
        order=pairs.order[sel],
        rank=np.where(missing, 0, rank.to_numpy()).astype(int),
        score=take_or_missing(res["score"], at).to_numpy(),
        method=pairs.method[sel],
        zh=take_or_missing(res["reason_zh"], at).where(~missing, none[0]),
        en=take_or_missing(res["reason_en"], at).where(~missing, none[1]),
    )


def _concat_long(parts: list[_Long]) -> _Long:
    return _Long(
        fpos=np.concatenate([p.fpos for p in parts]),
        order=np.concatenate([p.order for p in parts]),
        rank=np.concatenate([p.rank for p in parts]),
        score=np.concatenate([p.score for p in parts]),
        method=np.concatenate([p.method for p in parts]),
        zh=pd.concat([p.zh for p in parts], ignore_index=True),
        en=pd.concat([p.en for p in parts], ignore_index=True),
    )


def _align_extra(extra: pd.DataFrame, ids: pd.Index, rows: np.ndarray, index: pd.Index) -> pd.DataFrame:
    """A method's extra columns for the facilities ``ids`` (NaN where it has no row), then the rows ``rows``.

    Aligned on all facilities first, as ``join(how="left")`` before dropping the ungraded ones did: a column
    takes the type its missing values give it (int -> float, bool -> object) whichever rows are kept.
    """
    at = id_positions(extra.index, ids)
    return pd.DataFrame(
        {c: take_or_missing(extra[c], at).to_numpy()[rows] for c in extra.columns}, index=index
    )


def _data_issues(
    rejects: list[pd.DataFrame], facilities_source: str | None, several_sheets: bool, ids: pd.Index
) -> np.ndarray:
    """Per facility, the number of its related-table rows that were rejected.

    A copy of an earlier row (a bonus listed twice) is not missing data: the record was counted, once.
    """
    related = [
        r
        for r in rejects
        if not r.empty
        and (
            facilities_source is None or not from_source(r["source"], facilities_source, several_sheets).all()
        )
    ]
    if not related:
        return np.zeros(len(ids), dtype=int)
    found = pd.concat(related)
    found = found[~is_duplicate(found)]
    return found["record_id"].value_counts().reindex(ids).fillna(0).astype(int).to_numpy()


@dataclass
class _Issues:
    """Per facility position: its related rows that were rejected, and its register values a method refused."""

    rows: np.ndarray
    values: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.rows + self.values


def _unusable_values(unusable: list[pd.Series], ids: pd.Index) -> np.ndarray:
    """Per facility, the register values the methods could not use (``MethodResult.unusable``)."""
    out = np.zeros(len(ids), dtype=int)
    for counts in unusable:
        at = id_positions(ids, counts.index)
        np.add.at(out, at[at >= 0], counts.to_numpy(dtype=int)[at >= 0])
    return out


def _issue_notes(issues: _Issues, wanted: np.ndarray) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Which facilities at ``wanted`` are graded on incomplete data, and the note (zh, en) of each of those."""
    rows, values = issues.rows[wanted], issues.values[wanted]
    flagged = (rows > 0) | (values > 0)
    has_rows, has_values = rows[flagged] > 0, values[flagged] > 0
    n_rows, n_values = pd.Series(rows[flagged]).astype(str), pd.Series(values[flagged]).astype(str)
    both = np.where(has_rows & has_values, ", ", "")
    zh = (
        (n_rows + " 条相关记录被剔除, 见 rejects.csv").where(has_rows, "")
        + both
        + (n_values + " 个登记值无法使用, 见上").where(has_values, "")
    )
    en = (
        (n_rows + " related rows rejected, see rejects").where(has_rows, "")
        + both
        + (n_values + " register values not usable, see above").where(has_values, "")
    )
    return (
        pd.Series(flagged),
        REASON_SEP_ZH + "数据不完整: " + zh,
        REASON_SEP_EN + "incomplete data: " + en,
    )


def _reasons(
    long: _Long, rows: np.ndarray, wanted: np.ndarray, issues: _Issues, n_fac: int
) -> tuple[pd.Series, pd.Series]:
    """Reasons (zh, en) of the facilities at positions ``wanted``, in that order.

    Each facility's method reasons in ``rows`` order (deciding method first), then, for a facility whose
    related rows were partly rejected or whose register values a method refused (it is graded on what is
    left), a note saying so.
    """
    position = np.full(n_fac, -1, dtype=np.intp)
    position[wanted] = np.arange(len(wanted))
    groups = position[long.fpos]
    order = rows[groups[rows] >= 0]
    zh = join_positions(groups, long.zh, len(wanted), REASON_SEP_ZH, order=order)
    en = join_positions(groups, long.en, len(wanted), REASON_SEP_EN, order=order)
    flagged, note_zh, note_en = _issue_notes(issues, wanted)
    return _append_where(zh, flagged, note_zh), _append_where(en, flagged, note_en)


def _append_where(texts: pd.Series, where: pd.Series, suffixes: pd.Series) -> pd.Series:
    """``texts`` with ``suffixes`` (one per true ``where``, in order) appended where ``where``; NaN stays NaN.

    Not ``texts.loc[where] += ...``: that splits an Arrow string column into a chunk per run of rows, and
    every later take on it (filtering the scored facilities) becomes slow.
    """
    take = np.full(len(texts), -1, dtype=np.intp)
    take[np.flatnonzero(where.to_numpy())] = np.arange(int(where.sum()))
    tail = pd.Series(suffixes.astype(str).array.take(take, allow_fill=True), index=texts.index)
    return texts + tail.fillna("")


def _unassessed_reasons(
    unassessed: np.ndarray, zh: pd.Series, en: pd.Series, unknown: pd.DataFrame | None
) -> tuple[pd.Series, pd.Series]:
    """The reasons with a leading note on the facilities no method could grade (kept as level ``none``).

    ``unknown``: the reasons (``zh``, ``en``, same index) of the facilities whose sector is no configured sector.
    """
    if not unassessed.any():
        return zh, en
    none_zh = "未评估, 无分级数据: "
    none_en = "not assessed, no grading data: "
    if unknown is not None:
        zh, en = zh.fillna(unknown["zh"]), en.fillna(unknown["en"])
    # A sector listed with no methods ([]) has no reasons to give.
    zh = zh.fillna("[scoring.sectors] 中该行业未列方法")
    en = en.fillna("no method is listed for its sector in [scoring.sectors]")
    return (
        pd.Series(np.where(unassessed, none_zh, ""), index=zh.index) + zh,
        pd.Series(np.where(unassessed, none_en, ""), index=en.index) + en,
    )


def _no_method_rejects(source: str, facilities: pd.DataFrame, scoring: ScoringConfig) -> pd.DataFrame:
    """Rejects rows for the facilities of a sector no method is configured for (a gap in the config)."""
    if facilities.empty:
        return rejects_frame()
    reasons = no_method_reasons(facilities[SECTOR], scoring)["reject"]
    return make_rejects(source, facilities, SECTOR, reasons, "score")


def _grade_by_method(
    inputs: ScoringInputs,
    config: Config,
    pairs: _Pairs,
    ids: pd.Index,
    rejects: list[pd.DataFrame],
    unusable: list[pd.Series],
) -> tuple[_Long, list[pd.DataFrame]]:
    """Run every method some sector uses: its rows of the long table, and its method-specific columns.

    The methods' rejects are appended to ``rejects``, their counts of refused register values to ``unusable``.
    """
    long_parts = []
    extra_cols: list[pd.DataFrame] = []
    for name in pd.unique(pairs.method[~pd.isna(pairs.method)]):
        method = METHODS[name]
        # A sensitivity run hands in the results of the methods its variant leaves unchanged.
        cached = inputs.cache.get(name)
        result = cached if cached is not None else method.grade(inputs, config)
        inputs.cache[name] = result
        rejects.append(result.rejects)
        if result.unusable is not None and len(result.unusable):
            unusable.append(result.unusable)
        res = result.results
        long_parts.append(_method_rows(pairs, pairs.method == name, ids, res, method.no_records))
        extra = [c for c in res.columns if c not in ("score", "rank", "reason_zh", "reason_en")]
        if extra:
            extra_cols.append(res[extra])
    if long_parts:
        return _concat_long(long_parts), extra_cols
    # No method named anywhere: every facility is ungraded, with empty reasons.
    n = len(pairs.fpos)
    empty = pd.Series("", index=range(n))
    long = _Long(
        pairs.fpos, pairs.order, np.zeros(n, dtype=int), np.full(n, np.nan), pairs.method, empty, empty
    )
    return long, extra_cols


@dataclass
class _Deciding:
    """Per facility position, the deciding method's rank, score and name (rank 0: none graded it)."""

    rows: np.ndarray  # the long table's rows sorted by facility, then deciding first
    rank: np.ndarray
    score: np.ndarray
    method: np.ndarray

    @classmethod
    def of(cls, long: _Long, n: int) -> _Deciding:
        """The deciding method: highest rank, then the order the sector lists its methods in."""
        rows = np.lexsort((long.order, -long.rank, long.fpos))
        deciding = rows[np.diff(long.fpos[rows], prepend=-1) != 0]
        at = long.fpos[deciding]
        rank = np.zeros(n, dtype=int)
        rank[at] = long.rank[deciding]
        score = np.full(n, np.nan)
        score[at] = long.score[deciding]
        method = np.full(n, np.nan, dtype=object)
        method[at] = long.method[deciding]
        return cls(rows, rank, score, method)


def _ungraded_rejects(
    source: str, facilities: pd.DataFrame, reasons_zh: pd.Series, reasons_en: pd.Series
) -> pd.DataFrame:
    """Rejects rows for the facilities no method could grade, with the methods' reasons."""
    # A sector listed with no methods ([]) has no reasons to give.
    none = reasons_en.isna().to_numpy()
    why = per_row(
        N_("no method could grade this facility: {why}"),
        why=written_per_row(reasons_en, reasons_zh),
    ).where(
        ~none,
        Msg("no method could grade this facility: no method is listed for its sector in [scoring.sectors]"),
    )
    return make_rejects(source, facilities, SECTOR, why, "score")


def _scored_table(
    fac: pd.DataFrame,
    graded: np.ndarray,
    best: _Deciding,
    long: _Long,
    issues: _Issues,
    grey: np.ndarray | None,
    scoring: ScoringConfig,
) -> pd.DataFrame:
    """The graded facilities indexed by id, with level, score, method and reasons."""
    # Built for the graded facilities only: long reason texts are not copied again to drop the few ungraded ones.
    out = (fac if len(graded) == len(fac) else fac.iloc[graded]).set_index(FACILITY_ID)
    # Level and method for all facilities, then the graded ones: the columns' types are inferred from all
    # values (an empty table keeps them).
    level = pd.Series(level_from_rank(best.rank).to_numpy())
    level_zh = level_names_zh(level)
    out[LEVEL] = level.take(graded).set_axis(out.index)
    out[LEVEL_ZH] = level_zh.take(graded).set_axis(out.index)
    out[SCORE] = best.score[graded]
    out[METHOD] = pd.Series(best.method).take(graded).set_axis(out.index)
    reasons_zh, reasons_en = _reasons(long, best.rows, graded, issues, len(fac))
    if grey is not None:  # kept as not assessed; ``grey``: those whose sector is no configured sector
        unknown = None
        if grey.any():
            unknown = no_method_reasons(fac[SECTOR].iloc[graded][grey[graded]], scoring)
            unknown = unknown.set_axis(reasons_zh.index[grey[graded]]).reindex(reasons_zh.index)
        reasons_zh, reasons_en = _unassessed_reasons(best.rank[graded] == 0, reasons_zh, reasons_en, unknown)
    out[REASONS] = reasons_zh.set_axis(out.index)
    out[REASONS_EN] = reasons_en.set_axis(out.index)
    return out


def _with_canonical_sectors(inputs: ScoringInputs, scoring: ScoringConfig) -> pd.DataFrame:
    """The facilities with each sector as the configured sector it names (:mod:`riskmap.sectors`).

    Set on ``inputs`` too: the methods read the facilities there (a baseline level, an indicator's sectors).
    """
    fac = inputs.facilities
    sectors = canonical_sectors(fac[SECTOR], scoring)
    if sectors is not fac[SECTOR] and not sectors.equals(fac[SECTOR]):
        fac = fac.assign(**{SECTOR: sectors.to_numpy()})
        inputs.facilities = fac
    return fac


def score_facilities(inputs: ScoringInputs, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grade every facility with its sector's methods.

    Each sector is first read as the configured sector it names (危化品 as 危险化学品: :mod:`riskmap.sectors`);
    the output carries that name. Returns the facilities that got a level (with ``level``, ``level_zh``,
    ``score``, ``method``, ``reasons``, ``reasons_en`` and method-specific columns) and the rejects (facilities
    no method could grade, and related-table rows a method could not use). With ``[scoring] unassessed =
    "grey"`` a facility no method could grade is kept instead, as level ``none`` (未评估) with its reasons after
    "not assessed, no grading data: ", and so is a facility whose sector is no configured sector (the reason
    says so, with the closest configured sectors).

    Works on facility positions and numpy arrays (no per-facility Python, no sort or join on id strings):
    this runs on a million facilities.
    """
    fac = _with_canonical_sectors(inputs, config.scoring)
    source = inputs.sources.get("facilities", "facilities")
    codes, lists = _methods_of(fac[SECTOR], config.scoring)
    no_method = np.array([m is None for m in lists], dtype=bool)[codes]
    grey = config.scoring.unassessed == "grey"
    if grey:  # kept, as not assessed, with the reason (a sector with no methods at all among them)
        rejects = [rejects_frame()]
    else:
        rejects = [_no_method_rejects(source, fac[no_method], config.scoring)]
        if no_method.any():  # a copy of a million rows only when some must go
            fac = fac[~no_method]
            codes, no_method = codes[~no_method], no_method[~no_method]
    ids = pd.Index(fac[FACILITY_ID])
    pairs = _pairs(codes, lists)
    unusable: list[pd.Series] = []
    long, extra_cols = _grade_by_method(inputs, config, pairs, ids, rejects, unusable)
    best = _Deciding.of(long, len(fac))
    issues = _Issues(
        _data_issues(rejects, inputs.sources.get("facilities"), reads_sheets(config.facilities), ids),
        _unusable_values(unusable, ids),
    )
    graded, ungraded = np.flatnonzero(best.rank != 0), np.flatnonzero(best.rank == 0)
    if grey:  # kept as "not assessed" (level none): on the map, grey, and planned for an assessment visit
        graded, ungraded = np.arange(len(fac)), ungraded[:0]
    if len(ungraded):
        bad_zh, bad_en = _reasons(long, best.rows, ungraded, issues, len(fac))
        rejects.append(_ungraded_rejects(source, fac.iloc[ungraded], bad_zh, bad_en))
    out = _scored_table(fac, graded, best, long, issues, no_method if grey else None, config.scoring)
    for extra in extra_cols:
        out = out.join(_align_extra(extra, ids, graded, out.index), how="left")
    out[DATA_ISSUES] = issues.total[graded]
    scored = out.reset_index()
    rej = [r for r in rejects if not r.empty]
    return scored, (pd.concat(rej, ignore_index=True) if rej else rejects_frame())
