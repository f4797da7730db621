"""The district report (report.docx, 一图一表) and the risk notification cards (cards.docx), editable in Word/WPS.

A report writer hands the document in as it is: title, a summary in sentences, the four-colour figure with the
zone table, the major/considerable-risk enterprise lists, what changed since the previous run, the inspection
plan and the data quality. Every number in the summary comes from the same values as a table of the document.

Chinese text needs its font in ``w:eastAsia`` (Word and WPS fall back to a Latin font otherwise): every run
gets it, from its paragraph style (the template's own, e.g. 黑体 headings) or from ``[outputs.report_fonts]``.
Tables are written as WordprocessingML rows in one parse (python-docx's cell API costs milliseconds a cell),
repeat their header row on every page, and wide ones stand in landscape sections.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, color, label
from riskmap.zone_kinds import kind_label

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument

    from riskmap.compare import RunDiff, SavedRun
    from riskmap.config import Config
    from riskmap.results import RunResult

__all__ = [
    "write_report",
    "write_cards",
    "write_report_files",
    "default_template",
    "report_numbers",
    "LIST_INLINE_MAX",
    "APPENDIX_MAX_ROWS",
    "CARD_CHOICES",
]

#: Up to this many enterprises a list stands in its section; above, the appendix holds the first
#: :data:`APPENDIX_MAX_ROWS` and a sentence says where the full list is (a Word table of 100,000 rows is
#: neither readable nor quick to open).
LIST_INLINE_MAX = 3000
APPENDIX_MAX_ROWS = 2000
#: ``--cards``: which enterprises get a risk notification card.
CARD_CHOICES = ("red-orange", "all", "none")

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
#: Characters XML 1.0 does not allow (user data from spreadsheets sometimes carries them).
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "report": "安全风险分级管控报告",
        "period": "{year}年度",
        "unit": "编制单位：{unit}",
        "made": "编制日期：{date}",
        "as_of": "评估基准日：{date}",
        "h_summary": "一、总体情况",
        "h_figure": "二、安全风险四色分布图",
        "h_lists": "三、重大风险和较大风险企业清单",
        "h_changes": "四、与上期相比的变化",
        "h_plan": "{n}、监督检查计划",
        "h_quality": "{n}、数据质量与方法",
        "h_appendix": "附录：企业清单（节选）",
        "numerals": "一二三四五六七八九十",
        "t_levels": "表{n} 企业与区域风险等级统计",
        "t_zones": "表{n} {kind}风险等级",
        "t_list": "表{n} {level}企业清单",
        "t_changes": "表{n} 升降级统计",
        "t_changed": "表{n} {layer}等级变化",
        "t_months": "表{n} 各月检查计划（按风险等级）",
        "t_towns": "表{n} 各{kind}检查计划",
        "t_quality": "表{n} 数据处理情况",
        "t_rejects": "表{n} 剔除原因（前 {k} 项）",
        "t_inputs": "表{n} 输入数据及其 SHA-256",
        "t_rules": "表{n} 监管频次与抽查比例",
        "t_sectors": "表{n} 各行业定级方法",
        "fig": "图1 {title}（安全风险四色分布图）",
        "level": "等级",
        "enterprises": "企业（家）",
        "share": "占比",
        "total": "合计",
        "red_orange": "重大+较大",
        "code": "代码",
        "name": "名称",
        "n_total": "企业合计",
        "rule": "规则",
        "no": "序号",
        "ent_name": "企业名称",
        "credit": "统一社会信用代码",
        "town": "乡镇/街道",
        "village": "村/社区",
        "sector": "行业",
        "method": "方法",
        "reasons": "定级依据",
        "change": "变化",
        "id": "编号",
        "old": "原等级",
        "new": "现等级",
        "added": "新增依据",
        "removed": "不再适用的依据",
        "layer": "图层",
        "up": "升级",
        "down": "降级",
        "new_": "新增",
        "removed_": "移除",
        "unchanged": "不变",
        "month": "月份",
        "planned": "计划",
        "capacity": "能力",
        "scheduled": "已排期",
        "shortfall": "缺口（人日）",
        "inspections": "检查（次）",
        "drawn": "双随机抽中（家）",
        "patrols": "区域巡查（次/年）",
        "item": "项目",
        "value": "数值",
        "source": "文件",
        "field": "字段",
        "reason": "原因",
        "rows": "行数",
        "input": "输入",
        "path": "路径",
        "per_year": "检查（次/年）",
        "rate": "双随机抽查比例",
        "methods": "定级方法",
        "rows_in": "输入企业（行）",
        "scored": "已评估企业（家）",
        "unassessed": "未评估企业（家）",
        "rejected": "剔除（行）",
        "adj_up": "动态调整升级（家）",
        "adj_down": "动态调整降级（家）",
        "incomplete": "部分记录被剔除的企业（家）",
        "month_n": "{m}月",
        "facilities_layer": "企业",
        "dash": "—",
    },
    "en": {
        "report": "Safety risk report",
        "period": "{year}",
        "unit": "Prepared by: {unit}",
        "made": "Date: {date}",
        "as_of": "Levels as of: {date}",
        "h_summary": "1. Summary",
        "h_figure": "2. Four-colour risk map",
        "h_lists": "3. Enterprises of major and considerable risk",
        "h_changes": "4. What changed since the previous run",
        "h_plan": "{n}. Inspection plan",
        "h_quality": "{n}. Data quality and methods",
        "h_appendix": "Appendix: enterprise lists (extract)",
        "numerals": "",
        "t_levels": "Table {n}. Enterprises and zones by risk level",
        "t_zones": "Table {n}. Risk level of each {kind}",
        "t_list": "Table {n}. {level} enterprises",
        "t_changes": "Table {n}. Levels up and down",
        "t_changed": "Table {n}. Level changes: {layer}",
        "t_months": "Table {n}. Inspections per month and level",
        "t_towns": "Table {n}. Inspection plan per {kind}",
        "t_quality": "Table {n}. Rows processed",
        "t_rejects": "Table {n}. Rejected rows by reason (top {k})",
        "t_inputs": "Table {n}. Inputs and their SHA-256",
        "t_rules": "Table {n}. Inspection frequencies and random draws",
        "t_sectors": "Table {n}. Grading methods by sector",
        "fig": "Figure 1. {title} (four-colour risk map)",
        "level": "Level",
        "enterprises": "Enterprises",
        "share": "Share",
        "total": "Total",
        "red_orange": "Major + considerable",
        "code": "Code",
        "name": "Name",
        "n_total": "Enterprises",
        "rule": "Rule",
        "no": "No.",
        "ent_name": "Enterprise",
        "credit": "Credit code",
        "town": "Town",
        "village": "Village",
        "sector": "Sector",
        "method": "Method",
        "reasons": "Reasons",
        "change": "Change",
        "id": "Id",
        "old": "Before",
        "new": "Now",
        "added": "Reasons added",
        "removed": "Reasons no longer given",
        "layer": "Layer",
        "up": "Up",
        "down": "Down",
        "new_": "New",
        "removed_": "Removed",
        "unchanged": "Unchanged",
        "month": "Month",
        "planned": "Planned",
        "capacity": "Capacity",
        "scheduled": "Scheduled",
        "shortfall": "Shortfall (officer-days)",
        "inspections": "Inspections",
        "drawn": "Drawn by lot",
        "patrols": "Zone patrols a year",
        "item": "Item",
        "value": "Value",
        "source": "File",
        "field": "Field",
        "reason": "Reason",
        "rows": "Rows",
        "input": "Input",
        "path": "Path",
        "per_year": "Inspections a year",
        "rate": "Random draw rate",
        "methods": "Methods",
        "rows_in": "Facility rows in",
        "scored": "Enterprises graded",
        "unassessed": "Enterprises not assessed (grey)",
        "rejected": "Rows rejected",
        "adj_up": "Raised by dynamic adjustment",
        "adj_down": "Lowered by dynamic adjustment",
        "incomplete": "Graded without some records",
        "month_n": "{m}",
        "facilities_layer": "Enterprises",
        "dash": "-",
    },
}


def default_template() -> Path:
    """The report template shipped in ``styles/`` (made by ``scripts/make_report_template.py``)."""
    from riskmap._resources import styles_dir

    return styles_dir() / "report-template.docx"


# --------------------------------------------------------------------------------------------------------------
# The numbers: computed once, read by the sentences and the tables alike.


@dataclass
class _Numbers:
    lang: str
    levels: list[str]  # the levels shown (``none`` too when some facilities are not assessed)
    facilities: dict[str, int]
    scored: int
    zones: dict[str, dict[str, int]]  # kind -> level -> count
    coarse: str  # the zone layer of the zone table and the per-town plan (the coarsest)
    fine: str
    coarse_names: pd.Series  # code -> name of the coarse layer
    zone_table: pd.DataFrame
    months: pd.DataFrame  # month x level counts + planned, capacity, scheduled, shortfall
    towns: pd.DataFrame  # per coarse zone: enterprises, inspections, drawn, patrols
    extra: dict[str, Any] = field(default_factory=dict)

    def share(self, n: int) -> str:
        return f"{100 * n / self.scored:.1f}%" if self.scored else "0.0%"


def _fmt(v: Any) -> str:
    """A number as the tables and the sentences both show it."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{v:g}"
    return str(v)


