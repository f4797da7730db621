"""Make the default Word report template, styles/report-template.docx (run it again after changing it).

    python scripts/make_report_template.py [OUT.docx]

A4 portrait, 2.54/3.17 cm margins; Normal 宋体 + Times New Roman 小四 (12 pt); headings 黑体, black; Title 黑体 22 pt;
Caption 10.5 pt bold; an empty header and a centred page number (PAGE field) in the footer. Every East-Asian font
is set in w:eastAsia and the theme fonts are removed, or Word and WPS would show Chinese in the theme's font.
python-docx's own default document is the base, so "Table Grid" and the heading styles exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Cm, Pt, RGBColor

OUT = Path(__file__).resolve().parent.parent / "styles" / "report-template.docx"

BODY, HEADING, LATIN = "宋体", "黑体", "Times New Roman"
#: style -> (East-Asian font, size in points, bold, centred)
STYLES = {
    "Normal": (BODY, 12, False, False),
    "Title": (HEADING, 22, False, True),
    "Subtitle": (HEADING, 16, False, True),
    "Heading 1": (HEADING, 16, False, False),
    "Heading 2": (HEADING, 14, False, False),
    "Heading 3": (HEADING, 12, False, False),
    "Caption": (BODY, 10.5, True, True),
}


def _fonts(rpr, east_asia: str) -> None:
    fonts = rpr.get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), LATIN)
    fonts.set(qn("w:hAnsi"), LATIN)
    fonts.set(qn("w:eastAsia"), east_asia)


def make(out: Path) -> Path:
    doc = Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
    sec.top_margin = sec.bottom_margin = Cm(2.54)
    sec.left_margin = sec.right_margin = Cm(3.17)
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    _fonts(defaults.find(qn("w:rPrDefault")).find(qn("w:rPr")), BODY)
    for name, (east_asia, size, bold, centred) in STYLES.items():
        style = doc.styles[name]
        _fonts(style.element.get_or_add_rPr(), east_asia)
        style.font.size = Pt(size)
        style.font.bold = bold
        style.font.italic = False
        style.font.color.rgb = RGBColor(0, 0, 0)
        if centred:
            style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        if name == "Title":  # python-docx's Title has a blue bottom border
            ppr = style.element.pPr
            for border in ppr.findall(qn("w:pBdr")) if ppr is not None else []:
                ppr.remove(border)
    doc.styles["Normal"].paragraph_format.space_after = Pt(6)
    doc.styles["Normal"].paragraph_format.line_spacing = 1.25
    footer = sec.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for xml in (
        '<w:r {}><w:fldChar w:fldCharType="begin"/></w:r>',
        '<w:r {}><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>',
        '<w:r {}><w:fldChar w:fldCharType="separate"/></w:r>',
        "<w:r {}><w:t>1</w:t></w:r>",
        '<w:r {}><w:fldChar w:fldCharType="end"/></w:r>',
    ):
        footer._p.append(parse_xml(xml.format(nsdecls("w"))))
    # Fixed metadata, so that the file is the same each time the script runs.
    props = doc.core_properties
    props.author = props.last_modified_by = "riskmap"
    props.title = "riskmap report template"
    props.revision = 1
    from datetime import datetime

    props.created = props.modified = datetime(2026, 1, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(out))
    return out


if __name__ == "__main__":
    print(make(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
