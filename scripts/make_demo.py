#!/usr/bin/env python
"""Generate the deterministic demo district 滨江区 (fictional, Jiangsu) for riskmap.

Usage:  python scripts/make_demo.py [--out DIR] [--no-raster]

Everything is drawn from ``numpy.random.default_rng(20261124)`` in a fixed order; no network access.
Running the script twice yields byte-identical CSVs and identical geometries / raster values.
Geometry is built in EPSG:4549 (CGCS2000 / 3-degree GK CM 120E, metres) and written in EPSG:4490.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import rasterio
import shapely
import shapely.affinity
from rasterio.features import geometry_mask
from rasterio.transform import from_origin
from shapely.geometry import LineString, MultiPoint, Point, Polygon

SEED = 20261124
REPO = Path(__file__).resolve().parents[1]
REF = REPO / "data" / "reference"
COUNTY = "329901"
CRS_GEO = "EPSG:4490"
CRS_M = "EPSG:4549"
CENTER_LONLAT = (119.65, 32.25)
TODAY = dt.date(2026, 11, 24)

TO_M = pyproj.Transformer.from_crs(CRS_GEO, CRS_M, always_xy=True)
TO_GEO = pyproj.Transformer.from_crs(CRS_M, CRS_GEO, always_xy=True)

# --------------------------------------------------------------------------------------------------
# unified social credit code (GB 32100-2015)
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check(first17: str) -> str:
    s = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=False))
    return USCC_ALPHABET[(31 - s % 31) % 31]


def make_uscc(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        org = "".join(USCC_ALPHABET[i] for i in rng.integers(0, 31, 9))
        body = "91" + COUNTY + org
        code = body + uscc_check(body)
        if code not in used:
            used.add(code)
            return code


# --------------------------------------------------------------------------------------------------
# helpers
def to_geo_xy(x, y):
    lon, lat = TO_GEO.transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon), np.asarray(lat)


def geom_to_geo(g):
    return shapely.transform(g, lambda c: np.column_stack(TO_GEO.transform(c[:, 0], c[:, 1])))


def sample_in(rng, poly, n, proposal, max_rounds=200):
    """Draw n points (metres) with ``proposal(rng, k) -> (k,2)`` and keep those inside ``poly``."""
    shapely.prepare(poly)
    out = []
    need = n
    for _ in range(max_rounds):
        if need <= 0:
            break
        k = max(16, need * 2)
        cand = proposal(rng, k)
        ok = shapely.contains_xy(poly, cand[:, 0], cand[:, 1])
        cand = cand[ok][:need]
        out.append(cand)
        need -= len(cand)
    pts = np.vstack(out) if out else np.empty((0, 2))
    if len(pts) < n:
        raise RuntimeError("sampling failed")
    return pts


def gauss_around(centers, sigmas, weights=None):
    centers = np.asarray(centers, float)
    sigmas = np.broadcast_to(np.asarray(sigmas, float), (len(centers),))
    p = None if weights is None else np.asarray(weights, float) / np.sum(weights)

    def prop(rng, k):
        idx = rng.choice(len(centers), size=k, p=p)
        return centers[idx] + rng.normal(size=(k, 2)) * sigmas[idx, None]

    return prop


def fmt_g(v: float) -> str:
    return f"{v:g}"


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


# --------------------------------------------------------------------------------------------------
# names
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
VILLAGE_SUFFIX = [
    "家村",
    "庄村",
    "巷村",
    "圩村",
    "桥村",
    "湾村",
    "港村",
    "墩村",
    "舍村",
    "塘村",
    "集村",
    "营村",
]
COMMUNITY_STEMS = [
    "东湖",
    "西园",
    "南苑",
    "北门",
    "文昌",
    "府前",
    "锦绣",
    "新华",
    "人民",
    "建设",
    "幸福",
    "和平",
    "阳光",
    "滨河",
    "江南",
    "花园",
    "翠竹",
    "金桥",
    "望江",
    "长青",
    "春晖",
    "朝阳",
    "百合",
    "清风",
    "丰乐",
    "钟楼",
    "学府",
    "玉带",
    "运河",
    "新城",
    "桂花",
    "天禧",
    "凤凰",
    "紫薇",
    "永安",
    "育才",
    "荷花",
    "梅园",
    "柳岸",
    "明珠",
    "光华",
    "双塔",
    "茶亭",
    "书院",
    "盛世",
    "宝塔",
    "云台",
    "鼓楼",
    "铁桥",
    "海棠",
    "银杏",
    "凤鸣",
    "状元",
    "青年",
    "彩虹",
    "龙湾",
]
VILLAGE_FEATURE_STEMS = [
    "河口",
    "沙洲",
    "荷塘",
    "枫林",
    "石桥",
    "松岗",
    "柳树",
    "杏花",
    "青龙",
    "白马",
    "黄泥",
    "红星",
    "团结",
    "胜利",
    "永丰",
    "双河",
    "三元",
    "四合",
    "五里",
    "六圩",
    "七里",
    "八角",
    "九龙",
    "十里",
    "高岗",
    "芦湾",
    "油坊",
    "窑头",
    "渡口",
    "塘埂",
    "新桥",
    "大圩",
    "小圩",
    "中心",
    "东风",
    "前进",
    "联合",
    "光明",
    "群力",
    "兴旺",
]
BRAND_SYL = list(
    "恒华泰金鑫宏远永盛瑞丰润达嘉隆昌信诚德鼎益通顺安康博越中天海东方正兴旺裕源凯创合富力华联明晟祥"
)
STREET_NAMES = ["城中街道", "城东街道", "城西街道", "江滨街道"]
TOWN_NAMES = ["新港镇", "龙泉镇", "桥头镇", "白塔镇", "三河镇", "青山镇", "柳塘镇", "安丰镇"]


def brand(rng) -> str:
    a, b = rng.choice(len(BRAND_SYL), 2, replace=False)
    return BRAND_SYL[a] + BRAND_SYL[b]


# --------------------------------------------------------------------------------------------------
# 1. outline, towns, villages
def make_outline(rng, cx, cy):
    theta = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 10):
        amp = rng.uniform(0.03, 0.10) / (k - 1) ** 0.5
        r += amp * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    x = r * np.cos(theta) * 1.0
    y = r * np.sin(theta) * 0.86
    # scale so that the outline spans ~37.5 km x ~33 km
    sx = 37500 / (x.max() - x.min())
    sy = 33000 / (y.max() - y.min())
    x = (x - (x.max() + x.min()) / 2) * sx + cx
    y = (y - (y.max() + y.min()) / 2) * sy + cy
    return shapely.make_valid(Polygon(np.column_stack([x, y])))


def farthest_point_seeds(rng, poly, fixed, n, inner_buffer):
    inner = poly.buffer(-inner_buffer)
    minx, miny, maxx, maxy = inner.bounds
    cand = sample_in(
        rng, inner, 4000, lambda r, k: np.column_stack([r.uniform(minx, maxx, k), r.uniform(miny, maxy, k)])
    )
    chosen = [np.asarray(p, float) for p in fixed]
    for _ in range(n):
        d = np.min(np.stack([np.hypot(*(cand - c).T) for c in chosen]), axis=0)
        chosen.append(cand[int(np.argmax(d))])
    return np.array(chosen[len(fixed) :])


def build_tessellation(rng, outline, cx, cy):
    # town seeds: 4 streets around the urban core, 8 towns spread by farthest-point sampling
    street = [np.array([cx, cy])]
    for ang in (0.0, 180.0, 265.0):  # east, west, south (river side)
        a = math.radians(ang + rng.uniform(-12, 12))
        rr = rng.uniform(4200, 5000)
        street.append(np.array([cx + rr * math.cos(a), cy + rr * math.sin(a)]))
    towns = farthest_point_seeds(rng, outline, street, 8, 3500)
    # the southernmost town hosts the port and chemical park -> 新港镇; others clockwise from north
    south = int(np.argmin(towns[:, 1]))
    others = [i for i in range(8) if i != south]
    ang = {i: (math.degrees(math.atan2(towns[i, 0] - cx, towns[i, 1] - cy)) + 360) % 360 for i in others}
    order = [south] + sorted(others, key=lambda i: ang[i])
    towns = towns[order]
    town_xy = np.vstack([np.array(street), towns])  # 12 x 2
    town_codes = [f"{COUNTY}{i:03d}000" for i in (1, 2, 3, 4)] + [
        f"{COUNTY}{100 + i:03d}000" for i in range(8)
    ]
    town_names = STREET_NAMES + TOWN_NAMES
    is_street = [True] * 4 + [False] * 8

    # village seeds: denser near town centres, with a minimum spacing
    minx, miny, maxx, maxy = outline.bounds
    tw = np.array([2.6] * 4 + [1.0] * 8)
    near = gauss_around(town_xy, np.array([2200] * 4 + [2600] * 8), tw)

    def prop(r, k):
        a = near(r, k)
        u = np.column_stack([r.uniform(minx, maxx, k), r.uniform(miny, maxy, k)])
        pick = r.random(k) < 0.55
        return np.where(pick[:, None], a, u)

    cand = sample_in(rng, outline.buffer(-150), 3000, prop)
    seeds = [*town_xy]
    for p in cand:
        if len(seeds) >= 205:
            break
        d = np.hypot(*(np.array(seeds) - p).T)
        # local min spacing: smaller close to the urban core
        dc = min(np.hypot(*(town_xy - p).T))
        spacing = 650 + 0.12 * dc
        if d.min() >= spacing:
            seeds.append(p)
    seeds = np.array(seeds)

    # Voronoi edges + outline boundary, noded and polygonized -> exact coverage
    mp = MultiPoint(seeds)
    cells = shapely.get_parts(shapely.voronoi_polygons(mp, extend_to=outline.buffer(5000), ordered=True))
    lines = shapely.union_all(np.concatenate([shapely.boundary(cells), [outline.boundary]]))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    rp = shapely.point_on_surface(faces)
    inside = shapely.contains(outline, rp)
    faces, rp = faces[inside], rp[inside]
    tree = shapely.STRtree(cells)
    owner = np.full(len(faces), -1)
    for i, p in enumerate(rp):
        hits = tree.query(p, predicate="within")
        owner[i] = int(hits[0])
    vill_geoms = []
    for s in range(len(seeds)):
        parts = faces[owner == s]
        g = shapely.union_all(parts) if len(parts) > 1 else (parts[0] if len(parts) else None)
        vill_geoms.append(g)
    keep = [i for i, g in enumerate(vill_geoms) if g is not None and not g.is_empty]
    # small multipart remnants are attached to the neighbour sharing the longest border
    vill_geoms = [vill_geoms[i] for i in keep]
    seeds = seeds[keep]

    # town assignment: nearest town seed, then fix non-contiguous towns
    dist = np.hypot(seeds[:, None, 0] - town_xy[None, :, 0], seeds[:, None, 1] - town_xy[None, :, 1])
    town_of = np.argmin(dist, axis=1)
    for _ in range(20):
        changed = False
        for t in range(12):
            members = np.flatnonzero(town_of == t)
            u = shapely.union_all([vill_geoms[i] for i in members])
            if u.geom_type == "Polygon":
                continue
            parts = sorted(shapely.get_parts(u), key=lambda g: -g.area)
            for small in parts[1:]:
                for i in members:
                    if vill_geoms[i].intersection(small).area > 0.5 * vill_geoms[i].area:
                        # neighbour town sharing the longest border
                        best, best_len = None, 0.0
                        for j in range(len(vill_geoms)):
                            if town_of[j] == t:
                                continue
                            ln = vill_geoms[i].intersection(vill_geoms[j]).length
                            if ln > best_len:
                                best, best_len = town_of[j], ln
                        if best is not None:
                            town_of[i] = best
                            changed = True
        if not changed:
            break
    return town_xy, town_codes, town_names, is_street, seeds, vill_geoms, town_of


def name_villages(rng, seeds, town_xy, town_of, is_street, town_codes):
    used: set[str] = set()
    comm = list(COMMUNITY_STEMS)
    rng.shuffle(comm)
    feat = list(VILLAGE_FEATURE_STEMS)
    rng.shuffle(feat)
    ci = [0]

    def community_name():
        while True:
            rnd, j = divmod(ci[0], len(comm))
            n = comm[j] + ["社区", "新村社区", "花园社区", "苑社区", "里社区"][rnd % 5]
            ci[0] += 1
            if n not in used:
                used.add(n)
                return n

    def village_name():
        while True:
            if rng.random() < 0.7:
                n = SURNAMES[rng.integers(len(SURNAMES))] + VILLAGE_SUFFIX[rng.integers(len(VILLAGE_SUFFIX))]
            else:
                n = feat[rng.integers(len(feat))] + "村"
            if n not in used:
                used.add(n)
                return n

    codes = [""] * len(seeds)
    names = [""] * len(seeds)
    for t in range(12):
        members = np.flatnonzero(town_of == t)
        d = np.hypot(*(seeds[members] - town_xy[t]).T)
        order = members[np.argsort(d, kind="stable")]
        dsorted = np.sort(d, kind="stable")
        nc, nv = 1, 200
        for k, (i, di) in enumerate(zip(order, dsorted, strict=False)):
            community = (di < 3200) if is_street[t] else (k < 1 or di < 900)
            if community:
                codes[i] = town_codes[t][:9] + f"{nc:03d}"
                names[i] = community_name()
                nc += 1
            else:
                codes[i] = town_codes[t][:9] + f"{nv:03d}"
                names[i] = village_name()
                nv += 1
    return codes, names


# --------------------------------------------------------------------------------------------------
# 2. population raster
def make_population(rng, outline, town_xy, is_street, seeds, park_m, total_target):
    minx, miny, maxx, maxy = outline.bounds
    x0 = math.floor(minx / 100) * 100 - 200
    y1 = math.ceil(maxy / 100) * 100 + 200
    x1 = math.ceil(maxx / 100) * 100 + 200
    y0 = math.floor(miny / 100) * 100 - 200
    w, h = int((x1 - x0) / 100), int((y1 - y0) / 100)
    transform = from_origin(x0, y1, 100, 100)
    xs = x0 + 50 + 100 * np.arange(w)
    ys = y1 - 50 - 100 * np.arange(h)
    X, Y = np.meshgrid(xs, ys)
    inside = ~geometry_mask([outline], out_shape=(h, w), transform=transform)
    park = ~geometry_mask([park_m.buffer(150)], out_shape=(h, w), transform=transform)

    def kernel(cx, cy, s):
        k = np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * s * s)) * inside
        return k / k.sum()

    dens = np.zeros((h, w))
    street_pop = rng.uniform(0.42, 0.48) * total_target / 4
    for t in range(12):
        if is_street[t]:
            pop = street_pop * rng.uniform(0.8, 1.2)
            s = rng.uniform(1500, 2000)
        else:
            pop = total_target * rng.uniform(0.022, 0.032)
            s = rng.uniform(1000, 1300)
        dens += pop * kernel(town_xy[t, 0], town_xy[t, 1], s)
    for p in seeds[12:]:
        dens += rng.uniform(300, 900) * kernel(p[0], p[1], 400)
    base = np.where(inside, 1.0 + 0.5 * rng.random((h, w)), 0.0)
    dens += base / base.sum() * total_target * 0.05
    dens[park] *= 0.03  # chemical park: almost no residents
    dens *= total_target / dens[inside].sum()
    arr = np.where(inside, dens, -9999.0).astype("float32")
    return arr, transform, inside


def pop_within(arr, transform, x, y, radius=500.0, sub=8):
    """Area-weighted population within `radius` of (x, y) using sub-cell supersampling."""
    inv = ~transform
    c0, r0 = inv * (x - radius, y + radius)
    c1, r1 = inv * (x + radius, y - radius)
    total = 0.0
    offs = (np.arange(sub) + 0.5) / sub
    for r in range(max(0, int(r0)), min(arr.shape[0], int(r1) + 1)):
        for c in range(max(0, int(c0)), min(arr.shape[1], int(c1) + 1)):
            v = arr[r, c]
            if v <= 0:
                continue
            cx0, cy0 = transform * (c, r)
            px = cx0 + offs * 100
            py = cy0 - offs * 100
            PX, PY = np.meshgrid(px, py)
            frac = np.mean((PX - x) ** 2 + (PY - y) ** 2 <= radius * radius)
            total += v * frac
    return total


# --------------------------------------------------------------------------------------------------
# 3. GB 18218 reference
def load_gb18218():
    t1 = pd.read_csv(REF / "gb18218_table1_named.csv", dtype=str, keep_default_na=False)
    t2 = pd.read_csv(REF / "gb18218_table2_categories.csv", dtype=str, keep_default_na=False)
    t3 = pd.read_csv(REF / "gb18218_table3_beta_toxic_gases.csv", dtype=str, keep_default_na=False)
    t4 = pd.read_csv(REF / "gb18218_table4_beta_categories.csv", dtype=str, keep_default_na=False)
    beta_cat = {r.symbol: float(r.beta) for r in t4.itertuples()}
    beta_cas = {r.cas: float(r.beta) for r in t3.itertuples()}
    named = {}
    cas_count: dict[str, int] = {}
    for r in t1.itertuples():
        for c in [c.strip() for c in r.cas.split(";") if c.strip()]:
            cas_count[c] = cas_count.get(c, 0) + 1
    for r in t1.itertuples():
        cas = [c.strip() for c in r.cas.split(";") if c.strip()]
        beta = beta_cat[r.beta_category]
        for c in cas:
            if c in beta_cas:
                beta = beta_cas[c]
        single = cas[0] if len(cas) == 1 and cas_count[cas[0]] == 1 else ""
        named[r.name] = {"Q": float(r.critical_quantity_t), "beta": beta, "cas": single}
    cats = {
        r.symbol: {"Q": float(r.critical_quantity_t), "beta": beta_cat[r.symbol]} for r in t2.itertuples()
    }
    return named, cats


def alpha_of(persons: float) -> float:
    if persons >= 100:
        return 2.0
    if persons >= 50:
        return 1.5
    if persons >= 30:
        return 1.2
    if persons >= 1:
        return 1.0
    return 0.5


def grade_of(r: float) -> int:
    return 1 if r >= 100 else 2 if r >= 50 else 3 if r >= 10 else 4


# substance palettes: (name in table 1, weight, typical unit share)
CHEM_NAMED = [
    ("甲醇", 10),
    ("甲苯", 8),
    ("苯", 5),
    ("乙醇", 5),
    ("丙酮", 5),
    ("乙酸乙酯", 6),
    ("正己烷", 3),
    ("环己烷", 3),
    ("氨", 6),
    ("氯", 4),
    ("氢", 4),
    ("液化石油气(含丙烷、丁烷及其混合物)", 3),
    ("甲烷,天然气", 3),
    ("环氧乙烷", 2),
    ("1,2-环氧丙烷", 2),
    ("氯乙烯", 2),
    ("2-丙烯腈", 2),
    ("苯乙烯", 3),
    ("二硫化碳", 1),
    ("硝酸(发红烟的除外,含硝酸>70%)", 2),
    ("氯化氢(无水)", 2),
    ("二氧化硫", 2),
    ("甲醛(含量>90%)", 1),
    ("乙炔", 1),
    ("乙烯", 1),
    ("1,3-丁二烯", 1),
    ("1-氯-2,3-环氧丙烷", 2),
    ("甲苯二异氰酸酯", 1),
    ("溴", 1),
    ("过乙酸", 1),
    ("碳化钙", 1),
    ("氧(压缩的或液化的)", 2),
    ("汽油(乙醇汽油、甲醇汽油)", 2),
    ("硫化氢", 1),
    ("溴甲烷", 1),
    ("二甲醚", 1),
    ("钠", 1),
]
CHEM_CATEGORY = [
    ("W5.3", "异丙醇", 3),
    ("W5.3", "丁酮", 2),
    ("W5.3", "乙腈", 2),
    ("W5.3", "四氢呋喃", 2),
    ("W5.4", "二甲苯", 3),
    ("W5.4", "乙酸丁酯", 3),
    ("W5.4", "正丁醇", 2),
    ("W5.4", "柴油", 2),
    ("J5", "硫酸二甲酯", 1),
    ("J5", "氰化钠", 1),
    ("W2", "丙烯", 1),
    ("W9.2", "高锰酸钾", 1),
]
STORAGE_UNITS = [
    "1#罐区",
    "2#罐区",
    "3#罐区",
    "甲类仓库",
    "乙类仓库",
    "危化品仓库",
    "球罐区",
    "原料罐区",
    "成品罐区",
]
PRODUCTION_UNITS = [
    "合成车间",
    "精馏车间",
    "聚合车间",
    "氯化车间",
    "加氢车间",
    "配制车间",
    "反应车间",
    "中试车间",
    "包装车间",
]


# --------------------------------------------------------------------------------------------------
# 4. facilities
SECTOR_COUNTS = {
    "危险化学品": 260,
    "燃气": 90,
    "烟花爆竹": 40,
    "工贸": 1500,
    "建筑施工": 380,
    "非煤矿山": 30,
    "人员密集场所": 700,
}
GT_KINDS = [  # 工贸 sub-kinds: (name suffix, weight, risk-point set, employees median)
    ("机械制造有限公司", 14, "mech", 60),
    ("金属制品有限公司", 10, "mech", 40),
    ("铸造有限公司", 4, "metal", 80),
    ("纺织有限公司", 8, "textile", 120),
    ("木业有限公司", 6, "dust", 35),
    ("家具有限公司", 5, "dust", 50),
    ("铝业有限公司", 3, "dust_metal", 70),
    ("粮油有限公司", 3, "dust", 30),
    ("食品有限公司", 6, "food", 60),
    ("冷链物流有限公司", 3, "ammonia", 25),
    ("塑料制品有限公司", 7, "mech", 35),
    ("电子科技有限公司", 6, "light", 150),
    ("建材有限公司", 5, "metal", 40),
    ("包装材料有限公司", 5, "light", 30),
    ("服装有限公司", 5, "textile", 90),
    ("船舶配件有限公司", 3, "mech", 70),
    ("汽车零部件有限公司", 5, "mech", 120),
    ("仓储有限公司", 2, "light", 15),
]
CROWD_KINDS = [  # (template, weight, employees median)
    ("{b}购物中心", 3, 150),
    ("{t}农贸市场", 3, 25),
    ("{b}大酒店", 5, 60),
    ("{b}宾馆", 8, 12),
    ("{b}超市", 12, 20),
    ("{b}影城", 2, 25),
    ("{b}KTV", 4, 15),
    ("{b}商贸城", 2, 80),
    ("{b}民营医院", 2, 120),
    ("{b}培训中心", 4, 20),
    ("{b}餐饮店", 20, 10),
    ("{b}网吧", 3, 5),
    ("{b}体育馆", 1, 20),
    ("{b}养生会所", 3, 10),
    ("{b}快捷酒店", 6, 10),
    ("{b}汽车站", 1, 40),
    ("{b}茶楼", 4, 8),
    ("{b}游泳馆", 1, 15),
]
CONSTR_KINDS = [
    "安置房",
    "商住楼",
    "道路改造",
    "学校扩建",
    "桥梁",
    "标准厂房",
    "污水管网",
    "人民医院新院区",
    "综合体",
    "保障房",
]


def lognormal_int(rng, median, sigma, lo, hi):
    return int(np.clip(round(median * math.exp(rng.normal() * sigma)), lo, hi))


# risk points: (name, max severity, exposure choices)
RP_COMMON = [
    ("配电室", 3, (3, 6)),
    ("消防设施", 3, (3, 6)),
    ("有限空间作业", 5, (1, 2)),
    ("动火作业", 4, (1, 2, 3)),
    ("高处作业", 4, (1, 2, 3)),
    ("叉车作业", 3, (6,)),
    ("仓库", 3, (6,)),
    ("厂内机动车辆", 3, (6,)),
]
RP_SETS = {
    "chem": [
        ("储罐区", 5, (10, 6)),
        ("装卸作业区", 5, (3, 6)),
        ("反应釜", 5, (6, 10)),
        ("精馏塔", 4, (6, 10)),
        ("危化品仓库", 5, (6,)),
        ("可燃气体报警系统", 4, (10,)),
        ("检维修作业", 4, (1, 2)),
        ("控制室", 3, (10,)),
        ("盲板抽堵作业", 4, (1, 2)),
        ("污水处理站", 4, (6,)),
    ],
    "gas": [
        ("储罐区", 5, (10,)),
        ("卸车作业", 5, (3, 6)),
        ("加油加气区", 4, (10,)),
        ("站房", 3, (10,)),
        ("埋地油罐", 4, (10,)),
        ("液化气钢瓶充装区", 5, (6,)),
    ],
    "fireworks": [
        ("烟花爆竹存放区", 5, (10,)),
        ("销售区", 4, (6,)),
        ("装卸作业", 4, (2, 3)),
        ("库房", 5, (6,)),
    ],
    "mine": [
        ("边坡", 5, (10,)),
        ("爆破作业", 5, (1, 2)),
        ("破碎车间", 4, (6,)),
        ("排土场", 4, (6,)),
        ("运输道路", 4, (6,)),
        ("炸药库", 5, (10,)),
        ("采场", 5, (6,)),
    ],
    "constr": [
        ("深基坑", 5, (6,)),
        ("塔吊", 5, (6,)),
        ("高支模", 5, (3, 6)),
        ("脚手架", 4, (6,)),
        ("施工升降机", 4, (6,)),
        ("临时用电", 3, (6,)),
        ("起重吊装作业", 4, (3,)),
        ("边坡", 4, (6,)),
    ],
    "crowd": [
        ("人员密集区域", 4, (10, 6)),
        ("厨房燃气", 4, (6,)),
        ("疏散通道", 3, (10,)),
        ("电梯", 3, (6,)),
        ("消防控制室", 3, (10,)),
        ("电气线路", 3, (10,)),
    ],
    "mech": [
        ("冲压设备", 4, (6,)),
        ("喷漆房", 4, (6,)),
        ("行车", 4, (6,)),
        ("机加工车间", 3, (6,)),
        ("焊接作业", 3, (6,)),
    ],
    "metal": [("熔炼炉", 5, (6,)), ("浇注作业", 5, (6,)), ("行车", 4, (6,)), ("煤气管道", 5, (10,))],
    "textile": [("梳棉车间", 3, (6,)), ("染色车间", 3, (6,)), ("锅炉房", 4, (10,)), ("成品仓库", 3, (6,))],
    "dust": [("粉尘涉爆区域", 5, (6,)), ("除尘系统", 5, (6,)), ("木工车间", 3, (6,)), ("喷漆房", 4, (6,))],
    "dust_metal": [("粉尘涉爆区域", 5, (6,)), ("铝粉抛光车间", 5, (6,)), ("除尘系统", 5, (6,))],
    "food": [
        ("液氨制冷车间", 5, (10,)),
        ("锅炉房", 4, (10,)),
        ("粉尘涉爆区域", 4, (6,)),
        ("包装车间", 2, (6,)),
    ],
    "ammonia": [("液氨制冷车间", 5, (10,)), ("冷库", 4, (10,)), ("装卸作业区", 3, (6,))],
    "light": [("生产车间", 3, (6,)), ("成品仓库", 3, (6,)), ("锂电池存放区", 4, (6,))],
}
LS_BANDS = {
    "red": [(4, 5), (5, 4), (5, 5)],
    "orange": [(3, 5), (5, 3), (4, 4)],
    "yellow": [(3, 3), (2, 5), (5, 2), (3, 4), (4, 3)],
    "blue": [
        (1, 1),
        (1, 2),
        (2, 1),
        (1, 3),
        (3, 1),
        (2, 2),
        (1, 4),
        (4, 1),
        (1, 5),
        (5, 1),
        (2, 3),
        (3, 2),
        (2, 4),
        (4, 2),
    ],
}
LEVEL_ORDER = ["red", "orange", "yellow", "blue"]
LEC_L = {5: (10, 6), 4: (6, 3), 3: (3, 1), 2: (1, 0.5), 1: (0.5, 0.2, 0.1)}
LEC_C = {5: (100, 40), 4: (40, 15), 3: (15, 7), 2: (7, 3), 1: (3, 1)}

HD_COMMON = [
    "消防通道堵塞",
    "灭火器过期未更换",
    "安全出口指示标志损坏",
    "应急照明不亮",
    "配电箱未接地",
    "电气线路私拉乱接",
    "安全警示标志缺失",
    "员工三级安全教育记录不全",
    "应急预案未按期演练",
    "安全管理台账不全",
    "隐患排查记录缺失",
    "劳动防护用品配备不足",
    "特种设备未按期检验",
    "有限空间未设置警示标识",
    "动火作业未办理审批手续",
    "高处作业未系安全带",
    "消防栓水压不足",
    "疏散通道堆放杂物",
    "防护栏杆缺失",
    "安全生产责任制未落实到岗位",
]
HD_SECTOR = {
    "危险化学品": [
        "可燃气体报警器未定期检定",
        "储罐液位计失灵",
        "静电接地线断开",
        "罐区防火堤破损",
        "紧急切断阀未投用",
        "安全阀超期未校验",
        "装卸区未设置防溢流设施",
        "危化品混存",
    ],
    "燃气": [
        "可燃气体报警器未定期检定",
        "加油机静电接地不良",
        "卸油口未上锁",
        "液化气钢瓶超期未检",
        "站内吸烟未制止",
    ],
    "烟花爆竹": ["超量储存烟花爆竹", "烟花爆竹与其他商品混放", "零售点未设置禁火标志"],
    "工贸": [
        "粉尘清扫不及时",
        "除尘器泄爆装置缺失",
        "机械设备防护罩缺失",
        "行车限位器失效",
        "液氨管道腐蚀",
        "冲床光电保护装置失效",
        "叉车司机无证驾驶",
    ],
    "建筑施工": [
        "深基坑未按方案放坡",
        "塔吊限位装置失效",
        "脚手架连墙件缺失",
        "临边洞口防护缺失",
        "施工用电未做到一机一闸一漏",
    ],
    "非煤矿山": ["边坡台阶超高", "爆破警戒范围不足", "排土场未设置挡车设施", "采场浮石未清理"],
    "人员密集场所": [
        "防火门闭门器损坏",
        "厨房燃气泄漏报警装置缺失",
        "消防控制室值班人员无证",
        "电动车在楼道内充电",
    ],
}
HD_MAJOR = {
    "危险化学品": [
        "涉及重点监管危险化工工艺的装置未实现自动化控制",
        "构成重大危险源的罐区未实现紧急切断功能",
        "特种作业人员无证上岗",
        "危险化学品生产装置与周边人员密集场所外部安全防护距离不足",
    ],
    "燃气": ["燃气管道被违章占压", "液化石油气储罐安全阀失效未更换"],
    "烟花爆竹": ["烟花爆竹零售点与居民居住场所设置在同一建筑物内"],
    "工贸": [
        "粉尘爆炸危险场所除尘系统采用正压吹送粉尘",
        "液氨制冷包装间与液氨车间未有效隔离",
        "特种作业人员无证上岗",
        "有限空间作业未执行先通风后检测再作业",
    ],
    "建筑施工": [
        "超过一定规模的危大工程未组织专家论证",
        "深基坑支护结构出现开裂未停工处置",
        "塔吊基础不符合设计要求",
    ],
    "非煤矿山": ["未按设计开采形成高陡边坡", "爆破作业无证上岗"],
    "人员密集场所": ["安全出口被封堵", "自动消防设施瘫痪"],
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "data" / "demo"), help="output directory (default data/demo)")
    ap.add_argument(
        "--no-raster", action="store_true", help="compute but do not write population.tif / boundaries"
    )
    args = ap.parse_args(argv)
    t_start = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)

    cx, cy = TO_M.transform(*CENTER_LONLAT)
    outline = make_outline(rng, cx, cy)
    town_xy, town_codes, town_names, is_street, seeds, vill_m, town_of = build_tessellation(
        rng, outline, cx, cy
    )
    vcodes, vnames = name_villages(rng, seeds, town_xy, town_of, is_street, town_codes)

    # ---- geometry in EPSG:4490
    vill_geo = [geom_to_geo(g) for g in vill_m]
    vill_df = gpd.GeoDataFrame({"code": vcodes, "name": vnames}, geometry=vill_geo, crs=CRS_GEO)
    vill_df["_town"] = [town_codes[t] for t in town_of]
    vill_df = vill_df.sort_values("code", kind="stable").reset_index(drop=True)
    town_geo = []
    for t in range(12):
        parts = vill_df.geometry[vill_df["_town"] == town_codes[t]].to_numpy()
        town_geo.append(shapely.coverage_union_all(parts))
    town_df = gpd.GeoDataFrame({"code": town_codes, "name": town_names}, geometry=town_geo, crs=CRS_GEO)
    town_df = town_df.sort_values("code", kind="stable").reset_index(drop=True)
    district_geo = shapely.coverage_union_all(vill_df.geometry.to_numpy())
    district_df = gpd.GeoDataFrame(
        {"code": [COUNTY + "000000"], "name": ["滨江区"]}, geometry=[district_geo], crs=CRS_GEO
    )
    vtree = shapely.STRtree(vill_df.geometry.to_numpy())
    town_name_of = dict(zip(town_df.code, town_df.name, strict=False))

    # town polygons in metres (for placement)
    town_m = {}
    for t in range(12):
        town_m[t] = shapely.coverage_union_all([vill_m[i] for i in np.flatnonzero(town_of == t)])

    # ---- chemical park (~3 km²) in 新港镇 (index 4)
    xg = 4
    tp = town_m[xg]
    dvec = town_xy[xg] - np.array([cx, cy])
    dvec /= np.hypot(*dvec)
    ang = rng.uniform(0, 180)
    park_m = None
    for shift in np.linspace(2200, 0, 23):
        c = town_xy[xg] + dvec * shift
        rect = shapely.affinity.rotate(
            shapely.box(c[0] - 1000, c[1] - 750, c[0] + 1000, c[1] + 750), ang, origin="center"
        )
        if tp.buffer(-200).contains(rect):
            park_m = rect
            break
    if park_m is None:
        raise RuntimeError("could not place chemical park")
    park_geo = geom_to_geo(park_m)
    park_df = gpd.GeoDataFrame(
        {"name": ["滨江新港化工园区"], "area_km2": [round(park_m.area / 1e6, 3)]},
        geometry=[park_geo],
        crs=CRS_GEO,
    )

    # ---- population raster
    total_target = float(rng.uniform(580_000, 650_000))
    pop, ptransform, pinside = make_population(rng, outline, town_xy, is_street, seeds, park_m, total_target)
    pop_total = float(pop[pinside].astype("float64").sum())

    # ---- roads (for gas stations): MST + 2-nearest links between town seeds
    n_t = 12
    D = np.hypot(town_xy[:, None, 0] - town_xy[None, :, 0], town_xy[:, None, 1] - town_xy[None, :, 1])
    edges = set()
    in_tree = {0}
    while len(in_tree) < n_t:
        best = min((D[i, j], i, j) for i in in_tree for j in range(n_t) if j not in in_tree)
        edges.add((min(best[1], best[2]), max(best[1], best[2])))
        in_tree.add(best[2])
    for i in range(n_t):
        for j in np.argsort(D[i])[1:3]:
            edges.add((min(i, int(j)), max(i, int(j))))
    roads = [LineString([town_xy[i], town_xy[j]]) for i, j in sorted(edges)]

    # ---- placement
    safe = outline.buffer(-40)
    industrial = []  # 1-2 industrial zones per town, 1.5-3 km from the centre
    for t in range(12):
        for _ in range(1 if is_street[t] else 2):
            a = rng.uniform(0, 2 * np.pi)
            r = rng.uniform(1500, 3000)
            p = town_xy[t] + r * np.array([math.cos(a), math.sin(a)])
            if not town_m[t].contains(Point(p)):
                p = town_xy[t] + 0.4 * r * np.array([math.cos(a), math.sin(a)])
            industrial.append(p)
    industrial = np.array(industrial)
    tw_centre = np.array([3.0] * 4 + [1.0] * 8)

    def place(sector, n):
        if sector == "危险化学品":
            n_in = int(round(0.7 * n))
            pb = park_m.buffer(-60)
            a, b, c, d = pb.bounds
            p1 = sample_in(
                rng, pb, n_in, lambda r, k: np.column_stack([r.uniform(a, c, k), r.uniform(b, d, k)])
            )
            p2 = sample_in(rng, safe, n - n_in, gauss_around(industrial, 600))
            return np.vstack([p1, p2])
        if sector == "燃气":
            n_road = int(round(0.6 * n))

            def road_prop(r, k):
                idx = r.integers(0, len(roads), k)
                tt = r.uniform(0.05, 0.95, k)
                out_ = []
                for i, t_ in zip(idx, tt, strict=False):
                    (x0, y0), (x1, y1) = roads[i].coords
                    nx, ny = -(y1 - y0), x1 - x0
                    nn = math.hypot(nx, ny)
                    off = r.choice([-1, 1]) * r.uniform(30, 80)
                    out_.append([x0 + t_ * (x1 - x0) + off * nx / nn, y0 + t_ * (y1 - y0) + off * ny / nn])
                return np.array(out_)

            p1 = sample_in(rng, safe, n_road, road_prop)
            p2 = sample_in(rng, safe, n - n_road, gauss_around(town_xy, 1500, tw_centre))
            return np.vstack([p1, p2])
        if sector == "烟花爆竹":
            return sample_in(rng, safe, n, gauss_around(np.vstack([town_xy, seeds[12:]]), 500))
        if sector == "工贸":
            n_ind = int(round(0.75 * n))
            p1 = sample_in(rng, safe, n_ind, gauss_around(industrial, 700))
            p2 = sample_in(rng, safe, n - n_ind, gauss_around(seeds[12:], 500))
            return np.vstack([p1, p2])
        if sector == "建筑施工":
            return sample_in(rng, safe, n, gauss_around(town_xy, 1600, tw_centre))
        if sector == "非煤矿山":
            ring = outline.buffer(-300).difference(outline.buffer(-3500))
            far = shapely.union_all([Point(p).buffer(5000) for p in town_xy])
            ring = ring.difference(far)
            a, b, c, d = ring.bounds
            return sample_in(
                rng, ring, n, lambda r, k: np.column_stack([r.uniform(a, c, k), r.uniform(b, d, k)])
            )
        if sector == "人员密集场所":
            return sample_in(rng, safe, n, gauss_around(town_xy, 900, tw_centre))
        raise KeyError(sector)

    used_ids: set[str] = set()
    fac = []  # dicts
    for sector, n in SECTOR_COUNTS.items():
        pts = place(sector, n)
        lon, lat = to_geo_xy(pts[:, 0], pts[:, 1])
        lon, lat = np.round(lon, 6), np.round(lat, 6)
        hits = vtree.query(shapely.points(lon, lat), predicate="within")
        vi = np.full(n, -1)
        vi[hits[0]] = hits[1]
        assert (vi >= 0).all(), sector
        for k in range(n):
            v = vill_df.iloc[vi[k]]
            tname = town_name_of[v["_town"]]
            vname = v["name"]
            b = brand(rng)
            sub = ""
            if sector == "危险化学品":
                tmpl = [
                    "{b}化工有限公司",
                    "{b}新材料科技有限公司",
                    "{b}精细化工有限公司",
                    "江苏{b}化学有限公司",
                    "{b}医药化工有限公司",
                    "{b}危险品仓储有限公司",
                    "滨江{b}化工有限公司",
                ]
                name = tmpl[rng.integers(len(tmpl))].format(b=b)
                emp = lognormal_int(rng, 80, 0.8, 8, 900)
                sub = "chem"
            elif sector == "燃气":
                u = k / n
                if u < 0.55:
                    sub, name, emp = (
                        "petrol",
                        rng.choice(["中石化", "中石油", "滨江" + b, b]) + f"{tname[:2]}加油站",
                        lognormal_int(rng, 12, 0.3, 5, 30),
                    )
                    if rng.random() < 0.5:
                        name = name.replace("加油站", f"{vname[:-1]}加油站")
                elif u < 0.82:
                    sub, name, emp = (
                        "lpg",
                        f"滨江{b}液化气储配站" if rng.random() < 0.5 else f"{tname[:2]}{b}液化石油气供应站",
                        lognormal_int(rng, 10, 0.4, 4, 40),
                    )
                else:
                    sub, name, emp = (
                        "cng",
                        f"{b}{rng.choice(['CNG加气站', 'LNG加气站', '天然气门站'])}",
                        lognormal_int(rng, 10, 0.3, 4, 30),
                    )
            elif sector == "烟花爆竹":
                if k < 3:
                    name, emp = f"滨江{b}烟花爆竹批发有限公司", lognormal_int(rng, 30, 0.3, 12, 60)
                else:
                    name, emp = f"{vname[:-1]}{b}烟花爆竹零售点", int(rng.integers(1, 5))
                sub = "fireworks"
            elif sector == "工贸":
                w = np.array([g[1] for g in GT_KINDS], float)
                g = GT_KINDS[rng.choice(len(GT_KINDS), p=w / w.sum())]
                name = ("滨江" if rng.random() < 0.2 else "") + b + g[0]
                sub = g[2]
                emp = lognormal_int(rng, g[3], 0.8, 5, 2000)
            elif sector == "建筑施工":
                kind = CONSTR_KINDS[rng.integers(len(CONSTR_KINDS))]
                name = f"{b}建设{tname[:-2] if tname.endswith('街道') else tname[:-1]}{kind}项目部"
                emp = lognormal_int(rng, 80, 0.6, 15, 600)
                sub = "constr"
            elif sector == "非煤矿山":
                kind = rng.choice(["石料矿", "建筑用砂岩矿", "黏土矿", "石灰石矿"])
                name = f"滨江区{vname[:-1]}{kind}" if rng.random() < 0.6 else f"{b}{kind}"
                emp = lognormal_int(rng, 35, 0.5, 10, 150)
                sub = "mine"
            else:
                w = np.array([g[1] for g in CROWD_KINDS], float)
                g = CROWD_KINDS[rng.choice(len(CROWD_KINDS), p=w / w.sum())]
                name = g[0].format(b=b, t=tname[:-2] if tname.endswith("街道") else tname[:-1])
                emp = lognormal_int(rng, g[2], 0.6, 3, 1500)
                sub = "crowd"
            fac.append(
                {
                    "facility_id": make_uscc(rng, used_ids),
                    "name": str(name),
                    "sector": sector,
                    "lon": float(lon[k]),
                    "lat": float(lat[k]),
                    "x": float(pts[k, 0]),
                    "y": float(pts[k, 1]),
                    "address": f"{tname}{vname}{int(rng.integers(1, 400))}号",
                    "employees": int(emp),
                    "sub": sub,
                    "town": v["_town"],
                }
            )
    fac.sort(key=lambda f: f["facility_id"])

    # ---- GB 18218 inventory
    named, cats = load_gb18218()
    cw = np.array([w for _, w in CHEM_NAMED], float)
    kw = np.array([w for *_, w in CHEM_CATEGORY], float)

    def pick_substance():
        if rng.random() < 0.8:
            nm = CHEM_NAMED[rng.choice(len(CHEM_NAMED), p=cw / cw.sum())][0]
            d = named[nm]
            subst = d["cas"] if (d["cas"] and rng.random() < 0.07) else nm
            return subst, nm, d["Q"], d["beta"]
        sym, prod, _ = CHEM_CATEGORY[rng.choice(len(CHEM_CATEGORY), p=kw / kw.sum())]
        return sym, prod, cats[sym]["Q"], cats[sym]["beta"]

    chem = [f for f in fac if f["sector"] == "危险化学品"]
    n_chem = len(chem)
    grade_plan = [1] * 5 + [2] * 16 + [3] * 28 + [4] * 29  # 78 majors ~ 30 %
    plan = grade_plan + [0] * (n_chem - len(grade_plan))
    plan = [plan[i] for i in rng.permutation(n_chem)]
    inv_rows = []
    unit_no = [0]
    results = {}  # facility_id -> (max S, best grade or 0, alpha)

    def unit_id():
        unit_no[0] += 1
        return f"U{unit_no[0]:05d}"

    def design_unit(target_grade, alphas, utype):
        """Return list of (subst, product, q) whose S/R match the target (0 = not major)."""
        for _ in range(4000):
            k = int(rng.choice([1, 2, 3], p=[0.45, 0.35, 0.2]))
            subs = []
            seen = set()
            for _ in range(k):
                s = pick_substance()
                if s[1] not in seen:
                    seen.add(s[1])
                    subs.append(s)
            share = rng.dirichlet(np.ones(len(subs)))
            if target_grade == 0:
                S = rng.uniform(0.03, 0.9)
            else:
                S = math.exp(rng.uniform(math.log(1.1), math.log({1: 60, 2: 40, 3: 20, 4: 6}[target_grade])))
            qs = [round(max(0.05, S * sh * s[2]), 3) for sh, s in zip(share, subs, strict=False)]
            if any(q > 20000 for q in qs):
                continue
            S_real = sum(q / s[2] for q, s in zip(qs, subs, strict=False))
            B = sum(s[3] * q / s[2] for q, s in zip(qs, subs, strict=False))
            if target_grade == 0:
                if S_real < 0.95:
                    return [(s[0], s[1], q) for s, q in zip(subs, qs, strict=False)], S_real, 0
                continue
            if S_real < 1.05:
                continue
            grades = {grade_of(a * B) for a in alphas}
            rr = [a * B for a in alphas]
            margin_ok = all(min(abs(r - b) / b for b in (10, 50, 100)) > 0.04 for r in rr)
            if grades == {target_grade} and margin_ok:
                return [(s[0], s[1], q) for s, q in zip(subs, qs, strict=False)], S_real, target_grade
        raise RuntimeError(f"could not design unit for grade {target_grade}")

    alpha_stats = {}
    for f, g in zip(chem, plan, strict=False):
        persons = pop_within(pop, ptransform, f["x"], f["y"])
        alphas = sorted({alpha_of(persons * 0.9), alpha_of(persons * 1.1)})
        alpha_stats[f["facility_id"]] = alpha_of(persons)
        n_units = int(rng.choice([1, 2, 3, 4], p=[0.3, 0.35, 0.25, 0.1]))
        main_idx = int(rng.integers(n_units))
        names_used = set()
        best_S, best_g = 0.0, 0
        for u in range(n_units):
            utype = "储存单元" if rng.random() < 0.6 else "生产单元"
            pool = STORAGE_UNITS if utype == "储存单元" else PRODUCTION_UNITS
            uname = pool[rng.integers(len(pool))]
            while uname in names_used:
                uname = pool[rng.integers(len(pool))]
            names_used.add(uname)
            tg = g if u == main_idx else 0
            subs, S, gr = design_unit(tg, alphas, utype)
            best_S = max(best_S, S)
            if gr and (best_g == 0 or gr < best_g):
                best_g = gr
            uid = unit_id()
            for subst, prod, q in subs:
                inv_rows.append([f["facility_id"], uid, uname, utype, subst, prod, f"{q:.3f}"])
        results[f["facility_id"]] = (best_S, best_g, alpha_stats[f["facility_id"]])

    gas_results = {}
    for f in [f for f in fac if f["sector"] == "燃气"]:
        persons = pop_within(pop, ptransform, f["x"], f["y"])
        a = alpha_of(persons)
        uid = unit_id()
        rows = []
        if f["sub"] == "petrol":
            rows = [
                ("汽油(乙醇汽油、甲醇汽油)", "汽油(乙醇汽油、甲醇汽油)", rng.uniform(20, 60), "油罐区"),
                ("W5.4", "柴油", rng.uniform(15, 50), "油罐区"),
            ]
        elif f["sub"] == "lpg":
            q = rng.uniform(55, 120) if rng.random() < 0.3 else rng.uniform(20, 45)
            rows = [
                (
                    "液化石油气(含丙烷、丁烷及其混合物)",
                    "液化石油气(含丙烷、丁烷及其混合物)",
                    q,
                    "液化石油气储罐区",
                )
            ]
        else:
            rows = [
                (
                    "甲烷,天然气",
                    "甲烷,天然气",
                    rng.uniform(3, 40) if rng.random() < 0.85 else rng.uniform(55, 90),
                    "LNG储罐区",
                )
            ]
        S = B = 0.0
        for subst, prod, q, uname in rows:
            q = round(q, 3)
            Q = named[prod]["Q"] if prod in named else cats[subst]["Q"]
            beta = named[prod]["beta"] if prod in named else cats[subst]["beta"]
            S += q / Q
            B += beta * q / Q
            inv_rows.append([f["facility_id"], uid, uname, "储存单元", subst, prod, f"{q:.3f}"])
        gas_results[f["facility_id"]] = (S, grade_of(a * B) if S >= 1 else 0)

    # flawed inventory rows (appended): negative quantity, unknown substance
    nonmajor = [f for f in chem if results[f["facility_id"]][1] == 0]
    fa, fb = nonmajor[3], nonmajor[11]
    ua = next(r for r in inv_rows if r[0] == fa["facility_id"])
    ub = next(r for r in inv_rows if r[0] == fb["facility_id"])
    inv_rows.append([fa["facility_id"], ua[1], ua[2], ua[3], "甲醇", "甲醇", "-12.500"])
    inv_rows.append([fb["facility_id"], ub[1], ub[2], ub[3], "未知物质X", "未知物质X", "3.200"])

    # ---- risk points (LS + LEC)
    sector_w = {
        "危险化学品": 4.0,
        "烟花爆竹": 3.0,
        "非煤矿山": 3.0,
        "燃气": 2.5,
        "建筑施工": 2.0,
        "工贸": 1.0,
        "人员密集场所": 0.8,
    }
    N = len(fac)
    n_red, n_orange, n_yellow = round(0.025 * N), round(0.10 * N), round(0.32 * N)
    score = np.array([math.log(sector_w[f["sector"]]) for f in fac]) + rng.gumbel(size=N)
    # major hazard chemical plants get a higher score (rank among the top)
    for i, f in enumerate(fac):
        if f["facility_id"] in results and results[f["facility_id"]][1] in (1, 2):
            score[i] += 1.5
    rank = np.argsort(-score, kind="stable")
    target = np.empty(N, dtype=object)
    target[rank[:n_red]] = "red"
    target[rank[n_red : n_red + n_orange]] = "orange"
    target[rank[n_red + n_orange : n_red + n_orange + n_yellow]] = "yellow"
    target[rank[n_red + n_orange + n_yellow :]] = "blue"

    def ls_level(r):
        return "red" if r >= 20 else "orange" if r >= 15 else "yellow" if r >= 9 else "blue"

    rp_rows = []
    worst_level = {}
    rp_no = 0
    for i, f in enumerate(fac):
        sub = f["sub"]
        pool = RP_SETS["gas" if sub in ("petrol", "lpg", "cng") else sub] + RP_COMMON
        n_pts = int(rng.integers(2, 9))
        n_pts = min(n_pts, len(pool))
        chosen = [pool[j] for j in rng.choice(len(pool), n_pts, replace=False)]
        lvl = target[i]
        li = LEVEL_ORDER.index(lvl)
        # worst point: the one with the highest max severity
        chosen.sort(key=lambda p: -p[1])
        worst = None
        for k, (pname, smax, exps) in enumerate(chosen):
            if k == 0:
                opts = [p for p in LS_BANDS[lvl] if p[1] <= max(smax, 3)] or LS_BANDS[lvl]
            else:
                # other points: same or lower band
                band = LEVEL_ORDER[min(3, li + int(rng.integers(0, 3)))]
                opts = [p for p in LS_BANDS[band] if p[1] <= smax] or [(1, min(smax, 2))]
            L, S = opts[rng.integers(len(opts))]
            r = L * S
            if worst is None or LEVEL_ORDER.index(ls_level(r)) < LEVEL_ORDER.index(worst):
                worst = ls_level(r)
            ll = LEC_L[L][rng.integers(len(LEC_L[L]))]
            cc = LEC_C[S][rng.integers(len(LEC_C[S]))]
            ee = exps[rng.integers(len(exps))]
            rp_no += 1
            rp_rows.append([f["facility_id"], f"RP{rp_no:06d}", pname, L, S, fmt_g(ll), fmt_g(ee), fmt_g(cc)])
        worst_level[f["facility_id"]] = worst

    # ---- hidden dangers
    d0, d1 = dt.date(2025, 1, 1), dt.date(2026, 11, 20)
    span = (d1 - d0).days
    fw = np.array(
        [
            {
                "危险化学品": 3,
                "燃气": 2,
                "烟花爆竹": 2,
                "工贸": 1.2,
                "建筑施工": 2,
                "非煤矿山": 2.5,
                "人员密集场所": 0.8,
            }[f["sector"]]
            for f in fac
        ]
    )
    n_hd = 1500
    n_major = 45
    hd_fac = rng.choice(N, n_hd, p=fw / fw.sum())
    found = np.sort(rng.integers(0, span + 1, n_hd))
    is_major = np.zeros(n_hd, bool)
    is_major[rng.choice(n_hd, n_major, replace=False)] = True
    # open: 15 %, biased towards recent finds; several open 重大
    recency = found / span
    open_score = 16.0 * recency + rng.gumbel(size=n_hd)
    open_score[is_major] += 1.0
    n_open = round(0.15 * n_hd)
    is_open = np.zeros(n_hd, bool)
    is_open[np.argsort(-open_score, kind="stable")[:n_open]] = True
    hd_rows = []
    for k in range(n_hd):
        f = fac[hd_fac[k]]
        fd = d0 + dt.timedelta(days=int(found[k]))
        if is_major[k]:
            dl = fd + dt.timedelta(days=int(rng.integers(30, 181)))
            desc_pool = HD_MAJOR[f["sector"]]
        else:
            dl = fd + dt.timedelta(days=int(rng.integers(7, 91)))
            desc_pool = HD_SECTOR[f["sector"]] + HD_COMMON
        desc = desc_pool[rng.integers(len(desc_pool))]
        if is_open[k]:
            cd = ""
        else:
            lim = (dl - fd).days + (int(rng.integers(1, 30)) if rng.random() < 0.1 else 0)
            c = fd + dt.timedelta(days=int(rng.integers(1, max(2, lim + 1))))
            cd = min(c, TODAY).isoformat()
        hd_rows.append(
            [
                f"YH{fd.year}{k + 1:05d}",
                f["facility_id"],
                "重大" if is_major[k] else "一般",
                fd.isoformat(),
                dl.isoformat(),
                cd,
                desc,
            ]
        )

    # ---- accidents
    acc_types_general = [
        ("有限空间作业中毒窒息", "工贸"),
        ("高处坠落", "建筑施工"),
        ("物体打击", "建筑施工"),
        ("机械伤害", "工贸"),
        ("触电", "工贸"),
        ("起重伤害", "建筑施工"),
        ("火灾", "人员密集场所"),
        ("车辆伤害", "非煤矿山"),
        ("坍塌", "建筑施工"),
        ("灼烫", "工贸"),
        ("闪爆", "危险化学品"),
        ("中毒", "危险化学品"),
        ("边坡滑塌", "非煤矿山"),
    ]
    acc_rows = []
    by_sector = {}
    for f in fac:
        by_sector.setdefault(f["sector"], []).append(f)
    acc_dates = sorted(rng.integers(0, (dt.date(2026, 10, 31) - dt.date(2023, 1, 1)).days, 15))
    big = set(rng.choice(15, 2, replace=False).tolist())
    for k, dd in enumerate(acc_dates):
        date = dt.date(2023, 1, 1) + dt.timedelta(days=int(dd))
        if k in big:
            cls = "较大"
            desc, sec = [("反应釜爆炸", "危险化学品"), ("深基坑坍塌", "建筑施工")][
                len([j for j in big if j < k])
            ]
            deaths = int(rng.integers(3, 5))
            inj = int(rng.integers(1, 6))
        else:
            cls = "一般"
            desc, sec = acc_types_general[rng.integers(len(acc_types_general))]
            deaths = int(rng.choice([0, 1, 1, 1, 2]))
            inj = int(rng.integers(0, 3)) if deaths else int(rng.integers(1, 4))
        f = by_sector[sec][rng.integers(len(by_sector[sec]))]
        acc_rows.append(
            [f"SG{date.year}{k + 1:03d}", f["facility_id"], date.isoformat(), cls, deaths, inj, desc]
        )

    # ---- sensitive sites
    site_rows = []
    sid = 0

    def add_site(name, kind, centre, sigma):
        nonlocal sid
        p = sample_in(rng, safe, 1, gauss_around([centre], sigma))[0]
        lon_, lat_ = to_geo_xy(p[0], p[1])
        sid += 1
        site_rows.append([f"SS{sid:03d}", name, kind, f"{float(lon_):.6f}", f"{float(lat_):.6f}"])

    vill_town = np.array([town_codes.index(c) for c in vill_df["_town"]])
    seed_of_code = dict(zip(vcodes, range(len(vcodes)), strict=False))
    add_site("滨江区人民医院", "医院", town_xy[0], 800)
    add_site("滨江区中医院", "医院", town_xy[1], 800)
    add_site("滨江区妇幼保健院", "医院", town_xy[2], 800)
    for t in range(12):
        tn = town_names[t]
        short = tn[:-2] if is_street[t] else tn[:-1]
        members = [seed_of_code[c] for c in vill_df.code[vill_town == t]]
        if not is_street[t]:
            add_site(f"滨江区{short}镇卫生院", "卫生院", town_xy[t], 500)
            add_site(f"滨江区{short}中学", "学校", town_xy[t], 700)
        else:
            add_site(f"滨江区{short}社区卫生服务中心", "卫生院", town_xy[t], 600)
            add_site(f"滨江区{short}中学", "学校", town_xy[t], 900)
        n_pri = int(rng.integers(4, 6)) if is_street[t] else int(rng.integers(3, 5))
        for j in range(n_pri):
            c = seeds[members[rng.integers(len(members))]] if j else town_xy[t]
            add_site(
                f"滨江区{short}{['中心', '实验', '第二', '第三', '第四', '第五'][j]}小学", "学校", c, 400
            )
        n_kg = int(rng.integers(6, 9)) if is_street[t] else int(rng.integers(4, 6))
        for j in range(n_kg):
            c = seeds[members[rng.integers(len(members))]]
            add_site(
                f"滨江区{short}{['中心', '实验', '第二', '第三', '第四', '第五', '第六', '第七', '第八'][j]}幼儿园",
                "幼儿园",
                c,
                400,
            )
        for j in range(int(rng.integers(1, 3))):
            c = seeds[members[rng.integers(len(members))]]
            add_site(f"{short}{['敬老院', '颐养院'][j]}", "养老院", c, 500)

    # ---- crowded-place indicators and 2018-guide deductions. A separate random stream, so that adding them
    # left every earlier table byte-identical.
    rng2 = np.random.default_rng(SEED + 1)
    for f in fac:
        f["occupancy"] = f["floor_area_m2"] = f["fire_rating"] = ""
        if f["sector"] == "人员密集场所":
            area = float(np.clip(rng2.lognormal(math.log(max(f["employees"], 5) * 60), 0.6), 200, 120000))
            f["floor_area_m2"] = int(round(area, -1))
            f["occupancy"] = int(area / float(rng2.uniform(3.0, 12.0)))
            f["fire_rating"] = str(rng2.choice(["一级", "二级", "三级"], p=[0.35, 0.5, 0.15]))
    chem_ids = {f["facility_id"]: f for f in fac if f["sector"] == "危险化学品"}
    acc_ids = {r[1] for r in acc_rows}
    ded_rows = []
    deduction_ranges = {  # item: (probability of a finding, max points)
        "substances": (0.4, 3),
        "processes": (0.5, 6),
        "fire_explosion": (0.4, 3),
        "design": (0.3, 4),
        "equipment": (0.4, 3),
        "automation": (0.5, 6),
        "personnel": (0.6, 8),
        "management": (0.6, 6),
    }
    for fid, f in sorted(chem_ids.items()):
        if rng2.random() > 0.85:  # some enterprises have not been assessed under the guide yet
            continue
        for item, (p, top) in deduction_ranges.items():
            if rng2.random() < p:
                pts = int(rng2.integers(1, top + 1))
                if item == "processes":
                    pts = 2 * max(1, pts // 2)  # −2 per hazardous process
                ded_rows.append([fid, item, pts])
        if not shapely.contains_xy(park_m, f["x"], f["y"]):
            ded_rows.append([fid, "surroundings", 3])  # outside a chemical park
        if fid in acc_ids:
            ded_rows.append([fid, "accidents", int(rng2.integers(3, 8))])
        grade = rng2.choice(["1", "2", "3", ""], p=[0.04, 0.3, 0.5, 0.16])
        if grade:
            ded_rows.append([fid, "bonus_standardisation", {"1": 15, "2": 5, "3": 2}[grade]])
        if f["employees"] > 300 and rng2.random() < 0.5:
            ded_rows.append([fid, "bonus_fire_brigade", 3])
        if fid not in acc_ids and rng2.random() < 0.4:
            ded_rows.append([fid, "bonus_no_accident_5y", 5])
    vetoed = sorted(chem_ids)[17::97][:2]  # two enterprises with uncertified special-operations workers
    ded_rows += [[fid, "veto_uncertified_workers", ""] for fid in vetoed]

    # ---- facilities CSV with the 5 flawed rows appended
    fac_header = [
        "facility_id",
        "name",
        "sector",
        "lon",
        "lat",
        "address",
        "employees",
        "occupancy",
        "floor_area_m2",
        "fire_rating",
    ]
    fac_rows = [
        [
            f["facility_id"],
            f["name"],
            f["sector"],
            f"{f['lon']:.6f}",
            f"{f['lat']:.6f}",
            f["address"],
            f["employees"],
            f["occupancy"],
            f["floor_area_m2"],
            f["fire_rating"],
        ]
        for f in fac
    ]
    tmpl = fac[len(fac) // 2]
    bad = []
    # 1 empty lat
    bad.append(
        [
            make_uscc(rng, used_ids),
            f"滨江{brand(rng)}机械制造有限公司",
            "工贸",
            f"{tmpl['lon']:.6f}",
            "",
            tmpl["address"],
            35,
        ]
    )
    # 2 ~20 km outside the district (east of the eastern edge)
    e_lon, e_lat = to_geo_xy(outline.bounds[2] + 20000, cy)
    bad.append(
        [
            make_uscc(rng, used_ids),
            f"{brand(rng)}金属制品有限公司",
            "工贸",
            f"{float(e_lon):.6f}",
            f"{float(e_lat):.6f}",
            fac[400]["address"],
            22,
        ]
    )
    # 3 duplicate id of an earlier row, different name
    dup = fac[100]
    bad.append(
        [
            dup["facility_id"],
            f"{brand(rng)}塑料制品有限公司",
            "工贸",
            f"{dup['lon'] + 0.002:.6f}",
            f"{dup['lat'] + 0.001:.6f}",
            dup["address"],
            18,
        ]
    )
    # 4 wrong check character
    good = make_uscc(rng, used_ids)
    wrong = USCC_ALPHABET[(USCC_ALPHABET.index(good[-1]) + 7) % 31]
    bad.append(
        [
            good[:-1] + wrong,
            f"{brand(rng)}食品有限公司",
            "工贸",
            f"{fac[200]['lon']:.6f}",
            f"{fac[200]['lat']:.6f}",
            fac[200]["address"],
            40,
        ]
    )
    # 5 sector not configured
    bad.append(
        [
            make_uscc(rng, used_ids),
            f"{brand(rng)}物业管理有限公司",
            "其他",
            f"{fac[300]['lon']:.6f}",
            f"{fac[300]['lat']:.6f}",
            fac[300]["address"],
            12,
        ]
    )

    bad = [row + ["", "", ""] for row in bad]  # no indicator values
    write_csv(out / "facilities.csv", fac_header, fac_rows + bad)
    write_csv(
        out / "chemical_inventory.csv",
        ["facility_id", "unit_id", "unit_name", "unit_type", "substance", "product_name", "quantity_t"],
        inv_rows,
    )
    write_csv(
        out / "risk_points.csv",
        ["facility_id", "point_id", "point_name", "likelihood", "severity", "lec_l", "lec_e", "lec_c"],
        rp_rows,
    )
    write_csv(
        out / "hidden_dangers.csv",
        ["hazard_id", "facility_id", "grade", "found_date", "deadline", "closed_date", "description"],
        hd_rows,
    )
    write_csv(
        out / "accidents.csv",
        ["accident_id", "facility_id", "date", "class", "deaths", "serious_injuries", "description"],
        acc_rows,
    )
    write_csv(out / "sensitive_sites.csv", ["site_id", "name", "kind", "lon", "lat"], site_rows)
    write_csv(out / "deductions.csv", ["facility_id", "item", "points"], ded_rows)
    std_rows = make_standardisation(fac, ded_rows)
    write_csv(out / "standardisation.csv", ["facility_id", "grade", "valid_until"], std_rows)
    write_csv(out / "inspectors.csv", ["name", "team"], make_roster())

    if not args.no_raster:
        gpkg = out / "boundaries.gpkg"
        if gpkg.exists():
            gpkg.unlink()
        vill_df[["code", "name", "geometry"]].to_file(gpkg, layer="village", driver="GPKG", engine="pyogrio")
        town_df.to_file(gpkg, layer="town", driver="GPKG", engine="pyogrio")
        district_df.to_file(gpkg, layer="district", driver="GPKG", engine="pyogrio")
        park_df.to_file(gpkg, layer="chemical_park", driver="GPKG", engine="pyogrio")
        with rasterio.open(
            out / "population.tif",
            "w",
            driver="GTiff",
            height=pop.shape[0],
            width=pop.shape[1],
            count=1,
            dtype="float32",
            crs=CRS_M,
            transform=ptransform,
            nodata=-9999.0,
            compress="lzw",
            tiled=True,
            blockxsize=256,
            blockysize=256,
        ) as dst:
            dst.write(pop, 1)

    # ---- report
    vill_area = gpd.GeoSeries(vill_df.geometry, crs=CRS_GEO).to_crs(CRS_M).area
    print(
        f"district area {district_df.to_crs(CRS_M).area.iloc[0] / 1e6:.1f} km²; {len(town_df)} towns, "
        f"{len(vill_df)} villages (area {vill_area.min() / 1e6:.2f}–{vill_area.max() / 1e6:.2f} km²)"
    )
    print(f"chemical park area {park_m.area / 1e6:.2f} km² in {town_names[xg]}")
    print(f"population total {pop_total:,.0f} (raster {pop.shape[1]}x{pop.shape[0]} cells @100 m)")
    print(
        f"facilities {len(fac_rows)} valid + {len(bad)} flawed; by sector:",
        {s: sum(f["sector"] == s for f in fac) for s in SECTOR_COUNTS},
    )
    in_park = sum(shapely.contains_xy(park_m, f["x"], f["y"]) for f in chem)
    print(f"危险化学品 inside park: {in_park}/{n_chem}")
    gcount = {g: sum(1 for v in results.values() if v[1] == g) for g in (1, 2, 3, 4)}
    nmaj = sum(gcount.values())
    print(
        f"GB18218 危险化学品 majors: {nmaj}/{n_chem} ({100 * nmaj / n_chem:.1f} %), by grade "
        f"一级 {gcount[1]} 二级 {gcount[2]} 三级 {gcount[3]} 四级 {gcount[4]}"
    )
    acount = {a: sum(1 for v in results.values() if v[2] == a) for a in (0.5, 1.0, 1.2, 1.5, 2.0)}
    print(f"  alpha distribution (chemical facilities): {acount}")
    gg = {g: sum(1 for v in gas_results.values() if v[1] == g) for g in (1, 2, 3, 4)}
    print(f"GB18218 燃气 majors: {sum(gg.values())}/{len(gas_results)} by grade {gg}")
    wl = pd.Series(list(worst_level.values())).value_counts()
    print(
        "LS worst-point level shares: "
        + ", ".join(f"{lv} {wl.get(lv, 0)} ({100 * wl.get(lv, 0) / N:.1f} %)" for lv in LEVEL_ORDER)
    )
    print(
        f"inventory rows {len(inv_rows)}, risk points {len(rp_rows)}, hidden dangers {len(hd_rows)} "
        f"(重大 {int(is_major.sum())}, open {int(is_open.sum())}, open 重大 {int((is_open & is_major).sum())}, "
        f"open overdue {sum(1 for r in hd_rows if not r[5] and r[4] < TODAY.isoformat())}), "
        f"accidents {len(acc_rows)}, sensitive sites {len(site_rows)}"
    )
    print(f"done in {time.perf_counter() - t_start:.1f} s -> {out}")
    return 0


# --------------------------------------------------------------------------------------------------
# safety standardisation grades (安全生产标准化), for dynamic adjustment. A separate random stream (SEED + 2),
# so that adding them left every earlier table byte-identical.
STD_SHARES = {  # sector: probabilities of 一级, 二级, 三级 (the rest has no grade)
    "工贸": (0.01, 0.06, 0.25),
    "烟花爆竹": (0.0, 0.2, 0.5),
    "非煤矿山": (0.0, 0.3, 0.5),
    "燃气": (0.0, 0.1, 0.3),
}


def make_roster(n: int = 24) -> list[list]:
    """The district brigade's law-enforcement officers (执法人员), in four teams; its own random stream."""
    rng = np.random.default_rng(SEED + 3)
    surnames = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾")
    given = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红")
    names: list[str] = []
    while len(names) < n:
        name = str(rng.choice(surnames)) + "".join(rng.choice(given, size=int(rng.integers(1, 3))))
        if name not in names:
            names.append(name)
    return [[name, f"执法{i % 4 + 1}中队"] for i, name in enumerate(names)]


