"""Schema and geometry checks: clean frames plus a rejects table; nothing is dropped silently.

Every row that cannot be used becomes one rejects row naming the file, the row a user sees in Excel (the header
is row 1) or the feature number, the field, the value and the reason.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.columns import (
    FACILITY_ID,
    FOOTPRINT,
    NAME,
    NO_XY,
    NO_XY_FIELD,
    RAW_X,
    RAW_Y,
    ROW_CRS,
    SECTOR,
    SWAPPED,
    TOWN_WRITTEN,
    ZONE_WRITTEN,
)
from riskmap.config import TABLE_COLUMNS, Config, FacilitiesConfig, SitesConfig, TableConfig
from riskmap.coordinates import NOT_A_NUMBER, read_coordinates, row_systems
from riskmap.errors import InputError
from riskmap.frames import distinct_rows, ids_in, normalise_text
from riskmap.i18n import N_, Msg, per_row, tr
from riskmap.io.crs import parse_crs, to_geographic
from riskmap.io.tables import ROW, SHEET
from riskmap.rejects import make_rejects, rejects_frame
from riskmap.vocabulary import EMPTY_IDS

__all__ = [
    "ROW",
    "is_credit_code",
    "credit_code_valid",
    "normalise_ids",
    "id_notes",
    "name_ids",
    "NAME_ID_PREFIX",
    "register_names",
    "match_by_name",
    "mapped_columns",
    "require_columns",
    "validate_facilities",
    "facility_columns",
    "validate_table",
    "first_seen",
    "RECORD_IDS",
    "WHOLE_ROW",
    "validate_sites",
    "table_points",
    "projected_metres_hint",
    "to_number",
    "read_quantities",
    "comma_reasons",
    "excel_number",
    "EXCEL_ID",
]


_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_INDEX = {c: i for i, c in enumerate(_CREDIT_ALPHABET)}
#: Byte -> position in the alphabet, -1 for bytes not in it.
_CREDIT_LOOKUP = np.full(256, -1, dtype=np.int16)
_CREDIT_LOOKUP[np.frombuffer(_CREDIT_ALPHABET.encode(), dtype=np.uint8)] = np.arange(len(_CREDIT_ALPHABET))


def is_credit_code(text: str) -> bool:
    """Whether ``text`` has the shape of a unified social credit code (18 characters of its alphabet)."""
    return len(text) == 18 and all(c in _CREDIT_INDEX for c in text.upper())


def credit_code_valid(code: str) -> bool:
    """Check a unified social credit code (GB 32100-2015) by its check character.

    >>> credit_code_valid("91350100M000100Y43")
    True
    >>> credit_code_valid("91350100M000100Y44")
    False
    """
    code = code.upper()
    if not is_credit_code(code):
        return False
    total = sum(_CREDIT_INDEX[c] * w for c, w in zip(code[:17], _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_ALPHABET[(31 - total % 31) % 31] == code[17]


def _credit_codes_valid(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(shaped, valid)`` for every id: has the shape of a credit code, and its check character matches.

    :func:`credit_code_valid` on a whole column at once: the codes are ASCII, so their bytes index a lookup
    table and the weighted sum is a matrix product (a district register has thousands of ids, the country
    millions).
    """
    text = ids.astype(str).str.upper()
    candidate = (text.str.len() == 18) & text.str.isascii()
    shaped = np.zeros(len(text), dtype=bool)
    valid = np.zeros(len(text), dtype=bool)
    if not candidate.any():
        return shaped, valid
    codes = np.asarray(text[candidate].to_numpy(dtype=object), dtype="S18").view(np.uint8).reshape(-1, 18)
    index = _CREDIT_LOOKUP[codes]
    ok = (index >= 0).all(axis=1)
    total = index[:, :17].astype(np.int64) @ np.array(_CREDIT_WEIGHTS, dtype=np.int64)
    check = (31 - total % 31) % 31
    where = np.flatnonzero(candidate.to_numpy())
    shaped[where] = ok
    valid[where] = ok & (check == index[:, 17])
    return shaped, valid


