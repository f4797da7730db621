"""No enterprise vanishes (issue 24): one without usable coordinates is placed by its register's village column
(``[facilities] zone_column``), matched by 12-digit code or by name within its town."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from conftest import IDS, VILLAGES, write_boundaries

import riskmap

VILLAGE_OF = {"A": "东村", "B": "西村", "C": "北村", "D": "南村", "E": "南村", "F": "北村"}
TOWN_OF = {"东村": "甲镇", "西村": "甲镇", "南村": "乙镇", "北村": "乙镇"}
CODE_OF = {n: c for c, n, _ in VILLAGES}


def _with_village_column(project: Path, column: str = "所属村", town: str | None = None, **cells) -> None:
    """A 所属村 column (village names) in facilities.csv, cells changed by facility key, and zone_column set."""
    d = project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str, keep_default_na=False)
    key = {v: k for k, v in IDS.items()}
    fac[column] = fac["facility_id"].map(key).map(VILLAGE_OF)
    if town:
        fac[town] = fac[column].map(TOWN_OF)
    for k, changes in cells.items():
        for col, value in changes.items():
            fac.loc[fac["facility_id"] == IDS[k], col] = value
    fac.to_csv(d / "facilities.csv", index=False)
    keys = f'zone_column = "{column}"\n' + (f'town_column = "{town}"\n' if town else "")
    text = project.read_text(encoding="utf-8").replace('crs = "EPSG:4490"\n', f'crs = "EPSG:4490"\n{keys}', 1)
    project.write_text(text, encoding="utf-8")


def _rejected(result: riskmap.RunResult) -> list[dict]:
    """The facility rows rejected (their risk points go with them)."""
    return result.rejects[result.rejects["source"] == "facilities.csv"].to_dict("records")


def _check(project: Path) -> riskmap.RunResult:
    result = riskmap.check(riskmap.load_config(project))
    s = result.summary
    assert (
        s["facilities_in"] == s["facilities_scored"] + s["facilities_unassessed"] + s["facilities_rejected"]
    )
    return result


def test_an_enterprise_without_coordinates_is_placed_in_its_village(tiny_project: Path):
    baseline = _check(tiny_project)
    _with_village_column(tiny_project, C={"lon": "", "lat": ""}, F={"lon": "待补", "lat": "待补"})
    result = _check(tiny_project)
    assert result.rejects.empty, result.rejects["reason"].tolist()
    fac = result.facilities.set_index("facility_id")
    for k in "CF":
        assert (
            fac.loc[IDS[k], "village_code"] == CODE_OF["北村"]
            and fac.loc[IDS[k], "town_code"] == "329901002000"
        )
        assert fac.loc[IDS[k], "zone_assignment"] == "placed by 所属村"
        assert (
            "按所属村" in fac.loc[IDS[k], "reasons"] and "placed by 所属村" in fac.loc[IDS[k], "reasons_en"]
        )
        # its point: inside its village
        assert shapely.contains(VILLAGES[3][2], fac.loc[IDS[k], "geometry"])
    # graded as before (its risk points), counted in its village
    assert fac.loc[IDS["C"], "level"] == baseline.facilities.set_index("facility_id").loc[IDS["C"], "level"]
    village = result.zones["village"].set_index("zone_code")
    assert village.loc[CODE_OF["北村"], "n_facilities"] == 2
    assert village.loc[CODE_OF["北村"], "placed_by_column"] == "丙机械厂、己工厂"
    assert village.loc[CODE_OF["东村"], "placed_by_column"] == ""
    (note,) = [w for w in result.warnings if "已按 所属村 落位" in w]
    assert note.startswith("2 家企业没有可用坐标，已按 所属村 落位于该列所指区域内的一点"), note
    assert "（第 4, 7 行；坐标为空 (1), 坐标不是数字 (1)" in note, note  # the problems in Chinese too


def test_the_zone_column_may_hold_the_12_digit_code(tiny_project: Path):
    _with_village_column(tiny_project, C={"lon": "", "所属村": "329901002002.0"})
    fac = _check(tiny_project).facilities.set_index("facility_id")
    assert fac.loc[IDS["C"], "village_code"] == CODE_OF["北村"]


def test_committee_suffixes_do_not_count(tiny_project: Path):
    _with_village_column(tiny_project, C={"lon": "", "所属村": "北村村委会"})
    fac = _check(tiny_project).facilities.set_index("facility_id")
    assert fac.loc[IDS["C"], "village_code"] == CODE_OF["北村"]


def test_a_village_the_layer_lacks_is_rejected_with_both_reasons(tiny_project: Path):
    _with_village_column(tiny_project, C={"lon": "", "所属村": "北材"})
    result = _check(tiny_project)
    (r,) = _rejected(result)
    assert (r["row"], r["field"]) == (4, "lon")
    assert r["reason"].startswith("the coordinate is empty")
    assert "所属村 '北材' matches no village zone" in r["reason"] and "北村" in r["reason"], r["reason"]


def test_without_coordinates_and_without_village_the_row_is_rejected(tiny_project: Path):
    _with_village_column(tiny_project, C={"lon": "", "所属村": ""})
    (r,) = _rejected(_check(tiny_project))
    assert r["reason"].startswith("the coordinate is empty") and "所属村 is empty" in r["reason"]


def _two_villages_named_alike(project: Path) -> None:
    """南村 renamed 东村: two villages 东村, one in 甲镇 and one in 乙镇."""
    d = project.parent
    (d / "boundaries.gpkg").unlink()
    write_boundaries(d / "boundaries.gpkg")
    v = gpd.read_file(d / "boundaries.gpkg", layer="village")
    v.loc[v["code"] == CODE_OF["南村"], "name"] = "东村"
    v.to_file(d / "boundaries.gpkg", layer="village", driver="GPKG")


def test_an_ambiguous_name_is_rejected_naming_the_candidates(tiny_project: Path):
    _two_villages_named_alike(tiny_project)
    _with_village_column(tiny_project, D={"lon": "", "所属村": "东村"})
    (r,) = _rejected(_check(tiny_project))
    assert (
        "所属村 '东村' matches 2 village zones: 329901001001 东村 (甲镇), 329901002001 东村 (乙镇)"
        in r["reason"]
    )
    assert "town_column" in r["reason"], r["reason"]


def test_the_town_column_tells_them_apart(tiny_project: Path):
    _two_villages_named_alike(tiny_project)
    _with_village_column(tiny_project, town="所属镇", D={"lon": "", "所属村": "东村"})
    result = _check(tiny_project)
    assert result.rejects.empty, result.rejects["reason"].tolist()
    assert result.facilities.set_index("facility_id").loc[IDS["D"], "village_code"] == CODE_OF["南村"]


@pytest.mark.parametrize(
    ("town", "says"), [("丙镇", "matches no town zone"), ("甲镇", "not a village of 甲镇")]
)
def test_a_town_that_does_not_fit_is_said(tiny_project: Path, town, says):
    _with_village_column(tiny_project, town="所属镇", C={"lon": "", "所属镇": town})
    (r,) = _rejected(_check(tiny_project))
    assert says in r["reason"], r["reason"]


def test_the_town_may_be_given_by_its_code(tiny_project: Path):
    _two_villages_named_alike(tiny_project)
    _with_village_column(tiny_project, town="所属镇", D={"lon": "", "所属村": "东村", "所属镇": "329901002"})
    fac = _check(tiny_project).facilities.set_index("facility_id")
    assert fac.loc[IDS["D"], "village_code"] == CODE_OF["南村"]


def test_a_vector_feature_without_geometry_is_placed(tiny_project: Path):
    d = tiny_project.parent
    _with_village_column(tiny_project)
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    points = list(gpd.points_from_xy(fac["lon"].astype(float), fac["lat"].astype(float)))
    points[2] = None
    gpd.GeoDataFrame(fac.drop(columns=["lon", "lat"]), geometry=points, crs="EPSG:4490").to_file(
        d / "facilities.gpkg"
    )
    text = tiny_project.read_text(encoding="utf-8").replace(
        'path = "facilities.csv"', 'path = "facilities.gpkg"'
    )
    tiny_project.write_text(text, encoding="utf-8")
    result = _check(tiny_project)
    assert result.rejects.empty, result.rejects["reason"].tolist()
    fac = result.facilities.set_index("facility_id")
    assert fac.loc[IDS["C"], "zone_assignment"] == "placed by 所属村"
    assert fac.loc[IDS["C"], "village_code"] == CODE_OF["北村"]


def test_a_missing_zone_column_is_named(tiny_project: Path):
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(
        text.replace('crs = "EPSG:4490"\n', 'crs = "EPSG:4490"\nzone_column = "所属村"\n', 1)
    )
    with pytest.raises(
        riskmap.RiskmapError, match=r"没有“所属村”列（请将 facilities\.zone_column 设为文件中的列名）"
    ):
        riskmap.check(riskmap.load_config(tiny_project))


def test_placed_enterprises_are_listed_in_the_zone_tooltip_of_the_map(tiny_project: Path, tmp_path: Path):
    from mapdata import read_map

    _with_village_column(tiny_project, C={"lon": "", "lat": ""})
    riskmap.run(riskmap.load_config(tiny_project), tmp_path / "out")
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    data = read_map(page)
    assert data.texts["placed"] == "无坐标, 按所属村落位的企业"  # the tooltip's line
    villages = data.zones(0).set_index("name")
    assert villages.loc["北村", "placed"] == "丙机械厂"


@pytest.mark.browser
def test_placed_enterprises_in_the_zone_popup_of_the_map(tiny_project: Path, tmp_path: Path):
    """北村's popup lists the enterprise placed there."""
    from browser import chromium, open_page

    _with_village_column(tiny_project, C={"lon": "", "lat": ""})
    riskmap.run(riskmap.load_config(tiny_project), tmp_path / "out")
    with chromium() as browser, open_page(browser, tmp_path / "out" / "map.html") as (page, log):
        name = page.evaluate("document.querySelector('.folium-map').id")
        page.evaluate("(n) => window[n].riskmap.ready", name)
        # 北村's corner, away from its facilities
        page.evaluate("(n) => window[n].setView([32.2205, 119.6205], 17, {animate: false})", name)
        box = page.locator(".folium-map").bounding_box()
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        popup = page.locator(".leaflet-popup-content")
        page.wait_for_function("document.querySelector('.leaflet-popup-content').innerText.includes('北村')")
        assert "无坐标, 按所属村落位的企业\t丙机械厂" in popup.inner_text(), popup.inner_text()
        assert log.errors == [] and log.dialogs == [] and log.blocked == []


def test_a_zone_column_with_only_grids_is_a_config_error(tiny_project: Path):
    _with_village_column(tiny_project, C={"lon": ""})
    text = tiny_project.read_text(encoding="utf-8")
    start = text.index("[[zones]]")
    end = text.index("[population]")
    grid = '[[zones]]\nkind = "grid"\ngrid = { shape = "square", size_m = 1000 }\n\n'
    tiny_project.write_text(text[:start] + grid + text[end:], encoding="utf-8")
    with pytest.raises(riskmap.RiskmapError, match=r"zone_column（'所属村'）指向从文件读取的区域图层"):
        riskmap.check(riskmap.load_config(tiny_project))
