"""The interactive four-colour risk map (红橙黄蓝四色安全风险空间分布图) as one self-contained HTML file.

The page is built with folium (Leaflet) and then made to work with no network at all: every script and
stylesheet folium would fetch from a CDN is copied into the page from the ``offlinefolium`` package at render
time, and the map draws no tiles unless asked. District planners on offline government networks open it
straight from disk.

Every string that comes from the data (facility and zone names, sectors, reasons, the title) is HTML-escaped
in Python before it reaches the page, because Leaflet tooltips, popups and the layer control insert text as
HTML. And no data is ever compiled as a template: branca wraps each element's rendered text in a new
``Element(text)``, which compiles that text with Jinja, so a name holding ``{{ … }}`` would run as Python;
:func:`_render` makes those wrappers hold the text as it is (see there).
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import logging
import math
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import branca.element
import folium
import folium.plugins
import pandas as pd

import riskmap.levels as levels
from riskmap.columns import (
    FACILITY_ID,
    HD_STATS,
    INSPECTIONS,
    LEVEL,
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
from riskmap.errors import ConfigError, InputError, OutputError
from riskmap.io.atomic import atomic_path
from riskmap.zone_kinds import KindLabels, kind_label

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "render_html",
    "LEGEND_ID",
    "TITLE_ID",
    "LANGUAGES",
    "TILES",
    "TIANDITU_KEY_ENV",
    "FACILITY_ROW",
]

logger = logging.getLogger(__name__)

#: HTML id of the legend box (tests and report pages look it up).
LEGEND_ID = "riskmap-legend"
#: HTML id of the title box.
TITLE_ID = "riskmap-title"
#: Languages of the page's labels.
LANGUAGES: tuple[str, ...] = ("zh", "en")
#: Accepted ``tiles`` values; only ``"none"`` works offline.
TILES: tuple[str, ...] = ("none", "openstreetmap", "tianditu", "gaode")
#: Environment variable read for the Tianditu key when none is passed.
TIANDITU_KEY_ENV = "TIANDITU_KEY"

# Tianditu (天地图, CGCS2000 national base map): WMTS in Web Mercator ("_w"), vector map plus its annotation
# layer; "{tk}" is filled with the key. Gaode (高德) tiles are in GCJ-02: the data is shifted to match.
_TIANDITU_URL = (
    "https://t{s}.tianditu.gov.cn/%(layer)s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=%(layer)s"
    "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=%(key)s"
)
_GAODE_URL = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
)
_TILE_NATIVE_MAX_ZOOM = 18
_TIANDITU_KEY = re.compile(r"[A-Za-z0-9]{8,64}")

# Input columns read here: the data contract (riskmap.columns), written by the scoring and zoning stages.
_FACILITY_REQUIRED = (FACILITY_ID, NAME, LEVEL)
_ZONE_REQUIRED = (ZONE_CODE, ZONE_NAME, LEVEL)

#: The fields of a facility row in the page, in order. Python builds the rows in this order and the page's
#: JavaScript reads them by the positions emitted from it (``map.riskmap.at``), so a reorder here cannot break it.
FACILITY_ROW = (
    "lat", "lon", "name", "id", "sector", "score", "method", "reasons", "zone", "inspections", "hidden_dangers",
    "level_method",
)  # fmt: skip
_AT = {field: i for i, field in enumerate(FACILITY_ROW)}

_EMBED_HEIGHT_DEFAULT = 600
_MAX_ZOOM = 19  # one past the tiles' native zoom; set on the map too: tiles=None leaves Leaflet without one
_COORD_DECIMALS = 6  # ~0.1 m: below any survey error, and keeps the file small
_MISSING = "—"

_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "legend": "图例",
        "level": "风险等级",
        "facilities": "企业",
        "facility_layer": "{label}企业（{n}）",
        "n_level": "{label}企业",
        "name": "名称",
        "id": "编号",
        "sector": "行业",
        "score": "评分",
        "method": "评估方法",
        "reasons": "定级依据",
        "zone": "所在区域",
        "inspections": "年检查频次",
        "hidden_dangers": "隐患 未销号/逾期/重大",
        "placed": "无坐标, 按所属村落位的企业",
        "workload": "年计划检查次数",
        "workload_layer": "检查工作量 (年计划检查次数)",
        "level_method": "方法定级 (动态调整前)",
        "zone_code": "区域代码",
        "search": "搜索企业或区域名称",
        "not_found": "未找到",
        "cancel": "取消",
        "fullscreen": "全屏",
        "exit_fullscreen": "退出全屏",
        "html_lang": "zh-CN",
        "facility_layer_all": "企业（{n}）",
        "filter": "筛选",
        "overview_note": "圆圈内为{label}企业数（按屏幕区块汇总），放大后显示每家企业",
        "bubble": "{label}企业 {n} 家，点击放大",
        "all_sectors": "全部行业",
        "all_towns": "全部乡镇",
        "shown": "显示 {n} / {total}",
        "damaged": "地图数据已损坏，无法显示企业点位：请重新复制或重新生成此 HTML 文件",
    },
    "en": {
        "legend": "Legend",
        "level": "Risk level",
        "facilities": "Facilities",
        "facility_layer": "{label} facilities ({n})",
        "n_level": "{label} facilities",
        "name": "Name",
        "id": "ID",
        "sector": "Sector",
        "score": "Score",
        "method": "Method",
        "reasons": "Reasons",
        "zone": "Zone",
        "inspections": "Inspections per year",
        "hidden_dangers": "Hidden dangers open/overdue/major",
        "placed": "Placed by the register's zone (no coordinates)",
        "workload": "Inspections planned per year",
        "workload_layer": "Inspection workload (per year)",
        "level_method": "Method level (before adjustment)",
        "zone_code": "Zone code",
        "search": "Search facility or zone name",
        "not_found": "Not found",
        "cancel": "Cancel",
        "fullscreen": "Full screen",
        "exit_fullscreen": "Exit full screen",
        "html_lang": "en",
        "facility_layer_all": "Facilities ({n})",
        "filter": "Filter",
        "overview_note": "Circles count {label} facilities per screen block; zoom in to see each facility",
        "bubble": "{n} {label} facilities: click to zoom in",
        "all_sectors": "All sectors",
        "all_towns": "All towns",
        "shown": "Shown {n} / {total}",
        "damaged": "The map data is damaged, the facilities cannot be shown: copy or generate this HTML file again",
    },
}

_FONT = (
    '"Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "Helvetica Neue", Arial, '
    "sans-serif"
)

_CSS = """
.leaflet-container { font-family: %(font)s; background: #F4F4F0; }
.riskmap-box { background: rgba(255, 255, 255, 0.95); border: 1px solid #8A8A8A; border-radius: 4px;
  box-shadow: 0 1px 5px rgba(0, 0, 0, 0.35); color: #1A1A1A; font: 14px/1.45 %(font)s; }
.riskmap-title { position: absolute; top: 10px; left: 50%%; transform: translateX(-50%%); z-index: 1000;
  max-width: 50%%; padding: 6px 16px; font-size: 18px; font-weight: bold; text-align: center; }
.riskmap-legend { padding: 8px 10px; }
.riskmap-legend-title { font-weight: bold; font-size: 14px; margin-bottom: 4px; }
.riskmap-legend table { border-collapse: collapse; }
.riskmap-legend th { font-weight: normal; color: #555; padding: 1px 6px; text-align: right; }
.riskmap-legend td { padding: 2px 6px; }
.riskmap-legend td.n { text-align: right; font-variant-numeric: tabular-nums; }
.riskmap-swatch { display: inline-block; width: 20px; height: 13px; border: 1.5px solid; border-radius: 2px;
  vertical-align: middle; box-sizing: border-box; }
.riskmap-dot { display: inline-block; width: 11px; height: 11px; border: 1.5px solid; border-radius: 50%%;
  vertical-align: middle; box-sizing: border-box; margin-right: 3px; }
.riskmap-popup { font: 13px/1.45 %(font)s; }
.riskmap-popup-title { font-weight: bold; font-size: 14px; margin-bottom: 4px; }
.riskmap-popup th { text-align: left; font-weight: normal; color: #555; padding: 1px 10px 1px 0;
  white-space: nowrap; vertical-align: top; }
.riskmap-popup td { vertical-align: top; }
.leaflet-control-layers { font-size: 14px; }
.leaflet-control-layers-overlays label { white-space: nowrap; }
""".replace("%%", "%").replace("%(font)s", _FONT)


# ----------------------------------------------------------------------------------------------------
# Public API


def render_html(
    facilities: gpd.GeoDataFrame,
    zones: Mapping[str, gpd.GeoDataFrame],
    path: str | os.PathLike[str],
    *,
    title: str = "安全风险四色分布图",
    lang: str = "zh",
    tiles: str = "none",
    tianditu_key: str | None = None,
    embed: bool = False,
    embed_height: int | str = _EMBED_HEIGHT_DEFAULT,
    cluster_threshold: int = 5000,
    kind_labels: KindLabels | None = None,
    sensitivity: gpd.GeoDataFrame | None = None,
) -> Path:
    """Write the interactive four-colour risk map of facilities and zones to one offline HTML file.

    Parameters
    ----------
    facilities : geopandas.GeoDataFrame
        Scored facilities (points, any CRS; may be empty): ``facility_id``, ``name``, ``level`` and, shown
        when present, the columns of :data:`FACILITY_ROW` (sector, reasons, zone ...).
    zones : Mapping of str to geopandas.GeoDataFrame
        Zone layers, finest first (shown when the page opens): ``zone_code``, ``zone_name``, ``level``.
    path : str or os.PathLike
        The HTML file, replaced atomically (a failed render leaves an existing file intact).
    title : str, default "安全风险四色分布图"
    lang : {"zh", "en"}, default "zh"
    tiles : {"none", "openstreetmap", "tianditu", "gaode"}, default "none"
        Background tiles; only ``"none"`` works offline. Tianditu (CGCS2000) needs a key; for Gaode (GCJ-02)
        the *displayed* copies of the layers are shifted to GCJ-02, the data passed in is not changed.
    tianditu_key : str, optional
        Default: the ``TIANDITU_KEY`` environment variable. Never logged, but in the page's tile URLs.
    embed, embed_height : bool, int or str, default False, 600
        A fixed-size map (100 % wide, ``embed_height`` high, CSS length or pixels) for an ``<iframe>``.
    cluster_threshold : int, default 5000
        Above this many facilities (or 5,000 zones in a layer) the data go as compressed columns drawn on
        canvas, with filters (inflated by ``DecompressionStream``, on older browsers by an inlined inflater).
    kind_labels : Mapping, optional
        The project's own zone-kind labels (``{kind: {"zh": ..., "en": ...}}``); see :mod:`riskmap.zone_kinds`.
    sensitivity : geopandas.GeoDataFrame, optional
        The finest zones' sensitivity table (``level_min``, ``level_max``, ``changed_by``, ...): the zones a
        variant changes get a dashed outline layer, with the variants in the popup.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ConfigError
        An unknown ``lang`` or ``tiles``, or Tianditu tiles without a valid key.
    InputError
        A layer without a required column or CRS, or with an unknown level.
    OutputError
        A script or stylesheet the page needs cannot be embedded (the page would be blank offline).

    Examples
    --------
    An empty district still gives a valid page, with the legend listing zero facilities:

    >>> import geopandas as gpd, tempfile, pathlib
    >>> empty = gpd.GeoDataFrame({"facility_id": [], "name": [], "level": []}, geometry=[], crs=4490)
    >>> out = render_html(empty, {}, pathlib.Path(tempfile.mkdtemp()) / "map.html")
    >>> 'id="riskmap-legend"' in out.read_text(encoding="utf-8")
    True
    """
    facilities, zones, tile_key = _displayed(facilities, zones, lang, tiles, tianditu_key)
    n_points = int((facilities.geometry.notna() & ~facilities.geometry.is_empty).sum())
    if n_points > cluster_threshold or any(len(gdf) > _COMPACT_ZONES for gdf in zones.values()):
        page, n_facilities = _compact_page(
            facilities, zones, title=title, lang=lang, tiles=tiles, tile_key=tile_key, embed=embed,
            embed_height=embed_height, kind_labels=kind_labels, sensitivity=sensitivity,
        )  # fmt: skip
        return _write_page(path, page, n_facilities, len(zones))
    page, n_facilities = _folium_page(
        facilities, zones, title=title, lang=lang, tiles=tiles, tile_key=tile_key, embed=embed,
        embed_height=embed_height, kind_labels=kind_labels, sensitivity=sensitivity,
    )  # fmt: skip
    return _write_page(path, page, n_facilities, len(zones))


def _displayed(
    facilities: gpd.GeoDataFrame,
    zones: Mapping[str, gpd.GeoDataFrame],
    lang: str,
    tiles: str,
    tianditu_key: str | None,
) -> tuple[gpd.GeoDataFrame, Mapping[str, gpd.GeoDataFrame], str | None]:
    """The options checked, the Tianditu key, and the layers as shown (shifted to GCJ-02 on Gaode tiles)."""
    _check_choice("lang", lang, LANGUAGES)
    _check_choice("tiles", tiles, TILES)
    tile_key = _tianditu_key(tianditu_key) if tiles == "tianditu" else None
    if tiles == "gaode":
        # Displayed copies only; the caller's frames (and every other output) stay in their own CRS.
        facilities = _to_gcj02(facilities, "facilities")
        zones = {key: _to_gcj02(gdf, f"zone layer {key!r}") for key, gdf in zones.items()}
    _require(facilities, _FACILITY_REQUIRED, "facilities")
    return facilities, zones, tile_key


def _folium_page(
    facilities: gpd.GeoDataFrame,
    zones: Mapping[str, gpd.GeoDataFrame],
    *,
    title: str,
    lang: str,
    tiles: str,
    tile_key: str | None,
    embed: bool,
    embed_height: int | str,
    kind_labels: KindLabels | None,
    sensitivity: gpd.GeoDataFrame | None,
) -> tuple[str, int]:
    """The page of a district-size map: a Leaflet marker per facility and GeoJSON zones (folium)."""
    groups = _facility_groups(facilities, lang)
    zone_layers = [
        (key, _zone_label(key, lang, kind_labels), _zone_collection(gdf, key, lang))
        for key, gdf in zones.items()
    ]
    m = _build_map(
        groups, zone_layers, title=title, lang=lang, tiles=tiles, tile_key=tile_key, embed=embed,
        embed_height=embed_height,
    )  # fmt: skip
    if sensitivity is not None:
        shown = _to_gcj02(sensitivity, "sensitivity") if tiles == "gaode" else sensitivity
        _sensitivity_layer(shown, lang).add_to(m)
    # Last: the control lists the layers added before it (a layer added after it is undefined in its script).
    folium.LayerControl(position="topright", collapsed=embed).add_to(m)
    key = _content_key(groups, zone_layers, title, lang, tiles, embed, embed_height)
    _stable_ids(m.get_root(), key)
    page = _finish_page(_render(m.get_root()), lang=lang, embed=embed)
    return page, sum(len(rows) for rows in groups.values())


def _write_page(path: str | os.PathLike[str], page: str, n_facilities: int, n_layers: int) -> Path:
    target = Path(path)
    with atomic_path(target) as tmp:
        _write_html(tmp, page)
    logger.info(
        "wrote %s (%d facilities, %d zone layers, %.1f MB)",
        target,
        n_facilities,
        n_layers,
        len(page.encode("utf-8")) / 1e6,
    )
    return target


# ----------------------------------------------------------------------------------------------------
# Input → plain, escaped rows


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"render_html: {name}={value!r} is not supported; use one of {', '.join(allowed)}")


def _esc(value: Any) -> str:
    """The HTML-escaped text of a cell; missing values become a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return _MISSING
    if value is pd.NA or value is pd.NaT:
        return _MISSING
    text = str(value).strip()
    return html.escape(text) if text else _MISSING


def _number(value: Any) -> str:
    """A score or frequency for display: at most two decimals, no trailing zeros."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return _esc(value)
    if math.isnan(x):
        return _MISSING
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _reasons(value: Any, separator: str = REASON_SEP_ZH) -> str:
    """Reasons one per line: each part escaped, then joined with line breaks."""
    cell = _esc(value)
    if cell == _MISSING:
        return cell
    parts = [p.strip() for p in str(value).split(separator) if p.strip()]
    return "<br>".join(html.escape(p) for p in parts)


def _tianditu_key(given: str | None) -> str:
    """The Tianditu key from the argument or the environment; errors never repeat it."""
    key = (given if given is not None else os.environ.get(TIANDITU_KEY_ENV, "")).strip()
    source = "tianditu_key" if given is not None else f"the environment variable {TIANDITU_KEY_ENV}"
    if not key:
        raise ConfigError(
            f"render_html: tiles='tianditu' needs a Tianditu key; pass tianditu_key=... or set "
            f"{TIANDITU_KEY_ENV} (a free key comes from the Tianditu developer console), or use tiles='none'"
        )
    if not _TIANDITU_KEY.fullmatch(key):
        raise ConfigError(
            f"render_html: the Tianditu key from {source} is not a key (expected 8-64 letters and digits)"
        )
    return key


def _to_gcj02(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """A copy in WGS84 with every coordinate shifted to GCJ-02, for display on GCJ-02 tiles.

    Its CRS stays EPSG:4326: GCJ-02 is no EPSG system, and Leaflet takes the numbers as they are.
    """
    import numpy as np
    import shapely

    from riskmap.io.crs import wgs84_to_gcj02

    wgs = _to_wgs84(gdf, what)
    if wgs.empty:
        return wgs

    def shift(coords: np.ndarray) -> np.ndarray:
        lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    out = wgs.copy()
    out[out.geometry.name] = shapely.transform(wgs.geometry.to_numpy(), shift)
    return out


def _to_wgs84(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """Reproject to EPSG:4326 (Leaflet's lon/lat), dropping rows without a geometry."""
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if gdf.empty:
        return gdf
    if gdf.crs is None:
        raise InputError(
            f"{what} has no CRS; set it with gdf.set_crs(...) (e.g. 4490 for CGCS2000) before rendering the "
            "map"
        )
    return gdf if gdf.crs.to_epsg() == 4326 else gdf.to_crs(4326)


def _require(gdf: gpd.GeoDataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise InputError(
            f"{what} lacks column(s) {', '.join(missing)}; the map needs {', '.join(columns)} "
            "(run the scoring and zoning stages first)"
        )


def _facility_groups(facilities: gpd.GeoDataFrame, lang: str = "zh") -> dict[str, list[list[Any]]]:
    """Facility rows per level key.

    A row holds the fields of :data:`FACILITY_ROW`, in that order.

    Every string is already HTML-escaped; columns that are absent give ``None`` and are left out of the popup.
    """
    _require(facilities, _FACILITY_REQUIRED, "facilities")
    fac = _to_wgs84(facilities, "facilities")
    keys = _level_keys(fac, "facilities", FACILITY_ID)
    known = (*levels.LEVEL_NAMES, levels.NOT_ASSESSED)
    groups: dict[str, list[list[Any]]] = {k: [] for k in known}
    has = {
        c: c in fac.columns
        for c in (SECTOR, SCORE, METHOD, REASONS, ZONE_NAME, ZONE_CODE, INSPECTIONS, LEVEL_METHOD)
    }
    has_hd = all(c in fac.columns for c in HD_STATS)
    # English pages show the English reasons when the scoring stage wrote them (joined by "; ").
    reasons_col = REASONS_EN if lang == "en" and REASONS_EN in fac.columns else REASONS
    xs = fac.geometry.x.round(_COORD_DECIMALS).to_numpy()
    ys = fac.geometry.y.round(_COORD_DECIMALS).to_numpy()
    for i, (key, rec) in enumerate(zip(keys, fac.to_dict("records"), strict=True)):
        row = {
            "lat": float(ys[i]),
            "lon": float(xs[i]),
            "name": _esc(rec[NAME]),
            "id": _esc(rec[FACILITY_ID]),
            "sector": _esc(rec[SECTOR]) if has[SECTOR] else None,
            "score": _number(rec[SCORE]) if has[SCORE] else None,
            "method": _esc(rec[METHOD]) if has[METHOD] else None,
            "reasons": _reasons(rec[reasons_col], REASON_SEP_EN if reasons_col != REASONS else REASON_SEP_ZH)
            if has[REASONS]
            else None,
            "zone": _zone_cell(rec) if (has[ZONE_NAME] or has[ZONE_CODE]) else None,
            "inspections": _number(rec[INSPECTIONS]) if has[INSPECTIONS] else None,
            "hidden_dangers": "/".join(str(_number(rec[c])) for c in HD_STATS) if has_hd else None,
            "level_method": _level_before(rec, key, lang) if has[LEVEL_METHOD] else None,
        }
        groups[key].append([row[field] for field in FACILITY_ROW])
    return groups


def _level_before(rec: Mapping[str, Any], key: str, lang: str) -> str:
    """The method's level when dynamic adjustment changed it (empty otherwise: the popup line is dropped)."""
    before = str(rec.get(LEVEL_METHOD) or "").strip().lower()
    if not before or before == key or before not in levels.LEVEL_NAMES:
        return ""
    return html.escape(levels.label(before, lang))


def _level_keys(frame: pd.DataFrame, what: str, id_column: str) -> pd.Series:
    """Normalised level keys of ``frame`` (missing = not assessed); an unknown level is an error naming the row."""
    keys = frame[LEVEL].where(frame[LEVEL].notna(), levels.NOT_ASSESSED).astype(str).str.strip().str.lower()
    known = (*levels.LEVEL_NAMES, levels.NOT_ASSESSED)
    bad = ~keys.isin(known)
    if bad.any():
        first = frame.index[bad.to_numpy()][0]
        raise InputError(
            f"{what} row {first} ({id_column} {frame.at[first, id_column]!r}), field {LEVEL!r}: "
            f"{frame.at[first, LEVEL]!r} is not a level; use one of {', '.join(known)}"
        )
    return keys


def _zone_cell(rec: Mapping[str, Any]) -> str:
    name, code = _esc(rec.get(ZONE_NAME)), _esc(rec.get(ZONE_CODE))
    if name == _MISSING:
        return code
    return name if code == _MISSING else f"{name}（{code}）"


def _zone_label(key: str, lang: str, custom: KindLabels | None = None) -> str:
    """Escaped layer-control label of a zone layer."""
    return html.escape(kind_label(key, lang, custom))


def _zone_collection(gdf: gpd.GeoDataFrame, key: str, lang: str) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of one zone layer with escaped, display-ready properties."""
    import numpy as np
    import shapely

    what = f"zone layer {key!r}"
    _require(gdf, _ZONE_REQUIRED, what)
    zones = _to_wgs84(gdf, what)
    keys = _level_keys(zones, what, ZONE_CODE)
    # Rounding each coordinate (not snapping to a grid) keeps every polygon's topology as it was.
    geoms = shapely.transform(zones.geometry.to_numpy(), lambda c: np.round(c, _COORD_DECIMALS))
    # Enterprises placed by the register's zone column (no coordinates): listed in their zone's tooltip.
    placed = PLACED in zones.columns and bool((zones[PLACED].fillna("").astype(str) != "").any())
    features = []
    for level_key, rec, geom in zip(keys, zones.to_dict("records"), geoms, strict=True):
        props: dict[str, Any] = {
            ZONE_NAME: _esc(rec[ZONE_NAME]),
            ZONE_CODE: _esc(rec[ZONE_CODE]),
            LEVEL: level_key,
            "level_label": html.escape(levels.label(level_key, lang)),
        }
        for lvl in (*levels.LEVEL_NAMES, levels.NOT_ASSESSED):  # n_none: only with unassessed = "grey"
            col = f"n_{lvl}"
            if col in rec:
                props[col] = _number(rec[col])
        if PLANNED_INSPECTIONS in rec:
            props["workload"] = _number(rec[PLANNED_INSPECTIONS])
        if all(c in rec for c in HD_STATS):
            props["hidden_dangers"] = "/".join(str(_number(rec[c])) for c in HD_STATS)
        if placed:
            props["placed"] = _esc(rec[PLACED])
        features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)})
    return {"type": "FeatureCollection", "features": features}


# ----------------------------------------------------------------------------------------------------
# The folium map


class _OfflineMap(folium.Map):
    """A folium Map that loads only Leaflet itself.

    folium's defaults add jQuery, Bootstrap, Font Awesome and Awesome Markers (~1.3 MB once inlined); this map
    uses CircleMarkers and its own HTML, so none of them is needed.
    """

    default_js = [pair for pair in folium.Map.default_js if pair[0] == "leaflet"]
    default_css = [pair for pair in folium.Map.default_css if pair[0] == "leaflet_css"]


class _Chrome(branca.element.MacroElement):
    """Page furniture: CSS, the title box, the legend control, the metric scale bar and the JS helpers."""

    _template = branca.element.Template("""
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
            {{ this.title_html }}
            {{ this.legend_html }}
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function (map) {
            var mapName = {{ this._parent.get_name()|tojson }};
            function find(cls) {
                return document.querySelector('.' + cls + '[data-riskmap-map="' + mapName + '"]');
            }
            var fields = {{ this.popup_fields }};
            var at = {{ this.row_at }};  // position of each field in a facility row (FACILITY_ROW)
            map.riskmap = {
                at: at,
                facilities: [],
                zones: [],
                tooltip: function (r, info) {
                    var h = '<b>' + r[at.name] + '</b>';
                    if (r[at.sector] !== null) { h += '<br>' + r[at.sector]; }
                    return h + '<br>' + info.dot + info.label;
                },
                popup: function (r, info) {
                    var h = '<div class="riskmap-popup"><div class="riskmap-popup-title">' + r[at.name] +
                        '</div><table>';
                    for (var i = 0; i < fields.length; i++) {
                        var f = fields[i];
                        var v = f[1] < 0 ? info.dot + info.label : r[f[1]];
                        if (v === null || v === '') { continue; }  // e.g. no adjustment for this facility
                        h += '<tr><th>' + f[0] + '</th><td>' + v + '</td></tr>';
                    }
                    return h + '</table></div>';
                }
            };
            // The documented handle for embedders and plugins (folium's variable name changes with the content).
            window.riskmapMap = map;
            // Facilities get panes above every zone layer, so switching a zone layer on never buries the
            // markers under its polygons; one pane per level keeps red drawn over blue where they overlap.
            var panes = {{ this.panes }};
            for (var p in panes) { map.createPane(p).style.zIndex = panes[p]; }
            L.control.scale({imperial: false, position: 'bottomleft'}).addTo(map);

            var title = find('riskmap-title');
            if (title) {
                map.getContainer().appendChild(title);
                L.DomEvent.disableClickPropagation(title);
                title.style.display = '';
            }
            var legend = L.control({position: 'bottomright'});
            legend.onAdd = function () {
                var el = find('riskmap-legend');
                L.DomEvent.disableClickPropagation(el);
                L.DomEvent.disableScrollPropagation(el);
                el.style.display = '';
                return el;
            };
            legend.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, title_html: str, legend_html: str, popup_fields: list[list[Any]]) -> None:
        super().__init__()
        self._name = "RiskmapChrome"
        self.panes = _js_json(
            {_pane(key): 450 + levels.Level.parse(key) for key in levels.LEVEL_NAMES}
            | {_pane(levels.NOT_ASSESSED): 450}
        )
        self.css = _CSS
        self.title_html = title_html
        self.legend_html = legend_html
        self.popup_fields = _js_json(popup_fields)
        self.row_at = _js_json(_AT)


class _Facilities(branca.element.MacroElement):
    """The CircleMarkers of one level, added to a FeatureGroup."""

    _template = branca.element.Template("""
        {% macro script(this, kwargs) %}
        (function (map, target) {
            var rows = {{ this.rows }};
            var info = {{ this.info }};
            var style = {{ this.style }};
            var at = map.riskmap.at;
            for (var i = 0; i < rows.length; i++) {
                var m = L.circleMarker([rows[i][at.lat], rows[i][at.lon]], style);
                m.riskmapRow = rows[i];
                // Content is built on first open, so 100,000 markers do not mean 100,000 HTML strings.
                m.bindTooltip(function (layer) { return map.riskmap.tooltip(layer.riskmapRow, info); },
                              {direction: 'top', offset: [0, -4]});
                m.bindPopup(function (layer) { return map.riskmap.popup(layer.riskmapRow, info); },
                            {maxWidth: 380});
                map.riskmap.facilities.push({marker: m, row: rows[i], group: target});
                target.addLayer(m);
            }
        })({{ this.map.get_name() }}, {{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, m: folium.Map, rows: list[list[Any]], key: str, lang: str) -> None:
        super().__init__()
        self._name = "RiskmapFacilities"
        self.map = m
        self.rows = _js_json(rows)
        self.info = _js_json(
            {
                "label": html.escape(levels.label(key, lang)),
                "dot": _dot_html(key),
            }
        )
        self.style = _js_json(
            {
                "pane": _pane(key),
                "radius": 4,
                "weight": 1,
                "color": levels.outline(key),
                "fillColor": levels.color(key),
                "fillOpacity": 0.9,
            }
        )


class _RegisterZones(branca.element.MacroElement):
    """Tell the search box about a zone layer."""

    _template = branca.element.Template("""
        {% macro script(this, kwargs) %}
        {{ this._parent.get_name() }}.riskmap.zones.push({
            layer: {{ this.layer.get_name() }}, label: {{ this.label }}
        });
        {% endmacro %}
    """)

    def __init__(self, layer: folium.GeoJson, label: str) -> None:
        super().__init__()
        self._name = "RiskmapZones"
        self.layer = layer
        self.label = _js_json(html.unescape(label))


class _Search(folium.elements.JSCSSMixin, branca.element.MacroElement):
    """Search by facility or zone name with leaflet-search (the library behind ``folium.plugins.Search``).

    folium's Search indexes one layer; here the facilities are split over one layer per level and the zones over several layers, so the index is built from the page's registry instead.
    Names are stored escaped; the search list shows them as text (``textContent``), never as HTML.
    """

    _template = branca.element.Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            var reg = map.riskmap;
            function plain(s) {
                // A textarea parses its content as text, so no markup in s can create elements.
                var t = document.createElement('textarea');
                t.innerHTML = s;
                return t.value;
            }
            function records() {
                var out = {};
                function put(k, extra, ll) {
                    if (Object.prototype.hasOwnProperty.call(out, k)) { k = k + ' (' + extra + ')'; }
                    out[k] = ll;
                }
                reg.facilities.forEach(function (f) {
                    var ll = L.latLng(f.row[reg.at.lat], f.row[reg.at.lon]);
                    ll.riskmap = f;
                    put(plain(f.row[reg.at.name]), plain(f.row[reg.at.id]), ll);
                });
                reg.zones.forEach(function (z) {
                    z.layer.eachLayer(function (l) {
                        var ll = l.getBounds().getCenter();
                        ll.riskmap = {zone: l, group: z.layer};
                        var p = l.feature.properties;
                        put(plain(p.zone_name) + ' · ' + z.label, plain(p.zone_code), ll);
                    });
                });
                return out;
            }
            var cache = null;
            var control = new L.Control.Search({
                sourceData: function (text, done) { cache = cache || records(); done(cache); },
                formatData: function (d) { return d; },
                buildTip: function (text) {
                    var li = L.DomUtil.create('li', '');
                    li.textContent = text;
                    return li;
                },
                initial: false,
                marker: false,
                collapsed: true,
                autoCollapse: false,
                position: 'topleft',
                textPlaceholder: {{ this.text.search|tojson }},
                textErr: {{ this.text.not_found|tojson }},
                textCancel: {{ this.text.cancel|tojson }},
                moveToLocation: function (ll, title, map) {
                    var t = ll.riskmap;
                    if (!map.hasLayer(t.group)) { map.addLayer(t.group); }
                    if (t.zone) {
                        map.fitBounds(t.zone.getBounds(), {maxZoom: 16});
                        t.zone.setStyle({weight: 4, color: '#000000'});
                        setTimeout(function () { t.group.resetStyle(t.zone); }, 3000);
                    } else {
                        map.setView(ll, Math.max(map.getZoom(), 15));
                        t.marker.openPopup();
                    }
                }
            });
            map.addControl(control);
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    default_js = list(folium.plugins.Search.default_js)
    default_css = list(folium.plugins.Search.default_css)

    def __init__(self, text: Mapping[str, str]) -> None:
        super().__init__()
        self._name = "RiskmapSearch"
        self.text = dict(text)


def _build_map(
    groups: Mapping[str, list[list[Any]]],
    zone_layers: Sequence[tuple[str, str, dict[str, Any]]],
    *,
    title: str,
    lang: str,
    tiles: str,
    tile_key: str | None,
    embed: bool,
    embed_height: int | str,
) -> folium.Map:
    text = _TEXT[lang]
    size: dict[str, Any] = {"width": "100%", "height": embed_height} if embed else {}
    m = _OfflineMap(
        location=[35.0, 105.0],  # replaced by fit_bounds whenever there is anything to show
        zoom_start=5,
        tiles="OpenStreetMap" if tiles == "openstreetmap" else None,
        max_zoom=_MAX_ZOOM,
        prefer_canvas=False,
        control_scale=False,  # our own metric-only scale bar is added by _Chrome
        zoom_snap=0.25,  # fractional zoom lets fit_bounds fill the window with the district
        **size,
    )
    m.options["maxZoom"] = _MAX_ZOOM
    _add_tiles(m, tiles, tile_key)
    root = m.get_root()
    assert isinstance(root, branca.element.Figure)  # folium.Map always places itself in a Figure
    root.title = html.escape(title)

    _Chrome(
        title_html=_title_html(title),
        legend_html=_legend_html(groups, zone_layers, lang),
        popup_fields=_popup_fields(groups, text),
    ).add_to(m)

    for i, (_key, label, collection) in enumerate(zone_layers):
        layer = folium.GeoJson(
            collection,
            name=label,
            show=(i == 0),
            style_function=_zone_style(weight=1.0 if i == 0 else 2.5),
            highlight_function=lambda feature: {"weight": 3, "fillOpacity": 0.75},
            tooltip=_zone_tooltip(collection, text, lang),
            smooth_factor=0.5,
        )
        layer.add_to(m)
        _RegisterZones(layer, label).add_to(m)

    if zone_layers:
        _workload_layer(zone_layers[0][2], text).add_to(m)

    bounds = _bounds(groups, zone_layers)
    if bounds is not None:
        m.fit_bounds(bounds, padding=(12, 12), max_zoom=16)

    for key, rows in groups.items():
        if key == levels.NOT_ASSESSED and not rows:
            continue
        name = _dot_html(key) + html.escape(
            text["facility_layer"].format(label=levels.label(key, lang), n=len(rows))
        )
        group = folium.FeatureGroup(name=name, show=True)
        _Facilities(m, rows, key, lang).add_to(group)
        group.add_to(m)

    folium.plugins.Fullscreen(
        position="topleft", title=text["fullscreen"], title_cancel=text["exit_fullscreen"]
    ).add_to(m)
    _Search(text).add_to(m)
    return m


def _add_tiles(m: folium.Map, tiles: str, tile_key: str | None) -> None:
    """Base tiles other than OpenStreetMap (which folium adds itself); none for ``"none"``."""
    common: dict[str, Any] = {
        "max_zoom": _MAX_ZOOM,
        "max_native_zoom": _TILE_NATIVE_MAX_ZOOM,
        "control": False,
        "overlay": False,
    }
    if tiles == "tianditu":
        assert tile_key is not None
        attr = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a>'
        for layer, overlay in (("vec", False), ("cva", True)):
            folium.TileLayer(
                tiles=_TIANDITU_URL % {"layer": layer, "key": tile_key},
                attr=attr,
                name=f"tianditu-{layer}",
                subdomains="01234567",
                **{**common, "overlay": overlay},
            ).add_to(m)
    elif tiles == "gaode":
        folium.TileLayer(
            tiles=_GAODE_URL,
            attr="&copy; 高德地图 (GCJ-02)",
            name="gaode",
            subdomains="1234",
            **common,
        ).add_to(m)


#: Purples for inspection workload: a sequential scale that cannot be mistaken for the four risk colours.
_WORKLOAD_COLOURS = ("#F2F0F7", "#CBC9E2", "#9E9AC8", "#756BB1", "#54278F")


def _workload_layer(collection: Mapping[str, Any], text: Mapping[str, str]) -> folium.GeoJson:
    """The finest zones shaded by inspections planned per year (off by default; a layer-control overlay)."""
    import numpy as np

    def value(feature: Mapping[str, Any]) -> float | None:
        try:
            return float(feature["properties"]["workload"])
        except (KeyError, TypeError, ValueError):
            return None

    known = [v for v in map(value, collection["features"]) if v is not None]
    edges = np.quantile(known, [0.2, 0.4, 0.6, 0.8]).tolist() if known else [0.0] * 4

    def style(feature: Mapping[str, Any]) -> dict[str, Any]:
        v = value(feature)
        colour = "#FFFFFF" if v is None else _WORKLOAD_COLOURS[int(np.searchsorted(edges, v, side="right"))]
        return {"fillColor": colour, "color": "#3F007D", "weight": 0.6, "fillOpacity": 0.75}

    tooltip = None
    if known:
        tooltip = folium.GeoJsonTooltip(
            fields=["zone_name", "workload"], aliases=[html.escape(text["name"]), html.escape(text["workload"])],
            sticky=True, style=f"font: 13px/1.4 {_FONT};",
        )  # fmt: skip
    return folium.GeoJson(collection, name=html.escape(text["workload_layer"]), show=False, style_function=style,
                          tooltip=tooltip)  # fmt: skip


#: The sensitivity layer's texts: its name, and the popup's labels.
_SENSITIVITY_TEXT = {
    "zh": {"layer": "等级不稳的区域 (替代约定下颜色会变)", "range": "各约定下等级", "by": "改变等级的约定"},
    "en": {"layer": "Zones whose colour depends on a convention", "range": "Level over the conventions",
           "by": "Changed by"},
}  # fmt: skip


def _sensitivity_layer(table: gpd.GeoDataFrame, lang: str) -> folium.GeoJson:
    """Zones whose level changes under some [sensitivity] variant: a dashed outline, the variants in the popup."""
    import numpy as np
    import shapely

    t = _SENSITIVITY_TEXT[lang]
    changed = _to_wgs84(table[table["changed_by"] != ""], "sensitivity")
    geoms = shapely.transform(changed.geometry.to_numpy(), lambda c: np.round(c, _COORD_DECIMALS))
    features = []
    for rec, geom in zip(changed.to_dict("records"), geoms, strict=True):
        span = f"{levels.label(rec['level_min'], lang)} – {levels.label(rec['level_max'], lang)}"
        props = {
            "zone_name": _esc(rec[ZONE_NAME]),
            "level_label": html.escape(levels.label(rec["level"], lang)),
            "range": html.escape(span),
            "changed_by": _esc(rec["changed_by"]),
        }
        features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)})
    collection = {"type": "FeatureCollection", "features": features}
    text = _TEXT[lang]
    popup = None
    if features:  # folium validates the fields against the first feature
        popup = folium.GeoJsonPopup(
            fields=["zone_name", "level_label", "range", "changed_by"],
            aliases=[html.escape(a) for a in (text["name"], text["level"], t["range"], t["by"])],
        )
    return folium.GeoJson(
        collection,
        name=html.escape(t["layer"]),
        show=True,
        style_function=lambda _f: {"fill": False, "color": "#000000", "weight": 2.5, "dashArray": "6 4"},
        popup=popup,
        smooth_factor=0.5,
    )


def _zone_style(weight: float) -> Any:
    def style(feature: Mapping[str, Any]) -> dict[str, Any]:
        key = feature["properties"]["level"]
        return {
            "fillColor": levels.color(key),
            "color": levels.outline(key),
            "weight": weight,
            "fillOpacity": 0.6,
            "opacity": 0.9,
        }

    return style


def _zone_tooltip(
    collection: Mapping[str, Any], text: Mapping[str, str], lang: str
) -> folium.GeoJsonTooltip | None:
    features = collection["features"]
    if not features:
        return None  # folium validates the fields against the first feature
    fields = ["zone_name", "zone_code", "level_label"]
    aliases = [text["name"], text["zone_code"], text["level"]]
    for lvl in (*levels.LEVEL_NAMES, levels.NOT_ASSESSED):
        if f"n_{lvl}" in features[0]["properties"]:
            fields.append(f"n_{lvl}")
            aliases.append(text["n_level"].format(label=levels.label(lvl, lang)))
    for key in ("hidden_dangers", "placed"):
        if key in features[0]["properties"]:
            fields.append(key)
            aliases.append(text[key])
    return folium.GeoJsonTooltip(
        fields=fields,
        aliases=[html.escape(a) for a in aliases],
        sticky=True,
        style=f"font: 13px/1.4 {_FONT};",
    )


def _popup_fields(groups: Mapping[str, list[list[Any]]], text: Mapping[str, str]) -> list[list[Any]]:
    """``[label, row index]`` of the popup lines; -1 stands for the level, which is the same for a group."""
    first = next((rows[0] for rows in groups.values() if rows), None)
    wanted = [
        ("id", _AT["id"]),
        ("sector", _AT["sector"]),
        ("level", -1),
        *(
            (name, _AT[name])
            for name in ("score", "method", "reasons", "zone", "inspections", "hidden_dangers")
        ),
        ("level_method", _AT["level_method"]),
    ]
    return [
        [html.escape(text[name]), index]
        for name, index in wanted
        if index < 0 or first is None or first[index] is not None
    ]


def _bounds(
    groups: Mapping[str, list[list[Any]]], zone_layers: Sequence[tuple[str, str, dict[str, Any]]]
) -> list[list[float]] | None:
    import shapely

    for _, _, collection in zone_layers:
        if collection["features"]:
            geoms = [shapely.geometry.shape(f["geometry"]) for f in collection["features"]]
            west, south, east, north = shapely.total_bounds(geoms)
            return [[float(south), float(west)], [float(north), float(east)]]
    points = [row for rows in groups.values() for row in rows]
    if not points:
        return None
    lats = [p[_AT["lat"]] for p in points]
    lons = [p[_AT["lon"]] for p in points]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


# ----------------------------------------------------------------------------------------------------
# HTML pieces


def _pane(key: str) -> str:
    return f"riskmap-facilities-{key}"


def _dot_html(key: str) -> str:
    return (
        f'<span class="riskmap-dot" style="background:{levels.color(key)};'
        f'border-color:{levels.outline(key)}"></span>'
    )


def _title_html(title: str) -> str:
    return (
        f'<div id="{TITLE_ID}" class="riskmap-title riskmap-box" data-riskmap-map="" '
        f'style="display:none">{html.escape(title)}</div>'
    )


def _legend_html(
    groups: Mapping[str, list[list[Any]]], zone_layers: Sequence[tuple[str, str, dict[str, Any]]], lang: str
) -> str:
    finest = None
    if zone_layers:
        zone_counts: dict[str, int] = {}
        for f in zone_layers[0][2]["features"]:
            zone_counts[f["properties"]["level"]] = zone_counts.get(f["properties"]["level"], 0) + 1
        finest = (zone_layers[0][1], zone_counts)
    any_none = any(
        f["properties"]["level"] == levels.NOT_ASSESSED for _, _, c in zone_layers for f in c["features"]
    ) or bool(groups.get(levels.NOT_ASSESSED))
    return _legend_table({key: len(rows) for key, rows in groups.items()}, finest, any_none, lang)


def _legend_table(
    facility_counts: Mapping[str, int],
    finest: tuple[str, Mapping[str, int]] | None,
    any_none: bool,
    lang: str,
) -> str:
    """The legend box: per level, the exact number of facilities and of the finest zones.

    ``finest`` is the finest zone layer's escaped label and its counts per level.
    """
    text = _TEXT[lang]
    keys = [*levels.LEVEL_NAMES, *([levels.NOT_ASSESSED] if any_none else [])]

    head = f'<th></th><th style="text-align:left">{html.escape(text["level"])}</th>'
    head += f"<th>{html.escape(text['facilities'])}</th>"
    if finest is not None:
        head += f"<th>{finest[0]}</th>"
    rows = []
    for key in keys:
        swatch = (
            f'<span class="riskmap-swatch" style="background:{levels.color(key)};'
            f'border-color:{levels.outline(key)}"></span>'
        )
        cells = f"<td>{swatch}</td><td>{html.escape(levels.label(key, lang))}</td>"
        cells += f'<td class="n">{facility_counts.get(key, 0)}</td>'
        if finest is not None:
            cells += f'<td class="n">{finest[1].get(key, 0)}</td>'
        rows.append(f'<tr data-level="{key}">{cells}</tr>')
    return (
        f'<div id="{LEGEND_ID}" class="riskmap-legend riskmap-box" data-riskmap-map="" style="display:none">'
        f'<div class="riskmap-legend-title">{html.escape(text["legend"])}</div>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _js_json(obj: Any) -> str:
    """JSON for a ``<script>`` block: compact, UTF-8, and unable to close the script element.

    Only ``<`` needs escaping for that (it starts ``</script>`` and ``<!--``); ``&`` is left alone so escaped
    names stay readable in the file. U+2028/9 are line breaks to older JavaScript engines.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# ----------------------------------------------------------------------------------------------------
# Rendering without a second templating pass


class _RenderedText:
    """Stands in for ``jinja2.Template`` around text that is already rendered: it is never compiled."""

    def __init__(self, text: str) -> None:
        self.text = text

    def render(self, *args: Any, **kwargs: Any) -> str:
        return self.text


_RENDER_LOCK = threading.Lock()


@contextmanager
def _rendered_text_is_data() -> Iterator[None]:
    """While the page renders, ``branca.element.Element(text)`` keeps ``text`` as it is.

    branca's ``MacroElement.render`` (and folium's ``render`` methods) render a template, then wrap the result
    in ``Element(result)``, whose constructor compiles ``result`` with ``jinja2.Template``: whatever the first
    pass inserted (a facility name, a zone name, the title) is compiled and run as a template in the second.
    Every ``Element`` built during a render wraps text rendered already (elements built with real templates
    are built before ``render`` is called), so the name ``Template`` that ``Element.__init__`` looks up in
    branca's module is swapped for :class:`_RenderedText` for the duration of the render. The lock keeps two
    threads of this process from rendering (and swapping) at once.
    """
    with _RENDER_LOCK:
        compiled = branca.element.Template
        branca.element.Template = _RenderedText  # type: ignore[misc,assignment]
        try:
            yield
        finally:
            branca.element.Template = compiled  # type: ignore[misc]


def _render(root: branca.element.Element) -> str:
    """The page of ``root``, with no data ever compiled as a template."""
    with _rendered_text_is_data():
        return root.render()


# ----------------------------------------------------------------------------------------------------
# Deterministic ids, offline assets, writing


def _content_key(*parts: Any) -> str:
    """A short digest of the map's content, so ids are stable across runs yet differ between maps."""
    digest = hashlib.sha1(json.dumps(parts, ensure_ascii=False, default=str, sort_keys=True).encode("utf-8"))
    return digest.hexdigest()[:8]


def _stable_ids(root: branca.element.Element, key: str) -> None:
    """Replace folium's random element ids with ``<key><counter>``.

    The key keeps two maps pasted into one report from clashing (folium's ids become global JS variables).
    """
    counter = itertools.count()

    def walk(element: branca.element.Element) -> None:
        element._id = f"{key}{next(counter):04d}"
        for child in element._children.values():
            walk(child)

    walk(root)


_SCRIPT_LINK = re.compile(r'<script\b[^>]*?\bsrc="(?P<url>[^"]+)"[^>]*>\s*</script>', re.IGNORECASE)
_CSS_LINK = re.compile(r'<link\b[^>]*?\bhref="(?P<url>[^"]+)"[^>]*?/?>', re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(?!data:|#)(?P<ref>[^)'\"]+)\1\s*\)", re.IGNORECASE)
_REMOTE = re.compile(r"<(?:script|link)\b[^>]*?\b(?:src|href)=\"(https?:)?//[^\"]*\"", re.IGNORECASE)


def _asset(url: str) -> str:
    from offlinefolium.elements import _res

    try:
        return str(_res[url])
    except KeyError:
        raise OutputError(
            f"cannot embed {url} in the HTML map: offlinefolium has no copy of it, and the page would be "
            "blank offline; install the folium-offline version that matches folium "
            f"({folium.__version__}) or drop the plugin that needs it"
        ) from None


def _inline_assets(page: str) -> str:
    """Replace every CDN ``<script src>`` and stylesheet ``<link>`` with the file's content."""

    def script(match: re.Match[str]) -> str:
        body = _asset(match["url"])
        # "</script" inside the body would end the element early; "<\/" means the same inside JS strings.
        body = re.sub(r"</(script)", r"<\\/\1", body, flags=re.IGNORECASE)
        return f"<script>{body}</script>"

    def style(match: re.Match[str]) -> str:
        tag = match.group(0)
        if "stylesheet" not in tag.lower():
            return tag
        body = _asset(match["url"])
        # Relative url(...) (a spinner image here and there) would request a file that is not beside the page.
        body = _CSS_URL.sub("none", body)
        body = re.sub(r"</(style)", r"<\\/\1", body, flags=re.IGNORECASE)
        return f"<style>{body}</style>"

    page = _SCRIPT_LINK.sub(script, page)
    page = _CSS_LINK.sub(style, page)
    left = _REMOTE.search(page)
    if left:
        raise OutputError(f"the HTML map still references {left.group(0)!r}; it would not load offline")
    return page


_FULL_PAGE_STYLE = re.compile(r"<style>\s*(?:html,\s*body|#map)\s*\{[^}]*\}\s*</style>\s*")


def _finish_page(page: str, *, lang: str, embed: bool) -> str:
    page = _inline_assets(page)
    # Our boxes find their map by name, so a report holding several maps keeps each legend with its map.
    map_name = re.search(r'class="folium-map" id="([^"]+)"', page)
    if map_name:
        page = page.replace('data-riskmap-map=""', f'data-riskmap-map="{map_name.group(1)}"')
    if embed:
        # Full-page rules (html, body at 100 %, no margin) would restyle a report the map is pasted into.
        page = _FULL_PAGE_STYLE.sub("", page)
    page = page.replace("<html>", f'<html lang="{_TEXT[lang]["html_lang"]}">', 1)
    return page


def _write_html(tmp: Path, page: str) -> None:
    tmp.write_text(page, encoding="utf-8")


# ----------------------------------------------------------------------------------------------------
# The compact map: above cluster_threshold facilities (or _COMPACT_ZONES zones in a layer)

#: Above this many zones in one layer the zones are drawn on canvas from compact columns.
_COMPACT_ZONES = 5000
#: Above this many finest zones (with a coarser layer) the overview shows the coarser zones (towns) and the
#: finest ones appear once they are at least _ZONE_MIN_PX pixels wide.
_SPLIT_ZONES = 3000
_ZONE_MIN_PX = 12
#: More facilities than this in view (or than one per 100 px² of the map, where dots would hide each other):
#: the map shows the most severe level's count per 48-px block (a 1400 × 900 map holds ~550), not each facility.
_POINT_LIMIT = 30_000
_COMPACT_JS = Path(__file__).with_name("compact_map.js")
#: The inflater compact_map.js falls back on without DecompressionStream (MIT, vendored with its licence).
_INFLATE_JS = Path(__file__).parent / "vendor" / "tiny-inflate.js"
_COMPACT_CSS = """
.riskmap-filters { padding: 6px 8px; font-size: 13px; }
.riskmap-filters label { display: block; white-space: nowrap; }
.riskmap-filters select { margin-top: 4px; max-width: 220px; }
.riskmap-filter-count { margin-top: 4px; font-variant-numeric: tabular-nums; }
.riskmap-overview-note { margin-top: 4px; max-width: 220px; color: #555; font-size: 12px; white-space: normal; }
.riskmap-search { padding: 4px; }
.riskmap-search-input { width: 220px; font-size: 13px; }
.riskmap-search-results { list-style: none; margin: 0; padding: 0; max-height: 300px; overflow-y: auto;
  max-width: 320px; font-size: 13px; }
.riskmap-search-results li { padding: 2px 4px; cursor: pointer; }
.riskmap-search-results li:hover { background: #E8E8E8; }
.riskmap-message { position: absolute; top: 60px; left: 50%; transform: translateX(-50%); z-index: 1000;
  padding: 6px 12px; }
"""


def _pixel_degrees(zoom: float) -> float:
    """Degrees of longitude per screen pixel at ``zoom`` (Web Mercator)."""
    return 360.0 / (256.0 * 2.0**zoom)


#: The finest copy of zone outlines the page gets: simplified to half a pixel at the deepest zoom (~0.15 m), which
#: no one can see and which drops collinear points (~20 % of the vertices of detailed real boundaries).
_LOSSLESS = _pixel_degrees(_MAX_ZOOM) / 2


def _compact_page(
    facilities: gpd.GeoDataFrame,
    zones: Mapping[str, gpd.GeoDataFrame],
    *,
    title: str,
    lang: str,
    tiles: str,
    tile_key: str | None,
    embed: bool,
    embed_height: int | str,
    kind_labels: KindLabels | None,
    sensitivity: gpd.GeoDataFrame | None,
) -> tuple[str, int]:
    """The page of a large map: typed columns drawn on canvas by compact_map.js (see html_compact)."""
    import shapely

    from riskmap.outputs import html_compact as hc

    text = _TEXT[lang]
    fac = _to_wgs84(facilities, "facilities")
    keys = _level_keys(fac, "facilities", FACILITY_ID)
    layers = []
    for key, gdf in zones.items():
        what = f"zone layer {key!r}"
        _require(gdf, _ZONE_REQUIRED, what)
        z = _to_wgs84(gdf, what)
        layers.append((key, z, _level_keys(z, what, ZONE_CODE)))

    cols = hc.Columns()
    towns = layers[1][1] if len(layers) >= 2 else None
    fmeta = hc.facility_columns(fac, keys, lang, towns, cols)
    zmeta, specs = _compact_zones(layers, _village_zoom(layers), lang, kind_labels, cols)
    smeta, leftover = _compact_sensitivity(sensitivity, layers, lang, cols)
    counts = keys.value_counts()
    facility_counts = {k: int(counts.get(k, 0)) for k in hc.LEVEL_ORDER}
    all_bounds = [shapely.total_bounds(z.geometry.to_numpy()) for _, z, _ in layers if len(z)]
    if len(fac):
        all_bounds.append(shapely.total_bounds(fac.geometry.to_numpy()))
    west, south = (min(b[0] for b in all_bounds), min(b[1] for b in all_bounds)) if all_bounds else (0, 0)
    east, north = (max(b[2] for b in all_bounds), max(b[3] for b in all_bounds)) if all_bounds else (0, 0)
    meta = _compact_meta(fmeta, zmeta, specs, facility_counts, (west, south), lang)
    meta["sensitivity"] = smeta
    data = hc.pack(cols)
    meta["layout"] = cols.meta["layout"]
    texts = _compact_texts(lang, len(fac))

    m = _compact_base_map(title, lang, tiles, tile_key, embed, embed_height)
    finest = None
    if layers:
        zc = layers[0][2].value_counts()
        finest = (str(specs[0]["label"]), {str(k): int(v) for k, v in zc.items()})
    any_none = facility_counts[levels.NOT_ASSESSED] > 0 or any(
        (zk == levels.NOT_ASSESSED).any() for *_, zk in layers
    )
    legend = _legend_table(facility_counts, finest, bool(any_none), lang)
    _Chrome(title_html=_title_html(title), legend_html=legend, popup_fields=[]).add_to(m)
    if all_bounds:
        m.fit_bounds([[south, west], [north, east]], padding=(12, 12), max_zoom=16)
    folium.plugins.Fullscreen(
        position="topleft", title=text["fullscreen"], title_cancel=text["exit_fullscreen"]
    ).add_to(m)
    if leftover is not None:  # zones the finest layer lacks: a folium layer, before the control that lists it
        _sensitivity_layer(_to_gcj02(leftover, "sensitivity") if tiles == "gaode" else leftover, lang).add_to(
            m
        )
    control = folium.LayerControl(position="topright", collapsed=embed)
    control.add_to(m)
    _Compact(control, meta, data, texts).add_to(m)
    key = _content_key(hashlib.sha1(data.encode("ascii")).hexdigest(), meta, title, lang, tiles, embed,
                       embed_height)  # fmt: skip
    root = m.get_root()
    _stable_ids(root, key)
    return _finish_page(_render(root), lang=lang, embed=embed), len(fac)


def _compact_sensitivity(
    table: gpd.GeoDataFrame | None,
    layers: Sequence[tuple[str, gpd.GeoDataFrame, pd.Series]],
    lang: str,
    cols: Any,
) -> tuple[dict[str, Any] | None, gpd.GeoDataFrame | None]:
    """The zones some [sensitivity] variant changes, as indices into the finest layer, drawn dashed on canvas.

    At 40,000 villages a third may change: as a folium GeoJSON layer that was +4.4 MB and 175 ms per pan/zoom.
    Returns the page's description and the changed zones the finest layer lacks (None if there are none).
    """
    if table is None:
        return None, None
    t = _SENSITIVITY_TEXT[lang]
    changed = table[table["changed_by"] != ""]
    finest = pd.Index(layers[0][1][ZONE_CODE].astype(str)) if layers else pd.Index([], dtype=object)
    at = finest.get_indexer(changed[ZONE_CODE].astype(str)) if len(finest.unique()) == len(finest) else None
    if at is None:  # duplicate codes in the finest layer: no safe match, keep the folium layer
        return None, changed
    found = changed[at >= 0]
    span = [
        f"{levels.label(lo, lang)} – {levels.label(hi, lang)}"
        for lo, hi in zip(found["level_min"], found["level_max"], strict=True)
    ]
    cols.add("s.zones", at[at >= 0].astype("uint32"))
    meta = {
        "label": html.escape(t["layer"]),
        "range": t["range"],
        "by": t["by"],
        "props": {"range": cols.text("s.range", span), "by": cols.text("s.by", found["changed_by"])},
    }
    missing = changed[at < 0]
    return meta, (missing if len(missing) else None)


def _compact_meta(
    fmeta: dict[str, Any],
    zmeta: list[dict[str, Any]],
    specs: list[dict[str, Any]],
    facility_counts: Mapping[str, int],
    corner: tuple[float, float],
    lang: str,
) -> dict[str, Any]:
    """What compact_map.js needs besides the columns: levels, counts, layers, popup lines, the row contract."""
    from riskmap.outputs import html_compact as hc

    text = _TEXT[lang]
    west, south = corner
    present = set(fmeta["fields"])
    wanted = ["id", "sector", "level", "score", "method", "reasons", "zone", "inspections", "hidden_dangers",
              "level_method"]  # fmt: skip
    meta = {
        "levels": [
            {"key": k, "label": levels.label(k, lang), "color": levels.color(k), "outline": levels.outline(k)}
            for k in hc.LEVEL_ORDER
        ],
        "levelCounts": [facility_counts[k] for k in hc.LEVEL_ORDER],
        "origin": [round(west * 1e6), round(south * 1e6)],
        "facilities": fmeta,
        "zones": zmeta,
        "zoneLayers": specs,
        "workload": 0 if zmeta and zmeta[0]["workload"] else None,
        "workloadColours": list(_WORKLOAD_COLOURS),
        "popup": [[text[f], f] for f in wanted if f == "level" or f in present],
        "row": list(FACILITY_ROW),
        "pane": _pane("red"),
        "pointLimit": _POINT_LIMIT,
    }
    return meta


def _village_zoom(layers: Sequence[tuple[str, gpd.GeoDataFrame, pd.Series]]) -> float | None:
    """The zoom from which the finest zones replace the next layer (towns), or None.

    A median village is _ZONE_MIN_PX pixels wide there; None without a coarser layer or with few finest zones.
    """
    import numpy as np
    import shapely

    if len(layers) < 2 or len(layers[0][1]) <= _SPLIT_ZONES:
        return None
    b = shapely.bounds(layers[0][1].geometry.to_numpy())
    width = float(np.median(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])))
    return float(math.floor(math.log2(_ZONE_MIN_PX * 360.0 / (256.0 * max(width, 1e-9)))))


def _compact_texts(lang: str, n_facilities: int) -> dict[str, str]:
    """The labels compact_map.js needs: plain text (it sets textContent), HTML only for the layer control."""
    text = _TEXT[lang]
    texts = {
        k: text[k]
        for k in ("search", "not_found", "zone_code", "level", "n_level", "hidden_dangers", "workload", "filter",
                  "all_sectors", "all_towns", "shown", "damaged", "overview_note", "bubble", "placed")
    }  # fmt: skip
    texts["workload_layer"] = html.escape(text["workload_layer"])
    texts["facility_layer"] = html.escape(text["facility_layer_all"].format(n=n_facilities))
    return texts


def _compact_base_map(
    title: str, lang: str, tiles: str, tile_key: str | None, embed: bool, embed_height: int | str
) -> folium.Map:
    """The empty Leaflet map of a compact page (canvas preferred, our own scale bar, the title set)."""
    size: dict[str, Any] = {"width": "100%", "height": embed_height} if embed else {}
    m = _OfflineMap(
        location=[35.0, 105.0],
        zoom_start=5,
        tiles="OpenStreetMap" if tiles == "openstreetmap" else None,
        max_zoom=_MAX_ZOOM,
        prefer_canvas=True,
        control_scale=False,
        zoom_snap=0.25,
        **size,
    )
    m.options["maxZoom"] = _MAX_ZOOM
    _add_tiles(m, tiles, tile_key)
    root = m.get_root()
    assert isinstance(root, branca.element.Figure)
    root.title = html.escape(title)
    return m


def _compact_zones(
    layers: Sequence[tuple[str, gpd.GeoDataFrame, pd.Series]],
    village_zoom: float | None,
    lang: str,
    kind_labels: KindLabels | None,
    cols: Any,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Columns and layer-control specs of the zone layers.

    With ``village_zoom`` the finest layer is shown from that zoom on and the next one (towns) below it, each
    simplified for the zooms it is shown at.
    """
    from riskmap.outputs import html_compact as hc

    split_ok = village_zoom is not None
    village_zoom = -1.0 if village_zoom is None else village_zoom
    zmeta, specs = [], []
    for k, (key, z, zkeys) in enumerate(layers):
        if split_ok and k == 0:
            tolerances = [_LOSSLESS, _pixel_degrees(village_zoom + 2), _pixel_degrees(village_zoom)]
        elif split_ok and k == 1:  # towns are only drawn below village_zoom: no finer copy is needed
            tolerances = [_pixel_degrees(village_zoom) / 2, _pixel_degrees(village_zoom - 2)]
        else:
            tolerances = [_LOSSLESS]
        meta_k = hc.zone_columns(z, zkeys, f"z{k}", lang, cols, tolerances)
        meta_k["prefix"] = f"z{k}"
        zmeta.append(meta_k)
        label = _zone_label(key, lang, kind_labels)
        specs.append(
            {
                "label": label,  # escaped: the layer control inserts it as HTML
                "text": html.unescape(label),
                # Towns alone on the overview need no wide border (and a 1-px one is ~4x faster to stroke).
                "weight": 1.0 if k == 0 or (split_ok and k == 1) else 2.5,
                "show": k == 0 or (split_ok and k == 1),
                "minZoom": village_zoom if split_ok and k == 0 else -1,
                "maxZoom": village_zoom if split_ok and k == 1 else 99,
            }
        )

    return zmeta, specs


class _Compact(branca.element.MacroElement):
    """Facilities and zones from compact columns, drawn on canvas; filters and search (compact_map.js)."""

    _template = branca.element.Template("""
        {% macro header(this, kwargs) %}
            <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {{ this.js }}
        riskmapCompact({{ this._parent.get_name() }}, {{ this.meta }}, "{{ this.data }}", {{ this.texts }},
                       {{ this.control.get_name() }});
        {% endmacro %}
    """)

    def __init__(
        self, control: folium.LayerControl, meta: Mapping[str, Any], data: str, texts: Mapping[str, str]
    ):
        super().__init__()
        self._name = "RiskmapCompact"
        self.control = control
        self.css = _COMPACT_CSS
        js = "\n".join(f.read_text(encoding="utf-8") for f in (_INFLATE_JS, _COMPACT_JS))
        self.js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
        self.meta = _js_json(meta)
        self.data = data  # base64: no quote, backslash or "<" can occur
        self.texts = _js_json(texts)
