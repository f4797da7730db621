"""Zone layers as offices have them (issue 24): codes damaged by Excel/DBF, GBK shapefiles without a .cpg, village
shapefiles in a CGCS2000 Gauss-Krüger zone, and the town-code warning quoting the project's own codes."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from conftest import TOWNS, VILLAGES
from shapely.geometry import Polygon

import riskmap
from riskmap.columns import ZONE_CODE
from riskmap.config import config_from_dict
from riskmap.errors import InputError
from riskmap.i18n import language
from riskmap.io.crs import metric_crs
from riskmap.io.vector import read_vector
from riskmap.zone_layers import division_code_warnings, load_zones, zone_overlaps

#: Villages of another county than the tiny demo (329901): 同安区 (Xiamen), 350212.
CODES = ["350212001001", "350212001002", "350212002001", "350212002002"]
NAMES = ["云田社区", "溪山村", "洪塘村", "莲花社区"]


def _villages(tmp_path: Path, codes, names=NAMES, crs="EPSG:4490", encoding: str | None = None,
              cpg: bool = True, ldid: int | None = None, name: str = "villages.shp") -> Path:  # fmt: skip
    gdf = gpd.GeoDataFrame(
        {"XZQDM": codes, "XZQMC": names}, geometry=[g for _, _, g in VILLAGES], crs="EPSG:4490"
    ).to_crs(crs)
    path = tmp_path / name
    pyogrio.write_dataframe(gdf, path, encoding=encoding)
    if not cpg and path.with_suffix(".cpg").exists():
        path.with_suffix(".cpg").unlink()
    if ldid is not None:
        dbf = path.with_suffix(".dbf")
        raw = bytearray(dbf.read_bytes())
        raw[29] = ldid
        dbf.write_bytes(bytes(raw))
    return path


def _config(path: Path, **extra):
    return config_from_dict(
        {
            "facilities": {"path": "f.csv", "crs": "EPSG:4490"},
            "zones": [{"kind": "village", "path": str(path), "code": "XZQDM", "name": "XZQMC", **extra}],
        }
    )


def test_codes_stored_as_numbers_are_read_as_the_office_wrote_them(tmp_path: Path):
    path = _villages(tmp_path, [float(c) for c in CODES])
    assert pyogrio.read_dataframe(path)["XZQDM"].astype(str).iloc[0] == "350212001001.0"  # what GDAL gives
    warnings: list[str] = []
    layers = load_zones(_config(path), warnings)
    assert layers["village"]["zone_code"].tolist() == CODES
    note = [w for w in warnings if "以数字存储" in w]
    assert note and "350212001001.0" in note[0] and "已读作 350212001001" in note[0], warnings


def test_codes_as_text_with_a_trailing_point_zero_are_repaired(tmp_path: Path):
    path = _villages(tmp_path, [c + ".0" for c in CODES])
    warnings: list[str] = []
    assert load_zones(_config(path), warnings)["village"]["zone_code"].tolist() == CODES
    assert any("以数字存储" in w for w in warnings), warnings


def test_codes_in_scientific_notation_are_one_clear_error(tmp_path: Path):
    path = _villages(tmp_path, ["3.50212E+11", "3.50212E+11", CODES[2], "3.50212E+11"])
    with pytest.raises(InputError, match=r"villages\.shp：3 个村（社区）代码是科学计数法"
                                         r"（3\.50212E\+11；要素 1, 2, 4）.*末几位数字已丢失"):  # fmt: skip
        load_zones(_config(path))
    with language("en"), pytest.raises(InputError, match=r"villages\.shp: 3 village codes are in scientific notation "
                                         r"\(3\.50212E\+11; features 1, 2, 4\).*digits are lost"):  # fmt: skip
        load_zones(_config(path))


def test_a_gbk_shapefile_without_cpg_is_read_as_gbk(tmp_path: Path):
    path = _villages(tmp_path, CODES, encoding="GBK", cpg=False, ldid=0)
    assert not pyogrio.read_dataframe(path)["XZQMC"].isin(NAMES).any()  # GDAL's default: mojibake
    warnings: list[str] = []
    gdf = read_vector(path, where="zones[0]", warnings=warnings)
    assert gdf["XZQMC"].tolist() == NAMES
    assert any("villages.shp" in w and "GB18030" in w and ".cpg" in w for w in warnings), warnings


def test_a_utf8_shapefile_without_cpg_is_read_as_utf8(tmp_path: Path):
    path = _villages(tmp_path, CODES, encoding="UTF-8", cpg=False, ldid=0)
    warnings: list[str] = []
    assert read_vector(path, where="zones[0]", warnings=warnings)["XZQMC"].tolist() == NAMES


def test_a_shapefile_with_cpg_is_read_as_it_says(tmp_path: Path):
    path = _villages(tmp_path, CODES, encoding="GBK")  # pyogrio writes GBK and a .cpg saying so
    warnings: list[str] = []
    assert read_vector(path, where="zones[0]", warnings=warnings)["XZQMC"].tolist() == NAMES
    assert warnings == []


def test_town_code_warning_quotes_the_projects_own_codes():
    out = division_code_warnings({"village": pd.Series(CODES), "town": pd.Series(["350212001", "350212002"])})
    assert len(out) == 1 and "329901" not in out[0]
    assert "（乡镇 350212001000）" in out[0] and out[0].startswith("乡镇（街道）："), out


@pytest.mark.parametrize("epsg", [4548, 4527, 4554, 4513, 4533])
def test_villages_in_a_gauss_krueger_zone_end_to_end(tiny_project: Path, epsg: int):
    """Village and town shapefiles written by pyogrio in a CGCS2000 3-degree Gauss-Krüger CRS (EPSG:4527-4554
    without, 4513-4533 with the zone number in front of the easting): the same villages and levels as in
    EPSG:4490. The tiny district lies at 119.6E: zones far from it are distorted, never wrong."""
    baseline = riskmap.check(riskmap.load_config(tiny_project))
    d = tiny_project.parent
    for kind, zones in (("village", VILLAGES), ("town", TOWNS)):
        gdf = gpd.GeoDataFrame(
            {"code": [c for c, _, _ in zones], "name": [n for _, n, _ in zones]},
            geometry=[g.segmentize(0.001) for _, _, g in zones],
            crs="EPSG:4490",
        ).to_crs(f"EPSG:{epsg}")
        pyogrio.write_dataframe(gdf, d / f"{kind}.shp", encoding="GBK")
        assert pyogrio.read_info(d / f"{kind}.shp")["crs"] == f"EPSG:{epsg}"
    text = tiny_project.read_text(encoding="utf-8")
    for kind in ("village", "town"):
        text = text.replace(f'path = "boundaries.gpkg"\nlayer = "{kind}"', f'path = "{kind}.shp"', 1)
    tiny_project.write_text(text, encoding="utf-8")
    result = riskmap.check(riskmap.load_config(tiny_project))
    assert result.rejects.empty, result.rejects["reason"].tolist()
    cols = ["village_code", "town_code", "zone_name", "level"]
    got = result.facilities.set_index("facility_id")[cols].sort_index()
    pd.testing.assert_frame_equal(got, baseline.facilities.set_index("facility_id")[cols].sort_index())


def test_validate_lists_damaged_zone_codes_with_the_other_problems(tiny_project: Path):
    """riskmap validate's file checks name the codes Excel lost, beside a facility file's problem."""
    from riskmap.pipeline import preflight

    d = tiny_project.parent
    _villages(d, ["3.29901E+11"] * 4, names=[n for _, n, _ in VILLAGES], name="village.shp")
    text = tiny_project.read_text(encoding="utf-8")
    text = text.replace(
        'path = "boundaries.gpkg"\nlayer = "village"', 'path = "village.shp"\ncode = "XZQDM"\nname = "XZQMC"'
    )
    tiny_project.write_text(
        text.replace('crs = "EPSG:4490"\n', 'crs = "EPSG:4490"\nzone_column = "所属村"\n')
    )
    problems = preflight(riskmap.load_config(tiny_project))
    assert any("村（社区）代码是科学计数法" in p for p in problems), problems
    assert any("没有“所属村”列" in p for p in problems), problems


def test_overlap_check_survives_zones_the_metric_projection_makes_invalid():
    # Real boundaries (a county layer spanning several UTM zones) hold long straight edges in degrees next to
    # densely noded ones: projected to one UTM zone, an edge 5° from its meridian bows by ~10 km and a vertex
    # 110 m inside it ends up outside: the zone, valid in degrees, self-intersects in metres. The overlap check
    # intersected such shapes and the run stopped with a GEOS TopologyException (an internal error).
    tooth = Polygon([(100, 30), (110, 30), (110, 31), (105.01, 31), (105, 30.001), (104.99, 31), (100, 31)])
    z = gpd.GeoDataFrame(
        {ZONE_CODE: ["a", "b"]}, geometry=[tooth, Polygon.from_bounds(104.9, 29.9, 105.1, 30.5)], crs=4490
    )
    assert z.is_valid.all() and not z.to_crs(metric_crs(z)).is_valid.all()
    msg = zone_overlaps(z, "village", "v.gpkg")
    assert msg is not None and msg.startswith("v.gpkg：有 1 对村（社区）区域相互重叠（a 与 b：")