def report_numbers(result: RunResult, lang: str = "zh") -> _Numbers:
    """The values the report's sentences and tables are made of (one place, so that they always agree)."""
    from riskmap.columns import DRAWN, INSPECTIONS, PATROLS, RULE, ZONE_CODE, ZONE_NAME
    from riskmap.zoning import COUNT_COLUMNS, zone_code_column

    s = result.summary
    levels = list(LEVEL_NAMES) + ([NOT_ASSESSED] if s["facilities_per_level"].get(NOT_ASSESSED) else [])
    kinds = list(result.zones)
    coarse, fine = kinds[-1], kinds[0]
    cz = result.zones[coarse]
    names = pd.Series(cz[ZONE_NAME].astype(str).to_numpy(), index=cz[ZONE_CODE].astype(str).to_numpy())
    table = pd.DataFrame(cz[[ZONE_CODE, ZONE_NAME, *COUNT_COLUMNS, "n_facilities", RULE, "level"]])
    plan = result.plan
    insp = plan.inspections
    per_month = (
        pd.crosstab(insp["month"], insp["level"])
        .reindex(index=range(1, 13), columns=levels)
        .fillna(0)
        .astype(int)
    )
    months = per_month.copy()
    mt = plan.months.set_index("month") if len(plan.months) else pd.DataFrame(index=range(1, 13))
    months["planned"] = per_month.sum(axis=1)
    for col in ("capacity", "scheduled", "shortfall_officer_days"):
        months[col] = mt[col].reindex(months.index) if col in mt else np.nan
    code_col = zone_code_column(coarse) if len(kinds) > 1 else "zone_code"
    pp = plan.plan
    town_of_plan = pp["town_code"].astype(str) if len(kinds) > 1 else pp["zone_code"].astype(str)
    del code_col
    towns = pd.DataFrame(
        {
            "enterprises": town_of_plan.value_counts(),
            "inspections": pp[INSPECTIONS].groupby(town_of_plan).sum(),
            "drawn": pp[DRAWN].astype(int).groupby(town_of_plan).sum(),
        }
    )
    towns = towns.reindex(names.index).fillna(0).astype(int)
    towns.insert(0, "name", names)
    towns["patrols"] = pd.Series(cz[PATROLS].to_numpy(), index=names.index) if PATROLS in cz else np.nan
    return _Numbers(
        lang=lang,
        levels=levels,
        facilities={k: int(s["facilities_per_level"].get(k, 0)) for k in levels},
        scored=int(s["facilities_scored"]) + int(s["facilities_unassessed"]),  # on the map: grey ones too
        zones={k: {lv: int(v.get(lv, 0)) for lv in levels} for k, v in s["zones_per_level"].items()},
        coarse=coarse,
        fine=fine,
        coarse_names=names,
        zone_table=table.reset_index(drop=True),
        months=months,
        towns=towns,
    )


# --------------------------------------------------------------------------------------------------------------
# Writing WordprocessingML


@dataclass
class _Doc:
    """The document being written, with its language, fonts and running table number."""

    doc: DocxDocument
    lang: str
    body_font: str
    heading_font: str
    latin: str
    table_no: int = 0
    _style_fonts: dict[str, str] = field(default_factory=dict)

    def t(self, key: str, **kw: Any) -> str:
        return _TEXT[self.lang][key].format(**kw)

    def next_table(self, key: str, **kw: Any) -> str:
        self.table_no += 1
        return self.t(key, n=self.table_no, **kw)

    def style_font(self, style_name: str, fallback: str) -> str:
        """The East-Asian font of a paragraph style (the template's own), else ``fallback``."""
        if style_name not in self._style_fonts:
            self._style_fonts[style_name] = _east_asia_of(self.doc, style_name) or fallback
        return self._style_fonts[style_name]


def _east_asia_of(doc: DocxDocument, style_name: str) -> str | None:
    from docx.oxml.ns import qn

    try:
        style = doc.styles[style_name]
    except KeyError:
        return None
    while style is not None:
        rpr = style.element.rPr
        if rpr is not None and rpr.rFonts is not None and rpr.rFonts.get(qn("w:eastAsia")):
            return rpr.rFonts.get(qn("w:eastAsia"))
        style = style.base_style
    return None