def make_standardisation(fac: list[dict], ded_rows: list[list]) -> list[list]:
    """One row per graded enterprise: ``facility_id, grade, valid_until`` (3 years from the award).

    Chemical enterprises keep the grade their 2018-guide bonus says (+15/+5/+2 = 一级/二级/三级); about one grade
    in ten has expired by TODAY. Two flawed rows at the end: an unknown grade and an impossible date.
    """
    rng3 = np.random.default_rng(SEED + 2)
    names = {1: "一级", 2: "二级", 3: "三级"}
    bonus = {r[0]: {15: 1, 5: 2, 2: 3}[r[2]] for r in ded_rows if r[1] == "bonus_standardisation"}
    rows = []
    for f in fac:
        grade = bonus.get(f["facility_id"])
        if grade is None and f["sector"] in STD_SHARES:
            p1, p2, p3 = STD_SHARES[f["sector"]]
            u = rng3.random()
            grade = 1 if u < p1 else 2 if u < p1 + p2 else 3 if u < p1 + p2 + p3 else None
        if grade is None:
            continue
        if rng3.random() < 0.1:
            until = TODAY - dt.timedelta(days=int(rng3.integers(1, 400)))
        else:
            until = TODAY + dt.timedelta(days=int(rng3.integers(1, 3 * 365)))
        rows.append([f["facility_id"], names[grade], until.isoformat()])
    graded = [r[0] for r in rows]
    rows.append([graded[len(graded) // 3], "四级", "2027-06-30"])
    rows.append([graded[2 * len(graded) // 3], "二级", "2027-02-30"])
    return rows


if __name__ == "__main__":
    sys.exit(main())
