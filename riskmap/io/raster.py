"""Raster inputs: zonal sums (population within a radius) with exactextract."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np

from riskmap.errors import InputError

__all__ = ["zonal_sum"]


def zonal_sum(path: Path, polygons: gpd.GeoSeries) -> np.ndarray:
    """Sum of the raster under each polygon, weighted by the covered fraction of each cell.

    Polygons are reprojected to the raster's CRS first. Cells with nodata count as zero.
    """
    import rasterio
    from exactextract import exact_extract

    if not path.exists():
        raise InputError(f"{path}: raster not found; check the path in the project file")
    if len(polygons) == 0:
        return np.zeros(0)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(f"{path}: the raster has no CRS; write one with gdal_edit.py -a_srs")
            shapes = gpd.GeoDataFrame(geometry=polygons.to_crs(src.crs).values)
            shapes["_i"] = np.arange(len(shapes))
            out = exact_extract(src, shapes, "sum", include_cols=["_i"], output="pandas")
    except rasterio.errors.RasterioIOError as err:
        raise InputError(f"{path}: cannot read the raster: {err}") from None
    return out.sort_values("_i")["sum"].fillna(0.0).to_numpy(dtype=float)
