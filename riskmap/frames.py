"""Array helpers every stage shares: work once per distinct value, join texts per group, look ids up, take rows.

A million facilities hold a few thousand distinct dates, sectors or grades, and a facility has a few records:
these helpers keep the Python work per distinct value (or per position in a group), never per row. They know
nothing of riskmap's columns or levels (the data contract is :mod:`riskmap.columns`); they import no riskmap
module, so any stage can use them.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

import numpy as np
import pandas as pd

__all__ = [
    "per_distinct",
    "distinct_rows",
    "join_positions",
    "join_first",
    "join_rows",
    "take_or_missing",
    "take_column",
    "column_values",
    "ids_in",
    "id_positions",
    "normalise_text",
    "in_language",
]

#: The dtype a list of Python strings gets in a new frame.
_STR = pd.Series([""]).dtype


# ---------------------------------------------------------------------------------------------------------------
# once per distinct value


def per_distinct(
    values: pd.Series, func: Callable[[pd.Series], pd.Series], strings_only: bool = False
) -> pd.Series:
    """``func(values)`` for an element-wise ``func``, computed once per distinct value.

    Columns such as L/E/C, sectors, dates or rounded scores hold a few distinct values among a million rows, so
    parsing or formatting them per row (a Python call each) is the slow part; here it is done per distinct
    value and spread back with one ``take``. Floats are told apart by their bits, so 0.0 and -0.0 (formatted
    differently) stay apart; object columns (mixed Python values) take the direct path, and with
    ``strings_only`` so does every column that is not a pandas string column.

    >>> per_distinct(pd.Series([3.0, 1.0, 3.0, -0.0, 0.0]), lambda s: s.map(str)).tolist()
    ['3.0', '1.0', '3.0', '-0.0', '0.0']
    >>> per_distinct(pd.Series([], dtype=float), lambda s: s * 2).tolist()
    []
    """
    if values.dtype == object:  # 1, 1.0 and True are one value to factorize but parse and print differently
        return func(values)
    if strings_only and not isinstance(values.dtype, pd.StringDtype):
        return func(values)
    if pd.api.types.is_float_dtype(values.dtype):
        key = values.to_numpy(dtype=np.float64, na_value=np.nan).view(np.int64)
    else:
        key = values
    codes, _ = pd.factorize(key, use_na_sentinel=False)
    # One row of each distinct value, in code order (which of the equal rows does not matter).
    first = np.empty(codes.max() + 1 if len(codes) else 0, dtype=np.intp)
    first[codes] = np.arange(len(codes))
    return func(values.iloc[first]).take(codes).set_axis(values.index)


def distinct_rows(*keys: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct combination of ``keys`` on each row (0, 1, ... by first appearance) and its first row.

    Texts that depend on a few low-cardinality columns are built on the first rows only and spread to the rest.
    A missing value is one value of its own.

    >>> codes, first = distinct_rows(np.array([1, 1, 2, 1]), np.array(["a", "a", "a", "b"]))
    >>> codes.tolist(), first.tolist()
    ([0, 0, 1, 2], [0, 2, 3])
    """
    n = len(keys[0])
    combined = np.zeros(n, dtype=np.int64)
    size = 1  # combined < size
    for key in keys:
        codes, uniques = pd.factorize(key, use_na_sentinel=False)
        width = max(len(uniques), 1)
        if size * width >= 2**62:  # renumber densely before the product could overflow
            combined = pd.factorize(combined)[0].astype(np.int64)
            size = int(combined.max()) + 1 if n else 1
        combined = combined * width + codes
        size *= width
    combined = pd.factorize(combined)[0]  # 0, 1, ... by first appearance
    # Codes appear first in increasing order: a row is a first appearance where its code exceeds all before it.
    seen = np.maximum.accumulate(combined) if n else combined
    first = np.flatnonzero(combined > np.r_[-1, seen[:-1]])
    return combined, first


