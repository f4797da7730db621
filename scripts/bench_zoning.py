"""Benchmark the zoning stage against a bare geopandas.sjoin of the same data, measured in the same run.

    python scripts/bench_zoning.py [--facilities 1000000] [--villages 40000] [--repeat 3]

Synthetic data: villages are squares of a regular lattice (12-digit codes, 100 villages per town), facilities
uniform over them with random levels. The zoning stage is riskmap.zoning.assign_zones (point in polygon with the
border rule and the village -> town roll-up) plus aggregate_zones (counts, levels, drivers, reasons for every
village and town). The target is to stay within 2x of the bare join. Also times the population zonal sums over
every village with exactextract against a raster of 1/4 of the villages' cell count. Not a test.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from timing import median_time

from riskmap.columns import ZONE_CODE, ZONE_NAME
from riskmap.config import ZoningConfig
from riskmap.zoning import aggregate_zones, assign_zones


def make_data(n_fac: int, n_vil: int, rng: np.random.Generator):
    side = int(np.ceil(np.sqrt(n_vil)))
    d = 0.01  # ~1 km villages
    x0, y0 = 110.0, 30.0
    i, j = np.divmod(np.arange(side * side), side)
    polys = shapely.box(x0 + j * d, y0 + i * d, x0 + (j + 1) * d, y0 + (i + 1) * d)
    town = np.arange(side * side) // 100
    vcode = np.char.add(
        np.char.add("420101", np.char.zfill(town.astype(str), 3)),
        np.char.zfill((np.arange(side * side) % 100 + 1).astype(str), 3),
    )
    villages = gpd.GeoDataFrame({ZONE_CODE: vcode, ZONE_NAME: vcode}, geometry=polys, crs="EPSG:4490")
    towns = villages.assign(t=town).dissolve("t").reset_index()
    towns[ZONE_CODE] = "420101" + towns["t"].astype(str).str.zfill(3) + "000"
    towns[ZONE_NAME] = towns[ZONE_CODE]
    towns = towns[[ZONE_CODE, ZONE_NAME, "geometry"]]
    xs = rng.uniform(x0, x0 + side * d, n_fac)
    ys = rng.uniform(y0, y0 + side * d, n_fac)
    fac = gpd.GeoDataFrame(
        {
            "facility_id": np.char.add("F", np.arange(n_fac).astype(str)),
            "name": "企业",
            "level": rng.choice(["red", "orange", "yellow", "blue"], n_fac, p=[0.02, 0.1, 0.3, 0.58]),
            "_row": np.arange(2, n_fac + 2),
        },
        geometry=gpd.points_from_xy(xs, ys),
        crs="EPSG:4490",
    )
    return fac, villages, towns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--facilities", type=int, default=1_000_000)
    ap.add_argument("--villages", type=int, default=40_000)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    fac, villages, towns = make_data(a.facilities, a.villages, np.random.default_rng(7))
    bare, _ = median_time(lambda: gpd.sjoin(fac[["geometry"]], villages, predicate="within"), a.repeat)
    t_assign, res = median_time(
        lambda: assign_zones(fac, {"village": villages, "town": towns}, "bench"), a.repeat
    )
    t_agg, _ = median_time(lambda: aggregate_zones(res.facilities, res.zones, ZoningConfig()), a.repeat)
    print(
        f"{a.facilities:,} facilities, {len(villages):,} villages, {len(towns):,} towns; median of {a.repeat}"
    )
    print(f"{'step':<44} {'seconds':>8} {'x bare sjoin':>13}")
    for name, t in [
        ("bare geopandas.sjoin(within)", bare),
        ("assign_zones (border rule, roll-up)", t_assign),
        ("aggregate_zones (max rule, all layers)", t_agg),
        ("zoning stage total", t_assign + t_agg),
    ]:
        print(f"{name:<44} {t:>8.2f} {t / bare:>13.2f}")

    import rasterio
    from rasterio.transform import from_origin

    from riskmap.io.raster import zonal_sum

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pop.tif"
        x0, y0, x1, y1 = villages.total_bounds
        res_deg = 0.001
        w, h = int((x1 - x0) / res_deg), int((y1 - y0) / res_deg)
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=w,
            height=h,
            count=1,
            dtype="float32",
            crs="EPSG:4490",
            transform=from_origin(x0, y1, res_deg, res_deg),
            compress="lzw",
            tiled=True,
        ) as dst:
            dst.write(np.random.default_rng(1).random((h, w), dtype=np.float32), 1)
        t_zonal, sums = median_time(lambda: zonal_sum(path, villages.geometry), 1)
        print(f"zonal sums over {len(villages):,} villages ({w}x{h} raster, exactextract): {t_zonal:.2f} s")


if __name__ == "__main__":
    main()
