"""Publishing 1M facilities to PostGIS: riskmap's writer against a bare COPY of the same rows, in one run.

Starts a throw-away PostgreSQL 15 + PostGIS cluster (as tests/pg.py does), makes N points with a few text
columns, then times (median of --repeat):

- bare COPY: CREATE TABLE + ``COPY ... FROM STDIN`` of the same rows as CSV with EWKB hex (the cheapest way to
  get a GeoDataFrame into a table: no key, no index);
- riskmap: :func:`riskmap.outputs.postgis.copy_frame` (the same COPY, plus the ``fid`` primary key, the GiST
  index, comments and ANALYZE), as ``riskmap run --postgis`` writes the facilities layer.

Prints both and the ratio (the issue asks for at most 2x). Usage::

    python scripts/bench_postgis.py [--n 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_points(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(0)
    levels = np.array(["red", "orange", "yellow", "blue"])
    return gpd.GeoDataFrame(
        {
            "facility_id": [f"91329901MA{i:08d}" for i in range(n)],
            "name": [f"企业{i}" for i in range(n)],
            "sector": rng.choice(["工贸", "危险化学品", "建筑施工"], n),
            "level": rng.choice(levels, n),
            "score": rng.random(n) * 100,
        },
        geometry=shapely.points(rng.uniform(118, 120, n), rng.uniform(31, 33, n)),
        crs="EPSG:4490",
    )


def bare_copy(conn, gdf: gpd.GeoDataFrame, table: str) -> None:  # noqa: ANN001
    conn.execute(
        f"CREATE TABLE {table} (facility_id text, name text, sector text, level text, score double precision, "
        "geom geometry(Point, 4490))"
    )
    with conn.cursor().copy(f"COPY {table} FROM STDIN (FORMAT csv)") as cp:
        for start in range(0, len(gdf), 200_000):
            chunk = gdf.iloc[start : start + 200_000]
            wkb = shapely.to_wkb(
                shapely.set_srid(chunk.geometry.to_numpy(), 4490), hex=True, include_srid=True
            )
            buf = io.StringIO()
            pd.DataFrame(chunk.drop(columns="geometry")).assign(geom=wkb).to_csv(
                buf, header=False, index=False
            )
            cp.write(buf.getvalue())
    conn.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import pytest

    from riskmap.outputs.postgis import copy_frame
    from tests.pg import pg_cluster

    gdf = make_points(args.n)
    start = pg_cluster.__wrapped__()  # type: ignore[attr-defined]  # the fixture's generator, outside pytest
    try:
        cluster = next(start)
    except pytest.skip.Exception as skip:
        raise SystemExit(f"cannot start PostgreSQL: {skip}") from None
    try:
        import psycopg

        from tests.pg import PASSWORD

        bare, mine = [], []
        with psycopg.connect(cluster.url, password=PASSWORD) as conn:
            for i in range(args.repeat):
                t = time.perf_counter()
                bare_copy(conn, gdf, f"bare_{i}")
                bare.append(time.perf_counter() - t)
                conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
                t = time.perf_counter()
                copy_frame(conn, "bench", f"facilities_{i}", gdf, "bench")
                conn.commit()
                mine.append(time.perf_counter() - t)
                conn.execute(f"DROP TABLE bare_{i}; DROP TABLE bench.facilities_{i}")
                conn.commit()
        b, m = statistics.median(bare), statistics.median(mine)
        print(f"{args.n:,} points, median of {args.repeat}")
        print(f"bare COPY (CSV + EWKB hex):          {b:6.2f} s")
        print(f"riskmap copy_frame (+ pk, GiST, ...): {m:6.2f} s")
        print(f"ratio: {m / b:.2f}x")
    finally:
        next(start, None)


if __name__ == "__main__":
    main()
