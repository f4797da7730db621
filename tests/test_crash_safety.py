"""A run killed while it writes leaves the previous outputs intact and valid; two runs give the same outputs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

import riskmap
from riskmap.cli import app

OUTPUTS = ["riskmap.gpkg", "map.html", "map.png", "inspection_plan.csv", "inspection_plan.xlsx", "run.json"]


def _snapshot(out: Path) -> dict[str, bytes]:
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def test_kill_during_write_keeps_previous_outputs(tmp_path: Path):
    proj = tmp_path / "proj"
    assert CliRunner().invoke(app, ["init", str(proj)]).exit_code == 0
    out = tmp_path / "out"
    riskmap.run(riskmap.load_config(proj / "riskmap.toml"), out)
    before = _snapshot(out)

    # Run again in a subprocess and kill it with SIGKILL as soon as a temporary output file appears.
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskmap", "run", str(proj / "riskmap.toml"), "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    killed_on = None
    while time.monotonic() < deadline and proc.poll() is None:
        temps = [p for p in out.glob(".*.tmp*") if p.is_file()]
        if temps:
            proc.send_signal(signal.SIGKILL)
            killed_on = temps[0].name
            break
        time.sleep(0.002)
    proc.wait(timeout=60)
    assert killed_on is not None, "the run finished before any output was being written; cannot test the kill"
    assert proc.returncode == -signal.SIGKILL

    after = _snapshot(out)
    assert after == before, f"killed while writing {killed_on}: a previous output changed"
    layers = dict(pyogrio.list_layers(out / "riskmap.gpkg"))
    assert (
        "facilities" in layers and len(pyogrio.read_dataframe(out / "riskmap.gpkg", layer="facilities")) > 0
    )
    json.loads((out / "run.json").read_text(encoding="utf-8"))

    # The next run clears the killed run's temporary files and replaces the outputs.
    riskmap.run(riskmap.load_config(proj / "riskmap.toml"), out)
    assert not [p for p in out.glob(".*.tmp*")]


def _gpkg_layers(path: Path) -> dict[str, pd.DataFrame]:
    frames = {}
    for name, _ in pyogrio.list_layers(path):
        df = pyogrio.read_dataframe(path, layer=name)
        if "update_time" in df.columns:  # layer_styles records when it was written
            df = df.drop(columns="update_time")
        if "geometry" in df.columns:
            df["geometry"] = df.geometry.to_wkb()
        frames[str(name)] = pd.DataFrame(df)
    return frames


def _xlsx_cells(path: Path) -> dict[str, list[tuple]]:
    wb = load_workbook(path)
    return {ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in wb.worksheets}


def test_same_inputs_give_the_same_outputs(tiny_project: Path, tmp_path: Path):
    config = riskmap.load_config(tiny_project)
    a, b = tmp_path / "a", tmp_path / "b"
    riskmap.run(config, a)
    riskmap.run(config, b)
    la, lb = _gpkg_layers(a / "riskmap.gpkg"), _gpkg_layers(b / "riskmap.gpkg")
    assert la.keys() == lb.keys()
    for name in la:
        pd.testing.assert_frame_equal(la[name], lb[name], obj=name)
    for name in ("inspection_plan.csv", "zones_village.csv", "zones_town.csv", "rejects.csv", "map.html"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert _xlsx_cells(a / "inspection_plan.xlsx") == _xlsx_cells(b / "inspection_plan.xlsx")
    ja, jb = (json.loads((d / "run.json").read_text(encoding="utf-8")) for d in (a, b))
    for doc in (ja, jb):
        doc["provenance"].pop("started"), doc["provenance"].pop("finished")
    assert ja == jb


@pytest.mark.parametrize("path", sorted(Path(riskmap.__file__).parent.rglob("*.py")), ids=lambda p: p.name)
def test_no_eval_or_exec_of_strings(path: Path):
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        n.func.id for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in {"eval", "exec", "compile"}
    ]  # fmt: skip
    assert calls == [], f"{path.name} calls {calls}: config is data, never code"
