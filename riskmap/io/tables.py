"""Tabular inputs: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) and XLSX, read as text for validation.

Values are read as strings and parsed later by ``validate`` so that a bad cell becomes a rejects row that
names its row and field, instead of a whole column silently turning into NaN.
"""

from __future__ import annotations

import logging
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


def read_table(path: Path, *, sheet: str | None = None, encoding: str = "auto") -> pd.DataFrame:
    """Read a CSV or XLSX file as strings, stripped, with empty cells as ``""`` and a ``_row`` column."""
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path in the project file (relative to it)")
    suffix = path.suffix.lower()
    try:
        if suffix in {".csv", ".txt", ".tsv"}:
            enc = detect_encoding(path, encoding)
            sep = "\t" if suffix == ".tsv" else ","
            df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc, sep=sep)
        elif suffix in {".xlsx", ".xlsm"}:
            df = pd.read_excel(
                path, sheet_name=sheet or 0, dtype=str, keep_default_na=False, engine="openpyxl"
            )
        else:
            raise InputError(f"{path}: unsupported table format {suffix!r}; use .csv or .xlsx")
    except InputError:
        raise
    except (ValueError, pd.errors.ParserError, KeyError, OSError) as err:
        raise InputError(f"{path}: cannot read the table: {err}") from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    df = df.apply(lambda col: col.astype(str).str.strip())
    df.insert(0, ROW, range(2, len(df) + 2))
    logger.debug("read %s: %d rows", path, len(df))
    return df
