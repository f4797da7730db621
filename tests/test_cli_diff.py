"""`riskmap diff` on a modified copy of the demo: run, change inputs, run again, diff; and `--as-of`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from riskmap._resources import demo_dir
from riskmap.cli import app

runner = CliRunner()


def _project(tmp: Path) -> Path:
    d = tmp / "project"
    shutil.copytree(demo_dir(), d, ignore=shutil.ignore_patterns("riskmap-out*"))
    toml = d / "riskmap.toml"
    text = toml.read_text(encoding="utf-8").replace("html = true", "html = false")
    toml.write_text(text.replace("figure = true", "figure = false"), encoding="utf-8")
    return d


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    tmp = tmp_path_factory.mktemp("diff")
    d = _project(tmp)
    r = runner.invoke(app, ["run", str(d / "riskmap.toml"), "--out", str(tmp / "q3")])
    assert r.exit_code == 0, r.output
    # Next quarter: two open major hidden dangers are closed, a fatal accident happens, a facility closes.
    hd = pd.read_csv(d / "hidden_dangers.csv", dtype=str, keep_default_na=False)
    open_major = hd.index[(hd["grade"] == "重大") & (hd["closed_date"] == "")]
    closed_ids = hd.loc[open_major[:2], "facility_id"].tolist()
    hd.loc[open_major[:2], "closed_date"] = "2026-11-20"
    hd.to_csv(d / "hidden_dangers.csv", index=False)
    fac = pd.read_csv(d / "facilities.csv", dtype=str, keep_default_na=False)
    victim = fac.loc[fac["sector"] == "工贸", "facility_id"].iloc[3]
    gone = fac["facility_id"].iloc[20]
    acc = pd.read_csv(d / "accidents.csv", dtype=str, keep_default_na=False)
    acc.loc[len(acc)] = ["SG2026099", victim, "2026年11月1日", "一般", "1", "0", "机械伤害"]
    acc.to_csv(d / "accidents.csv", index=False)
    fac[fac["facility_id"] != gone].to_csv(d / "facilities.csv", index=False)
    r = runner.invoke(app, ["run", str(d / "riskmap.toml"), "--out", str(tmp / "q4")])
    assert r.exit_code == 0, r.output
    ids = {"closed_a": closed_ids[0], "closed_b": closed_ids[1], "victim": victim, "gone": gone}
    return tmp / "q3" / "riskmap.gpkg", tmp / "q4" / "riskmap.gpkg", ids


def test_cli_diff_on_modified_demo(two_runs, tmp_path: Path):
    old, new, ids = two_runs
    r = runner.invoke(app, ["diff", str(old), str(new), "--out", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "facilities" in r.output and "zones_village" in r.output
    changes = pyogrio.read_dataframe(tmp_path / "changes.gpkg", layer="changes_facilities").set_index("id")
    assert changes.loc[ids["victim"], "change"] == "up"
    assert changes.loc[ids["victim"], "level_new"] == "red"
    assert "SG2026099" in changes.loc[ids["victim"], "reasons_added"]
    for key in ("closed_a", "closed_b"):  # red only by the open major hidden danger: down once it is closed
        assert changes.loc[ids[key], "change"] == "down"
        assert "存在未销号重大事故隐患" in changes.loc[ids[key], "reasons_removed"]
    assert changes.loc[ids["gone"], "change"] == "removed"
    assert (changes["change"] == "new").sum() == 0
    table = pd.read_csv(tmp_path / "changes.csv", encoding="utf-8-sig")
    assert set(table["layer"]) >= {"facilities"}
    assert (tmp_path / "changes.xlsx").stat().st_size > 0 and (tmp_path / "changes.html").stat().st_size > 0
    assert f"升级       {ids['victim']}" in r.output, r.output


def test_cli_diff_without_out_prints_summary_only(two_runs):
    old, new, _ = two_runs
    r = runner.invoke(app, ["diff", str(old), str(new), "--show", "0"])
    assert r.exit_code == 0, r.output
    assert "升级" in r.output and "changes.gpkg" not in r.output


def test_cli_diff_bad_file(tmp_path: Path):
    r = runner.invoke(app, ["diff", str(tmp_path / "a.gpkg"), str(tmp_path / "b.gpkg")])
    assert r.exit_code == 1
    assert r.output.strip() == f"错误：{tmp_path / 'a.gpkg'}：找不到文件；请给出每次运行的 riskmap.gpkg"
    r = runner.invoke(
        app, ["diff", str(tmp_path / "a.gpkg"), str(tmp_path / "b.gpkg")], env={"LANGUAGE": "en"}
    )
    assert (
        r.output.strip() == f"error: {tmp_path / 'a.gpkg'}: file not found; give the riskmap.gpkg of each run"
    )


def test_cli_as_of(tmp_path: Path):
    d = _project(tmp_path)
    # The demo's project file has as_of = 2026-11-24: only a --as-of read as written names another day.
    r = runner.invoke(app, ["validate", str(d / "riskmap.toml"), "--as-of", "2028/1/5"])
    said = [line for line in r.output.splitlines() if line.startswith("警告：") and "2028-01-05" in line]
    assert said and "--as-of" in said[0] and "2027" in said[0], r.output
    r = runner.invoke(app, ["validate", str(d / "riskmap.toml"), "--as-of", "someday"])
    assert r.exit_code == 2
    assert "不是日期；请写作 2026-03-01" in r.output


def test_cli_diff_out_is_one_set_with_a_manifest(two_runs, tmp_path: Path):
    """changes.json lists the files with their hashes; a rerun replaces them; a user's file needs --force."""
    import json

    old, new, _ = two_runs
    out = tmp_path / "d"
    for _ in range(2):  # the second run replaces riskmap's own files without --force
        r = runner.invoke(app, ["diff", str(old), str(new), "--out", str(out), "--show", "0"])
        assert r.exit_code == 0, r.output
    doc = json.loads((out / "changes.json").read_text(encoding="utf-8"))
    assert set(doc["manifest"]) == {"changes.gpkg", "changes.csv", "changes.xlsx", "changes.html"}
    assert doc["counts"]["facilities"]["removed"] == 1
    (out / "changes.html").write_text("my edits", encoding="utf-8")
    r = runner.invoke(app, ["diff", str(old), str(new), "--out", str(out)])
    assert r.exit_code == 1 and "changes.html（riskmap 写出后已被修改）" in r.output
    assert (out / "changes.html").read_text(encoding="utf-8") == "my edits"
    r = runner.invoke(app, ["diff", str(old), str(new), "--out", str(out), "--force"])
    assert r.exit_code == 0 and "my edits" not in (out / "changes.html").read_text(encoding="utf-8")