def _set_fonts(run: Any, east_asia: str, latin: str) -> None:
    from docx.oxml.ns import qn

    rpr = run._element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)


def _clean(text: Any) -> str:
    return _BAD_XML.sub("", "" if text is None else str(text))


def _para(d: _Doc, text: str, style: str | None = None, bold: bool = False, align: str | None = None) -> Any:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    try:
        p = d.doc.add_paragraph(style=style)
    except KeyError:  # a template without that style
        p = d.doc.add_paragraph()
        style = None
    run = p.add_run(_clean(text))
    run.bold = bold or None
    _set_fonts(run, d.style_font(style or "Normal", d.body_font), d.latin)
    if align == "center":
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    return p


def _heading(d: _Doc, text: str, level: int = 1) -> Any:
    from docx.shared import Pt

    name = f"Heading {level}"
    try:
        p = d.doc.add_paragraph(style=name)
    except KeyError:  # an office template without heading styles: bold direct formatting
        p = d.doc.add_paragraph()
        run = p.add_run(_clean(text))
        run.bold = True
        run.font.size = Pt(16 if level == 1 else 14)
        _set_fonts(run, d.heading_font, d.latin)
        return p
    run = p.add_run(_clean(text))
    _set_fonts(run, d.style_font(name, d.heading_font), d.latin)
    return p


def _caption(d: _Doc, text: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    p = _para(d, text, style="Caption" if _has_style(d.doc, "Caption") else None, bold=True)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.keep_with_next = True


def _has_style(doc: DocxDocument, name: str) -> bool:
    try:
        doc.styles[name]
    except KeyError:
        return False
    return True


def _usable_width(d: _Doc) -> int:
    """Width between the margins of the last section, in twentieths of a point (dxa)."""
    sec = d.doc.sections[-1]
    width = (sec.page_width or 11906 * 635) - (sec.left_margin or 0) - (sec.right_margin or 0)
    return int(width / 635)  # EMU -> dxa


def _cell_xml(
    text: str,
    width: int,
    east_asia: str,
    latin: str,
    bold: bool,
    fill: str | None,
    right: bool,
    size: int = 18,
) -> str:
    shd = f'<w:shd w:val="clear" w:color="auto" w:fill="{fill}"/>' if fill else ""
    jc = '<w:jc w:val="right"/>' if right else ""
    b = "<w:b/>" if bold else ""
    return (
        f'<w:tc><w:tcPr><w:tcW w:w="{width}" w:type="dxa"/>{shd}</w:tcPr>'
        f'<w:p><w:pPr><w:spacing w:before="0" w:after="0"/>{jc}</w:pPr><w:r><w:rPr>'
        f'<w:rFonts w:ascii="{latin}" w:hAnsi="{latin}" w:eastAsia="{east_asia}"/>{b}'
        f'<w:sz w:val="{size}"/><w:szCs w:val="{size}"/></w:rPr>'
        f'<w:t xml:space="preserve">{escape(_clean(text))}</w:t></w:r></w:p></w:tc>'
    )


_NUMBER = re.compile(r"^-?[\d.,]+%?$")


def _table(
    d: _Doc,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float] | None = None,
    fills: Sequence[str | None] | None = None,
    fill_col: int | None = None,
) -> Any:
    """A bordered table whose header row repeats on every page; ``fills`` shades ``fill_col`` of each row."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    n = len(header)
    rel = list(widths) if widths else [1.0] * n
    total = _usable_width(d)
    cols = [int(total * w / sum(rel)) for w in rel]
    table = d.doc.add_table(rows=0, cols=n)
    if _has_style(d.doc, "Table Grid"):
        table.style = d.doc.styles["Table Grid"]
    tbl = table._tbl
    for gc, w in zip(tbl.tblGrid.findall(f"{{{_W}}}gridCol"), cols, strict=True):
        gc.set(f"{{{_W}}}w", str(w))
    borders = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    tbl.tblPr.append(parse_xml(f"<w:tblBorders {nsdecls('w')}>{borders}</w:tblBorders>"))
    tbl.tblPr.append(parse_xml(f'<w:tblLayout {nsdecls("w")} w:type="fixed"/>'))
    font = d.style_font("Normal", d.body_font)
    head = "".join(
        _cell_xml(h, w, font, d.latin, True, "D9D9D9", False) for h, w in zip(header, cols, strict=True)
    )
    parts = [f"<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>{head}</w:tr>"]
    for i, row in enumerate(rows):
        cells = []
        for j, (v, w) in enumerate(zip(row, cols, strict=True)):
            text = _fmt(v)
            fill = fills[i] if fills is not None and j == fill_col else None
            cells.append(_cell_xml(text, w, font, d.latin, False, fill, bool(_NUMBER.match(text))))
        parts.append(f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{''.join(cells)}</w:tr>")
    holder = parse_xml(f"<w:tbl {nsdecls('w')}>{''.join(parts)}</w:tbl>")
    for tr in list(holder):
        tbl.append(tr)
    return table


def _level_fill(key: str) -> str:
    return color(key).lstrip("#").upper()


def _landscape(d: _Doc, landscape: bool) -> None:
    """Start a new section (on a new page) in landscape or portrait; headers and footers carry over."""
    from docx.enum.section import WD_ORIENT, WD_SECTION

    last = d.doc.sections[-1]
    if (last.orientation == WD_ORIENT.LANDSCAPE) == landscape and len(d.doc.paragraphs) == 0:
        return
    sec = d.doc.add_section(WD_SECTION.NEW_PAGE)
    w, h = sec.page_width, sec.page_height
    want_wide = landscape
    if w is not None and h is not None and (w > h) != want_wide:
        sec.page_width, sec.page_height = h, w
    sec.orientation = WD_ORIENT.LANDSCAPE if landscape else WD_ORIENT.PORTRAIT


def _page_number_footer(doc: DocxDocument) -> None:
    """A centred PAGE field in the footer, unless the template's footer already numbers its pages."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    footer = doc.sections[0].footer
    if "PAGE" in "".join(footer._element.xpath(".//w:instrText/text()")) or footer._element.xpath(
        ".//w:fldSimple[contains(@w:instr, 'PAGE')]"
    ):
        return
    p = footer.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="begin"/></w:r>'))
    p._p.append(
        parse_xml(f'<w:r {nsdecls("w")}><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>')
    )
    p._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="separate"/></w:r>'))
    p._p.append(parse_xml(f"<w:r {nsdecls('w')}><w:t>1</w:t></w:r>"))
    p._p.append(parse_xml(f'<w:r {nsdecls("w")}><w:fldChar w:fldCharType="end"/></w:r>'))


