"""Tables for people who open Excel: CSV in UTF-8 with BOM, XLSX with styled headers and coloured levels."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from riskmap.errors import OutputError
from riskmap.io.atomic import atomic_path
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, color

__all__ = ["write_csv", "write_xlsx", "excel_safe"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# A plain signed number such as "-12.5" is data, not a formula; Excel reads it as the number it is.
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")


def excel_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that Excel would run as formulas (``=``, ``+``, ``-``, ``@``) get a leading apostrophe."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            s = out[col]
            mask = s.map(
                lambda v: isinstance(v, str) and v.startswith(_FORMULA_START) and not _NUMBER.fullmatch(v)
            )
            if mask.any():
                out.loc[mask, col] = "'" + s[mask].astype(str)
    return out


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """CSV in UTF-8 with BOM, so that Excel on Chinese Windows shows the characters; written atomically."""
    target = Path(path)
    try:
        with atomic_path(target) as tmp:
            excel_safe(df).to_csv(tmp, index=False, encoding="utf-8-sig")
    except OSError as err:
        raise OutputError(f"{target}: cannot write: {err.strerror}") from err
    return target


def write_xlsx(sheets: Mapping[str, pd.DataFrame], path: str | Path, level_column: str = "level") -> Path:
    """One sheet per table: bold filled header, frozen header row, filters, level cells in their colour."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    target = Path(path)
    fills = {k: PatternFill("solid", fgColor=color(k).lstrip("#")) for k in (*LEVEL_NAMES, NOT_ASSESSED)}
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    try:
        with atomic_path(target) as tmp:
            with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
                for name, df in sheets.items():
                    safe = excel_safe(df)
                    safe.to_excel(writer, sheet_name=name[:31], index=False)
                    ws = writer.sheets[name[:31]]
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
