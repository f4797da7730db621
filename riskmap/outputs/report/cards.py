"""Risk notification cards (风险告知卡, cards.docx): one page per enterprise, written as WordprocessingML."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import pandas as pd

from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, label
from riskmap.outputs.report.numbers import list_frame, report_numbers
from riskmap.outputs.report.text import CARD_TEXT, TEXT, fmt
from riskmap.outputs.report.wordml import (
    Doc,
    append_to_body,
    cell_xml,
    level_fill,
    open_document,
    save,
    usable_width,
)

if TYPE_CHECKING:
    from riskmap.config import Config
    from riskmap.results import RunResult

__all__ = ["write_cards", "CARD_CHOICES"]

#: ``--cards``: which enterprises get a risk notification card.
CARD_CHOICES = ("red-orange", "all", "none")


def _card_rows(result: RunResult, which: str, lang: str) -> pd.DataFrame | None:
    """The enterprises that get a card (the report's list rows of the chosen levels); ``None``: none."""
    levels = ["red", "orange"] if which == "red-orange" else [*LEVEL_NAMES, NOT_ASSESSED]
    nums = report_numbers(result, lang)
    frames = [list_frame(result, nums, lv, lang) for lv in levels]
    return (
        pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else None
    )


def _inspectors_by_facility(result: RunResult) -> pd.Series:
    """The inspectors the plan assigns, by facility id (empty without a roster)."""
    plan = result.plan.plan
    if "inspectors" not in plan:
        return pd.Series(dtype=str)
    return pd.Series(
        plan["inspectors"].astype(str).to_numpy(), index=plan["facility_id"].astype(str).to_numpy()
    )


class _CardXml:
    """The WordprocessingML of one card: its title paragraph, then a two-column table and a footnote."""

    def __init__(self, d: Doc, lang: str) -> None:
        self.d = d
        self.text = CARD_TEXT[lang]
        self.head_font = d.style_font("Heading 1", d.heading_font)
        self.body_font = d.style_font("Normal", d.body_font)
        self.width = usable_width(d)
        self.cols = [int(self.width * 0.3), self.width - int(self.width * 0.3)]
        # The label cells are the same on every card: made once.
        self.heads = [
            "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
            + cell_xml(k, self.cols[0], self.body_font, d.latin, True, None, False, 24)
            for k in self.text["rows"]
        ]
        self.borders = "".join(
            f'<w:{side} w:val="single" w:sz="8" w:space="0" w:color="000000"/>'
            for side in ("top", "left", "bottom", "right", "insideH", "insideV")
        )

    def title(self, page_break: bool) -> str:
        """The card's title, on a new page after the first card."""
        latin = self.d.latin
        brk = '<w:r><w:br w:type="page"/></w:r>' if page_break else ""
        return (
            f'<w:p><w:pPr><w:jc w:val="center"/><w:spacing w:after="240"/></w:pPr>{brk}<w:r><w:rPr>'
            f'<w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{self.head_font}"/><w:b/><w:sz w:val="44"/>'
            f"</w:rPr><w:t>{escape(self.text['title'])}</w:t></w:r></w:p>"
        )

    def table(self, values: list[Any], level: str) -> str:
        """The card's rows (label, value; the level cell in its colour) and the footnote under them."""
        latin, cols = self.d.latin, self.cols
        rows = "".join(
            head
            + cell_xml(
                v, cols[1], self.body_font, latin, j == 4, level_fill(level) if j == 4 else None, False, 24
            )
            + "</w:tr>"
            for j, (head, v) in enumerate(zip(self.heads, values, strict=True))
        )
        return (
            f'<w:tbl><w:tblPr><w:tblW w:w="{self.width}" w:type="dxa"/><w:tblBorders>{self.borders}</w:tblBorders>'
            f'<w:tblLayout w:type="fixed"/></w:tblPr><w:tblGrid><w:gridCol w:w="{cols[0]}"/>'
            f'<w:gridCol w:w="{cols[1]}"/></w:tblGrid>{rows}</w:tbl>'
            f'<w:p><w:pPr><w:spacing w:before="240"/></w:pPr><w:r><w:rPr><w:rFonts w:ascii="{latin}" '
            f'w:hAnsi="{latin}" w:eastAsia="{self.body_font}"/><w:sz w:val="18"/></w:rPr>'
            f"<w:t>{escape(self.text['foot'])}</w:t></w:r></w:p>"
        )


def write_cards(
    result: RunResult,
    path: str | Path,
    *,
    config: Config,
    which: str = "red-orange",
    lang: str = "zh",
    template: Path | None = None,
) -> Path | None:
    """Write one risk notification card (风险告知卡) a page for red and orange enterprises (``which="all"``: all).

    Returns ``None`` (and writes nothing) when ``which`` is ``none`` or no enterprise qualifies.
    """
    if which == "none":
        return None
    cards = _card_rows(result, which, lang)
    if cards is None:
        return None
    inspectors = _inspectors_by_facility(result)
    d = open_document(template, config, lang, {"title": config.project.name, "unit": config.outputs.report_unit,
                                       "date": date.today().isoformat(), "as_of": str(result.summary["as_of"]),
                                       "period": str(result.summary["plan_year"])})  # fmt: skip
    card = _CardXml(d, lang)
    dash = TEXT[lang]["dash"]
    parts = []
    for i, r in enumerate(cards.itertuples(index=False)):
        values = [
            r.name, r.facility_id, f"{r.town} {r.village}".strip(), r.sector, label(r.level, lang), r.reasons,
            card.text["per_year"].format(n=fmt(r.inspections)), r.months or dash,
            inspectors.get(r.facility_id, "") or dash, str(result.summary["as_of"]),
        ]  # fmt: skip
        parts.append(card.title(page_break=i > 0))
        parts.append(card.table(values, r.level))
    append_to_body(d, parts)
    return save(d, Path(path))
