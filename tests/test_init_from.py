"""``riskmap init DIR --from …``: a project file from an office's own files that runs with no edit."""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from openpyxl import Workbook
from published_shifts import to_published_gcj02
from test_office_files import office  # noqa: F401  (the fixture: an office's files and a hand-written project)
from typer.testing import CliRunner

import riskmap
from riskmap._resources import demo_dir
from riskmap.cli import app
from riskmap.io.crs import wgs84_to_bd09, wgs84_to_gcj02
from riskmap.pipeline import check
from riskmap.starter import READINGS, detect_system, start_project, toml_string, toml_value, write_project

runner = CliRunner()

DEMO_TABLES = {
    "inventory": "chemical_inventory.csv",
    "risk_points": "risk_points.csv",
    "deductions": "deductions.csv",
    "hidden_dangers": "hidden_dangers.csv",
    "accidents": "accidents.csv",
    "standardisation": "standardisation.csv",
    "sensitive_sites": "sensitive_sites.csv",
    "population": "population.tif",
}


def _levels(project: Path) -> tuple[pd.Series, dict[str, pd.Series]]:
    result = check(riskmap.load_config(project))
    facilities = result.facilities.set_index("facility_id")["level"].sort_index()
    zones = {k: z.set_index("zone_code")["level"].sort_index() for k, z in result.zones.items()}
    return facilities, zones


def _same_levels(written: Path, by_hand: Path) -> None:
    got_f, got_z = _levels(written)
    want_f, want_z = _levels(by_hand)
    pd.testing.assert_series_equal(got_f, want_f)
    assert got_z.keys() == want_z.keys()
    for kind in want_z:
        pd.testing.assert_series_equal(got_z[kind], want_z[kind])


def _init(*args: str) -> object:
    result = runner.invoke(app, ["init", *args])
    assert result.exit_code == 0, result.output
    return result


