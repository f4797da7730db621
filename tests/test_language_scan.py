"""Issue 26's "Done when": with ``lang = "zh"`` no English word reaches a user, with ``lang = "en"`` no Chinese beyond
names from the data — scanned in what a run writes and says.

The demo district and the county yardstick (``tests/county.py``: 同安区's files as they arrive) are run through the
CLI (``riskmap run --lang zh|en``, the figure also as SVG), and each output is read as its user reads it:

- the HTML map in headless Chromium (the page's text: title, legend, layer control, filter and search boxes and
  their placeholders; the popups and tooltips of facilities and zones), and the data the page decodes
  (``tests/mapdata.py``: every facility's and zone's text fields, the page's labels);
- the figure: the text of every matplotlib artist as drawn, and the SVG written;
- the XLSX plan: every sheet name and every cell, headers included;
- the CLI's output of ``riskmap run`` and ``riskmap validate``, every command's ``--help`` and its usage errors,
  and rejects.csv;

What may be English in a Chinese output (:data:`TECHNICAL`, :func:`english_words`): technical identifiers — file
names, column names of the data contract (``facility_id``), configuration keys (``[scoring.sectors]``), codes
with digits, dots or underscores, EPSG codes — and the short list below, each with its reason. What may be
Chinese in an English output: the names of the data (every text of the project's input files and its name) and
the columns whose name says they are Chinese (``level_zh``).

Text that other parts of issue 26 own (the CLI's messages, reject and plan reasons, zone reasons) is scanned by
tests marked ``xfail(strict=True)`` naming the part: they pass once that part is merged, and then fail as xfail
until the mark is removed.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from browser import chromium, open_page
from mapdata import MapData, read_map
from openpyxl import load_workbook
from typer.testing import CliRunner

import riskmap.columns as columns
import riskmap.vocabulary as vocabulary
from riskmap._resources import demo_dir
from riskmap.cli import app
from riskmap.config import Config
from riskmap.outputs import figure as figure_mod

runner = CliRunner()

#: A word: letters, digits and the marks that join an identifier (facilities.csv, scoring.sectors, n_red, W5.4).
TOKEN = re.compile(r"[A-Za-z0-9_]+(?:[.\-:/][A-Za-z0-9_]+)*")
CJK = re.compile(r"[\u3400-\u9fff]+")
PLACEHOLDER = re.compile(r"\{\w+\}")

#: English words a Chinese output may show, and why.
TECHNICAL = {
    "riskmap": "the program's name, in the figure's source line and file names",
    "km": "the scale bar's unit symbol, as Chinese standard maps print it (GB/T 20257)",
    "HTML": "the kind of file, in the map's 'data damaged' message (此 HTML 文件)",
    "GB": "the prefix of a national standard's number (GB 18218), as Chinese texts write it",
    "LS": "the LS risk matrix's name as Chinese practice writes it (LS 风险矩阵法, L=…×S=…)",
    "LEC": "the LEC method's name as Chinese practice writes it (LEC 作业条件危险性评价法)",
    "Leaflet": "the map library's name in the attribution (a proper name)",
    "CAS": "CAS 号, the registry number of a chemical, as Chinese registers and GB 18218 write it",
    "GIS": "国内 GIS 导出: the name of the kind of software, as Chinese offices say it",
    "GBK": "the name of an encoding (GB18030/GBK), to be written in a .cpg file",
    "UTF": "the name of an encoding (UTF-8)",
    "shapefile": "the name of the file format, as Chinese GIS users say it",
    "POINT": "a geometry as WKT (the value of a rejected row, quoted as it was)",
    "cpg": "the encoding file of a shapefile (.cpg), named as GIS software names it",
    "true": "a TOML value in a setting given to copy into riskmap.toml (match_by_name = true)",
    "false": "a TOML value in a setting given to copy into riskmap.toml",
}
#: Names of the data contract (riskmap/columns.py: grade, geometry) and of the project file's sections
#: (facilities, inventory, population, roster): a report's data-quality and provenance tables name the column and
#: the input as the files and the project file do.
IDENTIFIERS = {
    *(v for k, v in vars(columns).items() if k.isupper() and isinstance(v, str)),
    *(
        v
        for k, v in vars(columns).items()
        if k.isupper() and isinstance(v, list | tuple)
        for v in v
        if isinstance(v, str)
    ),
    "geometry",
    "grade",  # the standardisation table's column
    "roster",  # [supervision] roster: the inspectors' file
    *Config.model_fields,
}

#: Chinese an English message quotes: the values an office writes in its Chinese files, so that the user can
#: write them (use 一级, 二级 or 三级; 2026年3月1日; statuses 已整改, 已销号), and the Chinese name of a thing the
#: message explains in English (工商注册号, 无代码:<name>, the id riskmap gives an enterprise without one).
WRITTEN_IN_THE_FILES = {
    *(w for w in vars(vocabulary).values() if isinstance(w, str)),
    *(w for v in vars(vocabulary).values() if isinstance(v, dict | tuple | frozenset | set) for w in v),
    *(w for v in vars(vocabulary).values() if isinstance(v, dict) for w in v.values() if isinstance(w, str)),
    "年", "月", "日", "级", "小微", "达标", "二级达标", "安全生产标准化三级", "未创建", "已过期",
    "工商注册号", "无代码", "销号", "已销号", "已整改", "完成", "整改完成",
}  # fmt: skip

#: What a message quotes as written, not words: a file name (台账.xls), a section of the project file
#: ([scoring.sectors], [scoring]).
QUOTED = re.compile(
    r"[^\s：:，,；;（）()]+\.(?:xlsx?|csv|shp|cpg|tif|gpkg|toml|docx|html|png|svg|json)\b|\[[\w.]+\](?: [a-z_]+\b)?"  # a file name; a section and key of the project file
    r"|riskmap [a-z]+\b|--[\w-]+"  # a command to type: riskmap plan 项目文件 --year 2027
)
#: Columns whose cells are codes, not words (their words are in a column beside them), and why.
CODE_COLUMNS = {
    columns.LEVEL: "the level's key (red/orange/yellow/blue/none) of the data contract; level_zh has its words",
    "stage": "the stage's key (validate, score, adjust) of the rejects table",
    "source": "the input file's name",
    "field": "the input column's name",
    "value": "the value as the input file wrote it (data)",
    columns.ZONE_CODE: "division codes",
    columns.FACILITY_ID: "the register's ids (无代码:<name> for an enterprise listed without one)",
}

#: Sheets named as the run's tables are (their CSV files and GeoPackage layers: inspection_plan, zones_village,
#: rejects; ``months``, the plan's month table in docs/config.md): identifiers a user finds again in the files.
TABLES = {"inspection_plan", "months", "rejects", "zones_village", "zones_town"}

# Text owned by another part of issue 26 (being translated on its own branch), by the column it is in.
REASON_COLUMNS = {"plan_reason", "reason", "drivers", "rule"}
OTHERS = {
    "cli": "h26-cli: the CLI's summary, rejects and warning lines of riskmap run (cli.py, pipeline.py ...)",
    "reasons": "h26-rejects: reject, plan and zone reasons (make_rejects, supervision.py, zoning.py _zone_reasons, "
    "the drivers and rule columns of zoning.py)",
}


@dataclass
class Run:
    """One ``riskmap run``: its output folder, what the CLI printed, the figure's texts as drawn."""

    lang: str
    out: Path
    cli: str
    figure: list[str] = field(default_factory=list)
    project: Path | None = None


