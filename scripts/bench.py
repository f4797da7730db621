"""Benchmark the whole pipeline at province and country size against bare-library floors measured in the same run.

    python scripts/bench.py [--sizes 10k,100k,1M] [--data /tmp/riskmap-bench] [--format csv|parquet]
                            [--engine memory|dask] [--repeat 1] [--html]

Data comes from scripts/make_bench_data.py (made on the first run). Every size runs in two fresh processes so
that peak memory is that size's own: one runs ``riskmap.pipeline.run`` (outputs HTML and figure off) with a
``stage`` callback that timestamps each stage while a thread samples the resident set size (RSS); the other
measures the floors on the same files:

- read:    ``pyogrio.read_dataframe(use_arrow=True)`` of the facility and zone files (CSV through GDAL's
           CSV driver, as text, as riskmap reads it) plus the same bare read of the related tables: the load
           stage reads all of these (``io.project.read_inputs``)
- sjoin:   ``geopandas.sjoin(points, villages, predicate="within")`` (points from the parsed lon/lat), what
           the validate stage's zone assignment reduces to
- groupby: the bare groupbys the stages reduce to: risk points -> max per facility, inventory -> sum per
           facility, facilities -> count per village and per town and level
- write:   ``pyogrio.write_dataframe(use_arrow=True)`` of the layers the run writes to its GeoPackage, plus
           the same bare write of the tables it writes as CSV (plan, zones, rejects) and, up to
           ``riskmap.outputs.run.XLSX_MAX_ROWS`` plan rows, an unstyled openpyxl write-only workbook of its sheets

Each stage is printed as wall time, peak RSS, facilities per second and a ratio to its floor (load/read,
validate/sjoin, write/write, the rest/groupby); then the end-to-end time against the sum of the floors (target
2x), peak RSS against the in-memory size of the inputs (target 3x) and, between sizes, each stage's growth
exponent (log t2/t1 over log n2/n1; n log n is about 1.1 between 100k and 1M). ``--engine dask`` times the
dask engine (riskmap.engines) for validate+zone assignment+scoring against the in-memory engine instead.
``--html`` also runs scripts/bench_html.py at 100k facilities. Not a test: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

STAGES = ["load", "validate", "score", "adjust", "zone", "supervise", "write"]
FLOOR_OF = {
    "load": "read",
    "validate": "sjoin",
    "score": "groupby",
    "adjust": "groupby",
    "zone": "groupby",
    "supervise": "groupby",
    "write": "write",
}
TABLES = ["chemical_inventory", "risk_points", "deductions", "hidden_dangers", "accidents", "standardisation"]


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Sampler:
    """Peak RSS per stage, sampled every 5 ms on a thread (the stage callback moves the window)."""

    def __init__(self) -> None:
        self.peaks: dict[str, float] = {}
        self.current = "start"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = _rss_mb()
            self.peaks[self.current] = max(self.peaks.get(self.current, 0.0), rss)
            time.sleep(0.005)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _config_path(data: Path, size: str, fmt: str) -> Path:
    return data / size / ("riskmap.toml" if fmt == "csv" else "riskmap-parquet.toml")


# ------------------------------------------------------------------------------------------- children


def child_pipeline(config_path: Path, repeat: int) -> dict:
    from riskmap import pipeline
    from riskmap.config import load_config

    config = load_config(config_path)
    runs = []
    base = _rss_mb()  # the interpreter and the libraries, before any data
    with tempfile.TemporaryDirectory() as tmp, Sampler() as sampler:
        for _ in range(repeat):
            marks: list[tuple[str, float]] = []

            def stage(name: str, marks: list[tuple[str, float]] = marks) -> None:
                marks.append((name, time.perf_counter()))
                sampler.current = name

            t0 = time.perf_counter()
            result = pipeline.run(config, out_dir=tmp, stage=stage)
            end = time.perf_counter()
            sampler.current = "end"
            times = {
                name: (marks[i + 1][1] if i + 1 < len(marks) else end) - t
                for i, (name, t) in enumerate(marks)
            }
            times["total"] = end - t0
            runs.append(times)
        summary = result.summary
    times = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    return {
        "times": times,
        "peaks": sampler.peaks,
        "max_rss_mb": _max_rss_mb(),
        "base_rss_mb": base,
        "facilities_in": summary["facilities_in"],
        "facilities_scored": summary["facilities_scored"],
        "per_level": summary["facilities_per_level"],
    }


def _geo_bytes(df) -> int:  # type: ignore[no-untyped-def]
    """In-memory size of a frame: pandas' deep size plus the coordinates and headers of its geometries."""
    import geopandas as gpd
    import shapely

    size = int(df.memory_usage(deep=True).sum())
    if isinstance(df, gpd.GeoDataFrame):
        geoms = df.geometry.array
        size += int(shapely.get_num_coordinates(geoms.to_numpy()).sum()) * 16 + len(df) * 64
    return size


