"""A district office's own files, end to end (issue "Real district data as offices have it").

Zone boundaries downloaded for a web map (GeoJSON in GCJ-02, declaring WGS84), the enterprise register as an XLSX
with a title row on its second sheet, and a risk-point table as a CSV with a title line: every row accounted for,
no facility misplaced, the register's baseline levels on the map.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from openpyxl import Workbook
from published_shifts import to_published_gcj02

import riskmap
from riskmap._resources import demo_dir

N_FACILITIES = 240


@pytest.fixture(scope="module")
def office(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """The project folder, and the register with each enterprise's true village."""
    d = tmp_path_factory.mktemp("office")
    villages = gpd.read_file(demo_dir() / "boundaries.gpkg", layer="village")
    towns = gpd.read_file(demo_dir() / "boundaries.gpkg", layer="town")
    for kind, layer in (("village", villages), ("town", towns)):
        shifted = layer.set_geometry(layer.geometry.map(to_published_gcj02)).set_crs(
            "EPSG:4326", allow_override=True
        )
        shifted[["code", "name", "geometry"]].to_file(d / f"{kind}.geojson", driver="GeoJSON")

    # Enterprises near village borders (within 300 m), where a 500 m GCJ-02 shift would misplace them.
    rng = np.random.default_rng(7)
    utm = villages.estimate_utm_crs()
    borders = villages.to_crs(utm).boundary.union_all()
    inner = villages.to_crs(utm).buffer(-40)  # clear of the border itself: one true village each
    points, codes = [], []
    while len(points) < N_FACILITIES:
        i = int(rng.integers(len(villages)))
        minx, miny, maxx, maxy = inner.iloc[i].bounds
        p = shapely.Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
        if inner.iloc[i].contains(p) and p.distance(borders) < 300:
            points.append(p)
            codes.append(villages["code"].iloc[i])
    pts = gpd.GeoSeries(points, crs=utm).to_crs("EPSG:4490")
    sectors = np.where(np.arange(N_FACILITIES) % 3 == 0, "危险化学品", "工贸")
    register = pd.DataFrame(
        {
            "企业编号": [f"QY{n:05d}" for n in range(N_FACILITIES)],
            "企业名称": [f"企业{n}" for n in range(N_FACILITIES)],
            "行业类别": sectors,
            "经度": pts.x.round(7),
            "纬度": pts.y.round(7),
            "涉爆粉尘": np.where(np.arange(N_FACILITIES) % 5 == 1, "是", "否"),
            "village": codes,
        }
    )
    wb = Workbook()
    notes = wb.active
    notes.title = "填表说明"
    notes.append(["本表由区应急管理局汇总，坐标为 CGCS2000。"])
    sheet = wb.create_sheet("企业名录")
    sheet.append(["滨江区工贸和危化企业名录（2026年）"])
    cols = ["企业编号", "企业名称", "行业类别", "经度", "纬度", "涉爆粉尘"]
    sheet.append(cols)
    for row in register[cols].itertuples(index=False):
        sheet.append(list(row))
    sheet.append(["QY99999", "无坐标企业", "工贸", None, None, "否"])  # rejected: no coordinates
    wb.save(d / "名录.xlsx")

    # Risk points for a few 工贸 enterprises, exported with a title line above the header.
    some = register[register["行业类别"] == "工贸"].head(6)
    lines = ["风险点清单（2026年第四季度）", "facility_id,point_id,point_name,likelihood,severity"]
    lines += [f"{fid},RP{k},行车,5,5" for k, fid in enumerate(some["企业编号"])]
    (d / "风险点.csv").write_text("\n".join(lines) + "\n", encoding="gbk")

    (d / "riskmap.toml").write_text(
        """
[project]
name = "名录测试"
district_code = "329901"

[facilities]
path = "名录.xlsx"
layer = "企业名录"
id = "企业编号"
name = "企业名称"
sector = "行业类别"
x = "经度"
y = "纬度"
crs = "EPSG:4490"

[risk_points]
path = "风险点.csv"

[[zones]]
kind = "village"
path = "village.geojson"
crs = "GCJ-02"

[[zones]]
kind = "town"
path = "town.geojson"
crs = "GCJ-02"

[scoring.sectors]
"危险化学品" = ["baseline"]
"工贸" = ["baseline", "ls_matrix"]

[methods.baseline]
levels = { "危险化学品" = "orange", "工贸" = "blue" }

[[methods.baseline.rules]]
when = { column = "涉爆粉尘", equals = "是" }
level = "yellow"

[outputs]
html = false
figure = false
""",
        encoding="utf-8",
    )
    return d, register


@pytest.fixture(scope="module")
def result(office):
    d, _ = office
    return riskmap.run(riskmap.load_config(d / "riskmap.toml"), d / "out")


def test_every_row_accounted(result, office):
    _, register = office
    s = result.summary
    assert s["facilities_in"] == len(register) + 1
    assert s["facilities_scored"] == len(register), result.rejects.to_string()
    assert (
        s["facilities_scored"] + s["facilities_unassessed"] + s["facilities_rejected"] == s["facilities_in"]
    )
    assert (result.rejects["reason"].str.contains("empty")).sum() == 1


def test_none_misplaced(result, office):
    """The GCJ-02 boundaries are converted back: every enterprise lands in its true village."""
    _, register = office
    got = result.facilities.set_index("facility_id")["village_code"]
    want = register.set_index("企业编号")["village"]
    wrong = (got.reindex(want.index) != want).sum()
    assert wrong == 0, f"{wrong} of {len(want)} enterprises in the wrong village"


def test_baseline_levels_on_the_map(result, office):
    d, register = office
    fac = pyogrio.read_dataframe(d / "out" / "riskmap.gpkg", layer="facilities").set_index("facility_id")
    want = np.where(register["行业类别"] == "危险化学品", "orange", "blue")
    want = np.where((register["行业类别"] == "工贸") & (register["涉爆粉尘"] == "是"), "yellow", want)
    want = pd.Series(want, index=register["企业编号"])
    # Six 工贸 enterprises have an LS risk point of 5 x 5 = 25: red, above their baseline.
    red = [f for f in register.loc[register["行业类别"] == "工贸", "企业编号"].head(6)]
    want[red] = "red"
    assert (fac["level"].reindex(want.index) == want).all()
    assert fac.loc[red[0], "reasons"].count("；") >= 1  # both methods' reasons are kept


def test_run_json_counts(office, result):
    d, _ = office
    doc = json.loads((d / "out" / "run.json").read_text(encoding="utf-8"))
    assert doc["summary"]["facilities_scored"] == result.summary["facilities_scored"]