@dataclass(frozen=True)
class Data:
    """The names of the data: English words and Chinese runs of every text of the inputs and the project name."""

    tokens: frozenset[str]
    runs: frozenset[str]


def _with_svg(toml: Path) -> Path:
    """The project's figure also as SVG (the text of a figure is read there)."""
    text = toml.read_text(encoding="utf-8")
    if 'figure_formats = ["png"]' in text:
        text = text.replace('figure_formats = ["png"]', 'figure_formats = ["png", "svg"]')
    else:
        assert "\n[outputs]\n" in text and "figure_formats" not in text
        text = text.replace("\n[outputs]\n", '\n[outputs]\nfigure_formats = ["png", "svg"]\n')
    # The Word report too (its cards: red and orange enterprises, the report's default).
    assert "\n[outputs]\n" in text
    text = text.replace("\n[outputs]\n", "\n[outputs]\nreport = true\n")
    toml.write_text(text, encoding="utf-8")
    return toml


def _table_texts(p: Path) -> Iterator[str]:
    """Every cell and header of a CSV (UTF-8 or GBK) or workbook (every sheet, read raw)."""
    if p.suffix == ".csv":  # read as rows of cells: a title line above the header is a row like any other
        raw = p.read_bytes()
        text = raw.decode("utf-8-sig") if raw.startswith(b"\xef\xbb\xbf") else _utf8_or_gbk(raw)
        yield from (cell for row in csv.reader(io.StringIO(text)) for cell in row if cell)
        return
    for name, df in pd.read_excel(p, sheet_name=None, header=None, dtype=str, engine="calamine").items():
        yield name
        yield from (str(v) for v in pd.unique(df.to_numpy().ravel()) if isinstance(v, str))


