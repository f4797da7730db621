"""Decisions of the committee (专家研判): decided levels over the computed ones, with their audit trail."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from conftest import IDS

import riskmap
from riskmap.config import load_config

AS_OF = "2026-06-30"
EAST, WEST, NORTH = "329901001001", "329901001002", "329901002002"
TOWN_A = "329901001000"

#: target, level, reason, decided_by, decided_on, valid_until; the rows as a clerk writes them (row 2 on).
ROWS = [
    (IDS["A"], "重大", "搬迁过渡期，储罐仍在使用", "县安委办专家会商", "2026-01-10", ""),  # 2 in force
    (IDS["C"], "低风险", "冲压线已停产拆除", "县安委办", "2026年2月1日", "2026-12-31"),  # 3 in force
    (NORTH, "orange", "重点工程施工期", "县安委办", "2026-03-01", ""),  # 4 zone in force
    (IDS["E"], "red", "节日期间人员密集", "县安委办", "2025-01-01", "2025-12-31"),  # 5 expired
    (IDS["D"], "蓝", "工程竣工", "县安委办", "2027-06-01", ""),  # 6 not yet in force
    ("X-UNKNOWN", "red", "无此企业", "县安委办", "2026-01-01", ""),  # 7 unknown target
    (IDS["F"], "紫色", "等级写错", "县安委办", "2026-01-01", ""),  # 8 unknown level
    (IDS["F"], "red", "", "县安委办", "2026-01-01", ""),  # 9 no reason
    (IDS["F"], "red", "没有决定人", "", "2026-01-01", ""),  # 10 no decider
    (IDS["F"], "red", "日期不存在", "县安委办", "2026-02-30", ""),  # 11 bad date
    (TOWN_A, "red", "第一次会商", "县安委办", "2026-01-01", ""),  # 12 duplicate in force
    (TOWN_A, "blue", "第二次会商", "县安委办", "2026-02-01", ""),  # 13 duplicate in force
    (IDS["E"], "一般风险", "商场改造后人员密集", "县安委办", "2026-05-01", ""),  # 14 in force (row 5 expired)
]
#: A variant under which E (LS 2x2 = 4) is yellow instead of blue.
VARIANT = '\n[[sensitivity.variants]]\nname = "LS variant preset"\nset = { "methods.ls_matrix.preset" = "variant" }\n'

COLUMNS = ["target", "level", "reason", "decided_by", "decided_on", "valid_until"]


def _with_variant(project: Path) -> Path:
    """The project with a sensitivity variant, the report and the sensitivity in the run's outputs."""
    text = project.read_text(encoding="utf-8")
    text = text.replace("[outputs]\n", "[outputs]\nreport = true\nsensitivity = true\n")
    project.write_text(text + VARIANT, encoding="utf-8")
    return project