def test_office_files_end_to_end(office, tmp_path):  # noqa: F811
    """The office's XLSX (title row, second sheet), GCJ-02 GeoJSON and CSV with a title line: run, same levels."""
    d, _ = office
    project = tmp_path / "p"
    out = _init(
        str(project),
        "--from",
        str(d / "名录.xlsx"),
        "--zones",
        str(d / "village.geojson"),
        "--zones",
        str(d / "town.geojson"),
        "--table",
        f"risk_points={d / '风险点.csv'}",
    )
    text = (project / "riskmap.toml").read_text(encoding="utf-8")
    assert 'crs = "GCJ-02"' in text, text
    assert 'layer = "企业名录"' in text
    assert '"涉爆粉尘"' in text
    _same_levels(project / "riskmap.toml", d / "riskmap.toml")
    assert "企业编号" in out.output
    run = runner.invoke(app, ["run", str(project / "riskmap.toml"), "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output


def test_demo_files_end_to_end(tmp_path):
    """The demo's own files: the written project gives the hand-written demo's levels, facilities and zones."""
    d = demo_dir()
    project = tmp_path / "demo"
    tables = [a for kind, f in DEMO_TABLES.items() for a in ("--table", f"{kind}={d / f}")]
    _init(str(project), "--from", str(d / "facilities.csv"), "--zones", str(d / "boundaries.gpkg"), *tables)
    written = riskmap.load_config(project / "riskmap.toml")
    assert [z.kind for z in written.zones] == ["village", "town"]
    assert str(written.adjustment.as_of) == "2026-11-24"  # the records' latest day, as the demo says
    _same_levels(project / "riskmap.toml", d / "riskmap.toml")


def _edge_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Enterprises within 600 m inside the district's outer border: a shift of the map apps moves some out."""
    villages = gpd.read_file(demo_dir() / "boundaries.gpkg", layer="village")
    utm = villages.estimate_utm_crs()
    area = villages.to_crs(utm).union_all()
    band = area.difference(area.buffer(-600))
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = band.bounds
    xs, ys = rng.uniform(minx, maxx, 20 * n), rng.uniform(miny, maxy, 20 * n)
    pts = shapely.points(xs, ys)
    pts = pts[shapely.contains(band, pts)][:n]
    geo = gpd.GeoSeries(pts, crs=utm).to_crs("EPSG:4490")
    return geo.x.to_numpy(), geo.y.to_numpy()


@pytest.mark.parametrize(
    ("system", "shift"),
    [("EPSG:4490", None), ("GCJ-02", wgs84_to_gcj02), ("BD-09", wgs84_to_bd09)],
)
def test_coordinate_system_from_the_zones(system, shift):
    """Points written in CGCS2000, GCJ-02 or BD-09: the reading that puts them inside the villages is found."""
    lon, lat = _edge_points(300, seed=len(system))
    if shift is not None:
        lon, lat = shift(lon, lat)
    villages = gpd.read_file(demo_dir() / "boundaries.gpkg", layer="village")
    found = detect_system(lon, lat, villages)
    assert found.reading is not None
    assert (found.reading.facilities, found.reading.zones) == (system, None), found.shares
    assert found.shares[found.reading] == 1.0
    assert not found.weak


def test_zones_in_gcj02_found():
    """True points against boundaries downloaded for a web map (GCJ-02 declaring WGS84): the zones are shifted."""
    lon, lat = _edge_points(300, seed=3)
    villages = gpd.read_file(demo_dir() / "boundaries.gpkg", layer="village")
    shifted = villages.set_geometry(villages.geometry.map(to_published_gcj02)).set_crs(
        "EPSG:4326", allow_override=True
    )
    found = detect_system(lon, lat, shifted)
    assert found.reading == READINGS[3], found.shares


def _register_with_merged_header(path: Path) -> None:
    """An XLSX with a title row, a notes sheet first, and a header of two rows (坐标 merged over 经度/纬度)."""
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["坐标为 CGCS2000"])
    ws = wb.create_sheet("台账")
    ws.append(["某区重点企业台账"])
    ws.append(["统一社会信用代码", "单位名称", "行业领域", "坐标", None, "从业人数(人)", "所属村(社区)"])
    ws.append([None, None, None, "东经", "北纬", None, None])
    ws.merge_cells("D2:E2")
    for c in "ABCFG":
        ws.merge_cells(f"{c}2:{c}3")
    ws.append(["91329901006CH8URN5", "甲公司", "工贸企业", 119.690773, 32.141895, 55, "荷塘村"])
    ws.append(["9132990100TDHP6A05", "乙公司", "危化品", 119.707115, 32.125889, 89, "芦湾村"])
    wb.save(path)


def test_headers_recognised_in_merged_two_row_header_and_title_row(tmp_path):
    reg = tmp_path / "台账.xlsx"
    _register_with_merged_header(reg)
    project = start_project(tmp_path, reg)
    doc = tomllib.loads(project.text)
    fac = doc["facilities"]
    assert (fac["layer"], fac["id"], fac["name"], fac["sector"]) == (
        "台账",
        "统一社会信用代码",
        "单位名称",
        "行业领域",
    )
    assert (fac["x"], fac["y"], fac["zone_column"]) == ("东经", "北纬", "所属村(社区)")
    assert doc["scoring"]["sector_aliases"] == {"工贸企业": "工贸", "危化品": "危险化学品"}
    x_line = next(line for line in project.text.splitlines() if line.startswith("x = "))
    assert x_line.count("东经") == 2  # the value, and the comment naming the header it came from
    assert any("TODO" in line for line in project.text.splitlines())  # no zone layer: the crs is to check


def test_own_header_table_extends_the_shipped_one(tmp_path):
    reg = tmp_path / "r.csv"
    reg.write_text("企业代号,企业名称,行业,经度,纬度\nA1,甲,工贸,119.69,32.14\n", encoding="utf-8")
    own = tmp_path / "my.toml"
    own.write_text('[facilities]\nid = ["企业代号"]\n', encoding="utf-8")
    assert "id" not in tomllib.loads(start_project(tmp_path, reg).text)["facilities"]
    assert tomllib.loads(start_project(tmp_path, reg, headers=own).text)["facilities"]["id"] == "企业代号"


def test_refuses_to_overwrite_without_force(tmp_path):
    reg = tmp_path / "r.csv"
    reg.write_text("企业编号,企业名称,行业,经度,纬度\nA1,甲,工贸,119.69,32.14\n", encoding="utf-8")
    (tmp_path / "riskmap.toml").write_text("# my edits\n", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = runner.invoke(app, ["init", str(tmp_path), "--from", str(reg)])
    assert result.exit_code == 1
    assert "--force" in result.output and len(result.output.strip().splitlines()) == 1
    assert (tmp_path / "riskmap.toml").read_text(encoding="utf-8") == "# my edits\n"
    _init(str(tmp_path), "--from", str(reg), "--force")
    assert "企业编号" in (tmp_path / "riskmap.toml").read_text(encoding="utf-8")
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "mine\n"


HOSTILE = ['企业"""名称', "行业]\n[x]", "{{经度}}", 'a\\b"\tc', "\x7f\x01"]


def test_hostile_headers_and_sectors_give_valid_toml(tmp_path):
    """Headers and sector values holding \"\"\", ], line breaks, {{ }}: the file reads back to the same values."""
    reg = tmp_path / "r.csv"
    header = ["企业编号", HOSTILE[0], "行业", "经度", "纬\n度]", '{{x}}"""']
    rows = [
        ["A1", "甲", HOSTILE[1], "119.69", "32.14", ""],
        ["A2", "乙", '危化品"""]', "119.70", "32.15", ""],
    ]
    pd.DataFrame(rows, columns=header).to_csv(reg, index=False, encoding="utf-8")
    own = tmp_path / "h.toml"
    own.write_text("[facilities]\nname = [" + toml_string(HOSTILE[0]) + "]\n", encoding="utf-8")
    project = start_project(tmp_path, reg, headers=own)
    doc = tomllib.loads(project.text)
    assert doc["facilities"]["name"] == HOSTILE[0]
    for value in HOSTILE:
        assert tomllib.loads(f"v = {toml_value(value)}\n")["v"] == value
        assert tomllib.loads(f"v = {toml_value({value: [value]})}\n")["v"] == {value: [value]}
    assert "y" not in doc["facilities"]  # 纬 and 度 split by a line break: no header matched, a TODO lists it
    assert any("TODO" in line and "{{x}}" in line for line in project.text.splitlines())
    write_project(tmp_path, project)
    assert tomllib.loads((tmp_path / "riskmap.toml").read_text(encoding="utf-8")) == doc


def test_english_summary(tmp_path, office):  # noqa: F811
    d, _ = office
    out = _init(
        str(tmp_path / "en"),
        "--from",
        str(d / "名录.xlsx"),
        "--zones",
        str(d / "village.geojson"),
        "--lang",
        "en",
    )
    assert "recognised:" in out.output and "riskmap validate" in out.output
    assert "识别" not in out.output


def test_chinese_summary_by_default(tmp_path, office):  # noqa: F811
    d, _ = office
    out = _init(str(tmp_path / "zh"), "--from", str(d / "名录.xlsx"), "--zones", str(d / "village.geojson"))
    assert "已识别" in out.output
    assert "recognised" not in out.output


def test_crs_column_becomes_crs_column(tmp_path):
    """A 坐标系 column: each row's system from it; a spelling riskmap does not know is listed to decide."""
    reg = tmp_path / "r.csv"
    reg.write_text(
        "企业编号,企业名称,行业,经度,纬度,坐标系\n"
        "A1,甲,工贸,119.69,32.14,百度\nA2,乙,工贸,119.70,32.15,高德\nA3,丙,工贸,119.71,32.16,北京54\n",
        encoding="utf-8",
    )
    project = start_project(tmp_path, reg, [demo_dir() / "boundaries.gpkg"])
    fac = tomllib.loads(project.text)["facilities"]
    assert (fac["crs_column"], fac["crs"]) == ("坐标系", "EPSG:4490")
    assert any("北京54" in note for note in project.to_check)
    assert '# crs_values = { "北京54" = "EPSG:4490" }' in project.text


def test_unknown_table_kind_is_one_line(tmp_path):
    reg = tmp_path / "r.csv"
    reg.write_text("企业编号,企业名称,行业,经度,纬度\nA1,甲,工贸,119.69,32.14\n", encoding="utf-8")
    result = runner.invoke(app, ["init", str(tmp_path / "p"), "--from", str(reg), "--table", f"ledger={reg}"])
    assert result.exit_code == 1
    assert "ledger" in result.output and "inventory" in result.output
    assert not (tmp_path / "p" / "riskmap.toml").exists()


def test_vector_register_and_shapefile_without_prj(tmp_path):
    """A GeoPackage register and a village shapefile without .prj: the file runs, the missing CRS is a TODO."""
    d = demo_dir()
    fac = pd.read_csv(d / "facilities.csv", dtype=str, keep_default_na=False).head(60)
    fac = fac[fac["lat"] != ""]
    points = gpd.GeoDataFrame(
        fac.rename(columns={"facility_id": "统一社会信用代码", "name": "企业名称", "sector": "行业"}),
        geometry=gpd.points_from_xy(fac["lon"].astype(float), fac["lat"].astype(float)),
        crs="EPSG:4490",
    ).drop(columns=["lon", "lat"])
    points.to_file(tmp_path / "企业.gpkg", layer="企业")
    villages = gpd.read_file(d / "boundaries.gpkg", layer="village")
    villages.rename(columns={"code": "CUN_DM", "name": "CUN_MC"}).to_file(
        tmp_path / "村界.shp", encoding="utf-8"
    )
    (tmp_path / "村界.prj").unlink()
    project = start_project(tmp_path, tmp_path / "企业.gpkg", [tmp_path / "村界.shp"])
    doc = tomllib.loads(project.text)
    assert (doc["facilities"]["id"], doc["facilities"]["sector"]) == ("统一社会信用代码", "行业")
    assert "x" not in doc["facilities"]
    assert (doc["zones"][0]["code"], doc["zones"][0]["name"], doc["zones"][0]["crs"]) == (
        "CUN_DM",
        "CUN_MC",
        "EPSG:4490",
    )
    assert any("村界.shp" in note for note in project.to_check)
    write_project(tmp_path, project)
    result = check(riskmap.load_config(tmp_path / "riskmap.toml"))
    assert result.summary["facilities_scored"] > 0


def test_standardisation_grades_kept_in_the_register(tmp_path):
    """标准化等级 and 有效期 as register columns: the register is the standardisation table, and its rule is written."""
    reg = tmp_path / "r.csv"
    reg.write_text(
        "企业编号,企业名称,行业,经度,纬度,标准化等级,有效期\n"
        "A1,甲,工贸企业,119.69,32.14,二级,2027-05-01\nA2,乙,危化品,119.70,32.15,,\n",
        encoding="utf-8",
    )
    doc = tomllib.loads(start_project(tmp_path, reg).text)
    std = doc["standardisation"]
    assert std["path"] == "r.csv"
    assert std["columns"] == {"facility_id": "企业编号", "grade": "标准化等级", "valid_until": "有效期"}
    (rule,) = doc["adjustment"]["rules"]
    assert rule["name"] == "standardisation" and rule["sectors"] == ["工贸"]  # chemicals are not lowered
