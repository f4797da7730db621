"""Tables for people who open Excel: CSV in UTF-8 with BOM, XLSX with styled headers and coloured levels."""

from __future__ import annotations

import contextlib
import gc
import logging
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmap.columns import LEVEL
from riskmap.errors import OutputError
from riskmap.io.atomic import atomic_path, write_error
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, color

__all__ = ["write_csv", "write_xlsx", "excel_safe"]

logger = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain signed number such as "-12.5" or "+3e-2" is data, not a formula; Excel reads it as the number it is.
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _formula_mask(s: pd.Series) -> pd.Series:
    """Cells that a spreadsheet would run as a formula: text starting with = + - @ (or a tab/CR), not numbers."""
    if s.dtype == object:  # mixed cells: only the strings can be formulas
        s = s.where(s.map(lambda v: isinstance(v, str))).astype("str")
    starts = s.str.startswith(_FORMULA_START).fillna(False).astype(bool)
    if not starts.any():
        return starts
    # Few cells start so; the number test runs on them only.
    number = s[starts].str.fullmatch(_NUMBER.pattern).fillna(False).to_numpy(dtype=bool)
    mask = starts.to_numpy().copy()
    mask[mask] = ~number
    return pd.Series(mask, index=s.index)


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]


def excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that Excel would run as formulas (``=``, ``+``, ``-``, ``@``) get a leading apostrophe.

    Numbers, and text that is a plain number, are left as they are.

    The frame is returned as it is when no cell needs it (do not edit the result in place).

    >>> excel_safe(pd.DataFrame({"a": ["=1+1", "-12.5", "-1+2", "@SUM(A1)", "东村"]}))["a"].tolist()
    ["'=1+1", '-12.5', "'-1+2", "'@SUM(A1)", '东村']
    """
    out = df
    for col in _text_columns(df):
        s = df[col]
        mask = _formula_mask(s)
        if mask.any():
            if out is df:
                out = df.copy(deep=False)  # copy on write: only the columns changed are new
            out[col] = s.where(~mask, "'" + s.astype(str))
    return out


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """CSV in UTF-8 with BOM, so that Excel on Chinese Windows shows the characters; written atomically.

    A CSV cell has no type, so formula-like text is neutralised with a leading apostrophe (:func:`excel_safe`).
    """
    target = Path(path)
    try:
        with atomic_path(target) as tmp:
            excel_safe(df).to_csv(tmp, index=False, encoding="utf-8-sig")
    except OSError as err:
        raise write_error(target, err) or OutputError(f"{target}: cannot write: {err.strerror}") from err
    return target


def _sheet_names(names: list[str]) -> list[str]:
    # Excel: at most 31 characters, none of []:*?/\ and unique regardless of case.
    out: list[str] = []
    for name in names:
        base = _SHEET_BAD.sub("_", str(name))[:31] or "sheet"
        cand, n = base, 2
        while cand.lower() in {o.lower() for o in out}:
            suffix = f"~{n}"
            cand, n = base[: 31 - len(suffix)] + suffix, n + 1
        out.append(cand)
    return out


def _column_values(s: pd.Series) -> list[object]:
    """A column as Python values for openpyxl: missing values become empty cells, dates real dates."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_localize(None)  # Excel has no time zones (pandas refuses them too)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        values = pd.Series(s.dt.to_pydatetime(), index=s.index, dtype=object)
    else:
        values = s.astype(object)
        if pd.api.types.is_float_dtype(s.dtype):
            # Excel has no infinity: written as text, as pandas' ExcelWriter does (an empty cell would lie).
            x = s.to_numpy(dtype=np.float64, na_value=np.nan)
            values = values.mask(np.isposinf(x), "inf").mask(np.isneginf(x), "-inf")
    return values.where(s.notna(), None).tolist()


def _number_format(s: pd.Series) -> str | None:
    # The formats pandas' ExcelWriter gives dates and date-times.
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "YYYY-MM-DD HH:MM:SS"
    if s.dtype == object:
        first = s.dropna().head(1).tolist()
        if first and isinstance(first[0], date) and not isinstance(first[0], datetime):
            return "YYYY-MM-DD"
    return None


def _width(df: pd.DataFrame, col: object) -> float:
    width = max([len(str(col)), *(len(str(v)) for v in df[col].head(200))]) if len(df) else len(str(col))
    return min(max(8, width * 1.6), 60)


@dataclass(frozen=True)
class _XlsxStyles:
    """The workbook's shared styles: the header's, and a fill per level (white text on red and blue)."""

    fills: dict[str, Any]
    white: Any
    header_fill: Any
    header_alignment: Any

    @classmethod
    def make(cls) -> _XlsxStyles:
        from openpyxl.styles import Alignment, Font, PatternFill

        return cls(
            fills={
                k: PatternFill("solid", fgColor=color(k).lstrip("#")) for k in (*LEVEL_NAMES, NOT_ASSESSED)
            },
            white=Font(color="FFFFFF"),
            header_fill=PatternFill("solid", fgColor="DDEBF7"),
            header_alignment=Alignment(horizontal="center", vertical="center", wrap_text=True),
        )


