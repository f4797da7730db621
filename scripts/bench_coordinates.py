"""Benchmark reading coordinates as written against the plain number parse, measured in the same run.

    python scripts/bench_coordinates.py [--rows 1000000] [--repeat 3]

Three registers of ``--rows`` rows: plain decimal degrees as text (what most have), degrees-minutes-seconds (every
row, 20,000 distinct cells), and mixed systems (a third of the rows picked in Gaode, a 坐标系 column). Prints the
time of ``riskmap.coordinates.read_coordinates`` against ``riskmap.validate.to_number`` on the same two columns
(the parse before issue 24), and of ``table_points`` (read, swap check, convert per system). Not a test.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from timing import median_time

from riskmap.coordinates import read_coordinates
from riskmap.io.crs import wgs84_to_gcj02
from riskmap.io.tables import ROW
from riskmap.validate import table_points, to_number


def _dms(values: np.ndarray) -> np.ndarray:
    deg = values.astype(int)
    minutes = (values - deg) * 60
    seconds = (minutes - minutes.astype(int)) * 60
    return np.array([f"{d}°{int(m):02d}'{s:04.1f}\"" for d, m, s in zip(deg, minutes, seconds, strict=True)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    rng = np.random.default_rng(24)
    lon, lat = rng.uniform(117.9, 118.3, a.rows), rng.uniform(24.5, 24.9, a.rows)
    plain = pd.DataFrame({"lon": [f"{v:.6f}" for v in lon], "lat": [f"{v:.6f}" for v in lat]}, dtype="str")
    pick = rng.integers(0, 20_000, a.rows)
    dms = pd.DataFrame({"lon": _dms(lon[:20_000])[pick], "lat": _dms(lat[:20_000])[pick]}, dtype="str")
    gcj = np.arange(a.rows) % 3 == 1
    mixed = plain.copy()
    glon, glat = wgs84_to_gcj02(lon[gcj], lat[gcj])
    mixed.loc[gcj, "lon"], mixed.loc[gcj, "lat"] = [f"{v:.6f}" for v in glon], [f"{v:.6f}" for v in glat]
    systems = pd.Series(np.where(gcj, "GCJ-02", "EPSG:4490"), dtype=object)
    print(f"{a.rows:,} rows; median of {a.repeat}")
    base, _ = median_time(lambda: (to_number(plain["lon"]), to_number(plain["lat"])), a.repeat)
    print(f"  to_number x2 (the parse before)         {base:6.2f} s")
    for name, df in (("plain text", plain), ("degrees-minutes-seconds", dms)):
        t, _ = median_time(lambda df=df: read_coordinates(df["lon"], df["lat"]), a.repeat)
        print(f"  read_coordinates, {name:<22}{t:6.2f} s  ({t / base:.2f}x)")
    for name, df, per_row in (("plain, one crs", plain, None), ("mixed, crs per row", mixed, systems)):
        df = df.assign(**{ROW: np.arange(2, a.rows + 2)})
        t, _ = median_time(
            lambda df=df, s=per_row: table_points(
                df, "lon", "lat", "EPSG:4490", "bench", "facilities", systems=s
            ),
            a.repeat,
        )
        print(f"  table_points, {name:<26}{t:6.2f} s  ({t / base:.2f}x)")


if __name__ == "__main__":
    main()