def _utf8_or_gbk(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _texts_of_inputs(folder: Path) -> Iterator[str]:
    """Every text of the project's input files and the project's name: the names of the data."""
    for p in sorted(folder.iterdir()):
        if p.suffix in (".csv", ".xls", ".xlsx"):
            yield from _table_texts(p)
        elif p.suffix in (".gpkg", ".shp"):
            options = {} if p.suffix == ".gpkg" or p.with_suffix(".cpg").exists() else {"encoding": "gb18030"}
            for layer, _ in pyogrio.list_layers(p):
                g = gpd.read_file(p, layer=layer, **options)
                for col in g.columns.drop(g.geometry.name):
                    yield from map(str, g[col].unique())
    for p in sorted(
        folder.iterdir()
    ):  # file and sheet names are the office's words too (隐患排查治理台账.xlsx)
        yield p.name
        if p.suffix in (".xls", ".xlsx"):
            yield from pd.ExcelFile(p, engine="calamine").sheet_names
    # The project's name (the title); not every string of the file: method keys there are no names of the data.
    yield from re.findall(r'^name = "([^"]+)"', (folder / "riskmap.toml").read_text(encoding="utf-8"), re.M)


def _run_both(folder: Path, toml: Path) -> tuple[dict[str, Run], Data]:
    """The project run in Chinese and in English (the CLI in process: the figure's texts are read as drawn)."""
    texts = list(_texts_of_inputs(toml.parent))
    data = Data(
        frozenset(t for v in texts for t in TOKEN.findall(v)),
        frozenset(r for v in texts for r in CJK.findall(v)),
    )
    runs = {}
    with pytest.MonkeyPatch.context() as mp:
        from matplotlib.text import Text

        drawn: list[str] = []
        saving: list[bool] = []
        draw, save = Text.draw, figure_mod._save

        def read_then_draw(self, renderer):  # every text of the figure as it is drawn into the files written
            if saving and self.get_visible() and self.get_text():
                drawn.append(self.get_text())
            return draw(self, renderer)

        def read_while_saving(*args, **kwargs):  # not geopandas' draws while it plots (axes still on)
            saving.append(True)
            try:
                return save(*args, **kwargs)
            finally:
                saving.clear()

        mp.setattr(Text, "draw", read_then_draw)
        mp.setattr(figure_mod, "_save", read_while_saving)
        for lang in ("zh", "en"):
            drawn.clear()
            out = folder / f"out-{lang}"
            r = runner.invoke(app, ["run", str(toml), "--out", str(out), "--lang", lang], terminal_width=200)
            assert r.exit_code == 0, r.output
            runs[lang] = Run(lang, out, r.output, list(drawn), toml)
    return runs, data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Run], Data]:
    """The demo district (data/demo), run in Chinese and in English."""
    folder = tmp_path_factory.mktemp("scan-demo")
    shutil.copytree(demo_dir(), folder / "demo")
    return _run_both(folder, _with_svg(folder / "demo" / "riskmap.toml"))