def _has_space(text: pd.Series) -> np.ndarray:
    """Which cells hold white space: one Arrow regex over the column.

    pandas runs Python's ``re`` per cell for this pattern (1.3 s on 3M ids). After NFKC every space is ASCII,
    which RE2's class matches.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        found = pc.match_substring_regex(pa.array(text, from_pandas=True), r"\s")
    except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return text.str.contains(r"\s", regex=True).fillna(False).to_numpy(dtype=bool)
    return found.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)


def normalise_ids(series: pd.Series) -> pd.Series:
    """Facility ids in the one form they are compared, joined and written in.

    Full-width characters become ASCII, spaces go (inside too: "9132 0100..." pasted from a PDF), letters are
    upper case (a credit code is upper case by definition, GB 32100): a lower-case copy of a code is a
    duplicate, and a related row keyed by it finds its facility. The words offices write for "no id" (无, /, -,
    —, 空, 暂无, N/A: :data:`riskmap.vocabulary.EMPTY_IDS`) are empty ids.

    >>> normalise_ids(pd.Series(["91350100m000100y43", "９１３５ ０１００M000100Y43", " ab-1 ", "无", "n/a"])).tolist()
    ['91350100M000100Y43', '91350100M000100Y43', 'AB-1', '', '']
    """
    text = _without_spaces(normalise_text(series)).str.upper()
    return text.where(~text.isin(EMPTY_IDS), "")


def _without_spaces(text: pd.Series) -> pd.Series:
    """``text`` without white space anywhere, the regex run only on the cells that have some."""
    spaced = pd.Series(_has_space(text), index=text.index)
    if spaced.any():
        text = text.copy()
        text[spaced] = text[spaced].str.replace(r"\s+", "", regex=True)
    return text


#: An old business registration number (工商注册号, 15 digits), replaced by the credit code in 2015-2017.
_REGISTRATION_NUMBER = r"\d{15}"


#: How an enterprise the register lists without an id is keyed: by its name (``无代码:厦门市永泰塑胶有限公司``).
NAME_ID_PREFIX = "无代码:"


def name_ids(names: pd.Series) -> pd.Series:
    """The ids of enterprises the register lists by name only: the prefix and the name, in the form of ids.

    No enterprise of a register vanishes (issue 24): one without a credit code is on the map, graded and planned
    under its name; its related rows find it with ``match_by_name``. Stable from run to run (unlike a row
    number), distinct from every credit code (which has no Chinese character).

    >>> name_ids(pd.Series(["厦门市永泰塑胶 有限公司", "ａｂｃ厂"])).tolist()
    ['无代码:厦门市永泰塑胶有限公司', '无代码:ABC厂']
    """
    return normalise_ids(NAME_ID_PREFIX + names.fillna("").astype(str))


def _reject_named_copies(
    df: pd.DataFrame, named: pd.Series, reject: Callable[[pd.Series, str, pd.Series], None], field: str
) -> None:
    """Reject a row without an id whose name is that of a row with one: most likely one enterprise listed twice.

    A branch of another name is another enterprise. The reject names the id, so the enterprise is planned once.
    """
    if not named.any():
        return
    keys = _name_keys(df[NAME])
    with_id = keys[~named & (df[FACILITY_ID] != "")]
    first = pd.Series(df.loc[with_id.index, FACILITY_ID].to_numpy(), index=with_id.to_numpy())
    first = first[~first.index.duplicated()]
    copy = named & keys.isin(first.index)
    if copy.any():
        ids = keys[copy].map(first)
        reason = per_row(
            N_(
                "no id, and the register lists an enterprise of this name with the id {id}: the same "
                "enterprise listed twice? give the row its id, or a name of its own"
            ),
            id=ids,
        )
        df.loc[copy, FACILITY_ID] = ids  # the reject is of that enterprise (it is planned once)
        reject(copy, field, reason)


def id_notes(raw: pd.DataFrame, fc: FacilitiesConfig, source: str) -> list[str]:
    """A note on the register's ids that are old 15-digit registration numbers: accepted, counted once.

    >>> raw = pd.DataFrame({"_row": [2, 3], "facility_id": ["350212100012345", "91350100M000100Y43"]})
    >>> from riskmap.i18n import language
    >>> with language("en"):
    ...     id_notes(raw, FacilitiesConfig(path="f.csv"), "f.csv")[0][:62]
    'f.csv: 1 facility id is an old 15-digit business registration'
    """
    if fc.id not in raw.columns:
        return []
    ids = normalise_ids(raw[fc.id].fillna(""))
    notes = []
    old = ids.str.fullmatch(_REGISTRATION_NUMBER).fillna(False).astype(bool)
    n = int(old.sum())
    if n:
        first = old.to_numpy().argmax()
        example = (
            tr("row {row} {id}", row=raw[ROW].iloc[first], id=ids.iloc[first])
            if ROW in raw.columns
            else ids.iloc[first]
        )
        if n == 1:
            note = tr(
                "{source}: 1 facility id is an old 15-digit business registration number (工商注册号, e.g. "
                "{example}), accepted as ids: related tables must key these enterprises by the same numbers (or "
                "every file by the unified social credit code)",
                source=source,
                example=example,
            )
        else:
            note = tr(
                "{source}: {n} facility ids are old 15-digit business registration numbers (工商注册号, e.g. "
                "{example}), accepted as ids: related tables must key these enterprises by the same numbers (or "
                "every file by the unified social credit code)",
                source=source,
                n=n,
                example=example,
            )
        notes.append(note)
    if fc.name in raw.columns:
        named = (ids == "") & (raw[fc.name].fillna("").astype(str).str.strip() != "")
        if named.any():
            notes.append(_nameless_note(raw, named, source))
    return notes


def _nameless_note(raw: pd.DataFrame, named: pd.Series, source: str) -> str:
    """The note on the enterprises of the register without an id: shown under their names."""
    n = int(named.sum())
    rows = raw.loc[named, ROW].astype(str).head(5).tolist() if ROW in raw.columns else []
    params: dict[str, Any] = {
        "source": source,
        "n": n,
        "prefix": NAME_ID_PREFIX,
        "rows": ", ".join(rows) + (" ..." if n > 5 else ""),
    }
    if n == 1 and rows:
        return tr(
            "{source}: 1 enterprise has no id (rows {rows}): on the map and in the plan under its name "
            "({prefix}<name>); rows of related tables find them by name with match_by_name = true. Give them their "
            "unified social credit codes",
            **params,
        )
    if n == 1:
        return tr(
            "{source}: 1 enterprise has no id: on the map and in the plan under its name ({prefix}<name>); rows of "
            "related tables find them by name with match_by_name = true. Give them their unified social credit codes",
            **params,
        )
    if rows:
        return tr(
            "{source}: {n} enterprises have no id (rows {rows}): on the map and in the plan under their names "
            "({prefix}<name>); rows of related tables find them by name with match_by_name = true. Give them their "
            "unified social credit codes",
            **params,
        )
    return tr(
        "{source}: {n} enterprises have no id: on the map and in the plan under their names ({prefix}<name>); rows "
        "of related tables find them by name with match_by_name = true. Give them their unified social credit codes",
        **params,
    )


#: The only place a comma may stand in a number: thousands separators, 1,234,567.5.
_THOUSANDS = r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?"
#: Commas of other scripts (NFKC already turns the full-width ， into ,).
_COMMAS = ",，、﹐﹑"


def _has_comma(text: pd.Series) -> pd.Series:
    return text.str.contains(f"[{_COMMAS}]", regex=True).fillna(False).astype(bool)


def to_number(series: pd.Series) -> pd.Series:
    """Parse text to float; full-width digits and thousands separators are accepted, the rest is NaN.

    A comma is read as a thousands separator only in ``1,234`` or ``1,234.5``; ``2,5`` (a decimal comma) and
    ``1.234,5`` are NaN, never 25 or 1.2345 (:func:`comma_reasons` says why).

    >>> to_number(pd.Series(["1,234.5", "２，５", "2,5", "1.234,5", "12"])).tolist()
    [1234.5, nan, nan, nan, 12.0]
    """
    text = normalise_text(series)
    comma = _has_comma(text)
    if comma.any():
        text = text.copy()
        sub = text[comma]
        thousands = sub.str.fullmatch(_THOUSANDS).fillna(False).astype(bool)
        text[comma] = sub.str.replace(",", "", regex=False).where(thousands, "")
    return pd.to_numeric(text, errors="coerce")


def _comma_reason(value: str) -> Msg:
    if re.fullmatch(r"[-+]?\d{1,3}(?:\.\d{3})+,\d+", value):  # 1.234,5: dots for thousands, a decimal comma
        fix = value.replace(".", "").replace(",", ".")
        return Msg(
            "{value!r}: ambiguous decimal comma with dots for thousands; write {fix}", value=value, fix=fix
        )
    if re.fullmatch(r"[-+]?\d*[,，、﹐﹑]\d+", value):
        fix = re.sub(r"[,，、﹐﹑]", ".", value)
        return Msg(
            "{value!r}: ambiguous decimal comma; write {fix} (a comma is read only in 1,234.5)",
            value=value,
            fix=fix,
        )
    return Msg(
        "{value!r}: not a number: a comma is read only as a thousands separator (1,234.5)", value=value
    )


def comma_reasons(series: pd.Series) -> pd.Series:
    """Why each value with a comma that :func:`to_number` cannot read is not a number (a Msg; "" elsewhere).

    Computed per distinct value, so a column of a million quantities costs one pass over its few bad ones.

    >>> [m.render("en") if m else m for m in comma_reasons(pd.Series(["2,5", "1,234", "3"]))]
    ["'2,5': ambiguous decimal comma; write 2.5 (a comma is read only in 1,234.5)", '', '']
    """
    text = normalise_text(series)
    comma = _has_comma(text)
    reasons = pd.Series("", index=series.index, dtype=object)
    if comma.any():
        sub = text[comma]
        bad = ~sub.str.fullmatch(_THOUSANDS).fillna(False).astype(bool)
        values = sub[bad]
        distinct = pd.unique(values.to_numpy(dtype=object))
        by_value = {v: _comma_reason(str(v)) for v in distinct}
        reasons[values.index] = values.map(by_value).to_numpy(dtype=object)
    return reasons


#: A number as registers write it: "约" (approximately) before it; after it a multiplier (万 = 10,000, 亿 = 10⁸),
#: "余"/"多" (-odd), a unit ("t", "吨", "kg", "人", "m2", "%") and "左右"/"上下" (about). Groups: about, number,
#: multiplier, odd, unit, about after. Commas in the number are judged by :func:`to_number`.
_QUANTITY = re.compile(
    r"^(约为?|大约|约计|~|≈)?\s*([-+]?[0-9.,]+(?:[eE][-+]?\d+)?)\s*(万|亿)?\s*(余|多)?\s*"
    r"([^\d\s.,+\-]\S*?)?\s*(左右|上下)?$"
)
_MULTIPLIERS = {"万": 1e4, "亿": 1e8}
#: Words that make a number a bound, not a value: 3000以上 (3000 or more), 不足50 (under 50), >100.
_BOUND = re.compile(r"(以上|以下|以内|不足|不到|超过|大于|小于|至少|最多|不少于|不超过|[<>≤≥])")


def read_quantities(text: pd.Series) -> pd.DataFrame:
    """Numbers with what registers write around them, read once per distinct cell.

    Returns, per cell: ``value`` (the number times its multiplier, NaN when not read), ``unit`` (the text after
    it, lower case, ``""`` for none, ``"%"`` for percent), ``about`` (written as approximate: 约, 左右, 余, 多),
    ``empty`` and ``problem``: why a non-empty cell gives no usable number (``""`` when it does). A bound
    (``3000以上``), a decimal comma, a text or a number beyond floating point (``1e400``) is a problem; what a
    unit means is for the caller to judge.

    >>> q = read_quantities(pd.Series(["约2000人", "0.5万", "50%", "1e400", "3000以上", "2,5", ""]))
    >>> q["value"].tolist()[:3], q["unit"].tolist()[:3], q["about"].tolist()[:3]
    ([2000.0, 5000.0, 50.0], ['人', '', '%'], [True, False, False])
    >>> [m.render("en") if m else m for m in q["problem"].tolist()[3:]]
    ["'1e400' is not a finite number", "'3000以上' is a bound (以上), not a value: give the number", "'2,5': ambiguous decimal comma; write 2.5 (a comma is read only in 1,234.5)", '']
    """
    codes, uniques = pd.factorize(text.fillna("").astype(str).to_numpy(dtype=object))
    distinct = _read_distinct(pd.Series(uniques, dtype=object))
    return distinct.iloc[codes].set_axis(text.index)


def _read_distinct(raw: pd.Series) -> pd.DataFrame:
    """:func:`read_quantities` of distinct cells: plain numbers at once, the rest through the patterns."""
    norm = normalise_text(raw)
    plain = to_number(norm).astype(float)
    # Most cells are plain numbers: one vectorised parse; a regex per cell (Python's) only for the others.
    fast = plain.notna().to_numpy() & np.isfinite(plain.to_numpy())
    out = pd.DataFrame(
        {"value": plain, "unit": "", "about": False, "empty": False, "problem": ""}, index=raw.index
    ).astype({"unit": object, "problem": object})
    if not fast.all():
        out[~fast] = _read_written(norm[~fast])
    return out


#: Why a quantity as written gives no number (``{cell}``: the cell, ``{bound}``: the word that makes it a bound).
_QUANTITY_PROBLEMS = {
    1: N_("'{cell}' is a bound ({bound}), not a value: give the number"),
    2: N_("'{cell}' is not a number"),
    4: N_("'{cell}' is not a finite number"),
}


def _read_written(norm: pd.Series) -> pd.DataFrame:
    """:func:`read_quantities` of normalised cells that are not plain numbers."""
    parts = norm.str.extract(_QUANTITY)
    number = parts[1].fillna("")
    value = (to_number(number) * parts[2].map(_MULTIPLIERS).fillna(1.0)).astype(float)
    empty = norm == ""
    bound = norm.str.extract(_BOUND)[0]
    comma = comma_reasons(number)
    which = np.select(
        [empty, bound.notna(), parts[1].isna(), comma != "", value.notna() & ~np.isfinite(value)],
        [0, 1, 2, 3, 4],
        0,
    )
    problem = np.full(len(norm), "", dtype=object)
    problem[which == 3] = comma[which == 3].to_numpy()
    for i, message in _QUANTITY_PROBLEMS.items():  # each message over its cells at once
        at = which == i
        if at.any():
            problem[at] = per_row(message, cell=norm[at], bound=bound[at].fillna("")).to_numpy()
    problem = pd.Series(problem, index=norm.index, dtype=object)
    return pd.DataFrame(
        {
            "value": value.where(problem == "").astype(float),
            "unit": parts[4].fillna("").str.lower().astype(object),
            "about": (parts[0].notna() | parts[3].notna() | parts[5].notna()).to_numpy(),
            "empty": empty.to_numpy(),
            "problem": problem,
        },
        index=norm.index,
    )


#: An id Excel showed in scientific notation and saved that way (``9.13299E+17``): its digits are lost.
_EXCEL_NUMBER = r"^[0-9](?:\.[0-9]+)?[eE]\+?[0-9]+$"
EXCEL_ID = Msg(
    "the id was turned into a number by Excel (scientific notation, its digits are lost); format the id column "
    "as text and enter the ids again"
)
#: A row without a facility id (the reject reason).
EMPTY_ID = Msg("the facility id is empty")


def excel_number(ids: pd.Series) -> pd.Series:
    """Whether each id is a number in scientific notation, as Excel saves a long id typed into a number cell."""
    return ids.astype(str).str.match(_EXCEL_NUMBER).fillna(False).astype(bool)


def require_columns(df: pd.DataFrame, columns: dict[str, str], source: str, section: str) -> None:
    """Raise a clear error when a configured column is missing from a file."""
    available = [c for c in df.columns if c not in (ROW, SHEET)]
    for key, col in columns.items():
        if col not in df.columns:
            close = difflib.get_close_matches(col, available, n=1)
            how = (
                tr(
                    'map yours with [{table}] columns = {{ {key} = "..." }}',
                    table=section.split(".")[0],
                    key=key,
                )
                if section.endswith(".columns")
                else tr("set {section}.{key} to the file's column", section=section, key=key)
            )
            params = {"source": source, "column": col, "how": how, "columns": ", ".join(available)}
            if close:
                raise InputError(
                    tr(
                        '{source}: no column "{column}"; did you mean "{close}"? ({how}). Columns in the file: '
                        "{columns}.",
                        close=close[0],
                        **params,
                    )
                )
            raise InputError(
                tr('{source}: no column "{column}" ({how}). Columns in the file: {columns}.', **params)
            )


def facility_columns(fc: FacilitiesConfig, is_vector: bool, source: str = "facilities") -> dict[str, str]:
    """The columns of the facilities file the project file names (keys as the messages call them).

    Raises
    ------
    InputError
        ``crs_column`` is set for a vector file (its geometries have their CRS).
    """
    cols = {"id": fc.id, "name": fc.name, "sector": fc.sector}
    if is_vector and fc.crs_column is not None:
        raise InputError(
            tr(
                "{source}: facilities.crs_column is for tables with x/y columns; a vector file's geometries have "
                "the CRS of the file (or facilities.crs): remove crs_column",
                source=source,
            )
        )
    if not is_vector:
        cols |= {"x": fc.x, "y": fc.y}
    optional = {"crs_column": fc.crs_column, "zone_column": fc.zone_column, "town_column": fc.town_column}
    return cols | {k: v for k, v in optional.items() if v is not None}


def validate_facilities(
    raw: pd.DataFrame, config: Config, source: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Check ids, sectors and coordinates; return facilities in EPSG:4490 and the rejects.

    ``raw`` is a text table with x/y columns, or a GeoDataFrame from a vector file. With ``zone_column``, a
    facility whose coordinates cannot be used is kept without a geometry (why in ``NO_XY``), to be placed by
    its zone (:mod:`riskmap.placement`); its zone and town as written are in ``ZONE_WRITTEN``/``TOWN_WRITTEN``.
    """
    fc = config.facilities
    is_vector = isinstance(raw, gpd.GeoDataFrame)
    require_columns(raw, facility_columns(fc, is_vector, source), source, "facilities")

    df = raw.rename(columns={fc.id: FACILITY_ID, fc.name: NAME, fc.sector: SECTOR})
    written = df[FACILITY_ID].fillna("").astype(str)  # the rejects show an id as the register writes it
    df[FACILITY_ID] = normalise_ids(df[FACILITY_ID].fillna(""))
    df[SECTOR] = normalise_text(df[SECTOR].fillna(""))
    df[NAME] = df[NAME].fillna("").astype(str).str.strip()
    rejects: list[pd.DataFrame] = []
    stage = "validate"

    def reject(mask: pd.Series, field: str, reason: Msg | pd.Series) -> None:
        nonlocal df
        if mask.any():
            why = reason.reindex(df[mask].index) if isinstance(reason, pd.Series) else reason
            cells = written if field == fc.id else None
            rejects.append(make_rejects(source, df[mask], field, why, stage, values=cells))
            df = df[~mask]

    named = (df[FACILITY_ID] == "") & (df[NAME] != "")
    df.loc[named, FACILITY_ID] = name_ids(df.loc[named, NAME])
    reject(df[FACILITY_ID] == "", fc.id, EMPTY_ID)
    _reject_named_copies(df, named, reject, fc.id)
    reject(excel_number(df[FACILITY_ID]), fc.id, EXCEL_ID)
    if fc.check_credit_code:
        shaped, valid = _credit_codes_valid(df[FACILITY_ID])
        bad = pd.Series(shaped & ~valid, index=df.index)
        reject(
            bad,
            fc.id,
            Msg("not a valid unified social credit code: the check character (18th) does not match"),
        )
    dup, first_row = first_seen(df[ROW], df[FACILITY_ID])
    by_name = df[FACILITY_ID].str.startswith(NAME_ID_PREFIX)
    first_row = first_row[dup]  # a reason per copy: the row it copies
    reject(
        dup,
        fc.id,
        per_row(N_("duplicate facility id; first seen at row {row}"), row=first_row).where(
            ~by_name[dup],
            per_row(N_("duplicate enterprise name without an id; first seen at row {row}"), row=first_row),
        ),
    )
    reject(df[SECTOR] == "", fc.sector, Msg("the sector is empty"))
    systems = None
    if fc.crs_column is not None and not is_vector:
        systems, problem = row_systems(df[fc.crs_column], fc.crs, fc.crs_values, fc.crs_column)
        reject(problem != "", fc.crs_column, problem)
        systems = systems[df.index]
    for column, written in ((fc.zone_column, ZONE_WRITTEN), (fc.town_column, TOWN_WRITTEN)):
        if column is not None:
            df[written] = normalise_text(df[column].fillna("")).str.replace(r"\s+", "", regex=True)

    placeable = fc.zone_column is not None
    if is_vector:
        gdf, geo_rejects = _vector_points(df, source, placeable)
    else:
        gdf, geo_rejects = table_points(
            df, fc.x, fc.y, fc.crs, source, "facilities", systems=systems, keep_unusable=placeable
        )
        if not placeable:  # else their values name the rejects of the facilities no zone places
            gdf = gdf.drop(columns=list(dict.fromkeys(c for c in (fc.x, fc.y) if c in gdf.columns)))
    rejects.append(geo_rejects)
    gdf = gdf.reset_index(drop=True)
    out = (
        pd.concat([r for r in rejects if not r.empty], ignore_index=True)
        if any(not r.empty for r in rejects)
        else rejects_frame()
    )
    return gdf, out


