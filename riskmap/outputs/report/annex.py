"""The report's annex (附件): the red and orange lists, every rejected row and the long detail tables.

A report handed to a county's 安委会 keeps its body short (一图一表) and its lists in an annex: in the same
document after a section break (``[outputs] report_annex = "docx"``) or as ``report-annex.xlsx`` beside it
(``"xlsx"``). The sections collect :class:`AnnexTable` items; :func:`write_annex_docx` and :func:`write_annex_xlsx`
write them, the same tables either way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from riskmap.columns import REJECT_REASON
from riskmap.frames import in_language
from riskmap.levels import label
from riskmap.outputs.report.numbers import Numbers, list_frame
from riskmap.outputs.report.text import TEXT
from riskmap.outputs.report.wordml import Doc, caption, heading, landscape, level_fill, para, table
from riskmap.outputs.rules import method_label

if TYPE_CHECKING:
    from riskmap.results import RunResult

__all__ = [
    "ANNEX_CHOICES",
    "ANNEX_XLSX",
    "ANNEX_MAX_ROWS",
    "AnnexTable",
    "Annex",
    "list_tables",
    "rejects_table",
    "write_annex_docx",
    "write_annex_xlsx",
]

#: ``[outputs] report_annex``: where the annex goes.
ANNEX_CHOICES = ("docx", "xlsx")
#: The annex workbook's file name (beside report.docx, in the same output set).
ANNEX_XLSX = "report-annex.xlsx"
#: At most this many rows of one table in the Word annex (a Word table of 100,000 rows neither opens quickly nor
#: prints); the workbook holds them all, and a sentence under the table says where the rest are.
ANNEX_MAX_ROWS = 5000


@dataclass
class AnnexTable:
    """One table of the annex: its title (附件N …), caption, header and rows; the sheet it becomes in the workbook."""

    title: str
    caption_key: str
    caption_kw: dict[str, Any]
    sheet: str
    header: list[str]
    rows: list[list[Any]]
    widths: list[float] | None = None
    fill_levels: list[str] | None = None  # the level of each row, shading column ``fill_col``
    fill_col: int | None = None
    more: str = ""  # where the rows beyond ANNEX_MAX_ROWS are (a file of the run)


@dataclass
class Annex:
    """The annex being collected while the body is written: its tables, numbered 附件1, 附件2 … in order."""

    lang: str
    mode: str = "docx"
    tables: list[AnnexTable] = field(default_factory=list)

    def t(self, key: str, **kw: Any) -> str:
        """The text ``key`` in the annex's language."""
        return TEXT[self.lang][key].format(**kw)

    def add(self, title_key: str, **kw: Any) -> str:
        """The next title (``附件3　剔除记录``); the caller makes the table with it."""
        return self.t(title_key, n=len(self.tables) + 1, **kw)

    def where(self, first: int, last: int | None = None) -> str:
        """Where annexes ``first``..``last`` are, for a sentence of the body: 附件1、附件2, or the workbook."""
        if self.mode == "xlsx":
            return self.t("annex_file", file=ANNEX_XLSX)
        numbers = range(first, (last or first) + 1)
        return ("、" if self.lang == "zh" else ", ").join(self.t("annex_n", n=n) for n in numbers)


_LIST_KEYS = ("no", "ent_name", "credit", "town", "village", "sector", "level", "method", "reasons")
_LIST_WIDTHS = [0.5, 2.6, 3.0, 1.3, 1.3, 1.3, 1.1, 1.5, 5.0]


def list_tables(annex: Annex, result: RunResult, nums: Numbers) -> None:
    """The red and the orange list (every enterprise of each), as the first two annexes."""
    lang = annex.lang
    for level, sheet in (("red", "sheet_red"), ("orange", "sheet_orange")):
        frame = list_frame(result, nums, level, lang)
        name = label(level, lang)
        rows = [
            [i + 1, r.name, r.facility_id, r.town, r.village, r.sector, name, method_label(r.method, lang), r.reasons]
            for i, r in enumerate(frame.itertuples(index=False))
        ]  # fmt: skip
        annex.tables.append(
            AnnexTable(
                annex.add("annex_list", level=name),
                "t_list",
                {"level": name},
                annex.t(sheet),
                [annex.t(k) for k in _LIST_KEYS],
                rows,
                _LIST_WIDTHS,
                [level] * len(rows),
                6,
                "inspection_plan.xlsx",
            )  # fmt: skip
        )


def rejects_table(annex: Annex, result: RunResult) -> None:
    """Every rejected row: file, row, record, name, field, value and the reason."""
    rej = in_language(result.rejects, REJECT_REASON, annex.lang)  # the reasons in the annex's language
    cols = ["source", "row", "record_id", "name", "field", "value", "reason"]
    shown = pd.DataFrame({c: (rej[c] if c in rej else "") for c in cols}).fillna("")
    rows = [[str(v) for v in r] for r in shown.itertuples(index=False)]
    header = [annex.t(k) for k in ("source", "row", "id", "name", "field", "value", "reason")]
    annex.tables.append(
        AnnexTable(
            annex.add("annex_rejects"),
            "t_rejects_all",
            {"k": len(rows)},
            annex.t("sheet_rejects"),
            header,
            rows,
            [1.6, 0.6, 2.2, 2.0, 1.2, 1.6, 5.0],
            more="rejects.csv",
        )  # fmt: skip
    )


def write_annex_docx(d: Doc, annex: Annex) -> None:
    """The annex after a section break, in landscape: 附件, then each table under its title."""
    if not annex.tables:
        return
    landscape(d, True)
    heading(d, d.t("h_annex"))
    for item in annex.tables:
        heading(d, item.title, level=2)
        caption(d, d.next_table(item.caption_key, **item.caption_kw))
        rows = item.rows[:ANNEX_MAX_ROWS]
        fills = [level_fill(k) for k in item.fill_levels[: len(rows)]] if item.fill_levels else None
        if rows:
            table(d, item.header, rows, widths=item.widths, fills=fills, fill_col=item.fill_col)
        else:
            para(d, d.t("none_rows"))
        if len(item.rows) > ANNEX_MAX_ROWS:
            para(d, d.t("annex_more", n=len(item.rows), k=ANNEX_MAX_ROWS, where=item.more))


def write_annex_xlsx(annex: Annex, path: Path) -> Path:
    """The annex as a workbook: one sheet a table, headers in the run's language, every row."""
    from riskmap.outputs.tables import write_xlsx

    sheets = {item.sheet: pd.DataFrame(item.rows, columns=item.header) for item in annex.tables}
    return write_xlsx(sheets, path, level_column=TEXT[annex.lang]["level"])
