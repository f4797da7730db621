"""Layers in the shifted GCJ-02 / BD-09 systems of Chinese map apps: declared, converted, or detected.

The tiny district's shifted layers are made with riskmap's own forward transforms (round trips); the real shapes
are Xiamen's districts as shipped for echarts (tests/data/README.md), whose truth comes from the published
formulas written in this file, never from riskmap's transforms.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import TOWNS, VILLAGES, X0, Y0, D
from published_shifts import REFERENCE_POINTS, published_bd09, published_gcj02, wgs84_of_published_gcj02

import riskmap
from riskmap._resources import reference_dir
from riskmap.config import SitesConfig, with_overrides
from riskmap.io.crs import (
    in_china,
    shift_geometries,
    unshift_geometries,
    wgs84_to_gcj02,
)
from riskmap.io.vector import read_vector
from riskmap.validate import validate_sites

DATA = Path(__file__).parent / "data"
XIAMEN = DATA / "xiamen_districts_gcj02.geojson"

# ------------------------------------------------------------------------------------- the outline

# Points on water that were in holes of the first outline (bays closed by its coastal buffer).
BAYS = {
    "Xiamen western harbour / Jiulong estuary": (117.922, 24.431),
    "Zhanjiang bay": (110.429, 21.123),
    "Xiangshan harbour": (121.576, 29.504),
    "Yangtze north branch": (121.338, 31.847),
    "Sansha bay": (119.949, 26.703),
    "Luoyuan bay": (119.707, 26.409),
    "Yangtze river island near Yangzhou": (119.714, 32.299),
}
UNSHIFTED = {
    "Hong Kong, Central": (114.16, 22.28),
    "Hong Kong, Lok Ma Chau": (114.07, 22.512),
    "Macao": (113.55, 22.19),
    "Taipei": (121.5, 25.03),
    "Kinmen": (118.35, 24.45),
}


@pytest.mark.parametrize("place", list(BAYS))
def test_bays_and_estuaries_get_the_gcj02_shift(place):
    lon, lat = (np.array([v]) for v in BAYS[place])
    assert in_china(lon, lat).all()
    glon, glat = wgs84_to_gcj02(lon, lat)
    moved_m = np.hypot((glon - lon) * 111_320 * np.cos(np.radians(lat)), (glat - lat) * 110_574)
    assert 100 < moved_m[0] < 1000


@pytest.mark.parametrize("place", list(UNSHIFTED))
def test_hong_kong_macao_taiwan_get_no_shift(place):
    lon, lat = (np.array([v]) for v in UNSHIFTED[place])
    assert not in_china(lon, lat).any()
    assert wgs84_to_gcj02(lon, lat)[0][0] == lon[0]


def test_the_outline_has_no_holes_but_macao():
    with open(reference_dir() / "china_outline.geojson", encoding="utf-8") as f:
        outline = shapely.geometry.shape(json.load(f)["features"][0]["geometry"])
    holes = [shapely.Polygon(r) for p in shapely.get_parts(outline) for r in p.interiors]
    macao = shapely.box(113.50, 22.08, 113.62, 22.24)  # the peninsula, Taipa and Coloane, cut out
    assert all(macao.contains(h) for h in holes), [h.representative_point().wkt for h in holes]


# ------------------------------------------------------------------------------------ read_vector


def _square_layer(path: Path, crs: str = "EPSG:4326", shift: str | None = "GCJ-02") -> gpd.GeoSeries:
    """One village square written shifted (as a web map has it); returns the true square."""
    true = gpd.GeoSeries([box for _, _, box in VILLAGES[:1]], crs="EPSG:4490")
    shifted = shift_geometries(true.to_numpy(), shift) if shift else true.to_numpy()
    gdf = gpd.GeoDataFrame({"code": ["1"], "name": ["东村"]}, geometry=shifted, crs="EPSG:4326")
    gdf.to_crs(crs).to_file(path)
    return true


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_declared_shift_wins_over_the_wgs84_a_geojson_declares(tmp_path, system):
    true = _square_layer(tmp_path / "z.geojson", shift=system)
    warnings: list[str] = []
    gdf = read_vector(tmp_path / "z.geojson", crs=system, where="zones[0]", warnings=warnings)
    assert gdf.crs.to_epsg() == 4326 and warnings == []
    assert np.allclose(shapely.get_coordinates(gdf.geometry), shapely.get_coordinates(true), atol=1e-7)
    # Without the declaration, the file's WGS84 is taken at its word: ~0.5-1 km off.
    raw = read_vector(tmp_path / "z.geojson", where="zones[0]")
    assert not np.allclose(shapely.get_coordinates(raw.geometry), shapely.get_coordinates(true), atol=1e-3)


def test_shift_declared_on_a_projected_file_is_undone_in_longitude_latitude(tmp_path):
    true = _square_layer(tmp_path / "z.gpkg", crs="EPSG:3857")  # web-map tracing saved in Web Mercator
    gdf = read_vector(tmp_path / "z.gpkg", crs="GCJ-02", where="zones[0]")
    assert np.allclose(shapely.get_coordinates(gdf.geometry), shapely.get_coordinates(true), atol=1e-7)


def test_declared_epsg_that_differs_from_the_file_wins_with_a_warning(tmp_path):
    _square_layer(tmp_path / "z.gpkg", crs="EPSG:4549", shift=None)
    warnings: list[str] = []
    gdf = read_vector(tmp_path / "z.gpkg", crs="EPSG:4547", where="zones[0]", warnings=warnings)
    assert gdf.crs.to_epsg() == 4547
    assert len(warnings) == 1
    assert "z.gpkg 声明的坐标系是 EPSG:4549" in warnings[0] and 'zones[0].crs = "EPSG:4547"' in warnings[0]
    assert "以项目文件为准" in warnings[0]


def test_wgs84_declared_as_cgcs2000_is_not_worth_a_warning(tmp_path):
    _square_layer(tmp_path / "z.geojson", shift=None)
    warnings: list[str] = []
    read_vector(tmp_path / "z.geojson", crs="EPSG:4490", where="zones[0]", warnings=warnings)
    assert warnings == []


def test_a_shift_that_breaks_a_polygon_is_repaired():
    # A sliver whose two long edges lie either side of the outline's edge near Hong Kong: only one is shifted.
    sliver = shapely.Polygon([(114.0, 22.4), (114.3, 22.4), (114.3, 22.6), (114.0, 22.6), (114.0, 22.4)])
    out = unshift_geometries(np.array([sliver]), "GCJ-02")
    assert shapely.is_valid(out).all() and out[0].geom_type in ("Polygon", "MultiPolygon")


def test_sensitive_sites_in_a_gcj02_vector_file(tmp_path):
    lon, lat = np.array([X0 + 0.004, X0 + 0.031]), np.array([Y0 + 0.006, Y0 + 0.033])
    glon, glat = wgs84_to_gcj02(lon, lat)
    gpd.GeoDataFrame(
        {"kind": ["学校", "医院"]}, geometry=gpd.points_from_xy(glon, glat), crs="EPSG:4326"
    ).to_file(tmp_path / "sites.geojson")
    raw = read_vector(tmp_path / "sites.geojson", crs="GCJ-02", where="sensitive_sites")
    sites, rejects = validate_sites(
        raw, SitesConfig(path=Path("sites.geojson"), crs="GCJ-02"), "sites.geojson"
    )
    assert rejects.empty
    assert np.allclose(sites.geometry.x, lon, atol=1e-8) and np.allclose(sites.geometry.y, lat, atol=1e-8)


# ------------------------------------------------------------------------ the tiny district, shifted

# Facilities ~150 m inside each outer edge of the district, where a 0.5 km shift of either layer moves them
# out, plus one either side of the inner borders.
EDGE = 0.0015
NEAR_EDGES = [
    (X0 + EDGE, Y0 + 0.007),
    (X0 + EDGE, Y0 + 0.031),
    (X0 + 2 * D - EDGE, Y0 + 0.009),
    (X0 + 2 * D - EDGE, Y0 + 0.029),
    (X0 + 0.011, Y0 + EDGE),
    (X0 + 0.033, Y0 + EDGE),
    (X0 + 0.013, Y0 + 2 * D - EDGE),
    (X0 + 0.027, Y0 + 2 * D - EDGE),
    (X0 + D - EDGE, Y0 + 0.012),
    (X0 + D + EDGE, Y0 + 0.028),
    (X0 + 0.008, Y0 + D - EDGE),
    (X0 + 0.032, Y0 + D + EDGE),
]


def _with_edge_facilities(project: Path) -> None:
    d = project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    rows = [[f"E{i}", f"边界企业{i}", "工贸", f"{x:.6f}", f"{y:.6f}"] for i, (x, y) in enumerate(NEAR_EDGES)]
    pd.concat([fac, pd.DataFrame(rows, columns=fac.columns)]).to_csv(d / "facilities.csv", index=False)
    with open(d / "risk_points.csv", "a", encoding="utf-8") as f:
        for i in range(len(NEAR_EDGES)):
            f.write(f"E{i},Q{i},车间,2,2\n")


def _shifted_zones_geojson(project: Path, system: str) -> None:
    """Villages and towns as GeoJSON (declaring WGS84) shifted into ``system``, replacing the GeoPackage."""
    d = project.parent
    for kind, zones in (("village", VILLAGES), ("town", TOWNS)):
        true = np.array([g for _, _, g in zones])
        gpd.GeoDataFrame(
            {"code": [c for c, _, _ in zones], "name": [n for _, n, _ in zones]},
            geometry=shift_geometries(true, system),
            crs="EPSG:4326",
        ).to_file(d / f"{kind}.geojson")
    text = project.read_text(encoding="utf-8")
    for kind in ("village", "town"):
        text = text.replace(f'path = "boundaries.gpkg"\nlayer = "{kind}"', f'path = "{kind}.geojson"', 1)
    project.write_text(text, encoding="utf-8")


def _declare(project: Path, section: str, crs: str) -> None:
    text = project.read_text(encoding="utf-8")
    if section == "zones":
        text = text.replace('.geojson"\n', f'.geojson"\ncrs = "{crs}"\n')
    else:
        text = text.replace('crs = "EPSG:4490"', f'crs = "{crs}"', 1)
    project.write_text(text, encoding="utf-8")


def _placement(result) -> pd.DataFrame:
    return (
        result.facilities.set_index("facility_id")[["village_code", "town_code", "level"]]
        .sort_index()
        .astype(str)
    )


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_zones_declared_shifted_give_the_unshifted_placement(tiny_project: Path, system):
    _with_edge_facilities(tiny_project)
    baseline = riskmap.check(riskmap.load_config(tiny_project))
    assert baseline.rejects.empty
    _shifted_zones_geojson(tiny_project, system)
    _declare(tiny_project, "zones", system)
    result = riskmap.check(riskmap.load_config(tiny_project))
    assert result.rejects.empty, result.rejects["reason"].tolist()
    pd.testing.assert_frame_equal(_placement(result), _placement(baseline))
    assert not any("看起来是" in w and system in w for w in result.warnings), result.warnings


@pytest.mark.parametrize("system", ["GCJ-02", "BD-09"])
def test_undeclared_shifted_zones_are_named_in_a_warning(tiny_project: Path, system):
    _with_edge_facilities(tiny_project)
    _shifted_zones_geojson(tiny_project, system)
    result = riskmap.check(riskmap.load_config(tiny_project))
    assert not result.rejects.empty  # facilities near the edge fell out: the user must be told why
    (hint,) = [w for w in result.warnings if "会落入区域内" in w]
    assert f"若将区域按 {system} 坐标读取" in hint
    assert f"zones[0]（村（社区）图层，village.geojson）看起来是 {system} 坐标" in hint
    assert f'请在 [[zones]] 下为该图层（以及同一来源的其他图层）设置 crs = "{system}"' in hint


def test_undeclared_shifted_facilities_are_named_not_the_zones(tiny_project: Path):
    _with_edge_facilities(tiny_project)
    d = tiny_project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    glon, glat = wgs84_to_gcj02(fac["lon"].astype(float).to_numpy(), fac["lat"].astype(float).to_numpy())
    fac["lon"], fac["lat"] = [f"{v:.7f}" for v in glon], [f"{v:.7f}" for v in glat]
    fac.to_csv(d / "facilities.csv", index=False)
    result = riskmap.check(riskmap.load_config(tiny_project))
    (hint,) = [w for w in result.warnings if "会落入区域内" in w]
    assert (
        '企业（facilities.csv）看起来是 GCJ-02 坐标（在高德/腾讯地图上拾取）：请在 [facilities] 下设置 crs = "GCJ-02"'
        in hint
    )
    assert "[[zones]]" not in hint
    english = riskmap.check(with_overrides(riskmap.load_config(tiny_project), {"project.lang": "en"}))
    (hint,) = [w for w in english.warnings if "read as" in w]
    assert (
        'facilities (facilities.csv) look like GCJ-02 (picked in Gaode/Tencent maps): set crs = "GCJ-02" under [facilities]'
        in hint
    )
    assert "[[zones]]" not in hint


def test_zones_declared_gcj02_that_are_not_are_named_as_a_possible_mistake(tiny_project: Path):
    _with_edge_facilities(tiny_project)
    _shifted_zones_geojson(tiny_project, "GCJ-02")
    d = tiny_project.parent
    for kind in ("village", "town"):  # true shapes in the GeoJSON, declared GCJ-02 by mistake
        write = gpd.read_file(d / f"{kind}.geojson")
        write.geometry = unshift_geometries(write.geometry.to_numpy(), "GCJ-02")
        write.to_file(d / f"{kind}.geojson")
    _declare(tiny_project, "zones", "GCJ-02")
    result = riskmap.check(riskmap.load_config(tiny_project))
    (hint,) = [w for w in result.warnings if "会落入区域内" in w]
    assert '请删除 [[zones]] 下它的 crs = "GCJ-02"' in hint


def test_vector_facilities_in_gcj02_with_a_plant_boundary(tiny_project: Path):
    _with_edge_facilities(tiny_project)
    baseline = riskmap.check(riskmap.load_config(tiny_project))
    d = tiny_project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    points = gpd.points_from_xy(fac["lon"].astype(float), fac["lat"].astype(float))
    # Facility E0 given as its plant boundary: a 60 m square around its point.
    points = np.array(points, dtype=object)
    points[fac["facility_id"] == "E0"] = points[fac["facility_id"] == "E0"][0].buffer(
        0.0003, cap_style="square"
    )
    gpd.GeoDataFrame(
        fac.drop(columns=["lon", "lat"]),
        geometry=shift_geometries(points, "GCJ-02"),
        crs="EPSG:4326",
    ).to_file(d / "facilities.geojson")
    text = tiny_project.read_text(encoding="utf-8")
    text = text.replace(
        'path = "facilities.csv"\ncrs = "EPSG:4490"', 'path = "facilities.geojson"\ncrs = "GCJ-02"'
    )
    tiny_project.write_text(text, encoding="utf-8")
    result = riskmap.check(riskmap.load_config(tiny_project))
    assert result.rejects.empty, result.rejects["reason"].tolist()
    pd.testing.assert_frame_equal(_placement(result), _placement(baseline))


# --------------------------------------------------------------------------- real shapes: Xiamen

XIAMEN_CONFIG = """
[project]
name = "厦门测试"
district_code = "350200"