def _fill_placeholders(doc: DocxDocument, values: dict[str, str]) -> None:
    """Replace ``{{title}}``, ``{{unit}}``, ``{{date}}``, ``{{as_of}}``, ``{{period}}`` in the template's runs."""
    parts = [doc.element.body]
    for sec in doc.sections:
        parts += [sec.header._element, sec.footer._element]
    pattern = re.compile(r"\{\{\s*(\w+)\s*\}\}")
    for part in parts:
        for t in part.iter(f"{{{_W}}}t"):
            if t.text and "{{" in t.text:
                t.text = pattern.sub(lambda m: values.get(m.group(1), m.group(0)), t.text)


def _save(d: _Doc, path: Path) -> Path:
    from riskmap.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        d.doc.save(str(tmp))
    return path


def _open(template: Path | None, config: Config, lang: str, values: dict[str, str]) -> _Doc:
    from docx import Document

    from riskmap.outputs.docx_template import load_template

    fonts = config.outputs.report_fonts
    # Checked before python-docx parses it (size, type, macros, zip bomb, DTDs): a template is data.
    doc = Document(load_template(template if template is not None else default_template()))
    d = _Doc(doc, lang, fonts.body, fonts.heading, fonts.latin)
    _fill_placeholders(doc, values)
    _page_number_footer(doc)
    return d


# --------------------------------------------------------------------------------------------------------------
# The sections


def _title(d: _Doc, config: Config, result: RunResult, unit: str) -> None:
    s = result.summary
    title = _para(d, config.project.name, style="Title", align="center")
    title.paragraph_format.keep_with_next = True
    _para(d, f"{d.t('report')}（{d.t('period', year=s['plan_year'])}）" if d.lang == "zh"
          else f"{d.t('report')}, {d.t('period', year=s['plan_year'])}", style="Subtitle", align="center")  # fmt: skip
    if unit:
        _para(d, d.t("unit", unit=unit), align="center")
    _para(d, d.t("made", date=date.today().isoformat()), align="center")
    _para(d, d.t("as_of", date=s["as_of"]), align="center")


def _lv(d: _Doc, key: str) -> str:
    return label(key, d.lang)


def _summary_sentences(d: _Doc, nums: _Numbers, config: Config, result: RunResult) -> list[str]:
    """The summary, from the same values as the tables (test: each of its numbers is in some table)."""
    s = result.summary
    f = nums.facilities
    ro = f.get("red", 0) + f.get("orange", 0)
    zh = d.lang == "zh"
    per = ("、" if zh else ", ").join(
        (f"{_lv(d, k)} {f[k]} 家" if zh else f"{f[k]} {_lv(d, k).lower()}") for k in nums.levels
    )
    out = [
        f"本次共评估企业 {nums.scored} 家，其中{per}；重大和较大风险企业合计 {ro} 家，占 {nums.share(ro)}。"
        if zh
        else f"{nums.scored} enterprises were graded: {per}. Major and considerable risk together: {ro} "
        f"enterprises, {nums.share(ro)} of all."
    ]
    for kind, counts in nums.zones.items():
        total = sum(counts.values())
        name = kind_label(kind, d.lang, _kind_labels(config))
        parts = ("、" if zh else ", ").join(
            (f"{_lv(d, k)} {counts[k]} 个" if zh else f"{counts[k]} {_lv(d, k).lower()}")
            for k in nums.levels
            if counts.get(k)
        )
        out.append(f"全区 {total} 个{name}中，{parts}。" if zh else f"Of {total} zones ({name}): {parts}.")
    top = nums.zone_table.sort_values(["n_red", "zone_code"], ascending=[False, True], kind="stable")
    top = top[top["n_red"] > 0].head(3)
    if len(top):
        kind = kind_label(nums.coarse, d.lang, _kind_labels(config))
        names = ("、" if zh else ", ").join(
            f"{r.zone_name}（{r.n_red} 家）" if zh else f"{r.zone_name} ({r.n_red})" for r in top.itertuples()
        )
        out.append(
            f"重大风险企业最多的{kind}为{names}。"
            if zh
            else f"The {kind} with the most major-risk enterprises: {names}."
        )
    m = nums.months
    planned = int(m["planned"].sum())
    drawn = int(nums.towns["drawn"].sum())
    plan_txt = (
        f"全年计划检查 {planned} 次，其中双随机抽中企业 {drawn} 家"
        if zh
        else f"The plan has {planned} inspections in the year, {drawn} enterprises drawn by lot"
    )
    if m["capacity"].notna().any():
        cap = int(m["capacity"].fillna(0).sum())
        short = float(m["shortfall_officer_days"].fillna(0).sum())
        if short > 0:
            plan_txt += (
                f"；全年检查能力 {cap} 次，能力不足，合计缺口 {_fmt(short)} 人日（见各月检查计划表）。"
                if zh
                else f"; the capacity of {cap} inspections does not cover it: a shortfall of {_fmt(short)} "
                "officer-days (see the month table)."
            )
        else:
            plan_txt += (
                f"；全年检查能力 {cap} 次，能够完成计划。"
                if zh
                else f"; the capacity of {cap} covers the plan."
            )
    else:
        plan_txt += "；未设置检查能力。" if zh else "; no inspection capacity is configured."
    out.append(plan_txt)
    out.append(
        f"输入企业数据 {s['facilities_in']} 行，剔除 {s['facilities_rejected']} 行（原因见数据质量部分）。"
        if zh
        else f"{s['facilities_in']} facility rows were read and {s['facilities_rejected']} rejected (see the data "
        "quality section)."
    )
    return out


def _kind_labels(config: Config) -> dict[str, dict[str, str]]:
    own = {z.kind: {"zh": z.label, "en": z.label_en} for z in config.zones}
    return {kind: {lang: t for lang, t in by.items() if t} for kind, by in own.items()}


def _summary(d: _Doc, nums: _Numbers, config: Config, result: RunResult) -> None:
    _heading(d, d.t("h_summary"))
    for sentence in _summary_sentences(d, nums, config, result):
        _para(d, sentence, style="Normal")
    _levels_table(d, nums, config)


def _levels_table(d: _Doc, nums: _Numbers, config: Config) -> None:
    _caption(d, d.next_table("t_levels"))
    kinds = list(nums.zones)
    header = [d.t("level"), d.t("enterprises"), d.t("share")]
    header += [kind_label(k, d.lang, _kind_labels(config)) for k in kinds]
    rows: list[list[Any]] = [
        [
            _lv(d, k),
            nums.facilities[k],
            nums.share(nums.facilities[k]),
            *(nums.zones[z].get(k, 0) for z in kinds),
        ]
        for k in nums.levels
    ]
    ro = nums.facilities.get("red", 0) + nums.facilities.get("orange", 0)
    rows.append([d.t("red_orange"), ro, nums.share(ro), *(
        nums.zones[z].get("red", 0) + nums.zones[z].get("orange", 0) for z in kinds)])  # fmt: skip
    rows.append(
        [d.t("total"), nums.scored, nums.share(nums.scored), *(sum(nums.zones[z].values()) for z in kinds)]
    )
    _table(d, header, rows, fills=[_level_fill(k) for k in nums.levels] + [None, None], fill_col=0)


