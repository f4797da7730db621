"""Writing WordprocessingML: paragraphs, headings and tables with their East-Asian fonts, sections, the template.

The document being written (:class:`Doc`), its placeholders and page-number footer, the atomic save.

Chinese text needs its font in ``w:eastAsia`` (Word and WPS fall back to a Latin font otherwise): every run
gets it, from its paragraph style (the template's own, e.g. 黑体 headings) or from ``[outputs.report_fonts]``.
Tables are written as WordprocessingML rows in one parse (python-docx's cell API costs milliseconds a cell) and
repeat their header row on every page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from riskmap.levels import color
from riskmap.outputs.report.text import TEXT, fmt

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument

    from riskmap.config import Config

__all__ = [
    "W",
    "Doc",
    "default_template",
    "open_document",
    "para",
    "heading",
    "caption",
    "usable_width",
    "cell_xml",
    "table",
    "level_fill",
    "landscape",
    "append_to_body",
    "save",
]

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
#: Characters XML 1.0 does not allow (user data from spreadsheets sometimes carries them).
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def default_template() -> Path:
    """The report template shipped in ``styles/`` (made by ``scripts/make_report_template.py``)."""
    from riskmap._resources import styles_dir

    return styles_dir() / "report-template.docx"


@dataclass
class Doc:
    """The document being written, with its language, fonts and running table number."""

    doc: DocxDocument
    lang: str
    body_font: str
    heading_font: str
    latin: str
    table_no: int = 0
    _style_fonts: dict[str, str] = field(default_factory=dict)

    def t(self, key: str, **kw: Any) -> str:
        """The text ``key`` in the document's language, formatted with ``kw``."""
        return TEXT[self.lang][key].format(**kw)

    def next_table(self, key: str, **kw: Any) -> str:
        """The caption ``key`` of the next table, numbered."""
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


def _use_font_file(d: Doc, path: Path) -> None:
    """``[outputs] font``: its family is the East-Asian font of every style and run (body, headings, tables)."""
    from docx.oxml.ns import qn

    from riskmap.outputs.figure import font_file_family

    family = font_file_family(path)
    d.body_font = d.heading_font = family
    for style in d.doc.styles:
        if style.element.rPr is not None and style.element.rPr.rFonts is not None:
            style.element.rPr.rFonts.set(qn("w:eastAsia"), family)
    d.doc.styles["Normal"].element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), family)


def _clean(text: Any) -> str:
    return _BAD_XML.sub("", "" if text is None else str(text))


def para(d: Doc, text: str, style: str | None = None, bold: bool = False, align: str | None = None) -> Any:
    """A paragraph of ``text`` in ``style`` (Normal when the template lacks it), its fonts set."""
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


def heading(d: Doc, text: str, level: int = 1) -> Any:
    """A heading of ``level``; bold direct formatting in a template without heading styles."""
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


def caption(d: Doc, text: str) -> None:
    """A table or figure caption, centred, kept with what follows."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    p = para(d, text, style="Caption" if _has_style(d.doc, "Caption") else None, bold=True)
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.keep_with_next = True


def _has_style(doc: DocxDocument, name: str) -> bool:
    try:
        doc.styles[name]
    except KeyError:
        return False
    return True


def usable_width(d: Doc) -> int:
    """Width between the margins of the last section, in twentieths of a point (dxa)."""
    sec = d.doc.sections[-1]
    width = (sec.page_width or 11906 * 635) - (sec.left_margin or 0) - (sec.right_margin or 0)
    return int(width / 635)  # EMU -> dxa


def cell_xml(
    text: str,
    width: int,
    east_asia: str,
    latin: str,
    bold: bool,
    fill: str | None,
    right: bool,
    size: int = 18,
) -> str:
    """One table cell (``<w:tc>``): its width, fonts, bold, shading, right alignment and size (half-points)."""
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


def table(
    d: Doc,
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
    total = usable_width(d)
    cols = [int(total * w / sum(rel)) for w in rel]
    table = d.doc.add_table(rows=0, cols=n)
    if _has_style(d.doc, "Table Grid"):
        table.style = d.doc.styles["Table Grid"]
    tbl = table._tbl
    for gc, w in zip(tbl.tblGrid.findall(f"{{{W}}}gridCol"), cols, strict=True):
        gc.set(f"{{{W}}}w", str(w))
    borders = "".join(
        f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
        for side in ("top", "left", "bottom", "right", "insideH", "insideV")
    )
    tbl.tblPr.append(parse_xml(f"<w:tblBorders {nsdecls('w')}>{borders}</w:tblBorders>"))
    tbl.tblPr.append(parse_xml(f'<w:tblLayout {nsdecls("w")} w:type="fixed"/>'))
    font = d.style_font("Normal", d.body_font)
    head = "".join(
        cell_xml(h, w, font, d.latin, True, "D9D9D9", False) for h, w in zip(header, cols, strict=True)
    )
    parts = [f"<w:tr><w:trPr><w:tblHeader/><w:cantSplit/></w:trPr>{head}</w:tr>"]
    for i, row in enumerate(rows):
        cells = []
        for j, (v, w) in enumerate(zip(row, cols, strict=True)):
            text = fmt(v)
            fill = fills[i] if fills is not None and j == fill_col else None
            cells.append(cell_xml(text, w, font, d.latin, False, fill, bool(_NUMBER.match(text))))
        parts.append(f"<w:tr><w:trPr><w:cantSplit/></w:trPr>{''.join(cells)}</w:tr>")
    holder = parse_xml(f"<w:tbl {nsdecls('w')}>{''.join(parts)}</w:tbl>")
    for tr in list(holder):
        tbl.append(tr)
    return table


def level_fill(key: str) -> str:
    """The cell shading of level ``key`` (its colour, hex without ``#``)."""
    return color(key).lstrip("#").upper()


def landscape(d: Doc, landscape: bool) -> None:
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
        for t in part.iter(f"{{{W}}}t"):
            if t.text and "{{" in t.text:
                t.text = pattern.sub(lambda m: values.get(m.group(1), m.group(0)), t.text)


def append_to_body(d: Doc, parts: list[str]) -> None:
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


def save(d: Doc, path: Path) -> Path:
    """Save the document to ``path`` atomically."""
    from riskmap.io.atomic import atomic_path

    with atomic_path(path) as tmp:
        d.doc.save(str(tmp))
    return path


def open_document(template: Path | None, config: Config, lang: str, values: dict[str, str]) -> Doc:
    """The template (checked first; default: the shipped one) opened, placeholders filled, pages numbered."""
    from docx import Document

    from riskmap.outputs.docx_template import load_template

    fonts = config.outputs.report_fonts
    # Checked before python-docx parses it (size, type, macros, zip bomb, DTDs): a template is data.
    doc = Document(load_template(template if template is not None else default_template()))
    d = Doc(doc, lang, fonts.body, fonts.heading, fonts.latin)
    if config.outputs.font is not None:
        _use_font_file(d, config.resolve(config.outputs.font))
    _fill_placeholders(doc, values)
    _page_number_footer(doc)
    return d
