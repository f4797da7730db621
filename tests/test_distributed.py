"""The dask engine gives the same facilities, levels, reasons and rejects as the in-memory engine.

Both run in the one stage chain (:func:`riskmap.stages.run_stages`), up to the grades, with the engine given.

Also: facilities given as GeoParquet run end to end, and `riskmap run --engine dask --scheduler ADDRESS` writes
the same files as the in-memory engine. The 100,000-facility comparison takes about 15 s on two cores.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import riskmap
from riskmap import pipeline
from riskmap.config import load_config
from riskmap.engines import open_engine
from riskmap.io.project import ProjectInputs, read_inputs, required_tables
from riskmap.io.tables import ROW
from riskmap.stages import Pass, run_stages

REPO = Path(__file__).resolve().parents[1]


def _bench_module():
    spec = importlib.util.spec_from_file_location("make_bench_data", REPO / "scripts" / "make_bench_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_bench_data"] = module
    spec.loader.exec_module(module)
    return module


def _graded(config, project: ProjectInputs, **engine) -> Pass:
    """The stage chain up to the grades, in the engine ``open_engine(**engine)`` opens (default: memory)."""
    with open_engine(config, project.source, **engine) as opened:
        return run_stages(config, Pass(project), until="score", engine=opened)


def _assert_same(mem: Pass, dsk: Pass) -> None:
    a, b = pd.DataFrame(mem.graded.facilities), pd.DataFrame(dsk.graded.facilities)
    assert sorted(a.columns) == sorted(b.columns)
    pd.testing.assert_frame_equal(a, b[a.columns])
    assert (a["level"] != "none").all()
    pd.testing.assert_frame_equal(mem.rejects.table(), dsk.rejects.table(), check_dtype=False)
    assert sorted(mem.validated.located.known_ids) == sorted(dsk.validated.located.known_ids)
    assert mem.warnings == dsk.warnings
    for kind in mem.validated.located.zones:
        pd.testing.assert_frame_equal(mem.validated.located.zones[kind], dsk.validated.located.zones[kind])


def test_dask_engine_matches_memory_on_demo():
    pytest.importorskip("distributed")
    config = load_config(riskmap.demo_dir() / "riskmap.toml")
    mem = _graded(config, read_inputs(config))
    dsk = _graded(config, read_inputs(config), engine="dask", npartitions=4)
    _assert_same(mem, dsk)
    # The engine's levels before adjustment are the pipeline's (level_method), facility by facility.
    checked = pipeline.check(config).facilities.set_index("facility_id")
    got = dsk.graded.facilities.set_index("facility_id")
    assert checked["level_method"].equals(got.loc[checked.index, "level"].rename("level_method"))


def _synthetic(n: int, n_villages: int, tmp_path: Path):
    bench = _bench_module()
    villages, towns = bench.make_zones(n_villages)
    rng = np.random.default_rng(20261124 + n)
    fac, _, _ = bench.make_facilities(n, villages, rng)
    tables = bench.make_tables(fac, rng)
    text = bench.CONFIG.format(
        n=n,
        v=n_villages,
        size="test",
        facilities="facilities.csv",
        facility_cols='crs = "EPSG:4490"\n',
        village="boundaries.gpkg",
        village_layer='layer = "village"\n',
        town="boundaries.gpkg",
        town_layer='layer = "town"\n',
        outdir="out",
    )
    (tmp_path / "riskmap.toml").write_text(text, encoding="utf-8")
    config = load_config(tmp_path / "riskmap.toml")

    def as_read(df: pd.DataFrame) -> pd.DataFrame:  # what read_table returns: text and the Excel row number
        out = df.astype(str)
        out.insert(0, ROW, range(2, len(out) + 2))
        return out

    names = {"inventory": "chemical_inventory", "risk_points": "risk_points", "deductions": "deductions"}
    related = {t: as_read(tables[names[t]]) for t in required_tables(config)}
    zones = {}
    for kind, layer in (("village", villages), ("town", towns)):
        z = layer.rename(columns={"code": "zone_code", "name": "zone_name"})
        zones[kind] = z.sort_values("zone_code").reset_index(drop=True)
    return config, as_read(fac), zones, related


@pytest.mark.parametrize(
    "n, n_villages",
    [
        (20_000, 2_500),
        (100_000, 40_000),
    ],
)
def test_dask_engine_matches_memory_on_synthetic(n, n_villages, tmp_path):
    pytest.importorskip("distributed")
    config, raw, zones, tables = _synthetic(n, n_villages, tmp_path)

    def project() -> (
        ProjectInputs
    ):  # the inputs as read_inputs gives them, one set per pass (a pass takes them)
        return ProjectInputs(raw, "facilities.csv", dict(zones), dict(tables), n_facilities=len(raw))

    mem = _graded(config, project())
    dsk = _graded(config, project(), engine="dask", npartitions=3)
    _assert_same(mem, dsk)
    # The synthetic register has bad rows of every kind: all are accounted for, none silently.
    fac_rejects = int((dsk.rejects.table()["source"] == "facilities.csv").sum())
    assert len(dsk.graded.facilities) + fac_rejects == n
    assert fac_rejects >= 5 * (n // 1000)


def test_unknown_engine(tiny_project):
    config = load_config(tiny_project)
    with pytest.raises(ValueError, match="unknown engine 'spark'"):
        _graded(config, read_inputs(config), engine="spark")


def test_geoparquet_facilities_end_to_end(tiny_project, tmp_path):
    pytest.importorskip("pyarrow")
    csv = pd.read_csv(tiny_project.parent / "facilities.csv", dtype=str)
    gdf = gpd.GeoDataFrame(
        csv.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(csv["lon"].astype(float), csv["lat"].astype(float)),
        crs="EPSG:4490",
    )
    gdf.to_parquet(tiny_project.parent / "facilities.parquet")
    for layer in ("village", "town"):
        gpd.read_file(tiny_project.parent / "boundaries.gpkg", layer=layer).to_parquet(
            tiny_project.parent / f"{layer}.parquet"
        )
    text = tiny_project.read_text(encoding="utf-8")
    parquet = (
        text.replace('path = "facilities.csv"', 'path = "facilities.parquet"')
        .replace('path = "boundaries.gpkg"\nlayer = "village"', 'path = "village.parquet"')
        .replace('path = "boundaries.gpkg"\nlayer = "town"', 'path = "town.parquet"')
    )
    assert parquet.count(".parquet") == 3
    (tiny_project.parent / "parquet.toml").write_text(parquet, encoding="utf-8")
    from_csv = pipeline.run(load_config(tiny_project), out_dir=tmp_path / "csv")
    from_parquet = pipeline.run(load_config(tiny_project.parent / "parquet.toml"), out_dir=tmp_path / "pq")
    a = from_csv.facilities.set_index("facility_id")
    b = from_parquet.facilities.set_index("facility_id")
    assert len(b) == len(gdf) - int((from_parquet.rejects["source"] == "facilities.parquet").sum())
    assert b["level"].equals(a.loc[b.index, "level"])
    assert b["reasons"].equals(a.loc[b.index, "reasons"])
    assert (tmp_path / "pq" / "riskmap.gpkg").exists()


def test_cli_engine_dask_writes_the_same_outputs(tmp_path):
    """`riskmap run --engine dask --scheduler ADDRESS` on the demo: the same files as the in-memory engine."""
    pytest.importorskip("distributed")
    import json

    import pyogrio
    from distributed import LocalCluster
    from typer.testing import CliRunner

    from riskmap.cli import app

    project = str(riskmap.demo_dir() / "riskmap.toml")
    runner = CliRunner()
    common = ["--as-of", "2026-11-24"]
    r = runner.invoke(app, ["run", project, "-o", str(tmp_path / "mem"), *common])
    assert r.exit_code == 0, r.output
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        r = runner.invoke(
            app,
            ["run", project, "-o", str(tmp_path / "dask"), "--engine", "dask", "--scheduler",
             cluster.scheduler_address, *common],
        )  # fmt: skip
        assert r.exit_code == 0, r.output
    for name in ("inspection_plan.csv", "zones_village.csv", "zones_town.csv", "rejects.csv"):
        assert (tmp_path / "mem" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name
    for layer in ("facilities", "zones_village", "zones_town", "inspection_plan", "rejects"):
        a = pyogrio.read_dataframe(tmp_path / "mem" / "riskmap.gpkg", layer=layer)
        b = pyogrio.read_dataframe(tmp_path / "dask" / "riskmap.gpkg", layer=layer)
        pd.testing.assert_frame_equal(a, b)
    runs = [json.loads((tmp_path / d / "run.json").read_text(encoding="utf-8")) for d in ("mem", "dask")]
    assert [r["provenance"]["engine"] for r in runs] == ["memory", "dask"]
    assert runs[0]["summary"] == runs[1]["summary"]


def test_scheduler_needs_the_dask_engine(tiny_project):
    from typer.testing import CliRunner

    from riskmap.cli import app

    r = CliRunner().invoke(app, ["run", str(tiny_project), "--scheduler", "tcp://127.0.0.1:8786"])
    assert r.exit_code != 0
    assert "--scheduler 须与 --engine dask" in r.output


def test_unreachable_scheduler_is_a_clear_error(tiny_project):
    """No traceback when the scheduler address is wrong (a refused connection is said at once)."""
    pytest.importorskip("distributed")
    from typer.testing import CliRunner

    from riskmap.cli import app

    r = CliRunner().invoke(
        app, ["validate", str(tiny_project), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:1"]
    )
    assert r.exit_code == 1
    assert "无法连接 tcp://127.0.0.1:1 上的 dask 调度器" in r.output
    assert "Traceback" not in r.output


class _SilentServer:
    """A TCP server that accepts every connection and never says a word (a wrong or hung scheduler address)."""

    def __init__(self) -> None:
        import socket
        import threading

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = f"tcp://127.0.0.1:{self.sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        for c in self.accepted:
            c.close()
        self.sock.close()


def test_a_scheduler_that_never_answers_times_out():
    """distributed's Client waits for the handshake without a timeout; riskmap does not."""
    import threading

    import dask
    import distributed  # noqa: F401 - its config defaults loaded before dask.config.set (which would drop them)

    from riskmap.engines.dask import dask_client
    from riskmap.errors import ConfigError

    server = _SilentServer()
    outcome: list[BaseException | str] = []

    def connect() -> None:
        try:
            with dask.config.set({"distributed.comm.timeouts.connect": "2s"}), dask_client(server.address):
                outcome.append("connected")
        except BaseException as err:  # noqa: BLE001 - checked below
            outcome.append(err)

    worker = threading.Thread(target=connect, daemon=True)
    worker.start()
    worker.join(timeout=60)
    try:
        assert not worker.is_alive(), "still waiting for the scheduler after 60 s"
        assert len(outcome) == 1 and isinstance(outcome[0], ConfigError), outcome
        assert re.search(
            rf"{server.address} 上的 dask 调度器接受了连接，但 2 秒内没有应答",
            str(outcome[0]),
        )
        assert server.accepted  # it did reach the server
    finally:
        server.close()