@pytest.fixture(scope="module")
def county_yardstick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Run], Data]:
    """The county yardstick (tests/county.py: 同安区's files as they arrive), run in Chinese and in English."""
    import county

    folder = tmp_path_factory.mktemp("scan-county")
    county.build_county(folder / "同安区")
    return _run_both(folder, _with_svg(folder / "同安区" / "riskmap.toml"))


@pytest.fixture(params=["demo", "county_yardstick"])
def project(request: pytest.FixtureRequest) -> tuple[dict[str, Run], Data]:
    return request.getfixturevalue(request.param)


# -- the scanners ----------------------------------------------------------------------------------------------


def english_words(text: str, data: Data) -> list[str]:
    """The English words of ``text`` that are neither technical identifiers nor names from the data."""
    found = []
    for token in TOKEN.findall(QUOTED.sub(" ", PLACEHOLDER.sub(" ", text))):
        if not re.search(r"[A-Za-z]{2}", token) or re.search(r"[\d_./:]", token):
            continue  # a letter (N on the north arrow), a code, a file name, a config key: identifiers
        if (
            token in TECHNICAL
            or token in IDENTIFIERS
            or token in data.tokens
            or re.fullmatch(r"EPSG|CGCS2000|WGS84|GCJ-02|BD-09", token)
        ):
            continue
        found.append(token)
    return found


def chinese_words(text: str, data: Data) -> list[str]:
    """The runs of Chinese characters of ``text`` that are not names from the data."""
    return [
        run
        for run in CJK.findall(QUOTED.sub(" ", text))
        if run not in data.runs and run not in WRITTEN_IN_THE_FILES
    ]


def leaks(lang: str, items: Iterable[tuple[str, str]], data: Data) -> str:
    """Each foreign word of ``items`` (where, text) with the first place it was seen, one a line: English in a
    Chinese output, Chinese in an English one; "" when there is none."""
    scan = english_words if lang == "zh" else chinese_words
    found: dict[str, str] = {}
    for where, text in items:
        for word in scan(text, data):
            found.setdefault(word, f"{where}: {text[:160]!r}")
    return "\n".join(f"{word!r} in {where}" for word, where in found.items())


def assert_no_leaks(lang: str, items: Iterable[tuple[str, str]], data: Data) -> None:
    found = leaks(lang, items, data)
    assert not found, f"{'English' if lang == 'zh' else 'Chinese'} words in a {lang} output:\n{found}"


# -- what a user reads, per output -----------------------------------------------------------------------------


def _sheet_cells(path: Path, lang: str, owned_by_others: bool) -> Iterator[tuple[str, str]]:
    """Sheet names and text cells of the workbook (headers included), without the code columns; of the columns
    another part owns (:data:`REASON_COLUMNS`) only those (``owned_by_others``) or all but those."""
    other = "_en" if lang == "zh" else "_zh"  # a column that says its language in its name (level_zh)
    wb = load_workbook(path, read_only=True)
    for ws in wb.worksheets:
        if not owned_by_others and ws.title not in TABLES:
            yield f"sheet {ws.title!r}", ws.title
        rows = ws.iter_rows(values_only=True)
        header = [str(h) for h in next(rows, ())]
        if not owned_by_others:
            yield from ((f"{ws.title}!header", h) for h in header if not re.fullmatch(r"[a-z][a-z0-9_]*", h))
        keep = [
            (i, h)
            for i, h in enumerate(header)
            if h not in CODE_COLUMNS and not h.endswith(other) and (h in REASON_COLUMNS) == owned_by_others
        ]
        for r, row in enumerate(rows, start=2):
            for i, h in keep:
                if isinstance(row[i], str):
                    yield f"{ws.title}!{h}{r}", row[i]


def _figure_texts(run: Run) -> Iterator[tuple[str, str]]:
    yield from (("figure", t) for t in run.figure)
    svg = (run.out / "map.svg").read_text(encoding="utf-8")
    yield from (("map.svg", t) for t in re.findall(r"<!--(.*?)-->", svg, re.S))


