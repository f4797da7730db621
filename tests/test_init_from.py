"""``riskmap init DIR --from …``: a project file from an office's own files that runs with no edit."""

from __future__ import annotations

import tomllib
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from openpyxl import Workbook
from test_office_files import office  # noqa: F401  (the fixture: an office's files and a hand-written project)
from typer.testing import CliRunner

import riskmap
from riskmap._resources import demo_dir
from riskmap.cli import app
from riskmap.io.crs import wgs84_to_bd09, wgs84_to_gcj02
from riskmap.pipeline import check
from riskmap.starter import READINGS, detect_system, start_project, write_project

runner = CliRunner()

DEMO_TABLES = {
    "inventory": "chemical_inventory.csv",
    "risk_points": "risk_points.csv",
    "deductions": "deductions.csv",
    "hidden_dangers": "hidden_dangers.csv",
    "accidents": "accidents.csv",
    "standardisation": "standardisation.csv",
    "sensitive_sites": "sensitive_sites.csv",
    "population": "population.tif",
}


def _levels(project: Path) -> tuple[pd.Series, dict[str, pd.Series]]:
    result = check(riskmap.load_config(project))
    facilities = result.facilities.set_index("facility_id")["level"].sort_index()
    zones = {k: z.set_index("zone_code")["level"].sort_index() for k, z in result.zones.items()}
    return facilities, zones


def _same_levels(written: Path, by_hand: Path) -> None:
    got_f, got_z = _levels(written)
    want_f, want_z = _levels(by_hand)
    pd.testing.assert_series_equal(got_f, want_f)
    assert got_z.keys() == want_z.keys()
    for kind in want_z:
        pd.testing.assert_series_equal(got_z[kind], want_z[kind])


def _init(*args: str) -> object:
    result = runner.invoke(app, ["init", *args])
    assert result.exit_code == 0, result.output
    return result


def test_office_files_end_to_end(office, tmp_path):  # noqa: F811
    """The office's XLSX (title row, second sheet), GCJ-02 GeoJSON and CSV with a title line: run, same levels."""
    d, _ = office
    project = tmp_path / "p"
    out = _init(
        str(project),
        "--from", str(d / "名录.xlsx"),
        "--zones", str(d / "village.geojson"),
        "--zones", str(d / "town.geojson"),
        "--table", f"risk_points={d / '风险点.csv'}",
    )
    text = (project / "riskmap.toml").read_text(encoding="utf-8")
    assert 'crs = "GCJ-02"' in text, text
    assert 'layer = "企业名录"' in text
    assert '"涉爆粉尘"' in text
    _same_levels(project / "riskmap.toml", d / "riskmap.toml")
    assert "企业编号" in out.output
    run = runner.invoke(app, ["run", str(project / "riskmap.toml"), "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
