"""The Word report (report.docx) and risk cards (cards.docx), read back as a user would: python-docx, LibreOffice."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from docx import Document
from docx.oxml.ns import qn
from typer.testing import CliRunner

from riskmap.cli import app

runner = CliRunner()
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _with_report(project: Path, extra: str = "report = true") -> Path:
    text = project.read_text(encoding="utf-8").replace("[outputs]\n", f"[outputs]\n{extra}\n")
    project.write_text(text, encoding="utf-8")
    return project


def _with_rejects(project: Path) -> Path:
    """Two register rows the run rejects (coordinates that are not numbers, none at all)."""
    with (project.parent / "facilities.csv").open("a", encoding="utf-8") as f:
        f.write("91330100MA2B3C4D5X,坏坐标企业,工贸,abc,30.1\n91330100MA2B3C4D6X,无坐标企业,工贸,,\n")
    return project


def _run(*args: str) -> None:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output


def _tables(doc) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]


def _text(el) -> str:
    """The text of an element's w:t runs (python-docx's element classes make lxml's itertext repeat it)."""
    return "".join(t.text or "" for t in el.iter(qn("w:t")))


def _table_after(doc, caption: str) -> list[list[str]]:
    """The table whose caption paragraph contains ``caption``."""
    body = doc.element.body
    seen = False
    for el in body.iterchildren():
        if el.tag == qn("w:p") and _text(el).startswith(("表", "Table")) and caption in _text(el):
            seen = True
        elif el.tag == qn("w:tbl") and seen:
            return [[_text(tc) for tc in tr.iterchildren(qn("w:tc"))] for tr in el.iterchildren(qn("w:tr"))]
    raise AssertionError(f"no table captioned {caption!r}")


def _all_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    parts += [c for t in _tables(doc) for row in t for c in row]
    for sec in doc.sections:
        parts += [p.text for p in sec.header.paragraphs] + [p.text for p in sec.footer.paragraphs]
    return "\n".join(parts)


@pytest.fixture
def run_out(tiny_project: Path, tmp_path: Path) -> Path:
    """``riskmap run`` with ``[outputs] report = true``: report.docx beside the other outputs."""
    out = tmp_path / "out"
    _run("run", str(_with_report(tiny_project)), "--out", str(out))
    return out


def test_run_writes_the_report_whose_tables_equal_the_outputs(run_out: Path) -> None:
    doc = Document(str(run_out / "report.docx"))
    import json

    assert "report.docx" in json.loads((run_out / "run.json").read_text(encoding="utf-8"))["manifest"]
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    # The body (一图一表), then the annex (附件) with the lists and every rejected row.
    assert [h for h in headings if h[1:2] == "、"] == [
        "一、总体情况", "二、安全风险四色分布图", "三、监督检查计划", "四、数据质量与方法"
    ]  # fmt: skip
    annex = headings[headings.index("附件") :]
    assert annex == ["附件", "附件1　重大风险企业清单", "附件2　较大风险企业清单"]  # no rejects: no 附件3
    assert len(doc.inline_shapes) == 1  # the figure

    # The zone table by town equals zones_town.csv.
    towns = pd.read_csv(run_out / "zones_town.csv", dtype={"zone_code": str})
    table = _table_after(doc, "乡镇/街道风险等级")
    assert [r[0] for r in table[1:]] == list(towns["zone_code"])
    for row, (_, z) in zip(table[1:], towns.iterrows(), strict=True):
        assert [int(v) for v in row[2:7]] == [z.n_red, z.n_orange, z.n_yellow, z.n_blue, z.n_facilities]
        assert row[8] == z.level_zh

    # The red and orange lists are the facilities of those levels in the GeoPackage.
    fac = gpd.read_file(run_out / "riskmap.gpkg", layer="facilities")
    for level, zh in (("red", "重大风险"), ("orange", "较大风险")):
        rows = _table_after(doc, f"{zh}企业清单")[1:]
        assert sorted(r[2] for r in rows) == sorted(fac.loc[fac["level"] == level, "facility_id"])
        assert {r[6] for r in rows} == {zh}

    # The month x level table equals the plan's months column.
    plan = pd.read_csv(run_out / "inspection_plan.csv", dtype=str, keep_default_na=False)
    months = plan.assign(month=plan["months"].str.split(",")).explode("month")
    months = months[months["month"] != ""]
    expect = pd.crosstab(months["month"].astype(int), months["level"]).reindex(range(1, 13)).fillna(0)
    table = _table_after(doc, "各月检查计划")
    header = table[0]
    for row in table[1:13]:
        m = int(row[0].rstrip("月"))
        for key, zh in (
            ("red", "重大风险"),
            ("orange", "较大风险"),
            ("yellow", "一般风险"),
            ("blue", "低风险"),
        ):
            want = int(expect.loc[m, key]) if key in expect else 0
            assert int(row[header.index(zh)]) == want, (m, key)
    assert int(table[-1][header.index("计划")]) == int(plan["inspections_per_year"].astype(int).sum())