def _figure(d: _Doc, figure: Path | None, config: Config, nums: _Numbers) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Emu

    _heading(d, d.t("h_figure"))
    if figure is not None:
        sec = d.doc.sections[-1]
        width = (sec.page_width or 0) - (sec.left_margin or 0) - (sec.right_margin or 0)
        p = d.doc.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        p.add_run().add_picture(str(figure), width=Emu(int(width)))
        _caption(d, d.t("fig", title=config.project.name))
    t = nums.zone_table
    kind = kind_label(nums.coarse, d.lang, _kind_labels(config))
    _caption(d, d.next_table("t_zones", kind=kind))
    header = [
        d.t("code"),
        d.t("name"),
        *(_lv(d, k) for k in LEVEL_NAMES),
        d.t("n_total"),
        d.t("rule"),
        d.t("level"),
    ]
    cols = [
        "zone_code",
        "zone_name",
        "n_red",
        "n_orange",
        "n_yellow",
        "n_blue",
        "n_facilities",
        "rule",
        "level",
    ]
    shown = t[cols].head(APPENDIX_MAX_ROWS)
    # The rule's name in the table (its parameters are long and the same for most rows), in full below it.
    rows = [[*r[:7], _rule_name(r[7]), _lv(d, r[8])] for r in shown.itertuples(index=False)]
    _table(
        d, header, rows, widths=[2.6, 2.2, 1, 1, 1, 1, 1.2, 1.4, 1.6],
        fills=[_level_fill(k) for k in shown["level"]], fill_col=8,
    )  # fmt: skip
    for rule in dict.fromkeys(t["rule"].astype(str)):
        _para(d, f"{d.t('rule')} {_rule_name(rule)}: {rule}")
    if len(t) > APPENDIX_MAX_ROWS:
        _para(d, _more_rows(d, len(t), f"zones_{nums.coarse}.csv"))


def _rule_name(rule: str) -> str:
    """``index (fixed; ...) + spillover 1000 m`` -> ``index + spillover``."""
    name = str(rule).split(":")[0].split(" (")[0].split(" + ")[0].strip()
    return name + (" + spillover" if "+ spillover" in str(rule) else "")


def _more_rows(d: _Doc, n: int, where: str) -> str:
    return (
        f"共 {n} 行，上表列出前 {APPENDIX_MAX_ROWS} 行；完整清单见 {where} 和 riskmap.gpkg。"
        if d.lang == "zh"
        else f"{n} rows: the table shows the first {APPENDIX_MAX_ROWS}; the full list is in {where} and riskmap.gpkg."
    )


def _list_frame(result: RunResult, nums: _Numbers, level: str, lang: str) -> pd.DataFrame:
    """The enterprises of ``level``, sorted by town then id, with the report's columns."""
    from riskmap.zoning import zone_code_column

    f = result.facilities
    sel = f[(f["level"] == level).to_numpy()]
    town_col = zone_code_column(nums.coarse)
    town_code = sel[town_col].astype(str) if town_col in sel else sel["zone_code"].astype(str)
    reasons = "reasons_en" if lang == "en" and "reasons_en" in sel else "reasons"
    out = pd.DataFrame(
        {
            "town_code": town_code.to_numpy(),
            "name": sel["name"].astype(str).to_numpy(),
            "facility_id": sel["facility_id"].astype(str).to_numpy(),
            "town": town_code.map(nums.coarse_names).fillna("").to_numpy(),
            "village": sel["zone_name"].astype(str).to_numpy(),
            "sector": sel["sector"].astype(str).to_numpy(),
            "level": sel["level"].to_numpy(),
            "method": sel["method"].astype(str).to_numpy() if "method" in sel else "",
            "reasons": sel[reasons].fillna("").astype(str).to_numpy(),
            "inspections": sel["inspections_per_year"].to_numpy() if "inspections_per_year" in sel else 0,
            "months": sel["months"].astype(str).to_numpy() if "months" in sel else "",
        }
    )
    return out.sort_values(["town_code", "facility_id"], kind="stable").reset_index(drop=True)


def _list_table(d: _Doc, frame: pd.DataFrame, level: str) -> None:
    _caption(d, d.next_table("t_list", level=_lv(d, level)))
    header = [
        d.t(k)
        for k in ("no", "ent_name", "credit", "town", "village", "sector", "level", "method", "reasons")
    ]
    rows = [
        [i + 1, r.name, r.facility_id, r.town, r.village, r.sector, _lv(d, r.level), r.method, r.reasons]
        for i, r in enumerate(frame.itertuples(index=False))
    ]
    _table(
        d, header, rows, widths=[0.5, 2.6, 3.0, 1.3, 1.3, 1.3, 1.1, 1.5, 5.0],
        fills=[_level_fill(level)] * len(rows), fill_col=6,
    )  # fmt: skip


def _lists(d: _Doc, result: RunResult, nums: _Numbers) -> list[tuple[str, pd.DataFrame]]:
    """The red and orange lists, in place or (when long) announced here and put in the appendix."""
    _landscape(d, True)
    _heading(d, d.t("h_lists"))
    to_appendix = []
    for level in ("red", "orange"):
        frame = _list_frame(result, nums, level, d.lang)
        if len(frame) <= LIST_INLINE_MAX:
            _list_table(d, frame, level)
            continue
        to_appendix.append((level, frame))
        _para(
            d,
            f"{_lv(d, level)}企业共 {len(frame)} 家，超过 {LIST_INLINE_MAX} 家：附录列出前 {APPENDIX_MAX_ROWS} 家，"
            "完整清单见 inspection_plan.xlsx（或 inspection_plan.csv）和 riskmap.gpkg 的 facilities 图层。"
            if d.lang == "zh"
            else f"{len(frame)} {_lv(d, level).lower()} enterprises, more than {LIST_INLINE_MAX}: the appendix lists "
            f"the first {APPENDIX_MAX_ROWS}; the full list is in inspection_plan.xlsx (or inspection_plan.csv) and "
            "the facilities layer of riskmap.gpkg.",
        )
    return to_appendix


