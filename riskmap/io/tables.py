"""Tabular inputs: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX, read as text for validation.

Values are read as strings and parsed later by ``validate`` so that a bad cell becomes a rejects row that
names its row and field, instead of a whole column silently turning into NaN.
"""

from __future__ import annotations

import datetime
import logging
import zipfile
from pathlib import Path

import pandas as pd

from riskmap.errors import InputError

__all__ = ["read_table", "detect_encoding", "ROW"]

logger = logging.getLogger(__name__)

#: Column added to every table read: the row number a user sees in Excel (the header is row 1).
ROW = "_row"


def detect_encoding(path: Path, declared: str = "auto") -> str:
    """The text encoding of a CSV file: ``utf-8-sig`` (with or without BOM) or ``gb18030``.

    GB18030 is a superset of GBK and GB2312, so it reads files saved as "ANSI" by Chinese Excel.
    """
    if declared.lower() != "auto":
        return declared
    raw = path.read_bytes()
    try:
        raw.decode("utf-8")
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        raw.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: the text is neither UTF-8 nor GBK/GB18030; save it as UTF-8 CSV "
            f'or set encoding = "..." for this file in the project file'
        ) from None


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


def _read_xlsx(path: Path, sheet: str | None) -> pd.DataFrame:
    """All cells of a sheet as text, merged cells filled with their top-left value.

    A merged 行业 cell spanning several enterprises means each of them.
    """
    from openpyxl import load_workbook

    wb = load_workbook(path, data_only=True)
    if sheet is not None and sheet not in wb.sheetnames:
        raise InputError(f"{path}: no sheet {sheet!r}; the workbook has: {', '.join(wb.sheetnames)}")
    ws = wb[sheet] if sheet is not None else wb.worksheets[0]
    grid = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    for rng in list(ws.merged_cells.ranges):
        top_left = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row - 1 < len(grid) else ""
        for r in range(rng.min_row - 1, min(rng.max_row, len(grid))):
            for c in range(rng.min_col - 1, rng.max_col):
                if c < len(grid[r]):
                    grid[r][c] = top_left
    return pd.DataFrame(grid, dtype=object).fillna("")


def _header_row(raw: pd.DataFrame, expect: list[str]) -> int:
    """Index of the header row: the first of the top 20 rows that holds every expected column name.

    Exports from government systems often put a title and a date above the header.
    """
    if not expect:
        return 0
    wanted = {e.strip() for e in expect}
    for i in range(min(20, len(raw))):
        cells = {str(v).strip().lstrip("\ufeff") for v in raw.iloc[i]}
        if wanted <= cells:
            return i
    return 0


def read_table(
    path: Path, *, sheet: str | None = None, encoding: str = "auto", expect: list[str] | None = None
) -> pd.DataFrame:
    """Read a CSV or XLSX file as strings, stripped, with empty cells as ``""`` and a ``_row`` column.

    ``_row`` is the row number a user sees in Excel. With ``expect`` (the configured column names), title rows
    above the header are skipped. Completely empty rows are not data and are left out.
    """
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path in the project file (relative to it)")
    suffix = path.suffix.lower()
    try:
        if suffix in {".csv", ".txt", ".tsv"}:
            enc = detect_encoding(path, encoding)
            sep = "\t" if suffix == ".tsv" else ","
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc, sep=sep, header=None)
        elif suffix in {".xlsx", ".xlsm"}:
            raw = _read_xlsx(path, sheet)
        else:
            raise InputError(f"{path}: unsupported table format {suffix!r}; use .csv or .xlsx")
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty") from None
    except (ValueError, pd.errors.ParserError, KeyError, OSError, zipfile.BadZipFile) as err:
        raise InputError(f"{path}: cannot read the table: {err}") from None
    if raw.empty:
        raise InputError(f"{path}: the file is empty")
    raw = raw.astype(str).apply(lambda col: col.str.strip())
    h = _header_row(raw, expect or [])
    header = [str(c).strip().lstrip("\ufeff") for c in raw.iloc[h]]
    seen: dict[str, int] = {}
    for i, name in enumerate(header):  # duplicate or empty header cells get unique names
        name = name or f"column_{i + 1}"
        seen[name] = seen.get(name, 0) + 1
        header[i] = name if seen[name] == 1 else f"{name}.{seen[name] - 1}"
    df = raw.iloc[h + 1 :].copy()
    df.columns = header
    df.insert(0, ROW, range(h + 2, h + 2 + len(df)))
    df = df[(df.drop(columns=ROW) != "").any(axis=1)].reset_index(drop=True)
    logger.debug("read %s: %d rows (header on row %d)", path, len(df), h + 1)
    return df
