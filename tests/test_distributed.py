"""The dask engine gives the same facilities, levels, reasons and rejects as the in-memory engine.

Also: facilities given as GeoParquet run end to end, and `riskmap run --engine dask --scheduler ADDRESS` writes
the same files as the in-memory engine. The 100,000-facility comparison takes about 15 s on two cores.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

import riskmap
from riskmap import pipeline
from riskmap.config import load_config
from riskmap.engines import EngineResult, run_stages
from riskmap.io.project import read_inputs, required_tables
from riskmap.io.tables import ROW

REPO = Path(__file__).resolve().parents[1]


def _bench_module():
    spec = importlib.util.spec_from_file_location("make_bench_data", REPO / "scripts" / "make_bench_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_bench_data"] = module
    spec.loader.exec_module(module)
    return module


def _assert_same(mem: EngineResult, dsk: EngineResult) -> None:
    a, b = pd.DataFrame(mem.facilities), pd.DataFrame(dsk.facilities)
    assert sorted(a.columns) == sorted(b.columns)
    pd.testing.assert_frame_equal(a, b[a.columns])
    assert (a["level"] != "none").all()
    assert list(mem.rejects) == list(dsk.rejects)
    for step, x in mem.rejects.items():
        x = x.sort_values("row", kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(x, dsk.rejects[step].reset_index(drop=True), check_dtype=False)
    assert sorted(mem.known_ids) == sorted(dsk.known_ids)
    assert mem.warnings == dsk.warnings
    for kind in mem.zones:
        pd.testing.assert_frame_equal(mem.zones[kind], dsk.zones[kind])


def test_dask_engine_matches_memory_on_demo():
    pytest.importorskip("distributed")
    config = load_config(riskmap.demo_dir() / "riskmap.toml")
    inputs = read_inputs(config)
    raw, zones, tables = inputs.facilities, inputs.zones, inputs.tables
    mem = run_stages(config, raw, zones, tables)
    dsk = run_stages(config, raw, zones, tables, engine="dask", npartitions=4)
    _assert_same(mem, dsk)
    # The engine's levels before adjustment are the pipeline's (level_method), facility by facility.
    checked = pipeline.check(config).facilities.set_index("facility_id")
    got = dsk.facilities.set_index("facility_id")
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
    mem = run_stages(config, raw, zones, tables)
    dsk = run_stages(config, raw, zones, tables, engine="dask", npartitions=3)
    _assert_same(mem, dsk)
    # The synthetic register has bad rows of every kind: all are accounted for, none silently.
    fac_rejects = sum(int((r["source"] == "facilities.csv").sum()) for r in dsk.rejects.values())
    assert len(dsk.facilities) + fac_rejects == n
    assert fac_rejects >= 5 * (n // 1000)


def test_unknown_engine(tiny_project):
    config = load_config(tiny_project)
    inputs = read_inputs(config)
    with pytest.raises(ValueError, match="unknown engine 'spark'"):
        run_stages(config, inputs.facilities, inputs.zones, inputs.tables, engine="spark")  # type: ignore[arg-type]


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
    assert "--scheduler needs --engine dask" in r.output


def test_unreachable_scheduler_is_a_clear_error(tiny_project):
    """No traceback when the scheduler address is wrong (the client gives up after 20 s)."""
    pytest.importorskip("distributed")
    from typer.testing import CliRunner

    from riskmap.cli import app

    r = CliRunner().invoke(
        app, ["validate", str(tiny_project), "--engine", "dask", "--scheduler", "tcp://127.0.0.1:1"]
    )
    assert r.exit_code == 1
    assert "cannot reach the dask scheduler at tcp://127.0.0.1:1" in r.output
    assert "Traceback" not in r.output
