"""A county office's files as they arrive (issue 24): 同安区 (Xiamen, 350212), built in code with a fixed seed.

``build_county(folder)`` writes the files a district emergency-management office hands over, shaped as they really
come, and returns the :class:`Truth` they were made from:

- the real outline of 同安区 (tests/data/xiamen_districts_gcj02.geojson, GCJ-02 declaring WGS84, converted back
  with riskmap.io.crs's inverse); 8 towns and ~60 villages as Voronoi cells inside it. Villages: an ESRI
  shapefile in CGCS2000 / 3-degree Gauss-Krüger CM 117E (EPSG:4548), DBF in GBK without a .cpg, the code a real
  number (reads back as "350212001001.0"). Towns: a GeoPackage in EPSG:4490;
- a population raster (GeoTIFF, EPSG:4548, 100 m) covering the district but a strip at its west edge, where one
  major hazard sits (its 500 m buffer partly outside);
- the register, an Excel 97-2003 .xls: title row, two-row merged header (坐标 over 经度/纬度), 坐标系 per row
  (百度/百度地图/高德/腾讯/GCJ02/GPS/empty; coordinates made in that system from the true point), sector and
  standardisation spellings as offices write them, DMS, a pair in one cell, swapped and text coordinates, four
  enterprises without coordinates but with their village, ids 无 and old 15-digit registration numbers, a totals
  row and a signature row;
- the hidden-danger ledger (.xlsx, one sheet a quarter plus 填表说明 and 汇总; status column, rows without an id,
  dates in every form), the risk-point CSV (GBK, a title line), the major-hazard inventory (.xlsx, trade names,
  CAS, units t/吨/kg/m³);
- riskmap.toml as a clerk writes it once for these files, with the key names of issue 24
  (:func:`write_project` also writes the same file restricted to the features of one branch).

Nothing here calls riskmap's grading: the truth is what the files were made from; tests/test_county.py computes
the expected levels by hand from it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin

from riskmap.io.crs import gcj02_to_wgs84, wgs84_to_bd09, wgs84_to_gcj02

SEED = 350212
DISTRICT = "350212"
AS_OF = dt.date(2025, 10, 15)
GK = "EPSG:4548"  # CGCS2000 / 3-degree Gauss-Kruger CM 117E
N_ENTERPRISES = 300
N_VILLAGES = 60
BORDER_M = 300.0  # enterprises lie within this distance of a village border ...
INSET_M = 40.0  # ... and at least this far inside their village
CELL_M = 100.0  # population raster cell
STRIP_M = 2500.0  # the raster leaves out this strip at the district's west edge
EDGE_OFFSET_M = 50.0  # the edge case sits this far east of the raster's west edge
RADIUS_M = 500.0  # GB 18218 exposure radius

OUTLINES = Path(__file__).parent / "data" / "xiamen_districts_gcj02.geojson"

REGISTER = "同安区工贸和危化企业安全风险管控台账.xls"
LEDGER = "隐患排查治理台账（2025年）.xlsx"
RISK_POINTS = "企业安全风险点登记表.csv"
INVENTORY = "重大危险源及危险化学品储存情况.xlsx"
VILLAGES = "同安区村级行政区划.shp"
TOWNS = "同安区乡镇街道.gpkg"
POPULATION = "同安区常住人口100m.tif"
LEDGER_SHEETS = ("2025年第一季度", "2025年第二季度", "2025年第三季度")

# --------------------------------------------------------------------------------------------------------------
# vocabulary: how the office writes things, and what each means

#: 坐标系 as written -> the system the coordinates were made in.
SYSTEMS = {
    "百度": "BD-09",
    "百度地图": "BD-09",
    "高德": "GCJ-02",
    "腾讯": "GCJ-02",
    "GCJ02": "GCJ-02",
    "GPS": "EPSG:4326",
    "": "EPSG:4490",
}
#: Background enterprises per 坐标系 (the cases are all written without one).
SYSTEM_COUNTS = {"百度": 45, "百度地图": 25, "高德": 45, "腾讯": 20, "GCJ02": 15, "GPS": 30}

#: Canonical sector -> spellings in the register with their counts among the background enterprises.
SECTOR_SPELLINGS = {
    "工贸": {"工贸": 100, "工贸企业": 20, "工贸行业": 20, "机械加工": 10},
    "危险化学品": {"危险化学品": 25, "危化品": 6, "危化": 4, "危险化学品企业": 5},
    "粉尘涉爆": {"粉尘涉爆": 15, "涉爆粉尘": 10},
    "加油站": {"加油站": 12, "加油加气站": 10},
    "燃气": {"燃气": 6, "城镇燃气": 6},
    "涉氨制冷": {"涉氨制冷": 7, "涉氨": 6},
    "有限空间": {"有限空间": 12, "有限空间作业": 8},
}
#: The office's own spelling, mapped in the project file (``[scoring] sector_aliases``), not a shipped alias.
LOCAL_ALIASES = {"机械加工": "工贸"}

#: Inherent level per sector (``[methods.baseline] levels``) and the methods of each (``[scoring.sectors]``).
BASELINE = {
    "工贸": "blue",
    "危险化学品": "yellow",
    "粉尘涉爆": "yellow",
    "加油站": "yellow",
    "燃气": "orange",
    "涉氨制冷": "yellow",
}
METHODS = {
    "危险化学品": ["baseline", "gb18218", "ls_matrix"],
    "燃气": ["baseline", "gb18218"],
    "加油站": ["baseline", "gb18218"],
    "涉氨制冷": ["baseline", "gb18218", "ls_matrix"],
    "工贸": ["baseline", "ls_matrix"],
    "粉尘涉爆": ["baseline", "ls_matrix"],
    "有限空间": ["ls_matrix"],
}

#: Sectors graded by GB 18218 (their enterprises stay clear of the raster's edge, but one).
MH_SECTORS = tuple(s for s, m in METHODS.items() if "gb18218" in m)

#: Substance as written -> (GB 18218 name, Q in t, β, density t/m³ or None). Q: table 1 (氨 10, 氟化氢 1, 甲醇 500,
#: 汽油 200, 液化石油气 50, 天然气 50); β: table 3 for 氨 (2) and 氟化氢 (5), table 4 otherwise (W2 flammable gas
#: 1.5, W5.3/W5.4 flammable liquid 1). Diesel is not in table 1: W5.4, Q 5000 t. Densities (for m³) are typical
#: liquid densities: petrol 0.74, diesel 0.84, methanol 0.79, LPG 0.55, LNG 0.45, liquid ammonia 0.61.
SUBSTANCES = {
    "液氨": ("氨", 10.0, 2.0, 0.61),
    "无水氟化氢": ("氟化氢", 1.0, 5.0, None),
    "工业甲醇": ("甲醇", 500.0, 1.0, 0.79),
    "甲醇": ("甲醇", 500.0, 1.0, 0.79),
    "67-56-1": ("甲醇", 500.0, 1.0, 0.79),
    "92#车用汽油": ("汽油", 200.0, 1.0, 0.74),
    "乙醇汽油": ("汽油", 200.0, 1.0, 0.74),
    "0#柴油": ("柴油", 5000.0, 1.0, 0.84),
    "LPG": ("液化石油气", 50.0, 1.5, 0.55),
    "液化石油气": ("液化石油气", 50.0, 1.5, 0.55),
    "液化天然气": ("天然气", 50.0, 1.5, 0.45),
}
#: Unit as written -> tonnes per unit (m³: by the substance's density).
UNITS = {"t": 1.0, "吨": 1.0, "kg": 0.001, "m³": None}

#: 安全生产标准化等级 as written -> grade (0: none), and 有效期 as written.
STD_GRADES = {
    "安全生产标准化三级": 3,
    "三级（小微）": 3,
    "小微企业三级": 3,
    "Ⅲ级": 3,
    "2级": 2,
    "未创建": 0,
    "无": 0,
    "已过期": 0,
}
STD_VALID = ("2026.5", "2026年5月", "20261109", dt.date(2027, 3, 31))

#: 整改状态 as written: closed (rectified, 销号) ...; the others (未整改, 整改中, 逾期, 逾期未整改) are open.
STATUS_CLOSED = ("已整改", "已销号", "整改完成", "完成")

_WORDS = (
    "鑫达 华兴 宏盛 恒丰 金泰 永安 鸿运 汇通 瑞祥 联发 中科 新阳 万利 德润 天成 盛源 嘉禾 三友 福隆 佳美 兴旺 "
    "信和 长青 海晟 美达 宝丰 建发 源泰 立信 凯盛 伟业 豪顺 合力 众诚 博远 正兴 锦华 汇丰 翔鹭 明辉 国泰 "
    "隆鑫 安捷 同发 荣昌 顺昌 金鹭 银城 永泰 华美"
).split()
_TRADES = {
    "工贸": ("机械", "五金", "塑胶", "电子", "家具", "包装", "食品", "纺织", "模具", "卫浴", "印刷", "陶瓷"),
    "危险化学品": ("化工", "化学", "石化", "气体", "新材料", "化学试剂"),
    "粉尘涉爆": ("木业", "铝制品", "粉末涂料", "茶业", "饲料", "抛光"),
    "加油站": ("加油站",),
    "燃气": ("燃气", "液化气", "天然气"),
    "涉氨制冷": ("冷冻食品", "冷链物流", "水产", "冷藏"),
    "有限空间": ("污水处理", "酿造", "环保科技", "水务"),
}
_SYLLABLES_1 = "东西南北新前后上下大小石溪田竹山岭洋坑美凤莲云龙古洪柑白尚汀"
_SYLLABLES_2 = "溪山坑洋田塘头厝林岭美峰坂埔安兴丰阳丘湖"
_TOWNS = (  # 街道 in the south (the town centre), 镇 in the hills to the north
    ("001", "大同街道"),
    ("002", "祥平街道"),
    ("003", "西柯街道"),
    ("004", "新民街道"),
    ("101", "五显镇"),
    ("102", "洪塘镇"),
    ("103", "汀溪镇"),
    ("104", "莲花镇"),
)
_CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@dataclass
class Truth:
    """What the county's files were made from, and the numbers to check a run against.

    ``enterprises``: one row per register enterprise (the order of the register), with ``name`` (unique: the key
    of everything), ``id_written``/``id`` (None where the register has 无), ``sector_written``/``sector``,
    ``system_written``/``system``, ``form`` (how its coordinates are written: number, text, dms, pair, swapped,
    none), the true ``lon``/``lat`` (CGCS2000), ``village_code``/``town_code``, ``major``, ``persons_written``,
    ``persons`` (the number it means, None when blank), ``std_written``, ``std_grade``, ``std_valid``, ``row``
    (in the register) and ``case`` (the hand-made case it shows, "" for the background).
    """

    folder: Path
    enterprises: pd.DataFrame
    villages: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    hidden_dangers: pd.DataFrame
    risk_points: pd.DataFrame
    inventory: pd.DataFrame
    #: Case name -> enterprise names: HD_CASES, MH_CASES, and coordinates_*, system_*, ids_wu.
    cases: dict[str, list[str]]
    #: Persons around the raster cases: name -> {density per cell, cell area m², offset of the raster's edge}.
    raster_cases: dict[str, dict[str, float]]
    #: Rows and counts per file, sheet, system and case: the numbers the report quotes.
    counts: dict[str, object] = field(default_factory=dict)

    def enterprise(self, name: str) -> pd.Series:
        return self.enterprises.set_index("name").loc[name]


# --------------------------------------------------------------------------------------------------------------
# ids


def credit_code(body17: str) -> str:
    """A unified social credit code (GB 32100-2015) from its first 17 characters."""
    total = sum(_CREDIT_ALPHABET.index(c) * w for c, w in zip(body17, _CREDIT_WEIGHTS, strict=True))
    return body17 + _CREDIT_ALPHABET[(31 - total % 31) % 31]


def registration_number(body14: str) -> str:
    """An old 15-digit business registration number (工商注册号) with its ISO 7064 MOD 11,10 check digit."""
    p = 10
    for d in body14:
        s = (p + int(d)) % 10 or 10
        p = (s * 2) % 11
    return body14 + str((11 - p) % 10)


def _ids(rng: np.random.Generator, n: int) -> list[str]:
    out: set[str] = set()
    while len(out) < n:
        body = "".join(rng.choice(list(_CREDIT_ALPHABET), size=9))
        out.add(credit_code("91" + DISTRICT + body))  # an enterprise (91) registered in the district
    return sorted(out, key=lambda _: rng.random())


# --------------------------------------------------------------------------------------------------------------
# zones


def district_outline() -> shapely.Geometry:
    """同安区's real outline in true coordinates (CGCS2000 lon/lat), from the GCJ-02 file."""
    districts = gpd.read_file(OUTLINES)
    shape = shapely.make_valid(districts.loc[districts["code"] == DISTRICT].geometry.iloc[0])
    parts = [g for g in getattr(shape, "geoms", [shape]) if g.geom_type in ("Polygon", "MultiPolygon")]
    shape = max(shapely.get_parts(shapely.union_all(parts)), key=lambda g: g.area)
    return shapely.transform(shape, lambda xy: np.column_stack(gcj02_to_wgs84(xy[:, 0], xy[:, 1])))


