"""Tabular inputs: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX, read as text for validation.

Values are read as strings and parsed later by ``validate`` so that a bad cell becomes a rejects row that
names its row and field, instead of a whole column silently turning into NaN.
"""

from __future__ import annotations

import csv
import datetime
import logging
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmap.errors import InputError

__all__ = ["read_table", "detect_encoding", "clean_controls", "ROW", "READ_WARNINGS"]

logger = logging.getLogger(__name__)

#: Column added to every table read: the row number a user sees in Excel (the header is row 1).
ROW = "_row"


def detect_encoding(path: Path, declared: str = "auto", configurable: bool = True) -> str:
    """The text encoding of a CSV file: ``utf-8-sig`` (with or without BOM) or ``gb18030``.

    GB18030 is a superset of GBK and GB2312, so it reads files saved as "ANSI" by Chinese Excel. A file that is
    UTF-8 but for a few lines (a row pasted from a GBK export) is an error naming those lines: read as GBK, the
    whole file would be mojibake. ``configurable``: the project file can declare this file's encoding (the
    message then says so).
    """
    if declared.lower() != "auto":
        return declared
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    _refuse_mixed_encodings(path, raw)
    try:
        raw.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        declare = ' or set encoding = "..." for this file in the project file' if configurable else ""
        raise InputError(
            f"{path}: the text is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV{declare}"
        ) from None


def _refuse_mixed_encodings(path: Path, raw: bytes) -> None:
    """Stop when most non-ASCII lines are UTF-8 and some are not (one GBK line in a UTF-8 file).

    A GBK file whose short lines happen to be valid UTF-8 is still GBK: only a UTF-8 majority counts. A file
    clearly GBK (20 non-ASCII lines, none UTF-8) is recognised without scanning the rest.
    """
    utf8 = 0
    bad: list[int] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8 += 1
        except UnicodeDecodeError:
            bad.append(number)
        if utf8 == 0 and len(bad) >= 20:
            return
    if utf8 <= len(bad):
        return
    first = raw.split(b"\n")[bad[0] - 1].decode("gb18030", errors="replace").strip()
    lines = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
    raise InputError(
        f"{path}: the file is UTF-8 except line{'s' if len(bad) > 1 else ''} {lines}, which "
        f"{'are' if len(bad) > 1 else 'is'} not UTF-8 (probably GBK, pasted from another export: "
        f"{first[:60]!r}); re-type or re-save {'those lines' if len(bad) > 1 else 'that line'} as UTF-8"
    )


def _cell_text(value: object) -> str:
    """An XLSX cell as the text a user sees: 119.6 not 119.60000000001, 12 not 12.0, dates as ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        text = value.isoformat()
        return text[:10] if text.endswith("T00:00:00") else text
    return str(value)


def _not_xlsx(path: Path) -> str | None:
    """Why ``path`` cannot be an .xlsx workbook (0 bytes, an old .xls, a renamed CSV), or None."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        what = "it is empty (0 bytes)"
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        what = "it is an old Excel 97-2003 .xls workbook; open it in Excel/WPS and save it as .xlsx"
    elif not zipfile.is_zipfile(path):
        what = "it looks like a text (CSV) file with an .xlsx name; rename it to .csv or save it as .xlsx"
    else:
        return None
    return f"{path}: not an Excel .xlsx file: {what}"


#: A formula cell with no saved value: ``<f>A2*2</f>`` (or a shared ``<f .../>``) and an empty or no ``<v>``.
_FORMULA_WITHOUT_VALUE = re.compile(rb"(?:</f>|<f[^>]*/>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>")


