"""The HTML map's embedded data, decoded without a browser: what the page draws is what was passed in.

tests/mapdata.py decodes the page's packed columns in Python; tests/js/decode_page.js decodes them with the
page's own modules (riskmap/outputs/js) under Node. Both must give back the facilities and zones rendered.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Point, Polygon, box

from riskmap import levels
from riskmap.outputs import html as html_out
from riskmap.outputs.html import render_html

try:
    from tests.mapdata import LEVEL_KEYS, read_map
except ModuleNotFoundError:
    from mapdata import LEVEL_KEYS, read_map

ROOT = Path(__file__).resolve().parents[1]
XSS = "<img src=x onerror=alert(1)>"


def _district() -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame]]:
    """Villages of a 4 × 3 grid (one with a hole, one a multipolygon), two towns, 50 facilities of every level."""
    rng = np.random.default_rng(7)
    polys = []
    for i in range(4):
        for j in range(3):
            cell = box(119.60 + i * 0.01, 32.20 + j * 0.01, 119.61 + i * 0.01, 32.21 + j * 0.01)
            if (i, j) == (1, 1):
                cell = cell.difference(cell.centroid.buffer(0.002))
            polys.append(cell)
    polys[-1] = shapely.MultiPolygon([polys[-1], box(119.70, 32.20, 119.705, 32.205)])
    keys = [*levels.LEVEL_NAMES, levels.NOT_ASSESSED]
    villages = gpd.GeoDataFrame(
        {
            "zone_code": [f"3210121{k:05d}" for k in range(12)],
            "zone_name": [f"{XSS}村{k}" if k == 0 else f"村{k}" for k in range(12)],
            "level": [keys[k % 5] for k in range(12)],
            "n_red": range(12),
            "placed_by_column": ["" if k % 3 else f"无坐标厂{k}" for k in range(12)],  # columns.PLACED
        },
        geometry=polys,
        crs=4490,
    )
    towns = villages.assign(town=[k // 6 for k in range(12)]).dissolve("town").reset_index()
    towns["zone_code"], towns["zone_name"], towns["level"] = (
        ["321012100000", "321012200000"],
        ["甲镇", "乙镇"],
        "red",
    )
    n = 50
    facilities = gpd.GeoDataFrame(
        {
            "facility_id": [f"F{k:03d}" for k in range(n)],
            "name": [XSS if k == 3 else f"{{{{ 7*7 }}}}公司{k}" for k in range(n)],
            "sector": ["危险化学品" if k % 2 else "工贸" for k in range(n)],
            "level": [keys[k % 5] for k in range(n)],
            "score": [float(k) / 3 for k in range(n)],
            "reasons": [f"理由甲{k}；理由乙；；" if k % 4 else "" for k in range(n)],
            "zone_code": "321012100001",
            "zone_name": "村1",
        },
        geometry=[Point(119.60 + rng.random() * 0.04, 32.20 + rng.random() * 0.03) for _ in range(n)],
        crs=4490,
    )
    return facilities, {"village": villages, "town": towns[["zone_code", "zone_name", "level", "geometry"]]}


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame], str]:
    facilities, zones = _district()
    out = render_html(facilities, zones, tmp_path_factory.mktemp("map") / "map.html")
    return facilities, zones, out.read_text(encoding="utf-8")


def test_facilities_come_back_as_rendered(page):
    facilities, _, text = page
    shown = read_map(text).facilities().set_index("id")
    given = facilities.set_index("facility_id").to_crs(4326)
    assert sorted(shown.index) == sorted(given.index)
    given = given.loc[shown.index]
    assert np.abs(shown["lon"] - given.geometry.x).max() <= 5e-7  # micro-degrees
    assert np.abs(shown["lat"] - given.geometry.y).max() <= 5e-7
    assert (shown["level"] == given["level"]).all()
    assert (shown["name"] == given["name"]).all() and XSS in set(shown["name"])
    assert (shown["sector"] == given["sector"]).all()
    assert shown.loc["F001", "reasons"] == "理由甲1\n理由乙"  # one reason a line, runs of separators as one
    assert shown.loc["F000", "reasons"] == "—"
    assert shown.loc["F004", "score"] == "1.33"
    assert shown.loc["F004", "zone"] == "村1（321012100001）"


def test_facilities_are_sorted_by_grid_cell_and_the_cell_starts_find_them(page):
    _, _, text = page
    data = read_map(text)
    grid = data.meta["facilities"]["grid"]
    fac = data.facilities()
    lon_i, lat_i = np.round(fac["lon"] * 1e6), np.round(fac["lat"] * 1e6)
    cell = ((lat_i - grid["y0"]) // grid["ch"]) * grid["g"] + (lon_i - grid["x0"]) // grid["cw"]
    assert (np.diff(cell) >= 0).all()
    starts = data.array("f.cells")
    assert len(starts) == grid["g"] ** 2 + 1 and starts[-1] == len(fac)
    assert (starts == np.searchsorted(cell, np.arange(grid["g"] ** 2 + 1))).all()


def test_zones_come_back_as_rendered(page):
    _, zones, text = page
    data = read_map(text)
    villages = zones["village"]
    shown = data.zones(0)
    assert shown["name"].tolist() == villages["zone_name"].tolist()
    assert shown["code"].tolist() == villages["zone_code"].tolist()
    assert shown["level"].tolist() == villages["level"].tolist()
    assert shown["n_red"].tolist() == [str(k) for k in range(12)]
    assert shown["placed"].tolist() == ["—" if k % 3 else f"无坐标厂{k}" for k in range(12)]
    for f, geom in enumerate(villages.to_crs(4326).geometry):
        rings = data.rings(0, f)
        assert len(rings) == sum(1 + len(p.interiors) for p in getattr(geom, "geoms", [geom]))
        drawn = functools.reduce(
            shapely.symmetric_difference, [Polygon(r) for r in rings]
        )  # even-odd, as drawn
        # The finest copy: simplified by half a pixel at zoom 19 (~0.15 m) and rounded to micro-degrees.
        assert drawn.hausdorff_distance(geom) < html_out._LOSSLESS + 1e-6, f
    assert data.zones(1)["name"].tolist() == ["甲镇", "乙镇"]
    assert set(data.facilities()["town"]) <= {"甲镇（321012100000）", "乙镇（321012200000）"}


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        pytest.skip("the JavaScript decode test needs Node.js (apt-get install nodejs)")
    return found


def test_the_pages_own_modules_decode_what_python_packed(page, node, tmp_path):
    """Python's pack() and the page's columns.js/facilities.js/zones.js agree, on real page data."""
    _, zones, text = page
    data = read_map(text)
    arg = tmp_path / "data.json"
    arg.write_text(json.dumps({"meta": data.meta, "b64": data.b64}), encoding="utf-8")
    run = subprocess.run(
        [node, str(ROOT / "tests" / "js" / "decode_page.js"), str(arg)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    js = json.loads(run.stdout)
    fac = data.facilities()
    assert js["facilities"]["lat"] == fac["lat"].tolist() and js["facilities"]["lon"] == fac["lon"].tolist()
    assert [LEVEL_KEYS[c] for c in js["facilities"]["level"]] == fac["level"].tolist()
    for field in data.meta["facilities"]["fields"]:
        assert js["facilities"][field] == fac[field].tolist(), field
    assert js["facilities"]["town"] == fac["town"].tolist()
    for k in range(len(data.meta["zones"])):
        py = data.zones(k)
        assert [LEVEL_KEYS[c] for c in js["zones"][k]["level"]] == py["level"].tolist()
        for prop in data.meta["zones"][k]["props"]:
            assert js["zones"][k][prop] == py[prop].tolist(), (k, prop)
        for f in range(len(py)):
            rings = [np.array(r) / 1e6 for r in js["zones"][k]["rings"][f]]
            assert [r.tolist() for r in rings] == [r.tolist() for r in data.rings(k, f)], (k, f)
    # The boxes the page computes (hit tests, buckets) hold every zone's exact outline.
    bbox = np.array(js["zones"][0]["bbox"]).reshape(-1, 4) / 1e6
    exact = shapely.bounds(zones["village"].to_crs(4326).geometry.to_numpy())
    assert (bbox[:, :2] <= exact[:, :2] + 1e-6).all() and (bbox[:, 2:] >= exact[:, 2:] - 1e-6).all()