#: China's longitudes and latitudes: x and y inside each other's range are taken as swapped in the file.
_CHINA_LON, _CHINA_LAT = (73, 136), (3, 54)


def _geographic(systems: pd.Series, section: str) -> pd.Series:
    """Whether each row's system is longitude/latitude (GCJ-02 and BD-09 are); parsed once per system."""
    codes, names = pd.factorize(systems.to_numpy(dtype=object))
    found = np.array([isinstance(c, str) or c.is_geographic for c in (parse_crs(s, section) for s in names)])
    return pd.Series(found[codes] if len(codes) else np.zeros(0, dtype=bool), index=systems.index)


def _coordinate_reasons(df: pd.DataFrame, xy: pd.DataFrame, field: pd.Series) -> pd.Series:
    """The reader's problems, a cell with a comma that is not a thousands separator saying which comma it is."""
    reason = xy["problem"].copy()
    comma_rows = reason == NOT_A_NUMBER
    for col in pd.unique(field[comma_rows]):
        at = comma_rows & (field == col)
        comma = comma_reasons(df.loc[at, col]).to_numpy()
        reason[at] = np.where(
            comma != "",
            per_row(N_("the coordinate is {why}"), why=comma),
            np.array(NOT_A_NUMBER, dtype=object),
        )
    return reason