[facilities]
path = "facilities.csv"
crs = "EPSG:4490"

[risk_points]
path = "risk_points.csv"

[[zones]]
kind = "district"
path = "districts.geojson"
{crs}

[scoring.sectors]
"工贸" = ["ls_matrix"]

[supervision]
year = 2027
"""


@pytest.mark.parametrize("row", pd.read_csv(REFERENCE_POINTS).to_dict("records"), ids=lambda r: r["place"])
# The truth of the Xiamen tests comes from outside riskmap: the published GCJ-02 and BD-09 formulas
# (tests/published_shifts.py, checked here against published coordinate pairs) and the districts as shipped. A
# facility whose published GCJ-02 image lies well inside a shipped district is in that district; riskmap's own
# transforms never decide what is right.


def test_the_formulas_of_these_tests_give_the_published_pairs(row):
    shift = {"GCJ-02": published_gcj02, "BD-09": published_bd09}[row["system"]]
    lon, lat = shift(np.array([row["from_lon"]]), np.array([row["from_lat"]]))
    assert abs(lon[0] - row["to_lon"]) < 1e-9 and abs(lat[0] - row["to_lat"]) < 1e-9, (lon, lat)  # 0.1 mm


def _xiamen_gcj02() -> gpd.GeoDataFrame:
    """Xiamen's districts as echarts ships them (GCJ-02)."""
    gcj = gpd.read_file(XIAMEN)
    gcj.geometry = gcj.geometry.make_valid()
    return gcj