def _changes(d: _Doc, diff: RunDiff, config: Config) -> None:
    _heading(d, d.t("h_changes"))
    _caption(d, d.next_table("t_changes"))

    def layer_name(layer: str) -> str:
        if layer == "facilities":
            return d.t("facilities_layer")
        return kind_label(layer.removeprefix("zones_"), d.lang, _kind_labels(config))

    keys = ("up", "down", "new", "removed", "unchanged")
    header = [d.t("layer"), d.t("up"), d.t("down"), d.t("new_"), d.t("removed_"), d.t("unchanged")]
    _table(d, header, [[layer_name(layer), *(c[k] for k in keys)] for layer, c in diff.counts.items()])
    for layer, changes in diff.changes.items():
        moved = changes[changes["change"].isin(["up", "down"])]
        if moved.empty:
            continue
        _caption(d, d.next_table("t_changed", layer=layer_name(layer)))
        header = [d.t(k) for k in ("change", "id", "name", "old", "new", "added", "removed")]
        rows = [
            [
                d.t(r.change),
                r.id,
                r.name,
                _lv(d, r.level_old),
                _lv(d, r.level_new),
                r.reasons_added,
                r.reasons_removed,
            ]
            for r in moved.head(APPENDIX_MAX_ROWS).itertuples(index=False)
        ]
        _table(d, header, rows, widths=[0.8, 2.2, 2.4, 1.2, 1.2, 4, 4],
               fills=[_level_fill(k) for k in moved["level_new"].head(APPENDIX_MAX_ROWS)], fill_col=4)  # fmt: skip
        if len(moved) > APPENDIX_MAX_ROWS:
            _para(d, _more_rows(d, len(moved), "changes.csv (riskmap diff --out)"))


#: The sensitivity section's texts (its own table: other sections' texts stay as they are).
_SENSITIVITY_TEXT: dict[str, dict[str, Any]] = {
    "zh": {
        "h": "{n}、等级的稳健性（替代约定下的敏感性）",
        "firm": "在 {v} 种公认的替代约定下，{ff} 家企业（共 {nf} 家）和 {zf} 个{kind}（共 {nz} 个）的等级不变；"
        "{fc} 家企业、{zc} 个{kind}的等级取决于所采用的约定。",
        "caption": "表{t}  各替代约定改变等级的企业和区域数",
        "header": ["替代约定", "改动的设置", "企业", "{kind}"],
        "zones_caption": "表{t}  等级随约定变化的{kind}",
        "zones_header": ["名称", "代码", "等级", "最低", "最高", "改变等级的约定"],
    },
    "en": {
        "h": "{n}. How firm the levels are (alternative conventions)",
        "firm": "Under {v} accepted alternative conventions, {ff} of {nf} enterprises and {zf} of {nz} zones "
        "({kind}) keep their level; {fc} enterprises and {zc} zones depend on the convention applied.",
        "caption": "Table {t}. Enterprises and zones whose level each alternative convention changes",
        "header": ["Convention", "Settings changed", "Enterprises", "{kind}"],
        "zones_caption": "Table {t}. Zones ({kind}) whose level depends on the convention",
        "zones_header": ["Name", "Code", "Level", "Lowest", "Highest", "Changed by"],
    },
}


def _sensitivity(d: _Doc, result: RunResult, config: Config, section: int) -> None:
    """How many zones and enterprises are firm, which change and under which convention."""
    sens = result.sensitivity
    t = _SENSITIVITY_TEXT[d.lang]
    kind = next(iter(sens.zones))
    kind_name = kind_label(kind, d.lang, _kind_labels(config))
    fac, zones, variants = sens.facilities, sens.zones[kind], sens.variants
    fc, zc = int((fac["changed_by"] != "").sum()), int((zones["changed_by"] != "").sum())
    _heading(d, t["h"].format(n=_numeral(d, section)))
    _para(d, t["firm"].format(v=len(variants), ff=len(fac) - fc, nf=len(fac), zf=len(zones) - zc, nz=len(zones),
                              kind=kind_name, fc=fc, zc=zc))  # fmt: skip
    d.table_no += 1
    _caption(d, t["caption"].format(t=d.table_no))
    header = [h.format(kind=kind_name) for h in t["header"]]
    rows = [[r["variant"], r["set"], r["facilities_changed"], r[f"zones_changed_{kind}"]]
            for r in variants.to_dict("records")]  # fmt: skip
    _table(d, header, rows, widths=[3, 6, 1.5, 1.5])
    moved = zones[zones["changed_by"] != ""]
    if moved.empty:
        return
    d.table_no += 1
    _caption(d, t["zones_caption"].format(t=d.table_no, kind=kind_name))
    head = moved.head(APPENDIX_MAX_ROWS)
    rows = [[r.zone_name, r.zone_code, _lv(d, r.level), _lv(d, r.level_min), _lv(d, r.level_max), r.changed_by]
            for r in head.itertuples(index=False)]  # fmt: skip
    _table(d, t["zones_header"], rows, widths=[2.4, 2.6, 1.2, 1.2, 1.2, 5],
           fills=[_level_fill(k) for k in head["level"]], fill_col=2)  # fmt: skip
    if len(moved) > APPENDIX_MAX_ROWS:
        _para(d, _more_rows(d, len(moved), f"sensitivity_zones_{kind}.csv"))


def _plan(d: _Doc, nums: _Numbers, config: Config, result: RunResult, section: int) -> None:
    _heading(d, d.t("h_plan", n=_numeral(d, section)))
    plan = result.plan
    zh = d.lang == "zh"
    _para(
        d,
        f"双随机抽查（双随机、一公开）的随机种子为 {plan.seed}（公开）：以相同的输入和配置运行 "
        f"riskmap plan 项目文件 --year {plan.year} 可复核同一抽取结果；如需重新抽取，在项目文件 "
        "[supervision.sampling] 中设置新的 seed 并公布后重新运行。"
        if zh
        else f"The random draw (random enterprises, random inspectors) uses the published seed {plan.seed}: running riskmap plan PROJECT.toml --year "
        f"{plan.year} on the same inputs and configuration gives the same draw; to draw again, set a new seed in "
        "[supervision.sampling] of the project file, publish it and run again.",
    )
    m = nums.months
    _caption(d, d.next_table("t_months"))
    header = [d.t("month"), *(_lv(d, k) for k in nums.levels), d.t("planned"), d.t("capacity"), d.t("scheduled"),
              d.t("shortfall")]  # fmt: skip
    rows: list[list[Any]] = []
    for month, r in m.iterrows():
        rows.append([d.t("month_n", m=month), *(int(r[k]) for k in nums.levels), int(r["planned"]),
                     *(_fmt(r[c]) for c in ("capacity", "scheduled", "shortfall_officer_days"))])  # fmt: skip
    has_cap = m["capacity"].notna().any()
    totals = [int(m["capacity"].fillna(0).sum()), int(m["scheduled"].fillna(0).sum()),
              _fmt(float(m["shortfall_officer_days"].fillna(0).sum()))] if has_cap else ["", "", ""]  # fmt: skip
    rows.append([d.t("total"), *(int(m[k].sum()) for k in nums.levels), int(m["planned"].sum()), *totals])
    _table(d, header, rows)
    kind = kind_label(nums.coarse, d.lang, _kind_labels(config))
    _caption(d, d.next_table("t_towns", kind=kind))
    t = nums.towns
    header = [d.t("code"), d.t("name"), d.t("enterprises"), d.t("inspections"), d.t("drawn"), d.t("patrols")]
    rows = [[code, r["name"], int(r["enterprises"]), int(r["inspections"]), int(r["drawn"]), _fmt(r["patrols"])]
            for code, r in t.head(APPENDIX_MAX_ROWS).iterrows()]  # fmt: skip
    rows.append([d.t("total"), "", int(t["enterprises"].sum()), int(t["inspections"].sum()), int(t["drawn"].sum()),
                 _fmt(float(t["patrols"].sum()))])  # fmt: skip
    _table(d, header, rows, widths=[2.4, 2.2, 1.4, 1.4, 1.6, 1.6])
    if len(t) > APPENDIX_MAX_ROWS:
        _para(d, _more_rows(d, len(t), "inspection_plan.csv"))


