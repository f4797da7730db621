from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from riskmap import __version__
from riskmap.cli import app

runner = CliRunner()


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output


def test_schema_is_json():
    r = runner.invoke(app, ["schema"])
    assert r.exit_code == 0
    assert "facilities" in json.loads(r.stdout)["properties"]


def test_run_prints_summary(tiny_project: Path, tmp_path: Path):
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "rows in 6 = scored 6 + rejected 0" in r.output
    assert (tmp_path / "o" / "riskmap.gpkg").exists()


def test_validate_ok_and_with_problems(tiny_project: Path):
    r = runner.invoke(app, ["validate", str(tiny_project)])
    assert r.exit_code == 0 and "no problems found" in r.output
    with open(tiny_project.parent / "facilities.csv", "a", encoding="utf-8") as f:
        f.write("X9,坏行,工贸,abc,32.2\n")
    r = runner.invoke(app, ["validate", str(tiny_project)])
    assert r.exit_code == 1
    assert "facilities.csv row 8, field \"lon\": 'abc'" in r.output and "not a number" in r.output


def test_config_error_is_one_line_without_traceback(tmp_path: Path):
    p = tmp_path / "riskmap.toml"
    p.write_text(
        '[facilities]\npath = "f.csv"\nsectr = "x"\n[[zones]]\nkind = "v"\npath = "z.gpkg"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "riskmap", "run", str(p)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 1
    assert "unknown key 'facilities.sectr'; did you mean 'sector'?" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_init_refuses_a_non_empty_directory(tmp_path: Path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "keep.txt").write_text("mine")
    r = runner.invoke(app, ["init", str(tmp_path / "proj")])
    assert r.exit_code == 1 and "is not empty" in r.output
    assert [p.name for p in (tmp_path / "proj").iterdir()] == ["keep.txt"]
