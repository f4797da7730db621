"""Coordinate systems: EPSG codes via pyproj, and the shifted GCJ-02 / BD-09 systems of Chinese map apps.

GCJ-02 (Gaode/AMap, Tencent) and BD-09 (Baidu) are not EPSG systems; pyproj cannot convert them. GCJ-02 is a
published polynomial on the Krasovsky ellipsoid; its inverse has no closed form and is found by fixed-point
iteration to well under a centimetre. WGS84 and CGCS2000 differ by decimetres, below what consumer app
coordinates resolve, so the inverse yields WGS84 = CGCS2000 coordinates.
"""

from __future__ import annotations

import json
import tomllib
import unicodedata
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import shapely
import shapely.geometry
from pyproj import CRS
from pyproj.exceptions import CRSError as _PyprojCRSError

from riskmap._resources import reference_dir, styles_dir
from riskmap.errors import CRSError
from riskmap.i18n import tr

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "SHIFTED_CRS",
    "parse_crs",
    "crs_spellings",
    "spelling_key",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "wgs84_to_bd09",
    "to_geographic",
    "in_china",
    "shift_geometries",
    "unshift_geometries",
    "metric_crs",
]

#: Names accepted for the shifted systems (upper-cased, without spaces).
SHIFTED_CRS = {"GCJ-02": "GCJ-02", "GCJ02": "GCJ-02", "BD-09": "BD-09", "BD09": "BD-09", "BD09LL": "BD-09"}

_A = 6378245.0
_EE = 0.00669342162296594323


def parse_crs(value: str | int, where: str) -> CRS | str:
    """A pyproj CRS, or ``"GCJ-02"``/``"BD-09"`` for the shifted systems.

    ``where`` names the config field for the error message.
    """
    text = str(value).strip()
    shifted = SHIFTED_CRS.get(text.upper().replace(" ", ""))
    if shifted:
        return shifted
    try:
        return CRS.from_user_input(int(text) if text.isdigit() else text)
    except _PyprojCRSError:
        raise CRSError(
            tr(
                '{where}: {value} is not a known CRS; use an EPSG code such as "EPSG:4490" (CGCS2000), '
                '"EPSG:4326" (WGS84), or "GCJ-02" / "BD-09" for coordinates picked in Gaode/Tencent/Baidu maps',
                where=where,
                value=repr(text),
            )
        ) from None


def spelling_key(text: str) -> str:
    """How a written coordinate system is looked up: NFKC (full width as ASCII), no spaces, upper case.

    >>> spelling_key(" bd 09 "), spelling_key("ＷＧＳ８４")
    ('BD09', 'WGS84')
    """
    return "".join(unicodedata.normalize("NFKC", str(text)).split()).upper()


@cache
def crs_spellings() -> dict[str, str]:
    """The shipped table of coordinate systems as registers write them (styles/crs_values.toml).

    Keyed by :func:`spelling_key`: 百度 -> ``"BD-09"``, 高德 -> ``"GCJ-02"``, GPS -> ``"EPSG:4326"``,
    2000 -> ``"EPSG:4490"``.

    >>> crs_spellings()["百度地图"], crs_spellings()["GCJ02"], crs_spellings()["国家2000"]
    ('BD-09', 'GCJ-02', 'EPSG:4490')
    """
    with open(styles_dir() / "crs_values.toml", "rb") as f:
        return {spelling_key(k): str(v) for k, v in tomllib.load(f).items()}


@cache
def _china_outline() -> shapely.Geometry:
    """Mainland China's outline with its coastal waters, prepared (see scripts/make_china_outline.py).

    Natural Earth land buffered ~2 km (~10 km at sea), without holes so that bays and estuaries are inside;
    Hong Kong, Macao and Taiwan cut out.
    """
    with open(reference_dir() / "china_outline.geojson", encoding="utf-8") as f:
        geometry = shapely.geometry.shape(json.load(f)["features"][0]["geometry"])
    shapely.prepare(geometry)
    return geometry


def in_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Whether points fall where Chinese map providers apply the GCJ-02 offset: mainland China.

    Decided by an outline polygon, not a rectangle, so Seoul, Hanoi or Ulaanbaatar get no offset; Hong Kong,
    Macao and Taiwan are outside it too, as map providers leave them unshifted.

    >>> in_china(np.array([116.4, 126.98, 105.85, 114.17]), np.array([39.9, 37.57, 21.03, 22.32])).tolist()
    [True, False, False, False]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    # The rectangle is a cheap first filter; the polygon decides.
    box = (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)
    out = np.zeros(lon.shape, dtype=bool)
    if box.any():
        out[box] = shapely.contains_xy(_china_outline(), lon[box], lat[box])
    return out