def test_every_number_of_the_summary_is_in_a_table(run_out: Path) -> None:
    doc = Document(str(run_out / "report.docx"))
    paras = doc.paragraphs
    start = next(i for i, p in enumerate(paras) if p.text == "一、总体情况")
    summary = []
    for p in paras[start + 1 :]:
        if p.style.name.startswith("Heading") or p.style.name == "Caption":
            break
        summary.append(p.text)
    assert len(summary) >= 4
    in_tables = {n for t in _tables(doc) for row in t for c in row for n in NUMBER.findall(c)}
    missing = [n for s in summary for n in NUMBER.findall(s) if n not in in_tables]
    assert not missing, missing


def test_every_run_has_an_east_asian_font_and_tables_repeat_their_header(run_out: Path) -> None:
    doc = Document(str(run_out / "report.docx"))
    runs = [r for r in doc.element.body.iter(qn("w:r")) if _text(r).strip()]
    assert runs
    no_font = [
        _text(r)
        for r in runs
        if r.find(qn("w:rPr")) is None
        or r.find(qn("w:rPr")).find(qn("w:rFonts")) is None
        or not r.find(qn("w:rPr")).find(qn("w:rFonts")).get(qn("w:eastAsia"))
    ]
    assert not no_font, no_font[:5]
    normal = doc.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "宋体"
    assert doc.styles["Heading 1"].element.rPr.rFonts.get(qn("w:eastAsia")) == "黑体"
    for t in doc.tables:
        assert t.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
    assert any(s.page_width > s.page_height for s in doc.sections)  # the lists stand in landscape
    assert "PAGE" in "".join(doc.sections[0].footer._element.xpath(".//w:instrText/text()"))


