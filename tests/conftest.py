"""A tiny synthetic district built in code: 2 towns x 2 villages, a handful of facilities of every level."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from ci_skips import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401 - CI: a skip fails
from rasterio.transform import from_origin
from shapely.geometry import box

# The suite speaks as a Chinese office's machine does, whatever the developer's locale: messages and outputs
# in Chinese unless a test asks for English (--lang en, lang = "en"). LANGUAGE is read by gettext only.
for _var in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_var, None)
os.environ["LANGUAGE"] = "zh"

# Four 0.02° squares near 119.6 E, 32.2 N: villages 001/002 in town 001, 003/004 in town 002.
X0, Y0, D = 119.60, 32.20, 0.02
VILLAGES = [
    ("329901001001", "东村", box(X0, Y0, X0 + D, Y0 + D)),
    ("329901001002", "西村", box(X0 + D, Y0, X0 + 2 * D, Y0 + D)),
    ("329901002001", "南村", box(X0, Y0 + D, X0 + D, Y0 + 2 * D)),
    ("329901002002", "北村", box(X0 + D, Y0 + D, X0 + 2 * D, Y0 + 2 * D)),
]
TOWNS = [
    ("329901001000", "甲镇", box(X0, Y0, X0 + 2 * D, Y0 + D)),
    ("329901002000", "乙镇", box(X0, Y0 + D, X0 + 2 * D, Y0 + 2 * D)),
]

# id, name, sector, lon, lat. Valid credit codes are made by credit_code() below.
FACILITIES = [
    ("A", "甲化工有限公司", "危险化学品", X0 + 0.005, Y0 + 0.005),  # SO2 200 t -> S=10, grade 3 (with α)
    ("B", "乙加油站", "燃气", X0 + 0.025, Y0 + 0.005),  # petrol + diesel: S<1, falls to LS
    ("C", "丙机械厂", "工贸", X0 + 0.035, Y0 + 0.015),  # LS 5x5 = 25 red
    ("D", "丁建筑工地", "建筑施工", X0 + 0.005, Y0 + 0.025),  # LS 4x4 = 16 orange
    ("E", "戊商场", "人员密集场所", X0 + 0.015, Y0 + 0.035),  # LS 2x2 = 4 blue
    ("F", "己工厂", "工贸", X0 + 0.035, Y0 + 0.035),  # LS 3x3 = 9 yellow
]


def credit_code(body17: str) -> str:
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(alphabet.index(c) * w for c, w in zip(body17, weights, strict=True))
    return body17 + alphabet[(31 - total % 31) % 31]


IDS = {key: credit_code(f"91329901MA{n:07d}") for n, key in enumerate("ABCDEFGH", start=1)}

CONFIG = """
[project]
name = "测试区"
district_code = "329901"

[facilities]
path = "facilities.csv"
crs = "EPSG:4490"

[inventory]
path = "inventory.csv"

[risk_points]
path = "risk_points.csv"

[[zones]]
kind = "village"
path = "boundaries.gpkg"
layer = "village"

[[zones]]
kind = "town"
path = "boundaries.gpkg"
layer = "town"

[population]
path = "population.tif"

[scoring.sectors]
"危险化学品" = ["gb18218", "ls_matrix"]
"燃气" = ["gb18218", "ls_matrix"]
"工贸" = ["ls_matrix"]
"建筑施工" = ["ls_matrix"]
"人员密集场所" = ["ls_matrix"]

[supervision]
year = 2027

[outputs]
figure_formats = ["png"]
"""


def write_boundaries(path: Path) -> None:
    v = gpd.GeoDataFrame(
        {"code": [c for c, _, _ in VILLAGES], "name": [n for _, n, _ in VILLAGES]},
        geometry=[g for _, _, g in VILLAGES],
        crs="EPSG:4490",
    )
    t = gpd.GeoDataFrame(
        {"code": [c for c, _, _ in TOWNS], "name": [n for _, n, _ in TOWNS]},
        geometry=[g for _, _, g in TOWNS],
        crs="EPSG:4490",
    )
    v.to_file(path, layer="village", driver="GPKG")
    t.to_file(path, layer="town", driver="GPKG")


def write_population(path: Path, persons_per_cell: float = 1.0) -> None:
    """A uniform population raster in CGCS2000 geographic coordinates, 0.001° cells over the district."""
    res = 0.001
    w = h = int(round(2 * D / res)) + 20
    data = np.full((h, w), persons_per_cell, dtype="float32")
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=1,
        dtype="float32",
        crs="EPSG:4490",
        transform=from_origin(X0 - 10 * res, Y0 + 2 * D + 10 * res, res, res),
        nodata=-9999,
    ) as dst:
        dst.write(data, 1)


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    """A complete small project directory; returns the path of its riskmap.toml."""
    fac = pd.DataFrame(
        [(IDS[k], n, s, f"{x:.6f}", f"{y:.6f}") for k, n, s, x, y in FACILITIES],
        columns=["facility_id", "name", "sector", "lon", "lat"],
    )
    fac.to_csv(tmp_path / "facilities.csv", index=False)
    pd.DataFrame(
        [
            (IDS["A"], "1#罐区", "二氧化硫", "200"),
            (IDS["B"], "油罐区", "汽油", "26.64"),
            (IDS["B"], "油罐区", "W5.4", "22.95"),
        ],
        columns=["facility_id", "unit_id", "substance", "quantity_t"],
    ).to_csv(tmp_path / "inventory.csv", index=False)
    pd.DataFrame(
        [
            (IDS["A"], "P1", "储罐区", 2, 3),
            (IDS["B"], "P2", "卸油区", 3, 3),
            (IDS["C"], "P3", "冲压车间", 5, 5),
            (IDS["C"], "P4", "配电室", 1, 2),
            (IDS["D"], "P5", "深基坑", 4, 4),
            (IDS["E"], "P6", "疏散通道", 2, 2),
            (IDS["F"], "P7", "粉尘区域", 3, 3),
        ],
        columns=["facility_id", "point_id", "point_name", "likelihood", "severity"],
    ).to_csv(tmp_path / "risk_points.csv", index=False)
    write_boundaries(tmp_path / "boundaries.gpkg")
    write_population(tmp_path / "population.tif")
    (tmp_path / "riskmap.toml").write_text(textwrap.dedent(CONFIG), encoding="utf-8")
    return tmp_path / "riskmap.toml"


@pytest.fixture(autouse=True)
def _cli_never_shows_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every CliRunner invocation in the suite: no exception escapes the CLI and no "Traceback" is printed.

    A test that means to check an internal error still gets exit status 70 and riskmap-crash.txt: those are
    the CLI's own handling, not an escaped exception.
    """
    from typer.testing import CliRunner

    invoke = CliRunner.invoke

    def checked(self, *args, **kwargs):
        result = invoke(self, *args, **kwargs)
        assert "Traceback" not in result.output, f"the CLI printed a traceback:\n{result.output}"
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(
                f"the CLI let {type(result.exception).__name__} escape: {result.exception}"
            ) from result.exception
        return result

    monkeypatch.setattr(CliRunner, "invoke", checked)
