from __future__ import annotations

import geopandas as gpd
import pytest
from conftest import TOWNS, VILLAGES, X0, Y0, D
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from riskmap.config import ZoningConfig
from riskmap.zoning import ZONE_CODE, ZONE_NAME, aggregate_zones, assign_zones


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
    assert (zones["town"]["rule"] == "max").all()
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
    assert any("no town with their code prefix" in w for w in res.warnings)
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
