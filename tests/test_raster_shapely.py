"""The population sums without exactextract (Linux ARM64 has no wheel of it) equal exactextract's."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from rasterio.transform import from_origin
from shapely.geometry import Polygon, box

from riskmap._resources import demo_dir
from riskmap.io.raster import zonal_sum_coverage

pytest.importorskip("exactextract", reason="the reference sums come from exactextract")


def _raster(path, values, transform, crs="EPSG:3857", nodata=None, scale=1.0, offset=0.0):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=values.shape[1],
        height=values.shape[0],
        count=1,
        dtype=values.dtype,
        crs=crs,
        transform=transform,
        nodata=nodata,
    ) as dst:
        dst.write(values[np.newaxis])
        if scale != 1.0 or offset != 0.0:
            dst.scales, dst.offsets = (scale,), (offset,)
    return path


def _same(path, polygons):
    exact = zonal_sum_coverage(path, polygons, "exactextract")
    fallback = zonal_sum_coverage(path, polygons, "shapely")
    np.testing.assert_allclose(fallback[0], exact[0], rtol=1e-7, atol=1e-6)
    np.testing.assert_allclose(fallback[1], exact[1], rtol=1e-7, atol=1e-7)
    return fallback


EDGE_CASES = [
    box(2.3, 1.7, 6.1, 5.2),  # straddles cells
    box(8.5, 8.5, 14, 14),  # partly outside the raster
    box(50, 50, 60, 60),  # wholly outside
    shapely.Point(5, 5).buffer(3.3),  # a round buffer, as the GB 18218 radius
    Polygon([(1, 1), (9, 1), (9, 9), (1, 9)], [[(3, 3), (7, 3), (7, 7), (3, 7)]]),  # a hole
    box(4.0, 4.0, 5.0, 5.0),  # exactly one cell
]


def test_shapely_sums_equal_exactextract_on_nodata_fills_and_edges(tmp_path):
    rng = np.random.default_rng(29)
    values = rng.uniform(0, 50, (10, 10)).astype("float32")
    values[2, 3] = -9999.0  # a fill value that is not declared: no count
    values[6, 6] = 255.0
    values[7, 1] = -1.0
    tif = _raster(tmp_path / "p.tif", values, from_origin(0, 10, 1, 1), nodata=255.0)
    sums, share = _same(tif, gpd.GeoSeries(EDGE_CASES, crs=3857))
    assert share[2] == 0.0 and sums[2] == 0.0
    assert 0 < share[1] < 1


def test_shapely_sums_equal_exactextract_with_scale_and_geographic_crs(tmp_path):
    values = np.arange(1, 37, dtype="int16").reshape(6, 6)
    tif = _raster(
        tmp_path / "g.tif", values, from_origin(119.5, 30.3, 0.01, 0.01), crs="EPSG:4490", scale=0.5
    )
    pts = gpd.GeoSeries(gpd.points_from_xy([119.52, 119.545, 119.7], [30.28, 30.26, 30.0]), crs=4490)
    sums, _ = _same(tif, pts.to_crs(32650).buffer(900))
    assert sums[0] > 0 and sums[2] == 0.0


def test_shapely_sums_equal_exactextract_on_the_demo_population():
    f = pd.read_csv(demo_dir() / "facilities.csv").dropna(subset=["lon", "lat"]).iloc[::10]
    points = gpd.GeoSeries(gpd.points_from_xy(f.lon, f.lat), crs=4490).to_crs(32650)
    sums, _ = _same(demo_dir() / "population.tif", points.buffer(500))
    assert sums.sum() > 1000
