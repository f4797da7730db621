"""Benchmark the grading methods at scale and compare with a bare pandas floor measured in the same run.

    python scripts/bench_scoring.py [--points 1000000] [--facilities 100000] [--repeat 3]

The floor is the least any implementation must do for the LS matrix: parse L and S from text, look the product
up in a 5x5 matrix, and take each facility's maximum with a groupby. Each method is reported as points (or rows)
per second and as a ratio to that floor. Not a test: timings vary between machines; compare ratios.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from riskmap.config import Chem2018Params, LECParams, LSMatrixParams
from riskmap.methods import chem2018, gb18218, lec, ls_matrix


def _time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_points(n_points: int, n_fac: int, rng: np.random.Generator) -> pd.DataFrame:
    ids = np.char.add("F", rng.integers(0, n_fac, n_points).astype(str))
    return pd.DataFrame(
        {
            "_row": np.arange(2, n_points + 2),
            "facility_id": ids,
            "point_name": "配电室",
            "likelihood": rng.integers(1, 6, n_points).astype(str),
            "severity": rng.integers(1, 6, n_points).astype(str),
            "lec_l": rng.choice(["10", "6", "3", "1", "0.5"], n_points),
            "lec_e": rng.choice(["10", "6", "3", "2", "1"], n_points),
            "lec_c": rng.choice(["100", "40", "15", "7", "3", "1"], n_points),
        }
    )


def floor(points: pd.DataFrame) -> pd.Series:
    m = ls_matrix.matrix_ranks(LSMatrixParams())
    lik = pd.to_numeric(points["likelihood"]).to_numpy()
    sev = pd.to_numeric(points["severity"]).to_numpy()
    rank = m[lik - 1, sev - 1]
    return pd.Series(rank).groupby(points["facility_id"].to_numpy()).max()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--facilities", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(1)
    pts = make_points(a.points, a.facilities, rng)
    n_inv = a.points // 5
    names = ["氨", "氯", "甲醇", "苯", "甲苯", "液化石油气", "W5.4", "7664-41-7"]
    inv = pd.DataFrame(
        {
            "_row": np.arange(2, n_inv + 2),
            "facility_id": np.char.add("F", rng.integers(0, a.facilities, n_inv).astype(str)),
            "unit_id": rng.choice(["1#罐区", "2#罐区", "仓库"], n_inv),
            "substance": rng.choice(names, n_inv),
            "quantity_t": rng.uniform(0.1, 200, n_inv).round(3).astype(str),
        }
    )
    persons = pd.Series(rng.uniform(0, 300, a.facilities), index=[f"F{i}" for i in range(a.facilities)])
    ded = pd.DataFrame(
        {
            "_row": np.arange(2, n_inv + 2),
            "facility_id": inv["facility_id"],
            "item": rng.choice(list(chem2018.DEDUCTIONS), n_inv),
            "points": rng.integers(0, 6, n_inv).astype(str),
        }
    )
    base = _time(lambda: floor(pts), a.repeat)
    rows = [
        ("floor (parse + lookup + groupby max)", a.points, base),
        ("ls_matrix", a.points, _time(lambda: ls_matrix.grade_facilities(pts, LSMatrixParams()), a.repeat)),
        (
            "ls_matrix, count rule",
            a.points,
            _time(lambda: ls_matrix.grade_facilities(pts, LSMatrixParams(aggregate="count")), a.repeat),
        ),
        ("lec", a.points, _time(lambda: lec.grade_facilities(pts, LECParams()), a.repeat)),
        (
            "gb18218 (inventory rows)",
            n_inv,
            _time(
                lambda: gb18218.grade_facilities(
                    inv, persons, grade_levels={"1": "red", "2": "orange", "3": "yellow", "4": "blue"}
                ),
                a.repeat,
            ),
        ),
        (
            "chem2018 (deduction rows)",
            n_inv,
            _time(lambda: chem2018.grade_facilities(ded, Chem2018Params()), a.repeat),
        ),
    ]
    print(
        f"{a.points:,} risk points, {n_inv:,} inventory/deduction rows, {a.facilities:,} facilities; "
        f"median of {a.repeat}"
    )
    print(f"{'stage':<40} {'rows':>10} {'seconds':>8} {'rows/s':>12} {'x floor':>8}")
    for name, n, t in rows:
        print(f"{name:<40} {n:>10,} {t:>8.2f} {n / t:>12,.0f} {t / base:>8.1f}")


if __name__ == "__main__":
    main()
