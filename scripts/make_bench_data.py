#!/usr/bin/env python
"""Deterministic synthetic province- and country-size data for the scale benchmark (scripts/bench.py).

    python scripts/make_bench_data.py [--sizes 10k,100k,1M,5M] [--out /tmp/riskmap-bench]

For each size it writes ``<out>/<size>/``: ``facilities.csv`` (what a planner exports: credit-code ids, names,
sectors, lon/lat as text, a few bad rows of every kind validation must catch) and the same facilities as
``facilities.parquet`` (GeoParquet, points), the related tables (``chemical_inventory.csv``, ``risk_points.csv``,
``deductions.csv``, ``hidden_dangers.csv``, ``accidents.csv``, ``standardisation.csv``) and two project files:
``riskmap.toml`` (CSV facilities, GeoPackage zones) and ``riskmap-parquet.toml`` (GeoParquet facilities and
zones). Village polygons (jittered-lattice Voronoi cells, 12-digit codes, ~12 villages a town) are written once
per village count to ``<out>/zones-<n>/`` as ``boundaries.gpkg`` (layers ``village`` and ``town``, pyogrio) and
``villages.parquet``/``towns.parquet``: 40,000 villages (a province) up to 1M facilities, 490,000 villages (the
country) at 5M.

GB 18218's α uses ``[methods.gb18218] persons_column = "persons_500m"`` (a facility column), not a population
raster: the raster's zonal sums are benchmarked separately in scripts/bench_zoning.py. Same arguments give the
same files: every draw comes from one seeded generator per size, in a fixed order.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import shapely

REPO = Path(__file__).resolve().parents[1]
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000, "5m": 5_000_000}
#: Village count per size: a province (40,000 villages) up to 1M facilities, the country (490,000) at 5M.
VILLAGES = {"10k": 40_000, "100k": 40_000, "1m": 40_000, "5m": 490_000}
SPACING = 0.015  # degrees between village seeds, about 1.5 km
ORIGIN = {40_000: (112.0, 29.0), 490_000: (108.0, 24.0)}
TOWN_BLOCK = (3, 4)  # villages per town: 3 rows x 4 columns of the lattice
COUNTY_BLOCK = (4, 4)  # towns per county
USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
SECTORS = {
    "工贸": 0.50,
    "人员密集场所": 0.26,
    "建筑施工": 0.12,
    "危险化学品": 0.05,
    "燃气": 0.03,
    "非煤矿山": 0.03,
    "烟花爆竹": 0.01,
}
NAME_A = list("宏华鑫盛金泰恒达兴隆永新瑞丰源昌茂德宝利和顺安天祥通汇嘉鸿富远佳")
NAME_B = [
    "机械",
    "化工",
    "建材",
    "纺织",
    "电子",
    "食品",
    "五金",
    "物流",
    "塑业",
    "钢构",
    "制药",
    "建设",
    "商贸",
]
NAME_C = ["有限公司", "股份有限公司", "制造有限公司", "科技有限公司", "厂"]
PLACE = list("东西南北中上下前后大小新老石河山林湖桥塘岗庄湾")
POINT_NAMES = [
    "配电室",
    "冲压设备",
    "行车",
    "有限空间",
    "动火作业",
    "储罐区",
    "锅炉房",
    "危废库",
    "脚手架",
    "起重机械",
]
DANGERS = ["安全通道堵塞", "灭火器过期", "动火作业未审批", "应急照明不亮", "电气线路老化", "防护栏缺失"]


def _codes(n: int, width: int) -> np.ndarray:
    return np.char.zfill(np.arange(1, n + 1).astype(str), width)


def _pick(rng: np.random.Generator, words: list[str], n: int) -> np.ndarray:
    return np.asarray(words)[rng.integers(0, len(words), n)]


# ------------------------------------------------------------------------------------------------ zones


def make_zones(n_villages: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Villages (Voronoi cells of a jittered lattice) with 12-digit codes, and their towns."""
    rng = np.random.default_rng(490_000 + n_villages)
    side = int(round(np.sqrt(n_villages)))
    rows, cols = side, n_villages // side
    x0, y0 = ORIGIN.get(n_villages, (110.0, 28.0))
    i, j = np.divmod(np.arange(rows * cols), cols)
    seeds = shapely.points(
        x0 + (j + 0.5 + rng.uniform(-0.35, 0.35, i.size)) * SPACING,
        y0 + (i + 0.5 + rng.uniform(-0.35, 0.35, i.size)) * SPACING,
    )
    extent = shapely.box(x0, y0, x0 + cols * SPACING, y0 + rows * SPACING)
    cells = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=extent, ordered=True)
    polys = shapely.intersection(shapely.get_parts(cells), extent)
    polys = shapely.set_precision(polys, 1e-7)  # shared edges stay identical, coordinates stay short
    ti, tj = i // TOWN_BLOCK[0], j // TOWN_BLOCK[1]
    ci, cj = ti // COUNTY_BLOCK[0], tj // COUNTY_BLOCK[1]
    county_cols = -(-cols // (TOWN_BLOCK[1] * COUNTY_BLOCK[1]))
    county = ci * county_cols + cj
    county6 = np.char.add(
        np.char.add((11 + county // 9801).astype(str), np.char.zfill((county // 99 % 99 + 1).astype(str), 2)),
        np.char.zfill((county % 99 + 1).astype(str), 2),
    )
    town_in_county = (ti % COUNTY_BLOCK[0]) * COUNTY_BLOCK[1] + tj % COUNTY_BLOCK[1] + 1
    village_in_town = (i % TOWN_BLOCK[0]) * TOWN_BLOCK[1] + j % TOWN_BLOCK[1] + 1
    town9 = np.char.add(county6, np.char.zfill(town_in_county.astype(str), 3))
    vcode = np.char.add(town9, np.char.zfill(village_in_town.astype(str), 3))
    vname = np.char.add(np.char.add(_pick(rng, PLACE, i.size), _pick(rng, NAME_A, i.size)), "村")
    villages = gpd.GeoDataFrame({"code": vcode, "name": vname}, geometry=polys, crs="EPSG:4490")
    villages = villages.sort_values("code").reset_index(drop=True)
    towns = villages.assign(town=villages["code"].str[:9]).dissolve("town", method="coverage").reset_index()
    towns["code"] = towns["town"] + "000"
    towns["name"] = np.char.add(
        np.char.add(_pick(rng, PLACE, len(towns)), _pick(rng, NAME_A, len(towns))), "镇"
    )
    return villages, towns[["code", "name", "geometry"]]


def write_zones(out: Path, n_villages: int) -> Path:
    folder = out / f"zones-{n_villages}"
    if (folder / "boundaries.gpkg").exists() and (folder / "towns.parquet").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    villages, towns = make_zones(n_villages)
    gpkg = folder / "boundaries.gpkg"
    gpkg.unlink(missing_ok=True)
    pyogrio.write_dataframe(villages, gpkg, layer="village", use_arrow=True)
    pyogrio.write_dataframe(towns, gpkg, layer="town", use_arrow=True, append=True)
    villages.to_parquet(folder / "villages.parquet", write_covering_bbox=True)
    towns.to_parquet(folder / "towns.parquet", write_covering_bbox=True)
    print(
        f"zones-{n_villages}: {len(villages):,} villages, {len(towns):,} towns in {time.perf_counter() - t0:.1f} s"
    )
    return folder


# ------------------------------------------------------------------------------------------- facilities


def credit_codes(rng: np.random.Generator, county6: np.ndarray) -> np.ndarray:
    """Unique, valid unified social credit codes: 91 + county + a 9-character serial + check character."""
    n = county6.size
    serial = rng.permutation(n).astype(np.int64) + rng.integers(0, 31**8)
    org = np.empty((n, 9), dtype=np.int64)
    for k in range(8, -1, -1):
        serial, org[:, k] = np.divmod(serial, 31)
    head = np.char.add("91", county6)
    digits = np.concatenate([np.char.zfill(head, 8).view("<U1").reshape(n, 8).astype(np.int64), org], axis=1)
    check = (31 - (digits * USCC_WEIGHTS).sum(axis=1) % 31) % 31
    alphabet = np.asarray(list(USCC))
    body = np.asarray(["".join(r) for r in alphabet[np.c_[org, check]]])
    return np.char.add(head, body)


def make_facilities(
    n: int, villages: gpd.GeoDataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Facility rows as text, as exported from a register; returns the table and the true lon/lat."""
    x0, y0, x1, y1 = villages.total_bounds
    n_parks = max(20, n // 2000)
    parks = np.c_[rng.uniform(x0, x1, n_parks), rng.uniform(y0, y1, n_parks)]
    in_park = rng.random(n) < 0.6
    park = rng.integers(0, n_parks, n)
    lon = np.where(in_park, parks[park, 0] + rng.normal(0, 0.01, n), rng.uniform(x0, x1, n))
    lat = np.where(in_park, parks[park, 1] + rng.normal(0, 0.01, n), rng.uniform(y0, y1, n))
    lon, lat = np.clip(lon, x0 + 1e-4, x1 - 1e-4), np.clip(lat, y0 + 1e-4, y1 - 1e-4)
    sectors = rng.choice(list(SECTORS), n, p=list(SECTORS.values()))
    county6 = villages["code"].str[:6].to_numpy()[rng.integers(0, len(villages), n)].astype(str)
    ids = credit_codes(rng, county6)
    names = np.char.add(
        np.char.add(np.char.add(_pick(rng, NAME_A, n), _pick(rng, NAME_A, n)), _pick(rng, NAME_B, n)),
        _pick(rng, NAME_C, n),
    )
    crowded = sectors == "人员密集场所"
    df = pd.DataFrame(
        {
            "facility_id": ids,
            "name": names,
            "sector": sectors,
            "lon": np.char.mod("%.6f", lon),
            "lat": np.char.mod("%.6f", lat),
            "address": "",
            "employees": rng.integers(3, 2000, n).astype(str),
            "occupancy": np.where(crowded, rng.integers(50, 5000, n).astype(str), ""),
            "floor_area_m2": np.where(crowded, rng.integers(200, 80_000, n).astype(str), ""),
            "fire_rating": np.where(crowded, rng.choice(["一级", "二级", "三级"], n), ""),
            "persons_500m": rng.integers(0, 3000, n).astype(str),
        }
    )
    df["address"] = df["name"].str[:2] + "路" + (np.arange(n) % 997 + 1).astype(str) + "号"
    # Bad rows of every kind validation must catch: about 0.6 % of the register.
    k = max(1, n // 1000)
    bad = rng.choice(n, 6 * k, replace=False)
    empty, text, swap, outside, dup, check = np.split(bad, 6)
    df.loc[empty, "lon"] = ""
    df.loc[text, "lat"] = "北纬32度"
    df.loc[swap, ["lon", "lat"]] = df.loc[swap, ["lat", "lon"]].to_numpy()
    df.loc[outside, "lon"] = np.char.mod("%.6f", lon[outside] - 8.0)  # in China, outside every village
    df.loc[dup, "facility_id"] = df["facility_id"].to_numpy()[(dup + 1) % n]
    wrong = df.loc[check, "facility_id"].str[:17] + np.where(
        df.loc[check, "facility_id"].str[17] == "0", "1", "0"
    )
    df.loc[check, "facility_id"] = wrong.to_numpy()
    return df, lon, lat


def make_tables(fac: pd.DataFrame, rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """Related tables joined by facility id, with a few bad rows."""
    ids = fac["facility_id"].to_numpy()
    sector = fac["sector"].to_numpy()
    n = len(fac)
    tables: dict[str, pd.DataFrame] = {}

    # Risk points: every facility has 1..6 (mean about 3); LS skewed low so red stays rare.
    per = rng.integers(1, 6, n)
    owner = np.repeat(np.arange(n), per)
    m = owner.size
    lik = rng.choice(5, m, p=[0.45, 0.3, 0.15, 0.07, 0.03]) + 1
    sev = rng.choice(5, m, p=[0.4, 0.3, 0.17, 0.09, 0.04]) + 1
    rp = pd.DataFrame(
        {
            "facility_id": ids[owner],
            "point_id": np.char.add("RP", np.char.zfill(np.arange(1, m + 1).astype(str), 9)),
            "point_name": _pick(rng, POINT_NAMES, m),
            "likelihood": lik.astype(str),
            "severity": sev.astype(str),
            "lec_l": rng.choice(["0.5", "1", "3", "6", "10"], m, p=[0.3, 0.3, 0.2, 0.15, 0.05]),
            "lec_e": rng.choice(["1", "2", "3", "6", "10"], m),
            "lec_c": rng.choice(["1", "3", "7", "15", "40", "100"], m, p=[0.3, 0.3, 0.2, 0.12, 0.06, 0.02]),
        }
    )
    bad = rng.choice(m, max(1, m // 5000), replace=False)
    rp.loc[bad[: len(bad) // 2], "likelihood"] = "高"
    rp.loc[bad[len(bad) // 2 :], "facility_id"] = "91000000MA00000000"  # unknown facility
    tables["risk_points"] = rp

    # Chemical inventories for chemical and gas enterprises: 1..5 substances each.
    demo_inv = pd.read_csv(REPO / "data" / "demo" / "chemical_inventory.csv", dtype=str)
    substances = sorted(demo_inv["substance"].dropna().unique())
    chem = np.flatnonzero(np.isin(sector, ["危险化学品", "燃气"]))
    per = rng.integers(1, 6, chem.size)
    owner = np.repeat(chem, per)
    m = owner.size
    tables["chemical_inventory"] = pd.DataFrame(
        {
            "facility_id": ids[owner],
            "unit_id": np.char.add("U", np.char.zfill((owner % 100000).astype(str), 5)),
            "unit_name": rng.choice(["原料罐区", "成品罐区", "甲类仓库", "生产装置区"], m),
            "unit_type": rng.choice(["储存单元", "生产单元"], m),
            "substance": _pick(rng, substances, m),
            "product_name": "",
            "quantity_t": np.char.mod("%.3f", rng.lognormal(2.5, 1.5, m)),
        }
    )
    tables["chemical_inventory"]["product_name"] = tables["chemical_inventory"]["substance"]

    # 2018 guide deductions for chemical enterprises: every item, 0..5 points.
    from riskmap.methods.chem2018 import DEDUCTIONS

    chem = np.flatnonzero(sector == "危险化学品")
    items = list(DEDUCTIONS)
    owner = np.repeat(chem, len(items))
    tables["deductions"] = pd.DataFrame(
        {
            "facility_id": ids[owner],
            "item": np.tile(items, chem.size),
            "points": rng.choice(6, owner.size, p=[0.4, 0.25, 0.15, 0.1, 0.06, 0.04]).astype(str),
        }
    )

    # Hidden dangers (about one per three facilities), accidents (rare) and standardisation grades.
    h = n // 3
    owner = rng.integers(0, n, h)
    found = pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 690, h), unit="D")
    deadline = found + pd.to_timedelta(rng.integers(7, 90, h), unit="D")
    closed = found + pd.to_timedelta(rng.integers(1, 120, h), unit="D")
    is_open = (closed > pd.Timestamp("2026-11-24")) | (rng.random(h) < 0.05)
    tables["hidden_dangers"] = pd.DataFrame(
        {
            "hazard_id": np.char.add("YH", np.char.zfill(np.arange(1, h + 1).astype(str), 9)),
            "facility_id": ids[owner],
            "grade": np.where(rng.random(h) < 0.01, "重大", "一般"),
            "found_date": found.strftime("%Y-%m-%d"),
            "deadline": deadline.strftime("%Y-%m-%d"),
            "closed_date": np.where(is_open, "", closed.strftime("%Y-%m-%d")),
            "description": _pick(rng, DANGERS, h),
        }
    )
    a = max(1, n // 2000)
    owner = rng.integers(0, n, a)
    tables["accidents"] = pd.DataFrame(
        {
            "accident_id": np.char.add("SG", np.char.zfill(np.arange(1, a + 1).astype(str), 8)),
            "facility_id": ids[owner],
            "date": (
                pd.Timestamp("2023-12-01") + pd.to_timedelta(rng.integers(0, 1090, a), unit="D")
            ).strftime("%Y-%m-%d"),
            "class": rng.choice(["一般", "较大", "重大"], a, p=[0.9, 0.09, 0.01]),
            "deaths": rng.choice(["0", "1", "2", "3"], a, p=[0.6, 0.3, 0.07, 0.03]),
            "serious_injuries": rng.integers(0, 3, a).astype(str),
            "description": "事故",
        }
    )
    std = np.flatnonzero(rng.random(n) < 0.2)
    tables["standardisation"] = pd.DataFrame(
        {
            "facility_id": ids[std],
            "grade": rng.choice(["一级", "二级", "三级"], std.size, p=[0.05, 0.35, 0.6]),
            "valid_until": (
                pd.Timestamp("2025-06-01") + pd.to_timedelta(rng.integers(0, 1100, std.size), unit="D")
            ).strftime("%Y-%m-%d"),
        }
    )
    return tables


def write_csv(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df.astype(str), preserve_index=False)
    pacsv.write_csv(table, path)


CONFIG = """# riskmap benchmark project: {n:,} synthetic facilities, {v:,} villages (scripts/make_bench_data.py)
[project]
name = "基准 {size}"
district_code = "110101"

[facilities]
path = "{facilities}"
{facility_cols}
[inventory]
path = "chemical_inventory.csv"

[risk_points]
path = "risk_points.csv"

[deductions]
path = "deductions.csv"

[hidden_dangers]
path = "hidden_dangers.csv"

[accidents]
path = "accidents.csv"

[standardisation]
path = "standardisation.csv"

[[zones]]
kind = "village"
path = "{village}"
{village_layer}
[[zones]]
kind = "town"
path = "{town}"
{town_layer}
[scoring.sectors]
"危险化学品" = ["gb18218", "chem2018", "ls_matrix"]
"燃气" = ["gb18218", "ls_matrix"]
"烟花爆竹" = ["ls_matrix"]
"工贸" = ["ls_matrix"]
"建筑施工" = ["ls_matrix"]
"非煤矿山" = ["lec"]
"人员密集场所" = ["indicator", "ls_matrix"]

[methods.gb18218]
grade_levels = {{ "1" = "red", "2" = "orange", "3" = "yellow", "4" = "blue" }}
persons_column = "persons_500m"   # α from a facility column; no population raster (see the docstring)

[methods.indicator]
breaks = {{ red = 75, orange = 50, yellow = 25 }}

[methods.indicator.indicators.occupancy]
column = "occupancy"
weight = 0.5
max = 3000

[methods.indicator.indicators.floor_area]
column = "floor_area_m2"
weight = 0.2
max = 50000

[methods.indicator.indicators.fire_rating]
column = "fire_rating"
weight = 0.3
max = 100
categories = {{ "一级" = 0, "二级" = 40, "三级" = 100 }}

[adjustment]
as_of = 2026-11-24

[[adjustment.rules]]
name = "open_major_hidden_danger"
when = {{ condition = "open_major_hidden_danger" }}
raise_to = "red"

[[adjustment.rules]]
name = "overdue_hidden_danger"
when = {{ condition = "overdue_hidden_danger", grade = "一般" }}
raise_by = 1
ceiling = "orange"

[[adjustment.rules]]
name = "fatal_accident_12m"
when = {{ condition = "accident", within_months = 12, min_deaths = 1 }}
raise_to = "red"

[[adjustment.rules]]
name = "standardisation"
when = {{ condition = "standardisation", grades = ["一级", "二级"] }}
lower_by = 1
floor = "yellow"
sectors = ["工贸", "烟花爆竹", "非煤矿山", "燃气"]

[zoning]
rule = "max"
empty_level = "blue"

[zoning.spillover]
distance_m = 1000
grades = [1, 2]
min_level = "orange"

[zoning.by_layer.town]
rule = "index"

[zoning.index]
weights = {{ hazard = 0.7, vulnerability = 0.3 }}
hazard_weights = {{ red = 10, orange = 5, yellow = 2, blue = 1 }}
breaks = {{ red = 0.6, orange = 0.4, yellow = 0.2 }}

[supervision]
year = 2027
frequency = {{ red = 4, orange = 2, yellow = 1, blue = 0 }}
zone_patrols = {{ red = 12, orange = 4, yellow = 2, blue = 1, none = 0 }}

[supervision.sampling]
rates = {{ blue = 0.10 }}

[outputs]
dir = "{outdir}"
html = false             # the HTML map is benchmarked separately (scripts/bench_html.py)
figure = false
"""


def write_size(out: Path, size: str) -> Path:
    n, n_vil = SIZES[size], VILLAGES[size]
    zones = write_zones(out, n_vil)
    folder = out / size
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    rng = np.random.default_rng(20261124 + n)
    villages = gpd.read_parquet(zones / "villages.parquet", columns=["code", "geometry"])
    fac, lon, lat = make_facilities(n, villages, rng)
    tables = make_tables(fac, rng)
    write_csv(fac, folder / "facilities.csv")
    # GeoParquet: the same register as points; unusable coordinates have no geometry.
    x = pd.to_numeric(fac["lon"], errors="coerce").to_numpy()
    y = pd.to_numeric(fac["lat"], errors="coerce").to_numpy()
    geom = shapely.points(x, y)
    geom[np.isnan(x) | np.isnan(y)] = None
    gpd.GeoDataFrame(fac.drop(columns=["lon", "lat"]), geometry=geom, crs="EPSG:4490").to_parquet(
        folder / "facilities.parquet", write_covering_bbox=True
    )
    for name, df in tables.items():
        write_csv(df, folder / f"{name}.csv")
    rel = f"../{zones.name}"
    common = {"n": n, "v": n_vil, "size": size}
    (folder / "riskmap.toml").write_text(
        CONFIG.format(
            **common,
            facilities="facilities.csv",
            facility_cols='crs = "EPSG:4490"\n',
            village=f"{rel}/boundaries.gpkg",
            village_layer='layer = "village"\n',
            town=f"{rel}/boundaries.gpkg",
            town_layer='layer = "town"\n',
            outdir="out",
        ),
        encoding="utf-8",
    )
    (folder / "riskmap-parquet.toml").write_text(
        CONFIG.format(
            **common,
            facilities="facilities.parquet",
            facility_cols="",
            village=f"{rel}/villages.parquet",
            village_layer="",
            town=f"{rel}/towns.parquet",
            town_layer="",
            outdir="out-parquet",
        ),
        encoding="utf-8",
    )
    rows = ", ".join(f"{k} {len(v):,}" for k, v in tables.items())
    print(f"{size}: {n:,} facilities ({rows}) in {time.perf_counter() - t0:.1f} s -> {folder}")
    return folder


def parse_sizes(text: str) -> list[str]:
    sizes = [s.strip().lower() for s in text.split(",") if s.strip()]
    unknown = [s for s in sizes if s not in SIZES]
    if unknown:
        raise SystemExit(f"unknown size(s) {', '.join(unknown)}; choose from {', '.join(SIZES)}")
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k,1M", help="comma-separated: 10k, 100k, 1M, 5M")
    ap.add_argument("--out", type=Path, default=Path("/tmp/riskmap-bench"))
    a = ap.parse_args()
    for size in parse_sizes(a.sizes):
        write_size(a.out, size)


if __name__ == "__main__":
    main()
