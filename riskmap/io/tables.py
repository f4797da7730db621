"""Tabular inputs: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX, read as text for validation.

Values are read as strings and parsed later by ``validate`` so that a bad cell becomes a rejects row that
names its row and field, instead of a whole column silently turning into NaN.
"""

from __future__ import annotations

import csv
import logging
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from riskmap.errors import InputError
from riskmap.i18n import Msg, tr
from riskmap.io.headers import HEADER_SEARCH_ROWS, flatten_header, header_layout, non_data_rows
from riskmap.io.workbook import ALL_SHEETS, WORKBOOK_SUFFIXES, Grid, read_sheets

__all__ = [
    "read_table",
    "detect_encoding",
    "clean_controls",
    "ROW",
    "SHEET",
    "READ_WARNINGS",
    "NON_DATA_ROWS",
]

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
        if configurable:
            raise InputError(
                tr(
                    '{file}: the text is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV or set encoding = "..." '
                    "for this file in the project file",
                    file=path,
                )
            ) from None
        raise InputError(
            tr("{file}: the text is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV", file=path)
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
    if len(bad) > 1:
        raise InputError(
            tr(
                "{file}: the file is UTF-8 except lines {lines}, which are not UTF-8 (probably GBK, pasted from "
                "another export: {text}); re-type or re-save those lines as UTF-8",
                file=path,
                lines=lines,
                text=repr(first[:60]),
            )
        )
    raise InputError(
        tr(
            "{file}: the file is UTF-8 except line {lines}, which is not UTF-8 (probably GBK, pasted from another "
            "export: {text}); re-type or re-save that line as UTF-8",
            file=path,
            lines=lines,
            text=repr(first[:60]),
        )
    )


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
            found = header_layout(rows, expect)
            if found is not None:
                return sep, found[0]
    widest = max(preferred, key=lambda sep: max((len(r) for r in parsed[sep]), default=0))
    found = header_layout(parsed[widest])
    assert found is not None  # without expected names there is always a first row
    return widest, found[0]


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
    counted = _cells(cells)
    if not where:
        return tr(
            "{source}: replaced tabs/line breaks with spaces and removed control characters in {cells}; outputs "
            "cannot hold them",
            source=source,
            cells=counted,
        )
    return tr(
        "{source}: replaced tabs/line breaks with spaces and removed control characters in {cells} (rows {rows}); "
        "outputs cannot hold them",
        source=source,
        cells=counted,
        rows=", ".join(map(str, where[:5])) + (", ..." if len(where) > 5 else ""),
    )


def _cells(n: int) -> str:
    """``1 cell``, ``3 cells`` in the current language."""
    return tr("{n} cell", n=n) if n == 1 else tr("{n} cells", n=n)


#: ``df.attrs`` key of the warnings a reader gives about what it cleaned (the pipeline reports them).
READ_WARNINGS = "riskmap_read_warnings"


def _in_sheet(path: Path, sheet: str | None) -> Path | Msg:
    """A file, or a sheet of a workbook, as messages name it."""
    return path if sheet is None else Msg("{file} (sheet {sheet})", file=path, sheet=repr(sheet))


def _refuse_duplicate_columns(where: Path | Msg, header: list[str], header_row: int) -> None:
    counts = pd.Series([h for h in header if h]).value_counts()
    twice = counts[counts > 1]
    if twice.empty:
        return
    names = ", ".join(
        tr(
            '"{name}" (columns {columns})',
            name=name,
            columns=", ".join(str(i + 1) for i, h in enumerate(header) if h == name),
        )
        for name in twice.index
    )
    raise InputError(
        tr(
            "{file}: the header (row {row}) has the same column name more than once: {names}; rename one of each "
            "so that riskmap knows which is meant",
            file=where,
            row=header_row,
            names=names,
        )
    )


#: Column added to the rows of a table read from several sheets: the sheet of each row.
SHEET = "_sheet"
#: ``df.attrs`` key: how many rows were totals, signatures or notes, not data (left out, counted apart).
NON_DATA_ROWS = "riskmap_non_data_rows"


def _apply_header(
    path: Path, grid: Grid, raw: pd.DataFrame, expect: list[str], header_rows: int | None
) -> pd.DataFrame | None:
    """The data rows of one sheet (or CSV file) under their flattened header, with ``_row``; None: no header.

    ``raw`` holds the grid's cells (stripped text). Totals, signature and note rows are left out and counted
    in ``attrs[NON_DATA_ROWS]`` with their row numbers.
    """
    where = _in_sheet(path, grid.sheet)
    top = raw.head(HEADER_SEARCH_ROWS + 2).to_numpy().tolist()
    layout = header_layout(top, expect, grid.merged, header_rows) if expect else None
    if layout is None:
        if expect and grid.sheet is not None and grid.sheet != "":
            return None
        layout = header_layout(top, (), grid.merged, header_rows)
        assert layout is not None
    h, n = layout
    header = flatten_header(top[h : h + n])
    header += [""] * (raw.shape[1] - len(header))
    _refuse_duplicate_columns(where, header, grid.first_row + h + n - 1)
    df = raw.iloc[h + n :].copy()
    df.columns = [name or f"column_{i + 1}" for i, name in enumerate(header[: raw.shape[1]])]
    first = grid.first_row + h + n
    df.insert(0, ROW, range(first, first + len(df)))
    df = df[(df.drop(columns=ROW) != "").any(axis=1)].reset_index(drop=True)
    skipped = non_data_rows(df, skip=[ROW])
    df.attrs[NON_DATA_ROWS] = df.loc[skipped, ROW].tolist()
    if skipped.any():
        kept = df.loc[~skipped].reset_index(drop=True)
        kept.attrs = df.attrs
        df = kept
    if grid.sheet is not None:
        df.attrs["sheet"] = grid.sheet
    if n > 1:  # names made from merged cells: the user sees them before mapping columns (validate prints it)
        df.attrs[_FLATTENED] = (first - n, first - 1, [c for c in df.columns if c != ROW])
    logger.debug("read %s: %d rows (header on rows %d-%d)", where, len(df), first - n, first - 1)
    return df


def _text_frame(rows: list[list[str]]) -> pd.DataFrame:
    raw = pd.DataFrame(rows, dtype=object).fillna("")
    return raw.astype(str).apply(lambda col: col.str.strip())


def _read_csv(
    path: Path, encoding: str, expect: list[str], configurable: bool = True
) -> tuple[Grid, pd.DataFrame]:
    enc = detect_encoding(path, encoding, configurable)
    sep, skipped = _csv_layout(path, enc, expect)
    raw = pd.read_csv(
        path, dtype=str, keep_default_na=False, encoding=enc, sep=sep, header=None, skiprows=skipped
    )
    raw = raw.fillna("").astype(str).apply(lambda col: col.str.strip())
    return Grid(None, [], [], first_row=skipped + 1), raw


def _workbook_frames(
    path: Path,
    sheet: str | Sequence[str] | None,
    expect: list[str],
    header_rows: int | None,
    configurable: bool = True,
) -> list[pd.DataFrame]:
    """The data of the sheets asked for: one sheet (the named or the first), or several (a list or ``"*"``).

    When the project file cannot name the sheet (``configurable`` false) and the first lacks the columns, the
    sheet that has them is read.
    """
    grids, names = read_sheets(path, sheet)
    several = sheet is not None and not isinstance(sheet, str) or sheet == ALL_SHEETS
    if not several:
        grids = grids[:1] if sheet is None else grids
        if not grids or not grids[0].rows:
            raise InputError(
                tr("{file}: the sheet {sheet} is empty", file=path, sheet=repr(names[0] if names else ""))
            )
    frames = []
    for grid in grids:
        if not grid.rows:
            continue
        df = _apply_header(path, grid, _text_frame(grid.rows), expect, header_rows)
        if df is None and not several:
            other = _sheet_with_header(path, grids, names, expect, header_rows) if sheet is None else None
            if other is not None and configurable:
                _refuse_wrong_sheet(path, grid, other, names, expect)
            if other is not None:
                df = _apply_header(path, other, _text_frame(other.rows), expect, header_rows)
            else:
                df = _apply_header(
                    path, Grid("", grid.rows, grid.merged), _text_frame(grid.rows), [], header_rows
                )
        if df is not None:
            frames.append(df)
    if several and not frames:
        wanted = ", ".join(f'"{e}"' for e in expect)
        raise InputError(
            tr(
                "{file}: no sheet has a header with {columns} (sheets: {sheets})",
                file=path,
                columns=wanted,
                sheets=", ".join(names),
            )
        )
    return frames


def _sheet_with_header(
    path: Path, grids: list[Grid], names: list[str], expect: list[str], header_rows: int | None
) -> Grid | None:
    """The first sheet after the first that has the expected columns, or ``None``."""
    grids, _ = read_sheets(path, None) if len(grids) < len(names) else (grids, names)
    for g in grids[1:]:
        if header_layout(g.rows[: HEADER_SEARCH_ROWS + 2], expect, g.merged, header_rows) is not None:
            return g
    return None


def _refuse_wrong_sheet(path: Path, grid: Grid, having: Grid, names: list[str], expect: list[str]) -> None:
    """The first sheet lacks the expected columns and another sheet has them: name it (``layer = ...``)."""
    wanted = ", ".join(f'"{e}"' for e in expect)
    raise InputError(
        tr(
            '{file}: the first sheet {sheet} has no header with {columns}; sheet {other} has: set layer = "{name}" '
            "for this file in the project file (sheets: {sheets})",
            file=path,
            sheet=repr(grid.sheet),
            columns=wanted,
            other=repr(having.sheet),
            name=having.sheet,
            sheets=", ".join(names),
        )
    )


def _combine(frames: list[pd.DataFrame], several: bool) -> pd.DataFrame:
    """One table from the sheets read: columns in the order first seen, each row with its sheet."""
    if not several:
        return frames[0]
    for df in frames:
        df.insert(1, SHEET, df.attrs.get("sheet", ""))
    combined = pd.concat(frames, ignore_index=True, sort=False).fillna("")
    combined.attrs[NON_DATA_ROWS] = [r for df in frames for r in df.attrs.get(NON_DATA_ROWS, [])]
    combined.attrs["sheets"] = [df.attrs.get("sheet", "") for df in frames]
    return combined


def read_table(
    path: Path,
    *,
    sheet: str | Sequence[str] | None = None,
    encoding: str = "auto",
    expect: list[str] | None = None,
    header_rows: int | None = None,
    configurable: bool = True,
) -> pd.DataFrame:
    """Read a CSV file or a spreadsheet as strings, stripped, with empty cells as ``""`` and a ``_row`` column.

    ``_row`` is the row number a user sees in Excel (the file's line number in a CSV). With ``expect`` (the
    configured column names), title rows above the header are skipped, in CSV as in a workbook; a header of
    two rows (a merged group label over its columns) is detected and flattened (``header_rows`` forces the
    number); a CSV's separator (``,``, tab, ``;`` or ``|``) is detected. Workbooks are .xlsx, .xlsm, .xls, .xlsb
    and .ods; ``sheet`` names one sheet, a list of sheets or ``"*"`` (every sheet with the header; sheets
    without it, such as 汇总 or 填表说明, are skipped with a note), read as one table with a ``_sheet`` column.
    Empty rows, and totals, signature and note rows (合计, 填表人：…) are not data: left out, the latter counted
    in ``df.attrs[NON_DATA_ROWS]``. Control characters in cells are removed; what was cleaned or skipped is in
    ``df.attrs[READ_WARNINGS]``.

    ``configurable``: the file, its encoding and its sheet are keys of the project file; a file that is not
    (earlier plans of ``plan --history``, the roster) gets messages that do not point there, and a workbook's
    data are read from the sheet that has the ``expect`` columns.

    Raises
    ------
    InputError
        Missing, empty or unreadable file; not a workbook; formulas without saved values; one column name used
        twice in the header; a UTF-8 file with lines in another encoding.
    """
    if not path.exists():
        raise _not_found(path, configurable)
    suffix = path.suffix.lower()
    expect = expect or []
    several = sheet is not None and not isinstance(sheet, str) or sheet == ALL_SHEETS
    try:
        if suffix in {".csv", ".txt", ".tsv"}:
            if several or sheet is not None:
                raise InputError(
                    tr("{file}: a CSV file has no sheets; remove layer = ... for this file", file=path)
                )
            grid, raw = _read_csv(path, encoding, expect, configurable)
            if raw.empty:
                raise InputError(tr("{file}: the file is empty", file=path))
            frames = [_apply_header(path, grid, raw, expect, header_rows)]
        elif suffix in WORKBOOK_SUFFIXES:
            frames = _workbook_frames(path, sheet, expect, header_rows, configurable)
        else:
            raise InputError(
                tr(
                    "{file}: unsupported table format {suffix}; use .csv, .xlsx, .xls, .xlsb or .ods",
                    file=path,
                    suffix=repr(suffix),
                )
            )
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(tr("{file}: the file is empty", file=path)) from None
    except pd.errors.ParserError as err:
        raise InputError(
            tr("{file}: cannot read the table: {why}", file=path, why=_parser_hint(err))
        ) from None
    except (ValueError, KeyError, OSError, zipfile.BadZipFile) as err:
        raise InputError(tr("{file}: cannot read the table: {why}", file=path, why=err)) from None
    header = _header_note(path, [f for f in frames if f is not None])
    df = _combine([f for f in frames if f is not None], several)
    warnings = [
        w
        for w in (
            header,
            clean_controls(df, path.name),
            _non_data_note(path, df),
            _sheets_note(path, df, sheet),
        )
        if w
    ]
    df.attrs[READ_WARNINGS] = warnings
    return df


def _not_found(path: Path, configurable: bool) -> InputError:
    """A missing file; a key of the project file is to be checked there."""
    if configurable:
        return InputError(
            tr("{file}: file not found; check the path in the project file (relative to it)", file=path)
        )
    return InputError(tr("{file}: file not found", file=path))


#: ``df.attrs`` key of one sheet: the rows of a header of several rows and the column names made of it.
_FLATTENED = "flattened_header"


def _header_note(path: Path, frames: list[pd.DataFrame]) -> str | None:
    """The column names a header of several rows was read as (of its first sheet): a user maps columns by them.

    >>> df = pd.DataFrame(); df.attrs[_FLATTENED] = (3, 4, ["企业名称", "坐标经度", "坐标纬度"])
    >>> from riskmap.i18n import language
    >>> with language("en"):
    ...     _header_note(Path("台账.xls"), [df])
    '台账.xls: a 2-row header (rows 3-4) read as the columns 企业名称, 坐标经度, 坐标纬度'
    """
    for frame in frames:
        if _FLATTENED in frame.attrs:
            top, bottom, names = frame.attrs[_FLATTENED]
            shown = ", ".join(names[:40]) + (", ..." if len(names) > 40 else "")
            return tr(
                "{file}: a {n}-row header (rows {top}-{bottom}) read as the columns {columns}",
                file=path.name,
                n=bottom - top + 1,
                top=top,
                bottom=bottom,
                columns=shown,
            )
    return None


def _non_data_note(path: Path, df: pd.DataFrame) -> str | None:
    rows = df.attrs.get(NON_DATA_ROWS, [])
    if not rows:
        return None
    shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
    if len(rows) == 1:
        return tr(
            "{file}: 1 non-data row skipped (totals, signatures or notes such as 合计, 共N家, 填表人; row {rows})",
            file=path.name,
            rows=shown,
        )
    return tr(
        "{file}: {n} non-data rows skipped (totals, signatures or notes such as 合计, 共N家, 填表人; rows {rows})",
        file=path.name,
        n=len(rows),
        rows=shown,
    )


def _sheets_note(path: Path, df: pd.DataFrame, sheet: str | Sequence[str] | None) -> str | None:
    if sheet != ALL_SHEETS:
        return None
    read = df.attrs.get("sheets", [])
    return tr("{file}: read sheets {sheets}", file=path.name, sheets=", ".join(read)) if read else None


def _parser_hint(err: Exception) -> str:
    """Turn pandas' "Expected 5 fields in line 9, saw 6" in the file's own line numbers, with the way out."""
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
    if not m:
        return str(err)
    want, line, saw = m.groups()
    return tr(
        "line {line} has {saw} values but the header has {want}: a value holding the separator must be in double "
        "quotes (save the file from Excel/WPS as CSV)",
        line=line,
        saw=saw,
        want=want,
    )
