"""The map apps' coordinate shifts by their published formulas, written apart from riskmap's.

Tests build shifted layers and their truth with these, so that a wrong transform in riskmap cannot make its own
truth: GCJ-02 (WGS-84 to the national "encrypted" system) and BD-09 (GCJ-02 to Baidu's), checked against
published coordinate pairs (tests/data/shift_reference_points.csv) by test_shifted_layers.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely

__all__ = [
    "REFERENCE_POINTS",
    "published_bd09",
    "published_gcj02",
    "to_published_gcj02",
    "wgs84_of_published_gcj02",
]

#: Krasovsky 1940, the ellipsoid of the GCJ-02 formula: semi-major axis (m) and eccentricity squared.
_KRASOVSKY = (6378245.0, 0.00669342162296594323)
#: The formula's offsets in metres, for x = lon - 105, y = lat - 35: polynomial terms (coefficient, x power,
#: y power, with "abs" for |x| ** 0.5) and sine terms (amplitude, half-cycles per degree, of x or y), the sines
#: weighted 2/3.
_POLYNOMIAL = {
    "north": [(-100.0, 0, 0), (2.0, 1, 0), (3.0, 0, 1), (0.2, 0, 2), (0.1, 1, 1), (0.2, "abs", 0)],
    "east": [(300.0, 0, 0), (1.0, 1, 0), (2.0, 0, 1), (0.1, 2, 0), (0.1, 1, 1), (0.1, "abs", 0)],
}
_SINES = {
    "north": [(20, 6, "x"), (20, 2, "x"), (20, 1, "y"), (40, 1 / 3, "y"), (160, 1 / 12, "y"), (320, 1 / 30, "y")],
    "east": [(20, 6, "x"), (20, 2, "x"), (20, 1, "x"), (40, 1 / 3, "x"), (150, 1 / 12, "x"), (300, 1 / 30, "x")],
}  # fmt: skip
REFERENCE_POINTS = Path(__file__).parent / "data" / "shift_reference_points.csv"


def _offset_m(direction: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    total = np.zeros_like(x)
    for c, px, py in _POLYNOMIAL[direction]:
        total += c * (np.sqrt(np.abs(x)) if px == "abs" else x**px) * y**py
    for amplitude, per_degree, of in _SINES[direction]:
        total += 2 / 3 * amplitude * np.sin(per_degree * np.pi * (x if of == "x" else y))
    return total


def published_gcj02(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS-84 to GCJ-02 by the published formula (every point: the tests use none outside China)."""
    a, ee = _KRASOVSKY
    phi = np.radians(lat)
    w = 1 - ee * np.sin(phi) ** 2
    meridian = a * (1 - ee) / w**1.5  # radius of curvature along the meridian (m)
    normal = a / np.sqrt(w)  # across it
    north, east = _offset_m("north", lon - 105.0, lat - 35.0), _offset_m("east", lon - 105.0, lat - 35.0)
    return lon + np.degrees(east / (normal * np.cos(phi))), lat + np.degrees(north / meridian)


def published_bd09(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 to BD-09 by the published formula: a small polar wobble, then a constant offset."""
    k = np.pi * 3000.0 / 180.0
    r = np.hypot(lon, lat) + 0.00002 * np.sin(lat * k)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * k)
    return r * np.cos(theta) + 0.0065, r * np.sin(theta) + 0.006


def wgs84_of_published_gcj02(glon: np.ndarray, glat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The WGS-84 points whose published GCJ-02 images are ``glon, glat`` (fixed point, to 1e-11 degrees)."""
    lon, lat = glon.copy(), glat.copy()
    for _ in range(40):
        flon, flat = published_gcj02(lon, lat)
        lon, lat = lon - (flon - glon), lat - (flat - glat)
    flon, flat = published_gcj02(lon, lat)
    assert np.abs(np.concatenate([flon - glon, flat - glat])).max() < 1e-11
    return lon, lat


def to_published_gcj02(geom: shapely.Geometry) -> shapely.Geometry:
    """A WGS-84 geometry moved on to GCJ-02 vertex by vertex."""
    return shapely.transform(geom, lambda xy: np.column_stack(published_gcj02(xy[:, 0], xy[:, 1])))