def test_a_silent_scheduler_through_the_cli_is_one_error_line(tiny_project):
    import os
    import subprocess

    server = _SilentServer()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "riskmap", "validate", str(tiny_project), "--engine", "dask",
             "--scheduler", server.address],
            capture_output=True, text=True, timeout=120,
            env={**os.environ, "PYTHONPATH": str(REPO), "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"},
        )  # fmt: skip
    finally:
        server.close()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out
    errors = [ln for ln in out.splitlines() if ln.startswith("错误：")]
    assert len(errors) == 1 and "2 秒内没有应答" in errors[0], out
    assert "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT" in " ".join(out.split())


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_the_local_cluster_listens_on_localhost_only(processes):
    """The scheduler, the workers and every HTTP server (dashboard included) of the local cluster: 127.0.0.1."""
    import ipaddress

    import psutil

    from riskmap.engines.dask import dask_client

    with dask_client(processes=processes) as client:
        client.submit(sum, [1, 2]).result()
        me = psutil.Process()
        listening = [
            (p.pid, c.laddr.ip, c.laddr.port)
            for p in [me, *me.children(recursive=True)]
            for c in p.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        addresses = [client.scheduler.address, *client.scheduler_info()["workers"]]
    assert listening, "the local cluster has an HTTP server at least"
    assert all(ipaddress.ip_address(ip).is_loopback for _, ip, _ in listening), listening
    assert all(a.startswith(("inproc://", "tcp://127.0.0.1:")) for a in addresses), addresses


def test_a_scheduler_without_workers_is_a_clear_error():
    """A scheduler is up but no worker joined it: the run would wait forever for its first result."""
    import dask
    from distributed import LocalCluster

    from riskmap.engines.dask import dask_client
    from riskmap.errors import ConfigError

    with (
        LocalCluster(
            n_workers=0, processes=False, protocol="tcp://", host="127.0.0.1", dashboard_address=None
        ) as c,
        dask.config.set({"distributed.comm.timeouts.connect": "2s"}),
        pytest.raises(
            ConfigError, match=r"tcp://127\.0\.0\.1:\d+ 上的 dask 调度器没有工作进程（2 秒内无一加入）"
        ),
        dask_client(c.scheduler_address),
    ):
        pass


def _both_engines(project: Path) -> tuple[Pass, Pass]:
    config = load_config(project)
    return _graded(config, read_inputs(config)), _graded(
        config, read_inputs(config), engine="dask", npartitions=3
    )


def test_dask_engine_places_and_swaps_as_memory(tiny_project):
    """Placement by the zone column, swapped coordinates read back, rows no zone places: the same in both."""
    pytest.importorskip("distributed")
    from test_placement import _with_village_column

    _with_village_column(
        tiny_project,
        C={"lon": "", "lat": ""},
        F={"lon": "待补"},
        D={"lon": "", "所属村": "北材"},
        E={"lon": "32.235", "lat": "119.615"},
    )
    mem, dsk = _both_engines(tiny_project)
    _assert_same(mem, dsk)
    assert (mem.graded.facilities["zone_assignment"] == "placed by 所属村").sum() == 2
    assert any(w.startswith("2 家企业没有可用坐标，已按 所属村 落位") for w in dsk.warnings)
    assert any(w.startswith("1 行企业的经度和纬度填反了") for w in dsk.warnings)
    assert "北材" in " ".join(dsk.rejects.table()["reason"])


def test_dask_engine_finds_a_mixed_register_as_memory(tiny_project):
    """The shift check's evidence is counted per partition and judged once: the same warning as in memory."""
    pytest.importorskip("distributed")
    from test_shifted_layers import _east_edge_rows

    _east_edge_rows(tiny_project, ["GCJ-02", "BD-09"] * 6)
    mem, dsk = _both_engines(tiny_project)
    assert any(
        w.startswith("6 行按 GCJ-02 读取时与其所在村（社区）区域更吻合，6 行按 BD-09") for w in mem.warnings
    )
    _assert_same(mem, dsk)


def test_dask_engine_checks_the_zone_column_as_memory(tiny_project):
    """Rows in another village than their 所属村 names, and in their own only in another system: one warning."""
    pytest.importorskip("distributed")
    from test_shifted_layers import _written_wrong

    _written_wrong(tiny_project)
    mem, dsk = _both_engines(tiny_project)
    assert any(w.startswith("4 行按 GCJ-02 读取时与其所在村（社区）区域更吻合") for w in mem.warnings)
    _assert_same(mem, dsk)
