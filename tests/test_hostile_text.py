"""Data is never code: hostile text in every text field of every input and of the project file.

The example project of ``riskmap init`` gets, in every text column of every table (and in the zone names, the
project's title, the report's unit, a zone layer's label, a sector name, an adjustment rule's name and a
sensitivity variant's name), values that would run if anything compiled them: Jinja expressions and
statements that create a marker file, ``{{ 7*7 }}``, matplotlib mathtext, rich markup, HTML, spreadsheet
formulas and Python format fields. Structural columns (ids, sectors, numbers, dates) get them on a few rows
each, so the values also travel the rejects' path. Then every output is read back with a real reader: no
marker file exists, and the text is shown as written.
"""

from __future__ import annotations

import csv
import json
import os
import re
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely
from openpyxl import load_workbook
from typer.testing import CliRunner

from riskmap.cli import app
from riskmap.outputs.html import render_html

try:
    from tests.browser import chromium, open_page
    from tests.mapdata import read_map
except ImportError:  # pytest's rootdir-relative import
    from browser import chromium, open_page
    from mapdata import read_map

runner = CliRunner()

#: A payload without quotes (HTML and JSON escaping change quotes, which stops Jinja from parsing the others):
#: if it runs, the process gets an environment variable.
QUOTELESS = "{{ cycler.__init__.__globals__.os.environ.update(RISKMAP_TEMPLATE_RAN=lipsum.__name__) }}"


def payloads(marker_dir: Path) -> list[str]:
    """The hostile values, each followed by a suffix that keeps names apart."""
    touch = "cycler.__init__.__globals__.os.system('touch {}')"
    return [
        QUOTELESS,
        "{{ " + touch.format(marker_dir / "jinja-expression") + " }}",
        "{% if " + touch.format(marker_dir / "jinja-statement") + " %}{% endif %}",
        "{{ 7*7 }}",
        '{{ "q" }}{# c #}',
        "$\\undefinedcmd$ $x",
        "[/] [bold]b[/bold] [link=file:///etc/passwd]l[/link]",
        "<img src=x onerror=alert(1)>",
        "</script><script>alert(2)</script>",
        "=cmd|' /C calc'!A0",
        "%(x)s {0} {name} {{}}",
    ]


#: Columns whose values a valid row needs: these get a payload on a few rows only (the rejects' path).
STRUCTURAL = {
    "facility_id", "sector", "lon", "lat", "employees", "occupancy", "floor_area_m2", "fire_rating",
    "unit_id", "quantity_t", "item", "points", "likelihood", "severity", "lec_l", "lec_e", "lec_c",
    "grade", "found_date", "deadline", "closed_date", "date", "class", "deaths", "serious_injuries",
    "valid_until", "point_id", "hazard_id", "accident_id", "site_id", "kind", "substance", "unit_type",
}  # fmt: skip


def _poison_csv(path: Path, bad: list[str]) -> None:
    df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    k = 0
    for col in df.columns:
        if col in STRUCTURAL:
            for j in range(2):  # two rows per structural column, different rows for each column
                row = (7 * k + j * 13) % len(df)
                df.loc[row, col] = bad[k % len(bad)]
                k += 1
        else:  # free text: every row
            df[col] = [f"{bad[i % len(bad)]}{v}" for i, v in enumerate(df[col])]
    df.to_csv(path, index=False, encoding="utf-8", quoting=csv.QUOTE_NONNUMERIC)


def _poison_zones(path: Path, bad: list[str]) -> None:
    for layer in ("village", "town"):
        gdf = pyogrio.read_dataframe(path, layer=layer)
        gdf["name"] = [f"{bad[i % len(bad)]}{v}" for i, v in enumerate(gdf["name"])]
        pyogrio.write_dataframe(gdf, path, layer=layer)


