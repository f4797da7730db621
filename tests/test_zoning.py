from __future__ import annotations

import re

import geopandas as gpd
import pytest
from conftest import TOWNS, VILLAGES, X0, Y0, D
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from riskmap.columns import PARENT_CODE, ZONE_CODE, ZONE_NAME
from riskmap.config import ZoningConfig
from riskmap.i18n import language
from riskmap.zoning import aggregate_zones, assign_zones


def _layers(village_codes=None):
    v = gpd.GeoDataFrame(
        {ZONE_CODE: village_codes or [c for c, _, _ in VILLAGES], ZONE_NAME: [n for _, n, _ in VILLAGES]},
        geometry=[g for _, _, g in VILLAGES],
        crs="EPSG:4490",
    )
    t = gpd.GeoDataFrame(
        {ZONE_CODE: [c for c, _, _ in TOWNS], ZONE_NAME: [n for _, n, _ in TOWNS]},
        geometry=[g for _, _, g in TOWNS],
        crs="EPSG:4490",
    )
    return {"village": v, "town": t}


def _facilities(points, levels):
    return gpd.GeoDataFrame(
        {
            "facility_id": [f"F{i}" for i in range(len(points))],
            "name": [f"企业{i}" for i in range(len(points))],
            "level": levels,
            "_row": range(2, len(points) + 2),
        },
        geometry=[Point(p) for p in points],
        crs="EPSG:4490",
    )


def test_point_on_shared_border_is_counted_once_in_the_lower_code():
    # x = X0 + D is the border between 东村 (001001) and 西村 (001002); the corner touches all four villages.
    fac = _facilities([(X0 + D, Y0 + D / 2), (X0 + D, Y0 + D)], ["red", "blue"])
    res = assign_zones(fac, _layers(), "f.csv")
    assert res.facilities["village_code"].tolist() == ["329901001001", "329901001001"]
    assert res.rejects.empty


def test_point_outside_every_zone_is_rejected():
    fac = _facilities([(X0 + 0.005, Y0 + 0.005), (X0 - 1, Y0)], ["red", "blue"])
    res = assign_zones(fac, _layers(), "f.csv")
    assert len(res.facilities) == 1
    assert res.rejects.iloc[0]["row"] == 3 and "outside every village zone" in res.rejects.iloc[0]["reason"]


def test_rollup_by_code_prefix_and_levels():
    fac = _facilities(
        [(X0 + 0.005, Y0 + 0.005), (X0 + 0.025, Y0 + 0.005), (X0 + 0.005, Y0 + 0.025)],
        ["orange", "red", "blue"],
    )
    res = assign_zones(fac, _layers(), "f.csv")
    assert res.facilities["town_code"].tolist() == ["329901001000", "329901001000", "329901002000"]
    zones = aggregate_zones(res.facilities, res.zones, ZoningConfig(empty_level="none"))
    v = zones["village"].set_index(ZONE_CODE)
    assert v["level"].tolist() == ["orange", "red", "blue", "none"]
    assert v.loc["329901001002", "n_red"] == 1 and v.loc["329901002002", "n_facilities"] == 0
    t = zones["town"].set_index(ZONE_CODE)
    assert t["level"].tolist() == ["red", "blue"]
    assert t.loc["329901001000", ["n_red", "n_orange", "n_yellow", "n_blue"]].tolist() == [1, 1, 0, 0]
    assert (zones["town"]["rule"] == "就高").all()
    assert "企业1" in t.loc["329901001000", "drivers"]


def test_empty_zone_level_follows_config():
    fac = _facilities([(X0 + 0.005, Y0 + 0.005)], ["yellow"])
    res = assign_zones(fac, _layers(), "f.csv")
    zones = aggregate_zones(res.facilities, res.zones, ZoningConfig(empty_level="blue"))
    assert zones["village"]["level"].tolist() == ["yellow", "blue", "blue", "blue"]
    assert zones["village"]["reason"].iloc[1].startswith("区内无企业")