def test_cli_as_of_after_the_plan_year_warns(tiny_project: Path):
    # No [project] lang in the tiny project: the locale's language (here English) speaks.
    r = runner.invoke(app, ["validate", str(tiny_project), "--as-of", "2029年1月5日"], env={"LANGUAGE": "en"})
    assert r.exit_code == 0, r.output
    assert "warning: the as-of date 2029-01-05 (--as-of) is after the plan year 2027" in " ".join(
        r.output.split()
    )
    r = runner.invoke(app, ["validate", str(tiny_project), "--as-of", "2029年1月5日"])
    assert "警告：数据截至日期2029-01-05（--as-of）晚于计划年度2027" in "".join(r.output.split()), r.output


def _tiny_run(project: Path, out: Path) -> Path:
    text = project.read_text(encoding="utf-8")
    if "html = false" not in text:
        text = text.replace("[outputs]\n", "[outputs]\nhtml = false\nfigure = false\n")
        project.write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["run", str(project), "--out", str(out)])
    assert r.exit_code == 0, r.output
    return out / "riskmap.gpkg"


def test_cli_diff_refuses_unknown_levels_and_reads_chinese_labels(tiny_project: Path, tmp_path: Path):
    new = _tiny_run(tiny_project, tmp_path / "new")
    fac = pyogrio.read_dataframe(new, layer="facilities")
    edited = tmp_path / "edited.gpkg"
    shutil.copy(new, edited)
    pyogrio.write_dataframe(
        fac.assign(level=fac["level"].map({"red": "红", "orange": "较大风险"}).fillna(fac["level"])),
        edited,
        layer="facilities",
    )
    r = runner.invoke(app, ["diff", str(edited), str(new)])
    assert r.exit_code == 0, r.output
    row = next(line for line in r.output.splitlines() if line.startswith("│ facilities "))
    assert [c.strip() for c in row.split("│")[2:-1]] == ["0", "0", "0", "0", "6"], r.output
    pyogrio.write_dataframe(fac.assign(level="purple"), edited, layer="facilities")
    r = runner.invoke(app, ["diff", str(edited), str(new)])
    assert r.exit_code == 1
    assert (
        r.output.count("\n") == 1 and "图层 facilities：有 6 行的等级 riskmap 无法识别：'purple'" in r.output
    )


def test_cli_diff_of_another_district_needs_compare_anyway(tiny_project: Path, tmp_path: Path):
    new = _tiny_run(tiny_project, tmp_path / "new")
    text = tiny_project.read_text(encoding="utf-8").replace(
        'district_code = "329901"', 'district_code = "320102"'
    )
    tiny_project.write_text(text, encoding="utf-8")
    other = _tiny_run(tiny_project, tmp_path / "other")
    r = runner.invoke(app, ["diff", str(other), str(new)])
    assert r.exit_code == 1
    assert "看来是不同区县的运行结果（那次运行的district_code为320102，这次为329901）" in "".join(
        r.output.split()
    )
    r = runner.invoke(app, ["diff", str(tmp_path / "other"), str(tmp_path / "new"), "--compare-anyway"])
    assert r.exit_code == 0, r.output