def _map_data_texts(data: MapData, owned_by_others: bool) -> Iterator[tuple[str, str]]:
    """The page's labels and every text its data carries (facility fields, zone properties); of the facilities'
    reasons (methods/, adjust.py: another part's) only those (``owned_by_others``) or all but those."""
    fac = data.facilities()
    if owned_by_others:
        yield from (("facility.reasons", str(v)) for v in fac["reasons"].unique())
        return
    yield from ((f"texts.{k}", v) for k, v in data.texts.items())
    meta = data.meta
    yield from ((f"meta.levels.{lv['key']}", lv["label"]) for lv in meta["levels"])
    yield from (("meta.popup", label) for label, _ in meta["popup"])
    for k, z in enumerate(meta["zones"]):
        yield from (
            (f"meta.zones[{k}].{key}", v) for key, v in z.items() if isinstance(v, str) and key == "label"
        )
    for key, v in (meta.get("sensitivity") or {}).items():
        if isinstance(v, str):
            yield f"meta.sensitivity.{key}", v
    for col in fac.columns.drop(["lat", "lon", "level", "reasons", "id"]):  # id: CODE_COLUMNS' facility_id
        yield from ((f"facility.{col}", str(v)) for v in fac[col].unique())
    for k in range(len(meta["zones"])):
        z = data.zones(k)
        for col in z.columns.drop("level"):
            yield from ((f"zones[{k}].{col}", str(v)) for v in z[col].unique())


_PAGE_TEXT = """() => {
    const out = [document.title];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) {
        const tag = n.parentElement && n.parentElement.tagName;
        if (tag !== 'SCRIPT' && tag !== 'STYLE' && n.textContent.trim()) { out.push(n.textContent.trim()); }
    }
    for (const e of document.querySelectorAll('[placeholder], [title], [aria-label], [alt]')) {
        for (const a of ['placeholder', 'title', 'aria-label', 'alt']) {
            if (e.getAttribute(a)) { out.push(e.getAttribute(a)); }
        }
    }
    return out;
}"""


def _map_name(page) -> str:
    name = page.evaluate("() => Object.keys(window).find(k => /^map_/.test(k) && window[k].riskmap)")
    page.evaluate("(n) => window[n].riskmap.ready", name)
    return name


_POPUP = """() => {
    const box = document.querySelector('.leaflet-popup-content');
    const head = box && box.querySelector('.riskmap-popup-title');
    return head ? [['', head.innerText]].concat(Array.from(box.querySelectorAll('tr'), (tr) =>
        [tr.cells[0].innerText, tr.cells[1].innerText])) : null;
}"""


def _click_popup(
    page, name: str, at: tuple[float, float], where: str, skip: set[str]
) -> list[tuple[str, str]]:
    """Click ``at`` and read the popup that opens: its title and each row's label and value, but the value of
    the rows labelled in ``skip`` (the facility's reasons: another part's text; its id: a code)."""
    page.evaluate("(n) => window[n].closePopup()", name)
    page.wait_for_function("() => !document.querySelector('.leaflet-popup')")  # gone (it fades out)
    page.mouse.click(*at)
    rows = page.wait_for_function(_POPUP).json_value()  # the first rows read, as they were read
    return [
        (f"{where} popup", text)
        for label, value in rows
        for text in ([label] if label in skip else [label, value])
    ]


def _tooltips(page, where: str) -> list[tuple[str, str]]:
    page.wait_for_timeout(150)
    return [(f"{where} tooltip", t) for t in page.locator(".leaflet-tooltip").all_inner_texts()]


def _quiet_points(data: MapData) -> list[tuple[int, float, float]]:
    """A point inside a zone of each layer with no facility within ~300 m: its popup is the zone's."""
    import numpy as np
    import shapely

    fac = data.facilities()
    xy = fac[["lon", "lat"]].to_numpy()
    points = []
    for k in range(len(data.meta["zones"])):
        for j in range(len(data.zones(k))):
            p = shapely.Polygon(data.rings(k, j)[0]).representative_point()
            if not len(xy) or np.hypot(xy[:, 0] - p.x, xy[:, 1] - p.y).min() > 0.003:
                points.append((j, p.y, p.x))
                break
    return points


