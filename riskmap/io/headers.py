"""Where a table's header is, what its columns are called, and which rows are not data.

Registers arrive as offices make them: a title and a date above the header, a header of two rows with a
merged group label (坐标 over 经度 and 纬度, 第一季度 over 隐患数 and 整改数), totals and signature rows below the
data (合计, 共 12 家, 填表人：…). These functions look at the top rows of a sheet or CSV file (text, merged
cells filled) to find the header, flatten it to one name per column, and tell the data rows from the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "HEADER_SEARCH_ROWS",
    "header_layout",
    "flatten_header",
    "non_data_rows",
    "cells",
]

#: The header is looked for in this many rows from the top (titles, dates and notes above it).
HEADER_SEARCH_ROWS = 20

Merged = Sequence[tuple[int, int, int, int]]


def cells(row: Iterable[object]) -> list[str]:
    """A row's cells as stripped text (a byte-order mark on the first cell removed)."""
    return [str(v).strip().lstrip("\ufeff").strip() for v in row]


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def _distinct(row: Sequence[str]) -> int:
    return len({c for c in row if c})


def _group_spans(upper: Sequence[str]) -> list[tuple[int, int]]:
    """Column spans of the upper row's labels over the empty cells to their right (a merged label, unfilled)."""
    spans, start = [], None
    for c, value in enumerate(upper):
        if value:
            if start is not None:
                spans.append((start, c - 1))
            start = c
    if start is not None:
        spans.append((start, len(upper) - 1))
    return spans


def _continues(rows: Sequence[Sequence[str]], merged: Merged, i: int) -> bool:
    """Whether row ``i + 1`` is the second row of a header that starts at row ``i``.

    It is when a cell of row ``i`` is merged down into it (序号 over two rows), or merged across columns above
    its labels (坐标 over 经度/纬度). Without merge information (CSV, OpenDocument) the shape tells: every label
    of the lower row sits under a group label of the upper row that spans empty cells.
    """
    if i + 1 >= len(rows) or _distinct(rows[i]) < 2:
        return False  # a title line (one value, merged across) is not a header's upper row
    upper, lower = rows[i], rows[i + 1]

    def label(c: int) -> bool:
        return c < len(lower) and bool(lower[c]) and not _is_number(lower[c])

    for r0, c0, r1, c1 in merged:
        if r0 == i and r1 > i:
            return True
        if r0 == i == r1 and c1 > c0 and any(label(c) for c in range(c0, c1 + 1)):
            return True
    if merged:
        return False
    filled = [c for c, v in enumerate(lower) if v]
    if not filled or not all(label(c) for c in filled):
        return False
    groups = [(a, b) for a, b in _group_spans(upper) if b > a]
    return bool(groups) and all(any(a <= c <= b for a, b in groups) for c in filled)


def flatten_header(rows: Sequence[Sequence[str]]) -> list[str]:
    """One name per column from a header of one or more rows.

    A column's name is its lowest label (经度 under 坐标); a name that several columns would share gets the
    labels above it as prefix (第一季度隐患数, 第二季度隐患数). An upper label without merge information covers
    the empty cells to its right that have a label below them.

    >>> flatten_header([["序号", "坐标", "", "第一季度", "", "第二季度", ""],
    ...                 ["", "经度", "纬度", "隐患数", "整改数", "隐患数", "整改数"]])
    ['序号', '经度', '纬度', '第一季度隐患数', '第一季度整改数', '第二季度隐患数', '第二季度整改数']
    """
    width = max((len(r) for r in rows), default=0)
    grid = [list(r) + [""] * (width - len(r)) for r in rows]
    for k in range(len(grid) - 1):  # spread a group label over the empty cells under which labels stand
        for c in range(1, width):
            if not grid[k][c] and any(grid[j][c] for j in range(k + 1, len(grid))):
                grid[k][c] = grid[k][c - 1]
    chains = []
    for c in range(width):
        chain: list[str] = []
        for k in range(len(grid)):
            if grid[k][c] and (not chain or chain[-1] != grid[k][c]):
                chain.append(grid[k][c])
        chains.append(chain)
    names = [chain[-1] if chain else "" for chain in chains]
    for depth in range(2, len(grid) + 1):
        counts = pd.Series([n for n in names if n]).value_counts()
        shared = set(counts[counts > 1].index)
        if not shared:
            break
        names = ["".join(ch[-depth:]) if n in shared else n for n, ch in zip(names, chains, strict=True)]
    return names


