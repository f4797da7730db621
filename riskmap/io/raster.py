"""Raster inputs: zonal sums (population within a radius) with exactextract."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from riskmap.errors import InputError

__all__ = ["zonal_sum", "zonal_sum_coverage", "raster_bounds"]


def zonal_sum(path: Path, polygons: gpd.GeoSeries) -> np.ndarray:
    """Sum of the raster under each polygon, weighted by the covered fraction of each cell.

    Polygons are reprojected to the raster's CRS first. Cells with nodata count as zero.
    """
    return zonal_sum_coverage(path, polygons)[0]


def zonal_sum_coverage(path: Path, polygons: gpd.GeoSeries) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the raster under each polygon, and the share of each polygon's area the raster covers.

    The share counts only cells with data: a polygon outside the raster's extent, or over nodata cells, has
    share 0 (its sum, 0, says nothing about the population there).

    Examples
    --------
    A polygon half over the raster has share 0.5; one far away has share 0:

    >>> import rasterio, tempfile
    >>> from rasterio.transform import from_origin
    >>> from shapely.geometry import box
    >>> tif = Path(tempfile.mkdtemp()) / "p.tif"
    >>> with rasterio.open(tif, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32",
    ...                    crs="EPSG:3857", transform=from_origin(0, 4, 1, 1)) as dst:
    ...     dst.write(np.ones((1, 4, 4), dtype="float32"))
    >>> sums, share = zonal_sum_coverage(tif, gpd.GeoSeries([box(2, 0, 6, 4), box(90, 90, 91, 91)], crs=3857))
    >>> sums.tolist(), share.round(3).tolist()
    ([8.0, 0.0], [0.5, 0.0])
    """
    import rasterio
    import shapely
    from exactextract import exact_extract

    if not path.exists():
        raise InputError(f"{path}: raster not found; check the path in the project file")
    if len(polygons) == 0:
        return np.zeros(0), np.zeros(0)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(f"{path}: the raster has no CRS; write one with gdal_edit.py -a_srs")
            shapes = gpd.GeoDataFrame(geometry=polygons.to_crs(src.crs).values)
            shapes["_i"] = np.arange(len(shapes))
            # "count" is the sum of the covered fractions of the cells with data, in cells.
            out = exact_extract(src, shapes, ["sum", "count"], include_cols=["_i"], output="pandas")
            cell_area = abs(src.transform.a * src.transform.e - src.transform.b * src.transform.d)
    except rasterio.errors.RasterioIOError as err:
        raise InputError(f"{path}: cannot read the raster: {err}") from None
    out = out.sort_values("_i")
    sums = out["sum"].fillna(0.0).to_numpy(dtype=float)
    # Areas in the raster's CRS on both sides (degrees² for a geographic raster: a ratio over a few km is fine).
    area = shapely.area(shapes.geometry.to_numpy())
    covered = out["count"].fillna(0.0).to_numpy(dtype=float) * cell_area
    share = np.divide(covered, area, out=np.ones_like(area), where=area > 0)
    return sums, np.clip(share, 0.0, 1.0)


def raster_bounds(path: Path) -> tuple[float, float, float, float]:
    """The raster's extent as (west, south, east, north) in CGCS2000 longitude/latitude."""
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.open(path) as src:
        if src.crs is None:
            raise InputError(f"{path}: the raster has no CRS; write one with gdal_edit.py -a_srs")
        w, s, e, n = transform_bounds(src.crs, "EPSG:4490", *src.bounds)
    return float(w), float(s), float(e), float(n)
