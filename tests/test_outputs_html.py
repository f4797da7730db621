"""Tests of riskmap.outputs.html: the offline four-colour map, read back as text and in headless Chromium."""

from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point, box

from riskmap import levels
from riskmap.errors import ConfigError, InputError, OutputError
from riskmap.outputs import html as html_out
from riskmap.outputs.html import LEGEND_ID, render_html

try:  # tests/ may or may not become a package; the helpers are importable either way
    from tests.browser import chromium, open_page, screen_colours, shows_fill
    from tests.mapdata import read_map
except ModuleNotFoundError:
    from browser import chromium, open_page, screen_colours, shows_fill
    from mapdata import read_map

XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
X0, Y0, STEP = 119.60, 32.20, 0.01  # a 3 × 2 block of villages near Yangzhou
LEVEL_CYCLE = ["red", "orange", "yellow", "blue"]
REMOTE_ASSET = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"']?(?:https?:)?//", re.IGNORECASE)


def _villages(with_none: bool = True) -> gpd.GeoDataFrame:
    rows = []
    for i in range(3):
        for j in range(2):
            k = i * 2 + j
            level = "none" if (with_none and k == 5) else LEVEL_CYCLE[k % 4]
            rows.append(
                {
                    "zone_code": f"32101210{k + 1:04d}",
                    "zone_name": f"{'红旗' if k else '<b>东风</b>'}村{k}",
                    "level": level,
                    "level_zh": levels.label(level),
                    "n_red": k % 2,
                    "n_orange": 1,
                    "n_yellow": 2,
                    "n_blue": 3,
                    "rule": "max",
                    "town": "甲镇" if i < 2 else "乙镇",
                    "geometry": box(X0 + i * STEP, Y0 + j * STEP, X0 + (i + 1) * STEP, Y0 + (j + 1) * STEP),
                }
            )
    return gpd.GeoDataFrame(rows, crs=4490)