def test_village_code_without_town_falls_back_to_space_and_warns():
    codes = [c for c, _, _ in VILLAGES]
    codes[3] = "329901009001"  # its prefix names no town, but it lies in 乙镇
    res = assign_zones(_facilities([(X0 + 0.035, Y0 + 0.035)], ["red"]), _layers(codes), "f.csv")
    assert any("没有对应代码前缀的乡镇（街道）" in w for w in res.warnings), res.warnings
    assert res.facilities["town_code"].tolist() == ["329901002000"]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.001, 0.039),
            st.floats(0.001, 0.039),
            st.sampled_from(["red", "orange", "yellow", "blue"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_under_max_no_zone_is_below_its_worst_facility(pts):
    fac = _facilities([(X0 + x, Y0 + y) for x, y, _ in pts], [lv for _, _, lv in pts])
    res = assign_zones(fac, _layers(), "f.csv")
    assert len(res.facilities) + len(res.rejects) == len(fac)
    zones = aggregate_zones(res.facilities, res.zones, ZoningConfig())
    rank = {"red": 4, "orange": 3, "yellow": 2, "blue": 1, "none": 0}
    for kind, z in zones.items():
        zl = z.set_index(ZONE_CODE)["level"].map(rank)
        worst = res.facilities.groupby(f"{kind}_code")["level"].agg(lambda s: max(rank[x] for x in s))
        assert (zl.reindex(worst.index) >= worst).all()
        assert z[["n_red", "n_orange", "n_yellow", "n_blue"]].to_numpy().sum() == len(res.facilities)


@pytest.mark.parametrize("epsg", [4490, 4326, 32650])
def test_same_levels_in_any_crs(epsg):
    fac = _facilities([(X0 + 0.005, Y0 + 0.005), (X0 + 0.035, Y0 + 0.035)], ["red", "yellow"]).to_crs(epsg)
    layers = {k: v.to_crs(epsg) for k, v in _layers().items()}
    res = assign_zones(fac, layers, "f.csv")
    zones = aggregate_zones(res.facilities, res.zones, ZoningConfig())
    assert zones["village"]["level"].tolist() == ["red", "blue", "blue", "yellow"]
    assert zones["town"]["level"].tolist() == ["red", "yellow"]


# ------------------------------------------------------------------ rules, grids, snapping, spillover
from riskmap.columns import ASSIGNMENT  # noqa: E402
from riskmap.config import GridConfig  # noqa: E402
from riskmap.zone_layers import make_grid  # noqa: E402
from riskmap.zoning import apply_spillover, count_sites  # noqa: E402


def _zoned(points, levels, **extra):
    fac = _facilities(points, levels)
    for k, v in extra.items():
        fac[k] = v
    return assign_zones(fac, _layers(), "f.csv")


def test_thresholds_rule_at_its_thresholds():
    cfg = ZoningConfig(
        rule="thresholds",
        thresholds={
            "red": [{"n_red": 1}, {"n_orange": 3}],
            "orange": [{"n_orange": 1}],
            "yellow": [{"n_yellow": 2}],
        },
    )
    in_v1 = [(X0 + 0.005 + i * 0.001, Y0 + 0.005) for i in range(3)]  # 东村
    in_v2 = [(X0 + 0.025 + i * 0.001, Y0 + 0.005) for i in range(2)]  # 西村
    in_v3 = [(X0 + 0.005, Y0 + 0.025)]  # 南村
    res = _zoned(in_v1 + in_v2 + in_v3, ["orange"] * 3 + ["orange", "orange"] + ["yellow"])
    zones = aggregate_zones(res.facilities, res.zones, cfg)["village"].set_index(ZONE_CODE)
    assert zones["level"].tolist() == [
        "red",
        "orange",
        "blue",
        "blue",
    ]  # 3 orange -> red; one yellow < 2 -> blue
    assert (
        zones["rule"].iloc[0]
        == "数量阈值：n_red≥1 或 n_orange≥3 为重大风险；n_orange≥1 为较大风险；n_yellow≥2 为一般风险"
    )
    with language("en"):
        rule = aggregate_zones(res.facilities, res.zones, cfg)["village"]["rule"].iloc[0]
    assert rule == (
        "counts: Major risk if n_red≥1 or n_orange≥3; Considerable risk if n_orange≥1; General risk if n_yellow≥2"
    )
    assert "数量规则" in zones["reason"].iloc[0]
    assert zones.loc["329901002002", "reason"].startswith("区内无企业")


def test_index_rule_with_fixed_breaks_and_parts():
    cfg = ZoningConfig(rule="index")
    res = _zoned([(X0 + 0.005, Y0 + 0.005), (X0 + 0.025, Y0 + 0.005)], ["red", "blue"])
    layers = {k: v.assign(population=[1000.0, 10.0, 0.0, 0.0][: len(v)]) for k, v in res.zones.items()}
    z = aggregate_zones(res.facilities, layers, cfg)["village"].set_index(ZONE_CODE)
    # 东村: hazard 1.0, exposure 1.0 -> index 0.5*1 + 0.3*1 = 0.8 -> red; 西村: 0.5*0.1 + 0.3*0.01 = 0.053 -> blue
    assert z.loc["329901001001", "index"] == pytest.approx(0.8)
    assert z.loc["329901001001", "level"] == "red" and z.loc["329901001002", "level"] == "blue"
    assert (
        z["rule"].iloc[0]
        == "风险指数：≥0.6 为重大风险，≥0.4 为较大风险，≥0.2 为一般风险；权重 危险性 0.5、暴露度 0.3、脆弱性 0.2"
    )
    assert {"idx_hazard", "idx_exposure", "idx_vulnerability", "index"} <= set(z.columns)


def test_index_rule_with_a_mapclassify_scheme_records_its_breaks():
    cfg = ZoningConfig(rule="index", index={"classify": "Quantiles"})
    pts = [(X0 + 0.001 + 0.004 * i, Y0 + 0.001 + 0.004 * j) for i in range(10) for j in range(10)]
    lv = (["red", "orange", "yellow", "blue"] * 25)[: len(pts)]
    res = _zoned(pts, lv)
    z = aggregate_zones(res.facilities, res.zones, cfg)["village"]
    assert re.match(r"风险指数（分位数法）：低风险≤0\.\d{1,3}，一般风险≤", z["rule"].iloc[0]), z["rule"].iloc[
        0
    ]
    with language("en"):
        z = aggregate_zones(res.facilities, res.zones, cfg)["village"]
    assert z["rule"].iloc[0].startswith("risk index by quantiles: Low risk up to 0.")
    with pytest.raises(ValueError, match=r"未知的 classify 'Nonsense'"):
        ZoningConfig(rule="index", index={"classify": "Nonsense"})


@pytest.mark.parametrize("shape", ["square", "hex"])
def test_grid_zones_tile_their_parent_and_roll_up(shape):
    towns = _layers()["town"]
    grid = make_grid(towns, GridConfig(shape=shape, size_m=700), "grid")
    assert grid[ZONE_CODE].is_unique
    area = lambda g: g.to_crs(32650).area.sum()  # noqa: E731
    assert area(grid) == pytest.approx(area(towns), rel=1e-6)
    assert grid[ZONE_CODE].str.split("-").str[0].isin(towns[ZONE_CODE]).all()
    fac = _facilities([(X0 + 0.005, Y0 + 0.005), (X0 + 0.035, Y0 + 0.035)], ["red", "yellow"])
    res = assign_zones(fac, {"grid": grid, "town": towns}, "f.csv")
    assert res.facilities["town_code"].tolist() == ["329901001000", "329901002000"]
    zones = aggregate_zones(res.facilities, res.zones, ZoningConfig())
    assert zones["grid"][["n_red", "n_yellow"]].to_numpy().sum() == 2


def test_snapping_places_near_misses_in_the_nearest_zone():
    fac = _facilities(
        [(X0 - 0.002, Y0 + 0.005), (X0 - 0.05, Y0 + 0.005)], ["red", "blue"]
    )  # ~190 m, ~4.7 km out
    res = assign_zones(fac, _layers(), "f.csv", snap_distance_m=500)
    assert res.facilities["village_code"].tolist() == ["329901001001"]
    assert res.facilities[ASSIGNMENT].iloc[0].startswith("nearest (1")
    assert "none within 500 m" in res.rejects.iloc[0]["reason"]
    assert any("已落入最近的区域（500 米以内" in w for w in res.warnings), res.warnings


def test_plant_boundary_goes_to_the_zone_with_most_of_its_area():
    from shapely.geometry import box as sbox

    fac = _facilities([(X0 + 0.0195, Y0 + 0.005)], ["red"])  # its point lies in 东村 ...
    fac["_footprint"] = gpd.GeoSeries([sbox(X0 + 0.019, Y0 + 0.004, X0 + 0.026, Y0 + 0.006)], crs=fac.crs)
    res = assign_zones(fac, _layers(), "f.csv")  # ... but most of the plant is in 西村
    assert res.facilities["village_code"].tolist() == ["329901001002"]
    assert res.facilities[ASSIGNMENT].tolist() == ["largest overlap"]


def test_spillover_raises_neighbours_of_big_major_hazards():
    res = _zoned([(X0 + 0.019, Y0 + 0.005), (X0 + 0.035, Y0 + 0.035)], ["red", "blue"], gb18218_grade=[1, 0])
    zones = aggregate_zones(res.facilities, res.zones, ZoningConfig())
    raised = apply_spillover(zones, res.facilities, ZoningConfig(spillover={"distance_m": 500}))
    v = raised["village"].set_index(ZONE_CODE)
    assert v.loc["329901001002", "level"] == "orange"  # 西村 is within 500 m of the 一级 plant in 东村
    assert "外溢: 相邻区域一级重大危险源" in v.loc["329901001002", "reason"]
    assert v.loc["329901002002", "level"] == "blue"  # far away, unchanged
    assert v.loc["329901001001", "level"] == "red"


def test_sensitive_sites_counted_per_zone_and_near_hazards():
    res = _zoned([(X0 + 0.005, Y0 + 0.005)], ["red"])
    sites = gpd.GeoDataFrame(
        {"kind": ["学校", "医院"]},
        geometry=[Point(X0 + 0.006, Y0 + 0.005), Point(X0 + 0.035, Y0 + 0.035)],
        crs="EPSG:4490",
    )
    counts = count_sites(res.zones, sites, res.facilities, distance_m=500)
    v = counts["village"]
    assert v.loc["329901001001"].tolist() == [1, 1] and v.loc["329901002002"].tolist() == [1, 0]


def test_rules_per_layer():
    cfg = ZoningConfig(
        by_layer={
            "town": {"rule": "thresholds", "thresholds": {"red": [{"n_red": 2}], "orange": [{"n_red": 1}]}}
        }
    )
    res = _zoned([(X0 + 0.005, Y0 + 0.005), (X0 + 0.035, Y0 + 0.035)], ["red", "yellow"])
    zones = aggregate_zones(res.facilities, res.zones, cfg)
    assert zones["village"]["rule"].iloc[0] == "就高"
    t = zones["town"].set_index(ZONE_CODE)["level"].to_dict()
    assert t == {"329901001000": "orange", "329901002000": "blue"}  # one red only; yellow matches no clause
    assert cfg.for_layer("town").index == cfg.index


def test_a_grid_that_does_not_nest_in_villages_leaves_village_membership_alone():
    layers = _layers()
    grid = make_grid(layers["town"], GridConfig(shape="hex", size_m=1500), "grid")
    pts = [(X0 + 0.001 + 0.0038 * i, Y0 + 0.001 + 0.0038 * j) for i in range(10) for j in range(10)]
    fac = _facilities(pts, ["red", "orange", "yellow", "blue"] * 25)
    plain = assign_zones(fac, layers, "f.csv")
    with_grid = assign_zones(fac, {"grid": grid, **layers}, "f.csv")
    assert with_grid.facilities["village_code"].tolist() == plain.facilities["village_code"].tolist()
    assert with_grid.facilities["town_code"].tolist() == plain.facilities["town_code"].tolist()
    assert any("网格图层不能嵌套在村（社区）中" in w for w in with_grid.warnings), with_grid.warnings
    assert with_grid.zones["grid"][PARENT_CODE].isna().all()


@pytest.mark.parametrize(
    ("shift_m", "says"),
    [
        (0, None),
        (150, None),  # boundaries of two layers generalised apart
        (3000, "4 个村（社区）区域中有 2 个位于按代码所属的乡镇（街道）（代码前 9 位所指的乡镇（街道））之外超过 500 米"
         "（中位数 2.1 公里；329901001001 东村, 329901002001 南村）"),
        (6000, "4 个村（社区）区域中有 4 个位于按代码所属的乡镇（街道）（代码前 9 位所指的乡镇（街道））之外超过 500 米"
         "（中位数 4.1 公里；329901001001 东村, 329901001002 西村, 329901002001 南村, ...）"),
    ],
)  # fmt: skip
def test_towns_off_their_villages_by_code_are_named(shift_m, says):
    """Town polygons 3 km off their villages (codes matching) re-graded towns in silence (issue 23)."""
    from shapely import affinity

    layers = _layers()
    towns = layers["town"]
    towns["geometry"] = towns.geometry.map(
        lambda g: affinity.translate(g, xoff=shift_m / 94_300)
    )  # m at 32.2 N
    res = assign_zones(_facilities([(X0 + 0.005, Y0 + 0.005)], ["red"]), layers, "f.csv")
    found = [w for w in res.warnings if "位于按代码所属的" in w]
    if says is None:
        assert found == []
        return
    [warning] = found
    assert warning.startswith(says + "：乡镇（街道）图层可能加了偏移"), warning
    with language("en"):
        english = assign_zones(_facilities([(X0 + 0.005, Y0 + 0.005)], ["red"]), layers, "f.csv").warnings
    assert any("village zones lie outside their town by code" in w for w in english), english
    assert res.facilities["town_code"].tolist() == ["329901001000"]  # the roll-up still goes by code