def _browser_texts(path: Path, data: MapData) -> list[tuple[str, str]]:
    """What the page shows in Chromium: its text and attributes, then the tooltip and popup of a facility of each
    level and of a zone (the mouse on it, then a click), and the page again with a popup open."""
    fac = data.facilities()
    reasons = {label for label, field in data.meta["popup"] if field in ("reasons", "id")}
    picks = [int(fac.index[fac["level"] == lv][0]) for lv in fac["level"].unique()]
    shown: list[tuple[str, str]] = []
    with chromium() as browser, open_page(browser, path) as (page, log):
        name = _map_name(page)
        shown += [("page", t) for t in page.evaluate(_PAGE_TEXT)]
        box = page.locator(".folium-map").bounding_box()
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.move(*centre)  # the overview's circle (or a zone) under the mouse at the first view
        shown += _tooltips(page, "first view")
        for i in picks:
            x, y = page.evaluate(
                """([n, i]) => { const map = window[n], c = map.riskmap.compact;
                    map.setView(map.containerPointToLatLng(c.pointOf(i)), 18, {animate: false});
                    const p = c.pointOf(i), r = map.getContainer().getBoundingClientRect();
                    return [p.x + r.left, p.y + r.top]; }""",
                [name, i],
            )
            page.mouse.move(x, y)
            shown += _tooltips(page, f"facility {i}")
            shown += _click_popup(page, name, (x, y), f"facility {i}", reasons)
        for j, lat, lon in _quiet_points(data)[
            :1
        ]:  # the finest layer's zone (a coarser one is hidden at first)
            page.evaluate(f"(n) => window[n].setView([{lat}, {lon}], 17, {{animate: false}})", name)
            page.mouse.move(*centre)
            shown += _tooltips(page, f"zone {j}")
            popup = _click_popup(page, name, centre, f"zone {j}", reasons)
            assert popup[1][1] == data.zones(0)["name"][j]  # the zone's popup, not a facility's
            shown += popup
        shown += [("page, a popup open", t) for t in page.evaluate(_PAGE_TEXT)]
        assert log.errors == [] and log.blocked == []
    return shown


# -- the tests ---------------------------------------------------------------------------------------------------

LANGS = pytest.mark.parametrize("lang", ["zh", "en"])


@LANGS
def test_the_figure_speaks_the_run_language(project, lang):
    runs, data = project
    run = runs[lang]
    assert any("数据截至" in t for t in run.figure) == (lang == "zh")  # the texts were read
    assert_no_leaks(lang, _figure_texts(run), data)


@LANGS
def test_the_map_data_speaks_the_run_language(project, lang):
    runs, data = project
    page = read_map((runs[lang].out / "map.html").read_text(encoding="utf-8"))
    assert_no_leaks(lang, _map_data_texts(page, owned_by_others=False), data)


@LANGS
def test_the_reasons_on_the_map_speak_the_run_language(project, lang):
    runs, data = project
    page = read_map((runs[lang].out / "map.html").read_text(encoding="utf-8"))
    assert_no_leaks(lang, _map_data_texts(page, owned_by_others=True), data)


@pytest.mark.browser
@LANGS
def test_the_map_in_a_browser_speaks_the_run_language(project, lang):
    runs, data = project
    path = runs[lang].out / "map.html"
    shown = _browser_texts(path, read_map(path.read_text(encoding="utf-8")))
    assert {w.split()[0] for w, _ in shown if w.endswith("popup")} == {"facility", "zone"}  # both were read
    assert_no_leaks(lang, shown, data)


@LANGS
def test_the_plan_workbook_speaks_the_run_language(project, lang):
    runs, data = project
    assert_no_leaks(lang, _sheet_cells(runs[lang].out / "inspection_plan.xlsx", lang, False), data)


@LANGS
def test_the_reasons_in_the_plan_workbook_speak_the_run_language(project, lang):
    runs, data = project
    assert_no_leaks(lang, _sheet_cells(runs[lang].out / "inspection_plan.xlsx", lang, True), data)


@LANGS
def test_the_cli_output_of_run_speaks_the_run_language(project, lang):
    runs, data = project
    assert_no_leaks(lang, ((f"line {i}", t) for i, t in enumerate(runs[lang].cli.splitlines())), data)