def _towns(villages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    towns = villages.dissolve("town").reset_index()
    towns["zone_code"] = ["321012100000", "321012200000"]
    towns["zone_name"] = towns["town"]
    towns["level"] = ["red", "yellow"]
    towns["level_zh"] = towns["level"].map(levels.label)
    return towns[
        [
            "zone_code",
            "zone_name",
            "level",
            "level_zh",
            "n_red",
            "n_orange",
            "n_yellow",
            "n_blue",
            "rule",
            "geometry",
        ]
    ]


def _facilities(n: int = 20) -> gpd.GeoDataFrame:
    rows = []
    for k in range(n):
        level = LEVEL_CYCLE[k % 4]
        rows.append(
            {
                "facility_id": f"F{k:03d}",
                "name": XSS if k == 6 else f"扬州某化工有限公司{k}",
                "sector": "危险化学品",
                "level": level,
                "level_zh": levels.label(level),
                "score": float("nan") if k == 3 else 10.0 * k,
                "method": "LEC",
                "reasons": "构成重大危险源；涉及有限空间作业" if k % 2 else "",
                "zone_code": "321012100001",
                "zone_name": "红旗村",
                "inspections_per_year": 4.0,
                # spread over the block; the XSS facility sits alone in the middle of a village
                "geometry": Point(X0 + 0.004 + (k % 6) * 0.0045, Y0 + 0.003 + (k // 6) * 0.0045),
            }
        )
    return gpd.GeoDataFrame(rows, crs=4490)


def _render(tmp_path: Path, facilities: gpd.GeoDataFrame | None = None, zones=None, **kwargs) -> Path:
    if facilities is None:
        facilities = _facilities()
    if zones is None:
        villages = _villages()
        zones = {"village": villages, "town": _towns(villages)}
    return render_html(facilities, zones, tmp_path / "map.html", **kwargs)


def _map_name(page) -> str:
    return page.evaluate("document.querySelector('.folium-map').id")


# ----------------------------------------------------------------------------------------------------
# The file


def test_page_is_offline_and_data_travels_only_as_text(tmp_path):
    page = _render(tmp_path, title="<script>alert('t')</script>风险图").read_text(encoding="utf-8")
    assert not REMOTE_ASSET.search(page)
    assert f'id="{LEGEND_ID}"' in page
    # Names reach the page only inside the compressed columns, as written (the page sets them as text)...
    data = read_map(page)
    assert XSS in data.facilities()["name"].tolist()
    assert "<b>东风</b>村0" in data.zones(0)["name"].tolist()
    # ... never as markup in the file, escaped or not.
    assert XSS not in page and XSS_ESCAPED not in page and "东风" not in page
    # The title is HTML (the title box), escaped.
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;风险图" in page
    assert "<script>alert('t')" not in page
    # Unused folium assets are left out.
    for unused in ("bootstrap", "jquery", "awesome-markers", "fontawesome", "leaflet-search"):
        assert unused not in page.lower()


def test_render_is_byte_identical(tmp_path):
    first = _render(tmp_path).read_bytes()
    second = _render(tmp_path).read_bytes()
    assert first == second


def test_not_assessed_row_only_when_needed(tmp_path):
    with_none = _render(tmp_path).read_text(encoding="utf-8")
    assert 'data-level="none"' in with_none
    villages = _villages(with_none=False)
    without = _render(tmp_path, zones={"village": villages}).read_text(encoding="utf-8")
    assert 'data-level="none"' not in without


def test_embed_drops_full_page_styles(tmp_path):
    page = _render(tmp_path, embed=True, embed_height=480).read_text(encoding="utf-8")
    assert "height: 480.0px" in page
    assert not re.search(r"<style>\s*html,\s*body", page)
    full = _render(tmp_path).read_text(encoding="utf-8")
    assert re.search(r"<style>\s*html,\s*body", full)


def test_unknown_asset_raises_and_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "map.html"
    target.write_text("old map", encoding="utf-8")
    js = [*html_out._OfflineMap.default_js, ("extra", "https://cdn.example.invalid/extra.js")]
    monkeypatch.setattr(html_out._OfflineMap, "default_js", js)
    with pytest.raises(OutputError, match=r"cannot embed https://cdn\.example\.invalid/extra\.js"):
        _render(tmp_path)
    assert target.read_text(encoding="utf-8") == "old map"


def test_failed_write_keeps_old_file(tmp_path, monkeypatch):
    target = tmp_path / "map.html"
    target.write_text("old map", encoding="utf-8")

    def half_write(tmp: Path, page: str) -> None:
        tmp.write_text(page[: len(page) // 2], encoding="utf-8")
        raise OSError("disk full")

    monkeypatch.setattr(html_out, "_write_html", half_write)
    with pytest.raises(OSError, match="disk full"):
        _render(tmp_path)
    assert target.read_text(encoding="utf-8") == "old map"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["map.html"]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lang": "fr"}, ConfigError, r"lang='fr' is not supported; use one of zh, en"),
        ({"tiles": "google"}, ConfigError, r"tiles='google' is not supported"),
    ],
)
def test_bad_options(tmp_path, kwargs, error, match):
    with pytest.raises(error, match=match):
        _render(tmp_path, **kwargs)


def test_missing_column(tmp_path):
    with pytest.raises(InputError, match=r"facilities lacks column\(s\) level"):
        _render(tmp_path, facilities=_facilities().drop(columns="level"))


def test_unknown_level(tmp_path):
    facilities = _facilities()
    facilities.loc[2, "level"] = "purple"
    with pytest.raises(InputError, match=r"facility_id 'F002'.*'purple' is not a level"):
        _render(tmp_path, facilities=facilities)


def test_missing_crs(tmp_path):
    facilities = _facilities().set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="facilities has no CRS; set it with"):
        _render(tmp_path, facilities=facilities)


def test_optional_inspections_column(tmp_path):
    with_col = _render(tmp_path).read_text(encoding="utf-8")
    assert "年检查频次" in with_col
    without = _render(tmp_path, facilities=_facilities().drop(columns="inspections_per_year"))
    assert "年检查频次" not in without.read_text(encoding="utf-8")


def test_reprojects_to_wgs84(tmp_path):
    facilities = _facilities().to_crs(3857)
    fac = read_map(_render(tmp_path, facilities=facilities).read_text(encoding="utf-8")).facilities()
    first = fac.set_index("id").loc["F000"]  # back in lat/lon, to the micro-degree
    assert (first["lat"], first["lon"]) == (pytest.approx(32.203, abs=2e-6), pytest.approx(119.604, abs=2e-6))


def test_cluster_threshold_is_deprecated_and_does_nothing(tmp_path):
    plain = _render(tmp_path).read_bytes()
    with pytest.warns(DeprecationWarning, match=r"render_html: cluster_threshold no longer does anything"):
        old = _render(tmp_path, cluster_threshold=5000).read_bytes()
    assert old == plain


# ----------------------------------------------------------------------------------------------------
# In a real browser, network blocked


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _assert_clean(log) -> None:
    assert log.errors == []
    assert log.dialogs == []
    assert log.blocked == []


def _ready(page) -> str:
    """The map's name, once the page has inflated and drawn its data."""
    name = _map_name(page)
    page.evaluate("(n) => window[n].riskmap.ready", name)
    return name


def _facility_point(page, name: str, facility_id: str) -> tuple[float, float]:
    """Zoom onto the facility and return its position on the page."""
    return page.evaluate(
        """([n, id]) => {
            const map = window[n], c = map.riskmap.compact, i = c.find(id);
            map.setView(map.containerPointToLatLng(c.pointOf(i)), 17, {animate: false});
            const p = c.pointOf(i), r = map.getContainer().getBoundingClientRect();
            return [p.x + r.left, p.y + r.top];
        }""",
        [name, facility_id],
    )


def _map_centre(page, name: str, lat: float, lon: float, zoom: int = 17) -> tuple[float, float]:
    """Centre the map on (lat, lon) and return that point on the page."""
    page.evaluate(f"(n) => window[n].setView([{lat}, {lon}], {zoom}, {{animate: false}})", name)
    box = page.locator(".folium-map").bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


@pytest.mark.browser
def test_browser_renders_map(tmp_path, browser):
    path = _render(tmp_path)
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        assert page.evaluate("typeof L") == "object"
        legend = page.locator(f"#{LEGEND_ID}")
        assert legend.is_visible()
        legend_text = legend.inner_text()
        for key in levels.LEVEL_NAMES:
            assert levels.label(key, "zh") in legend_text
        assert levels.label("none", "zh") in legend_text
        assert page.locator("#riskmap-title").is_visible()
        assert page.locator("canvas.riskmap-canvas").count() >= 2  # zones and facilities, on canvas
        colours = screen_colours(page)
        assert len(colours) > 50
        for key in levels.LEVEL_NAMES:  # every level's colour fills its villages (at the zones' opacity)
            assert shows_fill(colours, levels.color(key), 0.6), key

        x, y = _facility_point(page, name, "F006")  # the XSS name
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        text = popup.inner_text()
        assert XSS in text
        assert "构成重大危险源\n涉及有限空间作业" not in text  # F006 has no reasons
        assert page.locator(".leaflet-popup-content img, .leaflet-tooltip img").count() == 0
        _assert_clean(log)


@pytest.mark.browser
def test_browser_zone_under_the_mouse_tooltip_is_text_and_highlighted(tmp_path, browser):
    """The zone under the mouse: its tooltip as text, and (as the marker page's GeoJSON had it) filled a little
    stronger and outlined wider until the mouse leaves it."""
    path = _render(tmp_path)
    alpha = """([x, y]) => { const c = document.querySelector('canvas.riskmap-highlight');
        return c ? c.getContext('2d').getImageData(x, y, 1, 1).data[3] : -1; }"""
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        x, y = _map_centre(page, name, 32.2005, 119.6005)  # village 0's corner, away from any facility
        frame = page.locator(".folium-map").bounding_box()
        at = [round(x - frame["x"]), round(y - frame["y"])]
        assert page.evaluate(alpha, at) <= 0
        page.mouse.move(x, y)
        tooltip = page.locator(".leaflet-tooltip").first
        tooltip.wait_for(state="visible")
        text = tooltip.inner_text()
        assert "<b>东风</b>村0" in text
        assert levels.label("red") in text and "321012100001" in text
        assert page.locator(".leaflet-tooltip b").count() == 0
        page.wait_for_function(f"([x, y]) => ({alpha})([x, y]) > 0", arg=at)
        page.mouse.move(frame["x"] + 2, frame["y"] + frame["height"] / 2)  # off the map's zones
        page.wait_for_function(f"([x, y]) => ({alpha})([x, y]) === 0", arg=at)
        _assert_clean(log)


@pytest.mark.browser
def test_browser_facility_tooltip_is_text(tmp_path, browser):
    """The mouse over a facility: its name, sector and level (as the marker page's tooltip), a pointer cursor."""
    path = _render(tmp_path)
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        x, y = _facility_point(page, name, "F006")  # the XSS name, yellow
        page.mouse.move(x, y)
        page.wait_for_function(
            "(t) => { const e = document.querySelector('.leaflet-tooltip'); return e && e.innerText.includes(t); }",
            arg=XSS,
        )
        tooltip = page.locator(".leaflet-tooltip").first
        assert tooltip.inner_text().split("\n") == [XSS, "危险化学品", levels.label("yellow")]
        # The level's dot is the tooltip's only element beside its lines.
        assert page.locator(".leaflet-tooltip img, .leaflet-tooltip .riskmap-dot").count() == 1
        assert page.evaluate("getComputedStyle(document.querySelector('.folium-map')).cursor") == "pointer"
        _assert_clean(log)


@pytest.mark.browser
def test_browser_popups_of_facilities_and_zones(tmp_path, browser):
    path = _render(tmp_path)
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        assert page.locator(f"#{LEGEND_ID} tr[data-level='red'] td.n").first.inner_text() == "5"
        layers = page.locator(".leaflet-control-layers").inner_text()
        assert "村" in layers and "企业（20）" in layers
        x, y = _facility_point(page, name, "F007")
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        text = popup.inner_text()
        assert "构成重大危险源\n涉及有限空间作业" in text  # reasons one per line
        assert "F007" in text and "红旗村（321012100001）" in text
        # A zone's popup: click a village corner away from any facility.
        x, y = _map_centre(page, name, 32.2005, 119.6005)
        page.mouse.click(x, y)
        page.wait_for_function("document.querySelector('.leaflet-popup-content').innerText.includes('东风')")
        assert (
            "<b>东风</b>村0" in popup.inner_text() and page.locator(".leaflet-popup-content b").count() == 0
        )
        _assert_clean(log)


@pytest.mark.browser
def test_browser_reads_rows_by_the_field_list_python_emits(tmp_path, browser, monkeypatch):
    # A facility row in reverse order: the page gives rows in the order Python emits, so nothing breaks.
    reordered = tuple(reversed(html_out.FACILITY_ROW))
    monkeypatch.setattr(html_out, "FACILITY_ROW", reordered)
    path = _render(tmp_path)
    assert '"row":["level_computed","level_method","hidden_dangers",' in path.read_text(encoding="utf-8")
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        row = page.evaluate(
            "(n) => { const c = window[n].riskmap.compact; return c.row(c.find('F007')); }", name
        )
        assert row[reordered.index("name")] == "扬州某化工有限公司7"
        assert row[reordered.index("lat")] == pytest.approx(32.2075, abs=2e-6)
        x, y = _facility_point(page, name, "F007")
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        text = popup.inner_text()
        assert text.startswith("扬州某化工有限公司7")
        assert "构成重大危险源\n涉及有限空间作业" in text
        assert "F007" in text and "红旗村（321012100001）" in text
        _assert_clean(log)


@pytest.mark.browser
def test_browser_search_and_filters(tmp_path, browser):
    path = _render(tmp_path)
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        search = page.locator(".riskmap-search-input")
        search.fill("<img")
        hit = page.locator(".riskmap-search-hit").first
        hit.wait_for(state="visible")
        assert hit.inner_text() == f"{XSS} · F006"
        hit.click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        assert XSS in popup.inner_text()
        search.fill("F013")  # by credit code / id
        page.wait_for_function(
            "document.querySelector('.riskmap-search-hit') && "
            "document.querySelector('.riskmap-search-hit').innerText.includes('F013')"
        )
        search.fill("东风")  # a zone, by name
        page.wait_for_function(
            "document.querySelector('.riskmap-search-hit') && "
            "document.querySelector('.riskmap-search-hit').innerText.includes('<b>东风</b>村0')"
        )
        assert page.locator(".riskmap-search-results b").count() == 0
        count = page.locator(".riskmap-filter-count")
        assert count.inner_text() == "显示 20 / 20"
        page.locator("input[data-level='red']").uncheck()
        assert count.inner_text() == "显示 15 / 20"
        assert page.evaluate("(n) => window[n].riskmap.compact.countShown()", name) == 15
        page.locator("select.riskmap-filter-town").select_option(label="乙镇（321012100000）")
        assert count.inner_text() == "显示 4 / 20"  # k % 6 in (4, 5) lie in 乙镇: F004..F017, two of them red
        _assert_clean(log)


@pytest.mark.browser
def test_browser_search_names_a_zone_layer_as_written(tmp_path, browser):
    """A zone hit names its layer: the project's own label, shown as written (not as the layer control's HTML)."""
    path = _render(tmp_path, kind_labels={"village": {"zh": "片区<b>&</b>", "en": "Area"}})
    with open_page(browser, path) as (page, log):
        _ready(page)
        assert "片区<b>&</b>" in page.locator(".leaflet-control-layers").inner_text()
        page.locator(".riskmap-search-input").fill("东风")
        hit = page.locator(".riskmap-search-hit").first
        hit.wait_for(state="visible")
        assert hit.inner_text() == "<b>东风</b>村0 · 片区<b>&</b>"
        _assert_clean(log)


@pytest.mark.browser
def test_browser_english(tmp_path, browser):
    path = _render(tmp_path, lang="en", title="Risk map")
    with open_page(browser, path) as (page, log):
        _ready(page)
        legend_text = page.locator(f"#{LEGEND_ID}").inner_text()
        for key in levels.LEVEL_NAMES:
            assert levels.label(key, "en") in legend_text
            assert levels.label(key, "zh") not in legend_text
        assert "Legend" in legend_text and "Village" in legend_text
        layers = page.locator(".leaflet-control-layers").inner_text()
        assert "Village" in layers and "Town" in layers and "村" not in layers
        assert page.locator(".riskmap-filter-count").inner_text() == "Shown 20 / 20"
        assert (
            page.locator(".riskmap-search-input").get_attribute("placeholder")
            == "Search facility or zone name"
        )
        _assert_clean(log)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_browser_embed_has_fixed_height(tmp_path, browser, lang):
    path = _render(tmp_path, embed=True, lang=lang)
    with open_page(browser, path) as (page, log):
        _ready(page)
        height = page.evaluate("document.querySelector('.folium-map').getBoundingClientRect().height")
        assert height == 600
        assert page.locator(f"#{LEGEND_ID}").is_visible()
        _assert_clean(log)


@pytest.mark.browser
@pytest.mark.parametrize("case", ["no facilities", "no zones", "nothing"])
def test_browser_empty_layers(tmp_path, browser, case):
    facilities = _facilities()
    zones = None
    if case in ("no facilities", "nothing"):
        facilities = facilities.iloc[:0]
    if case in ("no zones", "nothing"):
        zones = {}
    path = _render(tmp_path, facilities=facilities, zones=zones)
    with open_page(browser, path) as (page, log):
        _ready(page)
        assert page.locator(f"#{LEGEND_ID}").is_visible()
        assert (
            page.locator(".riskmap-filter-count").inner_text()
            == f"显示 {len(facilities)} / {len(facilities)}"
        )
        _assert_clean(log)


def test_map_carries_compressed_columns_not_markers(tmp_path):
    """The facilities travel as compressed columns, not as markers or clusters."""
    path = _render(tmp_path)
    page = path.read_text(encoding="utf-8")
    assert "riskmapCompact(" in page and "riskmapRow" not in page and "circleMarker(" not in page
    assert XSS not in page and not REMOTE_ASSET.search(page)
    legend = re.search(r'<tr data-level="red">.*?<td class="n">(\d+)</td>', page)
    assert legend and legend.group(1) == "5"  # plain digits, exact count
    again = _render(tmp_path).read_text(encoding="utf-8")
    assert again == page  # gzip without a timestamp: reproducible
    assert len(read_map(page).facilities()) == 20


def test_map_inlines_the_fallback_inflater_with_its_licence(tmp_path):
    page = _render(tmp_path).read_text(encoding="utf-8")
    assert "var riskmapInflateRaw = (function () {" in page
    assert "tiny-inflate 1.0.3" in page and "Copyright (c) 2015-present Devon Govett" in page


def test_map_carries_no_marker_cluster_code(tmp_path):
    """markercluster's assets and styles are gone (the overview counts per block on canvas instead)."""
    page = _render(tmp_path).read_text(encoding="utf-8").lower()
    assert "riskmap-cluster" not in page and "markercluster" not in page


@pytest.mark.browser
def test_browser_map_object_is_window_riskmap_map(tmp_path, browser):
    """Embedders and plugins reach the Leaflet map as window.riskmapMap."""
    path = _render(tmp_path)
    with open_page(browser, path) as (page, log):
        name = _map_name(page)
        assert page.evaluate(
            "(n) => window.riskmapMap === window[n] && window.riskmapMap instanceof L.Map", name
        )
        assert log.errors == []


@pytest.mark.browser
def test_browser_overview_counts_the_most_severe_level(tmp_path, browser, monkeypatch):
    """Too many facilities in view: one circle per block with the count of the most severe level shown."""
    monkeypatch.setattr(html_out, "_POINT_LIMIT", 3)
    path = _render(tmp_path)
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        bubbles = "(n) => window[n].riskmap.compact.facilityLayer.bubbles.map(b => [b.level, b.n, b.x, b.y])"
        drawn = page.evaluate(bubbles, name)
        assert drawn and {level for level, *_ in drawn} == {0}  # red only
        assert sum(n for _, n, *_ in drawn) == 5  # every red facility, counted once
        note = page.locator(".riskmap-overview-note")
        assert note.is_visible() and "重大风险" in note.inner_text()
        page.locator("input[data-level='red']").uncheck()
        drawn = page.evaluate(bubbles, name)
        assert {level for level, *_ in drawn} == {1} and sum(n for _, n, *_ in drawn) == 5
        assert "较大风险" in note.inner_text()
        # Hovering a circle says what it counts; clicking it zooms in two levels there.
        zoom = page.evaluate("(n) => window[n].getZoom()", name)
        box = page.locator(".folium-map").bounding_box()
        _, count, x, y = max(drawn, key=lambda b: b[1])
        page.mouse.move(box["x"] + x, box["y"] + y)
        tip = page.locator(".leaflet-tooltip")
        tip.wait_for(state="visible")
        assert tip.inner_text() == f"较大风险企业 {count} 家，点击放大"
        page.mouse.click(box["x"] + x, box["y"] + y)
        page.wait_for_function(  # the zoom is animated
            "([n, z]) => window[n].getZoom() === z && !window[n]._animatingZoom", arg=[name, zoom + 2]
        )
        # Few enough in view: each facility again, and the note is gone.
        page.evaluate("(n) => window[n].setView([32.203, 119.604], 19, {animate: false})", name)
        assert page.evaluate("(n) => window[n].riskmap.compact.facilityLayer.overview", name) is False
        assert not note.is_visible()
        assert log.errors == [] and log.dialogs == [] and log.blocked == []


NO_DECOMPRESSION_STREAM = "delete window.DecompressionStream;"


@pytest.mark.browser
def test_browser_map_without_decompression_stream(tmp_path, browser):
    """An older browser (no DecompressionStream: Chromium < 80, 360/QQ builds) inflates with the inlined inflater."""
    path = _render(tmp_path)
    with open_page(browser, path, init_script=NO_DECOMPRESSION_STREAM) as (page, log):
        assert page.evaluate("typeof DecompressionStream") == "undefined"
        name = _ready(page)
        assert page.locator(".riskmap-message").count() == 0
        assert page.locator(f"#{LEGEND_ID} tr[data-level='red'] td.n").first.inner_text() == "5"
        assert page.locator(".riskmap-filter-count").inner_text() == "显示 20 / 20"
        x, y = _facility_point(page, name, "F005")
        page.mouse.click(x, y)
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        assert "F005" in popup.inner_text() and "构成重大危险源\n涉及有限空间作业" in popup.inner_text()
        page.locator(".riskmap-search-input").fill("<img")
        hit = page.locator(".riskmap-search-hit").first
        hit.wait_for(state="visible")
        assert hit.inner_text() == f"{XSS} · F006"
        assert log.errors == [] and log.dialogs == [] and log.blocked == []


@pytest.mark.browser
def test_browser_overview_counts_what_the_filters_show(tmp_path, browser, monkeypatch):
    """Filtered to a sector without red facilities, the circles count its most severe level, not nothing."""
    monkeypatch.setattr(html_out, "_POINT_LIMIT", 3)
    facilities = _facilities()
    facilities["sector"] = facilities["level"].map(lambda k: "危险化学品" if k == "red" else "工贸")
    path = _render(tmp_path, facilities=facilities)
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        page.locator("select.riskmap-filter-sector").select_option(label="工贸")
        assert page.locator(".riskmap-filter-count").inner_text() == "显示 15 / 20"
        drawn = page.evaluate(
            "(n) => window[n].riskmap.compact.facilityLayer.bubbles.map(b => [b.level, b.n])", name
        )
        assert {level for level, _ in drawn} == {1} and sum(n for _, n in drawn) == 5  # orange, all five
        assert "较大风险" in page.locator(".riskmap-overview-note").inner_text()
        # A click where an undrawn (blue) facility lies, away from every circle, opens no facility popup.
        frame = page.locator(".folium-map").bounding_box()
        x, y = page.evaluate(
            """(n) => { const c = window[n].riskmap.compact, i = c.find('F003'), p = c.pointOf(i);
                const r = window[n].getContainer().getBoundingClientRect(); return [p.x + r.left, p.y + r.top]; }""",
            name,
        )
        assert page.evaluate(
            """([n, x, y]) => window[n].riskmap.compact.facilityLayer.bubbles.every(
                b => Math.hypot(b.x - x, b.y - y) > b.r)""",
            [name, x - frame["x"], y - frame["y"]],
        )
        page.mouse.click(x, y)
        page.wait_for_timeout(200)
        assert "F003" not in " ".join(page.locator(".leaflet-popup-content").all_inner_texts())
        assert log.errors == [] and log.dialogs == [] and log.blocked == []


@pytest.mark.browser
def test_browser_zone_spike_is_drawn_and_clickable(tmp_path, browser, monkeypatch):
    """Coverage simplification cuts long thin spikes: bounding boxes from the coarse copy must still cover them."""
    import numpy as np
    import shapely
    from shapely.geometry import Polygon

    monkeypatch.setattr(html_out, "_SPLIT_ZONES", 2)
    villages = _villages()
    x0, y0, x1, y1 = X0, Y0 + STEP, X0 + STEP, Y0 + 2 * STEP  # village 1, with a spike 0.006° to the north
    xm = X0 + 0.005
    villages.loc[1, "geometry"] = Polygon(
        [(x0, y0), (x1, y0), (x1, y1), (xm + 0.00005, y1), (xm, y1 + 0.006), (xm - 0.00005, y1), (x0, y1)]
    )
    wiggly = shapely.segmentize(villages.geometry.to_numpy(), 0.0002)  # detail for the simplification to cut

    def jitter(c: np.ndarray) -> np.ndarray:
        return c + 0.00003 * np.sin(c[:, ::-1] * 7e4)

    villages["geometry"] = shapely.transform(wiggly, jitter)
    path = _render(tmp_path, zones={"village": villages, "town": _towns(villages)})
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        north = page.evaluate(
            "(n) => window[n].riskmap.compact.zoneLayers[0].layer.options.zone.bbox[7] / 1e6", name
        )
        assert north >= villages.geometry.iloc[1].bounds[3] - 1e-6  # the spike's tip
        spike = (
            villages.geometry.iloc[1].intersection(box(x0, y1 + 0.002, x1, y1 + 0.003)).representative_point()
        )
        page.evaluate(f"(n) => window[n].setView([{spike.y}, {spike.x}], 19, {{animate: false}})", name)
        frame = page.locator(".folium-map").bounding_box()
        page.mouse.click(frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2)
        page.locator(".leaflet-popup-content").wait_for(state="visible")
        assert "红旗村1" in page.locator(".leaflet-popup-content").inner_text()
        assert log.errors == [] and log.dialogs == []


@pytest.mark.browser
def test_browser_towns_on_overview_villages_when_zoomed_in(tmp_path, browser, monkeypatch):
    """Many villages: the towns are drawn below the zoom where a median village is 12 px wide, villages above."""
    monkeypatch.setattr(html_out, "_SPLIT_ZONES", 2)
    path = _render(tmp_path)
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        active = "(n) => window[n].riskmap.compact.zoneLayers.slice(0, 2).map(z => z.layer.active())"
        assert page.evaluate(active, name) == [True, False]  # opened on the block: villages
        page.evaluate("(n) => window[n].setView([32.21, 119.615], 8, {animate: false})", name)
        assert page.evaluate(active, name) == [False, True]  # zoomed out: towns
        control = page.locator(".leaflet-control-layers")
        assert control.locator("input:disabled").count() >= 1  # the village layer greys out
        # The facilities off (at this zoom every point of the block is within a few pixels of one, and the
        # mouse over a facility tells of the facility): the mouse tells of the town.
        control.locator("label", has_text="企业（20）").locator("input").uncheck()
        box = page.locator(".folium-map").bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2 - 2, box["y"] + box["height"] / 2)
        tip = page.locator(".leaflet-tooltip")
        tip.wait_for(state="visible")
        assert "甲镇" in tip.inner_text() and "重大风险企业" in tip.inner_text()
        assert log.errors == [] and log.dialogs == [] and log.blocked == []


@pytest.mark.browser
@pytest.mark.parametrize(
    "init_script", [None, NO_DECOMPRESSION_STREAM], ids=["DecompressionStream", "fallback inflater"]
)
def test_browser_map_damaged_data_says_so(tmp_path, browser, init_script):
    """Damaged data, with either inflater: a message on the map, not 'Failed to fetch', a blank page or a trace."""
    path = _render(tmp_path)
    text = path.read_text(encoding="utf-8")
    data = re.search(r'\}, "([A-Za-z0-9+/=]+)", \{', text)  # riskmapCompact(map, meta, "<data>", texts, ...)
    assert data
    damaged = data.group(1)[:-12] + "AAAAAAAAAAAA"  # ISIZE and CRC zeroed: a copy cut short
    path.write_text(text.replace(data.group(1), damaged), encoding="utf-8")
    with open_page(browser, path, init_script=init_script) as (page, log):
        page.evaluate("(n) => window[n].riskmap.ready", _map_name(page))
        assert "地图数据已损坏" in page.locator(".riskmap-message").inner_text()
        assert log.errors == [] and log.dialogs == []


# ----------------------------------------------------------------------------------------------------
# Base tiles

TIANDITU_TEST_KEY = "0123456789abcdef0123456789abcdef"


def _tile_urls(page: str) -> list[str]:

    # folium writes the URL with tojson, which spells "&" as \u0026.
    return [json.loads(u) for u in re.findall(r'L\.tileLayer\(\s*("[^"]+")', page)]


@pytest.mark.parametrize("kwargs", [{}, {"tiles": "none"}], ids=["default", "none"])
def test_no_tile_layer_without_tiles(tmp_path, kwargs):
    page = _render(tmp_path, **kwargs).read_text(encoding="utf-8")
    assert "L.tileLayer" not in page and _tile_urls(page) == []


def test_openstreetmap_tiles(tmp_path):
    urls = _tile_urls(_render(tmp_path, tiles="openstreetmap").read_text(encoding="utf-8"))
    assert urls == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]


