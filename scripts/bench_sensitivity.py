"""Benchmark ``riskmap sensitivity``: ten variants against one scoring+zoning pass, measured in the same run.

    python scripts/bench_sensitivity.py [--project /tmp/r1-bench/100k/riskmap.toml] [--repeat 3]

The inputs are read and the facilities located once (as ``riskmap sensitivity`` does); then the script times
one grading + adjustment + zoning pass of the stage chain under the project's own settings (as a run does it,
with the reason texts), and :func:`riskmap.sensitivity.assess_variants` with the ten common variants (those
``riskmap init`` ships, commented out, in its riskmap.toml), which includes that pass. Target: the ten variants take less than 3x the
one pass. Prints medians and the ratio; not a test: compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from riskmap.config import load_config, with_overrides
from riskmap.errors import RiskmapError

#: The ten common variants (as in data/demo/riskmap.toml); those whose keys the project lacks are left out.
VARIANTS = [
    {"name": "LEC upper bounds", "set": {"methods.lec.boundary": "upper"}},
    {"name": "LS variant preset", "set": {"methods.ls_matrix.preset": "variant"}},
    {"name": "GB 18218 grade 2 red", "set": {"methods.gb18218.grade_levels.2": "red"}},
    {"name": "no standardisation lowering", "set": {"adjustment.rules.standardisation": False}},
    {
        "name": "villages by thresholds",
        "set": {
            "zoning.rule": "thresholds",
            "zoning.thresholds": {
                "red": [{"n_red": 1}, {"n_orange": 3}],
                "orange": [{"n_orange": 1}],
                "yellow": [{"n_yellow": 1}],
            },
        },
    },  # fmt: skip
    {"name": "villages by index", "set": {"zoning.rule": "index"}},
    {"name": "towns by highest level", "set": {"zoning.by_layer.town.rule": "max"}},
    {"name": "town index natural breaks", "set": {"zoning.index.classify": "NaturalBreaks"}},
    {"name": "spillover 500 m", "set": {"zoning.spillover.distance_m": 500}},
    {"name": "spillover 2 km", "set": {"zoning.spillover.distance_m": 2000}},
]


def _with_variants(path: Path):
    return with_overrides(load_config(path), {"sensitivity": {"variants": VARIANTS}}, path.name)


def main() -> None:
    from riskmap.engines.memory import MemoryEngine
    from riskmap.io.project import read_inputs
    from riskmap.sensitivity import assess_variants
    from riskmap.stages import Pass, run_stages

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", type=Path, default=Path("/tmp/r1-bench/100k/riskmap.toml"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        config = _with_variants(args.project)
    except RiskmapError as err:
        raise SystemExit(f"error: {err}") from None

    t0 = time.perf_counter()
    project = read_inputs(config)
    engine = MemoryEngine(config, project.source)
    located = run_stages(config, Pass(project), until="validate", engine=engine, keep=True)
    assert located.basis is not None
    n_zones = {k: len(z) for k, z in located.basis.zones.items()}
    n = len(located.basis.facilities)
    print(f"{n:,} facilities, zones {n_zones}; read + locate {time.perf_counter() - t0:.1f} s")

    one, ten = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        # As a run grades and zones: with the reason texts.
        run_stages(config, located, start="score", until="zone")
        one.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = assess_variants(config, located)
        ten.append(time.perf_counter() - t)
    a, b = statistics.median(one), statistics.median(ten)
    print(f"one scoring+zoning pass:           {a:6.2f} s (median of {args.repeat})")
    print(f"{len(VARIANTS)} variants (with the base pass): {b:6.2f} s  ratio {b / a:.2f}x (target < 3x)")
    print(result.variants.drop(columns="set").to_string(index=False))


if __name__ == "__main__":
    main()