def test_english_report_has_no_chinese_but_the_data(tiny_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "en"
    _run("report", str(tiny_project), "--out", str(out), "--lang", "en")
    doc = Document(str(out / "report.docx"))
    text = _all_text(doc)
    assert "1. Summary" in text and "Major risk" in text
    # Names, sectors and risk-point names are the user's data: they stay as written; nothing else may be Chinese.
    base = tiny_project.parent
    data = set(pd.read_csv(base / "facilities.csv")[["name", "sector"]].stack())
    data |= set(pd.read_csv(base / "risk_points.csv")["point_name"])
    for layer in ("village", "town"):
        data |= set(gpd.read_file(base / "boundaries.gpkg", layer=layer)["name"])
    data |= {"测试区", "二氧化硫", "汽油"}
    for item in sorted(data, key=len, reverse=True):
        text = text.replace(str(item), "")
    assert not CJK.findall(text), sorted(set(CJK.findall(text)))
    cards = Document(str(out / "cards.docx"))
    card_text = _all_text(cards)
    for item in sorted(data, key=len, reverse=True):
        card_text = card_text.replace(str(item), "")
    assert "Risk notification card" in card_text and not CJK.findall(card_text)


def test_english_zone_and_plan_reasons_and_month_sheets(tiny_project: Path, tmp_path: Path) -> None:
    import openpyxl

    out = tmp_path / "en"
    _run("run", str(tiny_project), "--out", str(out), "--lang", "en")
    zones = gpd.read_file(out / "riskmap.gpkg", layer="zones_village")
    assert zones["reason"].str.startswith(("highest level", "no enterprises")).all()  # the run's language
    assert zones["reason_zh"].str.startswith(("就高", "区内无企业")).all()  # and the other beside it
    plan = pd.read_csv(out / "inspection_plan.csv")
    assert plan["plan_reason"].str.contains(" enterprise, ").all()
    assert not plan["plan_reason"].str.contains(CJK).any()
    sheets = openpyxl.load_workbook(out / "inspection_plan.xlsx", read_only=True).sheetnames
    assert "Jan" in sheets and "Dec" in sheets and "1月" not in sheets


def _office_template(path: Path) -> Path:
    """An office's template: a header (红头) and its own Heading 1 font."""
    from docx.shared import Pt, RGBColor

    doc = Document()
    doc.sections[0].header.paragraphs[0].text = "XX县应急管理局"
    h1 = doc.styles["Heading 1"]
    fonts = h1.element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), "楷体")
    h1.font.size = Pt(20)
    h1.font.color.rgb = RGBColor(0xC0, 0, 0)
    doc.add_paragraph("{{unit}} 文件")
    doc.save(str(path))
    return path


def test_custom_template_keeps_its_header_and_heading_font(tiny_project: Path, tmp_path: Path) -> None:
    template = _office_template(tmp_path / "office.docx")
    project = _with_report(tiny_project, 'report_unit = "XX县应急管理局"')
    out = tmp_path / "out"
    _run("report", str(project), "--out", str(out), "--template", str(template), "--cards", "none")
    doc = Document(str(out / "report.docx"))
    assert all("XX县应急管理局" in s.header.paragraphs[0].text for s in doc.sections)
    assert doc.paragraphs[0].text == "XX县应急管理局 文件"  # the template's body, its placeholder filled
    heading = next(p for p in doc.paragraphs if p.text == "一、总体情况")
    assert heading.style.name == "Heading 1"
    assert heading.style.font.size.pt == 20
    assert heading.runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "楷体"
    assert not (out / "cards.docx").exists()