def child_floor(config_path: Path, repeat: int) -> dict:
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyogrio

    from riskmap import pipeline
    from riskmap.config import load_config
    from riskmap.outputs.run import XLSX_MAX_ROWS, facility_layer, plan_sheets

    folder = config_path.parent
    config = load_config(config_path)
    fac_path = config.resolve(config.facilities.path)
    zone_paths = [(config.resolve(z.path), z.layer) for z in config.zones if z.path is not None]
    table_paths = [folder / f"{t}.csv" for t in TABLES]

    def read_main() -> dict:
        out = {"facilities": pyogrio.read_dataframe(fac_path, use_arrow=True)}
        for i, (p, layer) in enumerate(zone_paths):
            out[f"zones{i}"] = pyogrio.read_dataframe(p, layer=layer, use_arrow=True)
        return out

    def read_tables() -> dict:
        return {p.stem: pyogrio.read_dataframe(p, use_arrow=True) for p in table_paths}

    def timed(fn, n: int = repeat) -> tuple[float, object]:  # type: ignore[no-untyped-def]
        ts, out = [], None
        for _ in range(n):
            t0 = time.perf_counter()
            out = fn()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts), out

    t_read, main_frames = timed(read_main)
    t_tables, table_frames = timed(read_tables)
    frames = {**main_frames, **table_frames}  # type: ignore[dict-item]
    inputs_mb = sum(_geo_bytes(df) for df in frames.values()) / 2**20
    fac = frames["facilities"]
    villages = frames["zones0"]
    towns = frames["zones1"]
    if isinstance(fac, gpd.GeoDataFrame):
        xy = fac.geometry
        points = gpd.GeoDataFrame(fac[["facility_id"]], geometry=xy, crs=xy.crs)
    else:
        lon = pd.to_numeric(fac["lon"], errors="coerce")
        lat = pd.to_numeric(fac["lat"], errors="coerce")
        ok = lon.notna() & lat.notna()
        points = gpd.GeoDataFrame(
            fac.loc[ok, ["facility_id"]], geometry=gpd.points_from_xy(lon[ok], lat[ok]), crs="EPSG:4490"
        )
    points = points[points.geometry.notna()]
    t_sjoin, hit = timed(lambda: gpd.sjoin(points, villages[["code", "geometry"]], predicate="within"))

    rp = frames["risk_points"]
    inv = frames["chemical_inventory"]
    rp_l = pd.to_numeric(rp["likelihood"], errors="coerce").fillna(0).to_numpy()
    rp_s = pd.to_numeric(rp["severity"], errors="coerce").fillna(0).to_numpy()
    inv_q = pd.to_numeric(inv["quantity_t"], errors="coerce").fillna(0).to_numpy()
    hit = hit.assign(level=np.random.default_rng(0).integers(0, 4, len(hit)), town=hit["code"].str[:9])  # type: ignore[union-attr]

    def groupby() -> None:
        pd.Series(rp_l * rp_s).groupby(rp["facility_id"].to_numpy()).max()
        pd.Series(inv_q).groupby(inv["facility_id"].to_numpy()).sum()
        hit.groupby(["code", "level"]).size()
        hit.groupby(["town", "level"]).size()

    t_group, _ = timed(groupby)

    # The layers the run writes to its GeoPackage, made by the pipeline once (not timed), written bare.
    result = pipeline.check(config)
    fac_layer = facility_layer(result, config)  # the exact layer the run writes
    plan = gpd.GeoDataFrame(
        result.plan.plan.merge(fac_layer[["facility_id", "geometry"]], on="facility_id", how="left"),
        geometry="geometry",
        crs="EPSG:4490",
    )
    layers = {"facilities": fac_layer, **{f"zones_{k}": z for k, z in result.zones.items()}}
    layers["inspection_plan"] = plan

    def write() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "floor.gpkg"
            for name, df in layers.items():
                pyogrio.write_dataframe(df, path, layer=name, use_arrow=True, append=path.exists())
            pyogrio.write_dataframe(
                pd.DataFrame(result.rejects).astype(str), path, layer="rejects", use_arrow=True, append=True
            )

    # The same tables the run writes as CSV (and, up to XLSX_MAX_ROWS, as a workbook), written bare.
    tables = {
        "inspection_plan": result.plan.plan,
        **{f"zones_{k}": pd.DataFrame(z.drop(columns=z.geometry.name)) for k, z in result.zones.items()},
        "rejects": result.rejects,
    }

    def write_tables() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            for name, df in tables.items():
                pyogrio.write_dataframe(df, Path(tmp) / f"{name}.csv", driver="CSV", use_arrow=True)
            if len(result.plan.plan) <= XLSX_MAX_ROWS:
                from openpyxl import Workbook

                sheets = {**tables, **plan_sheets(result.plan)}  # the run's sheets
                wb = Workbook(write_only=True)
                for name, df in sheets.items():
                    ws = wb.create_sheet(name[:31])
                    ws.append([str(c) for c in df.columns])
                    for row in df.astype(object).where(df.notna(), None).itertuples(index=False, name=None):
                        ws.append(row)
                wb.save(Path(tmp) / "plan.xlsx")

    t_write, _ = timed(write)
    t_tables_write, _ = timed(write_tables)
    return {
        "floors": {
            "read": t_read + t_tables,  # the load stage reads the related tables too
            "sjoin": t_sjoin,
            "groupby": t_group,
            "write": t_write + t_tables_write,
        },
        "inputs_mb": inputs_mb,
        "max_rss_mb": _max_rss_mb(),
        "villages": len(villages),
        "towns": len(towns),
        "risk_points": len(rp),
    }