def _refuse_unsaved_formulas(path: Path, sheet_name: str, grid: list[list[str]]) -> None:
    """Stop when cells of the sheet hold formulas whose values were never calculated and saved.

    Files written by programs (openpyxl, some exports) store ``=A2*2`` without its value; read as values
    those cells are empty, and a quantity or coordinate would silently go missing.
    """
    with zipfile.ZipFile(path) as z:
        parts = [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        if not any(_FORMULA_WITHOUT_VALUE.search(z.read(n)) for n in parts):
            return
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    ws = load_workbook(path, data_only=False)[sheet_name]
    cells = []
    for r, row in enumerate(ws.iter_rows(values_only=True)):
        for c, value in enumerate(row):
            formula = (isinstance(value, str) and value.startswith("=")) or type(
                value
            ).__name__ == "ArrayFormula"
            if formula and r < len(grid) and c < len(grid[r]) and grid[r][c] == "":
                cells.append(f"{get_column_letter(c + 1)}{r + 1}")
    if cells:
        shown = ", ".join(cells[:5]) + (", ..." if len(cells) > 5 else "")
        raise InputError(
            f"{path}: sheet {sheet_name!r} has {len(cells)} cell{'s' if len(cells) > 1 else ''} with formulas without saved values ({shown}): "
            "the file was written by a program that does not calculate; open and save it in Excel/WPS"
        )


def _sheet_grid(ws: Any) -> list[list[str]]:
    """All cells of a sheet as text, merged cells filled with their top-left value.

    A merged 行业 cell spanning several enterprises means each of them.
    """
    grid = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    for rng in list(ws.merged_cells.ranges):
        top_left = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row - 1 < len(grid) else ""
        for r in range(rng.min_row - 1, min(rng.max_row, len(grid))):
            for c in range(rng.min_col - 1, rng.max_col):
                if c < len(grid[r]):
                    grid[r][c] = top_left
    return grid


def _read_xlsx(path: Path, sheet: str | None, expect: list[str], configurable: bool = True) -> pd.DataFrame:
    """A sheet as text (the named one, else the first); a first sheet without the columns names the right one.

    When the project file cannot name the sheet (``configurable`` false), the sheet that has the columns is read.
    """
    from openpyxl import load_workbook

    refused = _not_xlsx(path)
    if refused:
        raise InputError(refused)
    wb = load_workbook(path, data_only=True)
    if sheet is not None and sheet not in wb.sheetnames:
        raise InputError(f"{path}: no sheet {sheet!r}; the workbook has: {', '.join(wb.sheetnames)}")
    ws = wb[sheet] if sheet is not None else wb.worksheets[0]
    grid = _sheet_grid(ws)
    if sheet is None and expect and len(wb.sheetnames) > 1 and _find_header(grid, expect) is None:
        # Only the top rows of the other sheets are looked at: the header is there or nowhere.
        having = [
            other.title
            for other in wb.worksheets[1:]
            if _find_header(
                [[_cell_text(v) for v in r] for r in other.iter_rows(max_row=20, values_only=True)], expect
            )
            is not None
        ]
        if having and not configurable:
            ws = wb[having[0]]
            grid = _sheet_grid(ws)
        elif having:
            wanted = ", ".join(f'"{e}"' for e in expect)
            raise InputError(
                f"{path}: the first sheet {ws.title!r} has no header with {wanted}; sheet {having[0]!r} has: "
                f'set layer = "{having[0]}" for this file in the project file '
                f"(sheets: {', '.join(wb.sheetnames)})"
            )
    _refuse_unsaved_formulas(path, ws.title, grid)
    return pd.DataFrame(grid, dtype=object).fillna("")


def _cells(row: Iterable[object]) -> list[str]:
    return [str(v).strip().lstrip("\ufeff").strip() for v in row]


def _find_header(rows: list[list[str]] | pd.DataFrame, expect: list[str]) -> int | None:
    """Index of the first of the top 20 rows that holds every expected column name, or None."""
    wanted = {e.strip() for e in expect}
    top = rows.head(20).itertuples(index=False) if isinstance(rows, pd.DataFrame) else rows[:20]
    for i, row in enumerate(top):
        if wanted <= set(_cells(row)):
            return i
    return None


def _first_wide_row(rows: list[list[str]]) -> int:
    """The first of the top 20 rows with two or more distinct values: title lines above it are not headers."""
    for i, row in enumerate(rows[:20]):
        if len({c for c in _cells(row) if c}) >= 2:
            return i
    return 0


def _header_row(raw: pd.DataFrame | list[list[str]], expect: list[str]) -> int:
    """Index of the header row: the first of the top 20 rows that holds every expected column name.

    Exports from government systems often put a title and a date above the header. When no row holds them
    all (the columns need mapping), the first row of two or more values is taken, not the title.
    """
    rows = raw.head(20).astype(str).to_numpy().tolist() if isinstance(raw, pd.DataFrame) else raw
    found = _find_header(rows, expect) if expect else None
    return found if found is not None else _first_wide_row(rows)


#: Candidate separators, most usual first (Chinese Excel in some locales writes ``;``; exports use tabs).
_SEPARATORS = (",", "\t", ";", "|")


def _csv_layout(path: Path, encoding: str, expect: list[str]) -> tuple[str, int]:
    """The separator and the header line (0-based) of a CSV file, from its first lines.

    Title lines above the header (``XX市重点企业名单``, also ``XX市重点企业名单,,,,`` as Excel saves them) are
    skipped as for XLSX. The separator is the one that splits the header into the expected names, else the one
    that splits the first lines into the most columns.
    """
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    lines = head.decode(encoding, errors="replace").splitlines()[:21]
    if len(head) == 1 << 16:
        lines = lines[:-1]  # the last line may be cut
    preferred = ("\t", *_SEPARATORS) if path.suffix.lower() == ".tsv" else _SEPARATORS
    parsed = {sep: list(csv.reader(lines, delimiter=sep)) for sep in preferred}
    if expect:
        for sep, rows in parsed.items():
            found = _find_header(rows, expect)
            if found is not None:
                return sep, found
    widest = max(preferred, key=lambda sep: max((len(r) for r in parsed[sep]), default=0))
    return widest, _first_wide_row(parsed[widest])


#: Tabs, line breaks and other separators inside a cell become a space; other control characters go.
_BREAKS = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_TO_SPACE = str.maketrans(dict.fromkeys(_BREAKS, " "))
_DROP = str.maketrans(
    dict.fromkeys(chr(c) for c in (*range(32), *range(0x7F, 0xA0)) if chr(c) not in _BREAKS)
)


def _clean_text(value: str) -> str:
    return value.translate(_TO_SPACE).translate(_DROP).strip()


#: The same characters in RE2's syntax, for Arrow's vectorised regex.
_CONTROLS_RE2 = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]"