def _xiamen_bd09() -> gpd.GeoDataFrame:
    """The shipped districts moved on to BD-09 by the published formula, vertex by vertex."""
    gcj = _xiamen_gcj02()
    moved = [shapely.transform(g, lambda xy: np.column_stack(published_bd09(xy[:, 0], xy[:, 1])))
             for g in gcj.geometry]  # fmt: skip
    return gcj.set_geometry(moved)


def _near_borders() -> pd.DataFrame:
    """Facilities whose published GCJ-02 image is ~100 m inside a shipped district's border and 40 m or more from
    every other district, with that district's code; their coordinates (lon, lat) are true (WGS-84)."""
    gcj = _xiamen_gcj02()
    rows = []
    for code, geom in zip(gcj["code"], gcj.geometry, strict=True):
        ring = geom.buffer(-0.001).boundary
        for part in shapely.get_parts(ring):
            if part.length < 0.02:  # skip tiny islands
                continue
            for f in np.linspace(0, 1, 13)[:-1]:
                p = part.interpolate(f, normalized=True)
                rows.append((code, p.x, p.y))
    pts = pd.DataFrame(rows, columns=["code", "glon", "glat"])
    images = gpd.points_from_xy(pts["glon"], pts["glat"])
    others = [
        gcj.geometry[gcj["code"] != c].union_all().distance(g)
        for c, g in zip(pts["code"], images, strict=True)
    ]
    pts = pts[np.array(others) > 0.0004].reset_index(drop=True)
    pts["lon"], pts["lat"] = wgs84_of_published_gcj02(pts["glon"].to_numpy(), pts["glat"].to_numpy())
    return pts