def child_dask(config_path: Path, repeat: int, scheduler: str | None, processes: bool) -> dict:
    """Validate + assign zones + score (the stage chain up to the grades): memory against dask, same inputs."""
    import pandas as pd

    from riskmap.config import load_config
    from riskmap.engines import open_engine
    from riskmap.io.project import read_inputs
    from riskmap.stages import Pass, run_stages

    config = load_config(config_path)
    inputs = read_inputs(config)
    out: dict[str, object] = {}
    for engine in ("memory", "dask"):
        ts = []
        for _ in range(repeat):
            # A pass takes the inputs it is given: each gets its own set (the same frames).
            project = replace(inputs, tables=dict(inputs.tables))
            t0 = time.perf_counter()
            with open_engine(
                config, project.source, engine=engine, scheduler=scheduler, processes=processes
            ) as opened:
                graded = run_stages(config, Pass(project), until="score", engine=opened).graded
            ts.append(time.perf_counter() - t0)
        out[engine] = statistics.median(ts)
        assert graded is not None
        out[f"{engine}_levels"] = graded.facilities[["facility_id", "level", "reasons"]].sort_values(
            "facility_id"
        )
    same = (
        out.pop("memory_levels").reset_index(drop=True).equals(out.pop("dask_levels").reset_index(drop=True))
    )  # type: ignore[union-attr]
    return {
        "memory_s": out["memory"],
        "dask_s": out["dask"],
        "identical": bool(same),
        "facilities_in": len(inputs.facilities),
        "max_rss_mb": _max_rss_mb(),
        "pandas": pd.__version__,
    }


# ---------------------------------------------------------------------------------------------- parent


