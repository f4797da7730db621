"""Registers before method tables: facilities kept as "not assessed" (grey), and one risk-point table for LEC and LS."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from conftest import IDS, X0, Y0, credit_code

import riskmap
from riskmap import levels
from riskmap.config import config_from_dict
from riskmap.methods import ScoringInputs, score_facilities

G = credit_code("91329901MA0000099")


def _grey_project(project: Path, extra: str = "") -> Path:
    """The tiny district with F's risk point removed (北村 is left with no graded facility) and G, a 工贸
    enterprise in 东村 without any, under ``[scoring] unassessed = "grey"``."""
    d = project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    fac.loc[len(fac)] = [G, "庚五金厂", "工贸", f"{X0 + 0.012:.6f}", f"{Y0 + 0.012:.6f}"]
    fac.to_csv(d / "facilities.csv", index=False)
    pts = pd.read_csv(d / "risk_points.csv", dtype=str)
    pts[pts["facility_id"] != IDS["F"]].to_csv(d / "risk_points.csv", index=False)
    text = project.read_text(encoding="utf-8").replace(
        '"人员密集场所" = ["ls_matrix"]\n',
        '"人员密集场所" = ["ls_matrix"]\n\n[scoring]\nunassessed = "grey"\n',
    )
    project.write_text(text + extra, encoding="utf-8")
    return project


def test_default_rejects_what_no_method_grades(tiny_project: Path):
    project = _grey_project(tiny_project)
    project.write_text(
        project.read_text(encoding="utf-8").replace('unassessed = "grey"', ""), encoding="utf-8"
    )
    result = riskmap.check(riskmap.load_config(project))
    assert set(result.rejects["record_id"]) >= {IDS["F"], G}
    assert "none" not in result.summary["facilities_per_level"] and "n_none" not in result.zones["village"]


def test_grey_keeps_unassessed_facilities_with_a_reason(tiny_project: Path):
    result = riskmap.check(riskmap.load_config(_grey_project(tiny_project)))
    s = result.summary
    # Grey facilities are on the map but not graded: counted apart, not as scored.
    counts = ("facilities_in", "facilities_scored", "facilities_unassessed", "facilities_rejected")
    assert tuple(s[k] for k in counts) == (7, 5, 2, 0)
    assert s["facilities_per_level"]["none"] == 2
    assert any("2 家企业无法用其行业的方法评级" in w for w in result.warnings)
    fac = result.facilities.set_index("facility_id")
    assert fac.loc[[G, IDS["F"]], "level"].tolist() == ["none", "none"]
    assert fac.loc[G, "level_zh"] == "未评估"
    assert fac.loc[G, "reasons"] == "未评估, 无分级数据: LS: 无风险点记录"
    assert fac.loc[G, "reasons_en"] == "not assessed, no grading data: LS: no risk point records"
    assert fac.loc[IDS["C"], "level"] == "red"  # the graded ones as before

    village = result.zones["village"].set_index("zone_name")
    # 北村: only a not-assessed facility -> grey; 东村: A (yellow) and G -> yellow, G counted.
    assert village.loc["北村", ["level", "n_none", "n_facilities"]].tolist() == ["none", 1, 1]
    assert village.loc["北村", "reason"] == "区内 1 家企业均未评估"
    assert village.loc["东村", ["level", "n_none", "n_facilities"]].tolist() == ["yellow", 1, 2]
    assert s["zones_per_level"]["village"]["none"] == 1

    plan = result.plan.plan.set_index("facility_id")
    assert plan.loc[[G, IDS["F"]], "inspections_per_year"].tolist() == [1, 1]  # default: go and assess
    assert plan.loc[G, "plan_reason"] == "未评估企业, 每年 1 次"
    assert plan.loc[G, "priority"] == 4  # its assessment visit goes with yellow, before the drawn blue ones
    assert (
        list(result.zones["village"].columns).index("n_none")
        == list(result.zones["village"].columns).index("n_blue") + 1
    )


def test_grey_zone_under_thresholds_and_index_rules(tiny_project: Path):
    project = _grey_project(
        tiny_project, '\n[zoning]\nrule = "thresholds"\n\n[zoning.by_layer.town]\nrule = "index"\n'
    )
    result = riskmap.check(riskmap.load_config(project))
    village = result.zones["village"].set_index("zone_name")
    assert village.loc["北村", "level"] == "none"  # not blue: nothing in it is assessed
    assert village.loc["东村", "level"] == "yellow"


def test_frequency_none_is_configurable(tiny_project: Path):
    project = _grey_project(tiny_project)
    text = project.read_text(encoding="utf-8").replace(
        "[supervision]\nyear = 2027\n",
        "[supervision]\nyear = 2027\nfrequency = { red = 4, orange = 2, yellow = 1, blue = 0, none = 3 }\n",
    )
    project.write_text(text, encoding="utf-8")
    plan = riskmap.check(riskmap.load_config(project)).plan.plan.set_index("facility_id")
    assert plan.loc[[G, IDS["F"]], "inspections_per_year"].tolist() == [3, 3]


def test_adjustment_by_steps_leaves_unassessed_alone():
    """A relative rule has no level to move; an absolute one (raise_to red) still holds."""
    from datetime import date

    from riskmap.adjust import apply_adjustments, prepare_events
    from riskmap.config import AdjustmentConfig

    fac = pd.DataFrame(
        {"facility_id": ["A", "B"], "sector": ["工贸"] * 2, "level": ["none", "none"], "level_zh": ["未评估"] * 2,
         "reasons": ["x", "x"], "reasons_en": ["x", "x"]}
    )  # fmt: skip
    by_one = AdjustmentConfig(rules=[{"when": {"condition": "accident"}, "raise_by": 1}])
    to_red = AdjustmentConfig(rules=[{"when": {"condition": "accident"}, "raise_to": "red"}])
    acc, _ = prepare_events(
        "accidents",
        pd.DataFrame({"facility_id": ["A"], "date": ["2027-01-01"], "class": ["一般"], "deaths": ["1"]}),
        "accidents.csv",
    )
    events = {"accidents": acc}
    assert apply_adjustments(fac, events, by_one, date(2027, 2, 1)).facilities["level"].tolist() == [
        "none",
        "none",
    ]
    assert apply_adjustments(fac, events, to_red, date(2027, 2, 1)).facilities["level"].tolist() == [
        "red",
        "none",
    ]


def test_grey_outputs(tiny_project: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = riskmap.run(riskmap.load_config(_grey_project(tiny_project)), out)
    fac = pyogrio.read_dataframe(out / "riskmap.gpkg", layer="facilities").set_index("facility_id")
    assert fac.loc[G, "level"] == "none" and fac.loc[G, "level_zh"] == "未评估"
    zones = pyogrio.read_dataframe(out / "riskmap.gpkg", layer="zones_village").set_index("zone_name")
    assert zones.loc["北村", "level"] == "none" and zones.loc["北村", "n_none"] == 1
    plan = pd.read_csv(out / "inspection_plan.csv", dtype=str).set_index("facility_id")
    assert plan.loc[G, "level"] == "none"
    # The QGIS style of the facility layer has a grey category for none.
    import sqlite3

    with sqlite3.connect(out / "riskmap.gpkg") as con:
        (qml,) = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'facilities'").fetchone()
    assert 'value="none"' in qml and "191,191,191" in qml
    # XLSX: the not-assessed level cell is filled grey.
    import openpyxl

    sheet = openpyxl.load_workbook(out / "inspection_plan.xlsx")["inspection_plan"]
    header = [c.value for c in sheet[1]]
    col = header.index("level")
    fills = {row[col].value: row[col].fill.fgColor.rgb for row in sheet.iter_rows(min_row=2)}
    assert fills["none"].endswith(levels.color("none").lstrip("#").upper())
    assert result.summary["facilities_per_level"]["none"] == 2


@pytest.mark.browser
def test_grey_legend_entry_in_the_browser(tiny_project: Path, tmp_path: Path):
    from browser import chromium, open_page

    from riskmap.outputs.html import LEGEND_ID

    out = tmp_path / "out"
    riskmap.run(riskmap.load_config(_grey_project(tiny_project)), out)
    with chromium() as browser, open_page(browser, out / "map.html") as (page, log):
        row = page.locator(f"#{LEGEND_ID} tr[data-level='none']")
        cells = row.locator("td").all_inner_texts()
        # swatch, label, facilities, villages
        assert cells[1:] == [levels.label("none", "zh"), "2", "1"]
        swatch = row.locator(".riskmap-swatch").evaluate("e => getComputedStyle(e).backgroundColor")
        assert swatch == "rgb(191, 191, 191)"
        assert log.errors == []


# ------------------------------------------------------------------------------------------------------------
# One risk-point table for sectors graded by LS and by LEC


def _shared_config(sectors: dict[str, list[str]]) -> riskmap.Config:
    return config_from_dict(
        {
            "facilities": {"path": "f.csv", "crs": "EPSG:4490"},
            "risk_points": {"path": "rp.csv"},
            "zones": [{"kind": "village", "path": "z.gpkg"}],
            "scoring": {"sectors": sectors},
        }
    )


FACILITIES = pd.DataFrame({"facility_id": ["T1", "T2", "M1"], "sector": ["工贸", "工贸", "非煤矿山"]})
POINTS = pd.DataFrame(
    {
        "facility_id": ["T1", "T1", "T2", "M1", "M1"],
        "point_name": ["冲压", "配电", "喷涂", "采场", "炸药库"],
        "likelihood": ["5", "1", "3", "", ""],
        "severity": ["5", "2", "3", "", ""],
        "lec_l": ["", "", "", "3", "6"],
        "lec_e": ["", "", "", "6", "3"],
        "lec_c": ["", "", "", "7", "15"],
    }
)


def test_shared_risk_point_table_each_method_reads_its_own_sectors():
    config = _shared_config({"工贸": ["ls_matrix"], "非煤矿山": ["lec"]})
    scored, rejects = score_facilities(ScoringInputs(FACILITIES, {"risk_points": POINTS}), config)
    s = scored.set_index("facility_id")
    assert rejects.empty
    assert (s["rejected_records"] == 0).all() and not s["reasons"].str.contains("数据不完整").any()
    # T1: 5x5 = 25 red; T2: 3x3 = 9 yellow; M1: worst D = 6x3x15 = 270 orange.
    assert s["level"].to_dict() == {"T1": "red", "T2": "yellow", "M1": "orange"}
    assert s.loc["M1", "method"] == "lec" and s.loc["M1", "score"] == pytest.approx(270)


def test_a_sector_graded_by_both_takes_each_row_by_its_filled_fields():
    config = _shared_config({"工贸": ["ls_matrix", "lec"], "非煤矿山": ["lec"]})
    fac = FACILITIES.assign(sector="工贸")
    scored, rejects = score_facilities(ScoringInputs(fac, {"risk_points": POINTS}), config)
    assert rejects.empty
    s = scored.set_index("facility_id")
    assert s["level"].to_dict() == {"T1": "red", "T2": "yellow", "M1": "orange"}


def test_a_row_missing_its_own_method_fields_is_still_rejected():
    """A LEC-only facility with an LS-only row: that row cannot be used, and says so."""
    config = _shared_config({"工贸": ["ls_matrix"], "非煤矿山": ["lec"]})
    pts = pd.concat([POINTS, POINTS.iloc[[0]].assign(facility_id="M1")], ignore_index=True)
    scored, rejects = score_facilities(ScoringInputs(FACILITIES, {"risk_points": pts}), config)
    assert rejects["record_id"].tolist() == ["M1"] and rejects["field"].tolist() == ["lec_l"]
    assert scored.set_index("facility_id").loc["M1", "rejected_records"] == 1


def test_cli_summary_has_a_not_assessed_column(tiny_project: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from riskmap.cli import app

    r = CliRunner().invoke(
        app, ["run", str(_grey_project(tiny_project)), "--out", str(tmp_path / "o")], env={"COLUMNS": "200"}
    )
    assert r.exit_code == 0, r.output
    header = next(line for line in r.output.splitlines() if "重大风险" in line)
    assert "未评估" in header
    row = next(line for line in r.output.splitlines() if "│ 企业 " in line)
    assert row.split("│")[-2].strip() == "2"  # F and G, not assessed


def test_cli_summary_without_unassessed_has_four_columns(tiny_project: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from riskmap.cli import app

    r = CliRunner().invoke(
        app, ["run", str(tiny_project), "--out", str(tmp_path / "o")], env={"COLUMNS": "200"}
    )
    assert r.exit_code == 0, r.output
    assert "未评估" not in r.output


def test_the_summary_line_counts_the_grey_facilities_apart(tiny_project: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from riskmap.cli import app

    r = CliRunner().invoke(app, ["run", str(_grey_project(tiny_project)), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "输入 7 行 = 已评级 5 + 未评估 2 + 已剔除 0" in r.output