def _numeral(d: _Doc, n: int) -> str:
    return d.t("numerals")[n - 1] if d.lang == "zh" else str(n)


def _quality(d: _Doc, config: Config, result: RunResult, provenance: dict[str, Any], section: int) -> None:
    s = result.summary
    _heading(d, d.t("h_quality", n=_numeral(d, section)))
    _caption(d, d.next_table("t_quality"))
    adj = s.get("adjustment") or {"up": 0, "down": 0}
    rows = [
        [d.t("rows_in"), s["facilities_in"]],
        [d.t("scored"), s["facilities_scored"]],
        # rows in = graded + not assessed + rejected; the grey row only when there are any.
        *([[d.t("unassessed"), s["facilities_unassessed"]]] if s["facilities_unassessed"] else []),
        [d.t("rejected"), s["facilities_rejected"]],
        [d.t("adj_up"), adj["up"]],
        [d.t("adj_down"), adj["down"]],
        [d.t("incomplete"), s.get("facilities_with_rejected_records", 0)],
    ]
    _table(d, [d.t("item"), d.t("value")], rows, widths=[3, 1])
    rej = result.rejects
    if len(rej):
        top = (
            rej.groupby(["source", "field", "reason"], dropna=False)
            .size()
            .sort_values(ascending=False, kind="stable")
        )
        _caption(d, d.next_table("t_rejects", k=min(10, len(top))))
        _table(d, [d.t("source"), d.t("field"), d.t("reason"), d.t("rows")],
               [[*k, int(v)] for k, v in top.head(10).items()], widths=[1.6, 1.2, 5, 0.8])  # fmt: skip
    inputs = provenance.get("inputs", {})
    if inputs:
        _caption(d, d.next_table("t_inputs"))
        _table(d, [d.t("input"), d.t("path"), "SHA-256"],
               [[k, v.get("path", ""), v.get("sha256", "")] for k, v in inputs.items()], widths=[1.4, 2, 4.6])  # fmt: skip
    sup = config.supervision
    _para(
        d,
        f"riskmap {provenance.get('riskmap_version', '')}；配置哈希 {provenance.get('config_hash', '')}；"
        f"区域定级规则 {json.dumps(result.summary.get('zoning_rule'), ensure_ascii=False)}。"
        if d.lang == "zh"
        else f"riskmap {provenance.get('riskmap_version', '')}; config hash {provenance.get('config_hash', '')}; "
        f"zone rule {json.dumps(result.summary.get('zoning_rule'), ensure_ascii=False)}.",
    )
    _caption(d, d.next_table("t_rules"))
    freq = sup.frequencies()
    rates = {str(k): v for k, v in sup.sampling.rates.items()}
    patrols = {str(k): v for k, v in sup.zone_patrols.items()}
    rows = [[_lv(d, k), _fmt(freq.get(k, 0.0)), f"{rates.get(k, 0.0):.0%}", _fmt(patrols.get(k, 0.0))]
            for k in LEVEL_NAMES]  # fmt: skip
    _table(d, [d.t("level"), d.t("per_year"), d.t("rate"), d.t("patrols")], rows)
    sectors = config.scoring.sectors
    if sectors:
        _caption(d, d.next_table("t_sectors"))
        _table(
            d, [d.t("sector"), d.t("methods")], [[k, ", ".join(v)] for k, v in sectors.items()], widths=[1, 2]
        )


def _appendix(d: _Doc, lists: list[tuple[str, pd.DataFrame]]) -> None:
    if not lists:
        return
    _landscape(d, True)
    _heading(d, d.t("h_appendix"))
    for level, frame in lists:
        _list_table(d, frame.head(APPENDIX_MAX_ROWS), level)
        _para(d, _more_rows(d, len(frame), "inspection_plan.xlsx"))


def write_report(
    result: RunResult,
    path: str | Path,
    *,
    config: Config,
    provenance: dict[str, Any],
    figure: Path | None = None,
    changes: RunDiff | None = None,
    lang: str = "zh",
    template: Path | None = None,
) -> Path:
    """Write the district report (report.docx).

    Parameters
    ----------
    result
        What the run produced (facilities, zones, plan, rejects, summary).
    path
        The .docx to write.
    config
        The project's config: title, unit, fonts, supervision and scoring conventions.
    provenance
        run.json's provenance (riskmap version, config hash, inputs with their SHA-256).
    figure
        The four-colour figure (a PNG, as map.png), or ``None`` to leave it out.
    changes
        What changed since a previous run (:func:`riskmap.compare.compare_runs`), or ``None``.
    lang
        ``zh`` or ``en``: labels, sentences and reasons (enterprise and zone names stay as they are).
    template
        An office's .docx: its styles, header and footer (红头) and body text, placeholders ``{{title}}``,
        ``{{unit}}``, ``{{date}}``, ``{{as_of}}``, ``{{period}}`` filled; default ``styles/report-template.docx``.

    Returns
    -------
    Path
        ``path``.
    """
    s = result.summary
    unit = config.outputs.report_unit
    values = {"title": config.project.name, "unit": unit, "date": date.today().isoformat(),
              "as_of": str(s["as_of"]), "period": str(s["plan_year"])}  # fmt: skip
    d = _open(template, config, lang, values)
    nums = report_numbers(result, lang)
    _title(d, config, result, unit)
    _summary(d, nums, config, result)
    _figure(d, figure, config, nums)
    appendix = _lists(d, result, nums)
    section = 4
    if changes is not None:
        _changes(d, changes, config)
        section = 5
    if result.sensitivity is not None:  # [outputs] sensitivity = true
        _sensitivity(d, result, config, section)
        section += 1
    _landscape(d, False)
    _plan(d, nums, config, result, section)
    _quality(d, config, result, provenance, section + 1)
    _appendix(d, appendix)
    return _save(d, Path(path))