def test_tianditu_key_comes_from_the_environment_and_is_not_logged(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv(html_out.TIANDITU_KEY_ENV, TIANDITU_TEST_KEY)
    with caplog.at_level("DEBUG"):
        page = _render(tmp_path, tiles="tianditu").read_text(encoding="utf-8")
    urls = _tile_urls(page)
    assert len(urls) == 2
    vec, cva = urls
    assert vec.startswith("https://t{s}.tianditu.gov.cn/vec_w/wmts?") and "LAYER=vec&" in vec
    assert cva.startswith("https://t{s}.tianditu.gov.cn/cva_w/wmts?") and "LAYER=cva&" in cva
    for url in urls:
        assert "TILEMATRIXSET=w" in url and "TILEMATRIX={z}&TILEROW={y}&TILECOL={x}" in url
        assert url.endswith(f"&tk={TIANDITU_TEST_KEY}")
    assert page.count('"subdomains": "01234567"') == 2
    assert "\\u5929\\u5730\\u56fe" in page  # the attribution 天地图, as tojson writes it
    assert caplog.records and TIANDITU_TEST_KEY not in caplog.text


def test_tianditu_key_argument_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(html_out.TIANDITU_KEY_ENV, "ffffffffffffffff")
    page = _render(tmp_path, tiles="tianditu", tianditu_key=TIANDITU_TEST_KEY).read_text(encoding="utf-8")
    assert all(u.endswith(f"tk={TIANDITU_TEST_KEY}") for u in _tile_urls(page))
    assert "ffffffffffffffff" not in page


def test_tianditu_without_key_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.delenv(html_out.TIANDITU_KEY_ENV, raising=False)
    with pytest.raises(ConfigError, match=r"tiles='tianditu' needs a Tianditu key; .* set TIANDITU_KEY"):
        _render(tmp_path, tiles="tianditu")


def test_bad_tianditu_key_is_refused_without_repeating_it(tmp_path, monkeypatch):
    bad = 'abc123"+alert(1)+"'
    monkeypatch.setenv(html_out.TIANDITU_KEY_ENV, bad)
    with pytest.raises(
        ConfigError, match=r"key from the environment variable TIANDITU_KEY is not a key"
    ) as err:
        _render(tmp_path, tiles="tianditu")
    assert bad not in str(err.value) and "abc123" not in str(err.value)


def test_gaode_tiles_show_the_data_shifted_to_gcj02(tmp_path):
    import numpy as np

    from riskmap.io.crs import wgs84_to_gcj02

    facilities = _facilities()
    villages = _villages()
    before_fac, before_zone = facilities.copy(), villages.copy()
    page = _render(tmp_path, facilities=facilities, zones={"village": villages}, tiles="gaode").read_text(
        encoding="utf-8"
    )
    assert _tile_urls(page) == [
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
    ]
    assert '"subdomains": "1234"' in page
    data = read_map(page)
    f000 = data.facilities().set_index("id").loc["F000"]
    wgs = facilities.to_crs(4326).geometry.iloc[0]
    lon, lat = wgs84_to_gcj02(np.array([wgs.x]), np.array([wgs.y]))
    # F000 sits at its GCJ-02 position (to the micro-degree the page keeps), not at its own.
    assert f000["lon"] == pytest.approx(float(lon[0]), abs=1e-6) and f000["lat"] == pytest.approx(
        float(lat[0]), abs=1e-6
    )
    assert abs(float(lon[0]) - wgs.x) > 1e-3  # the shift is hundreds of metres here, not rounding noise
    corner = villages.to_crs(4326).geometry.iloc[0].exterior.coords[0]
    zlon, zlat = wgs84_to_gcj02(np.array([corner[0]]), np.array([corner[1]]))
    ring = data.rings(0, 0)[0]  # zones too
    assert np.abs(ring - [float(zlon[0]), float(zlat[0])]).max(axis=1).min() <= 1e-6
    # The frames passed in are not shifted.
    assert facilities.geom_equals(before_fac).all() and villages.geom_equals(before_zone).all()


@pytest.mark.browser
def test_browser_gaode_map_works_with_tiles_blocked(tmp_path, browser):
    import numpy as np

    from riskmap.io.crs import wgs84_to_gcj02

    path = _render(tmp_path, tiles="gaode")
    with open_page(browser, path) as (page, log):
        n_tiles, lat, lng = page.evaluate(
            """(mapName) => {
                const map = window[mapName];
                let n = 0;
                map.eachLayer(l => { if (l instanceof L.TileLayer) n += 1; });
                const c = map.riskmap.compact, row = c.row(c.find("F000"));
                return [n, row[0], row[1]];
            }""",
            _ready(page),
        )
        assert page.locator(f"#{LEGEND_ID}").is_visible()
        # Tiles are asked for (and blocked here); nothing else goes out, and the page keeps working.
        assert log.blocked and all(
            re.match(r"https://webrd0[1-4]\.is\.autonavi\.com/", u) for u in log.blocked
        )
        assert log.page_errors == [] and log.dialogs == []
    wgs = _facilities().to_crs(4326).geometry.iloc[0]
    elon, elat = wgs84_to_gcj02(np.array([wgs.x]), np.array([wgs.y]))
    assert n_tiles == 1
    assert lat == pytest.approx(float(elat[0]), abs=1e-6) and lng == pytest.approx(float(elon[0]), abs=1e-6)


def test_popup_carries_hidden_dangers_and_the_level_before_adjustment(tmp_path):
    fac = _facilities()
    fac["hd_open"], fac["hd_overdue"], fac["hd_major_open"] = 3, 2, 1
    fac["level_method"] = fac["level"]
    fac.loc[fac.index[0], "level_method"] = "blue" if fac.loc[fac.index[0], "level"] != "blue" else "red"
    text = _render(tmp_path, facilities=fac).read_text(encoding="utf-8")
    shown = read_map(text).facilities().set_index("id")
    assert (shown["hidden_dangers"] == "3/2/1").all()
    assert (
        shown.loc["F000", "level_method"] == levels.label("blue")
        and (shown["level_method"].iloc[1:] == "").all()
    )
    assert "隐患 未销号/逾期/重大" in text and "方法定级 (动态调整前)" in text


def test_workload_layer_shades_the_finest_zones(tmp_path):
    from riskmap.outputs.html import _WORKLOAD_COLOURS

    villages = _villages()
    zones = {"village": villages.assign(inspections_planned=range(len(villages))), "town": _towns(villages)}
    data = read_map(_render(tmp_path, zones=zones).read_text(encoding="utf-8"))
    assert data.texts["workload_layer"] == "检查工作量 (年计划检查次数)"
    assert data.meta["workload"] == 0 and data.meta["workloadColours"] == list(_WORKLOAD_COLOURS)
    assert data.zones(0)["workload"].tolist() == ["0", "1", "2", "3", "4", "5"]
    assert data.array("z0.wclass").tolist() == [0, 1, 2, 3, 4, 4]  # quintiles of 0..5


@pytest.mark.browser
def test_browser_workload_layer_and_its_tooltip(tmp_path, browser):
    villages = _villages()
    zones = {"village": villages.assign(inspections_planned=range(len(villages))), "town": _towns(villages)}
    path = _render(tmp_path, zones=zones)
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        control = page.locator(".leaflet-control-layers")
        control.hover()
        box = control.locator("label", has_text="检查工作量 (年计划检查次数)").locator("input")
        assert not box.is_checked()  # off when the page opens
        box.check()
        x, y = _map_centre(page, name, 32.2005, 119.6005)
        page.mouse.move(x, y)
        tooltip = page.locator(".leaflet-tooltip").first
        tooltip.wait_for(state="visible")
        assert "年计划检查次数\t0" in tooltip.inner_text() and "<b>东风</b>村0" in tooltip.inner_text()
        _assert_clean(log)


@pytest.mark.parametrize(
    ("kind", "own", "zh", "en"),
    [
        ("village", None, "村/社区", "Village"),
        ("district", None, "区/县", "District"),
        ("street", None, "街道", "Subdistrict"),
        ("pianqu", {"zh": "片区", "en": "Area"}, "片区", "Area"),
        ("pianqu", None, "pianqu", "pianqu"),
    ],
)
def test_zone_kind_labels_in_legend_and_layer_control(tmp_path, kind, own, zh, en):
    labels = {kind: own} if own else None
    for lang, words in (("zh", zh), ("en", en)):
        page = _render(tmp_path, zones={kind: _villages()}, lang=lang, kind_labels=labels).read_text(
            encoding="utf-8"
        )
        assert f"<th>{words}</th></tr></thead>" in page  # the legend's zone column
        assert f'"label":"{words}"' in page  # the layer control
        assert "district数" not in page


@pytest.mark.browser
def test_browser_sensitivity_layer(tmp_path, browser):
    """The dashed layer of zones whose colour depends on a convention, drawn on canvas over the villages."""
    villages = _villages()
    table = villages[["zone_code", "zone_name", "level", "geometry"]].copy()
    table["level_min"], table["level_max"] = "blue", "red"
    table["changed_by"] = ["LEC upper bounds"] + [""] * (len(table) - 1)
    path = _render(tmp_path, sensitivity=table)
    assert read_map(path.read_text(encoding="utf-8")).changed_zones() == [0]
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        dashed = page.evaluate(
            """(n) => window[n].riskmap.compact.zoneLayers.filter(z => z.layer.options.sensitivity)
                .map(z => Array.from(z.layer.changedAt).filter(k => k >= 0).length)""",
            name,
        )
        assert dashed == [1]  # only the zone some variant changes
        # The variants join the village's popup.
        page.mouse.click(*_map_centre(page, name, 32.2005, 119.6005))
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        assert "改变等级的约定\tLEC upper bounds" in popup.inner_text()
        assert "低风险 – 重大风险" in popup.inner_text()
        assert "等级不稳的区域" in page.evaluate("document.body.innerText")
        assert log.errors == [] and log.dialogs == []


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("other zone", r"sensitivity: zone '999999999999' is not in the finest zone layer 'village'"),
        ("duplicate code", r"zone layer 'village' has zone code '321012100001' more than once"),
    ],
)
def test_sensitivity_table_of_other_zones_is_refused(tmp_path, change, match):
    villages = _villages()
    table = villages[["zone_code", "zone_name", "level", "geometry"]].copy()
    table["level_min"], table["level_max"], table["changed_by"] = "blue", "red", "LEC upper bounds"
    if change == "other zone":
        table.loc[2, "zone_code"] = "999999999999"
    else:
        villages.loc[1, "zone_code"] = villages.loc[0, "zone_code"]
    with pytest.raises(InputError, match=match):
        _render(tmp_path, zones={"village": villages}, sensitivity=table)