# ---------------------------------------------------------------------------------------------------------------
# join texts per group
# Three shapes, not one: their callers differ in what a group without texts is (NaN for a reason that falls
# back to a default, "" for a plan cell, none at all), in what comes back (a string Series, an object array
# that gets "and 3 more" added, an Arrow string column of a million plan rows) and in which texts count (all,
# the first few by rank). One function with switches for these would be harder to read than three.


def join_positions(
    groups: np.ndarray, texts: pd.Series, n: int, sep: str, order: np.ndarray | None = None
) -> pd.Series:
    """Per group ``0..n-1``, its texts joined with ``sep`` in their order in ``texts``; NaN for no texts.

    ``groups`` gives each text's group. As ``sep.join`` per group, but one vectorised concatenation per
    position (a group has a few texts), with no Python call per group. A group whose first text is missing
    gets NaN; later missing texts are left out. ``order``: the rows in the order to join them, already sorted
    by group (saves reordering a column of long texts).

    >>> join_positions(np.array([1, 0, 1]), pd.Series(["a", "b", "c"]), 3, "; ").tolist()
    ['b', 'a; c', nan]
    """
    texts = texts.astype(str)
    if order is None:
        order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.diff(sorted_groups, prepend=-1) != 0)
    # Position of each text within its group (0 for the first).
    pos = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    out: pd.Series | None = None
    for p in range(int(pos.max()) + 1 if len(pos) else 1):
        at = order[pos == p]
        take = np.full(n, -1, dtype=np.intp)
        take[groups[at]] = at
        part = pd.Series(texts.array.take(take, allow_fill=True))
        # out + sep + part where there is a part (and NaN stays NaN): no ``where``, which is slow on strings.
        out = part if out is None else out + (sep + part).fillna("")
    assert out is not None
    return out


def join_first(
    codes: np.ndarray, rank: np.ndarray, items: np.ndarray, n: int, sep: str, shown: int
) -> np.ndarray:
    """For each group ``0..n-1`` (each has a rank-0 item), its items of rank ``< shown`` joined by ``sep``.

    ``rank`` is each item's position in its group; the result is an object array, ready for per-group
    additions such as "and 3 more".

    >>> join_first(np.array([0, 1, 0, 0]), np.array([0, 0, 1, 2]), np.array(["a", "b", "c", "d"]), 2, "、", 2)
    array(['a、c', 'b'], dtype=object)
    """
    out = np.empty(n, dtype=object)
    for j in range(shown):
        at = rank == j
        group = codes[at]
        out[group] = items[at] if j == 0 else out[group] + sep + items[at]
    return out


def join_rows(rows: np.ndarray, texts: pd.Series, n: int, sep: str = ",") -> pd.api.extensions.ExtensionArray:
    """The texts of each row ``0..n-1`` joined by ``sep`` ("" for a row without any); ``rows`` ascending.

    One Arrow list join instead of a Python function per row.

    >>> list(join_rows(np.array([0, 0, 2]), pd.Series(["1", "7", "3"]), 3))
    ['1,7', '', '3']
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    values = pa.array(texts, type=pa.large_string(), from_pandas=True)
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), values)
    joined = pc.binary_join(lists, pa.scalar(sep, type=pa.large_string()))
    return pd.array(joined, dtype=_STR)


# ---------------------------------------------------------------------------------------------------------------
# take rows


def take_or_missing(values: pd.Series, at: np.ndarray) -> pd.Series:
    """``values`` at positions ``at``, NaN where ``at`` is -1 (what a left join gives), on a fresh index.

    >>> take_or_missing(pd.Series([1.5, 2.5]), np.array([1, -1])).tolist()
    [2.5, nan]
    """
    return pd.Series(pd.api.extensions.take(values.array, at, allow_fill=True))


def take_column(values: pd.Series, rows: np.ndarray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """``values.to_numpy()[rows]``, as a new frame's column: without making Python strings of an Arrow column.

    A frame makes an object array of strings a string column, but keeps one without any string (empty or all
    missing) as objects; so does this.
    """
    if isinstance(values.dtype, pd.StringDtype):
        taken = values.array.take(rows)
        if not taken.isna().all():
            return taken
    return values.to_numpy()[rows]


def column_values(values: pd.Series) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """``values.to_numpy()``, as a new frame's column (see :func:`take_column`)."""
    return take_column(values, np.arange(len(values)))