def _to_gk(geom: shapely.Geometry) -> shapely.Geometry:
    return gpd.GeoSeries([geom], crs="EPSG:4490").to_crs(GK).iloc[0]


def _spread_points(area: shapely.Geometry, n: int, rng: np.random.Generator) -> list[shapely.Point]:
    """``n`` points spread over ``area``: farthest-point sampling among random points inside it."""
    minx, miny, maxx, maxy = area.bounds
    shapely.prepare(area)
    xy = rng.uniform([minx, miny], [maxx, maxy], size=(4000, 2))
    xy = xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])]
    chosen = [int(rng.integers(len(xy)))]
    dist = np.hypot(*(xy - xy[chosen[0]]).T)
    for _ in range(n - 1):
        chosen.append(int(dist.argmax()))
        dist = np.minimum(dist, np.hypot(*(xy - xy[chosen[-1]]).T))
    return [shapely.Point(xy[i]) for i in chosen]


def _cells(area: shapely.Geometry, seeds: list[shapely.Point]) -> list[shapely.Geometry]:
    """The Voronoi cell of each seed, clipped to ``area`` (in the seeds' order)."""
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=area))
    out = []
    for seed in seeds:
        cell = next(c for c in cells if c.contains(seed))
        out.append(shapely.make_valid(cell.intersection(area)))
    return out


def _village_names(rng: np.random.Generator, n: int) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        name = rng.choice(list(_SYLLABLES_1)) + rng.choice(list(_SYLLABLES_2))
        if name not in names:
            names.append(str(name))
    return names


def make_zones(rng: np.random.Generator) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, shapely.Geometry]:
    """Towns and villages (EPSG:4548) inside the district, and the district itself (EPSG:4548)."""
    district = _to_gk(district_outline())
    town_cells = _cells(district, _spread_points(district, len(_TOWNS), rng))
    # 街道 where the town is (south), 镇 to the north; within each group west to east.
    order = sorted(range(len(town_cells)), key=lambda i: town_cells[i].centroid.y)
    south = sorted(order[:4], key=lambda i: town_cells[i].centroid.x)
    north = sorted(order[4:], key=lambda i: town_cells[i].centroid.x)
    towns = gpd.GeoDataFrame(
        {
            "code": [f"{DISTRICT}{c}000" for c, _ in _TOWNS],
            "name": [n for _, n in _TOWNS],
            "geometry": [town_cells[i] for i in south + north],
        },
        crs=GK,
    )
    names = iter(_village_names(rng, 3 * N_VILLAGES))
    rows = []
    for town in towns.itertuples():
        n = max(4, round(N_VILLAGES * town.geometry.area / district.area))
        for k, cell in enumerate(_cells(town.geometry, _spread_points(town.geometry, n, rng))):
            street = town.name.endswith("街道")
            number = k + 1 if street or k == 0 else 200 + k
            suffix = "社区" if street or k == 0 else "村"
            rows.append((town.code[:9] + f"{number:03d}", next(names) + suffix, town.code, cell))
    villages = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["code", "name", "town_code", "geometry"]), crs=GK)
    return towns, villages, district


# --------------------------------------------------------------------------------------------------------------
# where the enterprises are


