"""The inherent level (固有风险等级) from the enterprise register: a level per sector, raised by register rules.

A district has its register (sector, a few yes/no flags such as 涉爆粉尘 or 涉氨制冷, 从业人数) years before it has
risk points, inventories or deduction tables for every enterprise. ``[methods.baseline] levels`` gives each
sector its inherent level and ``[[methods.baseline.rules]]`` raise it from columns of the facility file; the
highest applies. Which register facts make an enterprise orange or red differs by province: it is a local
convention set in the project file, never a national method. Listed before other methods of a sector
(``["baseline", "ls_matrix"]``), it gives a floor that the other methods raise where their data exists.
"""

from __future__ import annotations

import difflib
import unicodedata

import numpy as np
import pandas as pd

from riskmap.columns import FACILITY_ID, SECTOR
from riskmap.config import BaselineCondition, BaselineParams
from riskmap.errors import InputError
from riskmap.frames import normalise_text, per_distinct
from riskmap.i18n import tr
from riskmap.levels import Level
from riskmap.methods.base import MethodResult
from riskmap.validate import to_number

__all__ = ["condition_mask", "grade_facilities"]

_NO_LEVEL_ZH = "固有风险: 行业 {sector} 在 [methods.baseline.levels] 中无等级, 也无规则适用"
_NO_LEVEL_EN = "baseline: sector {sector} has no level in [methods.baseline.levels] and no rule applies"


def _text(value: str) -> str:
    """A configured text as cells are compared: trimmed, full-width letters and digits as half-width."""
    return unicodedata.normalize("NFKC", value).strip()


def _filled(values: pd.Series) -> pd.Series:
    """The cells as text with empty ones as "": one dtype, so each distinct text is handled once."""
    return values.astype("str").fillna("") if values.dtype == object else values.fillna("").astype("str")


def condition_mask(values: pd.Series, when: BaselineCondition) -> np.ndarray:
    """Whether each cell of a register column passes the test; an empty cell never does.

    Texts are compared after trimming (and NFKC: ``Ｙ`` is ``Y``), literally otherwise; numbers are read as the
    other numeric columns are (``1,200``, full-width digits).

    >>> from riskmap.config import BaselineCondition
    >>> cells = pd.Series([" 是", "否", None, "1，200", "是 "])
    >>> condition_mask(cells, BaselineCondition(column="c", equals="是")).tolist()
    [True, False, False, False, True]
    >>> condition_mask(cells, BaselineCondition(column="c", at_least=100)).tolist()
    [False, False, False, True, False]
    """
    present = values.notna().to_numpy(dtype=bool)
    if when.at_least is not None or when.at_most is not None:
        # A few distinct texts among a million rows: each is parsed once.
        numbers = per_distinct(_filled(values), to_number).to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            ok = numbers >= when.at_least if when.at_least is not None else numbers <= when.at_most
        return present & ok
    wanted = [_text(when.equals)] if when.equals is not None else [_text(t) for t in when.in_ or []]
    cells = per_distinct(_filled(values), normalise_text)
    return present & cells.isin(wanted).to_numpy(dtype=bool)


def _column(
    facilities: pd.DataFrame, column: str, renamed: dict[str, str], where: str, source: str
) -> pd.Series:
    """The register column a rule names (the id/name/sector columns under their canonical names)."""
    name = renamed.get(column, column)
    if name in facilities.columns:
        return facilities[name]
    available = [c for c in facilities.columns if isinstance(c, str) and not c.startswith("_")]
    close = difflib.get_close_matches(column, available, n=1)
    if close:
        raise InputError(
            tr(
                '{source}: no column "{column}" for {where}; did you mean "{close}"?; add the column to the facility '
                "file or correct the rule's column",
                source=source,
                column=column,
                where=where,
                close=close[0],
            )
        )
    raise InputError(
        tr(
            '{source}: no column "{column}" for {where}; add the column to the facility file or correct the rule\'s '
            "column",
            source=source,
            column=column,
            where=where,
        )
    )


