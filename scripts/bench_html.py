"""Benchmark the HTML map at scale: a synthetic district of 100,000 facilities and ~2,000 zones.

    python scripts/bench_html.py [--facilities 100000] [--grid 50x40] [--runs 3] [--keep DIR]
    python scripts/bench_html.py --pipeline 1M [--data /tmp/riskmap-bench] [--runs 3]
    python scripts/bench_html.py --html my-map.html

Renders the map with riskmap.outputs.html.render_html, opens it in headless Debian Chromium (Playwright,
network blocked) and measures: file size, Python render time, page load (navigation until the map is drawn)
and pan/zoom (``map.setView`` until ``moveend`` and the next painted frame). A baseline of demo size (3,000
facilities, 200 villages) is measured in the same run, and the large map is reported as ratios of it: machines
are noisy, compare ratios, not seconds. Medians of ``--runs`` runs. Not a test.

``--pipeline SIZE`` measures the map the real job writes instead: ``riskmap run`` with the HTML map on, over
scripts/make_bench_data.py's register of that size (1M: 1,000,000 facilities with credit codes, names and
reasons as a register has them, 40,000 villages, 3,350 towns; generated into ``--data`` when missing). Its
"render s" is the whole run (every output, not only the map), and the run's peak memory is printed.
``--html PATH`` measures a map you already have. Search, filter and popup times are printed too (not for a map
of under 5,000 facilities written before issue #25, when that was a page of one Leaflet marker per facility).
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
from shapely.geometry import box

from riskmap.levels import LEVEL_NAMES, label
from riskmap.outputs.html import render_html

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
X0, Y0 = 119.40, 32.10  # near Yangzhou; a cell is 0.01° (about 1 km)
CELL = 0.01
LEVEL_SHARE = {"red": 0.03, "orange": 0.10, "yellow": 0.30, "blue": 0.57}


@dataclass
class Result:
    name: str
    facilities: int
    zones: int
    size_mb: float
    render_s: float
    load_s: float
    panzoom_ms: float
    heap_mb: float
    actions: dict[str, float]


def district(
    n_facilities: int, nx: int, ny: int, seed: int = 0
) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame]]:
    """Villages on an nx × ny grid, towns of 5 × 5 villages, facilities spread at random with a level mix."""
    rng = np.random.default_rng(seed)
    i, j = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    i, j = i.ravel(), j.ravel()
    keys = np.array(LEVEL_NAMES)
    village_level = keys[rng.choice(4, len(i), p=[0.15, 0.3, 0.35, 0.2])]
    town_id = (i // 5) * 1000 + (j // 5)
    villages = gpd.GeoDataFrame(
        {
            "zone_code": [f"3299{t:05d}{k:03d}" for k, t in enumerate(town_id)],
            "zone_name": [f"测试村{k}" for k in range(len(i))],
            "level": village_level,
            "n_red": rng.integers(0, 3, len(i)),
            "n_orange": rng.integers(0, 5, len(i)),
            "n_yellow": rng.integers(0, 20, len(i)),
            "n_blue": rng.integers(0, 40, len(i)),
            "town": town_id,
        },
        geometry=[
            box(X0 + a * CELL, Y0 + b * CELL, X0 + (a + 1) * CELL, Y0 + (b + 1) * CELL)
            for a, b in zip(i, j, strict=True)
        ],
        crs="EPSG:4490",
    )
    towns = villages.dissolve("town", aggfunc="first").reset_index(drop=True)
    towns["zone_code"] = [f"3299{k:05d}000" for k in range(len(towns))]
    towns["zone_name"] = [f"测试镇{k}" for k in range(len(towns))]
    towns["level"] = keys[rng.choice(4, len(towns))]
    fac_level = keys[rng.choice(4, n_facilities, p=[LEVEL_SHARE[k] for k in keys])]
    facilities = gpd.GeoDataFrame(
        {
            "facility_id": [f"F{k:07d}" for k in range(n_facilities)],
            "name": [f"测试企业{k}有限公司" for k in range(n_facilities)],
            "sector": rng.choice(["危险化学品", "工贸", "建筑施工", "人员密集场所"], n_facilities),
            "level": fac_level,
            "level_zh": [label(k) for k in fac_level],
            "score": rng.uniform(0, 400, n_facilities).round(1),
            "method": "LEC",
            "reasons": "涉及有限空间作业；构成重大危险源",
            "inspections_per_year": rng.choice([1.0, 2.0, 4.0, 12.0], n_facilities),
        },
        geometry=gpd.points_from_xy(
            rng.uniform(X0, X0 + nx * CELL, n_facilities), rng.uniform(Y0, Y0 + ny * CELL, n_facilities)
        ),
        crs="EPSG:4490",
    )
    return facilities, {"village": villages.drop(columns="town"), "town": towns}


# Loaded = the map's data is decoded (compact maps inflate it asynchronously) and two frames were painted.
_READY = """() => {
    const el = document.querySelector('.folium-map');
    const map = el && window[el.id];
    const ready = (map && map.riskmap && map.riskmap.ready) || Promise.resolve();
    return ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))));
}"""
_PANZOOM = """([mapName, steps]) => {
    const map = window[mapName];
    const times = [];
    let k = 0;
    return new Promise(resolve => {
        function next() {
            if (k === steps.length) { resolve(times); return; }
            const [lat, lng, zoom] = steps[k++];
            const t0 = performance.now();
            map.once('moveend', () => requestAnimationFrame(() => requestAnimationFrame(() => {
                times.push(performance.now() - t0);
                next();
            })));
            map.setView([lat, lng], zoom, {animate: false});
        }
        next();
    });
}"""


# What a user does on a compact map besides panning: search (the first one splits names and ids), a filter
# change (the shown count over every facility, and a redraw), the first popup (decodes its row of each text).
_INTERACTIONS = """(mapName) => {
    const map = window[mapName], c = map.riskmap && map.riskmap.compact;
    if (!c) { return null; }
    function time(fn) { const t0 = performance.now(); fn(); return performance.now() - t0; }
    const out = {};
    out['first popup'] = time(() => c.goTo({kind: 'facility', i: Math.floor(c.n / 3)}));
    out['next popup'] = time(() => c.goTo({kind: 'facility', i: Math.floor(c.n / 3) + 1}));
    out['first search (name)'] = time(() => c.search('有限公司', 20));
    out['next search (name)'] = time(() => c.search('公司9', 20));
    const code = c.row(Math.floor(c.n / 2))[3];
    out['search (id/credit code)'] = time(() => c.search(code, 20));
    out['search (no hit: every row)'] = time(() => c.search('不存在的名称', 20));
    out['filter change (count + redraw)'] = time(() => { c.filter.levels[0] = false; c.apply(); });
    c.filter.levels[0] = true;
    c.apply();
    return out;
}"""


def _renderer_mb() -> float:
    """Resident memory of the largest Chromium renderer (the tab), in MB: typed arrays live outside the JS heap."""
    import psutil

    sizes = [0.0]
    for proc in psutil.Process().children(recursive=True):
        try:
            if "--type=renderer" in " ".join(proc.cmdline()):
                sizes.append(proc.memory_info().rss / 1e6)
        except psutil.Error:
            continue
    return max(sizes)


def measure(browser, path: Path, runs: int) -> tuple[float, float, float, dict[str, float]]:  # type: ignore[no-untyped-def]
    """Median page load (s), pan/zoom step (ms), tab memory after them (MB: the renderer's resident memory, at
    least the JS heap) and, on a compact map, search/filter/popup times (ms) over ``runs`` fresh pages."""
    actions: dict[str, list[float]] = {}
    loads, steps_ms, heaps = [], [], []
    for _ in range(runs):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        blocked: list[str] = []

        def route(r, blocked=blocked):  # type: ignore[no-untyped-def]
            if r.request.url.startswith(("file:", "data:")):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        errors: list[str] = []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        t0 = time.perf_counter()
        page.goto(path.resolve().as_uri(), wait_until="load", timeout=300_000)
        page.evaluate(_READY)
        loads.append(time.perf_counter() - t0)
        name = page.evaluate("document.querySelector('.folium-map').id")
        c = page.evaluate(f"(() => {{ const c = window['{name}'].getCenter(); return [c.lat, c.lng]; }})()")
        z = page.evaluate(f"window['{name}'].getZoom()")
        steps = [
            [c[0], c[1], z + 2],  # zoom in
            [c[0] + 0.05, c[1] + 0.08, z + 2],  # pan
            [c[0] - 0.05, c[1] - 0.08, z + 3],  # pan and zoom
            [c[0], c[1], z],  # back out to the whole district
        ]
        steps_ms.extend(page.evaluate(_PANZOOM, [name, steps]))
        for key, ms in (page.evaluate(_INTERACTIONS, name) or {}).items():
            actions.setdefault(key, []).append(ms)
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        cdp.send("HeapProfiler.collectGarbage")
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        heaps.append(max(metrics.get("JSHeapUsedSize", 0.0) / 1e6, _renderer_mb()))
        if errors or blocked:
            raise SystemExit(f"{path.name}: page errors {errors[:3]} / requests {blocked[:3]}")
        context.close()
    medians = {key: statistics.median(ms) for key, ms in actions.items()}
    return statistics.median(loads), statistics.median(steps_ms), statistics.median(heaps), medians


def bench(browser, name: str, n: int, nx: int, ny: int, out: Path, runs: int) -> Result:  # type: ignore[no-untyped-def]
    facilities, zones = district(n, nx, ny)
    path = out / f"{name}.html"
    renders = []
    for _ in range(runs):
        t0 = time.perf_counter()
        render_html(facilities, zones, path, title=f"基准 {name}")
        renders.append(time.perf_counter() - t0)
    load_s, panzoom_ms, heap_mb, actions = measure(browser, path, runs)
    n_zones = sum(len(z) for z in zones.values())
    size_mb = path.stat().st_size / 1e6
    return Result(name, n, n_zones, size_mb, statistics.median(renders), load_s, panzoom_ms, heap_mb, actions)


def bench_pipeline(browser, data: Path, size: str, runs: int) -> tuple[Result, float]:  # type: ignore[no-untyped-def]
    """``riskmap run`` with the HTML map on over the benchmark register of ``size``; returns it and peak MB."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from make_bench_data import parse_sizes, write_size

    (size,) = parse_sizes(size)
    folder = data / size
    if not (folder / "riskmap.toml").exists():
        write_size(data, size)
    config = (folder / "riskmap.toml").read_text(encoding="utf-8")
    config = re.sub(r"(?m)^html = false.*$", "html = true", config)
    config = re.sub(r'(?m)^dir = "out"$', 'dir = "out-html"', config)
    project = folder / "riskmap-html.toml"
    project.write_text(config, encoding="utf-8")
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "riskmap", "run", str(project)], check=True, stdout=subprocess.DEVNULL
    )
    run_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    path = folder / "out-html" / "map.html"
    summary = json.loads((folder / "out-html" / "run.json").read_text(encoding="utf-8"))["summary"]
    n_zones = sum(sum(by_level.values()) for by_level in summary["zones_per_level"].values())
    load_s, panzoom_ms, heap_mb, actions = measure(browser, path, runs)
    size_mb = path.stat().st_size / 1e6
    result = Result(
        size, summary["facilities_scored"], n_zones, size_mb, run_s, load_s, panzoom_ms, heap_mb, actions
    )
    return result, peak_mb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--facilities", type=int, default=100_000)
    ap.add_argument("--grid", default="50x40", help="villages per row x rows (50x40 = 2,000 villages)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="write the HTML files here instead of a temporary folder")
    ap.add_argument(
        "--pipeline", metavar="SIZE", help="measure the map of `riskmap run` on a bench register (1M)"
    )
    ap.add_argument(
        "--data", type=Path, default=Path("/tmp/riskmap-bench"), help="bench registers (--pipeline)"
    )
    ap.add_argument(
        "--html", type=Path, help="measure this map (e.g. a map.html of your own) as the large one"
    )
    args = ap.parse_args()
    nx, ny = (int(v) for v in args.grid.lower().split("x"))

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        out = args.keep or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            base = bench(browser, "baseline", 3_000, 20, 10, out, args.runs)
            if args.pipeline:
                big, peak_mb = bench_pipeline(browser, args.data, args.pipeline, args.runs)
            elif args.html:
                load_s, panzoom_ms, heap_mb, actions = measure(browser, args.html, args.runs)
                size_mb = args.html.stat().st_size / 1e6
                big = Result(args.html.stem, 0, 0, size_mb, 0.0, load_s, panzoom_ms, heap_mb, actions)
            else:
                big = bench(browser, "large", args.facilities, nx, ny, out, args.runs)
        finally:
            browser.close()
    if args.pipeline:
        print(
            f"riskmap run ({big.name}, every output incl. the map): {big.render_s:.1f} s, peak {peak_mb:,.0f} MB"
        )

    print(f"median of {args.runs} runs; large / baseline ratios measured in this run")
    header = (
        f"{'map':<10}{'facilities':>11}{'zones':>7}{'size MB':>9}{'render s':>10}{'load s':>8}{'pan/zoom ms':>13}"
        f"{'tab MB':>12}"
    )
    print(header)
    for r in (base, big):
        print(
            f"{r.name:<10}{r.facilities:>11,}{r.zones:>7,}{r.size_mb:>9.2f}{r.render_s:>10.2f}{r.load_s:>8.2f}"
            f"{r.panzoom_ms:>13.1f}{r.heap_mb:>12.1f}"
        )
    print(
        f"{'ratio':<10}{big.facilities / base.facilities:>11.1f}{big.zones / base.zones:>7.1f}"
        f"{big.size_mb / base.size_mb:>9.1f}{big.render_s / base.render_s:>10.1f}{big.load_s / base.load_s:>8.1f}"
        f"{big.panzoom_ms / base.panzoom_ms:>13.1f}{big.heap_mb / base.heap_mb:>12.1f}"
    )
    if big.actions:
        print(f"\n{big.name}: interactions (ms, median of {args.runs})")
        for key, ms in big.actions.items():
            print(f"  {key:<34}{ms:>8.1f}")


if __name__ == "__main__":
    main()
