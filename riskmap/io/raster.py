"""Raster inputs: zonal sums (population within a radius) with exactextract.

Where exactextract has no wheel (Linux ARM64: Kylin and UOS on Phytium/Kunpeng; pyproject.toml leaves it out
there), the same sums come from shapely: each polygon intersected with the cells of its window, vectorised
(:func:`zonal_sum_coverage`'s ``method="shapely"``; slower, equal to exactextract's to 1e-9).

A population raster counts persons: a cell below 0, or holding a fill value (-9999, float32's lowest, the
largest value of its type), is no count, whether or not the file declares it as nodata. Such cells are read as
nodata (the population there is unknown), never summed: -9999 persons within 500 m would lower GB 18218's α,
and a village of -740,000 persons would fall to the bottom of an index. :func:`raster_warnings` says so once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np

from riskmap.errors import InputError
from riskmap.i18n import tr

__all__ = ["zonal_sum", "zonal_sum_coverage", "raster_bounds", "raster_warnings", "not_counts"]


def not_counts(values: np.ndarray) -> np.ndarray:
    """Which cells cannot be counts of persons (GDAL's fills for "no data" among them).

    Negative (-9999, -32768, float32's lowest), not finite, or the largest value of a float or an unsigned
    16/32-bit cell type.

    >>> not_counts(np.array([0, 2.5, -9999, -1e-3, np.inf, np.nan, np.finfo("float32").max], dtype="float32")).tolist()
    [False, False, True, True, True, True, True]
    >>> not_counts(np.array([0, 7, 65535], dtype="uint16")).tolist()
    [False, False, True]
    """
    if np.issubdtype(values.dtype, np.integer):
        top = np.iinfo(values.dtype).max
        # The largest value is a fill only in wide types: a uint8 grid may saturate at 255 persons a cell.
        wide = values.dtype.itemsize >= 2 and np.iinfo(values.dtype).min == 0
        return (values < 0) | ((values == top) if wide else False)
    return ~np.isfinite(values) | (values < 0) | (values == np.finfo(values.dtype).max)


def zonal_sum(path: Path, polygons: gpd.GeoSeries) -> np.ndarray:
    """Sum of the raster under each polygon, weighted by the covered fraction of each cell.

    Polygons are reprojected to the raster's CRS first. Cells with nodata count as zero.
    """
    return zonal_sum_coverage(path, polygons)[0]


def zonal_sum_coverage(
    path: Path, polygons: gpd.GeoSeries, method: Literal["exactextract", "shapely"] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sum of the raster under each polygon, and the share of each polygon's area the raster covers.

    The share counts only cells with data: a polygon outside the raster's extent, or over nodata cells, has
    share 0 (its sum, 0, says nothing about the population there). ``method`` None is exactextract where it is
    installed, else shapely.

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

    if not path.exists():
        raise InputError(tr("{file}: raster not found; check the path in the project file", file=path))
    if len(polygons) == 0:
        return np.zeros(0), np.zeros(0)
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                raise InputError(
                    tr("{file}: the raster has no CRS; write one with gdal_edit.py -a_srs", file=path)
                )
            geoms = polygons.to_crs(src.crs).to_numpy()
            # counts: the sum of the covered fractions of the cells with data, in cells.
            if (method or _default_method()) == "exactextract":
                sums, counts = _sums_exactextract(src, geoms)
            else:
                sums, counts = _sums_shapely(src, geoms)
            cell_area = abs(src.transform.a * src.transform.e - src.transform.b * src.transform.d)
    except rasterio.errors.RasterioIOError as err:
        raise InputError(tr("{file}: cannot read the raster: {why}", file=path, why=err)) from None
    # Areas in the raster's CRS on both sides (degrees² for a geographic raster: a ratio over a few km is fine).
    area = shapely.area(geoms)
    covered = counts * cell_area
    share = np.divide(covered, area, out=np.ones_like(area), where=area > 0)
    return sums, np.clip(share, 0.0, 1.0)


def _default_method() -> Literal["exactextract", "shapely"]:
    import importlib.util

    return "exactextract" if importlib.util.find_spec("exactextract") is not None else "shapely"


def _sums_exactextract(src: Any, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per polygon: the covered-fraction-weighted sum of the cells with data, and of their fractions."""
    from exactextract import exact_extract

    shapes = gpd.GeoDataFrame({"_i": np.arange(len(geoms))}, geometry=geoms, crs=src.crs)
    out = exact_extract(_counts(src), shapes, ["sum", "count"], include_cols=["_i"], output="pandas")
    out = out.sort_values("_i")
    return out["sum"].fillna(0.0).to_numpy(dtype=float), out["count"].fillna(0.0).to_numpy(dtype=float)


#: Polygons whose cells the shapely path reads and intersects at once (bounds the memory of one batch).
_BATCH = 2000


def _sums_shapely(src: Any, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`_sums_exactextract` gives, by intersecting each polygon with the cells of its window."""
    sums, counts = np.zeros(len(geoms)), np.zeros(len(geoms))
    windows = _cell_windows(src, geoms)
    # Neighbours in one batch: sorted by window, a batch's cells come from one compact part of the raster.
    order = np.lexsort((windows[:, 2], windows[:, 0]))
    for start in range(0, len(order), _BATCH):
        batch = order[start : start + _BATCH]
        sums[batch], counts[batch] = _batch_sums(src, geoms[batch], windows[batch])
    return sums, counts


def _cell_windows(src: Any, geoms: np.ndarray) -> np.ndarray:
    """Per polygon, the cells its bounding box touches: (row0, row1, col0, col1), clipped to the raster."""
    import shapely

    b = shapely.bounds(geoms)
    xs, ys = b[:, [0, 2, 0, 2]], b[:, [1, 1, 3, 3]]
    cols, rows = _apply(~src.transform, xs, ys)
    with np.errstate(invalid="ignore"):  # an empty polygon's bounds are NaN: an empty window
        w = np.stack(
            [np.floor(rows.min(1)), np.ceil(rows.max(1)), np.floor(cols.min(1)), np.ceil(cols.max(1))], 1
        )
    w = np.nan_to_num(w, nan=0.0)
    w[:, :2] = w[:, :2].clip(0, src.height)
    w[:, 2:] = w[:, 2:].clip(0, src.width)
    return w.astype(np.int64)


def _apply(t: Any, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """An affine transform applied to arrays of points."""
    return t.a * u + t.b * v + t.c, t.d * u + t.e * v + t.f


def _batch_sums(src: Any, geoms: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import shapely

    nrows, ncols = w[:, 1] - w[:, 0], w[:, 3] - w[:, 2]
    per = nrows * ncols
    if per.sum() == 0:
        return np.zeros(len(geoms)), np.zeros(len(geoms))
    owner = np.repeat(np.arange(len(geoms)), per)
    k = np.arange(per.sum()) - np.repeat(np.cumsum(per) - per, per)
    row = w[owner, 0] + k // ncols[owner]
    col = w[owner, 2] + k % ncols[owner]
    # Cell corners through the affine transform (a rotated grid too), rings of 4 corners.
    corner_c = np.stack([col, col + 1, col + 1, col], 1)
    corner_r = np.stack([row, row, row + 1, row + 1], 1)
    x, y = _apply(src.transform, corner_c, corner_r)
    cells = shapely.polygons(np.stack([x, y], -1))
    shapely.prepare(geoms)
    inside = shapely.contains_properly(geoms[owner], cells)
    frac = inside.astype(float)
    edge = ~inside & shapely.intersects(geoms[owner], cells)
    frac[edge] = shapely.area(shapely.intersection(geoms[owner][edge], cells[edge])) / shapely.area(
        cells[edge]
    )
    values = _window_values(src, row, col)
    valid = ~np.isnan(values)
    weighted = frac * np.where(valid, values, 0.0)
    return (
        np.bincount(owner, weights=weighted, minlength=len(geoms)),
        np.bincount(owner, weights=frac * valid, minlength=len(geoms)),
    )


def _window_values(src: Any, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Band 1 at (row, col), scaled, NaN where no count (nodata or :func:`not_counts`), as :func:`_counts`."""
    from rasterio.windows import Window

    r0, c0 = int(row.min()), int(col.min())
    arr = src.read(1, window=Window(c0, r0, int(col.max()) - c0 + 1, int(row.max()) - r0 + 1), masked=True)
    values = arr.data.astype(np.float64)
    scale, offset = src.scales[0], src.offsets[0]
    if scale != 1.0 or offset != 0.0:
        values = values * scale + offset
    values[np.ma.getmaskarray(arr) | not_counts(arr.data)] = np.nan
    return values[row - r0, col - c0]


def raster_bounds(path: Path) -> tuple[float, float, float, float]:
    """The raster's extent as (west, south, east, north) in CGCS2000 longitude/latitude."""
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.open(path) as src:
        if src.crs is None:
            raise InputError(
                tr("{file}: the raster has no CRS; write one with gdal_edit.py -a_srs", file=path)
            )
        w, s, e, n = transform_bounds(src.crs, "EPSG:4490", *src.bounds)
    return float(w), float(s), float(e), float(n)


def _counts(src: Any) -> Any:
    """The raster's band 1 for exactextract, the cells that are no counts (:func:`not_counts`) as NaN.

    NaN, not a masked array: exactextract 0.3 honours a window's mask only where the raster's grid and the
    polygons' line up exactly (at longitudes like 119.6 it summed masked -9999 cells); NaN is nodata to it
    everywhere.
    """
    from exactextract.raster import RasterioRasterSource

    class Counts(RasterioRasterSource):
        def read_window(self, x0: int, y0: int, nx: int, ny: int) -> np.ndarray:
            from rasterio.windows import Window

            arr = self.ds.read(1, window=Window(x0, y0, nx, ny), masked=True)
            values = arr.data.astype(np.float64)
            if self.scaled:  # as exactextract's own source does
                values = values * self.scale + self.offset
            values[np.ma.getmaskarray(arr) | not_counts(arr.data)] = np.nan
            return values

        def nodata_value(self) -> float:
            return float("nan")

    return Counts(src)


def _describe(values: np.ndarray, counts: np.ndarray) -> str:
    """``-9999 (1,200 cells), -1 (3 cells)``: the values most often found first, at most three."""
    order = np.argsort(-counts, kind="stable")
    shown = ", ".join(
        tr("{value} ({n} cells)", value=f"{float(values[i]):g}", n=f"{int(counts[i]):,}") for i in order[:3]
    )
    if len(order) > 3:
        return tr("{values} and {n} other values", values=shown, n=len(order) - 3)
    return shown


def raster_warnings(path: Path) -> list[str]:
    """A warning when cells of a population raster cannot be counts of persons (:func:`not_counts`).

    They are read as nodata wherever the raster is summed; the warning names the raster, how many cells hold
    which values, and how to declare the nodata value. Read block by block: a country raster is not loaded
    whole. NaN cells of a float raster are nodata by definition and not reported.
    """
    import rasterio

    if not path.exists():
        return []
    found: dict[float, int] = {}
    try:
        with rasterio.open(path) as src:
            declared, total = src.nodata, src.width * src.height
            for _, window in src.block_windows(1):
                block = src.read(1, window=window, masked=True)
                data = block.data[~np.ma.getmaskarray(block)]
                bad = data[not_counts(data) & ~np.isnan(data)]
                if bad.size:
                    values, counts = np.unique(bad, return_counts=True)
                    for v, n in zip(values.tolist(), counts.tolist(), strict=True):
                        found[v] = found.get(v, 0) + n
    except rasterio.errors.RasterioIOError as err:
        raise InputError(tr("{file}: cannot read the raster: {why}", file=path, why=err)) from None
    if not found:
        return []
    n = sum(found.values())
    shown = _describe(np.array(list(found)), np.array(list(found.values())))
    common = max(found, key=lambda v: found[v])
    params = {
        "file": path.name,
        "n": f"{n:,}",
        "total": f"{total:,}",
        "values": shown,
        "common": f"{common:g}",
    }
    if declared is None:
        return [
            tr(
                "{file}: {n} of {total} cells hold {values} and the raster declares no nodata value: they are "
                "treated as nodata (the population there is unknown), not as persons; declare the nodata value "
                "(gdal_edit.py -a_nodata {common} {file}) or fix those cells",
                **params,
            )
        ]
    return [
        tr(
            "{file}: {n} of {total} cells hold {values} besides the declared nodata ({nodata}): they are treated "
            "as nodata (the population there is unknown), not as persons; declare the nodata value "
            "(gdal_edit.py -a_nodata {common} {file}) or fix those cells",
            nodata=f"{declared:g}",
            **params,
        )
    ]
