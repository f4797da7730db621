"""End to end on the embedded demo district, through the CLI, checked with real readers."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from browser import chromium, open_page, screen_colours, shows_fill
from openpyxl import load_workbook
from typer.testing import CliRunner

from riskmap.cli import app
from riskmap.levels import color

runner = CliRunner()


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    r = runner.invoke(app, ["demo", "--out", str(out)])
    assert r.exit_code == 0, r.output
    (out / "cli_output.txt").write_text(r.output, encoding="utf-8")
    return out


def test_demo_writes_every_output(demo_out: Path):
    for name in (
        "riskmap.gpkg",
        "map.html",
        "map.png",
        "inspection_plan.csv",
        "inspection_plan.xlsx",
        "run.json",
    ):
        assert (demo_out / name).stat().st_size > 0, name
    assert (demo_out / "map.html").stat().st_size < 5 * 1024 * 1024  # the HTML budget for the demo


def test_demo_accounting_and_plausible_levels(demo_out: Path):
    summary = json.loads((demo_out / "run.json").read_text(encoding="utf-8"))["summary"]
    scored, unassessed = summary["facilities_scored"], summary["facilities_unassessed"]
    assert summary["facilities_in"] == scored + unassessed + summary["facilities_rejected"]
    assert unassessed == 0  # every run.json states the rule with its three terms
    assert summary["facilities_rejected"] == 5  # the five deliberately flawed rows (data/demo/README.md)
    per_level = summary["facilities_per_level"]
    assert all(per_level[k] > 0 for k in ("red", "orange", "yellow", "blue"))
    assert per_level["red"] < per_level["orange"] < per_level["yellow"] < per_level["blue"]
    assert "输入 3005 行 = 已评级 3000 + 已剔除 5" in (demo_out / "cli_output.txt").read_text(
        encoding="utf-8"
    )


def test_demo_geopackage_with_gdal(demo_out: Path):
    gpkg = demo_out / "riskmap.gpkg"
    layers = dict(pyogrio.list_layers(gpkg))
    assert {"facilities", "zones_village", "zones_town", "inspection_plan", "rejects", "layer_styles"} <= set(
        layers
    )
    villages = pyogrio.read_dataframe(gpkg, layer="zones_village")
    assert villages.crs.to_epsg() == 4490 and len(villages) > 150
    assert villages["zone_code"].str.fullmatch(r"\d{12}").all()
    fac = pyogrio.read_dataframe(gpkg, layer="facilities")
    assert set(fac["level"]) == {"red", "orange", "yellow", "blue"}
    assert fac["reasons"].str.len().gt(0).all()


@pytest.mark.skipif(
    shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo (Debian gdal-bin) is not installed"
)
def test_demo_geopackage_with_ogrinfo(demo_out: Path):
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(demo_out / "riskmap.gpkg")], capture_output=True, text=True, check=True
    ).stdout
    for layer in ("facilities", "zones_village", "zones_town", "inspection_plan", "rejects"):
        assert re.search(rf"^\d+: {layer} \(", out, re.MULTILINE), out


def test_demo_xlsx_reads_back(demo_out: Path):
    wb = load_workbook(demo_out / "inspection_plan.xlsx")
    assert {"inspection_plan", "zones_village", "zones_town", "rejects"} <= set(wb.sheetnames)
    ws = wb["inspection_plan"]
    header = [c.value for c in ws[1]]
    level_col = header.index("level") + 1
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, level_col).value == "red")
    assert ws.cell(row, level_col).fill.fgColor.rgb.endswith(color("red").lstrip("#").upper())
    plan = pd.read_csv(demo_out / "inspection_plan.csv", encoding="utf-8-sig", dtype={"facility_id": str})
    # The 3,000 on the map and 4 flawed rows' enterprises not on it (the fifth is a copy of one on the map).
    assert len(plan) == ws.max_row - 1 == 3004
    assert plan["on_map"].sum() == 3000


def test_demo_map_in_headless_chromium_offline(demo_out: Path, tmp_path: Path):
    with chromium() as browser, open_page(browser, demo_out / "map.html") as (page, log):
        page.set_viewport_size({"width": 1400, "height": 900})
        assert page.evaluate("typeof L") == "object"
        legend = page.locator("#riskmap-legend")
        assert legend.is_visible()
        for label in ("重大风险", "较大风险", "一般风险", "低风险"):
            assert label in legend.inner_text()
        page.evaluate("window.riskmapMap.riskmap.ready")
        assert page.locator(".riskmap-filter-count").inner_text() == "显示 3000 / 3000"
        colours = screen_colours(page)
        for key in ("red", "orange", "yellow", "blue"):
            assert shows_fill(colours, color(key), 0.6), key
        page.screenshot(path=str(tmp_path / "demo.png"))
        assert log.errors == [] and log.dialogs == [] and log.blocked == []


def test_init_then_run_reproduces_the_demo(demo_out: Path, tmp_path: Path):
    r = runner.invoke(app, ["init", str(tmp_path / "proj")])
    assert r.exit_code == 0, r.output
    header = (tmp_path / "proj" / "facilities.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("facility_id,name,sector,lon,lat")
    r = runner.invoke(app, ["run", str(tmp_path / "proj" / "riskmap.toml"), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    for layer in ("facilities", "zones_village", "zones_town", "inspection_plan"):
        a = pyogrio.read_dataframe(demo_out / "riskmap.gpkg", layer=layer, read_geometry=False)
        b = pyogrio.read_dataframe(tmp_path / "out" / "riskmap.gpkg", layer=layer, read_geometry=False)
        pd.testing.assert_frame_equal(a, b)