def _read_xy(
    df: pd.DataFrame, x_col: str, y_col: str, systems: pd.Series, section: str
) -> tuple[pd.DataFrame, pd.Series]:
    """The x/y of every row as numbers (swapped back where swapped), with the reason and field of the others."""
    xy = read_coordinates(df[x_col], df[y_col], same_column=x_col == y_col)
    names = xy["field"].to_numpy(dtype=object)
    field = pd.Series(
        np.where(names == "x", x_col, np.where(names == "y", y_col, "")), index=xy.index, dtype=object
    )
    xy["problem"] = _coordinate_reasons(df, xy, field)
    geographic = _geographic(systems, f"{section}.crs")
    x, y = xy["x"], xy["y"]
    swap = geographic & x.between(*_CHINA_LAT) & y.between(*_CHINA_LON)
    xy["x"], xy["y"] = x.where(~swap, y), y.where(~swap, x)
    xy["swapped"] |= swap
    ok = xy["problem"] == ""
    outside = geographic & ok & ~(xy["x"].between(-180, 180) & xy["y"].between(-90, 90))
    if outside.any():
        declared = str(systems[outside].iloc[0])
        hint = projected_metres_hint(xy["x"][outside], xy["y"][outside], section, declared)
        xy.loc[outside, "problem"] = per_row(
            N_("longitude/latitude out of range (-180..180, -90..90){hint}"), hint=hint
        ).to_numpy()
        field[outside] = x_col
    return xy, field