class _Places:
    """Points near village borders, and where a point (in any system) falls."""

    def __init__(self, villages: gpd.GeoDataFrame) -> None:
        self.villages = villages
        self.geoms = villages.geometry.to_numpy()
        self.inner = shapely.buffer(self.geoms, -INSET_M)
        self.border = shapely.union_all(shapely.boundary(self.geoms))
        for g in (*self.geoms, *self.inner, self.border):
            shapely.prepare(g)
        self.to_ll = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
        self.to_gk = Transformer.from_crs("EPSG:4490", GK, always_xy=True)

    def village_at(self, x: float, y: float) -> int:
        """Index of the village holding the GK point, -1 outside every village."""
        hit = np.flatnonzero(shapely.contains_xy(self.geoms, x, y))
        return int(hit[0]) if len(hit) else -1

    def shifted_village(self, x: float, y: float, system: str) -> int:
        """The village a point falls in when its coordinates, made in ``system``, are taken as true ones."""
        lon, lat = self.to_ll.transform(x, y)
        if system == "BD-09":
            lon, lat = wgs84_to_bd09(np.array([lon]), np.array([lat]))
        elif system == "GCJ-02":
            lon, lat = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
        sx, sy = self.to_gk.transform(float(np.ravel(lon)[0]), float(np.ravel(lat)[0]))
        return self.village_at(sx, sy)

    def near_border(
        self, rng: np.random.Generator, system: str, avoid: shapely.Geometry | None = None
    ) -> tuple[float, float, int]:
        """A GK point within BORDER_M of a village border, INSET_M inside its village; a shifted system's raw
        coordinates, taken as true, fall in another village (a wrong or missing conversion misplaces it)."""
        while True:
            i = int(rng.integers(len(self.geoms)))
            minx, miny, maxx, maxy = self.inner[i].bounds
            if minx >= maxx:
                continue
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if not shapely.contains_xy(self.inner[i], x, y):
                continue
            if self.border.distance(shapely.Point(x, y)) >= BORDER_M:
                continue
            if avoid is not None and shapely.contains_xy(avoid, x, y):
                continue
            if system in ("BD-09", "GCJ-02") and self.shifted_village(x, y, system) == i:
                continue
            return x, y, i


# --------------------------------------------------------------------------------------------------------------
# the enterprises: hand-made cases first, then the background


def _case(name: str, sector: str, case: str, **extra: object) -> dict[str, object]:
    return {"name": name, "sector_written": sector, "case": case, **extra}


#: Hidden-danger cases (工贸: blue inherent level; no risk points, inventory or standardisation grade).
HD_CASES = [
    _case("厦门同安恒丰机械制造有限公司", "工贸", "hd_closed_by_status"),
    _case("厦门市鑫达五金制品有限公司", "工贸", "hd_closed_by_status"),
    _case("厦门华兴塑胶制品有限公司", "工贸", "hd_open_major"),
    _case("厦门宏盛包装材料有限公司", "工贸", "hd_open_major_by_name"),
    _case("厦门金泰模具有限公司", "工贸", "hd_overdue_general"),
    _case("厦门永安纺织有限公司", "工贸", "hd_open_not_overdue"),
    _case("厦门鸿运家具有限公司", "工贸", "hd_closed_with_date"),
    _case("厦门汇通印刷有限公司", "工贸", "hd_closed_by_status_by_name"),
    _case("厦门瑞祥卫浴有限公司", "工贸", "hd_closed_major_and_overdue_general"),
    _case("厦门联发化学试剂有限公司", "危险化学品", "hd_chemical_overdue_general"),
]

#: GB 18218 cases: persons as written, and the inventory (substance, quantity, unit, storage unit) as written.
MH_CASES = [
    _case(
        "厦门中科气体有限公司", "危化品", "persons_45_ren",
        persons_written="45人", persons=45.0, items=[("液氨", "227.5", "吨", "液氨储罐区")],
    ),
    _case(
        "厦门新阳化工有限公司", "危险化学品企业", "persons_about_45",
        persons_written="约45", persons=45.0, items=[("液氨", 227.5, "t", "液氨储罐区")],
    ),
    _case(
        "厦门万利化学有限公司", "危化", "persons_blank_raster",
        persons_written="", persons=None, items=[("液氨", "227.5", "t", "1#罐区")],
    ),
    _case(
        "厦门德润石化有限公司", "危化品", "persons_raster_edge",
        persons_written="", persons=None, items=[("液氨", 275.0, "吨", "液氨罐区")],
    ),
    _case(
        "厦门天成新材料有限公司", "危险化学品企业", "substance_hf",
        persons_written="35人", persons=35.0, items=[("无水氟化氢", "9100", "kg", "氟化氢储罐区")],
    ),
    _case(
        "厦门盛源石化有限公司", "危化品", "substance_petrol",
        persons_written=60, persons=60.0,
        items=[("92#车用汽油", 5000.0, "t", "汽油罐区"), ("乙醇汽油", "3000", "吨", "汽油罐区")],
    ),
    _case(
        "厦门嘉禾化工有限公司", "危化", "substance_methanol_cas_m3",
        persons_written="150人", persons=150.0,
        items=[("工业甲醇", "10000", "m³", "甲醇罐区"), ("67-56-1", 6000.0, "t", "甲醇罐区")],
    ),
    _case(
        "厦门三友气体有限公司", "危化品", "substance_lng_m3",
        persons_written="约150", persons=150.0, items=[("液化天然气", "1000", "m³", "LNG储罐区")],
    ),
]  # fmt: skip


def _background_rows(rng: np.random.Generator, n: int, taken: set[str]) -> list[dict[str, object]]:
    """The other enterprises: sector spellings and 坐标系 by the counts above, names made up and unique."""
    sectors = [
        (canon, spelt) for canon, sp in SECTOR_SPELLINGS.items() for spelt, k in sp.items() for _ in range(k)
    ]
    systems = [s for s, k in SYSTEM_COUNTS.items() for _ in range(k)]
    systems += [""] * (len(sectors) - len(systems))
    assert len(sectors) == n == len(systems), (len(sectors), n, len(systems))
    order = rng.permutation(n)
    rows = []
    for k in order:
        canon, spelt = sectors[k]
        while True:
            trade = rng.choice(_TRADES[canon])
            word = rng.choice(_WORDS)
            if canon == "加油站":
                name = f"中国石化销售股份有限公司福建厦门同安{word}加油站"
            else:
                name = f"厦门{'市' if rng.random() < 0.3 else ''}{word}{trade}有限公司"
            if name not in taken:
                taken.add(name)
                break
        rows.append({"name": name, "sector_written": spelt, "case": "", "system_written": systems[len(rows)]})
    return rows


def _canonical_sector(spelt: str) -> str:
    return next(c for c, sp in SECTOR_SPELLINGS.items() if spelt in sp)


def _register_rows(rng: np.random.Generator) -> pd.DataFrame:
    cases = [dict(c) for c in HD_CASES + MH_CASES]
    for c in cases:
        c.setdefault("system_written", "")
    taken = {str(c["name"]) for c in cases}
    n_background = N_ENTERPRISES - len(cases)
    rows = cases + _background_rows(rng, n_background, taken)
    df = pd.DataFrame(rows)
    df["sector"] = df["sector_written"].map(_canonical_sector)
    df["system"] = df["system_written"].map(SYSTEMS)
    df["case"] = df["case"].fillna("")
    # The register is in the office's order (by town later); cases are spread through it.
    return df.sample(frac=1.0, random_state=int(rng.integers(1 << 31))).reset_index(drop=True)


def _assign_forms(df: pd.DataFrame, rng: np.random.Generator) -> None:
    """How each enterprise's coordinates are written; the odd forms go to background enterprises."""
    df["form"] = "number"
    free = (df["case"] == "") & (df["sector"] == "工贸")
    blank = df.index[free & (df["system_written"] == "")].to_numpy()
    gps = df.index[free & (df["system_written"] == "GPS")].to_numpy()
    blank, gps = rng.permutation(blank), rng.permutation(gps)
    df.loc[blank[:4], "form"] = "none"
    df.loc[list(blank[4:6]) + list(gps[:2]), "form"] = "dms"
    df.loc[blank[6:7], "form"] = "pair"
    df.loc[list(blank[7:8]) + list(gps[2:3]), "form"] = "swapped"
    numbers = df.index[(df["form"] == "number") & (df["case"] == "")].to_numpy()
    df.loc[rng.choice(numbers, size=25, replace=False), "form"] = "text"


