"""Tables for people who open Excel: CSV in UTF-8 with BOM, XLSX with styled headers and coloured levels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from riskmap.errors import OutputError
from riskmap.io.atomic import atomic_path
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, color
from riskmap.methods import LEVEL

__all__ = ["write_csv", "write_xlsx", "excel_safe"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain signed number such as "-12.5" or "+3e-2" is data, not a formula; Excel reads it as the number it is.
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")


def _formula_mask(s: pd.Series) -> pd.Series:
    """Cells that a spreadsheet would run as a formula: text starting with = + - @ (or a tab/CR), not numbers."""
    return s.map(lambda v: isinstance(v, str) and v.startswith(_FORMULA_START) and not _NUMBER.fullmatch(v))


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]


def excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that Excel would run as formulas (``=``, ``+``, ``-``, ``@``) get a leading apostrophe.

    Numbers, and text that is a plain number, are left as they are.

    >>> excel_safe(pd.DataFrame({"a": ["=1+1", "-12.5", "-1+2", "@SUM(A1)", "东村"]}))["a"].tolist()
    ["'=1+1", '-12.5', "'-1+2", "'@SUM(A1)", '东村']
    """
    out = df.copy()
    for col in _text_columns(out):
        s = out[col]
        mask = _formula_mask(s)
        if mask.any():
            out.loc[mask, col] = "'" + s[mask].astype(str)
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
        raise OutputError(f"{target}: cannot write: {err.strerror}") from err
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


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | Path, level_column: str = LEVEL) -> Path:
    """One sheet per table: bold filled header, frozen header row, filters, level cells in their colour.

    Numeric columns are written as numbers. Formula-like text (``=``, ``+``, ``-``, ``@`` at the start) is
    written as a text cell with Excel's "quote prefix" style: it shows exactly as it was and is never run,
    even after the cell is edited, and a reader (openpyxl, pandas) gets the original string back.
    """
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    target = Path(path)
    fills = {k: PatternFill("solid", fgColor=color(k).lstrip("#")) for k in (*LEVEL_NAMES, NOT_ASSESSED)}
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    try:
        with atomic_path(target) as tmp:
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                for sheet, (_name, df) in zip(_sheet_names(list(sheets)), sheets.items(), strict=True):
                    # Written neutralised first (openpyxl turns any text starting with "=" into a formula),
                    # then those cells get their own text back as typed string cells.
                    excel_safe(df).to_excel(writer, sheet_name=sheet, index=False)
                    ws = writer.sheets[sheet]
                    for i, col in enumerate(df.columns, start=1):
                        if col not in _text_columns(df):
                            continue
                        mask = _formula_mask(df[col]).to_numpy()
                        for row in mask.nonzero()[0]:
                            c = ws.cell(row=int(row) + 2, column=i)
                            c.value = df[col].iloc[row]
                            c.data_type = "s"
                            c.quotePrefix = True
                    for cell in ws[1]:
                        cell.font = Font(bold=True)
                        cell.fill = header_fill
                        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
                    ws.freeze_panes = "A2"
                    if len(df.columns):
                        ws.auto_filter.ref = f"A1:{get_column_letter(len(df.columns))}{len(df) + 1}"
                    for i, col in enumerate(df.columns, start=1):
                        width = (
                            max([len(str(col)), *(len(str(v)) for v in df[col].head(200))])
                            if len(df)
                            else len(str(col))
                        )
                        ws.column_dimensions[get_column_letter(i)].width = min(max(8, width * 1.6), 60)
                    levels = [c for c in df.columns if c == level_column or c == f"{level_column}_zh"]
                    for col in levels:
                        idx = list(df.columns).index(col) + 1
                        keys = df[level_column].tolist() if level_column in df.columns else []
                        for row, key in enumerate(keys, start=2):
                            fill = fills.get(str(key))
                            if fill is not None:
                                c = ws.cell(row=row, column=idx)
                                c.fill = fill
                                if key in ("red", "blue"):
                                    c.font = Font(color="FFFFFF")
    except OSError as err:
        raise OutputError(f"{target}: cannot write: {err.strerror}") from err
    return target
