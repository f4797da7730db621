"""The interactive four-colour risk map (红橙黄蓝四色安全风险空间分布图) as one self-contained HTML file.

One page for every size, from a district's 3,000 facilities to a province's million: folium (Leaflet) is the
page's frame (the map, the layer control, the full-screen button, the title and the legend), and the facilities
and zones travel as compressed typed columns (:mod:`riskmap.outputs.html_compact`) that the map's JavaScript
draws on canvas, with popups, tooltips, filters and search. The page works with no network at all: every
script and stylesheet folium would fetch from a CDN is copied into the page from the ``offlinefolium``
package at render time, and the map draws no tiles unless asked. District planners on offline government
networks open it straight from disk.

Data is never code. Strings from the data (facility and zone names, sectors, reasons) reach the page only
inside the compressed columns, and the page shows them with ``textContent``, never as HTML; the few labels
Leaflet inserts as HTML (the layer control's, the legend's, the title) are escaped here with
:func:`html.escape`. And no data is ever compiled as a template: branca wraps each element's rendered text in
a new ``Element(text)``, which compiles that text with Jinja, so a title holding ``{{ … }}`` would run as
Python; :func:`_render` makes those wrappers hold the text as it is (see there).
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
import warnings
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
    LEVEL,
    NAME,
    ZONE_CODE,
    ZONE_NAME,
)
from riskmap.errors import ConfigError, InputError, OutputError
from riskmap.i18n import N_, ByLanguage
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

#: The fields of a facility as a row, in order: the page gives a facility as a row in the order Python emits
#: (``meta.row``, read by ``map.riskmap.compact.row(i)``), so a reorder here cannot break it.
FACILITY_ROW = (
    "lat", "lon", "name", "id", "sector", "score", "method", "reasons", "zone", "inspections", "hidden_dangers",
    "level_method", "level_computed",
)  # fmt: skip
#: Map panes of our own (name: z-index): the zone under the mouse over every zone layer (Leaflet's overlayPane
#: is 400), the facilities over both, so switching a zone layer on never buries them.
_HIGHLIGHT_PANE, _FACILITY_PANE = "riskmap-highlight", "riskmap-facilities"
_PANES = {_HIGHLIGHT_PANE: 440, _FACILITY_PANE: 450}

_EMBED_HEIGHT_DEFAULT = 600
_MAX_ZOOM = 19  # one past the tiles' native zoom; set on the map too: tiles=None leaves Leaflet without one

#: The page's language (the html element's lang: fonts and screen readers follow it).
_HTML_LANG = {"zh": "zh-CN", "en": "en"}
#: The page's words, read in the map's language.
_TEXT = ByLanguage(
    {
        "legend": N_("Legend"),
        "level": N_("Risk level"),
        "facilities": N_("Facilities"),
        "n_level": N_("{label} facilities"),
        "id": N_("ID"),
        "sector": N_("Sector"),
        "score": N_("Score"),
        "method": N_("Method"),
        "reasons": N_("Reasons"),
        "zone": N_("Zone"),
        "inspections": N_("Inspections per year"),
        "hidden_dangers": N_("Hidden dangers open/overdue/major"),
        "placed": N_("Placed by the register's zone (no coordinates)"),
        "workload": N_("Inspections planned per year"),
        "workload_layer": N_("Inspection workload (per year)"),
        "level_method": N_("Method level (before adjustment)"),
        "level_computed": N_("Computed level (before the expert decision)"),
        "decision": N_("Expert decision"),
        "zone_code": N_("Zone code"),
        "search": N_("Search facility or zone name"),
        "not_found": N_("Not found"),
        "fullscreen": N_("Full screen"),
        "exit_fullscreen": N_("Exit full screen"),
        "facility_layer": N_("Facilities ({n})"),
        "filter": N_("Filter"),
        "overview_note": N_(
            "Circles count {label} facilities per screen block; zoom in to see each facility"
        ),
        "bubble": N_("{n} {label} facilities: click to zoom in"),
        "all_sectors": N_("All sectors"),
        "all_towns": N_("All towns"),
        "shown": N_("Shown {n} / {total}"),
        "damaged": N_(
            "The map data is damaged, the facilities cannot be shown: copy or generate this HTML file again"
        ),
        "zoom_in": N_("Zoom in"),
        "zoom_out": N_("Zoom out"),
        "layers": N_("Layers"),
        "close_popup": N_("Close popup"),
        "leaflet": N_("A JavaScript library for interactive maps"),
    }
)

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
    cluster_threshold: int | None = None,
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
    cluster_threshold : int, optional
        Deprecated, does nothing: every map is the page of compressed columns drawn on canvas (it chose
        between that page and a page of one Leaflet marker per facility). Passing it warns.
    kind_labels : Mapping, optional
        The project's own zone-kind labels (``{kind: {"zh": ..., "en": ...}}``); see :mod:`riskmap.zone_kinds`.
    sensitivity : geopandas.GeoDataFrame, optional
        The finest zones' sensitivity table (``level_min``, ``level_max``, ``changed_by``, ...): the zones a
        variant changes get a dashed outline layer, with the variants in the popup. Its zone codes must be
        codes of the finest layer, each once.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ConfigError
        An unknown ``lang`` or ``tiles``, or Tianditu tiles without a valid key.
    InputError
        A layer without a required column or CRS, or with an unknown level; a sensitivity table whose zones
        are not the finest layer's.
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
    if cluster_threshold is not None:
        _deprecated("cluster_threshold")
    facilities, zones, tile_key = _displayed(facilities, zones, lang, tiles, tianditu_key)
    page, n_facilities = _compact_page(
        facilities, zones, title=title, lang=lang, tiles=tiles, tile_key=tile_key, embed=embed,
        embed_height=embed_height, kind_labels=kind_labels, sensitivity=sensitivity,
    )  # fmt: skip
    return _write_page(path, page, n_facilities, len(zones))


def _deprecated(argument: str) -> None:
    warnings.warn(
        f"render_html: {argument} no longer does anything (every map is the canvas page of compressed columns); "
        "drop the argument",
        DeprecationWarning,
        stacklevel=3,  # the caller of render_html
    )


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
# Options and input checks


def _check_choice(name: str, value: str, allowed: Sequence[str]) -> None:
    if value not in allowed:
        raise ConfigError(f"render_html: {name}={value!r} is not supported; use one of {', '.join(allowed)}")


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


def _zone_label(key: str, lang: str, custom: KindLabels | None = None) -> str:
    """Escaped layer-control label of a zone layer."""
    return html.escape(kind_label(key, lang, custom))


# ----------------------------------------------------------------------------------------------------
# The folium frame: the map, its furniture (title, legend, scale bar), base tiles


class _OfflineMap(folium.Map):
    """A folium Map that loads only Leaflet itself.

    folium's defaults add jQuery, Bootstrap, Font Awesome and Awesome Markers (~1.3 MB once inlined); this map
    draws on canvas and builds its own HTML, so none of them is needed.
    """

    default_js = [pair for pair in folium.Map.default_js if pair[0] == "leaflet"]
    default_css = [pair for pair in folium.Map.default_css if pair[0] == "leaflet_css"]


class _Chrome(branca.element.MacroElement):
    """Page furniture: CSS, the title box, the legend control, the metric scale bar, our panes."""

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
            map.riskmap = {};  // js/main.js adds ready (a promise) and compact (the data's handle)
            // The documented handle for embedders and plugins (folium's variable name changes with the content).
            window.riskmapMap = map;
            var panes = {{ this.panes }};
            for (var p in panes) { map.createPane(p).style.zIndex = panes[p]; }
            L.control.scale({imperial: false, position: 'bottomleft'}).addTo(map);
            // Leaflet's own words (its buttons' titles, the attribution's, the popup's close button) in the page's
            // language; the layer control's button is named by js/main.js, which gets the control.
            var words = {{ this.words }};
            if (map.zoomControl) {
                [['in', words.zoom_in], ['out', words.zoom_out]].forEach(function (b) {
                    var button = map.zoomControl.getContainer().querySelector('.leaflet-control-zoom-' + b[0]);
                    if (button) { button.title = b[1]; button.setAttribute('aria-label', b[1]); }
                });
            }
            if (map.attributionControl) { map.attributionControl.setPrefix(words.prefix); }
            map.on('popupopen', function (e) {
                var close = e.popup.getElement().querySelector('.leaflet-popup-close-button');
                if (close) { close.setAttribute('aria-label', words.close_popup); close.title = words.close_popup; }
            });

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

    def __init__(self, title_html: str, legend_html: str, lang: str) -> None:
        super().__init__()
        self._name = "RiskmapChrome"
        self.panes = _js_json(_PANES)
        text = _TEXT[lang]
        # The attribution's prefix is HTML (Leaflet sets it as such): our own words, escaped.
        prefix = f'<a href="https://leafletjs.com" title="{html.escape(text["leaflet"])}">Leaflet</a>'
        self.words = _js_json(
            {"zoom_in": text["zoom_in"], "zoom_out": text["zoom_out"], "close_popup": text["close_popup"],
             "prefix": prefix}
        )  # fmt: skip
        self.css = _CSS
        self.title_html = title_html
        self.legend_html = legend_html


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


#: The sensitivity layer's texts: its name, and the popup's labels.
_SENSITIVITY_TEXT = ByLanguage(
    {
        "layer": N_("Zones whose colour depends on a convention"),
        "range": N_("Level over the conventions"),
        "by": N_("Changed by"),
    }
)


# ----------------------------------------------------------------------------------------------------
# HTML pieces


def _title_html(title: str) -> str:
    return (
        f'<div id="{TITLE_ID}" class="riskmap-title riskmap-box" data-riskmap-map="" '
        f'style="display:none">{html.escape(title)}</div>'
    )


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
    page = page.replace("<html>", f'<html lang="{_HTML_LANG[lang]}">', 1)
    return page


def _write_html(tmp: Path, page: str) -> None:
    tmp.write_text(page, encoding="utf-8")


# ----------------------------------------------------------------------------------------------------
# The map's data: compact columns drawn on canvas by the map's JavaScript (js/)

#: Above this many finest zones (with a coarser layer) the overview shows the coarser zones (towns) and the
#: finest ones appear once they are at least _ZONE_MIN_PX pixels wide.
_SPLIT_ZONES = 3000
_ZONE_MIN_PX = 12
#: More facilities than this in view (or than one per 100 px² of the map, where dots would hide each other):
#: the map shows the most severe level's count per 48-px block (a 1400 × 900 map holds ~550), not each facility.
_POINT_LIMIT = 30_000
#: The map's JavaScript: small modules (js/*.js, each defining one name), concatenated in the order of
#: js/modules.json into one function of the page, whose result is ``riskmapCompact`` (js/main.js). No bundler: the
#: page stays one offline file, and tests/js loads the same text in the same order.
_JS_DIR = Path(__file__).parent / "js"
#: The inflater js/inflate.js falls back on without DecompressionStream (MIT, vendored with its licence).
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
    """The page: typed columns drawn on canvas by js/*.js (see html_compact)."""
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
    smeta = _compact_sensitivity(sensitivity, layers, lang, cols)
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
    _Chrome(title_html=_title_html(title), legend_html=legend, lang=lang).add_to(m)
    if all_bounds:
        m.fit_bounds([[south, west], [north, east]], padding=(12, 12), max_zoom=16)
    folium.plugins.Fullscreen(
        position="topleft", title=text["fullscreen"], title_cancel=text["exit_fullscreen"]
    ).add_to(m)
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
) -> dict[str, Any] | None:
    """The zones some [sensitivity] variant changes, as indices into the finest layer, drawn dashed on canvas.

    At 40,000 villages a third may change: as a folium GeoJSON layer that was +4.4 MB and 175 ms per pan/zoom.
    A changed zone (with a geometry) the finest layer lacks, or a finest layer with a code twice, is an
    InputError: the table is the finest layer's own (a run's always is).
    """
    if table is None:
        return None
    t = _SENSITIVITY_TEXT[lang]
    changed = table[table["changed_by"] != ""]
    finest = pd.Index(layers[0][1][ZONE_CODE].astype(str)) if layers else pd.Index([], dtype=object)
    if finest.has_duplicates:
        raise InputError(
            f"zone layer {layers[0][0]!r} has zone code {finest[finest.duplicated()][0]!r} more than once; the "
            "sensitivity layer marks zones by their codes, which must be unique"
        )
    at = finest.get_indexer(changed[ZONE_CODE].astype(str))
    drawable = changed.geometry.notna().to_numpy() & ~changed.geometry.is_empty.to_numpy()
    if (drawable & (at < 0)).any():
        code = changed[ZONE_CODE].to_numpy()[drawable & (at < 0)][0]
        raise InputError(
            f"sensitivity: zone {code!r} is not in the finest zone layer"
            f"{f' {layers[0][0]!r}' if layers else ''}; pass the sensitivity table of the finest layer"
        )
    found = changed[at >= 0]
    span = [
        f"{levels.label(lo, lang)} – {levels.label(hi, lang)}"
        for lo, hi in zip(found["level_min"], found["level_max"], strict=True)
    ]
    cols.add("s.zones", at[at >= 0].astype("uint32"))
    return {
        "label": html.escape(t["layer"]),
        "range": t["range"],
        "by": t["by"],
        "props": {"range": cols.text("s.range", span), "by": cols.text("s.by", found["changed_by"])},
    }


def _compact_meta(
    fmeta: dict[str, Any],
    zmeta: list[dict[str, Any]],
    specs: list[dict[str, Any]],
    facility_counts: Mapping[str, int],
    corner: tuple[float, float],
    lang: str,
) -> dict[str, Any]:
    """What the JavaScript needs besides the columns: levels, counts, layers, popup lines, the row contract."""
    from riskmap.outputs import html_compact as hc

    text = _TEXT[lang]
    west, south = corner
    present = set(fmeta["fields"])
    wanted = ["id", "sector", "level", "level_computed", "score", "method", "reasons", "zone", "inspections",
              "hidden_dangers", "level_method"]  # fmt: skip
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
        "pane": _FACILITY_PANE,
        "highlightPane": _HIGHLIGHT_PANE,
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
    """The labels the JavaScript needs: plain text (it sets textContent), HTML only for the layer control."""
    text = _TEXT[lang]
    texts = {
        k: text[k]
        for k in ("search", "not_found", "zone_code", "level", "n_level", "hidden_dangers", "workload", "filter",
                  "all_sectors", "all_towns", "shown", "damaged", "overview_note", "bubble", "placed", "layers",
                  "level_computed", "decision")
    }  # fmt: skip
    texts["workload_layer"] = html.escape(text["workload_layer"])
    texts["facility_layer"] = html.escape(text["facility_layer"].format(n=n_facilities))
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
    """Facilities and zones from compact columns, drawn on canvas; filters and search (js/main.js)."""

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
        js = _INFLATE_JS.read_text(encoding="utf-8") + "\n" + _map_js()
        self.js = re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)
        self.meta = _js_json(meta)
        self.data = data  # base64: no quote, backslash or "<" can occur
        self.texts = _js_json(texts)


def _map_js() -> str:
    """js/*.js in the order of js/modules.json, inside one function: its only global is ``riskmapCompact``."""
    order = json.loads((_JS_DIR / "modules.json").read_text(encoding="utf-8"))
    modules = "\n".join((_JS_DIR / name).read_text(encoding="utf-8") for name in order)
    return f"var riskmapCompact = (function () {{\n'use strict';\n{modules}\nreturn riskmapCompact;\n}}());\n"