# --------------------------------------------------------------------------------------------------------------
# Risk notification cards (风险告知卡)

_CARD: dict[str, dict[str, Any]] = {
    "zh": {
        "title": "安全风险告知卡",
        "rows": (
            "企业名称",
            "统一社会信用代码",
            "所在乡镇/街道、村/社区",
            "行业",
            "风险等级",
            "定级依据（主要风险点）",
            "监督检查频次",
            "检查月份",
            "检查人员",
            "评估基准日",
        ),  # fmt: skip
        "per_year": "每年 {n} 次",
        "foot": "本卡由 riskmap 根据风险分级结果生成，请在醒目位置公示，风险等级变化时及时更新。",
    },
    "en": {
        "title": "Risk notification card",
        "rows": (
            "Enterprise",
            "Credit code",
            "Town, village",
            "Sector",
            "Risk level",
            "Reasons (main risk points)",
            "Inspections",
            "Months",
            "Inspectors",
            "Levels as of",
        ),  # fmt: skip
        "per_year": "{n} a year",
        "foot": "Made by riskmap from the risk grading; post it where it can be seen and update it when the level "
        "changes.",
    },
}


def _card_rows(result: RunResult, which: str, lang: str) -> pd.DataFrame | None:
    """The enterprises that get a card (the report's list rows of the chosen levels); ``None``: none."""
    levels = ["red", "orange"] if which == "red-orange" else [*LEVEL_NAMES, NOT_ASSESSED]
    nums = report_numbers(result, lang)
    frames = [_list_frame(result, nums, lv, lang) for lv in levels]
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

    def __init__(self, d: _Doc, lang: str) -> None:
        self.d = d
        self.text = _CARD[lang]
        self.head_font = d.style_font("Heading 1", d.heading_font)
        self.body_font = d.style_font("Normal", d.body_font)
        self.width = _usable_width(d)
        self.cols = [int(self.width * 0.3), self.width - int(self.width * 0.3)]
        # The label cells are the same on every card: made once.
        self.heads = [
            "<w:tr><w:trPr><w:cantSplit/></w:trPr>"
            + _cell_xml(k, self.cols[0], self.body_font, d.latin, True, None, False, 24)
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
            + _cell_xml(
                v, cols[1], self.body_font, latin, j == 4, _level_fill(level) if j == 4 else None, False, 24
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


def _append_to_body(d: _Doc, parts: list[str]) -> None:
    """Add the XML ``parts`` to the document's body, before its final section properties."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    body = d.doc.element.body
    sect = body.sectPr
    # Parsed a few hundred cards at a time: one parse of a province's cards (hundreds of MB of XML) is slower.
    for start in range(0, len(parts), 1000):
        holder = parse_xml(f"<w:body {nsdecls('w')}>{''.join(parts[start : start + 1000])}</w:body>")
        for el in list(holder):
            if sect is not None:
                sect.addprevious(el)
            else:
                body.append(el)


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
    d = _open(template, config, lang, {"title": config.project.name, "unit": config.outputs.report_unit,
                                       "date": date.today().isoformat(), "as_of": str(result.summary["as_of"]),
                                       "period": str(result.summary["plan_year"])})  # fmt: skip
    card = _CardXml(d, lang)
    dash = _TEXT[lang]["dash"]
    parts = []
    for i, r in enumerate(cards.itertuples(index=False)):
        values = [
            r.name, r.facility_id, f"{r.town} {r.village}".strip(), r.sector, label(r.level, lang), r.reasons,
            card.text["per_year"].format(n=_fmt(r.inspections)), r.months or dash,
            inspectors.get(r.facility_id, "") or dash, str(result.summary["as_of"]),
        ]  # fmt: skip
        parts.append(card.title(page_break=i > 0))
        parts.append(card.table(values, r.level))
    _append_to_body(d, parts)
    return _save(d, Path(path))


# --------------------------------------------------------------------------------------------------------------
# The report files of an output set (riskmap report, and riskmap run with [outputs] report = true)


def _changes_since(previous: SavedRun, result: RunResult, lang: str) -> RunDiff:
    """What changed from the ``previous`` run to this one (riskmap diff's comparison, in ``lang``)."""
    from riskmap.compare import compare_runs

    old = previous.layers
    new = {"facilities": result.facilities, **{f"zones_{k}": z for k, z in result.zones.items()}}
    if (
        lang == "en"
    ):  # compare the English reasons where both runs have them (older runs' zones lack reason_en)

        def english(layers: dict[str, Any]) -> dict[str, Any]:
            out = {}
            for name, g in layers.items():
                col, en = ("reasons", "reasons_en") if name == "facilities" else ("reason", "reason_en")
                out[name] = g.assign(**{col: g[en] if en in g else ""})
            return out

        old, new = english(old), english(new)
    return compare_runs(old, new)


def write_report_files(
    config: Config,
    result: RunResult,
    out: Path,
    provenance: dict[str, Any],
    figure: Path | None = None,
    previous: SavedRun | None = None,
) -> dict[str, Path]:
    """Write report.docx (and cards.docx per ``outputs.report_cards``) into ``out``, a staging folder.

    ``figure`` is the run's map.png; without one the same figure is drawn into a temporary folder. ``previous``
    is an earlier run (:func:`riskmap.compare.open_run`): the report gets a what-changed section.
    Returns the paths by output key (``report_docx``, ``cards_docx``).
    """
    import tempfile

    from riskmap.version import __version__

    lang = config.project.lang
    template = config.resolve(config.outputs.report_template) if config.outputs.report_template else None
    changes = _changes_since(previous, result, lang) if previous is not None else None
    written: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="riskmap-report-") as tmp:
        if figure is None:
            from riskmap.outputs.figure import render_figure

            figure = render_figure(
                result.zones, result.facilities, [Path(tmp) / "map.png"], title=config.project.name, lang=lang,
                source_note=f"riskmap {__version__}", kind_labels=_kind_labels(config),
            )[0]  # fmt: skip
        written["report_docx"] = write_report(
            result, out / "report.docx", config=config, provenance=provenance, figure=figure, changes=changes,
            lang=lang, template=template,
        )  # fmt: skip
    cards = write_cards(
        result,
        out / "cards.docx",
        config=config,
        which=config.outputs.report_cards,
        lang=lang,
        template=template,
    )
    if cards is not None:
        written["cards_docx"] = cards
    return written
