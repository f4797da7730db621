from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from riskmap.errors import CRSError, InputError
from riskmap.io import crs
from riskmap.io.atomic import atomic_path
from riskmap.io.tables import detect_encoding, read_table
from riskmap.io.vector import read_vector


def test_gcj02_published_vector():
    lon, lat = crs.wgs84_to_gcj02(np.array([116.404]), np.array([39.915]))
    assert lon[0] == pytest.approx(116.41024449916938, abs=1e-12)
    assert lat[0] == pytest.approx(39.91640428150164, abs=1e-12)


@pytest.mark.parametrize(("lon", "lat"), [(116.404, 39.915), (119.6, 32.2), (87.6, 43.8), (121.47, 31.23)])
def test_gcj02_and_bd09_round_trips_below_a_millimetre(lon, lat):
    back = crs.gcj02_to_wgs84(*crs.wgs84_to_gcj02(np.array([lon]), np.array([lat])))
    assert abs(back[0][0] - lon) < 1e-8 and abs(back[1][0] - lat) < 1e-8  # ~1 mm
    back = crs.bd09_to_wgs84(*crs.wgs84_to_bd09(np.array([lon]), np.array([lat])))
    assert abs(back[0][0] - lon) < 1e-8 and abs(back[1][0] - lat) < 1e-8


def test_no_offset_outside_china():
    lon, lat = crs.wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))
    assert (lon[0], lat[0]) == (2.35, 48.85)


def test_parse_crs():
    assert crs.parse_crs("gcj02", "x") == "GCJ-02"
    assert crs.parse_crs("BD-09", "x") == "BD-09"
    assert crs.parse_crs("4490", "x").to_epsg() == 4490
    with pytest.raises(CRSError, match=r"facilities\.crs: 'WGS-84x' is not a known CRS"):
        crs.parse_crs("WGS-84x", "facilities.crs")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_are_detected(tmp_path: Path, encoding):
    p = tmp_path / "f.csv"
    pd.DataFrame({"名称": ["滨江化工有限公司"], "lon": ["119.6"]}).to_csv(p, index=False, encoding=encoding)
    df = read_table(p)
    assert list(df.columns) == ["_row", "名称", "lon"]
    assert df.iloc[0]["名称"] == "滨江化工有限公司" and df.iloc[0]["_row"] == 2
    assert detect_encoding(p) in {"utf-8-sig", "gb18030"}


def test_xlsx_is_read_as_text(tmp_path: Path):
    p = tmp_path / "f.xlsx"
    pd.DataFrame({"id": ["007"], "q": [1.5]}).to_excel(p, index=False)
    df = read_table(p)
    assert df.iloc[0]["id"] == "007" and df.iloc[0]["q"] == "1.5"


def test_table_errors(tmp_path: Path):
    with pytest.raises(InputError, match=r"file not found"):
        read_table(tmp_path / "missing.csv")
    odd = tmp_path / "f.dbf"
    odd.write_bytes(b"x")
    with pytest.raises(InputError, match=r"unsupported table format"):
        read_table(odd)


def test_vector_without_crs_needs_a_declared_one(tmp_path: Path):
    import geopandas as gpd
    from shapely.geometry import Point

    p = tmp_path / "f.geojson"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(119.6, 32.2)]).to_file(p)
    # GeoJSON implies WGS84; a shapefile without .prj has no CRS at all.
    shp = tmp_path / "f.shp"
    gpd.GeoDataFrame({"a": [1]}, geometry=[Point(119.6, 32.2)]).to_file(shp)
    shp.with_suffix(".prj").unlink(missing_ok=True)
    with pytest.raises(CRSError, match=r"has no CRS; declare it"):
        read_vector(shp, where="facilities")
    assert read_vector(shp, crs="EPSG:4490", where="facilities").crs.to_epsg() == 4490
    with pytest.raises(InputError, match=r"no layer 'x'"):
        read_vector(tmp_path / "f.geojson", layer="x", where="facilities")


def test_atomic_path_keeps_the_old_file_on_failure(tmp_path: Path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match=r"boom"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_a_gbk_line_in_a_utf8_csv_is_named(tmp_path: Path):
    p = tmp_path / "f.csv"
    p.write_bytes("id,名称\n1,甲公司\n2,乙公司\n".encode() + "3,丙公司\n".encode("gbk"))
    with pytest.raises(
        InputError, match=r"UTF-8 except line 4, which is not UTF-8 \(probably GBK.*'3,丙公司'"
    ):
        read_table(p)


def test_a_gbk_csv_whose_short_lines_look_like_utf8_is_gbk(tmp_path: Path):
    p = tmp_path / "f.csv"
    # "名" in GBK (C3 FB) is not UTF-8, "是" alone (CA C7) is not either; a GBK majority is read as GBK.
    p.write_bytes("id,名称,涉爆\n1,甲化工有限公司,是\n2,乙机械厂,否\n".encode("gbk"))
    assert detect_encoding(p) == "gb18030"
    assert read_table(p).iloc[0]["名称"] == "甲化工有限公司"


def test_csv_row_with_an_extra_value_names_its_line(tmp_path: Path):
    p = tmp_path / "f.csv"
    p.write_text("名单\nid,name\n1,a\n2,b,c\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 4 has 3 values but the header has 2"):
        read_table(p, expect=["id"])


def test_vector_attributes_lose_control_characters(tmp_path: Path):
    import geopandas as gpd
    from shapely.geometry import Point

    from riskmap.io.tables import READ_WARNINGS

    p = tmp_path / "f.gpkg"
    gpd.GeoDataFrame(
        {"name": ["甲\x01厂", "乙厂"], "n": [1, 2]}, geometry=[Point(119.6, 32.2)] * 2, crs="EPSG:4490"
    ).to_file(p)
    gdf = read_vector(p, where="facilities")
    assert gdf["name"].tolist() == ["甲厂", "乙厂"]
    assert gdf.attrs[READ_WARNINGS] == [
        "f.gpkg: replaced tabs/line breaks with spaces and removed control characters in 1 cell (rows 1); "
        "outputs cannot hold them"
    ]