def _csv_cells(path: Path, lang: str) -> Iterator[tuple[str, str]]:
    """The text cells of a CSV the run wrote, as a spreadsheet shows them, without the code columns and the column
    in the other language (``reason_en`` of a Chinese run)."""
    other = "_en" if lang == "zh" else "_zh"
    with path.open(encoding="utf-8-sig", newline="") as f:
        for r, row in enumerate(csv.DictReader(f), start=2):
            for h, v in row.items():
                if v and h not in CODE_COLUMNS and not h.endswith(other) and not re.fullmatch(r"[\d.\-]+", v):
                    yield f"{path.name}!{h}{r}", v


@LANGS
def test_rejects_csv_speaks_the_run_language(project, lang):
    runs, data = project
    path = runs[lang].out / "rejects.csv"
    cells = list(_csv_cells(path, lang))
    assert cells, "rejects.csv has no text to scan"
    assert_no_leaks(lang, cells, data)


@LANGS
def test_the_validate_listing_speaks_the_run_language(project, lang):
    runs, data = project
    r = runner.invoke(
        app, ["validate", str(runs[lang].project), "--lang", lang, "--show", "0"], terminal_width=200
    )
    assert r.exit_code in (0, 1), r.output
    assert_no_leaks(lang, ((f"line {i}", t) for i, t in enumerate(r.output.splitlines())), data)


def _word_texts(path: Path) -> Iterator[tuple[str, str]]:
    """Every paragraph and table cell of a Word file, headers and footers included, as its reader sees them."""
    from docx import Document

    doc = Document(str(path))
    parts = [("body", doc)] + [(f"header {i}", s.header) for i, s in enumerate(doc.sections)]
    parts += [(f"footer {i}", s.footer) for i, s in enumerate(doc.sections)]
    for where, part in parts:
        for i, p in enumerate(part.paragraphs):
            yield f"{path.name} {where} paragraph {i}", p.text
        for t, table in enumerate(part.tables):
            for r, row in enumerate(table.rows):
                for c, cell in enumerate(row.cells):
                    yield f"{path.name} {where} table {t} row {r} cell {c}", cell.text


@LANGS
def test_the_word_report_and_cards_speak_the_run_language(project, lang):
    runs, data = project
    files = [runs[lang].out / "report.docx", runs[lang].out / "cards.docx"]
    assert files[0].exists(), sorted(p.name for p in runs[lang].out.iterdir())
    assert_no_leaks(lang, (item for f in files if f.exists() for item in _word_texts(f)), data)


def test_the_scanners_find_what_they_look_for():
    """English in Chinese text and Chinese in English text are found; identifiers and the data's names are not."""
    data = Data(frozenset({"KTV", "lon"}), frozenset({"东村"}))  # a name and a column of the inputs
    zh = "东村 远方KTV：facilities.csv 第 3 行，字段 lon，[scoring.sectors]，EPSG:4490，n_red；10 km, riskmap；台账.xls，[scoring]"
    assert english_words(zh, data) == []
    assert english_words("重大风险 Major risk", data) == ["Major", "risk"]
    assert chinese_words("东村: Major risk (KTV)", data) == []
    assert chinese_words("东村 重大风险", data) == ["重大风险"]


# -- the command line's help and usage errors -------------------------------------------------------------------

#: What the help quotes as written, and why: option values to type (--engine memory|dask, --lang zh|en, --cards
#: red-orange|all|none), names of software and formats (PostGIS, Dask, Word/WPS, JSON Schema, iframe), and the
#: parts of a connection string (postgresql://user@host:5432/db, service=name) to copy, files and their formats (~/.pgpass, an office's
#: .docx, CSV, XLSX, GeoPackage) and the demo's default folder (riskmap-demo).
HELP_TERMS = {
    "memory", "dask", "zh", "en", "red-orange", "all", "none", "PostGIS", "Dask", "Word", "WPS", "JSON", "Schema",
    "iframe", "postgresql", "user", "host", "db", "service", "name", "PGPASSWORD", "DASK_SCHEDULER_ADDRESS", "tcp",
    "pgpass", "docx", "riskmap-demo", "CSV", "XLSX", "XLS", "GeoPackage",
}  # fmt: skip
#: Chinese an English help quotes: the map's four colours and the 红头 of an office's letterhead, as offices say
#: them, and the demo district's name.
HELP_CHINESE = {"红橙黄蓝", "红头", "滨江区"}


