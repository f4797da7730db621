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
from ci_skips import MACHINE_LIMIT
from conftest import IDS
from openpyxl import load_workbook
from typer.testing import CliRunner

import riskmap
from riskmap.cli import app
from riskmap.outputs.runfolder import LOCK_NAME, STAGING_PREFIX, sha256


def _files(out: Path) -> dict[str, bytes]:
    """Every file in ``out`` but riskmap's own leftovers of a killed run (its staging folder and lock)."""
    return {
        p.relative_to(out).as_posix(): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.relative_to(out).parts[0].startswith((STAGING_PREFIX, LOCK_NAME))
    }


def _assert_manifest_describes(out: Path, users: tuple[str, ...] = ()) -> dict:
    """run.json's manifest names every file beside it but the user's, each with its current SHA-256 and size."""
    doc = json.loads((out / "run.json").read_text(encoding="utf-8"))
    on_disk = {name for name in _files(out) if name != "run.json" and name not in users}
    assert set(doc["manifest"]) == on_disk
    for name, entry in doc["manifest"].items():
        assert entry == {"sha256": sha256(out / name), "size": (out / name).stat().st_size}, name
    return doc


USERS = (".minutes.tmp.docx",)


def _worsen_one_facility(project: Path) -> None:
    """Change the inputs so that the next run's outputs differ from the previous set."""
    rp = project.parent / "risk_points.csv"
    rp.write_text(
        rp.read_text(encoding="utf-8").replace("P7,粉尘区域,3,3", "P7,粉尘区域,5,5"), encoding="utf-8"
    )


def _start_run(project: Path, out: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "riskmap", "run", str(project), "--out", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
    )  # fmt: skip


def _staged_count(out: Path) -> int:
    return sum(1 for d in out.glob(f"{STAGING_PREFIX}*") for p in d.rglob("*") if p.is_file())


def _wait_for(what, proc: subprocess.Popen, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if what():
            return True
        time.sleep(0.002)
    return False


@pytest.mark.parametrize("point", ["1 file staged", "4 files staged", "staged", "moved-3"])
def test_kill_during_write_keeps_one_output_set(tiny_project: Path, tmp_path: Path, point: str):
    """SIGKILL at several moments of the write stage: the folder holds the previous set, described by run.json.

    Killed while files are being staged (or when all are staged), every previous file is byte-identical; killed
    in the middle of the moves (milliseconds in real life), every file beside run.json is still known to it.
    The next run cleans up and writes the new set without --force.
    """
    out = tmp_path / "out"
    out.mkdir()
    (out / USERS[0]).write_bytes(b"the user's")  # riskmap once cleaned every .*.tmp* file
    riskmap.run(riskmap.load_config(tiny_project), out)
    before = _files(out)
    previous = _assert_manifest_describes(out, USERS)
    _worsen_one_facility(tiny_project)

    hold = tmp_path / "hold"
    if point.endswith("files staged") or point.endswith("file staged"):
        k = int(point.split()[0])
        proc = _start_run(tiny_project, out)
        reached = _wait_for(lambda: _staged_count(out) >= k, proc)
    else:
        hold.write_text("")
        proc = _start_run(tiny_project, out, RISKMAP_TEST_HOLD_AT=point, RISKMAP_TEST_HOLD_FILE=str(hold))
        reached = _wait_for(lambda: Path(f"{hold}.reached").exists(), proc)
    assert reached, f"the run ended before {point}: {proc.stderr.read().decode() if proc.stderr else ''}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    after = _files(out)
    assert set(after) == set(before)
    doc = json.loads((out / "run.json").read_text(encoding="utf-8"))
    if point != "moved-3":
        assert {k: v for k, v in after.items() if k != "run.json"} == {
            k: v for k, v in before.items() if k != "run.json"
        }, f"killed at {point}: a previous output changed"
        assert doc["manifest"] == previous["manifest"] and doc["summary"] == previous["summary"]
        _assert_manifest_describes(out, USERS)
    else:  # three files are new, the others old: each is named with its hash by the manifest or "replacing"
        changed = [k for k in after if k != "run.json" and after[k] != before[k]]
        assert len(changed) == 3
        for name in after:
            if name != "run.json" and name not in USERS:
                known = {doc["manifest"][name]["sha256"], doc["replacing"][name]["sha256"]}
                assert sha256(out / name) in known, name
    layers = dict(pyogrio.list_layers(out / "riskmap.gpkg"))
    assert "facilities" in layers

    # The next run clears the killed run's staging folder and lock, and replaces the whole set.
    result = riskmap.run(riskmap.load_config(tiny_project), out)
    assert not list(out.glob(".riskmap-*"))
    new = _assert_manifest_describes(out, USERS)
    assert "replacing" not in new
    assert (out / USERS[0]).read_bytes() == b"the user's"
    assert result.facilities.set_index("facility_id").loc[IDS["F"], "level"] == "red"  # was yellow
    assert _files(out)["inspection_plan.csv"] != before["inspection_plan.csv"]


def test_a_second_run_stops_while_one_writes(tiny_project: Path, tmp_path: Path):
    out, hold = tmp_path / "out", tmp_path / "hold"
    hold.write_text("")
    proc = _start_run(tiny_project, out, RISKMAP_TEST_HOLD_AT="staged", RISKMAP_TEST_HOLD_FILE=str(hold))
    try:
        assert _wait_for(lambda: Path(f"{hold}.reached").exists(), proc), (
            "the first run never reached its moves"
        )
        r = CliRunner().invoke(app, ["run", str(tiny_project), "--out", str(out)])
        assert r.exit_code == 1
        assert f"另一个 riskmap 运行正在此写入（pid {proc.pid}）" in r.output
        assert len(r.output.strip().splitlines()) == 1
    finally:
        hold.unlink()
        proc.wait(timeout=120)
    assert proc.returncode == 0
    _assert_manifest_describes(out)
    assert not (out / LOCK_NAME).exists()


def test_a_dead_runs_lock_is_taken_over(tiny_project: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / LOCK_NAME).write_text(f"{dead.pid}\n")
    (out / f"{STAGING_PREFIX}{dead.pid}-0000").mkdir()
    (out / f"{STAGING_PREFIX}{dead.pid}-0000" / "riskmap.gpkg").write_bytes(b"half")
    riskmap.run(riskmap.load_config(tiny_project), out)
    assert not list(out.glob(".riskmap-*"))
    _assert_manifest_describes(out)
    # A lock half-written by a run killed at once (no pid in it) holds nobody either.
    (out / LOCK_NAME).write_text("")
    riskmap.run(riskmap.load_config(tiny_project), out)
    assert not (out / LOCK_NAME).exists()


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
        for stamped in ("riskmap.gpkg", "inspection_plan.xlsx"):  # they record when they were written
            doc["manifest"].pop(stamped)
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


# --------------------------------------------------------------------------------------------------------------
# A full disk is one error line, and the previous set stays whole (issue 23). A real full disk: a small tmpfs.


@pytest.fixture
def small_disk(tmp_path: Path):
    """``small_disk("300k")``: a folder on a tmpfs of that size (mounting needs root; skipped otherwise)."""
    mounted: list[Path] = []

    def make(size: str, options: str = "") -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}{options}", "tmpfs", str(folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"{MACHINE_LIMIT}cannot mount a tmpfs: {done.stderr.strip()}")
        mounted.append(folder)
        return folder

    yield make
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=False)