def _assign_ids(df: pd.DataFrame, rng: np.random.Generator) -> None:
    """Credit codes; 无 for two enterprises (identified by name), old 15-digit numbers for three."""
    df["id_written"] = _ids(rng, len(df))
    df["id"] = df["id_written"]
    free = df.index[(df["case"] == "") & (df["form"] == "number") & (df["sector"] == "工贸")].to_numpy()
    picked = rng.choice(free, size=5, replace=False)
    df.loc[picked[:2], ["id_written", "id"]] = ["无", None]
    for i in picked[2:]:
        number = registration_number(DISTRICT + "".join(map(str, rng.integers(0, 10, size=8))))
        df.loc[i, ["id_written", "id"]] = [number, number]


def _place(df: pd.DataFrame, places: _Places, rng: np.random.Generator, raster_west: float) -> None:
    """True points: near village borders; the raster-edge case 50 m east of the raster's west edge."""
    # Enterprises graded by GB 18218 keep their 500 m buffer on the raster, all but the edge case.
    minx, miny, maxx, maxy = places.border.bounds
    clear = shapely.box(minx - 1e4, miny - 1e4, raster_west + RADIUS_M + 100.0, maxy + 1e4)
    shapely.prepare(clear)
    xs, ys, vs = [], [], []
    for row in df.itertuples():
        if row.case == "persons_raster_edge":
            x, y, i = _edge_point(places, raster_west + EDGE_OFFSET_M)
        else:
            avoid = clear if row.sector in MH_SECTORS else None
            x, y, i = places.near_border(rng, str(row.system), avoid=avoid)
        xs.append(x)
        ys.append(y)
        vs.append(i)
    lon, lat = places.to_ll.transform(np.array(xs), np.array(ys))
    df["gk_x"], df["gk_y"], df["lon"], df["lat"] = xs, ys, lon, lat
    v = places.villages.iloc[vs]
    df["village_code"] = v["code"].to_numpy()
    df["village_name"] = v["name"].to_numpy()
    df["town_code"] = v["town_code"].to_numpy()


def _edge_point(places: _Places, x: float) -> tuple[float, float, int]:
    """A point on the line ``x`` (GK easting), well inside the village that line crosses longest."""
    minx, miny, maxx, maxy = places.border.bounds
    line = shapely.LineString([(x, miny), (x, maxy)])
    for v in np.argsort([-g.intersection(line).length for g in places.inner]):
        inside = places.inner[v].intersection(line)
        if inside.length > 200:
            part = max(shapely.get_parts(inside), key=lambda g: g.length)
            p = part.interpolate(0.5, normalized=True)
            return p.x, p.y, int(v)
    raise AssertionError("no village on the raster's edge")


# --------------------------------------------------------------------------------------------------------------
# hidden dangers: the cases by hand, the background at random


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


#: Case -> ledger rows (quarter 1..3, grade, found, deadline, closed or "", status, id written?).
HD_ROWS = {
    "hd_closed_by_status": [
        [(1, "一般", "2025-02-12", "2025-03-15", "", "已整改", True),
         (2, "重大", "2025-05-08", "2025-07-31", "", "已销号", True),
         (3, "一般", "2025-07-20", "2025-08-20", "", "整改完成", True)],
        [(2, "一般", "2025-04-03", "2025-05-03", "", "完成", True)],
    ],
    "hd_open_major": [[(3, "重大", "2025-08-20", "2025-12-31", "", "未整改", True)]],
    "hd_open_major_by_name": [[(3, "重大", "2025-09-02", "2025-11-30", "", "整改中", False)]],
    "hd_overdue_general": [[(2, "一般", "2025-05-10", "2025-06-30", "", "逾期", True)]],
    "hd_open_not_overdue": [[(3, "一般", "2025-09-20", "2025-11-30", "", "整改中", True)]],
    "hd_closed_with_date": [[(1, "重大", "2025-01-15", "2025-04-30", "2025-04-10", "已整改", True)]],
    "hd_closed_by_status_by_name": [[(2, "一般", "2025-06-01", "2025-06-30", "", "已整改", False)]],
    "hd_closed_major_and_overdue_general": [
        [(1, "重大", "2025-03-01", "2025-05-31", "", "已销号", True),
         (2, "一般", "2025-06-15", "2025-07-15", "", "逾期未整改", True)]
    ],
    "hd_chemical_overdue_general": [
        [(1, "重大", "2025-02-10", "2025-03-31", "", "已整改", True),
         (2, "一般", "2025-04-20", "2025-05-20", "", "逾期", True)]
    ],
}  # fmt: skip

_DESCRIPTIONS = (
    "动火作业未办理审批手续", "应急照明不亮", "消防通道堆放杂物", "配电箱未接地", "安全出口标志损坏",
    "有限空间作业未检测", "特种作业人员证书过期", "行车钢丝绳磨损超标", "除尘器未设泄爆装置", "液氨管道腐蚀",
    "可燃气体报警器未检定", "防爆电气失爆", "安全阀未按期校验", "危化品仓库超量储存", "员工未佩戴防护用品",
)  # fmt: skip
_QUARTERS = {1: (_d("2025-01-01"), _d("2025-03-31")), 2: (_d("2025-04-01"), _d("2025-06-30")),
             3: (_d("2025-07-01"), _d("2025-09-30"))}  # fmt: skip


def written_date(day: dt.date, k: int) -> object:
    """A date as offices write it: a date cell, 2025.3.5, 2025-03-05, 2025年3月5日, 20250305 or 2025/3/5."""
    forms = (
        lambda d: d,
        lambda d: f"{d.year}.{d.month}.{d.day}",
        lambda d: d.isoformat(),
        lambda d: f"{d.year}年{d.month}月{d.day}日",
        lambda d: d.strftime("%Y%m%d"),
        lambda d: f"{d.year}/{d.month}/{d.day}",
    )
    return forms[k % len(forms)](day)


def _hd_row(name: str, q: int, grade: str, found: dt.date, deadline: dt.date, closed: dt.date | None,
            status: str, with_id: bool, k: int, description: str) -> dict[str, object]:  # fmt: skip
    return {
        "name": name, "quarter": q, "grade": grade, "found": found, "deadline": deadline, "closed": closed,
        "status": status, "with_id": with_id, "description": description,
        "found_written": written_date(found, k), "deadline_written": written_date(deadline, k + 1),
        "closed_written": written_date(closed, k + 2) if closed else "",
    }  # fmt: skip


def _case_dangers(df: pd.DataFrame) -> list[dict[str, object]]:
    rows, k = [], 0
    for case, per_enterprise in HD_ROWS.items():
        names = df.loc[df["case"] == case, "name"].tolist()
        assert len(names) == len(per_enterprise), case
        for name, records in zip(
            sorted(names, key=[c["name"] for c in HD_CASES].index), per_enterprise, strict=True
        ):
            for q, grade, found, deadline, closed, status, with_id in records:
                k += 1
                rows.append(_hd_row(name, q, grade, _d(found), _d(deadline), _d(closed) if closed else None,
                                    status, with_id, k, _DESCRIPTIONS[k % len(_DESCRIPTIONS)]))  # fmt: skip
    return rows


