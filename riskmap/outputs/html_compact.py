"""Compact columns: how the HTML map carries its facilities and zones (a district's map or a province's).

Instead of one Leaflet object per facility and one GeoJSON feature per zone, the page carries typed columns:
coordinates quantised to integer micro-degrees and delta-encoded, levels/sectors/towns as small integer codes
with lookup tables, texts as NUL-separated UTF-8 blobs (dictionary-encoded when they repeat). Everything is
packed into one gzip-compressed binary, base64 in the page, and inflated by the browser's
``DecompressionStream('gzip')`` (Chromium ≥ 80, Firefox ≥ 113, Safari ≥ 16.4). The map's JavaScript
(``js/columns.js`` reads the columns back) draws the facilities and zones on canvas from these columns and
resolves popups, search and filters from them.

Texts are *not* HTML-escaped here: the page builds every label with ``textContent``, so data never becomes
markup.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import riskmap.levels as levels
from riskmap.columns import (
    DECIDED_BY,
    DECIDED_ON,
    DECISION_REASON,
    FACILITY_ID,
    HD_STATS,
    INSPECTIONS,
    LEVEL_COMPUTED,
    LEVEL_METHOD,
    METHOD,
    NAME,
    PLACED,
    PLANNED_INSPECTIONS,
    REASON_SEP_EN,
    REASON_SEP_ZH,
    REASONS,
    REASONS_EN,
    SCORE,
    SECTOR,
    ZONE_CODE,
    ZONE_NAME,
)
from riskmap.i18n import N_, ByLanguage

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["LEVEL_ORDER", "facility_columns", "zone_columns", "pack"]

#: Level codes in the page: index in this tuple (red = 0 … not assessed = 4).
LEVEL_ORDER: tuple[str, ...] = (*levels.LEVEL_NAMES, levels.NOT_ASSESSED)
_MICRO = 1_000_000  # coordinates as integer micro-degrees (~0.1 m)
_GRID = 256  # facilities are sorted into a _GRID × _GRID grid over their extent; a view draws whole cells
_MISSING = "—"


class Columns:
    """Named numpy arrays (typed columns) and a JSON-able description, to be packed into one binary."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.meta: dict[str, Any] = {}
        self.zigzag: set[str] = set()  # names stored by add_deltas

    def add(self, name: str, array: np.ndarray) -> None:
        self.arrays[name] = np.ascontiguousarray(array)

    def add_deltas(self, name: str, values: np.ndarray) -> None:
        """Integer steps (delta-coded coordinates) as zigzag varint-free bytes, shuffled by byte plane.

        Small steps of either sign become small unsigned numbers (zigzag), and the page stores all first bytes,
        then all second bytes...: the high planes are nearly all zero, which gzip packs ~25 % smaller than
        interleaved int32. The page rebuilds an Int32Array (layout kind ``Zig32``).
        """
        steps = np.asarray(values, dtype=np.int32)
        zigzag = ((steps << 1) ^ (steps >> 31)).astype("<u4")
        self.zigzag.add(name)
        self.arrays[name] = np.ascontiguousarray(zigzag.view(np.uint8).reshape(-1, 4).T).reshape(-1)

    def text(self, name: str, values: Sequence[str] | pd.Series) -> dict[str, Any]:
        """A text column: dictionary-encoded when values repeat, else one NUL-separated blob of all rows."""
        series = (
            pd.Series(values, dtype=object).fillna(_MISSING).astype(str).str.replace("\0", "", regex=False)
        )
        codes, uniques = pd.factorize(series, sort=False)
        if len(uniques) <= max(1, len(series) // 4):
            dtype = np.uint8 if len(uniques) < 256 else np.uint16 if len(uniques) < 65536 else np.uint32
            self.add(f"{name}.codes", codes.astype(dtype))
            self.add(f"{name}.table", np.frombuffer("\0".join(uniques).encode("utf-8"), dtype=np.uint8))
            return {"kind": "dict", "codes": f"{name}.codes", "table": f"{name}.table"}
        self.add(f"{name}.blob", np.frombuffer("\0".join(series).encode("utf-8"), dtype=np.uint8))
        return {"kind": "blob", "blob": f"{name}.blob"}


_DTYPES = {"u1": "Uint8", "u2": "Uint16", "u4": "Uint32", "i4": "Int32", "f4": "Float32", "f8": "Float64"}


def pack(columns: Columns) -> str:
    """One gzip-compressed binary of all arrays (8-byte aligned), base64; the layout goes into ``meta``."""
    layout: dict[str, list[Any]] = {}
    parts: list[bytes] = []
    offset = 0
    for name, array in columns.arrays.items():
        kind = _DTYPES[array.dtype.str.lstrip("<|=")]
        raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        layout[name] = (
            ["Zig32", offset, len(array) // 4] if name in columns.zigzag else [kind, offset, len(array)]
        )
        pad = (-len(raw)) % 8
        parts.append(raw + b"\0" * pad)
        offset += len(raw) + pad
    columns.meta["layout"] = layout
    # mtime=0: the same data gives the same bytes (outputs are reproducible).
    return base64.b64encode(gzip.compress(b"".join(parts), compresslevel=6, mtime=0)).decode("ascii")


def _micro(values: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(values, dtype=np.float64) * _MICRO).astype(np.int64)


def _number(values: pd.Series) -> pd.Series:
    """Scores and frequencies for display: at most two decimals, no trailing zeros, a dash when missing."""
    x = pd.to_numeric(values, errors="coerce")
    text = x.map(lambda v: _MISSING if pd.isna(v) else f"{v:.2f}".rstrip("0").rstrip("."))
    return text.astype(object)


def _plain(values: pd.Series) -> pd.Series:
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    return text.where(text != "", _MISSING)


#: The grading methods as a popup names them (``[scoring.sectors]`` names them by key: ls_matrix); a key not
#: listed (a method added later) is shown as it is.
_METHOD_WORDS = ByLanguage(
    {
        "baseline": N_("inherent level from the register"),
        "gb18218": N_("GB 18218 major hazard identification and grading"),
        "chem2018": N_("hazardous-chemical enterprise risk diagnosis (2018 guide)"),
        "lec": N_("LEC job hazard evaluation (D = L × E × C)"),
        "ls_matrix": N_("LS risk matrix (R = L × S)"),
        "indicator": N_("weighted indicators"),
    }
)


def _method_words(values: pd.Series, lang: str) -> pd.Series:
    """Each facility's grading method in words of ``lang``."""
    keys = _plain(values)
    return keys.map(_METHOD_WORDS.get(lang, _METHOD_WORDS["en"])).fillna(keys)


def facility_columns(
    fac: gpd.GeoDataFrame, keys: pd.Series, lang: str, towns: gpd.GeoDataFrame | None, cols: Columns
) -> dict[str, Any]:
    """Encode the (WGS84) facilities into ``cols``; returns their description for the page.

    Facilities are sorted by grid cell so that the page draws a view as contiguous ranges of rows.
    """
    n = len(fac)
    lon = _micro(fac.geometry.x.to_numpy()) if n else np.zeros(0, np.int64)
    lat = _micro(fac.geometry.y.to_numpy()) if n else np.zeros(0, np.int64)
    x0, y0 = (int(lon.min()), int(lat.min())) if n else (0, 0)
    cw = max(1, math.ceil((int(lon.max()) - x0 + 1) / _GRID)) if n else 1
    ch = max(1, math.ceil((int(lat.max()) - y0 + 1) / _GRID)) if n else 1
    cell = ((lat - y0) // ch) * _GRID + (lon - x0) // cw
    order = np.argsort(cell, kind="stable")
    starts = np.searchsorted(cell[order], np.arange(_GRID * _GRID + 1)).astype(np.uint32)
    fac = fac.iloc[order]
    lon, lat = lon[order], lat[order]
    cols.add_deltas("f.lon", np.diff(lon, prepend=0))
    cols.add_deltas("f.lat", np.diff(lat, prepend=0))
    cols.add("f.cells", starts)
    level_code = pd.Categorical(keys.to_numpy()[order], categories=LEVEL_ORDER).codes
    cols.add("f.level", level_code.astype(np.uint8))

    def has(c: str) -> bool:
        return c in fac.columns

    fields: dict[str, Any] = {
        "name": cols.text("f.name", _plain(fac[NAME])),
        "id": cols.text("f.id", _plain(fac[FACILITY_ID])),
    }
    if has(SECTOR):
        fields["sector"] = cols.text("f.sector", _plain(fac[SECTOR]))
    if has(SCORE):
        fields["score"] = cols.text("f.score", _number(fac[SCORE]))
    if has(METHOD):
        fields["method"] = cols.text("f.method", _method_words(fac[METHOD], lang))
    if has(REASONS):
        col, sep = (
            (REASONS_EN, REASON_SEP_EN) if lang == "en" and has(REASONS_EN) else (REASONS, REASON_SEP_ZH)
        )
        # One reason a line: every run of separators (and the blanks around it) becomes one line break.
        lines = _plain(fac[col]).str.replace(rf"(?:\s*{re.escape(sep)}\s*)+", "\n", regex=True).str.strip()
        fields["reasons"] = cols.text("f.reasons", lines)
    if has(ZONE_NAME) or has(ZONE_CODE):
        name = _plain(fac[ZONE_NAME]) if has(ZONE_NAME) else pd.Series(_MISSING, index=fac.index)
        code = _plain(fac[ZONE_CODE]) if has(ZONE_CODE) else pd.Series(_MISSING, index=fac.index)
        zone = (name + "（" + code + "）").where(code != _MISSING, name).where(name != _MISSING, code)
        fields["zone"] = cols.text("f.zone", zone)
    if has(INSPECTIONS):
        fields["inspections"] = cols.text("f.inspections", _number(fac[INSPECTIONS]))
    if all(has(c) for c in HD_STATS):
        hd = _number(fac[HD_STATS[0]]) + "/" + _number(fac[HD_STATS[1]]) + "/" + _number(fac[HD_STATS[2]])
        fields["hidden_dangers"] = cols.text("f.hd", hd)
    for column in (LEVEL_METHOD, LEVEL_COMPUTED):  # an earlier level, where it differs from the one shown
        if has(column):
            fields[column] = cols.text(f"f.{column}", _other_level(fac[column], keys.to_numpy()[order], lang))

    town_names: list[str] = []
    if towns is not None and len(towns) and n:
        town_codes, town_names = _towns_of(fac, towns)
        cols.add("f.town", town_codes)
    return {
        "n": n,
        "grid": {"x0": x0, "y0": y0, "cw": cw, "ch": ch, "g": _GRID},
        "fields": fields,
        "towns": town_names,
    }


def _other_level(before: pd.Series, shown: np.ndarray, lang: str) -> pd.Series:
    """An earlier level's label (before adjustment, before a decision) where it differs from ``shown``, else ""."""
    before = before.astype(object).where(before.notna(), "").astype(str).str.strip().str.lower()
    differs = before.isin(levels.LEVEL_NAMES) & (before.to_numpy() != shown)
    labels = before.map({k: levels.label(k, lang) for k in levels.LEVEL_NAMES}).fillna("")
    return labels.where(differs, "")


def _towns_of(fac: gpd.GeoDataFrame, towns: gpd.GeoDataFrame) -> tuple[np.ndarray, list[str]]:
    """Code of each facility's town (index into the returned names; the last code = outside every town)."""
    import shapely

    names = (_plain(towns[ZONE_NAME]) + "（" + _plain(towns[ZONE_CODE]) + "）").tolist()
    tree = shapely.STRtree(towns.geometry.to_numpy())
    pts, polys = tree.query(fac.geometry.to_numpy(), predicate="intersects")
    out = np.full(len(fac), len(names), dtype=np.int64)
    # A point on a shared border intersects two towns: keep the first, so each facility counts once.
    first = np.unique(pts, return_index=True)[1]
    out[pts[first]] = polys[first]
    dtype = np.uint16 if len(names) < 65535 else np.uint32
    outside = [_MISSING] if (out == len(names)).any() else []
    return out.astype(dtype), [*names, *outside]


def zone_columns(
    zones: gpd.GeoDataFrame,
    keys: pd.Series,
    prefix: str,
    lang: str,
    cols: Columns,
    tolerances: Sequence[float],
) -> dict[str, Any]:
    """Encode a (WGS84) zone layer: rings per simplification tolerance, bounding boxes, levels, properties.

    Simplification uses :func:`shapely.coverage_simplify`, which keeps shared borders shared (no gaps or
    slivers between neighbouring villages).
    """
    import shapely

    geoms = zones.geometry.to_numpy()
    sets: list[dict[str, str]] = []
    kept: list[float] = []
    n_coords = 0
    for k, tol in enumerate(tolerances):
        shown = geoms if tol == 0 else _simplify(geoms, tol)
        n = int(shapely.get_num_coordinates(shown).sum())
        # A simplification that drops under a tenth of the vertices (e.g. Voronoi-like villages, all corners)
        # is not worth another copy of the layer in the page: the finer set is drawn at those zooms instead.
        if sets and n > 0.9 * n_coords:
            continue
        sets.append(_rings(shown, f"{prefix}.g{k}", cols))
        kept.append(float(tol))
        n_coords = n
        coarsest = shown
    cols.add(
        f"{prefix}.level", pd.Categorical(keys.to_numpy(), categories=LEVEL_ORDER).codes.astype(np.uint8)
    )
    props: dict[str, Any] = {
        "name": cols.text(f"{prefix}.name", _plain(zones[ZONE_NAME])),
        "code": cols.text(f"{prefix}.code", _plain(zones[ZONE_CODE])),
    }
    for lvl in LEVEL_ORDER:
        if f"n_{lvl}" in zones.columns:
            props[f"n_{lvl}"] = cols.text(f"{prefix}.n_{lvl}", _number(zones[f"n_{lvl}"]))
    if all(c in zones.columns for c in HD_STATS):
        hd = (
            _number(zones[HD_STATS[0]])
            + "/"
            + _number(zones[HD_STATS[1]])
            + "/"
            + _number(zones[HD_STATS[2]])
        )
        props["hidden_dangers"] = cols.text(f"{prefix}.hd", hd)
    if DECISION_REASON in zones.columns:  # the committee's decision and the level it replaced
        reason, by, on = (zones[c].fillna("").astype(str) for c in (DECISION_REASON, DECIDED_BY, DECIDED_ON))
        who = "（" + by + "，" + on + "）" if lang == "zh" else " (" + by + ", " + on + ")"
        props["decision"] = cols.text(f"{prefix}.decision", (reason + who).where(reason != "", ""))
        props["level_computed"] = cols.text(
            f"{prefix}.level_computed", _other_level(zones[LEVEL_COMPUTED], keys.to_numpy(), lang)
        )
    if PLACED in zones.columns:  # enterprises placed by the register's zone column (no coordinates)
        props["placed"] = cols.text(f"{prefix}.placed", _plain(zones[PLACED].fillna("")))
    workload = None
    if PLANNED_INSPECTIONS in zones.columns:
        props["workload"] = cols.text(f"{prefix}.workload", _number(zones[PLANNED_INSPECTIONS]))
        workload = _workload_classes(zones[PLANNED_INSPECTIONS])
        cols.add(f"{prefix}.wclass", workload)
    return {
        "n": len(zones),
        "sets": sets,
        "tolerances": kept,
        "bboxPad": _bbox_pad(geoms, coarsest) if sets else 0,
        "props": props,
        "workload": workload is not None,
    }


def _bbox_pad(exact: np.ndarray, coarsest: np.ndarray) -> int:
    """Micro-degrees by which the page must widen bounding boxes taken from the coarsest copy of the rings.

    Coverage simplification (Visvalingam-Whyatt) bounds the *area* it removes, not the distance: a narrow spike
    or river strip many tolerances long can go, so the needed margin is measured, not derived from the tolerance.
    """
    import shapely

    with np.errstate(invalid="ignore"):
        gap = np.abs(shapely.bounds(exact) - shapely.bounds(coarsest))
    worst = float(np.nanmax(gap)) if np.isfinite(gap).any() else 0.0
    return math.ceil(worst * _MICRO) + 2  # + rounding of both to micro-degrees


def _simplify(geoms: np.ndarray, tol: float) -> np.ndarray:
    import shapely

    try:
        return np.asarray(shapely.coverage_simplify(geoms, tol))
    except Exception:  # noqa: BLE001 - an invalid coverage (overlaps) still simplifies per polygon
        return np.asarray(shapely.simplify(geoms, tol, preserve_topology=True))


def _rings(geoms: np.ndarray, name: str, cols: Columns) -> dict[str, str]:
    """Exterior and interior rings of every polygon: delta-encoded micro-degree x/y, ring and feature starts."""
    import shapely

    parts, part_of = shapely.get_parts(geoms, return_index=True)
    rings, ring_of_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of_coord = shapely.get_coordinates(rings, return_index=True)
    xy = _micro(coords)
    cols.add_deltas(f"{name}.xy", np.diff(xy, axis=0, prepend=np.zeros((1, 2), np.int64)).reshape(-1))
    n_rings = len(rings)
    cols.add(f"{name}.rings", np.searchsorted(ring_of_coord, np.arange(n_rings + 1)).astype(np.uint32))
    feature_of_ring = part_of[ring_of_part]
    cols.add(f"{name}.feats", np.searchsorted(feature_of_ring, np.arange(len(geoms) + 1)).astype(np.uint32))
    return {"xy": f"{name}.xy", "rings": f"{name}.rings", "feats": f"{name}.feats"}


def _workload_classes(values: pd.Series) -> np.ndarray:
    """Quintile class 0–4 of the planned inspections (255 = unknown): the classes the workload layer shades."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    known = x[~np.isnan(x)]
    edges = np.quantile(known, [0.2, 0.4, 0.6, 0.8]) if len(known) else np.zeros(4)
    out = np.searchsorted(edges, np.nan_to_num(x), side="right").astype(np.uint8)
    out[np.isnan(x)] = 255
    return out


def meta_json(obj: Mapping[str, Any]) -> str:
    """JSON safe inside a ``<script>`` element."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