def _riskmap(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "riskmap", *args],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "300", **env},
    )  # fmt: skip


@pytest.mark.parametrize(("size", "full_at"), [("100k", "riskmap.gpkg"), ("300k", "map.html")])
def test_a_full_disk_is_one_error_line(tiny_project: Path, small_disk, size: str, full_at: str):
    """GDAL said "sqlite3_exec(ROLLBACK) failed" and the HTML writer "[Errno 28]": internal errors, exit 70."""
    out = small_disk(size) / "out"
    proc = _riskmap("run", str(tiny_project), "--out", str(out))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"错误：{out / full_at}：无法写入：磁盘已满（剩余 0.0 MB）；请清理 {out} 所在磁盘的空间，或另选 --out"
    ]
    assert list(out.iterdir()) == []  # no staging folder, no crash file


def test_a_full_disk_keeps_the_previous_set(tiny_project: Path, small_disk):
    out = small_disk("900k") / "out"
    assert _riskmap("run", str(tiny_project), "--out", str(out)).returncode == 0
    before = _files(out)
    _worsen_one_facility(tiny_project)
    proc = _riskmap("run", str(tiny_project), "--out", str(out))
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "无法写入：磁盘已满" in proc.stderr
    assert _files(out) == before
    _assert_manifest_describes(out)


_XLSX_ON_A_FULL_DISK = """
import pandas as pd
from riskmap.errors import OutputError
from riskmap.outputs.tables import write_xlsx

plan = pd.DataFrame({"facility_id": range(5000), "name": [f"企业{i}" for i in range(5000)]})
try:
    write_xlsx({f"sheet{i}": plan for i in range(14)}, TARGET)
except OutputError as err:
    print(err)
"""


@pytest.mark.parametrize("full", ["output folder", "temporary folder"])
def test_a_full_disk_under_the_xlsx_writer_prints_nothing_else(small_disk, full: str):
    """openpyxl's half-written streams and zip archive printed "Exception ignored ... Traceback" when freed."""
    disk = small_disk("64k")
    (disk / "tmp").mkdir()
    env = {
        **os.environ,
        "TMPDIR": str(disk / "tmp") if full == "temporary folder" else os.environ.get("TMPDIR", "/tmp"),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _XLSX_ON_A_FULL_DISK.replace("TARGET", repr(str(disk / "plan.xlsx")))],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    says = (
        f"{disk / 'plan.xlsx'}：无法写入：磁盘已满"
        if full == "output folder"
        else f"{disk / 'plan.xlsx'}: cannot write: the temporary folder {disk / 'tmp'} is full"
    )
    assert proc.stdout.startswith(says), proc.stdout
    assert sorted(p.name for p in disk.rglob("*")) == ["tmp"]  # no temporary file left


def test_a_read_only_disk_is_said_before_grading(tiny_project: Path, small_disk):
    disk = small_disk("1m", ",ro")
    proc = _riskmap("run", str(tiny_project), "--out", str(disk / "out"))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"错误：{disk / 'out'}：无法在 {disk} 中写入（权限不足或磁盘只读）；请另选 --out"
    ]


@pytest.mark.parametrize("args", [["schema"], ["report", "--help"]], ids=" ".join)
def test_a_reader_that_goes_away_is_not_a_crash(tmp_path: Path, args: list[str]):
    """``riskmap schema | head``: the reader closes the pipe; riskmap stops quietly, with no crash file."""
    r_fd, w_fd = os.pipe()
    os.close(r_fd)  # nobody reads: the first write is a broken pipe
    cmd = [sys.executable, "-m", "riskmap", *args]
    done = subprocess.run(cmd, stdout=w_fd, stderr=subprocess.PIPE, cwd=tmp_path, text=True, timeout=120)
    os.close(w_fd)
    assert done.returncode == 1, done.stderr
    assert "内部错误" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "riskmap-crash.txt").exists()
