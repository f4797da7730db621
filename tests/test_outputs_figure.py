from __future__ import annotations

import re
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pytest
from PIL import Image
from shapely.geometry import Point, box

from riskmap.i18n import language
from riskmap.levels import color, label
from riskmap.outputs import figure as figure_mod
from riskmap.outputs.figure import MAX_FACILITY_DOTS, cjk_font, render_figure

TITLE = "测试区安全风险四色分布图"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")


def _zones():
    v = gpd.GeoDataFrame(
        {
            "zone_code": ["1", "2", "3", "4"],
            "zone_name": ["东村", "西村", "南村", "北村"],
            "level": ["red", "orange", "yellow", "blue"],
        },
        geometry=[box(119.6 + i * 0.02, 32.2, 119.62 + i * 0.02, 32.22) for i in range(4)],
        crs="EPSG:4490",
    )
    t = gpd.GeoDataFrame(
        {"zone_code": ["T1", "T2"], "zone_name": ["甲镇", "乙镇"], "level": ["red", "yellow"]},
        geometry=[box(119.6, 32.2, 119.64, 32.22), box(119.64, 32.2, 119.68, 32.22)],
        crs="EPSG:4490",
    )
    return {"village": v, "town": t}


def _facilities(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    levels = np.array(["red", "orange", "yellow", "blue"])[rng.integers(0, 4, n)]
    xs, ys = rng.uniform(119.6, 119.68, n), rng.uniform(32.2, 32.22, n)
    return gpd.GeoDataFrame({"level": levels}, geometry=gpd.points_from_xy(xs, ys), crs="EPSG:4490")


def _draw(zones, facilities, lang="zh"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with plt.rc_context(figure_mod._rc(cjk_font())):
        return _draw_sheet(zones, facilities, lang=lang)


def _draw_sheet(zones, facilities, lang="zh", kind_labels=None):
    """``figure._draw`` with render_figure's defaults: every facility drawn up to the dot limit."""
    sheet = figure_mod._Sheet(TITLE, "", lang, None, kind_labels=kind_labels)
    return figure_mod._draw(zones, facilities, sheet, figure_mod._shown_levels(facilities, True, None))


def _require_cjk() -> str:
    family = cjk_font()
    if family is None:
        pytest.skip("no CJK font installed (Debian fonts-wqy-microhei or fonts-noto-cjk)")
    return family


def _missing_colours(png: Path, levels: list[str]) -> list[str]:
    """The levels whose colour (within a small distance) no pixel of ``png`` has."""
    colours = {c for _, c in Image.open(png).convert("RGB").getcolors(maxcolors=1 << 24)}
    rgbs = {k: tuple(int(color(k)[i : i + 2], 16) for i in (1, 3, 5)) for k in levels}
    near = {
        k: any(sum(abs(a - b) for a, b in zip(c, rgb, strict=True)) < 40 for c in colours)
        for k, rgb in rgbs.items()
    }
    return [k for k in levels if not near[k]]


def _fill_shares(png: Path, levels: list[str]) -> dict[str, float]:
    """The share of ``png``'s pixels in each level's zone fill (its colour at 85 % over white, as drawn)."""
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(int)
    shares = {}
    for k in levels:
        rgb = np.array([int(color(k)[i : i + 2], 16) for i in (1, 3, 5)])
        fill = 0.85 * rgb + 0.15 * 255
        shares[k] = float((np.abs(pixels - fill).sum(axis=2) < 30).mean())
    return shares


def test_png_svg_pdf_are_written(tmp_path: Path):
    fac = gpd.GeoDataFrame(
        {"level": ["red", "blue"]}, geometry=[Point(119.61, 32.21), Point(119.67, 32.21)], crs="EPSG:4490"
    )
    paths = render_figure(
        _zones(), fac, [tmp_path / "m.png", tmp_path / "m.svg", tmp_path / "m.pdf"], title=TITLE, dpi=100
    )
    assert [p.suffix for p in paths] == [".png", ".svg", ".pdf"]
    assert _missing_colours(tmp_path / "m.png", ["red", "orange", "blue"]) == []
    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(q.name for q in tmp_path.iterdir()) == ["m.pdf", "m.png", "m.svg"]  # no temp files left


def test_png_is_300_dpi_by_default(tmp_path: Path):
    render_figure(_zones(), None, [tmp_path / "m.png"], title=TITLE)
    dpi = Image.open(tmp_path / "m.png").info["dpi"]
    assert round(dpi[0]) == 300


def _font(properties):
    """The font matplotlib draws with for ``properties`` (no fallback to its default font): the face of a
    collection (.ttc) it picks, as ``font_manager.get_font`` opens it."""
    from matplotlib import font_manager

    return font_manager.get_font(font_manager.findfont(properties, fallback_to_default=False))


def _cjk() -> Any:
    """The CJK font riskmap found on this machine (skipping the test without one)."""
    from matplotlib.font_manager import FontProperties

    return _font(FontProperties(family=_require_cjk()))


def test_title_font_resolves_to_a_cjk_font_file_with_every_glyph():
    """Whichever CJK font the machine has (Noto Sans CJK, WenQuanYi, Source Han ...): the title's font file holds
    a glyph for every character, so nothing is drawn as a box."""
    cjk = _cjk()
    title = _draw(_zones(), None).axes[0].title
    assert title.get_text() == TITLE
    font = _font(title.get_fontproperties())
    assert (font.fname, font.postscript_name) == (cjk.fname, cjk.postscript_name)
    assert [ch for ch in TITLE if font.get_char_index(ord(ch)) == 0] == []


def test_no_missing_glyph_warnings(tmp_path: Path, caplog):
    _require_cjk()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_figure(
            _zones(), _facilities(20), [tmp_path / "m.svg", tmp_path / "m.png"], title=TITLE, dpi=72
        )
    messages = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    assert not [m for m in messages if "missing from" in m or "Glyph" in m or "findfont" in m]


def test_pdf_embeds_the_cjk_font_as_truetype(tmp_path: Path):
    """The PDF carries the title's CJK font as an embedded TrueType program (Type 42: a CIDFontType2 with a
    FontFile2), named by the font's own PostScript name, whichever CJK font that is."""
    postscript = _cjk().postscript_name
    render_figure(_zones(), None, [tmp_path / "m.pdf"], title=TITLE, dpi=72)
    pdf = (tmp_path / "m.pdf").read_bytes()
    # The font dictionary names it (a subset gets a six-letter tag) and is a TrueType-based CID font ...
    cid = re.findall(rb"<<[^>]*/Subtype\s*/CIDFontType2[^>]*>>", pdf)
    names = {m for d in cid for m in re.findall(rb"/BaseFont\s*/(?:[A-Z]{6}\+)?([^\s/<>\[\]]+)", d)}
    assert postscript.encode() in names, (postscript, names)
    # ... whose descriptor embeds the program itself (FontFile2), not a reference to a font on the machine.
    descriptors = re.findall(rb"<<[^>]*/Type\s*/FontDescriptor[^>]*>>", pdf)
    assert [d for d in descriptors if postscript.encode() in d and b"/FontFile2" in d], descriptors
    assert b"/CIDFontType2" in pdf and b"/Type3" not in pdf  # Type 42: the text stays text


def test_svg_carries_cjk_glyphs(tmp_path: Path):
    """Every character of the title is a glyph path of the CJK font in the SVG (ids: PostScript name - glyph)."""
    font = _cjk()
    render_figure(_zones(), None, [tmp_path / "m.svg"], title=TITLE, dpi=72)
    ids = set(re.findall(r'<path id="([^"]+)"', (tmp_path / "m.svg").read_text(encoding="utf-8")))
    glyphs = {ch: f"{font.postscript_name}-{font.get_char_index(ord(ch)):x}" for ch in TITLE}
    assert {ch: g for ch, g in glyphs.items() if g not in ids} == {}, sorted(ids)[:20]


def test_without_cjk_font_warns_and_falls_back_to_english(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(figure_mod, "cjk_font", lambda: None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = render_figure(_zones(), None, [tmp_path / "m.png"], title="Test district", dpi=72)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1, messages  # one clear warning, no glyph-by-glyph noise from zone names
    assert re.search(r"^未找到中文（CJK）字体：图件改用英文标注，并略去非拉丁字母的区域名称；", messages[0])
    assert "fonts-noto-cjk" in messages[0] and "微软雅黑" in messages[0] and "[outputs] font" in messages[0]
    assert paths[0].stat().st_size > 0
    with pytest.warns(UserWarning, match=r"标题中的汉字显示为方框"):
        render_figure(_zones(), None, [tmp_path / "m.png"], title=TITLE, dpi=72)


def test_without_cjk_font_a_run_gets_the_warning_in_its_list_and_no_python_warning(
    tmp_path: Path, monkeypatch
):
    """A run passes its warnings list: the warning is said there (the CLI, run.json), in the run's language,
    and no Python warning escapes."""
    monkeypatch.setattr(figure_mod, "cjk_font", lambda: None)
    said: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any Python warning fails the test
        with language("en"):
            render_figure(_zones(), None, [tmp_path / "m.png"], title=TITLE, dpi=72, warnings=said)
    assert len(said) == 1 and said[0].startswith("no CJK font found: the figure uses English labels"), said
    assert "apt install fonts-noto-cjk" in said[0] and "SimHei or Microsoft YaHei" in said[0]
    assert '[outputs] font = "path/to/font.ttf"' in said[0] and not CJK.search(said[0])


def _annotations(fig) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts]


@pytest.mark.parametrize(
    ("lang", "as_of", "drawn"),
    [
        ("zh", "数据截至 2026年3月9日", "制图日期：2026年12月1日"),
        ("en", "Data as of 2026-03-09", "Drawn on 2026-12-01"),
    ],
)
def test_the_figure_says_the_date_the_data_are_as_of_and_the_date_it_was_drawn(lang, as_of, drawn):
    _require_cjk()
    import matplotlib.pyplot as plt

    sheet = figure_mod._Sheet(TITLE, "", lang, date(2026, 12, 1), as_of=date(2026, 3, 9))
    with plt.rc_context(figure_mod._rc(cjk_font())):
        fig = figure_mod._draw(_zones(), None, sheet, ())
    (line,) = [t for t in _annotations(fig) if as_of in t]
    assert drawn in line and line.index(as_of) < line.index(drawn)


def test_the_as_of_date_reaches_the_svg(tmp_path: Path):
    _require_cjk()
    (svg,) = render_figure(_zones(), None, [tmp_path / "m.svg"], title=TITLE, dpi=72, as_of="2026-03-09")
    assert "数据截至 2026年3月9日" in svg.read_text(encoding="utf-8")


def test_legend_counts_labels_and_layout():
    _require_cjk()
    fig = _draw(_zones(), _facilities(40))
    ax = fig.axes[0]
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    counts = _facilities(40)["level"].value_counts()
    assert texts[0] == f"{label('red')}  1 / {counts['red']}"
    assert f"企业: {label('blue')}" in texts  # few facilities: every level is drawn
    names = {t.get_text() for t in ax.texts}
    assert {"甲镇", "乙镇"} <= names and "东村" not in names  # towns are labelled, villages are not
    assert "N" in names and "0" in names and any(t.endswith(" km") for t in names)
    fig.canvas.draw()
    # The legend stands right of the map frame, so it never covers the district.
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1
    assert fig.axes[0].title.get_text() == TITLE


def test_thousands_of_facilities_show_only_red_and_orange():
    _require_cjk()
    fac = _facilities(MAX_FACILITY_DOTS + 1)
    fig = _draw(_zones(), fac)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert f"企业: {label('red')}" in texts and f"企业: {label('blue')}" not in texts
    hidden = int(fac["level"].isin(["yellow", "blue"]).sum())
    assert f"其余 {hidden} 家企业未绘出" in texts
    from matplotlib.collections import PathCollection

    dots = [c for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    assert sum(len(c.get_offsets()) for c in dots) == len(fac) - hidden


@pytest.mark.parametrize("facilities", [None, "empty"], ids=["none", "empty"])
def test_no_facilities(tmp_path: Path, facilities):
    fac = _facilities(3).iloc[:0] if facilities == "empty" else None
    (p,) = render_figure({"village": _zones()["village"]}, fac, [tmp_path / "m.png"], title=TITLE, dpi=72)
    # The zones are drawn, each in its level's colour: a tenth of the sheet or more (the legend's swatches alone
    # are a few dozen pixels).
    shares = _fill_shares(p, ["red", "orange", "yellow", "blue"])
    assert all(s > 0.05 for s in shares.values()), shares


@pytest.mark.parametrize(
    ("kind", "own", "zh", "en"),
    [
        ("village", None, "村(社区)数", "village zones"),
        ("district", None, "区(县)数", "district zones"),
        ("street", None, "街道数", "subdistrict zones"),
        ("pianqu", {"zh": "片区", "en": "Area"}, "片区数", "area zones"),
        ("pianqu", None, "pianqu 区域数", "pianqu zones"),  # unlabelled: named, never glued to 数
    ],
)
def test_legend_title_names_the_zone_kind_in_words_that_read(kind, own, zh, en):
    _require_cjk()
    zones = {kind: _zones()["village"]}
    labels = {kind: own} if own else None
    for lang, words, head, tail in (("zh", zh, "风险等级", "企业数"), ("en", en, "Risk level", "facilities")):
        fig = _draw_sheet(zones, _facilities(8), lang=lang, kind_labels=labels)
        assert fig.axes[0].get_legend().get_title().get_text() == f"{head}\n{words} / {tail}"


def test_svg_legend_of_a_custom_kind(tmp_path: Path):
    _require_cjk()
    (svg,) = render_figure(
        {"pianqu": _zones()["village"]}, None, [tmp_path / "map.svg"], title=TITLE,
        kind_labels={"pianqu": {"zh": "片区"}},
    )  # fmt: skip
    text = svg.read_text(encoding="utf-8")  # glyphs are paths; matplotlib keeps each text in a comment
    assert "片区数 / 企业数" in text and "pianqu" not in text