def _xiamen_project(tmp_path: Path, zones: gpd.GeoDataFrame, crs: str | None) -> Path:
    pts = _near_borders()
    pts["facility_id"] = [f"X{i:03d}" for i in range(len(pts))]
    pts["name"] = "企业" + pts["facility_id"]
    pts["sector"] = "工贸"
    pts[["facility_id", "name", "sector", "lon", "lat"]].to_csv(tmp_path / "facilities.csv", index=False)
    pd.DataFrame(
        {
            "facility_id": pts["facility_id"],
            "point_id": "P",
            "point_name": "车间",
            "likelihood": 2,
            "severity": 2,
        }
    ).to_csv(tmp_path / "risk_points.csv", index=False)
    pts[["facility_id", "code"]].to_csv(tmp_path / "truth.csv", index=False)
    zones.to_file(tmp_path / "districts.geojson")
    config = XIAMEN_CONFIG.format(crs=f'crs = "{crs}"' if crs else "")
    (tmp_path / "riskmap.toml").write_text(textwrap.dedent(config), encoding="utf-8")
    return tmp_path / "riskmap.toml"


def _right_district(project: Path) -> None:
    result = riskmap.check(riskmap.load_config(project))
    truth = pd.read_csv(project.parent / "truth.csv", dtype=str).set_index("facility_id")["code"]
    assert result.rejects.empty, result.rejects["reason"].tolist()
    got = result.facilities.set_index("facility_id")["district_code"].astype(str)
    pd.testing.assert_series_equal(got.sort_index(), truth.sort_index(), check_names=False)


