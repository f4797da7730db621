"""Spreadsheets as offices have them: .xlsx/.xlsm, Excel 97-2003 .xls, .xlsb and OpenDocument .ods.

Every sheet is read with python-calamine (the reader pandas uses as ``engine="calamine"``), which reads all of
these formats, by content rather than by name (an old .xls saved as ``.xlsx`` is read), and ignores cells that
are only formatted (a sheet formatted down to row 1,048,576 reads as fast as its data). A sheet becomes a
:class:`Grid` of the text a user sees in each cell; :mod:`riskmap.io.tables` finds its header.
"""

from __future__ import annotations

import datetime
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from riskmap.errors import InputError
from riskmap.i18n import tr

if TYPE_CHECKING:
    from python_calamine import CalamineSheet, CalamineWorkbook

__all__ = ["WORKBOOK_SUFFIXES", "Grid", "read_sheets", "cell_text"]

#: Spreadsheet files read by :func:`read_sheets`.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")

#: ``layer = "*"``: every worksheet that has the header.
ALL_SHEETS = "*"


@dataclass
class Grid:
    """One sheet's cells as text, merged cells filled with their top-left value."""

    #: The sheet's name (``None`` for a CSV file).
    sheet: str | None
    #: Rows of cells as text; row ``i`` is the spreadsheet's row ``first_row + i``.
    rows: list[list[str]]
    #: Merged ranges as (first row, first column, last row, last column), 0-based, inclusive, in ``rows``.
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    #: The row number a user sees for ``rows[0]``.
    first_row: int = 1


def cell_text(value: object) -> str:
    """A cell as the text a user sees: 119.6 not 119.60000000001, 12 not 12.0, dates as ISO."""
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


def _refuse_text(path: Path) -> None:
    """A 0-byte file, or a text (CSV) file under a spreadsheet's name, is refused with the way out."""
    with open(path, "rb") as f:
        head = f.read(8)
    if not head:
        raise InputError(tr("{file}: not an Excel/WPS workbook: it is empty (0 bytes)", file=path))
    if not head.startswith((b"PK", b"\xd0\xcf\x11\xe0")):
        raise InputError(
            tr(
                "{file}: not an Excel/WPS workbook: it looks like a text (CSV) file with a {suffix} name; rename "
                "it to .csv or save it as .xlsx",
                file=path,
                suffix=path.suffix,
            )
        )


def _open(path: Path) -> CalamineWorkbook:
    """The workbook, recognised by its content (an old .xls renamed .xlsx is read as what it is)."""
    import python_calamine as pc

    _refuse_text(path)
    try:
        with open(path, "rb") as f:
            return pc.CalamineWorkbook.from_filelike(f)
    except pc.PasswordError:
        raise InputError(
            tr(
                "{file}: the workbook is protected by a password; save a copy without the password "
                "(Excel/WPS: 文件 → 信息 → 保护工作簿) and point the project file at it",
                file=path,
            )
        ) from None
    except (pc.CalamineError, ValueError, OSError) as err:
        raise InputError(
            tr(
                "{file}: cannot read the workbook ({why}); open it in Excel/WPS and save it again as .xlsx",
                file=path,
                why=err,
            )
        ) from None


def _grid(sheet: CalamineSheet, name: str) -> Grid:
    """A sheet as text from its cell A1, merged cells filled (a merged 行业 cell means each enterprise)."""
    rows = [[cell_text(v) for v in row] for row in sheet.to_python(skip_empty_area=False)]
    while rows and not any(rows[-1]):
        rows.pop()  # formatted but empty rows below the data
    merged = []
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or []:
        merged.append((r0, c0, r1, c1))
        if r0 >= len(rows):
            continue
        top_left = rows[r0][c0] if c0 < len(rows[r0]) else ""
        for r in range(r0, min(r1 + 1, len(rows))):
            row = rows[r]
            if len(row) <= c1:
                row.extend([""] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                row[c] = top_left
    return Grid(name, rows, merged)


def _worksheets(book: CalamineWorkbook) -> list[str]:
    """The names of the sheets that hold cells (not chart or macro sheets), in the workbook's order."""
    import python_calamine as pc

    return [m.name for m in book.sheets_metadata if m.typ == pc.SheetTypeEnum.WorkSheet]


def read_sheets(path: Path, sheet: str | Sequence[str] | None) -> tuple[list[Grid], list[str]]:
    """The grids of the sheets asked for, and every worksheet's name.

    ``sheet`` is one sheet's name, a list of names, ``"*"`` (every worksheet) or ``None`` (every worksheet,
    in order: the caller takes the first, or the one that has the header).

    Raises
    ------
    InputError
        Not a workbook, unreadable or password-protected, or a named sheet that it does not have.
    """
    book = _open(path)
    names = _worksheets(book)
    if sheet is None or sheet == ALL_SHEETS:
        wanted = names
    else:
        wanted = [sheet] if isinstance(sheet, str) else list(sheet)
        missing = [s for s in wanted if s not in book.sheet_names]
        if missing:
            raise InputError(
                tr(
                    "{file}: no sheet {missing}; the workbook has: {sheets}",
                    file=path,
                    missing=", ".join(map(repr, missing)),
                    sheets=", ".join(names),
                )
            )
    try:
        grids = [_grid(book.get_sheet_by_name(name), name) for name in wanted]
    except Exception as err:  # calamine's errors on a damaged sheet part carry no common base
        raise InputError(
            tr(
                "{file}: cannot read the workbook ({why}); open it in Excel/WPS and save it again",
                file=path,
                why=err,
            )
        ) from None
    if path.suffix.lower() in {".xlsx", ".xlsm"} and zipfile.is_zipfile(path):
        for grid in grids:
            _refuse_unsaved_formulas(path, grid)
    return grids, names


#: A formula cell with no saved value: ``<f>A2*2</f>`` (or a shared ``<f .../>``) and an empty or no ``<v>``.
_FORMULA_WITHOUT_VALUE = re.compile(rb"(?:</f>|<f[^>]*/>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>")


def _refuse_unsaved_formulas(path: Path, grid: Grid) -> None:
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

    ws = load_workbook(path, data_only=False, read_only=True)[grid.sheet]
    cells = []
    for r, row in enumerate(ws.iter_rows(values_only=True, max_row=len(grid.rows))):
        for c, value in enumerate(row):
            formula = (isinstance(value, str) and value.startswith("=")) or type(
                value
            ).__name__ == "ArrayFormula"
            if formula and c < len(grid.rows[r]) and grid.rows[r][c] == "":
                cells.append(f"{get_column_letter(c + 1)}{r + 1}")
    if cells:
        shown = ", ".join(cells[:5]) + (", ..." if len(cells) > 5 else "")
        raise InputError(
            tr(
                "{file}: sheet {sheet} has {count} with formulas without saved values ({cells}): the file was written by "
                "a program that does not calculate; open and save it in Excel/WPS",
                file=path,
                sheet=repr(grid.sheet),
                count=tr("{n} cell", n=len(cells)) if len(cells) == 1 else tr("{n} cells", n=len(cells)),
                cells=shown,
            )
        )