def _first_wide_row(rows: Sequence[Sequence[str]]) -> int:
    """The first of the top rows with two or more distinct values: title lines above it are not headers."""
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        if _distinct(row) >= 2:
            return i
    return 0


def header_layout(
    rows: Sequence[Sequence[str]],
    expect: Sequence[str] = (),
    merged: Merged = (),
    header_rows: int | None = None,
) -> tuple[int, int] | None:
    """Where the header starts among the top ``rows`` and how many rows it has.

    With ``expect`` (the configured column names), the first row whose (flattened) header names them all; when
    no row does, ``None``. Without, the first row of two or more values (titles above it are skipped).
    ``header_rows`` forces the number of header rows; otherwise a second row is detected from merged cells
    or the shape of the two rows (:func:`_continues`).
    """
    top = [cells(r) for r in rows[: HEADER_SEARCH_ROWS + 2]]

    def depth(i: int) -> int:
        return header_rows if header_rows is not None else 2 if _continues(top, merged, i) else 1

    if not expect:
        i = _first_wide_row(top)
        return i, depth(i)
    wanted = {e.strip() for e in expect}
    for i in range(min(len(top), HEADER_SEARCH_ROWS)):
        n = depth(i)
        if wanted <= set(flatten_header(top[i : i + n])):
            return i, n
    return None


# Rows that are not data: totals and subtotals, counts, signatures, dates and notes under the table.
_TOTALS = r"(?:合\s*计|总\s*计|小\s*计|共\s*计|累\s*计|总\s*数|共\s*\d+\s*[家个条处项户])"
_SIGNATURES = (
    r"(?:填\s*表\s*人|填报人|审\s*核\s*人|审批人|制\s*表\s*人|制\s*表|填表日期|填报日期|制表日期|填报时间|"
    r"填表时间|填报单位|填表单位|单位负责人|联系电话)(?:\s*[:：]|\s|$)"
)
_NOTES = r"(?:注|备注|说明|填表说明)\s*[:：]"
_FIRST_CELL_RE2 = rf"^\s*(?:{_TOTALS}|{_SIGNATURES}|{_NOTES})"
_ANY_CELL_RE2 = rf"^\s*(?:{_SIGNATURES})"
#: A signature row holds the signatures and dates and little else.
_SIGNATURE_ROW_CELLS = 3


def _matches(values: np.ndarray, pattern: str) -> np.ndarray:
    """Which text cells match ``pattern`` (RE2 syntax): one Arrow regex over the column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.match_substring_regex(pa.array(values, type=pa.string()), pattern)
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def non_data_rows(df: pd.DataFrame, skip: Sequence[str] = ()) -> np.ndarray:
    """Which rows of a table (text, header applied) are totals, signatures or notes rather than data.

    A row is not data when its first filled cell starts a total (合计, 小计, 共 12 家 ...), a signature or date
    line (填表人：, 审核人, 填报日期 ...) or a note (注：, 说明：); or when any cell starts a signature and the row
    holds no more than three filled cells (signatures spread over the row). Vectorised: one pass and one
    Arrow regex per column.
    """
    columns = [df[c].astype(str).to_numpy(dtype=object) for c in df.columns if c not in skip]
    n = len(df)
    if not columns or n == 0:
        return np.zeros(n, dtype=bool)
    first = np.full(n, "", dtype=object)
    filled = np.zeros(n, dtype=np.int64)
    signature = np.zeros(n, dtype=bool)
    for values in columns:
        empty = values == ""  # cells are stripped when read
        first = np.where((first == "") & ~empty, values, first)
        filled += ~empty
        signature |= _matches(values, _ANY_CELL_RE2)
    return _matches(first, _FIRST_CELL_RE2) | (signature & (filled <= _SIGNATURE_ROW_CELLS))