def _transform_lat(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 to GCJ-02 (vectorised); points outside China are returned unchanged.

    >>> lon, lat = wgs84_to_gcj02(np.array([116.404]), np.array([39.915]))
    >>> round(float(lon[0]), 8), round(float(lat[0]), 8)
    (116.4102445, 39.91640428)
    >>> wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))[0].tolist()  # Paris: no offset
    [2.35]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    inside = in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_wgs84(
    lon: np.ndarray, lat: np.ndarray, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to WGS84 by fixed-point iteration (residual below ``tol_deg``, ~1e-5 m by default)."""
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = flon - glon, flat - glat
        wlon -= dlon
        wlat -= dlat
        if np.nanmax(np.abs(np.concatenate([dlon, dlat])), initial=0.0) < tol_deg:
            break
    return wlon, wlat


_X_PI = np.pi * 3000.0 / 180.0


def gcj02_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to BD-09."""
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: np.ndarray, lat: np.ndarray, tol_deg: float = 1e-10, max_iter: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to GCJ-02: Baidu's published approximate inverse (~0.1 m off), refined by iteration."""
    blon = np.asarray(lon, dtype=float)
    blat = np.asarray(lat, dtype=float)
    x, y = blon - 0.0065, blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(max_iter):
        flon, flat = gcj02_to_bd09(glon, glat)
        dlon, dlat = flon - blon, flat - blat
        glon, glat = glon - dlon, glat - dlat
        if np.nanmax(np.abs(np.concatenate([dlon, dlat])), initial=0.0) < tol_deg:
            break
    return glon, glat


def bd09_to_wgs84(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 to WGS84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def wgs84_to_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 to BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def to_geographic(x: np.ndarray, y: np.ndarray, crs: CRS | str) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in ``crs`` to CGCS2000 longitude/latitude (EPSG:4490)."""
    if crs == "GCJ-02":
        return gcj02_to_wgs84(x, y)
    if crs == "BD-09":
        return bd09_to_wgs84(x, y)
    from pyproj import Transformer

    assert isinstance(crs, CRS)
    t = Transformer.from_crs(crs, CRS.from_epsg(4490), always_xy=True)
    lon, lat = t.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def _on_vertices(
    geometries: np.ndarray, convert: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
) -> np.ndarray:
    """Apply a vectorised lon/lat conversion to every vertex; repair polygons the shift made invalid."""
    geometries = np.asarray(geometries, dtype=object)
    was_valid = shapely.is_valid(geometries)
    out = shapely.transform(geometries, lambda xy: np.column_stack(convert(xy[:, 0], xy[:, 1])))
    broken = was_valid & ~shapely.is_valid(out)
    if broken.any():
        # A vertex-wise shift is nearly a translation, but two vertices metres apart near the outline's edge
        # can move differently (one shifted, one not): keep the polygonal part of the repaired shape.
        out[broken] = [_polygonal_part(g) for g in shapely.make_valid(out[broken])]
    return out


def _polygonal_part(geometry: shapely.Geometry) -> shapely.Geometry:
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else geometry


def unshift_geometries(geometries: np.ndarray, crs: str) -> np.ndarray:
    """Geometries in ``"GCJ-02"`` or ``"BD-09"`` longitude/latitude to WGS84: every vertex is converted.

    Polygons that were valid stay valid (repaired with make_valid if the shift broke them); vertices outside
    mainland China are left as they are, as the map providers leave them.

    >>> import shapely
    >>> square = shapely.box(116.40, 39.90, 116.41, 39.91)
    >>> wgs = unshift_geometries(np.array([square]), "GCJ-02")[0]
    >>> [round(v, 5) for v in wgs.bounds]
    [116.39376, 39.8986, 116.40376, 39.9086]
    >>> unshift_geometries(np.array([shapely.Point(2.35, 48.85), None]), "BD-09")[1] is None
    True
    """
    back = {"GCJ-02": gcj02_to_wgs84, "BD-09": bd09_to_wgs84}[crs]
    return _on_vertices(geometries, back)


def shift_geometries(geometries: np.ndarray, crs: str) -> np.ndarray:
    """WGS84 geometries to ``"GCJ-02"`` or ``"BD-09"`` longitude/latitude, as a map app shows them.

    The inverse of :func:`unshift_geometries`.
    """
    forward = {"GCJ-02": wgs84_to_gcj02, "BD-09": wgs84_to_bd09}[crs]
    return _on_vertices(geometries, forward)


def metric_crs(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> CRS:
    """A projected CRS in metres for distances and areas (the UTM zone of the data)."""
    return gdf.crs if gdf.crs is not None and gdf.crs.is_projected else gdf.estimate_utm_crs()
