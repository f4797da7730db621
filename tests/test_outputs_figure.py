from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pytest
from PIL import Image
from shapely.geometry import Point, box

from riskmap.outputs.figure import cjk_font, render_figure


def _zones():
    v = gpd.GeoDataFrame(
        {"zone_code": ["1", "2", "3", "4"], "level": ["red", "orange", "yellow", "blue"]},
        geometry=[box(119.6 + i * 0.02, 32.2, 119.62 + i * 0.02, 32.22) for i in range(4)],
        crs="EPSG:4490",
    )
    t = gpd.GeoDataFrame(
        {"zone_code": ["T"], "level": ["red"]}, geometry=[box(119.6, 32.2, 119.68, 32.22)], crs="EPSG:4490"
    )
    return {"village": v, "town": t}


def test_png_svg_pdf_are_written(tmp_path: Path):
    fac = gpd.GeoDataFrame(
        {"level": ["red", "blue"]}, geometry=[Point(119.61, 32.21), Point(119.67, 32.21)], crs="EPSG:4490"
    )
    paths = render_figure(
        _zones(),
        fac,
        [tmp_path / "m.png", tmp_path / "m.svg", tmp_path / "m.pdf"],
        title="测试区安全风险四色分布图",
        dpi=100,
    )
    assert [p.suffix for p in paths] == [".png", ".svg", ".pdf"]
    img = Image.open(tmp_path / "m.png").convert("RGB")
    colours = {c for _, c in img.getcolors(maxcolors=1 << 24)}
    for rgb in [(255, 0, 0), (255, 153, 0), (0, 112, 192)]:
        assert any(sum(abs(a - b) for a, b in zip(c, rgb, strict=True)) < 40 for c in colours), rgb
    assert (tmp_path / "m.pdf").read_bytes().startswith(b"%PDF")


def test_cjk_font_is_used_when_installed(tmp_path: Path):
    family = cjk_font()
    if family is None:
        pytest.skip("no CJK font installed (Debian fonts-wqy-microhei or fonts-noto-cjk)")
    from matplotlib import font_manager

    found = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert Path(found).exists()
    # The SVG embeds glyph paths only for characters the font has; tofu would come with a missing-glyph warning.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_figure(_zones(), None, [tmp_path / "m.svg"], title="重大风险较大风险", dpi=72)
    assert not [w for w in caught if "missing from font" in str(w.message) or "Glyph" in str(w.message)]
