from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from riskmap.errors import CRSError, InputError
from riskmap.i18n import language
from riskmap.io import crs
from riskmap.io.atomic import atomic_path
from riskmap.io.tables import detect_encoding, read_table
from riskmap.io.vector import read_vector

PUBLISHED = pd.read_csv(Path(__file__).parent / "data" / "shift_reference_points.csv").to_dict("records")


@pytest.mark.parametrize("row", PUBLISHED, ids=[f"{r['system']} {r['place']}" for r in PUBLISHED])
def test_shifts_give_the_published_pairs(row):
    """Pairs published with other implementations (tests/data/README.md): WGS-84 to GCJ-02, GCJ-02 to BD-09."""
    shift = {"GCJ-02": crs.wgs84_to_gcj02, "BD-09": crs.gcj02_to_bd09}[row["system"]]
    lon, lat = shift(np.array([row["from_lon"]]), np.array([row["from_lat"]]))
    assert lon[0] == pytest.approx(row["to_lon"], abs=1e-12)
    assert lat[0] == pytest.approx(row["to_lat"], abs=1e-12)


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
    with pytest.raises(CRSError, match=r"facilities\.crs：'WGS-84x' 不是已知的坐标系"):
        crs.parse_crs("WGS-84x", "facilities.crs")
    with language("en"), pytest.raises(CRSError, match=r"facilities\.crs: 'WGS-84x' is not a known CRS"):
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
    with pytest.raises(InputError, match=r"missing\.csv：找不到文件"):
        read_table(tmp_path / "missing.csv")
    odd = tmp_path / "f.dbf"
    odd.write_bytes(b"x")
    with pytest.raises(InputError, match=r"不支持的表格格式 '\.dbf'"):
        read_table(odd)
    with language("en"), pytest.raises(InputError, match=r"unsupported table format '\.dbf'; use \.csv"):
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
    with pytest.raises(CRSError, match=r"图层没有坐标系；请在项目文件中声明"):
        read_vector(shp, where="facilities")
    assert read_vector(shp, crs="EPSG:4490", where="facilities").crs.to_epsg() == 4490
    with pytest.raises(InputError, match=r"没有图层 'x'（facilities\.layer）"):
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
        InputError, match=r"但第 4 行不是 UTF-8（可能是从其他导出文件粘贴来的 GBK：'3,丙公司'）"
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
    with pytest.raises(InputError, match=r"第 4 行有 3 个值，而表头有 2 个"):
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
        "f.gpkg：已将 1 个单元格中的制表符/换行替换为空格并删除控制字符（第 1 行）；输出文件无法容纳这些字符"
    ]


# Rasters whose nodata is not declared (issue 23): -9999 cells gave negative persons and village populations.


def _raster(path: Path, data: np.ndarray, nodata=None) -> Path:
    import rasterio
    from rasterio.transform import from_origin

    with rasterio.open(
        path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype=data.dtype,
        crs="EPSG:3857", transform=from_origin(0, data.shape[0], 1, 1), nodata=nodata,
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    return path


@pytest.mark.parametrize(
    ("dtype", "bad", "shown"),
    [
        ("float32", -9999.0, "-9999"),
        ("float32", np.finfo("float32").min, "-3.40282e+38"),  # float32's lowest value, GDAL's usual fill
        ("int16", -32768, "-32768"),
        ("float32", -5.0, "-5"),  # a negative count of persons is never data
        ("float32", np.finfo("float32").max, "3.40282e+38"),
        ("uint16", 65535, "65535"),
    ],
)
def test_undeclared_nodata_cells_are_nodata(tmp_path: Path, dtype, bad, shown):
    from shapely.geometry import box

    from riskmap.io.raster import raster_warnings, zonal_sum_coverage

    data = np.full((4, 4), 2, dtype=dtype)
    data[:, :2] = bad  # the western half
    tif = _raster(tmp_path / "pop.tif", data)
    sums, share = zonal_sum_coverage(tif, gpd.GeoSeries([box(0, 0, 4, 4), box(0, 0, 2, 4)], crs=3857))
    assert sums.tolist() == [16.0, 0.0]  # the eastern half's 8 cells of 2 persons; nothing from the rest
    assert share.tolist() == [0.5, 0.0]  # and the western half is unknown, not 0 persons
    [warning] = raster_warnings(tif)
    assert warning.startswith(f"pop.tif：16 个像元中有 8 个取值为 {shown}（8 个像元），且栅格未声明无数据值")
    assert "按无数据处理" in warning


def test_negative_cells_besides_the_declared_nodata_are_nodata(tmp_path: Path):
    from shapely.geometry import box

    from riskmap.io.raster import raster_warnings, zonal_sum_coverage

    data = np.full((4, 4), 1.0, dtype="float32")
    data[0, :] = -9999.0  # declared
    data[1, 0] = -1.0  # not declared, still not persons
    tif = _raster(tmp_path / "pop.tif", data, nodata=-9999.0)
    sums, _ = zonal_sum_coverage(tif, gpd.GeoSeries([box(0, 0, 4, 4)], crs=3857))
    assert sums.tolist() == [11.0]
    [warning] = raster_warnings(tif)
    assert warning.startswith(
        "pop.tif：除已声明的无数据值（-9999）外，16 个像元中还有 1 个取值为 -1（1 个像元）"
    )
    with language("en"):
        [warning] = raster_warnings(tif)
    assert warning.startswith("pop.tif: 1 of 16 cells hold -1 (1 cells) besides the declared nodata (-9999)")


def test_a_clean_raster_gives_no_warning(tmp_path: Path):
    from riskmap.io.raster import raster_warnings

    data = np.zeros((3, 3), dtype="float32")
    assert raster_warnings(_raster(tmp_path / "pop.tif", data, nodata=-1.0)) == []