def _has_controls(values: pd.Series) -> np.ndarray:
    """Which cells hold a control character: one Arrow regex over a text column (a million cells in ~50 ms).

    An object column of mixed values (vector attributes: numbers, bytes) is checked cell by cell, text only.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if values.empty:
        return np.zeros(0, dtype=bool)
    try:
        found = pc.match_substring_regex(pa.array(values, from_pandas=True), _CONTROLS_RE2)
    except (pa.ArrowTypeError, pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return values.map(lambda v: isinstance(v, str) and _CONTROLS.search(v) is not None).to_numpy(bool)
    return found.fill_null(False).to_numpy(zero_copy_only=False)


def clean_controls(df: pd.DataFrame, source: str, row_column: str | None = ROW) -> str | None:
    r"""Replace control characters in the text columns of ``df``, in place; a warning saying where, or None.

    Tabs, line breaks (also ``\x0b``, ``\x0c``) become a space and other control characters (NUL, ``\x01``, ``\x7f``, ...) are
    removed: an XLSX cell cannot hold them, and in CSV, GeoPackage and map labels they break lines or hide text.
    Each column is checked with one vectorised regex; only the cells that hold such a character are rewritten.
    """
    cells = 0
    where: list[int] = []
    for col in df.columns:
        if col == row_column or not (
            pd.api.types.is_object_dtype(df[col]) or pd.api.types.is_string_dtype(df[col])
        ):
            continue
        values = df[col].dropna()
        hit = _has_controls(values)
        if not hit.any():
            continue
        fixed = values[hit].map(_clean_text)
        cells += int(hit.sum())
        df.loc[fixed.index, col] = fixed
        if row_column in df.columns:
            where.extend(df.loc[fixed.index, row_column].tolist())
    if not cells:
        return None
    where = sorted(set(where))
    shown = f" (rows {', '.join(map(str, where[:5]))}{', ...' if len(where) > 5 else ''})" if where else ""
    return (
        f"{source}: replaced tabs/line breaks with spaces and removed control characters in {cells} "
        f"cell{'s' if cells > 1 else ''}{shown}; outputs cannot hold them"
    )


#: ``df.attrs`` key of the warnings a reader gives about what it cleaned (the pipeline reports them).
READ_WARNINGS = "riskmap_read_warnings"


def _refuse_duplicate_columns(path: Path, header: list[str], header_row: int) -> None:
    counts = pd.Series([h for h in header if h]).value_counts()
    twice = counts[counts > 1]
    if twice.empty:
        return
    names = ", ".join(
        f'"{name}" (columns {", ".join(str(i + 1) for i, h in enumerate(header) if h == name)})'
        for name in twice.index
    )
    raise InputError(
        f"{path}: the header (row {header_row + 1}) has the same column name more than once: {names}; "
        "rename one of each so that riskmap knows which is meant"
    )


def read_table(
    path: Path,
    *,
    sheet: str | None = None,
    encoding: str = "auto",
    expect: list[str] | None = None,
    configurable: bool = True,
) -> pd.DataFrame:
    """Read a CSV or XLSX file as strings, stripped, with empty cells as ``""`` and a ``_row`` column.

    ``_row`` is the row number a user sees in Excel (the file's line number in a CSV). With ``expect`` (the
    configured column names), title rows above the header are skipped, in CSV as in XLSX; a CSV's separator
    (``,``, tab, ``;`` or ``|``) is detected. Completely empty rows are not data and are left out. Control
    characters in cells are removed; what was cleaned is in ``df.attrs[READ_WARNINGS]``.

    ``configurable``: the file, its encoding and its sheet are keys of the project file; a file that is not
    (earlier plans of ``plan --history``, the roster) gets messages that do not point there, and an XLSX's
    data are read from the sheet that has the ``expect`` columns.

    Raises
    ------
    InputError
        Missing, empty or unreadable file; not an .xlsx; formulas without saved values; one column name used
        twice in the header; a UTF-8 file with lines in another encoding.
    """
    if not path.exists():
        where = "; check the path in the project file (relative to it)" if configurable else ""
        raise InputError(f"{path}: file not found{where}")
    suffix = path.suffix.lower()
    skipped = 0  # title lines above the header that were not read at all
    try:
        if suffix in {".csv", ".txt", ".tsv"}:
            enc = detect_encoding(path, encoding, configurable)
            sep, skipped = _csv_layout(path, enc, expect or [])
            raw = pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding=enc, sep=sep, header=None, skiprows=skipped
            )
        elif suffix in {".xlsx", ".xlsm"}:
            raw = _read_xlsx(path, sheet, expect or [], configurable)
        else:
            raise InputError(f"{path}: unsupported table format {suffix!r}; use .csv or .xlsx")
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as err:
        raise InputError(f"{path}: cannot read the table: {_parser_hint(err)}") from None
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as err:
        raise InputError(f"{path}: cannot read the table: {err}") from None
    if raw.empty:
        raise InputError(f"{path}: the file is empty")
    raw = raw.fillna("").astype(str).apply(lambda col: col.str.strip())
    h = _header_row(raw, expect or [])
    header = _cells(raw.iloc[h])
    _refuse_duplicate_columns(path, header, skipped + h)
    header = [name or f"column_{i + 1}" for i, name in enumerate(header)]
    df = raw.iloc[h + 1 :].copy()
    df.columns = header
    first = skipped + h + 2
    df.insert(0, ROW, range(first, first + len(df)))
    df = df[(df.drop(columns=ROW) != "").any(axis=1)].reset_index(drop=True)
    cleaned = clean_controls(df, path.name)
    df.attrs[READ_WARNINGS] = [cleaned] if cleaned else []
    logger.debug("read %s: %d rows (header on row %d)", path, len(df), skipped + h + 1)
    return df


def _parser_hint(err: Exception) -> str:
    """Turn pandas' "Expected 5 fields in line 9, saw 6" in the file's own line numbers, with the way out."""
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
    if not m:
        return str(err)
    want, line, saw = m.groups()
    return (
        f"line {line} has {saw} values but the header has {want}: a value holding the separator "
        "must be in double quotes (save the file from Excel/WPS as CSV)"
    )