def test_real_gcj02_districts_declared_put_each_facility_in_its_district(tmp_path: Path):
    project = _xiamen_project(tmp_path, gpd.read_file(XIAMEN), "GCJ-02")
    assert len(pd.read_csv(tmp_path / "truth.csv")) >= 40
    _right_district(project)


def test_real_gcj02_districts_undeclared_give_the_warning(tmp_path: Path):
    project = _xiamen_project(tmp_path, gpd.read_file(XIAMEN), None)
    result = riskmap.check(riskmap.load_config(project))
    truth = pd.read_csv(tmp_path / "truth.csv", dtype=str).set_index("facility_id")["code"]
    got = result.facilities.set_index("facility_id")["district_code"].astype(str)
    misplaced = (got != truth.reindex(got.index)).sum() + len(result.rejects)
    assert misplaced > 0  # what the warning is about
    (hint,) = [w for w in result.warnings if "会落入区域内" in w]
    assert "zones[0]（区（县）图层，districts.geojson）看起来是 GCJ-02 坐标" in hint
    assert '请在 [[zones]] 下为该图层（以及同一来源的其他图层）设置 crs = "GCJ-02"' in hint


def test_real_districts_in_bd09_declared_put_each_facility_in_its_district(tmp_path: Path):
    project = _xiamen_project(tmp_path, _xiamen_bd09(), "BD-09")
    _right_district(project)