def _write_header(ws: Any, df: pd.DataFrame, styles: _XlsxStyles) -> None:
    """Column widths, the frozen header row with filters, and the bold filled header cells."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    ws.freeze_panes = "A2"
    columns = list(df.columns)
    for i, col in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _width(df, col)
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(df) + 1}"
    header = []
    for col in columns:
        c = WriteOnlyCell(ws, value=str(col))
        c.font, c.fill, c.alignment = Font(bold=True), styles.header_fill, styles.header_alignment
        header.append(c)
    ws.append(header)


class _SpecialCells:
    """Cells that need more than a value (dates, formula-like text, coloured levels): row -> column -> cell."""

    def __init__(self, ws: Any, values: list[list[object]]) -> None:
        self.ws = ws
        self.values = values
        self.cells: dict[int, dict[int, Any]] = {}

    def cell(self, i: int, r: int) -> Any:
        """The styled cell of column ``i``, row ``r``, made once."""
        from openpyxl.cell import WriteOnlyCell

        c = self.cells.setdefault(r, {}).get(i)
        if c is None:
            c = WriteOnlyCell(self.ws, value=self.values[i][r])
            self.cells[r][i] = c
        return c


def _date_and_formula_cells(special: _SpecialCells, df: pd.DataFrame) -> None:
    """Dates get a number format; formula-like text becomes a quote-prefixed text cell."""
    text_columns = _text_columns(df)
    for i, col in enumerate(df.columns):
        fmt = _number_format(df[col])
        if fmt is not None:
            for r in np.flatnonzero(df[col].notna().to_numpy()):
                special.cell(i, int(r)).number_format = fmt
        if col in text_columns:
            for r in np.flatnonzero(_formula_mask(df[col]).to_numpy()):
                c = special.cell(i, int(r))
                c.value = special.values[i][r]
                c.data_type = "s"
                c.quotePrefix = True


def _level_cells(special: _SpecialCells, df: pd.DataFrame, level_column: str, styles: _XlsxStyles) -> None:
    """The level cells (and their zh labels) filled in the level's colour."""
    keys = df[level_column].astype(str).to_numpy()
    for i, col in enumerate(df.columns):
        if col not in (level_column, f"{level_column}_zh"):
            continue
        for key, fill in styles.fills.items():
            for r in np.flatnonzero(keys == key):
                c = special.cell(i, int(r))
                c.fill = fill
                if key in ("red", "blue"):
                    c.font = styles.white


def _write_rows(ws: Any, values: list[list[object]], special: dict[int, dict[int, Any]]) -> None:
    """Stream the rows, each value or, where there is one, its styled cell."""
    for n, row in enumerate(zip(*values, strict=True)):
        cells = special.get(n)
        if cells is None:
            ws.append(row)
        else:
            out = list(row)
            for i, c in cells.items():
                out[i] = c
            ws.append(out)


def _save_xlsx(sheets: Mapping[str, pd.DataFrame], target: Path, level_column: str) -> None:
    """Stream the sheets into a write-only workbook (its rows wait in temporary files) and save it."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    styles = _XlsxStyles.make()
    for sheet, df in zip(_sheet_names(list(sheets)), sheets.values(), strict=True):
        ws = wb.create_sheet(sheet)
        _write_header(ws, df, styles)
        values = [_column_values(df[col]) for col in df.columns]
        special = _SpecialCells(ws, values)
        _date_and_formula_cells(special, df)
        if level_column in df.columns:
            _level_cells(special, df, level_column, styles)
        _write_rows(ws, values, special.cells)
    with atomic_path(target) as tmp:
        wb.save(tmp)


@contextlib.contextmanager
def _unraisable_logged() -> Iterator[None]:
    """Errors raised while a failed workbook is freed go to the debug log, not to stderr.

    A write-only workbook that failed half-way (a full disk) leaves open XML streams and a zip archive; freeing
    them tries to finish them, fails again, and Python prints each failure as "Exception ignored in ..." with
    a traceback (hundreds of lines). The error that matters has been caught by then.
    """
    hook = sys.unraisablehook

    def log(unraisable: Any) -> None:
        logger.debug("while freeing a failed workbook: %r", unraisable.exc_value)

    sys.unraisablehook = log
    try:
        yield
    finally:
        sys.unraisablehook = hook


def _xlsx_failure(target: Path, err: Exception) -> OutputError | None:
    """The one-line error of a failed workbook write, or None for an error that is a bug."""
    from lxml.etree import SerialisationError

    if isinstance(err, SerialisationError) and "ENOSPC" not in str(err):
        return None
    known = write_error(target, err) if isinstance(err, OSError) else None
    if known is not None:
        return OutputError(str(known))  # a new error: the caught one holds the failed workbook's frames
    # The rows wait in temporary files (openpyxl's write-only mode): that folder is the full one.
    where = tempfile.gettempdir()
    return OutputError(
        f"{target}: cannot write: the temporary folder {where} is full; free some space there, or set TMPDIR "
        "to a folder on a disk with room"
    )


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | Path, level_column: str = LEVEL) -> Path:
    """One sheet per table: bold filled header, frozen header row, filters, level cells in their colour.

    Numeric columns are written as numbers. Formula-like text (``=``, ``+``, ``-``, ``@`` at the start) is
    written as a text cell with Excel's "quote prefix" style: it shows exactly as it was and is never run,
    even after the cell is edited, and a reader (openpyxl, pandas) gets the original string back.

    The workbook is streamed (openpyxl's write-only mode): rows go to disk as they are made, so a plan of
    100,000 enterprises takes seconds and little memory; only level and formula-like cells are styled objects.

    Raises
    ------
    OutputError
        The disk of ``path`` or of the temporary folder is full (one line; nothing else is printed).
    """
    from lxml.etree import SerialisationError

    target = Path(path)
    failure = None
    with _unraisable_logged():
        try:
            _save_xlsx(sheets, target, level_column)
        except (OSError, SerialisationError) as err:
            failure = _xlsx_failure(target, err)
            if failure is None:
                raise
        # The failed workbook's streams and archive are freed here, quietly (the caught error held them).
        if failure is not None:
            gc.collect()
    if failure is not None:
        raise failure
    return target
