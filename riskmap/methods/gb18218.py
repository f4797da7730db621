"""GB 18218-2018 major hazard installations (危险化学品重大危险源辨识).

Identification: ``S = Σ qᵢ/Qᵢ`` per production or storage unit; ``S ≥ 1`` makes the unit a major hazard
installation. Grading: ``R = α · Σ βᵢ·qᵢ/Qᵢ``; 一级 R ≥ 100, 二级 50 ≤ R < 100, 三级 10 ≤ R < 50, 四级 R < 10.
Q and β come from tables 1–4 (``data/reference``), α from the persons within 500 m (table 5). An enterprise takes
its highest grade over its units; the grade maps to a risk level by configuration (default 一级 red … 四级 blue).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from riskmap._resources import reference_dir
from riskmap.columns import FACILITY_ID
from riskmap.errors import ScoringError
from riskmap.frames import per_distinct
from riskmap.i18n import N_, Msg, message_of, per_row, tr
from riskmap.levels import Level
from riskmap.methods.base import MethodResult, empty_result, fmt, level_labels
from riskmap.rejects import make_rejects
from riskmap.validate import read_quantities
from riskmap.vocabulary import GRADE_NAMES_ZH

__all__ = ["Assessment", "assess", "lookup", "alpha_for", "grade_for", "grade_facilities", "GRADE_ZH"]

#: Major-hazard grade 1..4 -> 一级..四级.
GRADE_ZH = GRADE_NAMES_ZH
_SEPARATORS = (";", "；", "、", ",")


@dataclass(frozen=True)
class Assessment:
    """The GB 18218 result of one unit: S, and R, α and grade (1..4) when it is a major hazard."""

    s: float
    r: float | None
    alpha: float
    grade: int | None
    is_major: bool


def _key(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "").upper()


@cache
def _tables() -> tuple[dict[str, tuple[str, float, float]], list[str]]:
    """Lookup key -> (canonical name, Q in t, β); and the display names for suggestions."""
    ref = reference_dir()
    t1 = pd.read_csv(ref / "gb18218_table1_named.csv", dtype=str, keep_default_na=False)
    t2 = pd.read_csv(ref / "gb18218_table2_categories.csv", dtype=str, keep_default_na=False)
    t3 = pd.read_csv(ref / "gb18218_table3_beta_toxic_gases.csv", dtype=str, keep_default_na=False)
    t4 = pd.read_csv(ref / "gb18218_table4_beta_categories.csv", dtype=str, keep_default_na=False)
    beta_cat = {r.symbol: float(r.beta) for r in t4.itertuples()}
    # Table 3 names differ from table 1's (氯化氢 vs 氯化氢(无水)): match by CAS number, then by name.
    beta_gas = {r.cas: float(r.beta) for r in t3.itertuples()} | {
        r.name: float(r.beta) for r in t3.itertuples()
    }
    out: dict[str, tuple[str, float, float]] = {}
    names: list[str] = []
    for r in t1.itertuples():
        q = float(r.critical_quantity_t)
        cas_beta = [beta_gas[c] for c in _split(r.cas) if c in beta_gas]
        beta = cas_beta[0] if cas_beta else beta_gas.get(r.name, beta_cat[r.beta_category])
        entry = (r.name, q, beta)
        names.append(r.name)
        keys = [*_name_keys(r.name), *_split(r.aliases), *_split(r.cas)]
        for k in keys:
            prev = out.get(_key(k))
            # A CAS number shared by several rows (nitrocellulose, ammonium nitrate grades) takes the lowest Q:
            # without the grade we cannot tell them apart, and the standard resolves doubt toward the lower Q.
            if prev is None or q < prev[1]:
                out[_key(k)] = entry
    for r in t2.itertuples():
        out[_key(r.symbol)] = (r.symbol, float(r.critical_quantity_t), beta_cat[r.symbol])
        names.append(r.symbol)
    return out, names


def _name_keys(name: str) -> list[str]:
    """A table-1 name and the short forms people write.

    "汽油" for "汽油(乙醇汽油、甲醇汽油)", "天然气" for "甲烷,天然气"; names with locants such as "1,3-丁二烯"
    are not split.
    """
    base = re.split(r"[(（]", name, maxsplit=1)[0].strip()
    keys = [name, base]
    if "," in base and not re.search(r"\d", base):
        keys += [part.strip() for part in base.split(",")]
    return keys


def _split(text: str) -> list[str]:
    parts = [text]
    for sep in _SEPARATORS:
        parts = [p for part in parts for p in part.split(sep)]
    return [p.strip() for p in parts if p.strip()]


@dataclass(frozen=True)
class _Synonyms:
    """``data/reference/gb18218_synonyms.csv``: trade names and abbreviations as registers write them."""

    #: Lookup key -> (canonical name, Q, β), for written names the tables do not hold (92#汽油 via 汽油, 柴油).
    entries: dict[str, tuple[str, float, float]]
    #: Lookup key -> why it is not the table-1 substance it resembles (氨水 is not 氨).
    different: dict[str, str]
    #: Lookup key -> density in t/m³ (liquids, the liquefied gases; none for a gas, whose mass per m³ varies).
    densities: dict[str, float]
    #: Written names, for suggestions.
    names: list[str]


@cache
def _synonyms() -> _Synonyms:
    table, _ = _tables()
    rows = pd.read_csv(reference_dir() / "gb18218_synonyms.csv", dtype=str, keep_default_na=False)
    entries, different, densities = {}, {}, {}
    for r in rows.itertuples():
        key = _key(r.written)
        if not r.means:
            different[key] = r.source
            continue
        entries[key] = table[_key(r.means)]  # a row naming no table entry is a packaging error: KeyError
        if r.density_t_per_m3:
            densities[key] = float(r.density_t_per_m3)
    return _Synonyms(entries, different, densities, [str(w) for w in rows["written"]])


#: A grade mark before or after a fuel's name: 92#汽油, 0号柴油, -10#柴油, 汽油(95#).
_GRADE_MARK = re.compile(r"^[-−]?\d+\s*[#号]\s*|\(?\s*[-−]?\d+\s*[#号]\s*\)?$")


def _find(substance: str) -> tuple[str, float, float] | None:
    """``(name, Q, β)`` of a substance as written, None when unknown.

    A table name, alias, CAS number or category symbol, a synonym (trade name, abbreviation), or either of them
    with a grade mark (92#, 0号).
    """
    table, _ = _tables()
    synonyms = _synonyms()
    key = _key(substance)
    for k in (key, _GRADE_MARK.sub("", key)):
        found = table.get(k) or synonyms.entries.get(k)
        if found is not None and k:
            return found
    return None


def lookup(substance: str) -> tuple[str, float, float]:
    """``(name, Q, β)`` for a table-1 name, alias or CAS number, or a table-2 category symbol.

    >>> lookup("液氯")
    ('氯', 5.0, 4.0)
    >>> lookup("W5.4")
    ('W5.4', 5000.0, 1.0)
    >>> lookup("0#柴油")  # not in table 1: a flammable liquid of category 3
    ('W5.4', 5000.0, 1.0)
    """
    found = _find(substance)
    if found is None:
        raise ScoringError(
            tr(
                "unknown substance {substance}: {why}",
                substance=repr(substance),
                why=_why_unknown(str(substance)),
            )
        )
    return found


def alpha_for(persons: np.ndarray | pd.Series | float) -> np.ndarray:
    """Table 5: α from the persons normally within 500 m (≥100: 2.0, 50–99: 1.5, 30–49: 1.2, 1–29: 1.0, 0: 0.5).

    >>> alpha_for(np.array([0, 1, 29.5, 30, 99.9, 100])).tolist()
    [0.5, 1.0, 1.0, 1.2, 1.5, 2.0]
    """
    p = np.asarray(persons, dtype=float)
    # Persons from a raster are fractional; a band holds everything up to the next band's lower bound.
    return np.select([p >= 100, p >= 50, p >= 30, p > 0], [2.0, 1.5, 1.2, 1.0], default=0.5)


def grade_for(r: np.ndarray | pd.Series | float) -> np.ndarray:
    """Table 6: grade 1..4 from R (一级 R ≥ 100; 二级 50 ≤ R < 100; 三级 10 ≤ R < 50; 四级 R < 10)."""
    r = np.asarray(r, dtype=float)
    return np.select([r >= 100, r >= 50, r >= 10], [1, 2, 3], default=4)


def _is_major(s: np.ndarray) -> np.ndarray:
    # S = 1 exactly is a major hazard; round away float noise such as 0.1 * 10 = 0.9999999999999999.
    return np.round(np.asarray(s, dtype=float), 9) >= 1.0


def assess(
    items: Iterable[tuple[str, float] | Mapping[str, float | str]],
    *,
    persons: float | None = None,
    alpha: float | None = None,
) -> Assessment:
    """Identify and grade one unit.

    Items are ``(substance, quantity_t)`` or mappings with ``quantity`` and ``critical_quantity`` (and optional
    ``beta``, default 1, and ``substance``) for cases the tables do not settle.

    >>> a = assess([("二氧化硫", 200.0)], persons=60)
    >>> a.s, a.r, a.alpha, a.grade, a.is_major
    (10.0, 30.0, 1.5, 3, True)
    >>> assess([("汽油", 26.64), ("W5.4", 22.95)], persons=10).grade is None  # a petrol station
    True
    """
    if (persons is None) == (alpha is None):
        raise ScoringError(tr("give exactly one of persons= (within 500 m) or alpha="))
    a = float(alpha) if alpha is not None else float(alpha_for(persons)[()])
    s = weighted = 0.0
    for item in items:
        if isinstance(item, Mapping):
            q = float(item["quantity"])
            if "critical_quantity" in item:
                big_q, beta = float(item["critical_quantity"]), float(item.get("beta", 1.0))
            else:
                _, big_q, beta = lookup(str(item["substance"]))
                beta = float(item.get("beta", beta))
        else:
            substance, q = item
            _, big_q, beta = lookup(substance)
        if not np.isfinite(q) or q < 0:
            raise ScoringError(tr("quantity {quantity} t is not a non-negative number", quantity=repr(q)))
        s += q / big_q
        weighted += beta * q / big_q
    if not _is_major(np.array(s)):
        return Assessment(s=s, r=None, alpha=a, grade=None, is_major=False)
    r = a * weighted
    return Assessment(s=s, r=r, alpha=a, grade=int(grade_for(r)[()]), is_major=True)


#: Tonnes per unit of mass as written (lower case; no unit is tonnes, as the column always read).
_MASS = {"": 1.0, "t": 1.0, "吨": 1.0, "公吨": 1.0, "kg": 0.001, "千克": 0.001, "公斤": 0.001}
#: Cubic metres per unit of volume as written (m³ reads m3 once NFKC-normalised); tonnes then by the density.
_VOLUME = {"m3": 1.0, "立方米": 1.0, "立方": 1.0, "方": 1.0, "l": 0.001, "升": 0.001, "kl": 1.0, "千升": 1.0}
_UNITS_READ = Msg("t, 吨, kg, 千克 or 公斤, or a volume (m³, 立方米, 方, L) of a substance with a density")
#: The reasons about a quantity's unit (the rejects name the unit column as the field).
_UNIT_NOT_UNDERSTOOD = N_("the unit '{unit}' is not understood; give {units}")
_UNIT_DISAGREES = N_("the quantity '{cell}' and its unit column ({unit}) disagree: give the unit once")
#: More than any one unit holds: the largest crude-oil reserve bases store a few million tonnes. A quantity
#: above it is a unit mistake (kg written as t) or a typing slip, never a grade.
MAX_TONNES = 1e7


def _unit_key(text: str) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().replace(" ", "").lower()


def _unit_kind(units: pd.Series) -> pd.Series:
    """A unit as a number telling units apart: tonnes per unit of mass, minus m³ per unit of volume; NaN unknown."""
    return units.map(_MASS).astype(float).fillna(-units.map(_VOLUME).astype(float))


def tonnes(
    text: pd.Series,
    units: pd.Series | None = None,
    density: pd.Series | None = None,
    substance: pd.Series | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Quantities in tonnes from text such as ``12.5``, ``12.5 t``, ``12.5吨``, ``500kg``, ``５００千克``, ``1.2万吨``.

    ``units`` is the unit column (``[inventory] columns.unit``: t, 吨, kg, 千克, 公斤, m³, 立方米, 方, L), for
    cells that do not carry their own; a volume becomes tonnes by ``density`` (t/m³ per row, NaN where none is
    known; ``substance`` names it in the reason). Returns the tonnes (NaN where unusable) and why each unusable one
    is (``""`` where usable): not a number, a decimal comma, beyond floating point (``1e400``), a bound or an
    approximation (GB 18218 counts the design maximum quantity), a unit not understood, a cell's unit that
    disagrees with the column, a volume without a density, negative, or above :data:`MAX_TONNES`. Read by
    :func:`riskmap.validate.read_quantities`, as every quantity in riskmap.

    >>> q, why = tonnes(pd.Series(["12.5", "3 t", "500kg", "1.2万吨", "7 桶", "abc"]))
    >>> q.tolist()[:4], [m.render("en") for m in why.tolist()[4:]]
    ([12.5, 3.0, 0.5, 12000.0], ["the unit '桶' is not understood; give t, 吨, kg, 千克 or 公斤, or a volume (m³, 立方米, 方, L) of a substance with a density", 'the quantity (t) is missing or not a number'])
    >>> tonnes(pd.Series(["1000", "20"]), pd.Series(["m³", "吨"]), pd.Series([0.74, 0.74]))[0].tolist()
    [740.0, 20.0]
    """
    read = read_quantities(text)
    cell = read["unit"].astype(str)
    column = pd.Series("", index=text.index)
    if units is not None:
        column = per_distinct(units.fillna("").astype(str), lambda u: u.map(_unit_key)).astype(str)
    unit = cell.where(cell != "", column)
    # A few distinct units among a million rows: each is looked up once.
    mass = per_distinct(unit, lambda u: u.map(_MASS).astype(float)).to_numpy(dtype=float)
    volume = per_distinct(unit, lambda u: u.map(_VOLUME).astype(float)).to_numpy(dtype=float)
    rho = density.to_numpy(dtype=float) if density is not None else np.full(len(text), np.nan)
    value = read["value"].to_numpy(dtype=float)
    q = pd.Series(value * np.where(np.isnan(mass), volume * rho, mass), index=text.index)
    why = _Reasons(len(text))
    problem = read["problem"]
    kind = pd.Series(message_of(problem), index=problem.index)
    why.add(
        read["empty"] | kind.str.endswith(" is not a number"),
        lambda _: Msg("the quantity (t) is missing or not a number"),
    )
    # "'2,5': ambiguous decimal comma; write 2.5" leads with the number as written and its fix.
    why.add(
        problem != "",
        lambda at: problem[at].where(
            kind[at].str.contains("comma"), per_row(N_("the quantity (t) {problem}"), problem=problem[at])
        ),
    )
    why.add(
        read["about"],
        lambda at: per_row(
            N_(
                "the quantity (t) {q} is approximate (约, 左右, 余, 多): give the design maximum quantity as a number"
            ),
            q=read["value"][at].map("{:g}".format).astype(str),
        ),
    )
    named = substance if substance is not None else pd.Series("", index=text.index)
    _unit_reasons(why, _Units(text, cell, column, unit, mass, volume, rho), named)
    why.add(q < 0, lambda _: Msg("the quantity (t) is negative"))
    why.add(
        q > MAX_TONNES,
        lambda _: Msg(
            "the quantity (t) is implausible: above {max} t in one row, more than the largest oil reserve bases "
            "hold; check the unit (kg written as t?)",
            max=format(MAX_TONNES, ",.0f"),
        ),
    )
    reasons = why.series(text.index)
    return q.where(reasons == ""), reasons


@dataclass
class _Units:
    """The units of quantity cells: as written in the cell and in the unit column, the one used, and its factors."""

    text: pd.Series
    cell: pd.Series
    column: pd.Series
    unit: pd.Series
    mass: np.ndarray  # tonnes per unit of mass, NaN for another unit
    volume: np.ndarray  # m³ per unit of volume, NaN for another unit
    rho: np.ndarray  # t/m³ of the row's substance, NaN when unknown


def _unit_reasons(why: _Reasons, u: _Units, named: pd.Series) -> None:
    """The reasons about units: not understood, a cell and its column disagreeing, a volume without a density."""
    text, cell, column, unit, mass, volume, rho = u.text, u.cell, u.column, u.unit, u.mass, u.volume, u.rho
    has_column = (column != "").to_numpy()
    if has_column.any():
        column_known = ~np.isnan(_unit_kind(column).to_numpy(dtype=float))
        why.add(
            has_column & ~column_known,
            lambda at: per_row(_UNIT_NOT_UNDERSTOOD, unit=column[at], units=_UNITS_READ),
        )
    why.add(
        np.isnan(mass) & np.isnan(volume),
        lambda at: per_row(_UNIT_NOT_UNDERSTOOD, unit=unit[at], units=_UNITS_READ),
    )
    both = has_column & (cell != "").to_numpy()
    if both.any():
        both[both] = (_unit_kind(cell[both]) != _unit_kind(column[both])).to_numpy()
        why.add(
            both,
            lambda at: per_row(_UNIT_DISAGREES, cell=text[at].astype(str).str.strip(), unit=column[at]),
        )
    why.add(
        ~np.isnan(volume) & np.isnan(rho),
        lambda at: per_row(
            N_(
                "the quantity is a volume ({unit}) and no density is known for '{substance}': set [inventory] "
                'densities = {{ "{substance}" = <t per m³> }}, or give the quantity in tonnes'
            ),
            unit=unit[at],
            substance=named[at].astype(str).str.strip(),
        ),
    )


class _Reasons:
    """Why each row is unusable: the first condition that holds gives it; texts are built only for those rows."""

    def __init__(self, n: int) -> None:
        self.text = np.full(n, "", dtype=object)
        self.open = np.ones(n, dtype=bool)

    def add(self, holds: pd.Series | np.ndarray, words: Callable[[np.ndarray], pd.Series | Msg]) -> None:
        at = self.open & np.asarray(holds, dtype=bool)
        if at.any():
            found = words(at)
            self.text[at] = found if isinstance(found, Msg) else np.asarray(found, dtype=object)
            self.open &= ~at

    def series(self, index: pd.Index) -> pd.Series:
        return pd.Series(self.text, index=index, dtype=object)


def _density(substance: str, project: Mapping[str, float]) -> float:
    """t/m³ of a substance as written; NaN when unknown.

    The project's ``[inventory] densities``, else the shipped synonyms' (by the name as written, without its grade
    mark, then by its table name).
    """
    key = _key(substance)
    keys = [key, _GRADE_MARK.sub("", key)]
    found = _find(substance)
    if found is not None:
        keys += [_key(k) for k in _name_keys(found[0])]
    for table in (project, _synonyms().densities):
        for k in keys:
            if k in table:
                return float(table[k])
    return float("nan")


#: How close a name must be to be suggested (difflib's ratio): 二氧化琉 -> 二氧化硫 (0.75) is, 柴油 -> 硝化甘油
#: (0.33) is not.
_CLOSE = 0.6


def _why_unknown(substance: str) -> Msg:
    """Why a substance is unknown: a known look-alike that is another substance (氨水), else the closest names."""
    _, names = _tables()
    synonyms = _synonyms()
    key = _key(substance)
    if key in synonyms.different:
        return Msg(
            "{what}: give its GB 18218 table-1 name, or classify it (GB 30000) and give its "
            "table-2 category symbol such as W5.4, or leave it out when it has none of the table-2 hazards",
            what=synonyms.different[key],
        )
    candidates = {_key(n): n for n in [*names, *synonyms.names]}
    close = difflib.get_close_matches(key, list(candidates), n=3, cutoff=_CLOSE) if key else []
    if close:
        return Msg(
            "not a GB 18218 table-1 name, alias or CAS number, nor a table-2 category symbol such as W5.4, nor a "
            "known trade name; closest: {close}",
            close=", ".join(dict.fromkeys(candidates[c] for c in close)),
        )
    return Msg(
        "not a GB 18218 table-1 name, alias or CAS number, nor a table-2 category symbol such as W5.4, nor a "
        "known trade name"
    )


def _quantities(
    inv: pd.DataFrame, found: pd.Series, densities: Mapping[str, float]
) -> tuple[pd.Series, pd.Series]:
    """Each row's tonnes and why it has none: :func:`tonnes` with the unit column and the densities it needs."""
    units = inv["unit"] if "unit" in inv.columns else None
    density = None
    if units is not None:
        project = {_key(k): float(v) for k, v in densities.items()}
        density = per_distinct(
            inv["substance"].fillna("").astype(str), lambda t: t.map(lambda text: _density(text, project))
        ).astype(float)
    return tonnes(inv["quantity_t"], units, density, inv["substance"])


def _resolve_inventory(
    inv: pd.DataFrame, source: str, overrides: Mapping[str, float], densities: Mapping[str, float]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attach Q, β and tonnes to each inventory row; reject unknown substances and bad quantities."""
    # Substances repeat across facilities: look each distinct one up once.
    found = per_distinct(inv["substance"].fillna("").astype(str), lambda t: t.map(_find))
    q, why = _quantities(inv, found, densities)
    reasons = pd.Series("", index=inv.index, dtype=object)  # Msg where a row is unusable
    unknown = found.isna()
    if unknown.any():
        reasons[unknown] = per_distinct(
            inv.loc[unknown, "substance"].fillna("").astype(str),
            lambda t: t.map(lambda text: Msg("unknown substance: {why}", why=_why_unknown(text))),
        )
    # "2,5" is not 25 t, 1e400 is not infinitely many: an unusable quantity is a reject with the reason.
    reasons[reasons == ""] = why[reasons == ""]
    bad = reasons != ""
    # A unit column that is not understood, or disagrees with the cell, is the unit's problem.
    on_unit = bad & ~unknown & np.isin(message_of(reasons), [_UNIT_NOT_UNDERSTOOD, _UNIT_DISAGREES])
    if "unit" in inv.columns:
        on_unit &= inv["unit"].fillna("").astype(str).str.strip() != ""
    else:
        on_unit &= False
    rejects = pd.concat(
        [
            make_rejects(source, inv[bad & unknown], "substance", reasons[bad & unknown], "score"),
            make_rejects(source, inv[on_unit], "unit", reasons[on_unit], "score"),
            make_rejects(
                source,
                inv[bad & ~unknown & ~on_unit],
                "quantity_t",
                reasons[bad & ~unknown & ~on_unit],
                "score",
            ),
        ],
        ignore_index=True,
    )
    ok = inv[~bad].copy()
    resolved = found[~bad]
    ok["substance_name"] = [f[0] for f in resolved]
    ok["q_crit"] = [f[1] for f in resolved]
    ok["beta"] = [f[2] for f in resolved]
    ok["q"] = q[~bad]
    if overrides:
        by_key = {_key(k): v for k, v in overrides.items()}
        over = (
            per_distinct(ok["substance"], lambda t: t.map(_key))
            .map(by_key)
            .fillna(ok["substance_name"].map(_key).map(by_key))
        )
        ok["beta"] = over.fillna(ok["beta"]).astype(float)
    name = ok["unit_id"].astype(str).str.strip() if "unit_id" in ok.columns else pd.Series("", index=ok.index)
    ok[_INSTALLATION] = name.where(name != "", "全厂")
    return ok, rejects


#: The production or storage unit (生产单元/储存单元) of an inventory row: its ``unit_id``, else the whole plant.
_INSTALLATION = "_installation"


def _units(inv: pd.DataFrame, persons: pd.Series) -> pd.DataFrame:
    """One row per facility and unit: S, the persons around, α, R, whether major and its grade (5: not major)."""
    inv["ratio"] = inv["q"] / inv["q_crit"]
    inv["bratio"] = inv["beta"] * inv["ratio"]
    units = (
        inv.groupby([FACILITY_ID, _INSTALLATION], sort=True)
        .agg(s=("ratio", "sum"), b=("bratio", "sum"))
        .reset_index()
    )
    p = persons.reindex(units[FACILITY_ID]).fillna(0.0).to_numpy()
    units["persons"] = p
    units["alpha"] = alpha_for(p)
    units["r"] = units["alpha"] * units["b"]
    units["major"] = _is_major(units["s"].to_numpy())
    units["grade"] = np.where(units["major"], grade_for(units["r"].to_numpy()), 5)
    return units


def _deciding_units(units: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Per facility, the deciding unit and the facility's number of units.

    The highest grade (lowest number) among major units, then the largest R; else the largest S, so a
    non-major facility still reports how close it came.
    """
    units["key"] = np.where(units["major"], units["r"], units["s"])
    units = units.sort_values([FACILITY_ID, "grade", "key"], ascending=[True, True, False])
    best = units.groupby(FACILITY_ID, sort=True).head(1).set_index(FACILITY_ID)
    return best, units.groupby(FACILITY_ID).size()


def _persons_notes(best: pd.DataFrame, notes: pd.DataFrame | None) -> tuple[pd.Series, pd.Series]:
    """How each deciding unit's persons were found (``"，" + note``, zh and en), ``""`` where nothing is said."""
    if notes is None or len(notes) == 0:
        empty = pd.Series("", index=best.index, dtype=object)
        return empty, empty
    at = notes.reindex(best.index).fillna("")
    zh, en = at["zh"].astype(str), at["en"].astype(str)
    return zh.where(zh == "", "，" + zh), en.where(en == "", "; " + en)


def _reason_texts(
    best: pd.DataFrame, n_units: pd.Series, rank: pd.Series, notes: pd.DataFrame | None = None
) -> tuple[pd.Series, pd.Series]:
    """The zh and en reason of each facility from its deciding unit (``notes``: how its persons were found)."""
    s_txt, r_txt, a_txt = fmt(best["s"]), fmt(best["r"]), fmt(best["alpha"], 1)
    p_txt = best["persons"].round(0).astype(int).astype(str)
    note_zh, note_en = _persons_notes(best, notes)
    unit_txt = best.index.map(n_units).astype(str)
    grade_zh = best["grade"].map(GRADE_ZH).fillna("")
    major = best["major"]
    zh = pd.Series(
        np.where(
            major,
            "GB 18218: 单元 "
            + best[_INSTALLATION]
            + " S="
            + s_txt
            + ", R="
            + r_txt
            + " (α="
            + a_txt
            + ", 500 m 内约 "
            + p_txt
            + " 人"
            + note_zh
            + "), "
            + grade_zh
            + "重大危险源 → "
            + level_labels(rank, "zh"),
            "GB 18218: 最大 S=" + s_txt + " < 1 (" + unit_txt + " 个单元), 不构成重大危险源",
        ),
        index=best.index,
    )
    en = pd.Series(
        np.where(
            major,
            "GB 18218: unit "
            + best[_INSTALLATION]
            + " S="
            + s_txt
            + ", R="
            + r_txt
            + " (alpha="
            + a_txt
            + ", ~"
            + p_txt
            + " persons within 500 m"
            + note_en
            + "), grade "
            + best["grade"].astype(str)
            + " major hazard -> "
            + level_labels(rank, "en"),
            "GB 18218: max S=" + s_txt + " < 1 (" + unit_txt + " units), not a major hazard installation",
        ),
        index=best.index,
    )
    return zh, en


def grade_facilities(
    inventory: pd.DataFrame,
    persons: pd.Series,
    *,
    grade_levels: Mapping[str, str],
    beta_overrides: Mapping[str, float] | None = None,
    source: str = "inventory",
    persons_notes: pd.DataFrame | None = None,
    densities: Mapping[str, float] | None = None,
) -> MethodResult:
    """Grade every facility with inventory rows (vectorised over rows and units).

    ``persons`` is indexed by facility id; ``persons_notes`` (same index, columns ``zh`` and ``en``) says how
    they were found where a reader should know (an approximate number, a buffer the raster covers in part: a
    lower bound), and goes into the reason of a major hazard installation, whose grade depends on α. Facilities
    with no inventory, or whose units are all below S = 1, get rank 0 ("not applicable") with a reason that says
    so.
    """
    inv, rejects = _resolve_inventory(inventory, source, beta_overrides or {}, densities or {})
    if inv.empty:  # nothing usable: every row was rejected (or there were none)
        return MethodResult(results=empty_result().results, rejects=rejects)
    units = _units(inv, persons)
    best, n_units = _deciding_units(units)
    lvl = {int(g): int(Level.parse(k)) for g, k in grade_levels.items()}
    rank = best["grade"].map(lambda g: lvl.get(int(g), 0)).astype(int)
    zh, en = _reason_texts(best, n_units, rank, persons_notes)
    major = best["major"]
    results = pd.DataFrame(
        {
            "score": np.where(major, best["r"], np.nan),
            "rank": np.where(major, rank, 0),
            "reason_zh": zh,
            "reason_en": en,
            "gb18218_s": best["s"],
            "gb18218_grade": np.where(major, best["grade"], 0),
        },
        index=best.index,
    )
    results.index.name = FACILITY_ID
    return MethodResult(results=results, rejects=rejects)