def test_real_districts_in_bd09_undeclared_give_the_bd09_warning(tmp_path: Path):
    project = _xiamen_project(tmp_path, _xiamen_bd09(), None)
    result = riskmap.check(riskmap.load_config(project))
    (hint,) = [w for w in result.warnings if "会落入区域内" in w]
    assert (
        "看起来是 BD-09 坐标" in hint
        and '请在 [[zones]] 下为该图层（以及同一来源的其他图层）设置 crs = "BD-09"' in hint
    )


# ------------------------------------------------------------------------- registers mixing systems (issue 24)


def _east_edge_rows(
    project: Path, systems: list[str], declared: list[str] | None = None, column=None
) -> None:
    """Facilities 150 m inside the district's east edge, each picked in its system's map app; ``declared``: the
    register's 坐标系 column as written (``column`` names it in the project file)."""
    from riskmap.io.crs import wgs84_to_bd09

    d = project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    lat = np.linspace(Y0 + 0.003, Y0 + 2 * D - 0.003, len(systems))
    lon = np.full(len(systems), X0 + 2 * D - 0.0016)
    rows = []
    for i, (system, x, y) in enumerate(zip(systems, lon, lat, strict=True)):
        convert = {"GCJ-02": wgs84_to_gcj02, "BD-09": wgs84_to_bd09}.get(system)
        (gx,), (gy,) = convert(np.array([x]), np.array([y])) if convert else ([x], [y])
        rows.append([f"M{i}", f"地图选点{i}", "工贸", f"{gx:.7f}", f"{gy:.7f}"])
    fac = pd.concat([fac, pd.DataFrame(rows, columns=fac.columns)], ignore_index=True)
    if declared is not None:
        fac["坐标系"] = [""] * (len(fac) - len(declared)) + declared
    fac.to_csv(d / "facilities.csv", index=False)
    with open(d / "risk_points.csv", "a", encoding="utf-8") as f:
        for i in range(len(systems)):
            f.write(f"M{i},Q{i},车间,2,2\n")
    if column:
        text = project.read_text(encoding="utf-8").replace(
            'crs = "EPSG:4490"\n', f'crs = "EPSG:4490"\n{column}\n', 1
        )
        project.write_text(text, encoding="utf-8")