def grade_facilities(
    facilities: pd.DataFrame,
    params: BaselineParams,
    renamed: dict[str, str] | None = None,
    source: str = "facilities",
) -> MethodResult:
    """Inherent level of every facility: its sector's level, raised by every register rule that holds.

    Parameters
    ----------
    facilities
        Validated facilities (``facility_id``, ``sector`` and the register columns the rules name).
    params
        ``[methods.baseline]``.
    renamed
        File column name -> canonical name, for the columns validation renamed (id, name, sector).
    source
        The facility file's name, for the error naming a missing column.

    Returns
    -------
    MethodResult
        Rank 0 (no level) for a facility whose sector has no level and no rule holds; a reason per facility
        naming its sector level and each rule that applied (``涉爆粉尘 = 是 → 较大风险``).

    Raises
    ------
    InputError
        A rule names a column the facility file does not have.

    Examples
    --------
    >>> from riskmap.config import BaselineParams
    >>> params = BaselineParams(levels={"工贸": "blue"},
    ...     rules=[{"when": {"column": "涉爆粉尘", "equals": "是"}, "level": "orange"}])
    >>> fac = pd.DataFrame({"facility_id": ["A", "B", "C"], "sector": ["工贸", "工贸", "商贸"],
    ...                     "涉爆粉尘": ["是", "否", "是"]})
    >>> res = grade_facilities(fac, params).results
    >>> res["rank"].tolist(), res["reason_en"].tolist()[0]
    ([3, 1, 3], 'baseline: sector 工贸 → blue, 涉爆粉尘 = 是 → orange')
    """
    renamed = renamed or {}
    sectors = facilities[SECTOR]
    codes, uniques = pd.factorize(sectors, use_na_sentinel=False)
    sector_rank = np.array([int(Level.parse(params.levels[s])) if s in params.levels else 0 for s in uniques])
    sector_rank = (
        sector_rank.astype(np.int64)[codes] if len(uniques) else np.zeros(len(codes), dtype=np.int64)
    )
    rank = sector_rank.copy()
    # Which rules held, as bits: the reason depends on the sector and these bits only, so it is written once
    # per distinct combination, not per facility.
    # Bits beyond 62 rules need Python integers.
    held = np.zeros(len(facilities), dtype=object if len(params.rules) > 62 else np.int64)
    for i, rule in enumerate(params.rules):
        where = f"methods.baseline.rules[{i}].when.column"
        mask = condition_mask(_column(facilities, rule.when.column, renamed, where, source), rule.when)
        if rule.sectors is not None:
            mask &= sectors.isin(rule.sectors).to_numpy(dtype=bool)
        rank = np.where(mask, np.maximum(rank, int(Level.parse(rule.level))), rank)
        held = held + np.where(mask, 1 << i, 0)
    combo, first = _combinations(codes, held)
    zh, en = [], []
    for row in first.tolist():
        z, e = _reason(str(uniques[codes[row]]), int(sector_rank[row]), int(held[row]), params)
        zh.append(z)
        en.append(e)
    index = pd.Index(facilities[FACILITY_ID], name=FACILITY_ID)
    results = pd.DataFrame(
        {
            "score": np.nan,
            "rank": rank.astype(int),
            # Taken as Arrow strings: a million Python strings would cost seconds to convert.
            "reason_zh": pd.array(zh, dtype="str").take(combo),
            "reason_en": pd.array(en, dtype="str").take(combo),
        },
        index=index,
    )
    return MethodResult(results=results)


def _combinations(codes: np.ndarray, held: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's (sector, rules held) combination as 0, 1, ... and the first row of each."""
    held_codes = pd.factorize(held)[0]
    key = pd.factorize(codes.astype(np.int64) * (int(held_codes.max(initial=0)) + 1) + held_codes)[0]
    _, first = np.unique(key, return_index=True)
    return key, first


def _reason(sector: str, sector_rank: int, held: int, params: BaselineParams) -> tuple[str, str]:
    """The reason (zh, en) of one (sector, rules held) combination."""
    if sector_rank == 0 and held == 0:
        return _NO_LEVEL_ZH.format(sector=sector), _NO_LEVEL_EN.format(sector=sector)
    zh: list[str] = []
    en: list[str] = []
    if sector_rank:
        lvl = Level(sector_rank)
        zh.append(f"行业 {sector} → {lvl.zh}")
        en.append(f"sector {sector} → {lvl.key}")
    for i, rule in enumerate(params.rules):
        if held >> i & 1:
            lvl = Level.parse(rule.level)
            zh.append(f"{rule.when.describe()} → {lvl.zh}")
            en.append(f"{rule.when.describe()} → {lvl.key}")
    return "固有风险: " + ", ".join(zh), "baseline: " + ", ".join(en)