def _run_child(args: list[str]) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False, cwd=HERE.parent
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {' '.join(args)} failed ({proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _versions() -> str:
    mods = [
        "geopandas",
        "pandas",
        "numpy",
        "shapely",
        "pyogrio",
        "pyarrow",
        "dask",
        "distributed",
        "dask_geopandas",
    ]
    out = []
    for m in mods:
        try:
            out.append(f"{m} {__import__(m).__version__}")
        except ImportError:
            pass
    import pyogrio

    out.append(f"GDAL {pyogrio.__gdal_version_string__}")
    return ", ".join(out)


def _machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}, {platform.platform()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k,1M")
    ap.add_argument("--data", type=Path, default=Path("/tmp/riskmap-bench"))
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv", help="facility and zone inputs")
    ap.add_argument("--engine", choices=["memory", "dask"], default="memory")
    ap.add_argument("--scheduler", help="dask scheduler address (default: a local cluster)")
    ap.add_argument("--processes", action="store_true", help="dask local cluster of processes, not threads")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--html", action="store_true", help="also run scripts/bench_html.py at 100k facilities")
    ap.add_argument("--child", choices=["pipeline", "floor", "dask"], help=argparse.SUPPRESS)
    ap.add_argument("--config", type=Path, help=argparse.SUPPRESS)
    a = ap.parse_args()

    if a.child:
        fn = {
            "pipeline": lambda: child_pipeline(a.config, a.repeat),
            "floor": lambda: child_floor(a.config, a.repeat),
            "dask": lambda: child_dask(a.config, a.repeat, a.scheduler, a.processes),
        }[a.child]
        print(json.dumps(fn()))
        return

    from make_bench_data import SIZES, parse_sizes, write_size

    sizes = parse_sizes(a.sizes)
    print(f"machine: {_machine()}")
    print(f"libraries: {_versions()}")
    print(f"inputs: {a.format}; engine: {a.engine}; median of {a.repeat}")
    for size in sizes:
        if not _config_path(a.data, size, a.format).exists():
            write_size(a.data, size)

    if a.engine == "dask":
        extra = [
            *(["--scheduler", a.scheduler] if a.scheduler else []),
            *(["--processes"] if a.processes else []),
        ]
        print(f"\n{'size':>6} {'memory s':>9} {'dask s':>8} {'dask/mem':>9} {'peak MB':>8} identical")
        for size in sizes:
            r = _run_child(
                [
                    "--child",
                    "dask",
                    "--config",
                    str(_config_path(a.data, size, a.format)),
                    "--repeat",
                    str(a.repeat),
                    *extra,
                ]
            )
            print(
                f"{size:>6} {r['memory_s']:>9.2f} {r['dask_s']:>8.2f} {r['dask_s'] / r['memory_s']:>9.2f} "
                f"{r['max_rss_mb']:>8.0f} {r['identical']}"
            )
        return

    results = {}
    for size in sizes:
        cfg = _config_path(a.data, size, a.format)
        run = _run_child(["--child", "pipeline", "--config", str(cfg), "--repeat", str(a.repeat)])
        floor = _run_child(["--child", "floor", "--config", str(cfg), "--repeat", str(a.repeat)])
        results[size] = (run, floor)
        n = run["facilities_in"]
        fl = floor["floors"]
        print(
            f"\n== {size}: {n:,} facilities, {floor['villages']:,} villages, {floor['towns']:,} towns, "
            f"{floor['risk_points']:,} risk points; inputs in memory {floor['inputs_mb']:.0f} MB"
        )
        print(
            f"{'stage':<10} {'seconds':>8} {'peak MB':>8} {'fac/s':>11} {'floor':>18} {'floor s':>8} {'x floor':>8}"
        )
        for st in STAGES:
            t = run["times"].get(st)
            if t is None:
                continue
            f = fl[FLOOR_OF[st]]
            peak = run["peaks"].get(st, 0.0)
            print(
                f"{st:<10} {t:>8.2f} {peak:>8.0f} {n / t:>11,.0f} {FLOOR_OF[st]:>18} {f:>8.2f} {t / f:>8.1f}"
            )
        total = run["times"]["total"]
        floor_sum = sum(fl.values())
        peak = run["max_rss_mb"]
        ok_t = "ok" if total <= 2 * floor_sum else "MISS"
        print(
            f"{'total':<10} {total:>8.2f} {peak:>8.0f} {n / total:>11,.0f} {'sum':>18} {floor_sum:>8.2f} "
            f"{total / floor_sum:>8.1f}  (target 2x: {ok_t})"
        )
        data_peak = peak - run["base_rss_mb"]
        ok_m = "ok" if data_peak <= 3 * floor["inputs_mb"] else "MISS"
        print(
            f"peak RSS {peak:.0f} MB, {data_peak:.0f} MB above the {run['base_rss_mb']:.0f} MB of the interpreter "
            f"and libraries = {data_peak / floor['inputs_mb']:.1f}x the inputs in memory (target 3x: {ok_m})"
        )

    if len(sizes) > 1:
        print("\ngrowth exponent between sizes (1 = linear, n log n ~ 1.1; > 1.2 flagged)")
        pairs = list(zip(sizes, sizes[1:], strict=False))
        print(f"{'stage':<10}" + "".join(f"{f'{s1}->{s2}':>14}" for s1, s2 in pairs))
        for st in [*STAGES, "total"]:
            cells = []
            for s1, s2 in pairs:
                t1, t2 = results[s1][0]["times"].get(st), results[s2][0]["times"].get(st)
                if not t1 or not t2:
                    cells.append(f"{'-':>14}")
                    continue
                e = math.log(t2 / t1) / math.log(SIZES[s2] / SIZES[s1])
                cells.append(f"{e:>12.2f}{' !' if e > 1.2 else '  '}")
            print(f"{st:<10}" + "".join(cells))
    if a.html:
        print("\nHTML map (scripts/bench_html.py --facilities 100000 --runs 1):")
        subprocess.run(
            [sys.executable, str(HERE / "bench_html.py"), "--facilities", "100000", "--runs", "1"], check=True
        )


if __name__ == "__main__":
    main()
