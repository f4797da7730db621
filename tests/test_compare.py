"""Comparing two runs: levels up/down, new and removed facilities, and the reasons that changed."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from openpyxl import load_workbook
from shapely.geometry import Point, box

from riskmap.compare import CHANGE_COLUMNS, compare_runs, diff_runs, district_mismatch, open_run, read_run
from riskmap.errors import InputError
from riskmap.i18n import language
from riskmap.levels import color
from riskmap.outputs.changes import render_diff_html, write_diff
from riskmap.outputs.gpkg import write_geopackage


def facilities(rows: list[tuple[str, str, str]]) -> gpd.GeoDataFrame:
    """(id, level, reasons) rows."""
    return gpd.GeoDataFrame(
        {
            "facility_id": [r[0] for r in rows],
            "name": [f"企业{r[0]}" for r in rows],
            "sector": "工贸",
            "level": [r[1] for r in rows],
            "reasons": [r[2] for r in rows],
        },
        geometry=[Point(119.6 + i * 0.01, 32.2) for i in range(len(rows))],
        crs="EPSG:4490",
    )


def zones(levels: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "zone_code": [f"32990100100{i}" for i in range(len(levels))],
            "zone_name": [f"村{i}" for i in range(len(levels))],
            "level": levels,
            "reason": [f"就高: {lv}" for lv in levels],
        },
        geometry=[box(i, 0, i + 1, 1) for i in range(len(levels))],
        crs="EPSG:4490",
    )


OLD = {
    "facilities": facilities(
        [
            ("A", "yellow", "LS: R=9"),
            ("B", "red", "LS: R=25；动态调整: 存在未销号重大事故隐患 (Y1) → 重大风险"),
            ("C", "blue", "LS: R=4"),
            ("D", "blue", "LS: R=2"),
        ]
    ),
    "zones_village": zones(["yellow", "red"]),
}
NEW = {
    "facilities": facilities(
        [
            ("A", "red", "LS: R=9；动态调整: 12个月内发生死亡事故 (S1) → 重大风险"),
            ("B", "blue", "LS: R=25"),
            ("C", "blue", "LS: R=4"),
            ("E", "blue", "<script>alert(1)</script><b>x</b>"),
        ]
    ),
    "zones_village": zones(["red", "red"]),
}


def test_compare_runs_counts_and_reasons():
    d = compare_runs(OLD, NEW)
    assert d.counts["facilities"] == {"up": 1, "down": 1, "new": 1, "removed": 1, "unchanged": 1}
    assert d.counts["zones_village"] == {"up": 1, "down": 0, "new": 0, "removed": 0, "unchanged": 1}
    fac = d.changes["facilities"].set_index("id")
    assert fac["change"].to_dict() == {"A": "up", "B": "down", "E": "new", "D": "removed"}
    assert fac.loc["A", "reasons_added"] == "动态调整: 12个月内发生死亡事故 (S1) → 重大风险"
    assert fac.loc["A", "reasons_removed"] == ""
    assert fac.loc["B", "reasons_removed"].startswith("动态调整: 存在未销号")
    assert fac.loc["A", ["level_old", "level_new", "steps"]].tolist() == ["yellow", "red", 2]
    assert fac.loc["A", ["level_old_zh", "level_new_zh"]].tolist() == ["一般风险", "重大风险"]
    assert fac.loc["D", ["level_new", "level"]].tolist() == ["", "blue"]  # removed: styled by its old level
    assert list(d.table().columns) == CHANGE_COLUMNS and len(d.table()) == 5


@pytest.mark.parametrize("missing", ["old", "new"])
def test_layer_missing_in_one_run(missing: str):
    old = {"facilities": OLD["facilities"]} if missing == "old" else OLD
    new = {"facilities": NEW["facilities"]} if missing == "new" else NEW
    d = compare_runs(old, new)
    kind = "new" if missing == "old" else "removed"
    assert d.counts["zones_village"][kind] == 2 and d.counts["zones_village"]["unchanged"] == 0


def test_identical_runs_have_no_changes():
    d = compare_runs(OLD, OLD)
    assert d.table().empty
    assert d.counts["facilities"]["unchanged"] == 4


def test_write_diff_and_read_back(tmp_path: Path):
    for name, layers in (("old", OLD), ("new", NEW)):
        write_geopackage(tmp_path / f"{name}.gpkg", {**layers, "rejects": pd.DataFrame({"x": [1]})})
    assert set(read_run(tmp_path / "old.gpkg")) == {"facilities", "zones_village"}
    d = diff_runs(tmp_path / "old.gpkg", tmp_path / "new.gpkg")
    assert d.counts["facilities"]["up"] == 1
    paths = write_diff(d, tmp_path / "out")
    layers = dict(pyogrio.list_layers(paths["geopackage"]))
    assert {"changes_facilities", "changes_zones_village"} <= set(layers)
    back = pyogrio.read_dataframe(paths["geopackage"], layer="changes_facilities")
    assert back.crs.to_epsg() == 4490 and sorted(back["change"]) == ["down", "new", "removed", "up"]
    assert paths["csv"].read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM for Excel
    assert len(pd.read_csv(paths["csv"], encoding="utf-8-sig")) == 5
    wb = load_workbook(paths["xlsx"])
    assert {"summary", "facilities", "zones_village"} <= set(wb.sheetnames)
    page = paths["html"].read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page  # user data is escaped


def test_html_lists_counts():
    page = render_diff_html(compare_runs(OLD, NEW))
    rows = re.findall(r"<tr><td>(\w+)</td>((?:<td>\d+</td>)+)</tr>", page)
    counts = {layer: [int(n) for n in re.findall(r"\d+", cells)] for layer, cells in rows}
    # up, down, new, removed, unchanged: A up, B down, E new, D removed, C unchanged; village 1 up, 0 the same.
    assert counts == {"facilities": [1, 1, 1, 1, 1], "zones_village": [1, 0, 0, 0, 1]}
    assert "企业A" in page and "升级" in page
    # Each level cell is painted in its level's colour: A went from 一般风险 (yellow) to 重大风险 (red).
    assert re.search(
        rf"<td>A</td><td>企业A</td><td class='lv' style='background:{color('yellow')}'>一般风险</td>"
        rf"<td class='lv' style='background:{color('red')}'>重大风险</td>",
        page,
    ), page


def test_read_run_errors(tmp_path: Path):
    with pytest.raises(InputError, match="nope\\.gpkg：找不到文件；请给出每次运行的 riskmap.gpkg"):
        read_run(tmp_path / "nope.gpkg")
    write_geopackage(tmp_path / "other.gpkg", {"rejects": pd.DataFrame({"x": [1]})})
    with pytest.raises(InputError, match=r"other\.gpkg：没有 facilities 图层（图层：rejects"):
        read_run(tmp_path / "other.gpkg")
    with (
        language("en"),
        pytest.raises(InputError, match=r"other\.gpkg: no facilities layer \(layers: rejects"),
    ):
        read_run(tmp_path / "other.gpkg")


# --------------------------------------------------------------------------------------------------------------
# Levels as a QGIS edit leaves them, and runs of another district


def _with_levels(layers: dict[str, gpd.GeoDataFrame], levels: dict[str, str]) -> dict[str, gpd.GeoDataFrame]:
    fac = layers["facilities"].copy()
    fac["level"] = fac["level"].map(lambda k: levels.get(k, k))
    return {**layers, "facilities": fac}


@pytest.mark.parametrize(
    "labels",
    [
        {"red": "重大风险", "orange": "较大风险", "yellow": "一般风险", "blue": "低风险"},
        {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝"},
        {"red": "Major risk", "yellow": " 黄色 ", "blue": "BLUE"},
    ],
    ids=["labels", "colour words", "English and spacing"],
)
def test_levels_written_as_labels_are_read_as_levels(tmp_path: Path, labels: dict[str, str]):
    write_geopackage(tmp_path / "old.gpkg", _with_levels(OLD, labels))
    write_geopackage(tmp_path / "new.gpkg", NEW)
    d = diff_runs(tmp_path / "old.gpkg", tmp_path / "new.gpkg")
    assert d.counts == compare_runs(OLD, NEW).counts
    assert d.changes["facilities"].set_index("id").loc["A", "level_old"] == "yellow"


def test_unknown_levels_are_refused_naming_file_layer_and_values(tmp_path: Path):
    write_geopackage(tmp_path / "old.gpkg", _with_levels(OLD, {"yellow": "purple", "blue": ""}))
    write_geopackage(tmp_path / "new.gpkg", NEW)
    with pytest.raises(
        InputError,
        match=r"old\.gpkg：图层 facilities：有 3 行的等级 riskmap 无法识别：'purple'（1 行，第一个是 A）；''（2 行，"
        r"第一个是 C）。等级须为 red、orange、yellow、blue 或 none",
    ):
        diff_runs(tmp_path / "old.gpkg", tmp_path / "new.gpkg")
    with pytest.raises(InputError, match=r"图层 facilities：有 1 行的等级 riskmap 无法识别：'purple'"):
        compare_runs(_with_levels(OLD, {"yellow": "purple"}), NEW)


def test_runs_of_another_district_are_refused_unless_compare_anyway(tmp_path: Path):
    write_geopackage(tmp_path / "old.gpkg", OLD, metadata={"district_code": "320102"})
    write_geopackage(tmp_path / "new.gpkg", NEW, metadata={"district_code": "329901"})
    with pytest.raises(
        InputError,
        match=r"old\.gpkg 和 .*new\.gpkg 看来是不同区县的运行结果（那次运行的 district_code 为 320102，这次为 "
        r"329901）.*或加上 --compare-anyway",
    ):
        diff_runs(tmp_path / "old.gpkg", tmp_path / "new.gpkg")
    assert (
        diff_runs(tmp_path / "old.gpkg", tmp_path / "new.gpkg", compare_anyway=True).counts["facilities"][
            "up"
        ]
        == 1
    )


def test_runs_with_almost_no_facility_in_common_are_refused(tmp_path: Path):
    other = {"facilities": facilities([(f"X{i}", "blue", "") for i in range(20)])}
    write_geopackage(tmp_path / "old.gpkg", OLD)  # a run from before riskmap recorded the district
    write_geopackage(tmp_path / "other.gpkg", other)
    with pytest.raises(InputError, match=r"较小一次运行的 4 个企业编号中只有 0 个在两次运行中都有"):
        diff_runs(tmp_path / "old.gpkg", tmp_path / "other.gpkg")
    # One of four ids in common is 25 %: kept ids of the same register, compared.
    assert district_mismatch("", "", pd.Series(["A", "B", "C", "D"]), pd.Series(["A", "Y", "Z"])) is None


def test_a_run_records_its_district(tiny_project: Path, tmp_path: Path):
    import json

    import riskmap

    config = riskmap.load_config(tiny_project)
    config = config.model_copy(
        update={"outputs": config.outputs.model_copy(update={"html": False, "figure": False})}
    )
    riskmap.run(config, tmp_path / "o")
    saved = open_run(tmp_path / "o")  # an output folder is read as its riskmap.gpkg
    assert (saved.district_code, saved.project) == ("329901", "测试区")
    doc = json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["district_code"] == "329901"