def _toml(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a TOML basic string


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    base = tmp_path_factory.mktemp("hostile")
    markers = base / "markers"
    markers.mkdir()
    bad = payloads(markers)
    r = runner.invoke(app, ["init", str(base / "p")])
    assert r.exit_code == 0, r.output
    p = base / "p"
    for f in p.glob("*.csv"):
        _poison_csv(f, bad)
    _poison_zones(p / "boundaries.gpkg", bad)
    # A sector whose name is hostile, graded by a method: its facilities stay on the map with that sector.
    fac = pd.read_csv(p / "facilities.csv", dtype=str, keep_default_na=False)
    sector = "{{ cycler.__init__.__globals__.os.system('touch " + str(markers / "sector") + "') }}工贸"
    fac.loc[fac["sector"] == "工贸", "sector"] = sector
    # Issue 24's columns: each row's coordinate system (two hostile values: rejects) and the village of the
    # register, which places the rows without coordinates (hostile names listed in the village's tooltip).
    villages = pyogrio.read_dataframe(p / "boundaries.gpkg", layer="village", read_geometry=False)["code"]
    fac["坐标系"] = ""
    fac.loc[[3, 9], "坐标系"] = [bad[0], bad[7]]
    fac["所属村"] = [villages.iloc[i % len(villages)] for i in range(len(fac))]
    fac.loc[[20, 21], ["lon", "lat"]] = ""  # (and the rows whose coordinates hold a payload)
    fac.to_csv(p / "facilities.csv", index=False, encoding="utf-8", quoting=csv.QUOTE_NONNUMERIC)

    # The committee's decisions: hostile reasons and deciders, on facilities and on a village.
    ids = [i for i in fac["facility_id"] if i.isalnum()][: len(bad)]
    rows = [
        (t, "red", b, bad[(k + 3) % len(bad)], "2020-01-01")
        for k, (t, b) in enumerate(zip(ids, bad, strict=True))
    ]
    rows.append((villages.iloc[0], "orange", "=cmd|' /C calc'!A0" + bad[0], "{{ 7*7 }}专家组", "2020-01-01"))
    decisions = pd.DataFrame(rows, columns=["target", "level", "reason", "decided_by", "decided_on"])
    decisions.to_csv(p / "decisions.csv", index=False, encoding="utf-8")

    toml = (p / "riskmap.toml").read_text(encoding="utf-8")
    toml = toml.replace("[[zones]]", '[decisions]\npath = "decisions.csv"\n\n[[zones]]', 1)
    title = (
        "{{ cycler.__init__.__globals__.os.system('touch "
        + str(markers / "title")
        + "') }}滨江区 {{ 7*7 }} $\\x$ [/]"
    )
    toml = toml.replace('name = "滨江区安全风险四色分布图"', f"name = {_toml(title)}", 1)
    toml = toml.replace('# crs_column = "坐标系"', 'crs_column = "坐标系"', 1)
    toml = toml.replace('# zone_column = "所属村"', 'zone_column = "所属村"', 1)
    toml = toml.replace('"工贸" = ["ls_matrix"]', f'{_toml(sector)} = ["ls_matrix"]', 1)
    toml = toml.replace('"工贸", "烟花爆竹"', f'{_toml(sector)}, "烟花爆竹"', 1)
    toml = toml.replace('name = "fatal_accident_12m"', f"name = {_toml('{{ 7*7 }}事故 [/]')}", 1)
    toml = toml.replace(
        'kind = "village"\n', f'kind = "village"\nlabel = {_toml("{{ 7*7 }}村 <b>x</b> [/]")}\n', 1
    )
    toml = toml.replace("[outputs]\n", "[outputs]\nreport = true\nsensitivity = true\n"
                        f"report_unit = {_toml('{{ 7*7 }}应急管理局 =1+2')}\n", 1)  # fmt: skip
    toml += f"\n[[sensitivity.variants]]\nname = {_toml('{{ 7*7 }}变体 <i>v</i> [/]')}\n"
    toml += 'set = { "methods.lec.boundary" = "upper" }\n'
    (p / "riskmap.toml").write_text(toml, encoding="utf-8")
    return p, markers, bad


def _no_marker(markers: Path) -> None:
    assert sorted(x.name for x in markers.iterdir()) == [], "a payload ran as code"
    assert "RISKMAP_TEMPLATE_RAN" not in os.environ, "a payload ran as code"


def test_render_html_never_runs_a_name(tmp_path):
    fac = gpd.GeoDataFrame(
        {"facility_id": ["F1", "F2"], "name": [QUOTELESS, "{{ 7*7 }}号仓库"], "level": ["red", "blue"],
         "sector": ["{% for x in range(3) %}x{% endfor %}", "工贸"]},
        geometry=[shapely.Point(119.61, 32.21), shapely.Point(119.62, 32.22)], crs=4490,
    )  # fmt: skip
    zones = {
        "village": gpd.GeoDataFrame(
            {"zone_code": ["329901001001"], "zone_name": [QUOTELESS + "{{ 6*7 }}村"], "level": ["red"]},
            geometry=[shapely.box(119.6, 32.2, 119.7, 32.3)], crs=4490,
        )
    }  # fmt: skip
    page = render_html(fac, zones, tmp_path / "map.html", title=QUOTELESS + "{{ 5*5 }}图").read_text(
        encoding="utf-8"
    )
    assert "RISKMAP_TEMPLATE_RAN" not in os.environ
    assert "{{ 5*5 }}图" in page and "25图" not in page
    # The names travel compressed: decoded, they are as written.
    data = read_map(page)
    shown = data.facilities()
    assert shown["name"].tolist() == [QUOTELESS, "{{ 7*7 }}号仓库"]
    assert shown["sector"].tolist() == ["{% for x in range(3) %}x{% endfor %}", "工贸"]
    assert data.zones(0)["name"].tolist() == [QUOTELESS + "{{ 6*7 }}村"]


@pytest.fixture(scope="module")
def district_run(project: tuple[Path, Path, list[str]]) -> Path:
    p, markers, _ = project
    out = p.parent / "out-zh"
    r = runner.invoke(app, ["run", str(p / "riskmap.toml"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    _no_marker(markers)
    return out


def test_no_payload_runs_and_the_run_is_whole(district_run: Path, project):
    p, markers, bad = project
    _no_marker(markers)
    run = json.loads((district_run / "run.json").read_text(encoding="utf-8"))
    s = run["summary"]
    assert (
        s["facilities_in"] == s["facilities_scored"] + s["facilities_unassessed"] + s["facilities_rejected"]
    )
    for name in ("map.html", "map.png", "riskmap.gpkg", "report.docx", "inspection_plan.xlsx", "rejects.csv"):
        assert (district_run / name).stat().st_size > 0, name
    rejects = pd.read_csv(
        district_run / "rejects.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig"
    )
    systems = rejects[rejects["field"] == "坐标系"]
    assert sorted(systems["value"]) == sorted([bad[0], bad[7]]), rejects[["field", "value"]]
    fac = pyogrio.read_dataframe(district_run / "riskmap.gpkg", layer="facilities", read_geometry=False)
    placed = fac[fac["zone_assignment"].str.contains("所属村", na=False)]
    written = pd.read_csv(p / "facilities.csv", dtype=str, keep_default_na=False)["name"]
    assert len(placed) >= 2 and placed["name"].isin(set(written)).all(), placed["name"]
    assert placed["name"].str.contains("{{", regex=False).any()


def _gpkg_text(path: Path) -> str:
    parts = []
    for layer, _ in pyogrio.list_layers(path):
        df = pyogrio.read_dataframe(path, layer=layer, read_geometry=False)
        parts += [str(v) for col in df.columns if df[col].dtype == object for v in df[col]]
    return "\n".join(parts)


def test_geopackage_keeps_the_text_as_written(district_run: Path, project):
    _, _, bad = project
    fac = pyogrio.read_dataframe(district_run / "riskmap.gpkg", layer="facilities", read_geometry=False)
    assert fac["name"].str.startswith("{{ 7*7 }}").any()
    assert fac["name"].str.startswith("{{ cycler").any()
    assert fac["sector"].str.startswith("{{ cycler").any()
    rejects = pyogrio.read_dataframe(district_run / "riskmap.gpkg", layer="rejects", read_geometry=False)
    assert any(b in " ".join(rejects["value"].astype(str)) for b in bad)
    text = _gpkg_text(district_run / "riskmap.gpkg")
    assert "49村" not in text and "49应急" not in text


def _docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        xml = "".join(
            z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("word/") and n.endswith(".xml")
        )
    import html

    return html.unescape("".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", xml)))


def test_report_shows_the_text_as_written(district_run: Path, project):
    _, _, bad = project
    text = _docx_text(district_run / "report.docx")
    assert "滨江区 {{ 7*7 }} $\\x$ [/]" in text  # the title
    assert "{{ 7*7 }}应急管理局 =1+2" in text  # the unit
    assert "{{ 7*7 }}变体 <i>v</i> [/]" in text  # the variant
    assert "{{ 7*7 }}" in text and "{{ cycler" in text
    assert "49应急" not in text and "49变体" not in text and "49村" not in text
    cards = _docx_text(district_run / "cards.docx")
    assert "{{ 7*7 }}" in cards and "{{ cycler" in cards


def test_decisions_keep_the_text_as_written(district_run: Path, project):
    p, markers, bad = project
    _no_marker(markers)
    written = pd.read_csv(p / "decisions.csv", dtype=str, keep_default_na=False)
    fac = pyogrio.read_dataframe(district_run / "riskmap.gpkg", layer="facilities", read_geometry=False)
    decided = fac[fac["decided_on"].fillna("") != ""]
    assert len(decided) >= len(bad) - 3  # a few targets may be rows the payloads made rejects
    assert set(decided["decision_reason"]) <= set(written["reason"]) and decided["decided_by"].isin(bad).all()
    first = decided.iloc[0]
    assert first["reasons"].startswith(f"专家研判：{first['decision_reason']}（{first['decided_by']}，")
    village = pyogrio.read_dataframe(
        district_run / "riskmap.gpkg", layer="zones_village", read_geometry=False
    )
    assert (village["decision_reason"] == "=cmd|' /C calc'!A0" + bad[0]).sum() == 1
    text = _docx_text(district_run / "report.docx")
    assert "=cmd|' /C calc'!A0" + bad[0] in text and "{{ 7*7 }}专家组" in text and "49专家组" not in text
    page = (district_run / "map.html").read_text(encoding="utf-8")
    zones = read_map(page).zones(0)
    assert zones["decision"].str.startswith("=cmd|' /C calc'!A0" + bad[0]).sum() == 1


def test_workbook_holds_text_not_formulas(district_run: Path):
    wb = load_workbook(district_run / "inspection_plan.xlsx")
    seen = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and c.value.startswith(("=", "{{")):
                    assert c.data_type == "s", (ws.title, c.coordinate, c.value)
                    seen += 1
    assert seen > 0
    csv_cells = [
        cell
        for f in district_run.glob("*.csv")
        for row in csv.reader(f.open(encoding="utf-8-sig"))
        for cell in row
        if "cmd|" in cell
    ]
    assert csv_cells and all(c.startswith("'") for c in csv_cells if c.lstrip().startswith("="))
    assert not [c for c in csv_cells if c.startswith("=")]


@pytest.mark.browser
def test_district_map_shows_the_text_as_written(district_run: Path):
    with chromium() as browser, open_page(browser, district_run / "map.html") as (page, log):
        name = page.evaluate("Object.keys(window).find(k => k.startsWith('map_'))")
        title = page.locator("#riskmap-title").inner_text()
        assert "滨江区 {{ 7*7 }} $\\x$ [/]" in title and "滨江区 49" not in title  # the path may hold 49
        layers = page.locator(".leaflet-control-layers").inner_text()
        assert "{{ 7*7 }}村 <b>x</b> [/]" in layers
        page.evaluate("(n) => window[n].riskmap.ready", name)
        shown = page.evaluate(
            """(n) => {
                const c = window[n].riskmap.compact, out = [];
                for (let i = 0; i < Math.min(c.n, 100); i++) {
                    c.goTo({kind: 'facility', i: i});  // its popup; closed ones fade out for 200 ms
                    out.push(Array.from(document.querySelectorAll('.leaflet-popup-content')).pop().innerText);
                }
                return out;
            }""",
            name,
        )
        joined = "\n".join(shown)
        assert "{{ 7*7 }}" in joined and "{{ cycler" in joined and "<img src=x onerror=alert(1)>" in joined
        assert "</script><script>alert(2)</script>" in joined and "=cmd|' /C calc'!A0" in joined
        # The villages' tooltips list the enterprises placed by 所属村 under their names as written: the mouse
        # over a corner of each village that lists some (away from its facilities).
        data = read_map((district_run / "map.html").read_text(encoding="utf-8"))
        villages = data.zones(0)
        tips = []
        for k, f in enumerate(villages.index[villages["placed"] != "—"]):
            inner = shapely.Polygon(data.rings(0, f)[0]).buffer(-0.0004).representative_point()
            page.evaluate(f"(n) => window[n].setView([{inner.y}, {inner.x}], 18, {{animate: false}})", name)
            box = page.locator(".folium-map").bounding_box()
            page.mouse.move(
                box["x"] + box["width"] / 2 + k % 2, box["y"] + box["height"] / 2
            )  # a move each time
            page.wait_for_function(
                "(z) => { const t = document.querySelector('.leaflet-tooltip'); return t && t.innerText.includes(z); }",
                arg=villages.loc[f, "name"],
            )
            tips.append(page.locator(".leaflet-tooltip").first.inner_text())
        listed = "\n".join(tips)
        assert len(tips) >= 2 and "无坐标, 按所属村落位的企业" in listed, tips
        assert "=cmd|' /C calc'!A0" in listed and "{{" in listed, tips
        assert log.errors == [] and log.dialogs == [] and log.blocked == []


@pytest.mark.browser
def test_city_map_in_english_shows_the_text_as_written(project, tmp_path):
    p, markers, _ = project
    toml = (p / "riskmap.toml").read_text(encoding="utf-8")
    toml = toml.replace("report = true\nsensitivity = true\n", "report = false\nsensitivity = true\n", 1)
    toml = toml.replace("figure = true", "figure = false", 1)
    (p / "riskmap-en.toml").write_text(toml, encoding="utf-8")  # beside the inputs it names
    out = tmp_path / "out-en"
    r = runner.invoke(app, ["run", str(p / "riskmap-en.toml"), "--out", str(out), "--lang", "en", "--embed"])
    assert r.exit_code == 0, r.output
    _no_marker(markers)
    with chromium() as browser, open_page(browser, out / "map.html") as (page, log):
        name = page.evaluate("Object.keys(window).find(k => k.startsWith('map_'))")
        page.evaluate("(n) => window[n].riskmap.ready", name)
        title = page.locator("#riskmap-title").inner_text()
        assert "滨江区 {{ 7*7 }} $\\x$ [/]" in title
        search = page.locator(".riskmap-search-input")
        search.fill("{{ 7*7 }}")
        hit = page.locator(".riskmap-search-hit").first
        hit.wait_for(state="visible")
        assert hit.inner_text().startswith("{{ 7*7 }}")
        hit.click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(state="visible")
        assert "{{ 7*7 }}" in popup.inner_text()
        assert log.errors == [] and log.dialogs == [] and log.blocked == []


def test_diff_outputs_show_the_text_as_written(district_run: Path, tmp_path):
    old = tmp_path / "old.gpkg"
    fac = pyogrio.read_dataframe(district_run / "riskmap.gpkg", layer="facilities")
    fac["level"] = fac["level"].map({"red": "blue", "orange": "red", "yellow": "orange", "blue": "yellow"})
    pyogrio.write_dataframe(fac, old, layer="facilities")
    r = runner.invoke(
        app, ["diff", str(old), str(district_run / "riskmap.gpkg"), "--out", str(tmp_path / "d")]
    )
    assert r.exit_code == 0, r.output
    assert "{{ 7*7 }}" in r.output and "[/]" in r.output
    page = (tmp_path / "d" / "changes.html").read_text(encoding="utf-8")
    assert "{{ 7*7 }}" in page and "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page
    wb = load_workbook(tmp_path / "d" / "changes.xlsx")
    formulas = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