def test_a_register_mixing_gcj02_and_bd09_is_named_not_one_system(tiny_project: Path):
    """Half the rows picked in Gaode, half in Baidu, declared CGCS2000: no single crs fits, the warning says so
    (issue 24: following a one-system advice misplaced the rows of the other, silently)."""
    _east_edge_rows(tiny_project, ["GCJ-02", "BD-09"] * 6)
    result = riskmap.check(riskmap.load_config(tiny_project))
    (hint,) = [w for w in result.warnings if "更吻合" in w or "看起来是" in w]
    assert hint.startswith(
        "6 行按 GCJ-02 读取时与其所在村（社区）区域更吻合，6 行按 BD-09，按声明的坐标系（EPSG:4490）则不然"
    ), hint
    assert "台账混用了多种坐标系：请在 [facilities] 下将 crs_column 设为" in hint
    assert "看起来是" not in hint


def test_a_register_declared_gcj02_with_baidu_rows_is_named(tiny_project: Path):
    """The advice of a one-system warning followed (crs = "GCJ-02"): the Baidu rows are still named."""
    _east_edge_rows(tiny_project, ["GCJ-02"] * 2 + ["BD-09"] * 6)
    _declare(tiny_project, "facilities", "GCJ-02")
    result = riskmap.check(riskmap.load_config(tiny_project))
    (hint,) = [w for w in result.warnings if "会落入区域内" in w or "更吻合" in w]
    assert "按 BD-09 读取" in hint and "则文件混用了坐标系：请改设 crs_column" in hint, hint


def test_the_crs_column_converts_each_row_and_nothing_is_left_to_suspect(tiny_project: Path):
    systems = ["GCJ-02", "BD-09"] * 6
    _east_edge_rows(
        tiny_project, systems, ["高德" if s == "GCJ-02" else "百度" for s in systems], 'crs_column = "坐标系"'
    )
    result = riskmap.check(riskmap.load_config(tiny_project))
    assert result.rejects.empty, result.rejects["reason"].tolist()
    assert not [w for w in result.warnings if "更吻合" in w or "会落入区域内" in w], result.warnings


def _written_wrong(tiny_project: Path) -> None:
    """Four rows picked in Gaode maps near the district's south edge, written 百度, with their village (所属村)."""
    d = tiny_project.parent
    lon = np.array([X0 + 0.004, X0 + 0.012, X0 + D + 0.004, X0 + D + 0.012])
    lat = np.full(4, Y0 + 0.0016)
    glon, glat = wgs84_to_gcj02(lon, lat)
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    fac["坐标系"], fac["所属村"] = "", ""
    rows = [
        [f"W{i}", f"错标{i}", "工贸", f"{x:.7f}", f"{y:.7f}", "百度", "东村" if i < 2 else "西村"]
        for i, (x, y) in enumerate(zip(glon, glat, strict=True))
    ]
    pd.concat([fac, pd.DataFrame(rows, columns=fac.columns)]).to_csv(d / "facilities.csv", index=False)
    keys = 'crs_column = "坐标系"\nzone_column = "所属村"'
    text = tiny_project.read_text(encoding="utf-8").replace(
        'crs = "EPSG:4490"\n', f'crs = "EPSG:4490"\n{keys}\n', 1
    )
    tiny_project.write_text(text, encoding="utf-8")


def test_rows_whose_system_is_written_wrong_are_named_by_their_village(tiny_project: Path):
    """With a village column: rows written 百度 but picked in Gaode land in another village; read as GCJ-02 (and
    in no other way) they are in their own. Their rows are named, and the column to check."""
    _written_wrong(tiny_project)
    result = riskmap.check(riskmap.load_config(tiny_project))
    (hint,) = [w for w in result.warnings if "更吻合" in w]
    assert hint.startswith("4 行按 GCJ-02 读取时与其所在村（社区）区域更吻合，按其 坐标系 所写的坐标系则不然（所属村 "
                           "写明了其所在村（社区）；例如 GCJ-02 读法：第 8, 9, 10 行）"), hint  # fmt: skip
    assert "请核对这些行的 坐标系" in hint
