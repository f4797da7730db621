"""Fonts: a machine without a CJK font is told what to install; ``[outputs] font`` writes the figure and names
the report's East-Asian font with a font file the office has."""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from typer.testing import CliRunner

from riskmap.cli import app
from riskmap.outputs import figure as figure_mod
from riskmap.outputs.figure import render_figure

runner = CliRunner()
TITLE = "测试区安全风险四色分布图"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
KNOWN_CJK_FILES = figure_mod.CJK_FONT_FILES  # before a test hides them


def _a_cjk_font_file() -> Path:
    """A real CJK font file of this machine (Debian fonts-wqy-microhei or fonts-noto-cjk)."""
    found = [Path(f) for f in KNOWN_CJK_FILES if Path(f).exists()]
    if not found:
        pytest.skip("no CJK font file installed (Debian fonts-wqy-microhei or fonts-noto-cjk)")
    return found[0]


@pytest.fixture
def no_cjk_fonts(monkeypatch: pytest.MonkeyPatch):
    """This machine as one without a CJK font: matplotlib's font list without them, no known font file; riskmap
    looks for one as it does on every machine (not a stub)."""
    from matplotlib import font_manager

    fm = font_manager.fontManager
    known = set(KNOWN_CJK_FILES)
    families = {"Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei"}
    kept = [f for f in fm.ttflist if f.fname not in known and f.name not in families and "CJK" not in f.name]
    monkeypatch.setattr(fm, "ttflist", kept)
    monkeypatch.setattr(figure_mod, "CJK_FONT_FILES", ())
    monkeypatch.setattr(figure_mod, "cjk_font", figure_mod.cjk_font.__wrapped__)  # not the cached answer
    fm._findfont_cached.cache_clear()
    assert figure_mod.cjk_font() is None
    yield
    fm._findfont_cached.cache_clear()


@pytest.fixture
def office_font(tmp_path: Path) -> Path:
    """A CJK font file copied into the project's folder, as an office copies simhei.ttf from a Windows PC."""
    src = _a_cjk_font_file()
    (tmp_path / "fonts").mkdir(exist_ok=True)
    return Path(shutil.copy(src, tmp_path / "fonts" / f"office{src.suffix}"))


def _zones():
    from test_outputs_figure import _zones as zones

    return zones()


def _pdf_fonts(pdf: Path) -> set[str]:
    """The PostScript names of the TrueType (CID) fonts a PDF embeds."""
    data = pdf.read_bytes()
    cid = re.findall(rb"<<[^>]*/Subtype\s*/CIDFontType2[^>]*>>", data)
    return {m.decode() for d in cid for m in re.findall(rb"/BaseFont\s*/(?:[A-Z]{6}\+)?([^\s/<>\[\]]+)", d)}


def test_a_font_file_writes_the_figure_on_a_machine_without_cjk_fonts(no_cjk_fonts, office_font, tmp_path):
    from matplotlib import ft2font

    said: list[str] = []
    (pdf,) = render_figure(_zones(), None, [tmp_path / "m.pdf"], title=TITLE, warnings=said)
    assert said and "fonts-noto-cjk" in said[0]  # without the file: what to install
    said.clear()
    (pdf,) = render_figure(_zones(), None, [tmp_path / "m.pdf"], title=TITLE, font=office_font, warnings=said)
    assert said == []
    assert ft2font.FT2Font(str(office_font)).postscript_name in _pdf_fonts(pdf)


def test_a_font_file_without_chinese_is_said(no_cjk_fonts, tmp_path):
    if not DEJAVU.exists():
        pytest.skip("no DejaVuSans.ttf (Debian fonts-dejavu-core)")
    latin = Path(shutil.copy(DEJAVU, tmp_path / "latin.ttf"))
    said: list[str] = []
    render_figure(_zones(), None, [tmp_path / "m.png"], title=TITLE, font=latin, warnings=said, dpi=72)
    assert len(said) == 1 and re.match(
        r"\[outputs\] font：.*latin\.ttf（DejaVu Sans）没有中文字符", said[0]
    ), said


def _project(tiny_project: Path, outputs: str) -> Path:
    text = tiny_project.read_text(encoding="utf-8").replace("[outputs]\n", f"[outputs]\n{outputs}\n")
    tiny_project.write_text(text, encoding="utf-8")
    return tiny_project


def test_a_run_without_cjk_fonts_warns_in_the_cli_and_run_json(no_cjk_fonts, tiny_project: Path, tmp_path):
    out = tmp_path / "out"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = runner.invoke(app, ["run", str(tiny_project), "--out", str(out)])
    assert r.exit_code == 0, r.output
    said = json.loads((out / "run.json").read_text(encoding="utf-8"))["warnings"]
    font = [w for w in said if "CJK" in w]
    assert len(font) == 1 and "apt install fonts-noto-cjk" in font[0] and "黑体 SimHei" in font[0], said
    assert "未找到中文（CJK）字体" in re.sub(r"\s+", "", r.output)
    assert not [w for w in caught if "font" in str(w.message).lower() or "字体" in str(w.message)]


def test_a_run_with_the_project_font_draws_and_names_it_in_the_report(
    no_cjk_fonts, office_font, tiny_project: Path, tmp_path
):
    from matplotlib import ft2font

    family = ft2font.FT2Font(str(office_font)).family_name
    _project(tiny_project, f'font = "fonts/{office_font.name}"\nreport = true\nfigure_formats = ["pdf"]')
    tiny_project.write_text(
        tiny_project.read_text(encoding="utf-8").replace('figure_formats = ["png"]\n', ""), encoding="utf-8"
    )
    out = tmp_path / "out"
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(out)])
    assert r.exit_code == 0, r.output
    said = json.loads((out / "run.json").read_text(encoding="utf-8"))["warnings"]
    assert not [w for w in said if "CJK" in w or "字体" in w], said
    assert ft2font.FT2Font(str(office_font)).postscript_name in _pdf_fonts(out / "map.pdf")
    doc = Document(str(out / "report.docx"))
    normal = doc.styles["Normal"].element.rPr.rFonts.get(qn("w:eastAsia"))
    runs = {
        r.element.rPr.rFonts.get(qn("w:eastAsia")) for p in doc.paragraphs for r in p.runs if r.text.strip()
    }
    assert normal == family and runs == {family}, (normal, runs)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"\[outputs\] font：.*nope\.ttf：字体文件不存在"),
        (b"not a font", r"bad\.ttf 不是 riskmap 能读取的字体文件"),
    ],
    ids=["missing", "not-a-font"],
)
def test_a_font_file_that_cannot_be_used_stops_before_grading(tiny_project: Path, tmp_path, content, message):
    name = "nope.ttf" if content is None else "bad.ttf"
    if content is not None:
        (tiny_project.parent / name).write_bytes(content)
    _project(tiny_project, f'font = "{name}"')
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(tmp_path / "out")])
    assert r.exit_code == 1, r.output
    assert re.search(message, re.sub(r"\s*\n\s*", "", r.output)), r.output
    assert not (tmp_path / "out" / "run.json").exists()