def _background_danger(name: str, rng: np.random.Generator, k: int) -> dict[str, object]:
    q = int(rng.integers(1, 4))
    start, end = _QUARTERS[q]
    found = start + dt.timedelta(days=int(rng.integers(0, (end - start).days + 1)))
    deadline = found + dt.timedelta(days=int(rng.integers(15, 91)))
    grade = "重大" if rng.random() < 0.05 else "一般"
    late = deadline < AS_OF
    p = [0.8, 0.08, 0.07, 0.05] if late else [0.4, 0.0, 0.4, 0.2]
    status = str(rng.choice(["closed", "逾期", "整改中", "未整改"], p=p))
    closed = None
    if status == "closed":
        status = str(rng.choice(["已整改", "已整改", "已整改", "已销号", "整改完成", "完成"]))
        if rng.random() < 0.5:  # half the rectified ones have no completion date
            last = min(deadline, AS_OF - dt.timedelta(days=1))
            closed = found + dt.timedelta(days=int(rng.integers(0, max(1, (last - found).days) + 1)))
    row = _hd_row(name, q, grade, found, deadline, closed, status, rng.random() > 0.1, k,
                  _DESCRIPTIONS[int(rng.integers(len(_DESCRIPTIONS)))])  # fmt: skip
    next_month = dt.date(found.year + found.month // 12, found.month % 12 + 1, 1)
    if deadline >= next_month and deadline.month < 10 and rng.random() < 0.1:
        row["deadline_written"] = f"{deadline.year}年{deadline.month}月"  # month precision, before as_of
    return row


def _plain(df: pd.DataFrame) -> pd.Series:
    """Background 工贸 enterprises that today's main reads whole (id, sector spelling, CGCS2000 numbers)."""
    return (
        (df["case"] == "")
        & df["id"].notna()
        & (df["sector_written"] == "工贸")
        & (df["system_written"] == "")
        & (df["form"] == "number")
    )


def make_hidden_dangers(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    rows = _case_dangers(df)
    background = df.loc[df["case"] == "", "name"].tolist()
    for name in background:
        if rng.random() < 0.4:
            rows += [_background_danger(name, rng, len(rows) + j) for j in range(int(rng.integers(1, 4)))]
    # One row whose found date has no year (3月5日): rejected with the reason.
    quiet = df.loc[_plain(df), "name"].iloc[0]
    row = _hd_row(quiet, 1, "一般", _d("2025-03-05"), _d("2025-04-05"), None, "已整改", True, 0, "灭火器过期")
    row["found_written"], row["no_year"] = "3月5日", True
    rows.append(row)
    hd = pd.DataFrame(rows)
    hd["no_year"] = hd.get("no_year", pd.Series(False, index=hd.index)).fillna(False).astype(bool)
    ids = df.set_index("name")["id_written"]
    hd["id_written"] = np.where(hd["with_id"] & hd["name"].map(ids).ne("无"), hd["name"].map(ids), "")
    hd["closed_by_status"] = hd["status"].isin(STATUS_CLOSED) & hd["closed"].isna()
    hd = hd.sort_values(["quarter", "found", "name"], kind="stable").reset_index(drop=True)
    hd["sheet"] = hd["quarter"].map(lambda q: LEDGER_SHEETS[q - 1])
    hd["hazard_id"] = [
        f"YH2025Q{q}-{n:04d}"
        for q, n in zip(hd["quarter"], hd.groupby("quarter").cumcount() + 1, strict=True)
    ]
    hd["row"] = hd.groupby("quarter").cumcount() + 3  # title on row 1, header on row 2
    return hd


# --------------------------------------------------------------------------------------------------------------
# risk points, inventory, the register's other columns


def make_risk_points(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """1-4 LS risk points for about half of the background enterprises of the LS sectors; 10 % without an id."""
    rows = []
    ls = [s for s, m in METHODS.items() if "ls_matrix" in m]
    for e in df[(df["case"] == "") & df["sector"].isin(ls)].itertuples():
        if rng.random() >= 0.55:
            continue
        for _ in range(int(rng.integers(1, 5))):
            likelihood = int(rng.choice([1, 2, 3, 4, 5], p=[0.3, 0.3, 0.2, 0.15, 0.05]))
            severity = int(rng.choice([1, 2, 3, 4, 5], p=[0.25, 0.3, 0.25, 0.15, 0.05]))
            blank = e.id_written == "无" or rng.random() < 0.1
            rows.append({
                "name": e.name, "id_written": "" if blank else e.id_written,
                "point": str(rng.choice(["行车", "冲压设备", "配电室", "除尘系统", "液氨储罐", "有限空间", "叉车", "仓库"])),
                "likelihood": likelihood, "severity": severity,
            })  # fmt: skip
    return pd.DataFrame(rows)


def _item(name: str, substance: str, quantity: object, unit: str, storage: str) -> dict[str, object]:
    _, q_crit, beta, density = SUBSTANCES[substance]
    number = float(str(quantity))
    per = UNITS[unit] if unit != "m³" else density
    return {
        "name": name, "storage": storage, "substance": substance, "quantity": quantity, "unit": unit,
        "tonnes": number * per, "gb_name": SUBSTANCES[substance][0], "q_crit": q_crit, "beta": beta,
    }  # fmt: skip


def _background_items(e: pd.Series, rng: np.random.Generator) -> list[dict[str, object]]:
    if e["sector"] == "加油站":
        return [
            _item(e["name"], "92#车用汽油", "60", "m³", "油罐区"),
            _item(e["name"], "0#柴油", 30, "m³", "油罐区"),
        ]
    if e["sector"] == "燃气":
        if rng.random() < 0.5:
            return [_item(e["name"], str(rng.choice(["LPG", "液化石油气"])), "100", "m³", "LPG储罐区")]
        return [_item(e["name"], "液化天然气", "60", "m³", "LNG储罐区")]
    if e["sector"] == "涉氨制冷":
        tonnes = float(rng.choice([3.0, 5.0, 8.0, 12.0, 15.0]))
        return [
            _item(
                e["name"],
                "液氨",
                tonnes * 1000 if tonnes < 5 else tonnes,
                "kg" if tonnes < 5 else "吨",
                "制冷机房",
            )
        ]
    if e["sector"] == "危险化学品" and rng.random() < 0.6:
        out = []
        for storage in ("1#罐区", "甲类仓库")[: int(rng.integers(1, 3))]:
            substance = str(
                rng.choice(["甲醇", "67-56-1", "工业甲醇", "92#车用汽油", "液氨", "LPG", "无水氟化氢"])
            )
            q = SUBSTANCES[substance][1] * float(rng.uniform(0.05, 2.5))
            unit = "kg" if substance == "无水氟化氢" else str(rng.choice(["t", "吨"]))
            out.append(
                _item(e["name"], substance, round(q * (1000 if unit == "kg" else 1), 1), unit, storage)
            )
        return out
    return []


def make_inventory(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for case in MH_CASES:
        rows += [_item(str(case["name"]), *item) for item in case["items"]]  # type: ignore[attr-defined]
    for _, e in df[df["case"] == ""].iterrows():
        rows += _background_items(e, rng)
    inv = pd.DataFrame(rows)
    inv["id_written"] = inv["name"].map(df.set_index("name")["id_written"])
    return inv


def _fill_register_columns(df: pd.DataFrame, inv: pd.DataFrame, rng: np.random.Generator) -> None:
    """是否重大危险源 (S ≥ 1 in a storage unit), persons within 500 m, 从业人数, the standardisation grade."""
    s = (inv["tonnes"] / inv["q_crit"]).groupby([inv["name"], inv["storage"]]).sum()
    major = set(s[s.round(9) >= 1].index.get_level_values(0))
    df["major"] = df["name"].isin(major)
    cases = {str(c["name"]): c for c in MH_CASES}
    written, persons = [], []
    for e in df.itertuples():
        if e.name in cases:
            written.append(cases[e.name]["persons_written"])
            persons.append(cases[e.name]["persons"])
        elif e.major:
            n = int(rng.choice([60, 85, 120, 260, 300, 450]))
            form = int(rng.integers(3))
            written.append([n, f"{n}人", f"约{n}"][form])
            persons.append(float(n))
        else:
            written.append("")
            persons.append(None)
    df["persons_written"], df["persons"] = written, persons
    n = rng.integers(8, 400, size=len(df))
    forms = rng.integers(0, 5, size=len(df))
    df["employees_written"] = [
        [int(k), f"{k}人", f"约{k}", "", str(k)][f] for k, f in zip(n, forms, strict=True)
    ]
    _standardisation_column(df, rng)


def _standardisation_column(df: pd.DataFrame, rng: np.random.Generator) -> None:
    grades = list(STD_GRADES)
    written, valid, number = [], [], []
    for e in df.itertuples():
        if e.case or e.id is None or rng.random() < 0.55:
            written.append(""), valid.append(""), number.append(0)
            continue
        g = grades[int(rng.integers(len(grades)))]
        written.append(g)
        number.append(STD_GRADES[g])
        valid.append(STD_VALID[int(rng.integers(len(STD_VALID)))] if STD_GRADES[g] else "")
    df["std_written"], df["std_valid"], df["std_grade"] = written, valid, number
    # 达标 alone says nothing of the grade: that row is rejected with the reason.
    k = df.index[_plain(df) & (df["std_written"] == "")][-1]
    df.loc[k, ["std_written", "std_valid", "std_grade"]] = ["达标", "2026.5", -1]


# --------------------------------------------------------------------------------------------------------------
# the population raster


#: Persons per 100 m cell around the raster cases: low enough that α turns on the numbers (table 5).
RASTER_DENSITY = {"persons_blank_raster": 0.95, "persons_raster_edge": 1.6}


def write_population(path: Path, district: shapely.Geometry, west: float, df: pd.DataFrame,
                     rng: np.random.Generator) -> dict[str, dict[str, float]]:  # fmt: skip
    """A GK raster of persons per cell over the district but its west strip; even blocks around the cases."""
    minx, miny, maxx, maxy = district.bounds
    east = np.ceil((maxx + 1000) / CELL_M) * CELL_M
    south, north = np.floor((miny - 1000) / CELL_M) * CELL_M, np.ceil((maxy + 1000) / CELL_M) * CELL_M
    width, height = int(round((east - west) / CELL_M)), int(round((north - south) / CELL_M))
    values = rng.gamma(0.8, 12.0, size=(height, width)).astype("float32")
    cases: dict[str, dict[str, float]] = {}
    for case, density in RASTER_DENSITY.items():
        e = df.loc[df["case"] == case].iloc[0]
        col, row = int((e["gk_x"] - west) // CELL_M), int((north - e["gk_y"]) // CELL_M)
        values[max(0, row - 15) : row + 16, max(0, col - 15) : col + 16] = density
        edge = west - e["gk_x"] if case == "persons_raster_edge" else None
        cases[str(e["name"])] = {"density": density, "cell_area_m2": CELL_M**2, "edge_offset_m": edge}
    profile = {
        "driver": "GTiff", "width": width, "height": height, "count": 1, "dtype": "float32", "crs": GK,
        "transform": from_origin(west, north, CELL_M, CELL_M), "nodata": -9999.0, "compress": "deflate",
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(values[None])
    return cases


# --------------------------------------------------------------------------------------------------------------
# the files as the office has them


REGISTER_COLUMNS = (
    "序号", "统一社会信用代码", "企业名称", "行业类别", "经度", "纬度", "坐标系", "所属乡镇（街道）", "所属村（社区）",
    "从业人数", "是否重大危险源", "周边500米内人数", "安全生产标准化等级", "有效期", "备注",
)  # fmt: skip


def dms(value: float, style: int) -> str:
    """118.0867 -> 118°05'12.1" (style 0), 118°05′12.1″ (1), 118度05分12.1秒 (2)."""
    deg = int(value)
    minutes = (value - deg) * 60
    sec = round((minutes - int(minutes)) * 60, 1)
    m = int(minutes)
    if sec >= 60:
        m, sec = m + 1, 0.0
    marks = (("°", "'", '"'), ("°", "′", "″"), ("度", "分", "秒"))[style % 3]
    return f"{deg}{marks[0]}{m:02d}{marks[1]}{sec:04.1f}{marks[2]}"


def _written_xy(df: pd.DataFrame) -> None:
    """The 经度/纬度 cells: coordinates made in each row's system from the true point, written in its form."""
    x, y = df["lon"].to_numpy(copy=True), df["lat"].to_numpy(copy=True)
    for system, convert in (("BD-09", wgs84_to_bd09), ("GCJ-02", wgs84_to_gcj02)):
        m = (df["system"] == system).to_numpy()
        if m.any():
            x[m], y[m] = convert(x[m], y[m])
    cells_x, cells_y = [], []
    k = 0
    for form, lon, lat in zip(df["form"], np.round(x, 6), np.round(y, 6), strict=True):
        if form == "number":
            cells_x.append(float(lon)), cells_y.append(float(lat))
        elif form == "text":
            cells_x.append(f"{lon:.6f}"), cells_y.append(f"{lat:.6f}")
        elif form == "dms":
            cells_x.append(dms(lon, k)), cells_y.append(dms(lat, k))
            k += 1
        elif form == "pair":
            cells_x.append(f"{lon:.4f},{lat:.4f}"), cells_y.append("")
        elif form == "swapped":
            cells_x.append(float(lat)), cells_y.append(float(lon))
        else:
            cells_x.append(""), cells_y.append("")
    df["x_written"], df["y_written"] = cells_x, cells_y
    df["x_system"], df["y_system"] = x, y


def write_register(path: Path, df: pd.DataFrame, towns: dict[str, str]) -> None:
    """The register as an Excel 97-2003 workbook: title, two-row merged header, data, totals and signatures."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("企业台账")
    head = xlwt.easyxf(
        "font: bold on; align: horiz center, vert center; borders: left thin, right thin, top thin, bottom thin"
    )
    date = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    ws.write_merge(
        0, 0, 0, len(REGISTER_COLUMNS) - 1, "同安区工贸和危险化学品企业安全风险管控台账（2025年）", head
    )
    for c, label in enumerate(REGISTER_COLUMNS):
        if label == "经度":
            ws.write_merge(1, 1, c, c + 1, "坐标", head)
            ws.write(2, c, "经度", head)
        elif label == "纬度":
            ws.write(2, c, "纬度", head)
        else:
            ws.write_merge(1, 2, c, c, label, head)
    for r, e in enumerate(df.itertuples(), start=3):
        cells = (
            r - 2, e.id_written, e.name, e.sector_written, e.x_written, e.y_written, e.system_written,
            towns[e.town_code], e.village_name, e.employees_written, "是" if e.major else "否", e.persons_written,
            e.std_written, e.std_valid, "坐标待补" if e.form == "none" else "",
        )  # fmt: skip
        for c, value in enumerate(cells):
            if isinstance(value, dt.date):
                ws.write(r, c, value, date)
            elif value != "":
                ws.write(r, c, value)
    last = 3 + len(df)
    ws.write(last, 0, "合计")
    ws.write(last, 2, f"共{len(df)}家")
    ws.write(last + 1, 0, "填表人：王丽")
    ws.write(last + 1, 4, "审核人：陈志强")
    ws.write(last + 1, 8, "填报日期：2025年10月20日")
    book.save(str(path))


LEDGER_COLUMNS = (
    "序号", "隐患编号", "企业名称", "统一社会信用代码", "隐患等级", "隐患描述", "发现日期", "整改期限", "整改完成日期",
    "整改状态", "备注",
)  # fmt: skip


def write_ledger(path: Path, hd: pd.DataFrame, df: pd.DataFrame, towns: dict[str, str]) -> None:
    """The quarterly hidden-danger ledger: 填表说明, one sheet a quarter with a totals row, 汇总."""
    from openpyxl import Workbook

    book = Workbook()
    notes = book.active
    notes.title = "填表说明"
    for line in (
        "填表说明",
        "1. 本台账按季度分表填写，每条隐患一行。",
        "2. 隐患等级填写一般或重大；整改状态填写已整改、整改中、未整改或逾期。",
        "3. 个体工商户无统一社会信用代码的，可不填，以企业名称为准。",
    ):
        notes.append([line])
    for sheet in LEDGER_SHEETS:
        ws = book.create_sheet(sheet)
        ws.append([f"同安区{sheet}隐患排查治理台账"])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(LEDGER_COLUMNS))
        ws.append(list(LEDGER_COLUMNS))
        rows = hd[hd["sheet"] == sheet]
        for n, h in enumerate(rows.itertuples(), start=1):
            ws.append([n, h.hazard_id, h.name, h.id_written, h.grade, h.description, h.found_written,
                       h.deadline_written, h.closed_written, h.status, ""])  # fmt: skip
        ws.append(["合计", "", f"共{len(rows)}条"])
    summary = book.create_sheet("汇总")
    summary.append(["2025年1-3季度隐患汇总"])
    summary.append(["乡镇（街道）", "一般隐患（项）", "重大隐患（项）", "已整改（项）", "整改率"])
    town = hd["name"].map(df.set_index("name")["town_code"]).map(towns)
    for name, g in hd.groupby(town, sort=True):
        closed = int(g["status"].isin(STATUS_CLOSED).sum())
        summary.append([name, int((g["grade"] == "一般").sum()), int((g["grade"] == "重大").sum()), closed,
                        f"{closed / len(g):.0%}"])  # fmt: skip
    summary.append(["合计", int((hd["grade"] == "一般").sum()), int((hd["grade"] == "重大").sum())])
    book.save(path)


def write_risk_points(path: Path, rp: pd.DataFrame) -> None:
    """The risk-point table as a GBK CSV with a title line above the header."""
    names = {(1, 8): "低风险", (9, 12): "一般风险", (15, 16): "较大风险", (20, 25): "重大风险"}
    with open(path, "w", encoding="gbk", newline="") as f:
        f.write("同安区企业安全风险点登记表（2025年第三季度）\r\n")
        w = csv.writer(f)
        w.writerow(
            [
                "序号",
                "企业名称",
                "统一社会信用代码",
                "风险点名称",
                "可能性L",
                "严重性S",
                "风险值R",
                "风险等级",
            ]
        )
        for n, p in enumerate(rp.itertuples(), start=1):
            r = p.likelihood * p.severity
            level = next(v for (lo, hi), v in names.items() if lo <= r <= hi)
            w.writerow([n, p.name, p.id_written, p.point, p.likelihood, p.severity, r, level])


def write_inventory(path: Path, inv: pd.DataFrame) -> None:
    """The major-hazard inventory: trade names, a CAS number, quantities with a unit column."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = "危险化学品储存"
    ws.append(["同安区重大危险源及危险化学品储存情况统计表"])
    ws.append(["序号", "企业名称", "统一社会信用代码", "单元名称", "物质名称", "设计最大量", "单位", "备注"])
    for n, i in enumerate(inv.itertuples(), start=1):
        ws.append([n, i.name, i.id_written, i.storage, i.substance, i.quantity, i.unit, ""])
    book.save(path)


def write_zones(folder: Path, villages: gpd.GeoDataFrame, towns: gpd.GeoDataFrame) -> None:
    """Villages: GK shapefile, GBK DBF without .cpg, codes as real numbers. Towns: a GeoPackage in EPSG:4490."""
    shp = gpd.GeoDataFrame(
        {"XZQDM": villages["code"].astype(float), "XZQMC": villages["name"]},
        geometry=villages.geometry,
        crs=GK,
    )
    pyogrio.write_dataframe(shp, folder / VILLAGES, encoding="GBK")
    (folder / VILLAGES).with_suffix(".cpg").unlink()
    dbf = (folder / VILLAGES).with_suffix(".dbf")
    raw = bytearray(dbf.read_bytes())
    raw[29] = 0  # no language driver id either: GDAL's default reading is ISO-8859-1 (mojibake)
    dbf.write_bytes(bytes(raw))
    gk = gpd.GeoDataFrame({"XZQDM": towns["code"], "XZQMC": towns["name"]}, geometry=towns.geometry, crs=GK)
    pyogrio.write_dataframe(gk.to_crs("EPSG:4490"), folder / TOWNS, layer="乡镇街道")


# --------------------------------------------------------------------------------------------------------------
# the project file a clerk writes once


#: Features of issue 24 that today's main lacks, by the branch building them.
FEATURES = ("events", "spatial", "scoring")

_COLUMNS_HD = (
    'hazard_id = "隐患编号", facility_id = "统一社会信用代码", name = "企业名称", grade = "隐患等级", '
    'found_date = "发现日期", deadline = "整改期限", closed_date = "整改完成日期", status = "整改状态"'
)
_COLUMNS_RP = (
    'facility_id = "统一社会信用代码", name = "企业名称", point_name = "风险点名称", likelihood = "可能性L", '
    'severity = "严重性S"'
)
_COLUMNS_INV = 'facility_id = "统一社会信用代码"\nunit_id = "单元名称"\nsubstance = "物质名称"\nquantity_t = "设计最大量"'
_COLUMNS_STD = 'facility_id = "统一社会信用代码", grade = "安全生产标准化等级", valid_until = "有效期"'


def _project_lines() -> list[tuple[frozenset[str], str]]:
    """Each line of riskmap.toml with the features it needs (empty: a key today's main has)."""
    none, ev, sp, sc = frozenset(), frozenset({"events"}), frozenset({"spatial"}), frozenset({"scoring"})
    sectors = "\n".join(
        f'"{s}" = [{", ".join(chr(34) + m + chr(34) for m in ms)}]' for s, ms in METHODS.items()
    )
    baseline = ", ".join(f'"{s}" = "{lv}"' for s, lv in BASELINE.items())
    lines: list[tuple[frozenset[str], str]] = [
        (none, f"""# 同安区 2025 年第四季度安全风险分级: 各科室交来的文件原样使用, 不改文件。
[project]
name = "同安区安全风险四色分布图（2025年第四季度）"
district_code = "{DISTRICT}"

[facilities]                      # 企业台账 (Excel 97-2003, 两行表头)
path = "{REGISTER}"
id = "统一社会信用代码"
name = "企业名称"
sector = "行业类别"
x = "经度"
y = "纬度"
crs = "EPSG:4490"                 # 坐标系为空: CGCS2000"""),
        (sp, '''crs_column = "坐标系"             # 百度/高德/腾讯/GPS: 按行换算
zone_column = "所属村（社区）"     # 无坐标的企业按所属村落位'''),
        (none, f"""
[standardisation]                 # 标准化等级和有效期就在台账里
path = "{REGISTER}"
columns = {{ {_COLUMNS_STD} }}"""),
        (none, f"""
[hidden_dangers]                  # 隐患台账: 每季度一个工作表
path = "{LEDGER}"
layer = "*"
columns = {{ {_COLUMNS_HD} }}"""),
        (ev, "match_by_name = true"),
        (none, f"""
[risk_points]
path = "{RISK_POINTS}"
columns = {{ {_COLUMNS_RP} }}"""),
        (ev, "match_by_name = true"),
        (none, f"""
[inventory]                       # 重大危险源: 设计最大量, 单位另列
path = "{INVENTORY}"

[inventory.columns]
{_COLUMNS_INV}"""),
        (sc, 'unit = "单位"                      # t/吨/kg/m³ (m³ by the shipped densities)'),
        (none, f"""
[[zones]]
kind = "village"
path = "{VILLAGES}"
code = "XZQDM"
name = "XZQMC"

[[zones]]
kind = "town"
path = "{TOWNS}"
code = "XZQDM"
name = "XZQMC"

[population]
path = "{POPULATION}"

[scoring]
unassessed = "grey"               # 有限空间企业尚无风险点的: 未评估"""),
        (sc, f'sector_aliases = {{ {", ".join(f"{chr(34)}{k}{chr(34)} = {chr(34)}{v}{chr(34)}" for k, v in LOCAL_ALIASES.items())} }}'),
        (none, f"""
[scoring.sectors]
{sectors}

[methods.gb18218]
persons_column = "周边500米内人数"  # 空白: 按人口栅格

[methods.baseline]
levels = {{ {baseline} }}

[adjustment]
as_of = {AS_OF.isoformat()}

[[adjustment.rules]]
name = "open_major_hidden_danger"
when = {{ condition = "open_major_hidden_danger" }}
raise_to = "red"

[[adjustment.rules]]
name = "overdue_hidden_danger"
when = {{ condition = "overdue_hidden_danger", grade = "一般" }}
raise_by = 1
ceiling = "orange"
"""),
        (none, """
[[adjustment.rules]]              # 标准化二级以上: 降一级, 不低于黄
name = "standardisation"
when = { condition = "standardisation", grades = ["一级", "二级"] }
lower_by = 1
floor = "yellow"
"""),
        (none, """
[supervision]
year = 2026

[outputs]
dir = "riskmap-out"
"""),
    ]  # fmt: skip
    return lines


def write_project(folder: Path, features: tuple[str, ...] = FEATURES, name: str = "riskmap.toml") -> Path:
    """The project file; with ``features`` the lines needing others left out (a branch's own test)."""
    have = set(features)
    text = "\n".join(line for needs, line in _project_lines() if needs <= have)
    path = folder / name
    path.write_text(text + "\n", encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------------------------
# everything


def _counts(t: Truth) -> dict[str, object]:
    df, hd, rp, inv = t.enterprises, t.hidden_dangers, t.risk_points, t.inventory
    return {
        "register_rows": len(df),
        "register_non_data_rows": 2,
        "per_system_written": df["system_written"].replace("", "(empty)").value_counts().to_dict(),
        "per_form": df["form"].value_counts().to_dict(),
        "per_sector_written": df["sector_written"].value_counts().to_dict(),
        "ids_wu": int(df["id"].isna().sum()),
        "ids_15_digit": int(df["id_written"].str.fullmatch(r"\d{15}").sum()),
        "majors": int(df["major"].sum()),
        "persons_written": df.loc[df["major"], "persons_written"].astype(str).replace("", "(blank)").tolist(),
        "std_written": df["std_written"].replace("", "(blank)").value_counts().to_dict(),
        "villages": len(t.villages),
        "towns": len(t.towns),
        "ledger_rows_per_sheet": hd["sheet"].value_counts().reindex(list(LEDGER_SHEETS)).to_dict(),
        "ledger_non_data_rows": len(LEDGER_SHEETS),
        "ledger_closed_by_status_without_date": int(hd["closed_by_status"].sum()),
        "ledger_rows_without_id": int((hd["id_written"] == "").sum()),
        "ledger_month_precision_deadlines": int(hd["deadline_written"].astype(str).str.endswith("月").sum()),
        "ledger_rows_without_year": int(hd["no_year"].sum()),
        "ledger_status": hd["status"].value_counts().to_dict(),
        "risk_point_rows": len(rp),
        "risk_point_rows_without_id": int((rp["id_written"] == "").sum()),
        "inventory_rows": len(inv),
        "inventory_per_substance": inv["substance"].value_counts().to_dict(),
        "inventory_per_unit": inv["unit"].value_counts().to_dict(),
        "cases": {k: len(v) for k, v in t.cases.items()},
    }


def build_county(folder: Path) -> Truth:
    """Write the county's files into ``folder`` and return what they were made from."""
    rng = np.random.default_rng(SEED)
    towns, villages, district = make_zones(rng)
    raster_west = float(np.floor((district.bounds[0] + STRIP_M) / CELL_M) * CELL_M)
    df = _register_rows(rng)
    _assign_forms(df, rng)
    _assign_ids(df, rng)
    _place(df, _Places(villages), rng, raster_west)
    df = df.sort_values("town_code", kind="stable").reset_index(drop=True)  # the office lists by town
    hd = make_hidden_dangers(df, rng)
    rp = make_risk_points(df, rng)
    inv = make_inventory(df, rng)
    _fill_register_columns(df, inv, rng)
    _written_xy(df)
    df["row"] = np.arange(len(df)) + 4  # title row 1, header rows 2-3
    town_names = dict(zip(towns["code"], towns["name"], strict=True))
    folder.mkdir(parents=True, exist_ok=True)
    write_register(folder / REGISTER, df, town_names)
    write_ledger(folder / LEDGER, hd, df, town_names)
    write_risk_points(folder / RISK_POINTS, rp)
    write_inventory(folder / INVENTORY, inv)
    write_zones(folder, villages, towns)
    raster_cases = write_population(folder / POPULATION, district, raster_west, df, rng)
    write_project(folder)
    cases: dict[str, list[str]] = {}
    for case, g in df[df["case"] != ""].groupby("case"):
        cases[str(case)] = g["name"].tolist()
    for form in ("dms", "pair", "swapped", "none"):
        cases[f"coordinates_{form}"] = df.loc[df["form"] == form, "name"].tolist()
    for system in ("BD-09", "GCJ-02"):
        cases[f"system_{system}"] = df.loc[df["system"] == system, "name"].tolist()
    cases["ids_wu"] = df.loc[df["id"].isna(), "name"].tolist()
    truth = Truth(
        folder, df, villages.to_crs("EPSG:4490"), towns.to_crs("EPSG:4490"), hd, rp, inv, cases, raster_cases
    )
    truth.counts = _counts(truth)
    (folder / "truth.json").write_text(
        json.dumps(truth.counts, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    return truth


# --------------------------------------------------------------------------------------------------------------
# the same files after a clerk's hand edits (what today's main needs): the yardstick checked on today's code

#: Substance as written -> the name today's main reads (diesel: its GB 18218 table-2 category).
_MAIN_SUBSTANCE = {"氨": "液氨", "柴油": "W5.4"}


def _month_end(text: str) -> str:
    year, month = (int(v) for v in re.findall(r"\d+", text)[:2])
    nxt = dt.date(year + month // 12, month % 12 + 1, 1)
    return (nxt - dt.timedelta(days=1)).isoformat()


def _raster_persons(truth: Truth, name: str) -> float:
    """Persons the raster holds within 500 m of ``name``: the even density times the buffer's area on the raster
    (shapely's intersection of a fine circle with the raster's extent: a second way to the hand calculation)."""
    e = truth.enterprise(name)
    case = truth.raster_cases[name]
    circle = shapely.Point(e["gk_x"], e["gk_y"]).buffer(RADIUS_M, quad_segs=256)
    with rasterio.open(truth.folder / POPULATION) as src:
        extent = shapely.box(*src.bounds)
    return case["density"] * circle.intersection(extent).area / case["cell_area_m2"]


def hand_edited(truth: Truth, folder: Path) -> Path:
    """The county's files as a clerk edits them by hand for today's main; returns the project file (today's keys).

    Coordinates converted to CGCS2000 decimals (those without: their true point), ids made up for 无, sectors and
    substances spelled as configured, quantities in tonnes, persons as numbers (the raster cases: the persons the
    raster holds), closed dates typed where the status says closed, dates with a day, grades as 三级/二级, zone
    codes as text in a UTF-8 shapefile. The row with 3月5日 and the grade 达标 are left as they are.
    """
    folder.mkdir(parents=True, exist_ok=True)
    df = truth.enterprises.copy()
    made_up = {n: f"GTH{k:03d}" for k, n in enumerate(df.loc[df["id"].isna(), "name"], start=1)}
    df["id_written"] = df["name"].map(made_up).fillna(df["id_written"])
    ids = df.set_index("name")["id_written"]
    df["sector_written"] = df["sector"]
    df["system_written"], df["form"] = "", "number"
    df["x_written"], df["y_written"] = df["lon"].round(6), df["lat"].round(6)
    persons = [
        _raster_persons(truth, n) if n in truth.raster_cases else p
        for n, p in zip(df["name"], df["persons"], strict=True)
    ]
    df["persons_written"] = [round(p, 1) if p is not None and not pd.isna(p) else "" for p in persons]
    df["std_written"] = [{3: "三级", 2: "二级", -1: "达标"}.get(g, "") for g in df["std_grade"]]
    df["std_valid"] = [
        _month_end(v) if isinstance(v, str) and "." in v or "月" in str(v) else v
        for v in df["std_valid"]
    ]  # fmt: skip
    df.loc[df["std_valid"] == "20261109", "std_valid"] = "2026-11-09"
    towns = dict(zip(truth.towns["code"], truth.towns["name"], strict=True))
    write_register(folder / REGISTER, df, towns)

    hd = truth.hidden_dangers.copy()
    hd["id_written"] = hd["name"].map(ids)
    typed = hd["closed_by_status"]
    hd.loc[typed, "closed_written"] = [
        min(d, AS_OF - dt.timedelta(days=1)).isoformat() for d in hd.loc[typed, "deadline"]
    ]  # fmt: skip
    month = hd["deadline_written"].astype(str).str.endswith("月")
    hd.loc[month, "deadline_written"] = hd.loc[month, "deadline"].map(dt.date.isoformat)
    write_ledger(folder / LEDGER, hd, df, towns)

    rp = truth.risk_points.assign(id_written=lambda t: t["name"].map(ids))
    write_risk_points(folder / RISK_POINTS, rp)
    inv = truth.inventory.assign(
        id_written=lambda t: t["name"].map(ids),
        substance=lambda t: t["gb_name"].map(lambda g: _MAIN_SUBSTANCE.get(g, g)),
        quantity=lambda t: t["tonnes"].round(3),
        unit="t",
    )
    write_inventory(folder / INVENTORY, inv)

    villages = truth.villages.to_crs(GK).rename(columns={"code": "XZQDM", "name": "XZQMC"})
    pyogrio.write_dataframe(villages[["XZQDM", "XZQMC", "geometry"]], folder / VILLAGES, encoding="UTF-8")
    for name in (TOWNS, POPULATION):
        (folder / name).write_bytes((truth.folder / name).read_bytes())
    project = write_project(folder, features=())
    with open(project, "a", encoding="utf-8") as f:
        f.write("html = false\nfigure = false\n")  # [outputs] is the last table: the yardstick needs no map
    return project