# ---------------------------------------------------------------------------------------------------------------
# ids and texts


def ids_in(ids: pd.Series, known: pd.Index) -> np.ndarray:
    """Whether each id is one of ``known``, as a boolean array; both sides are compared as text.

    pyarrow's hash lookup: about 20 times faster than ``Series.isin`` on pandas' string columns (3M risk
    points against 1M facilities: 0.6 s instead of 12 s).

    >>> ids_in(pd.Series(["a", "b", 1]), pd.Index(["1", "b"])).tolist()
    [False, True, True]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pa.array(ids.astype(str), type=pa.large_string())
    value_set = pa.array(pd.Series(known, dtype=str), type=pa.large_string())
    found = pc.is_in(values, value_set=value_set)
    return found.to_numpy(zero_copy_only=False).astype(bool)


def id_positions(keys: pd.Index | pd.Series, values: pd.Index | pd.Series) -> np.ndarray:
    """``Index(keys).get_indexer(values)``: the position of each value in the unique ``keys``, -1 if absent.

    Ids are Arrow strings: pyarrow hashes them as they are, where pandas would first make a million Python
    strings.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    keys, values = pd.Index(keys), pd.Index(values)
    if not all(isinstance(x.array, pd.arrays.ArrowStringArray) for x in (keys, values)):
        return keys.get_indexer(values)

    def arrow(x: pd.Index) -> pa.Array:
        arr = pa.array(x.array)
        return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr

    found = pc.index_in(arrow(values), value_set=arrow(keys))
    return found.fill_null(-1).to_numpy().astype(np.intp)


def normalise_text(series: pd.Series) -> pd.Series:
    """NFKC-normalise text, stripped: full-width digits and letters (１２３, ＡＢ) become ASCII.

    Only non-ASCII cells need it, so a column of plain numbers costs one vectorised check.

    >>> normalise_text(pd.Series([" １２３ ", "ＡＢ", "ab"])).tolist()
    ['123', 'AB', 'ab']
    """
    text = series.astype(str).str.strip()
    # Missing cells stay missing (to_number makes them NaN; ids are filled before).
    wide = text.notna() & ~text.str.isascii().fillna(True).astype(bool)
    if wide.any():
        text = text.copy()
        text[wide] = text[wide].map(lambda s: unicodedata.normalize("NFKC", s).strip())
    return text


# ---------------------------------------------------------------------------------------------------------------
# texts kept in two languages


def in_language(df: pd.DataFrame, column: str, lang: str) -> pd.DataFrame:
    """``df`` as written in ``lang``: ``column`` in ``lang``, the other language in the next column.

    ``column`` is kept in English and ``column_zh`` in Chinese; written, the column after ``column`` is
    ``column_en`` for ``zh`` and ``column_zh`` for ``en``.

    >>> df = pd.DataFrame({"reason": ["empty"], "reason_zh": ["为空"], "stage": ["validate"]})
    >>> in_language(df, "reason", "zh").to_dict("records")
    [{'reason': '为空', 'reason_en': 'empty', 'stage': 'validate'}]
    >>> in_language(df, "reason", "en").columns.tolist()
    ['reason', 'reason_zh', 'stage']
    """
    zh, en = f"{column}_zh", f"{column}_en"
    if zh not in df.columns:  # a table of an older riskmap: English only
        at = df.columns.get_loc(column) + 1
        df = df.copy()
        df.insert(at, zh, df[column])
    if lang == "en":
        return df
    cols = [c for c in df.columns if c != zh]
    at = cols.index(column) + 1
    return df.rename(columns={column: en, zh: column})[[*cols[:at], en, *cols[at:]]]