def _commands() -> list[list[str]]:
    import typer.main

    group = typer.main.get_command(app)
    return [[]] + [[name] for name in group.commands]  # type: ignore[attr-defined]


#: The commands' names are words to type (riskmap run), like the options.
HELP_DATA = Data(frozenset(HELP_TERMS | {c[0] for c in _commands() if c}), frozenset(HELP_CHINESE))


@LANGS
@pytest.mark.parametrize("command", _commands(), ids=lambda c: " ".join(c) or "riskmap")
def test_the_help_speaks_the_users_language(command, lang):
    r = runner.invoke(app, [*command, "--help"], env={"LANGUAGE": lang})
    assert r.exit_code == 0, r.output
    assert ("用法：" if lang == "zh" else "Usage:") in r.output
    assert_no_leaks(lang, [("the help", _unwrapped(r.output))], HELP_DATA)


def _unwrapped(output: str) -> str:
    """The help's text as one line: a quoted [engine] scheduler may be wrapped across two."""
    return " ".join(line.strip() for line in output.splitlines())


USAGE_ERRORS = {
    "no project": (["run"], "缺少项目文件", "missing PROJECT"),
    "two projects": (["run", "a.toml", "b.toml"], "多余的参数：b.toml", "unexpected extra words: b.toml"),
    "no later run": (["diff", "a.gpkg"], "缺少新结果", "missing NEW"),
    "a misspelt option": (
        ["run", "a.toml", "--ou", "x"],
        "没有选项 --ou；是否要用 --out",
        "did you mean --out",
    ),
    "an unknown option": (["--nosuch"], "没有选项 --nosuch", "no option --nosuch"),
    "an unknown command": (
        ["frob"],
        "没有命令 frob；可用的命令有：run",
        "no command frob; the commands are: run",
    ),
    "not a number": (["validate", "a.toml", "--show", "z"], "--show 须为整数", "--show takes a whole number"),
    "not an engine": (
        ["run", "a.toml", "--engine", "x"],
        "须为以下之一：memory, dask",
        "one of memory, dask",
    ),
    "no value": (["run", "a.toml", "-o"], "选项 -o 需要一个值", "the option -o needs a value"),
    "not a date": (
        ["run", "a.toml", "--as-of", "xx"],
        "--as-of：'xx' 不是日期",
        "--as-of: 'xx' is not a date",
    ),
}


@LANGS
@pytest.mark.parametrize("case", USAGE_ERRORS, ids=str)
def test_usage_errors_speak_the_users_language(case, lang):
    """A command line riskmap cannot read: one line saying what is wrong, the usage, where the help is; exit 2."""
    args, zh, en = USAGE_ERRORS[case]
    r = runner.invoke(app, args, env={"LANGUAGE": lang})
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output and "╭" not in r.output  # no typer panel: riskmap's own lines
    assert r.output.startswith("错误：" if lang == "zh" else "error: "), r.output
    assert (zh if lang == "zh" else en) in r.output, r.output
    typed = Data(HELP_DATA.tokens | {"frob", "xx"}, HELP_DATA.runs)  # what the user typed, quoted back
    assert_no_leaks(lang, ((f"line {i}", t) for i, t in enumerate(r.output.splitlines())), typed)


def test_every_help_text_has_its_chinese():
    """An option or command added with an English help and no catalog entry fails here, not in an office."""
    import typer.main

    from riskmap.cli_help import BUILT_IN_HELP
    from riskmap.i18n import tr

    group = typer.main.get_command(app)
    texts = {"riskmap": group.help}
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        texts[name] = command.help
        for p in command.params:
            texts[f"{name} {p.name}"] = p.help or BUILT_IN_HELP.get(p.name)
    missing = {k: v for k, v in texts.items() if not v or not CJK.search(tr(v, lang="zh"))}
    assert not missing, f"help texts without Chinese (mark them N_ and translate them): {missing}"