@pytest.mark.browser
def test_browser_zones_build_paths_only_for_buckets_in_view(tmp_path, browser):
    """Zooming in builds the zones' paths of the buckets in view, not of the whole layer.

    Real village layers carry millions of vertices (47,000 villages cut from county boundaries: 5.6M): building
    every bucket's Path2D at the first street-level zoom froze that page for 2.8 s.
    """
    villages = gpd.GeoDataFrame(
        {
            "zone_code": [f"V{i:02d}{j:02d}" for i in range(40) for j in range(40)],
            "zone_name": [f"村{i}-{j}" for i in range(40) for j in range(40)],
            "level": ["blue", "red"] * 800,
        },
        geometry=[
            box(119 + i * 0.025, 31 + j * 0.025, 119.025 + i * 0.025, 31.025 + j * 0.025)
            for i in range(40)
            for j in range(40)
        ],  # fmt: skip
        crs=4490,
    )
    path = _render(tmp_path, zones={"village": villages})
    built = "(n) => window[n].riskmap.compact.zoneLayers[0].layer._paths.flat().filter(Boolean).length"
    with open_page(browser, path) as (page, log):
        name = _ready(page)
        assert page.evaluate(built, name) > 200  # the whole layer in view: (nearly) every one of 16 × 16
        page.evaluate(
            "(n) => { const m = window[n]; m.setView([31.01, 119.01], 14, {animate: false}); }", name
        )
        page.evaluate("(n) => window[n].setView([31.99, 119.99], 14, {animate: false})", name)
        alpha = """(n) => { const c = document.querySelector('.leaflet-overlay-pane canvas.riskmap-canvas');
            return c.getContext('2d').getImageData(c.width / 2, c.height / 2, 1, 1).data[3]; }"""
        assert page.evaluate(alpha, name) > 0  # the opposite corner's zones are drawn, built on arrival
        page.evaluate("(n) => window[n].setZoom(8, {animate: false})", name)
        assert page.evaluate(built, name) > 200
        page.evaluate("(n) => window[n].riskmap.compact.zoneLayers[0].layer._paths.length = 0", name)
        page.evaluate("(n) => window[n].setView([31.01, 119.01], 14, {animate: false})", name)
        assert page.evaluate(built, name) < 10
        assert log.errors == [] and log.dialogs == [] and log.blocked == []