def test_previous_run_gives_what_changed(tiny_project: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    _run("run", str(tiny_project), "--out", str(old))
    points = tiny_project.parent / "risk_points.csv"
    rp = pd.read_csv(points, dtype=str)
    rp.loc[rp["point_name"] == "粉尘区域", ["likelihood", "severity"]] = ["5", "5"]  # F: yellow -> red
    rp.to_csv(points, index=False)
    out = tmp_path / "new"
    _run("report", str(tiny_project), "--out", str(out), "--previous", str(old))
    doc = Document(str(out / "report.docx"))
    assert any(p.text == "三、与上期相比的变化" for p in doc.paragraphs)
    counts = _table_after(doc, "升降级统计")
    assert counts[1][:3] == ["企业", "1", "0"]
    changed = _table_after(doc, "企业等级变化")
    assert (
        changed[1][0] == "升级" and changed[1][2] == "己工厂" and changed[1][3:5] == ["一般风险", "重大风险"]
    )


def test_long_annex_tables_say_where_the_rest_is(
    tiny_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskmap.outputs.report import annex

    monkeypatch.setattr(annex, "ANNEX_MAX_ROWS", 1)
    out = tmp_path / "out"
    _run("report", str(_with_rejects(tiny_project)), "--out", str(out), "--cards", "none")
    doc = Document(str(out / "report.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert len(_table_after(doc, "剔除记录（共 2 行）")) == 2  # the header and ANNEX_MAX_ROWS rows
    assert "共 2 行，上表列出前 1 行；完整清单见 rejects.csv。" in text
    assert "全部剔除记录见附件3。" in text


def test_cards_one_page_per_red_and_orange_enterprise(tiny_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _run("report", str(tiny_project), "--out", str(out))
    doc = Document(str(out / "cards.docx"))
    names = [t.rows[0].cells[1].text for t in doc.tables]
    red_orange = _table_after(Document(str(out / "report.docx")), "重大风险企业清单")[1:]
    red_orange += _table_after(Document(str(out / "report.docx")), "较大风险企业清单")[1:]
    assert sorted(names) == sorted(r[1] for r in red_orange)
    assert len(doc.element.body.findall(f".//{qn('w:br')}[@{qn('w:type')}='page']")) == len(names) - 1
    _run("report", str(tiny_project), "--out", str(out), "--cards", "all")
    assert len(Document(str(out / "cards.docx")).tables) == 6  # every enterprise of the tiny district


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice (soffice) is not installed: scripts/test.sh installs it",
)
def test_libreoffice_renders_cjk_and_the_figure(run_out: Path, tmp_path: Path) -> None:
    if shutil.which("pdffonts") is None or shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdffonts, pdftoppm) is not installed: scripts/test.sh installs it")
    from PIL import Image

    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo-profile", "--convert-to", "pdf",
         "--outdir", str(tmp_path), str(run_out / "report.docx")],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pdf = tmp_path / "report.pdf"
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if re.search(r"CJK|WenQuanYi|Hei|Song|Ming|Kai|Fang", line)]
    assert cjk and all(" yes " in line for line in cjk), fonts
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3

    def coloured(png: Path) -> float:
        rgb = np.asarray(Image.open(png).convert("RGB")).astype(int)
        return float(((rgb.max(axis=2) - rgb.min(axis=2)) > 60).mean())

    shares = [coloured(p) for p in pages]
    # The figure page: the four colours fill much of it (a text page has almost no saturated pixels).
    assert max(shares) > 0.2, shares
    assert sorted(shares)[len(shares) // 2] < 0.1, shares


# --------------------------------------------------------------------------------------------------------------
# Templates from elsewhere are checked before python-docx opens them (issue 23)

#: What each bad template is called in the one-line error.
_TEMPLATE_SAYS = {
    "docm": r"这是启用宏的文档（\.docm/\.dotm）；riskmap 不打开含宏的文档",
    "doc": r"这是 Word 97-2003 文档（\.doc）.*另存为 Word 文档（\.docx）",
    "text": r"不是 Word 文档（\.docx 是 zip 压缩包，此文件不是）",
    "empty zip": r"不是 Word 文档（压缩包中没有 \[Content_Types\]\.xml 或 word/document\.xml）",
    "laughs in document.xml": r"word/document\.xml 声明了 DTD 或实体",
    "laughs in styles.xml": r"word/styles\.xml 声明了 DTD 或实体",
    "external entity": r"word/document\.xml 声明了 DTD 或实体",
    "zip bomb": r"word/document\.xml 由 \d+ KB 解压为 64 MB（疑似 zip 炸弹）",
}


@pytest.mark.parametrize("kind", list(_TEMPLATE_SAYS))
def test_a_bad_template_is_refused_before_python_docx_opens_it(tmp_path: Path, kind: str) -> None:
    import tracemalloc

    from bad_templates import BAD_TEMPLATES

    from riskmap.errors import InputError
    from riskmap.outputs.docx_template import check_template

    template = BAD_TEMPLATES[kind](tmp_path / "office.docx")
    tracemalloc.start()
    try:
        with pytest.raises(InputError, match=rf"^{re.escape(str(template))}：{_TEMPLATE_SAYS[kind]}"):
            check_template(template)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16e6, f"{peak / 1e6:.0f} MB to refuse it"  # a bomb is refused without unpacking it


@pytest.mark.parametrize("kind", ["external entity", "laughs in styles.xml", "docm", "zip bomb"])
def test_report_with_a_bad_template_says_so_in_one_line_before_grading(
    tiny_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Today's python-docx writes a report.docx that is not well-formed from a template with an external
    entity; the others stopped with an internal error after the whole grading stage."""
    from bad_templates import BAD_TEMPLATES

    import riskmap.reporting

    template = BAD_TEMPLATES[kind](tmp_path / "office.docx")
    graded = []
    real = riskmap.reporting.check
    monkeypatch.setattr(riskmap.reporting, "check", lambda *a, **k: graded.append(1) or real(*a, **k))
    out = tmp_path / "out"
    r = runner.invoke(app, ["report", str(tiny_project), "--out", str(out), "--template", str(template)])
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and re.match(
        rf"错误：{re.escape(str(template))}：{_TEMPLATE_SAYS[kind]}", lines[0]
    )
    assert graded == []
    assert not (out / "report.docx").exists()


def test_a_dotx_template_is_used_as_the_document_it_describes(tiny_project: Path, tmp_path: Path) -> None:
    from xml.dom.minidom import parseString
    from zipfile import ZipFile

    from bad_templates import dotx

    out = tmp_path / "out"
    _run("report", str(tiny_project), "--out", str(out), "--template", str(dotx(tmp_path / "office.dotx")))
    doc = Document(str(out / "report.docx"))
    assert any(p.text == "一、总体情况" for p in doc.paragraphs)
    with ZipFile(out / "report.docx") as z:
        parseString(z.read("word/document.xml"))  # well-formed
        assert _DOCX_MAIN in z.read("[Content_Types].xml").decode()


_DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def test_a_template_is_checked_for_size_unpacked_size_and_lying_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bad_templates import lying_zip_bomb

    import riskmap.outputs.docx_template as docx_template
    from riskmap.errors import InputError
    from riskmap.outputs.report import default_template

    with pytest.raises(InputError, match=r"word/styles\.xml 无法解压（Bad CRC-32.*文件已损坏"):
        docx_template.check_template(lying_zip_bomb(tmp_path / "lying.docx"))
    docx_template.check_template(default_template())
    monkeypatch.setattr(docx_template, "MAX_UNPACKED", 100_000)
    with pytest.raises(InputError, match=r"：其各部分解压后共 1 MB；报告模板解压后最多 0 MB"):
        docx_template.check_template(default_template())
    monkeypatch.setattr(docx_template, "MAX_BYTES", 10_000)
    with pytest.raises(InputError, match=r"：文件 0 MB；报告模板最大 0 MB；请删去其中的大图片"):
        docx_template.check_template(default_template())


def test_run_with_a_report_checks_its_template_before_grading(
    tiny_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bad_templates import BAD_TEMPLATES

    import riskmap.pipeline as pipeline

    template = BAD_TEMPLATES["doc"](tiny_project.parent / "office.docx")
    project = _with_report(tiny_project, 'report = true\nreport_template = "office.docx"')
    read = []
    monkeypatch.setattr(pipeline, "read_inputs", lambda *a, **k: read.append(1) or 1 / 0)
    r = runner.invoke(app, ["run", str(project), "--out", str(tmp_path / "out")])
    assert r.exit_code == 1 and read == [], r.output
    assert r.output.strip().splitlines() == [
        f"错误：{template}：这是 Word 97-2003 文档（.doc）或其他旧版 Office 文件，不是 .docx；"
        "请用 Word 或 WPS 打开后另存为 Word 文档（.docx）"
    ]


def _earlier_run(project: Path, out: Path) -> Path:
    text = project.read_text(encoding="utf-8")
    project.write_text(
        text.replace("[outputs]\n", "[outputs]\nhtml = false\nfigure = false\n"), encoding="utf-8"
    )
    _run("run", str(project), "--out", str(out))
    project.write_text(text, encoding="utf-8")
    return out


def test_previous_run_of_another_district_is_refused_before_grading(
    tiny_project: Path, tmp_path: Path
) -> None:
    old = _earlier_run(tiny_project, tmp_path / "old")
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(
        text.replace('district_code = "329901"', 'district_code = "320102"'), encoding="utf-8"
    )
    (tiny_project.parent / "facilities.csv").unlink()  # the refusal comes before the inputs are read
    r = runner.invoke(
        app, ["report", str(tiny_project), "--out", str(tmp_path / "new"), "--previous", str(old)]
    )
    assert r.exit_code == 1
    assert "看来是不同区县的运行结果（那次运行的district_code为329901，这次为320102）" in "".join(
        r.output.split()
    )
    assert not (tmp_path / "new").exists()


def test_previous_run_with_no_enterprise_in_common_needs_compare_anyway(
    tiny_project: Path, tmp_path: Path
) -> None:
    from conftest import IDS

    old = _earlier_run(tiny_project, tmp_path / "old")
    fac = pd.read_csv(tiny_project.parent / "facilities.csv", dtype=str)
    ids = {
        v: v[:-5] + "X" + v[-4:] for v in IDS.values()
    }  # another register: no id in common (checksums aside)
    gpkg = old / "riskmap.gpkg"
    layer = gpd.read_file(gpkg, layer="facilities")
    layer["facility_id"] = layer["facility_id"].map(ids)
    layer.to_file(gpkg, layer="facilities", driver="GPKG")
    assert not set(layer["facility_id"]) & set(fac["facility_id"])
    args = [
        "report",
        str(tiny_project),
        "--out",
        str(tmp_path / "new"),
        "--previous",
        str(old),
        "--cards",
        "none",
    ]
    r = runner.invoke(app, args)
    assert r.exit_code == 1
    assert "（较小一次运行的6个企业编号中只有0个在两次运行中都有）" in "".join(r.output.split())
    _run(*args, "--compare-anyway")
    counts = _table_after(Document(str(tmp_path / "new" / "report.docx")), "升降级统计")
    assert counts[1][:5] == ["企业", "0", "0", "6", "6"]


@pytest.mark.parametrize(
    ("level", "says"),
    [
        ("purple", r"图层 facilities：有 6 行的等级 riskmap 无法识别：'purple'"),
        ("重大风险", None),
    ],
)
def test_previous_run_with_edited_levels(
    tiny_project: Path, tmp_path: Path, level: str, says: str | None
) -> None:
    old = _earlier_run(tiny_project, tmp_path / "old")
    gpkg = old / "riskmap.gpkg"
    layer = gpd.read_file(gpkg, layer="facilities")
    layer.assign(level=level).to_file(gpkg, layer="facilities", driver="GPKG")
    r = runner.invoke(
        app,
        [
            "report",
            str(tiny_project),
            "--out",
            str(tmp_path / "new"),
            "--previous",
            str(old),
            "--cards",
            "none",
        ],
    )
    if says is None:  # read as red: a what-changed section, no internal error
        assert r.exit_code == 0, r.output
        return
    assert r.exit_code == 1 and r.output.count("\n") == 1, r.output
    assert re.search(says, r.output), r.output


def test_damaged_previous_run_is_one_line(tiny_project: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "riskmap.gpkg").write_bytes(b"SQLite format 3\x00" + b"\x10\x00" + b"\x00" * 82)
    r = runner.invoke(
        app, ["report", str(tiny_project), "--out", str(tmp_path / "new"), "--previous", str(old)]
    )
    assert r.exit_code == 1 and r.output.count("\n") == 1, r.output
    assert "riskmap.gpkg：不是 riskmap GeoPackage：该文件是其他类型的 SQLite 数据库" in r.output


@pytest.mark.parametrize(
    ("title", "given", "word"),
    [("测试区", None, "全区"), ("某某县安全风险四色分布图", None, "全县"), ("测试区", "全旗", "全旗")],
)
def test_the_report_names_the_area_by_its_own_word(
    tiny_project: Path, tmp_path: Path, title, given, word
) -> None:
    """Issue 26: a county's report says 全县, not 全区 (from the title's place, or [project] area_word)."""
    text = tiny_project.read_text(encoding="utf-8").replace('name = "测试区"', f'name = "{title}"', 1)
    if given:
        text = text.replace('district_code = "329901"', f'district_code = "329901"\narea_word = "{given}"', 1)
    tiny_project.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    _run("report", str(tiny_project), "--out", str(out))
    summary = _all_text(Document(str(out / "report.docx")))
    assert re.search(rf"{word} \d+ 个村/社区中", summary), summary[:600]
    assert not re.search(r"全[区县市旗] \d+ 个村/社区中", summary.replace(word, "")), summary[:600]


# --------------------------------------------------------------------------------------------------------------
# A report a county hands in (issue 26): the body short, the lists and the rejects in the annex, rules in words


def test_the_rules_are_sentences_not_json(run_out: Path) -> None:
    text = _all_text(Document(str(run_out / "report.docx")))
    assert "村/社区按就高原则定级：取区域内企业的最高风险等级。" in text
    assert "（一）企业定级方法" in text and "企业监督检查频次：重大风险企业每年4次" in text
    for raw in ('{"', '"rule"', "empty_level", "index (fixed", "0.6000", "ls_matrix", "gb18218"):
        assert raw not in text, raw


def _annex_start(doc) -> int:
    """The position of the annex heading (附件) among the body's elements."""
    children = list(doc.element.body.iterchildren())
    return next(i for i, el in enumerate(children) if el.tag == qn("w:p") and _text(el) in ("附件", "Annex"))


def _tables_after_annex(doc) -> dict[str, list[list[str]]]:
    """The annex's tables by caption."""
    children = list(doc.element.body.iterchildren())[_annex_start(doc) :]
    out, cap = {}, None
    for el in children:
        if el.tag == qn("w:p") and _text(el).startswith(("表", "Table")):
            cap = _text(el)
        elif el.tag == qn("w:tbl") and cap:
            out[cap] = [
                [_text(tc) for tc in tr.iterchildren(qn("w:tc"))] for tr in el.iterchildren(qn("w:tr"))
            ]
    return out


def _pdf_pages(docx: Path, tmp: Path) -> list[str]:
    """The text of each page of the document as LibreOffice prints it."""
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/lo-profile", "--convert-to", "pdf",
         "--outdir", str(tmp), str(docx)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp / f"{docx.stem}.pdf"), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return text.split("\f")[:-1]


def _county_of_1500(folder: Path):
    """tests/county.py's 同安区 with about 1,500 enterprises: the background enterprises five times over."""
    import county

    with pytest.MonkeyPatch.context() as mp:
        spellings = {c: {s: k * 5 for s, k in sp.items()} for c, sp in county.SECTOR_SPELLINGS.items()}
        mp.setattr(county, "SECTOR_SPELLINGS", spellings)
        mp.setattr(county, "SYSTEM_COUNTS", {s: k * 5 for s, k in county.SYSTEM_COUNTS.items()})
        words = list(county._WORDS)  # enough names: 50 words make only 50 petrol stations
        mp.setattr(county, "_WORDS", words + [a[0] + b[1] for a in words for b in words if a != b])
        n_cases = len(county.HD_CASES) + len(county.MH_CASES)
        mp.setattr(
            county, "N_ENTERPRISES", n_cases + sum(k for sp in spellings.values() for k in sp.values())
        )
        return county.build_county(folder / "同安区")


@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdftotext") is None,
    reason="LibreOffice (soffice) and poppler-utils (pdftotext) are not installed: scripts/test.sh installs them",
)
@pytest.mark.parametrize("district", ["demo", "county"])
def test_the_body_is_at_most_15_pages_and_the_annex_holds_every_list(district: str, tmp_path: Path) -> None:
    import riskmap
    from riskmap.config import load_config, with_overrides
    from riskmap.reporting import report

    if district == "demo":  # 3,000 enterprises
        project = riskmap.demo_dir() / "riskmap.toml"
    else:  # ~1,500 enterprises
        truth = _county_of_1500(tmp_path)
        assert len(truth.enterprises) >= 1400
        project = truth.folder / "riskmap.toml"
    config = with_overrides(load_config(project), {"outputs.report_cards": "none"})
    result = report(config, tmp_path / "out")
    docx = tmp_path / "out" / "report.docx"
    doc = Document(str(docx))
    annex = _tables_after_annex(doc)
    levels = result.facilities.set_index("facility_id")["level"]
    for level, zh in (("red", "重大风险"), ("orange", "较大风险")):
        rows = next(t for cap, t in annex.items() if cap.endswith(f"{zh}企业清单"))[1:]
        assert sorted(r[2] for r in rows) == sorted(levels.index[levels == level]), level
        assert len(rows) > 20, level  # the lists that made the report 54 pages are there, all of them
    rejects = next(t for cap, t in annex.items() if "剔除记录" in cap)[1:]
    assert len(rejects) == len(result.rejects) > 0
    pages = _pdf_pages(docx, tmp_path)
    body = next(i for i, page in enumerate(pages) if re.search(r"^\s*附件\s*$", page, re.M))
    assert 3 <= body <= 15, (district, body, len(pages))
    assert "重大风险企业清单" not in "".join(pages[:body])  # the lists stand in the annex only