def _with_decisions(
    project: Path, rows: list[tuple[str, ...]] = ROWS, section: str = "", lang: str = ""
) -> Path:
    pd.DataFrame(rows, columns=COLUMNS).to_csv(project.parent / "decisions.csv", index=False)
    text = project.read_text(encoding="utf-8")
    text = text.replace("[[zones]]", f'[decisions]\npath = "decisions.csv"\n{section}\n[[zones]]', 1)
    if lang:
        text = text.replace("[project]\n", f'[project]\nlang = "{lang}"\n', 1)
    project.write_text(text, encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def decided(tmp_path_factory: pytest.TempPathFactory) -> tuple[riskmap.RunResult, Path, riskmap.RunResult]:
    """A run with decisions, and the same project's run without them (the computed levels), both with a variant."""
    import conftest

    plain_dir = tmp_path_factory.mktemp("plain")
    plain = _with_variant(conftest.tiny_project.__wrapped__(plain_dir))  # type: ignore[attr-defined]
    before = riskmap.run(load_config(plain), plain_dir / "out", as_of=AS_OF)
    d = tmp_path_factory.mktemp("decided")
    project = _with_decisions(_with_variant(conftest.tiny_project.__wrapped__(d)))  # type: ignore[attr-defined]
    result = riskmap.run(load_config(project), d / "out", as_of=AS_OF)
    return result, d / "out", before


def _fac(result: riskmap.RunResult) -> pd.DataFrame:
    return pd.DataFrame(result.facilities).set_index("facility_id")


def test_facility_decisions_in_force_set_the_level_and_keep_the_computed_one(decided) -> None:
    result, _, before = decided
    fac, computed = _fac(result), _fac(before)
    assert fac.loc[IDS["A"], "level"] == "red"
    assert fac.loc[IDS["A"], "level_computed"] == computed.loc[IDS["A"], "level"] != "red"
    assert fac.loc[IDS["C"], ["level", "level_computed"]].tolist() == ["blue", "red"]
    # Expired, not yet in force and rejected decisions change nothing.
    for key in "BDF":
        assert (
            fac.loc[IDS[key], "level"]
            == computed.loc[IDS[key], "level"]
            == fac.loc[IDS[key], "level_computed"]
        )
    assert fac.loc[IDS["A"], "reasons"].startswith(
        "专家研判：搬迁过渡期，储罐仍在使用（县安委办专家会商，2026-01-10）；"
    )
    assert fac.loc[IDS["A"], "reasons_en"].startswith(
        "expert decision: 搬迁过渡期，储罐仍在使用 (县安委办专家会商, 2026-01-10); "
    )


def test_zones_see_facility_decisions_and_zone_decisions_are_kept(decided) -> None:
    result, _, before = decided
    village = result.zones["village"].set_index("zone_code")
    old = before.zones["village"].set_index("zone_code")
    # C (red) was the top of 西村; decided blue, the village falls to what B gives.
    assert old.loc[WEST, "level"] == "red" and village.loc[WEST, "level"] != "red"
    assert (
        village.loc[WEST, "level_computed"] == village.loc[WEST, "level"]
    )  # computed from decided facilities
    # 北村 is decided orange whatever its facilities say; its computed level is beside it.
    assert village.loc[NORTH, ["level", "level_computed"]].tolist() == ["orange", old.loc[NORTH, "level"]]
    assert village.loc[NORTH, "reason"].startswith("专家研判：重点工程施工期（县安委办，2026-03-01）；")
    assert village.loc[NORTH, "decided_by"] == "县安委办"
    # 东村 follows A, decided red.
    assert village.loc[EAST, "level"] == "red"
    # The town with two decisions in force: neither applies.
    town = result.zones["town"].set_index("zone_code")
    assert town.loc[TOWN_A, "decided_on"] == ""


def test_geopackage_has_the_decided_and_computed_levels_and_the_audit_fields(decided) -> None:
    _, out, _ = decided
    fac = pyogrio.read_dataframe(out / "riskmap.gpkg", layer="facilities").set_index("facility_id")
    row = fac.loc[IDS["C"]]
    assert row[["level", "level_computed", "decision_reason", "decided_by", "decided_on", "valid_until"]].tolist() == [
        "blue", "red", "冲压线已停产拆除", "县安委办", "2026-02-01", "2026-12-31",
    ]  # fmt: skip
    assert fac.loc[IDS["B"], "decided_on"] in ("", None)
    village = pyogrio.read_dataframe(out / "riskmap.gpkg", layer="zones_village").set_index("zone_code")
    assert village.loc[NORTH, ["level", "decision_reason", "decided_on"]].tolist() == [
        "orange", "重点工程施工期", "2026-03-01",
    ]  # fmt: skip


def test_bad_rows_are_rejected_with_reasons_and_every_row_is_accounted(decided) -> None:
    result, out, _ = decided
    rej = result.rejects[result.rejects["source"] == "decisions.csv"]
    assert sorted(rej["row"].astype(int)) == [7, 8, 9, 10, 11, 12, 13]
    by_row = rej.set_index(rej["row"].astype(int))
    assert by_row.loc[7, "field"] == "target" and "no facility with this id" in by_row.loc[7, "reason"]
    assert by_row.loc[8, "field"] == "level" and by_row.loc[8, "value"] == "紫色"
    assert by_row.loc[9, "field"] == "reason" and by_row.loc[10, "field"] == "decided_by"
    assert by_row.loc[11, "field"] == "decided_on" and by_row.loc[11, "value"] == "2026-02-30"
    assert "2 decisions for this target are in force on 2026-06-30 (rows 12, 13)" in by_row.loc[12, "reason"]
    assert "专家研判" not in by_row.loc[8, "reason_zh"] and "风险等级" in by_row.loc[8, "reason_zh"]
    counts = result.summary["decisions"]
    assert counts == {"rows": 13, "applied": 4, "expired": 1, "not_yet_in_force": 1, "rejected": 7}
    run_json = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run_json["summary"]["decisions"] == counts


def test_expired_and_future_decisions_are_listed_in_warnings(decided) -> None:
    result, _, _ = decided
    expired = [w for w in result.warnings if "valid_until" in w and "decisions.csv" in w]
    assert len(expired) == 1 and f"{IDS['E']} (5)" in expired[0]
    future = [w for w in result.warnings if "尚未生效" in w]
    assert len(future) == 1 and f"{IDS['D']} (6)" in future[0]


def test_the_plan_follows_the_decided_levels(decided) -> None:
    result, _, before = decided
    plan = result.plan.plan.set_index("facility_id")
    old = before.plan.plan.set_index("facility_id")
    red = int(plan.loc[IDS["C"], "inspections_per_year"])
    assert (
        int(old.loc[IDS["C"], "inspections_per_year"]) == 4 and red < 4
    )  # red 4 a year -> blue, drawn or not
    assert int(plan.loc[IDS["A"], "inspections_per_year"]) == 4
    assert plan.loc[IDS["A"], "plan_reason"].startswith("专家研判：搬迁过渡期")
    patrols = result.zones["village"].set_index("zone_code")["patrols_per_year"]
    assert patrols[NORTH] == 4  # orange: quarterly


def test_a_target_both_facility_and_zone_needs_a_kind(tiny_project: Path) -> None:
    import conftest

    fac = pd.read_csv(tiny_project.parent / "facilities.csv", dtype=str)
    fac.loc[fac["facility_id"] == IDS["F"], "facility_id"] = NORTH  # an id that is also a village code
    fac.to_csv(tiny_project.parent / "facilities.csv", index=False)
    rp = pd.read_csv(tiny_project.parent / "risk_points.csv", dtype=str)
    rp.loc[rp["facility_id"] == IDS["F"], "facility_id"] = NORTH
    rp.to_csv(tiny_project.parent / "risk_points.csv", index=False)
    rows = [
        (NORTH, "red", "同名", "县安委办", "2026-01-01", "", ""),
        (NORTH, "blue", "区域", "县安委办", "2026-01-01", "", "区域"),
    ]
    pd.DataFrame(rows, columns=[*COLUMNS, "kind"]).to_csv(tiny_project.parent / "decisions.csv", index=False)
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(text.replace("[[zones]]", '[decisions]\npath = "decisions.csv"\n\n[[zones]]', 1))
    del conftest
    result = riskmap.check(load_config(tiny_project), as_of=AS_OF)
    rej = result.rejects[result.rejects["source"] == "decisions.csv"]
    assert rej["row"].astype(int).tolist() == [2]
    assert "kind" in rej["reason"].iloc[0] and "village" in rej["reason"].iloc[0]
    assert result.zones["village"].set_index("zone_code").loc[NORTH, "level"] == "blue"


def test_an_english_run_writes_the_decision_in_english(tiny_project: Path, tmp_path: Path) -> None:
    project = _with_decisions(tiny_project, ROWS[:3], lang="en")
    text = project.read_text(encoding="utf-8").replace("[outputs]\n", "[outputs]\nreport = true\n")
    project.write_text(text, encoding="utf-8")
    result = riskmap.run(load_config(project), tmp_path / "out", as_of=AS_OF)
    from docx import Document

    doc = Document(str(tmp_path / "out" / "report.docx"))
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Target")
    assert [c.text for c in table.rows[0].cells] == [
        "Target", "Name", "Computed level", "Decided level", "Reason of the decision", "Decided by", "Decided on",
    ]  # fmt: skip
    assert [c.text for c in table.rows[1].cells][2:4] == ["General risk", "Major risk"]
    plan = result.plan.plan.set_index("facility_id")
    assert plan.loc[IDS["A"], "plan_reason"].startswith(
        "expert decision: 搬迁过渡期，储罐仍在使用 (县安委办专家会商, 2026-01-10); "
    )
    village = pyogrio.read_dataframe(tmp_path / "out" / "riskmap.gpkg", layer="zones_village")
    north = village.set_index("zone_code").loc[NORTH]
    assert north["reason"].startswith("expert decision: 重点工程施工期 (县安委办, 2026-03-01)")


def test_column_maps_and_a_missing_column(tiny_project: Path) -> None:
    renamed = pd.DataFrame(ROWS[:1], columns=["对象", "研判等级", "理由", "决定人", "研判日期", "有效期至"])
    renamed.to_csv(tiny_project.parent / "decisions.csv", index=False)
    section = (
        'columns = { target = "对象", level = "研判等级", reason = "理由", decided_by = "决定人", '
        'decided_on = "研判日期", valid_until = "有效期至" }'
    )
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(
        text.replace("[[zones]]", f'[decisions]\npath = "decisions.csv"\n{section}\n\n[[zones]]', 1)
    )
    result = riskmap.check(load_config(tiny_project), as_of=AS_OF)
    assert result.summary["decisions"]["applied"] == 1
    renamed.drop(columns="决定人").to_csv(tiny_project.parent / "decisions.csv", index=False)
    with pytest.raises(riskmap.InputError, match="决定人"):
        riskmap.check(load_config(tiny_project), as_of=AS_OF)


def test_the_report_lists_the_decisions(decided) -> None:
    from docx import Document

    _, out, _ = decided
    doc = Document(str(out / "report.docx"))
    body = "\n".join(p.text for p in doc.paragraphs)
    assert "经专家研判（会商），4 个企业或区域的等级按研判结论确定" in body
    assert re.search(
        r"另有 3 家企业、1 个\S+的等级由专家研判确定，不随约定变化", body
    )  # the sensitivity section
    tables = [t for t in doc.tables if t.rows[0].cells[0].text == "对象"]
    assert len(tables) == 1
    rows = [[c.text for c in r.cells] for r in tables[0].rows]
    assert rows[0] == ["对象", "名称", "计算等级", "研判等级", "研判理由", "决定人", "研判日期"]
    assert [IDS["C"], "丙机械厂", "重大风险", "低风险", "冲压线已停产拆除", "县安委办", "2026-02-01"] in rows
    assert [NORTH, "北村", "一般风险", "较大风险", "重点工程施工期", "县安委办", "2026-03-01"] in rows


def test_diff_labels_a_change_made_by_a_decision(decided, tmp_path: Path) -> None:
    from riskmap.compare import diff_runs

    result, out, before = decided
    plain_out = Path(str(out).replace("decided", "plain"))
    changes = diff_runs(plain_out / "riskmap.gpkg", out / "riskmap.gpkg").table().set_index("id")
    assert changes.loc[IDS["C"], ["change", "decision"]].tolist() == ["down", "专家研判调整"]
    assert changes.loc[NORTH, ["change", "decision"]].tolist() == ["up", "专家研判调整"]
    # 西村 fell because its red facility was decided blue: computed from the facilities, no decision of its own.
    assert changes.loc[WEST, "decision"] == ""


def test_sensitivity_reports_decided_levels_apart(decided) -> None:
    result, _, before = decided
    plain = pd.DataFrame(before.sensitivity.facilities).set_index("facility_id")
    assert plain.loc[IDS["E"], "changed_by"] == "LS variant preset"  # without a decision E depends on it
    fac = pd.DataFrame(result.sensitivity.facilities).set_index("facility_id")
    assert fac.loc[IDS["E"], ["level", "changed_by", "decided"]].tolist() == ["yellow", "", True]
    assert not fac.loc[IDS["B"], "decided"]
    zones = pd.DataFrame(result.sensitivity.zones["village"]).set_index("zone_code")
    assert bool(zones.loc[NORTH, "decided"])


def test_validate_lists_every_missing_column_of_the_decisions(tiny_project: Path) -> None:
    from riskmap.pipeline import preflight

    _with_decisions(tiny_project, ROWS[:1])
    pd.read_csv(tiny_project.parent / "decisions.csv", dtype=str).drop(
        columns=["reason", "decided_by"]
    ).to_csv(tiny_project.parent / "decisions.csv", index=False)
    problems = preflight(load_config(tiny_project))
    assert len(problems) == 2 and all("decisions.csv" in p for p in problems)
    assert "没有“reason”列" in problems[0] and "没有“decided_by”列" in problems[1]


def test_the_map_carries_the_computed_level_and_the_decision(decided) -> None:
    from mapdata import read_map

    _, out, _ = decided
    data = read_map((out / "map.html").read_text(encoding="utf-8"))
    fac = data.facilities().set_index("id")
    assert fac.loc[IDS["C"], "level_computed"] == "重大风险"  # shown where it differs from the level
    assert fac.loc[IDS["B"], "level_computed"] == ""
    assert fac.loc[IDS["C"], "reasons"].startswith("专家研判：冲压线已停产拆除（县安委办，2026-02-01）\n")
    village = data.zones(0).set_index("code")
    assert village.loc[NORTH, "decision"] == "重点工程施工期（县安委办，2026-03-01）"
    assert village.loc[NORTH, "level_computed"] == "一般风险"


def test_many_decisions_go_to_the_annex(tiny_project: Path, tmp_path: Path, monkeypatch) -> None:
    from docx import Document

    import riskmap.outputs.report.sections as sections

    monkeypatch.setattr(sections, "DECISIONS_IN_BODY", 2)  # the tiny district has fewer targets than 20
    project = _with_decisions(tiny_project, ROWS[:3])
    text = project.read_text(encoding="utf-8").replace("[outputs]\n", "[outputs]\nreport = true\n")
    project.write_text(text, encoding="utf-8")
    riskmap.run(load_config(project), tmp_path / "out", as_of=AS_OF)
    doc = Document(str(tmp_path / "out" / "report.docx"))
    body = "\n".join(p.text for p in doc.paragraphs)
    assert re.search(r"专家研判调整明细见附件\d", body) and re.search(r"附件\d　专家研判调整明细", body)
    tables = [t for t in doc.tables if t.rows[0].cells[0].text == "对象"]
    assert len(tables) == 1 and len(tables[0].rows) == 4  # the header and the three decisions, in the annex


def test_the_cli_summary_counts_the_decisions(tiny_project: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from riskmap.cli import app

    project = _with_decisions(tiny_project)
    args = ["run", str(project), "--out", str(tmp_path / "o"), "--as-of", AS_OF]
    r = CliRunner().invoke(app, [*args, "--lang", "en"])
    assert r.exit_code == 0, r.output
    assert (
        "expert decisions as of 2026-06-30: 4 applied, 1 expired, 1 not yet in force, 7 rejected (of 13 rows)"
        in " ".join(r.output.split())
    )
    r = CliRunner().invoke(app, [*args, "--force"])
    said = "".join(r.output.split())  # the console wraps long lines
    assert "截至2026-06-30的专家研判：采用4条，已到期1条，尚未生效1条，剔除7条（共13行）" in said