def table_points(
    df: pd.DataFrame,
    x_col: str,
    y_col: str,
    crs_text: str | None,
    source: str,
    section: str,
    *,
    systems: pd.Series | None = None,
    keep_unusable: bool = False,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Points in EPSG:4490 from the x/y columns of a text table; unusable coordinates become rejects.

    Coordinates are read as written (:func:`riskmap.coordinates.read_coordinates`: numbers also stored as text,
    degrees-minutes-seconds, a pair in one cell, hemisphere marks). In a longitude/latitude system, a row whose x
    lies in China's latitudes (3..54) and y in its longitudes (73..136) is read swapped back (``SWAPPED``).
    ``systems`` gives each row's own system (``[facilities] crs_column``), else every row is in ``crs_text``; the
    rows of one system are converted at once. The coordinates as read, in their own system, are kept in
    ``RAW_X``/``RAW_Y`` with the system in ``ROW_CRS``. With ``keep_unusable`` a row whose coordinates cannot be
    used is kept without a geometry, the reason and field in ``NO_XY``/``NO_XY_FIELD``, instead of rejected.
    """
    if crs_text is None and systems is None:
        raise InputError(
            tr(
                '{source}: the coordinates have no declared CRS; add {section}.crs = "EPSG:4490" (CGCS2000), '
                '"EPSG:4326" (WGS84/GPS), or "GCJ-02" / "BD-09" (Gaode/Tencent/Baidu map apps) to the project file',
                source=source,
                section=section,
            )
        )
    if systems is None:
        systems = pd.Series(crs_text, index=df.index, dtype=object)
    xy, field = _read_xy(df, x_col, y_col, systems, section)
    bad = xy["problem"] != ""
    rejects = []
    if not keep_unusable:
        for col in pd.unique(field[bad]):
            at = bad & (field == col)
            rejects.append(make_rejects(source, df[at], col, xy["problem"][at], "validate"))
        df, xy, systems = df[~bad], xy[~bad], systems[~bad]
    lon = np.full(len(df), np.nan)
    lat = np.full(len(df), np.nan)
    usable = (xy["problem"] == "").to_numpy()
    codes, names = pd.factorize(systems.where(usable).to_numpy(dtype=object))
    for i, system in enumerate(names):  # one conversion per system, never per row
        at = codes == i
        lon[at], lat[at] = to_geographic(
            xy["x"].to_numpy()[at], xy["y"].to_numpy()[at], parse_crs(system, f"{section}.crs")
        )
    points = gpd.points_from_xy(lon, lat)
    points[~usable] = None
    gdf = gpd.GeoDataFrame(df, geometry=points, crs="EPSG:4490")
    gdf[RAW_X], gdf[RAW_Y] = xy["x"].to_numpy(), xy["y"].to_numpy()
    gdf[ROW_CRS] = pd.Categorical(systems.to_numpy(dtype=object))  # a few systems over many rows
    gdf[SWAPPED] = xy["swapped"].to_numpy(dtype=bool)
    if keep_unusable:
        gdf[NO_XY] = xy["problem"].to_numpy(dtype=object)
        gdf[NO_XY_FIELD] = field.where(bad, "").to_numpy(dtype=object)
    out = pd.concat(rejects, ignore_index=True) if rejects else rejects_frame()
    return gdf, out


#: CGCS2000 Gauss-Krüger grids whose easting carries the zone number in front (zone 40: 40 500 000 m at the
#: central meridian): zone numbers -> EPSG code of the first zone. 3-degree zones 25..45 are EPSG:4513..4533,
#: 6-degree zones 13..23 EPSG:4491..4501; the two ranges do not overlap, so the number tells the grid.
_ZONED_GRIDS = {N_("3-degree"): (25, 45, 4513), N_("(6-degree)"): (13, 23, 4491)}


def projected_metres_hint(x: pd.Series, y: pd.Series, section: str, declared: str | None) -> pd.Series:
    """For coordinates outside longitude/latitude that look like projected metres: the CRS to declare.

    A northing of China (1,500,000..6,000,000 m) with an easting of a Gauss-Krüger or UTM grid: with a zone
    number in front (``40512345``) the zone and its EPSG code; without one (``512345``) the central meridian is
    not in the number, so the candidates. ``""`` where the numbers look like nothing known. No ``;`` in the
    text: summaries of the rejects cut a reason there.

    >>> projected_metres_hint(pd.Series([40512345.0]), pd.Series([3563210.0]), "facilities", "EPSG:4490")[0].render("en")
    ': the x/y look like metres of CGCS2000 3-degree Gauss-Krüger zone 40 (the easting starts with the zone number): set facilities.crs = "EPSG:4528" (declared: EPSG:4490, in degrees)'
    """
    out = pd.Series("", index=x.index, dtype=object)
    north = y.between(1_500_000, 6_000_000).to_numpy()
    zone = np.floor(x.to_numpy(dtype=float) / 1e6)
    declared_text = Msg(" (declared: {declared}, in degrees)", declared=declared) if declared else ""
    for grid, (first, last, epsg) in _ZONED_GRIDS.items():
        hit = north & (zone >= first) & (zone <= last)
        for n in np.unique(zone[hit]).astype(int):
            out[hit & (zone == n)] = Msg(
                ": the x/y look like metres of CGCS2000 {grid} Gauss-Krüger zone {n} (the easting starts with "
                'the zone number): set {section}.crs = "EPSG:{epsg}"{declared}',
                grid=Msg(grid), n=n, section=section, epsg=epsg + n - first, declared=declared_text,
            )  # fmt: skip
    plain = north & (zone == 0) & (x.to_numpy(dtype=float) >= 100_000)
    out[plain] = Msg(
        ": the x/y look like projected metres (an easting near 500,000 without a zone number and a northing of "
        "China): set {section}.crs to their projected CRS{declared}, e.g. CGCS2000 3-degree Gauss-Krüger "
        '"EPSG:4534" .. "EPSG:4554" (central meridian 75E..135E: EPSG:4534 + (meridian - 75) / 3, "EPSG:4549" '
        'for 120E), 6-degree "EPSG:4502" .. "EPSG:4512", or a UTM zone ("EPSG:32650" for 50N)',
        section=section, declared=declared_text,
    )  # fmt: skip
    return out


def _single_points(df: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """One-point MultiPoints (as shapefile exports store points) as Points; several points are rejected.

    A MultiPoint is not a plant boundary: kept, it would be zoned by "largest overlap" of an area it does not
    have. Several points under one id are several sites: which one is the facility is the user's call.
    """
    import shapely

    multi = (df.geom_type == "MultiPoint").to_numpy()
    if not multi.any():
        return df, rejects_frame()
    parts = shapely.get_num_geometries(df.geometry.to_numpy())
    several = multi & (parts > 1)
    reason = per_row(
        N_(
            "a MultiPoint of {n} points: give one point (or a plant boundary polygon) per facility, or split the "
            "sites into rows with their own ids"
        ),
        n=pd.Series(parts[several], index=df.index[several]),
    )
    rejects = make_rejects(source, df[several], "geometry", reason, "validate")
    out = df[~several].copy()
    one = (out.geom_type == "MultiPoint").to_numpy()
    if one.any():
        out.loc[one, out.geometry.name] = shapely.get_geometry(out.geometry.to_numpy()[one], 0)
    return out, rejects


def _vector_points(
    df: gpd.GeoDataFrame, source: str, keep_unusable: bool = False
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Features as points in EPSG:4490 (plant boundaries kept in ``FOOTPRINT``).

    Features without a geometry are rejected, or kept without one (``NO_XY``) to be placed by their zone when
    ``keep_unusable``.
    """
    empty = df.geometry.isna() | df.geometry.is_empty
    no_geometry = Msg("the feature has no geometry")
    if keep_unusable:
        df = df.assign(
            **{
                NO_XY: np.where(empty, np.array(no_geometry, dtype=object), ""),
                NO_XY_FIELD: np.where(empty, "geometry", ""),
            }
        )
        rejects = rejects_frame()
        kept, multi = _single_points(df[~empty], source)
        gdf = pd.concat([kept, df[empty]]).sort_index(kind="stable")
        gdf.loc[empty[empty].index, gdf.geometry.name] = None
    else:
        rejects = make_rejects(source, df[empty], "geometry", no_geometry, "validate")
        gdf, multi = _single_points(df[~empty], source)
    rejects = pd.concat([r for r in (rejects, multi) if not r.empty] or [rejects], ignore_index=True)
    gdf = gdf.to_crs("EPSG:4490")
    # Polygon facilities (plant boundaries) are placed at a point inside them for zone assignment and markers.
    not_point = gdf.geom_type.notna() & (gdf.geom_type != "Point")
    if not_point.any():
        # The plant boundary is kept for exposure: GB 18218 counts persons within 500 m of the boundary.
        gdf[FOOTPRINT] = gpd.GeoSeries(gdf.geometry.where(not_point, None), crs=gdf.crs)
        gdf.loc[not_point, gdf.geometry.name] = gdf.geometry[not_point].representative_point()
    return gdf, rejects


def validate_sites(raw: pd.DataFrame, cfg: SitesConfig, source: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Sensitive sites as points in EPSG:4490 with a ``kind`` column; unusable rows become rejects."""
    if isinstance(raw, gpd.GeoDataFrame):
        require_columns(raw, {"kind": cfg.kind}, source, "sensitive_sites")
        gdf, rejects = _vector_points(raw, source)
    else:
        require_columns(raw, {"kind": cfg.kind, "x": cfg.x, "y": cfg.y}, source, "sensitive_sites")
        gdf, rejects = table_points(raw, cfg.x, cfg.y, cfg.crs, source, "sensitive_sites")
    gdf = gdf.rename(columns={cfg.kind: "kind"})
    return gdf[["kind", ROW, gdf.geometry.name]].reset_index(drop=True), rejects


def first_seen(rows: pd.Series, *keys: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Which rows repeat an earlier row on ``keys``, and the row number (``rows``) where each was first seen.

    The one test of "listed twice" in riskmap: a facility id ("duplicate facility id; first seen at row 2"), a
    record of a related table (:func:`validate_table`), a bonus item (chem2018). One pass over the key columns,
    however many rows.

    >>> dup, first = first_seen(pd.Series([2, 3, 4]), pd.Series(["a", "b", "a"]))
    >>> dup.tolist(), first.tolist()
    ([False, False, True], [2, 3, 2])
    """
    codes, first = distinct_rows(*keys)
    at = first[codes]
    dup = at != np.arange(len(rows))
    return pd.Series(dup, index=rows.index), pd.Series(rows.to_numpy()[at], index=rows.index)


#: The column naming a record of a related table, where the table has one: a record id listed twice for one
#: facility is one record listed twice, whatever else differs (a corrected copy, another export's spelling).
RECORD_IDS = {"risk_points": "point_id", "hidden_dangers": "hazard_id", "accidents": "accident_id"}
#: Tables whose identical rows are each an instance: the 2018 guide deducts per instance (−2 for each hazardous
#: process), so two identical deduction rows are two deductions (its bonus items count once: chem2018 checks).
_INSTANCE_ROWS = {"deductions"}
WHOLE_ROW = "(whole row)"


#: A record listed twice, without and with the sheet of the first (a table read from several sheets). The
#: English begins with :data:`riskmap.rejects.DUPLICATE`: the run counts these apart from other rejects.
_DUPLICATE_RECORD = (
    N_("duplicate {column} for the same facility; first seen at row {row} (counted once)"),
    N_("duplicate {column} for the same facility; first seen at row {row} of sheet {sheet} (counted once)"),
)
_DUPLICATE_ROW = (
    N_("duplicate row: the same as an earlier row in every column; first seen at row {row} (counted once)"),
    N_(
        "duplicate row: the same as an earlier row in every column; first seen at row {row} of sheet {sheet} "
        "(counted once)"
    ),
)


def _first_seen_reasons(
    df: pd.DataFrame, first: pd.Series, messages: tuple[str, str], **params: str
) -> pd.Series:
    """The reason of each copy, naming the row (and sheet) of the first: ``first`` holds positions in ``df``."""
    row = pd.Series(df[ROW].to_numpy()[first.to_numpy(dtype=int)], index=first.index)
    if SHEET not in df.columns:
        return per_row(messages[0], row=row, **params)
    sheet = pd.Series(df[SHEET].astype(str).to_numpy()[first.to_numpy(dtype=int)], index=first.index)
    return per_row(messages[1], row=row, sheet=sheet, **params)


def _duplicates(df: pd.DataFrame, table: str, source: str) -> tuple[pd.Series, pd.DataFrame]:
    """Rows of a related table that repeat an earlier one (a mask), and their rejects.

    A row with a record id repeats an earlier row of the same facility with that id (ids compared as facility
    ids are: case, width and spaces do not count). A row without one repeats an earlier row identical in every
    column of the file, also those riskmap does not read (a tank name keeps two like inventory rows apart), as
    written. Deduction rows are never merged (see ``_INSTANCE_ROWS``). A table read from several sheets compares
    rows across them and names the first one's sheet ("first seen at row 5 of sheet 2025年第一季度").
    """
    twice = pd.Series(False, index=df.index)
    rejects = []
    # Where a row is: its row number, and its sheet when the table is read from several (rows repeat there).
    at = pd.Series(np.arange(len(df)), index=df.index)
    id_col = RECORD_IDS.get(table)
    named = pd.Series(False, index=df.index)
    if id_col is not None and id_col in df.columns:
        ids = normalise_ids(df[id_col].fillna(""))
        named = ids != ""
        dup, first = first_seen(at[named], df.loc[named, FACILITY_ID], ids[named])
        twice[dup.index[dup]] = True
        reason = _first_seen_reasons(df, first[dup], _DUPLICATE_RECORD, column=id_col)
        rejects.append(make_rejects(source, df.loc[dup.index[dup]], id_col, reason, "validate"))
    if table not in _INSTANCE_ROWS:
        rest = df[~named]
        # The sheet is where a row is, not what it says: one record in two quarterly sheets is listed twice.
        dup, first = first_seen(at[~named], *(rest[c] for c in rest.columns if c not in (ROW, SHEET)))
        twice[dup.index[dup]] = True
        reason = _first_seen_reasons(df, first[dup], _DUPLICATE_ROW)
        rejects.append(make_rejects(source, rest[dup], WHOLE_ROW, reason, "validate"))
    found = [r for r in rejects if not r.empty]
    return twice, (pd.concat(found, ignore_index=True) if found else rejects_frame())


def _canonical(raw: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """The file's columns under their canonical names; a column mapped to several roles serves each.

    One file column may be two roles (a risk-point table's L column: the likelihood of an LS point and the L of
    an LEC point, ``likelihood = "L"``, ``lec_l = "L"``): the first role takes the column, the others a copy.
    """
    roles: dict[str, list[str]] = {}
    for canonical, column in mapping.items():
        if column in raw.columns:
            roles.setdefault(column, []).append(canonical)
    df = raw.rename(columns={column: names[0] for column, names in roles.items()})
    for names in roles.values():
        for other in names[1:]:
            df[other] = df[names[0]]
    return df


#: Optional columns that, once mapped in ``columns``, the file must have: a status column missing would leave
#: every hidden danger's status unread, a unit column every quantity read as tonnes, without a word.
_CHECKED_WHEN_MAPPED = ("status", "unit")


def mapped_columns(cfg: TableConfig) -> set[str]:
    """The optional columns the project file asks for: the file must have them.

    Those mapped in ``columns`` (``status = "整改状态"``) and ``name`` when ``match_by_name`` is on.
    """
    mapped = {c for c in _CHECKED_WHEN_MAPPED if c in cfg.columns}
    return mapped | ({NAME} if cfg.match_by_name else set())


def validate_table(
    raw: pd.DataFrame, table: str, cfg: TableConfig, known_ids: pd.Index, source: str, required: Iterable[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename a related table to canonical columns; reject unknown facilities and rows listed twice.

    A row whose facility id is unknown or empty is rejected, and so is a row that repeats an earlier one (see
    :func:`_duplicates`: "first seen at row N").

    ``required`` lists the canonical columns the configured methods need; others may be absent.
    """
    mapping = {canonical: cfg.columns.get(canonical, canonical) for canonical in TABLE_COLUMNS[table]}
    need = {k: v for k, v in mapping.items() if k in set(required) | {FACILITY_ID} | mapped_columns(cfg)}
    require_columns(raw, need, source, f"{table}.columns")
    df = _canonical(raw, mapping)
    written = df[FACILITY_ID]
    df[FACILITY_ID] = normalise_ids(df[FACILITY_ID])
    unknown = pd.Series(~ids_in(df[FACILITY_ID], known_ids), index=df.index)
    lost = df.loc[unknown, FACILITY_ID]
    reason = np.select(
        [lost == "", excel_number(lost)],
        [np.array(EMPTY_ID, dtype=object), np.array(EXCEL_ID, dtype=object)],
        np.array(
            Msg("no facility with this id in the facilities layer (or the facility was rejected)"),
            dtype=object,
        ),
    )
    rejects = make_rejects(
        source, df[unknown], FACILITY_ID, pd.Series(reason, index=df.index[unknown], dtype=object), "validate",
        values=written,
    )  # fmt: skip
    df = df[~unknown]
    twice, copies = _duplicates(df, table, source)
    if twice.any():
        df = df[~twice]
        rejects = pd.concat([r for r in (rejects, copies) if not r.empty], ignore_index=True)
    return df.reset_index(drop=True), rejects


#: The column of :func:`register_names` holding a name as it is compared.
_NAME_KEY = "name_key"


def _name_keys(names: pd.Series) -> pd.Series:
    """Enterprise names as they are compared: full-width/half-width normalised, without spaces."""
    return _without_spaces(normalise_text(names.fillna("")))


def register_names(raw: pd.DataFrame, fc: FacilitiesConfig) -> pd.DataFrame:
    """The register's enterprise names (as compared), ids and rows, for :func:`match_by_name`.

    Read from the facility rows as read (before validation), so that a name of two register rows is ambiguous
    even when one of them is rejected. Empty when the register lacks its id or name column (validation says so).
    """
    if fc.id not in raw.columns or fc.name not in raw.columns:
        return pd.DataFrame({_NAME_KEY: [], FACILITY_ID: [], ROW: []})
    # Where a register row is, as a reason names it: "57", or "57 of sheet 企业" for a register of several sheets.
    rows = raw[ROW].astype(str) if ROW in raw.columns else pd.Series(np.arange(len(raw)) + 2, index=raw.index)
    if SHEET in raw.columns:
        rows = rows.astype(str) + " of sheet " + raw[SHEET].astype(str)
    return pd.DataFrame(
        {
            _NAME_KEY: _name_keys(raw[fc.name]).to_numpy(),
            FACILITY_ID: _register_ids(raw, fc).to_numpy(),
            ROW: rows.astype(str).to_numpy(),
        }
    )


def _register_ids(raw: pd.DataFrame, fc: FacilitiesConfig) -> pd.Series:
    """The register's ids as :func:`validate_facilities` keys its rows: an enterprise without one by its name."""
    ids = normalise_ids(raw[fc.id].fillna(""))
    named = (ids == "") & (raw[fc.name].fillna("").astype(str).str.strip() != "")
    ids[named] = name_ids(raw.loc[named, fc.name])
    return ids


def _name_candidates(names: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """The register's facilities of each name of ``keys`` that it lists.

    ``n`` distinct ids (an enterprise listed without an id has its name's, :func:`name_ids`), the ``first``, and
    ``ids`` joined when there are several.
    """
    listed = names[ids_in(names[_NAME_KEY], pd.Index(keys.unique()))]
    with_id = listed[listed[FACILITY_ID] != ""].drop_duplicates([_NAME_KEY, FACILITY_ID])
    by_name = with_id.groupby(_NAME_KEY)[FACILITY_ID]
    n = by_name.size()
    several = with_id[
        with_id[_NAME_KEY].isin(n.index[n >= 2])
    ]  # few: their ids are joined one name at a time
    ids = several.groupby(_NAME_KEY)[FACILITY_ID].agg(
        lambda v: ", ".join(v.head(5)) + (" ..." if len(v) > 5 else "")
    )
    return pd.DataFrame({"n": n, "first": by_name.first(), "ids": ids}).fillna(
        {"n": 0, "first": "", "ids": ""}
    )


def match_by_name(
    raw: pd.DataFrame, table: str, cfg: TableConfig, names: pd.DataFrame, known_ids: pd.Index, source: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill the facility id of rows without one from the enterprise name (``match_by_name = true``).

    ``raw`` is the table as read (the file's column names), ``names`` :func:`register_names`, ``known_ids`` the
    facilities on the map. A row whose id is empty (or a word for none, see :func:`normalise_ids`) takes the id of
    the one register facility of its name (compared up to full-width/half-width and spaces). Rejected, with the
    name as the value: a name of two or more facilities (naming their ids), of none, or of a facility not on
    the map. A row with an id keeps it; a row without id or name is left to
    :func:`validate_table` ("the facility id is empty").
    """
    id_col = cfg.columns.get(FACILITY_ID, FACILITY_ID)
    name_col = cfg.columns.get(NAME, NAME)
    require_columns(raw, {NAME: name_col}, source, f"{table}.columns")
    df = raw if id_col in raw.columns else raw.assign(**{id_col: ""})
    empty = normalise_ids(df[id_col].fillna("")) == ""
    keys = pd.Series("", index=df.index, dtype=object)
    keys[empty] = _name_keys(df.loc[empty, name_col]).to_numpy(
        dtype=object
    )  # names of the rows without id only
    todo = empty & (keys != "")
    if not todo.any():
        return df, rejects_frame()
    cand = (
        _name_candidates(names, keys[todo])
        .reindex(keys[todo].unique())
        .fillna({"n": 0, "first": "", "ids": ""})
    )
    at = cand.loc[keys[todo].to_numpy()].set_axis(keys[todo].index)
    matched = (at["n"] == 1).to_numpy() & ids_in(at["first"].fillna(""), known_ids)
    bad, found = at.index[~matched], at.index[matched]
    first = at.loc[found, "first"].to_numpy()
    at = at.loc[bad]  # a reason per row not matched
    reason = np.select(
        [at["n"] >= 2, at["n"] == 0],
        [
            per_row(
                N_(
                    "the enterprise name matches several facilities; give the facility id (candidates: {ids})"
                ),
                ids=at["ids"].astype(str),
            ),
            Msg(
                "no facility with this name in the facilities layer (and no id); give the facility id or the name "
                "as the register writes it"
            ),
        ],
        per_row(
            N_(
                "no facility with this id or name on the map; the facility of this name (id {id}) was rejected: "
                "see its register row"
            ),
            id=at["first"].astype(str),
        ),
    )
    df = df.copy()
    df.loc[found, id_col] = first
    view = df.loc[bad, [c for c in (ROW, SHEET) if c in df.columns]].assign(**{NAME: df.loc[bad, name_col]})
    why = pd.Series(reason, index=at.index, dtype=object)
    rejects = make_rejects(source, view.assign(**{FACILITY_ID: ""}), NAME, why, "validate")
    return df.drop(index=bad), rejects