def test_annex_as_a_workbook_beside_the_report(tiny_project: Path, tmp_path: Path) -> None:
    import json

    import openpyxl

    out = tmp_path / "out"
    project = _with_rejects(_with_report(tiny_project, 'report = true\nreport_annex = "xlsx"'))
    _run("run", str(project), "--out", str(out))
    manifest = json.loads((out / "run.json").read_text(encoding="utf-8"))["outputs"]
    assert manifest["report_annex_xlsx"] == "report-annex.xlsx"
    doc = Document(str(out / "report.docx"))
    text = _all_text(doc)
    assert "重大风险、较大风险企业清单见附件 report-annex.xlsx。" in text
    assert not any(p.text == "附件" for p in doc.paragraphs) and "重大风险企业清单" not in text
    wb = openpyxl.load_workbook(out / "report-annex.xlsx", read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}
    fac = gpd.read_file(out / "riskmap.gpkg", layer="facilities")
    for sheet, level in (("重大风险企业", "red"), ("较大风险企业", "orange")):
        assert sheets[sheet][0][:3] == ["序号", "企业名称", "统一社会信用代码"]
        assert sorted(r[2] for r in sheets[sheet][1:]) == sorted(
            fac.loc[fac["level"] == level, "facility_id"]
        )
    rejects = pd.read_csv(out / "rejects.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(rejects) > 0 and len(sheets["剔除记录"]) - 1 == len(rejects)
    assert sorted(str(r[6]) for r in sheets["剔除记录"][1:]) == sorted(rejects["reason"])


def test_the_inputs_are_named_in_words_beside_their_section(run_out: Path) -> None:
    """A county's reader knows 企业名录, not ``facilities``; the section stays beside it to find it in riskmap.toml."""
    from docx import Document

    rows = _table_after(Document(str(run_out / "report.docx")), "输入数据")
    names = [r[0] for r in rows[1:]]
    assert "企业名录（facilities）" in names, names
    assert any(n.endswith("边界（zones_town）") for n in names), names
