from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from browser import map_box
from typer.testing import CliRunner

from riskmap import __version__
from riskmap.cli import app

runner = CliRunner()


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and __version__ in r.output


def test_schema_is_json():
    r = runner.invoke(app, ["schema"])
    assert r.exit_code == 0
    assert "facilities" in json.loads(r.stdout)["properties"]


def test_run_prints_summary(tiny_project: Path, tmp_path: Path):
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    assert "输入 6 行 = 已评级 6 + 已剔除 0" in r.output
    assert (tmp_path / "o" / "riskmap.gpkg").exists()


def test_validate_ok_and_with_problems(tiny_project: Path):
    r = runner.invoke(app, ["validate", str(tiny_project)])
    assert r.exit_code == 0 and "未发现问题" in r.output
    with open(tiny_project.parent / "facilities.csv", "a", encoding="utf-8") as f:
        f.write("X9,坏行,工贸,abc,32.2\n")
    r = runner.invoke(app, ["validate", str(tiny_project)])
    assert r.exit_code == 1
    assert "facilities.csv 第 8 行，字段“lon”：'abc' — 坐标不是数字" in r.output


def test_config_error_is_one_line_without_traceback(tmp_path: Path):
    p = tmp_path / "riskmap.toml"
    p.write_text(
        '[facilities]\npath = "f.csv"\nsectr = "x"\n[[zones]]\nkind = "v"\npath = "z.gpkg"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "riskmap", "run", str(p)], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 1
    assert "错误：riskmap.toml：未知的键 'facilities.sectr'；是否想写 'sector'？" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_init_refuses_a_non_empty_directory(tmp_path: Path):
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "keep.txt").write_text("mine")
    r = runner.invoke(app, ["init", str(tmp_path / "proj")])
    assert r.exit_code == 1 and "不是空目录；请选择新的或空的目录" in r.output
    assert [p.name for p in (tmp_path / "proj").iterdir()] == ["keep.txt"]


def test_errors_keep_bracketed_config_sections(tiny_project: Path):
    text = tiny_project.read_text(encoding="utf-8").replace('"工贸" = ["ls_matrix"]', '"工贸" = ["chem2018"]')
    tiny_project.write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["run", str(tiny_project)])
    assert r.exit_code == 1
    assert "需要 [deductions] 表：请在项目文件中添加 [deductions] path" in r.output


def test_out_is_a_file(tiny_project: Path, tmp_path: Path):
    f = tmp_path / "afile"
    f.write_text("x")
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(f)])
    assert r.exit_code == 1 and "是文件而不是目录；请给 --out 一个目录" in r.output


def test_no_usable_row_is_one_clear_error(tiny_project: Path):
    csv = tiny_project.parent / "facilities.csv"
    lines = csv.read_text(encoding="utf-8").splitlines()
    csv.write_text(
        lines[0] + "\n" + "\n".join(line.rsplit(",", 1)[0] + ",北纬32度" for line in lines[1:]) + "\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["validate", str(tiny_project)])
    assert r.exit_code == 1
    assert "facilities.csv：6 行中没有一行可用" in r.output and "只有整度" in r.output
    csv.write_text(lines[0] + "\n", encoding="utf-8")
    r = runner.invoke(app, ["run", str(tiny_project)])
    assert r.exit_code == 1 and "facilities.csv：文件中没有数据行" in r.output


def test_validate_groups_reasons(tiny_project: Path):
    with open(tiny_project.parent / "facilities.csv", "a", encoding="utf-8") as f:
        for i in range(5):
            f.write(f"X{i},无行业{i},未知行业,119.61,32.21\n")
    r = runner.invoke(app, ["validate", str(tiny_project), "--show", "2"])
    assert r.exit_code == 1
    assert (
        "facilities.csv：5 行，字段 sector：该行业无评估方法" in r.output
    )  # the reasons in the run's language
    assert "……另有 3 行" in r.output
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(text.replace("[project]\n", '[project]\nlang = "en"\n', 1), encoding="utf-8")
    r = runner.invoke(app, ["validate", str(tiny_project), "--show", "2"])
    assert "facilities.csv: 5 x sector: no grading method for this sector" in r.output


def test_plan_command_with_history(tiny_project: Path, tmp_path: Path):
    out = tmp_path / "plan2027"
    r = runner.invoke(app, ["plan", str(tiny_project), "--year", "2027", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "2027 年计划检查" in r.output
    assert {p.name for p in out.iterdir()} == {"inspection_plan.csv", "inspection_plan.xlsx", "plan.json"}
    hist = tmp_path / "history"
    hist.mkdir()
    (out / "inspection_plan.csv").rename(hist / "inspection_plan_2027.csv")
    r = runner.invoke(
        app,
        [
            "plan",
            str(tiny_project),
            "--year",
            "2028",
            "--history",
            str(hist),
            "--out",
            str(tmp_path / "plan2028"),
        ],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "plan2028" / "plan.json").read_text(encoding="utf-8"))
    assert doc["summary"]["plan_year"] == 2028 and doc["summary"]["draw_seed"] == "2028-329901"
    assert any(k.startswith("history_") for k in doc["provenance"]["inputs"])
    r = runner.invoke(app, ["plan", str(tiny_project), "--history", str(tmp_path / "nope")])
    assert r.exit_code == 1 and "--history 须为存放往年 inspection_plan.csv 文件的文件夹" in r.output


def test_lang_and_embed_options(tiny_project: Path, tmp_path: Path):
    r = runner.invoke(
        app, ["run", str(tiny_project), "--out", str(tmp_path / "o"), "--lang", "en", "--embed"]
    )
    assert r.exit_code == 0, r.output
    html = (tmp_path / "o" / "map.html").read_text(encoding="utf-8")
    assert "Major risk" in html and "Legend" in html
    # Embedded: the map 600 px high, and no rule stretching html and body over a report's page.
    assert map_box(html) == {"width": "100.0%", "height": "600.0px", "full_page": "no"}
    r = runner.invoke(app, ["run", str(tiny_project), "--lang", "fr"])
    assert r.exit_code == 1 and "project.lang" in r.output


def test_validate_reports_every_missing_file_in_one_pass(tiny_project: Path):
    for name in ("risk_points.csv", "inventory.csv", "population.tif"):
        (tiny_project.parent / name).unlink()
    text = tiny_project.read_text(encoding="utf-8").replace('layer = "town"', 'layer = "towns"')
    tiny_project.write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["validate", str(tiny_project)])
    assert r.exit_code == 1
    assert "输入文件有 4 个问题" in r.output
    for what in (
        "inventory.csv：找不到文件",
        "risk_points.csv：找不到文件",
        "没有图层 'towns'",
        "population.tif：找不到文件（population）",
    ):
        assert what in r.output, what


def test_validate_lists_every_missing_column(tiny_project: Path):
    d = tiny_project.parent
    rp = (d / "risk_points.csv").read_text(encoding="utf-8").replace("likelihood,severity", "L,S", 1)
    (d / "risk_points.csv").write_text(rp, encoding="utf-8")
    inv = (d / "inventory.csv").read_text(encoding="utf-8").replace("quantity_t", "qty", 1)
    (d / "inventory.csv").write_text(inv, encoding="utf-8")
    r = runner.invoke(app, ["validate", str(tiny_project)])
    assert r.exit_code == 1 and "输入文件有 3 个问题" in r.output
    for col in ("没有“likelihood”列", "没有“severity”列", "没有“quantity_t”列"):
        assert col in r.output, col
    assert 'columns = { likelihood = "..." }' in r.output


def _boom(*args, **kwargs):
    return 1 / 0


def test_an_internal_error_is_one_line_a_crash_file_and_exit_70(
    tiny_project: Path, tmp_path: Path, monkeypatch
):
    import riskmap.stages as stages
    from riskmap.cli import CRASH_FILE, EXIT_INTERNAL

    monkeypatch.setattr(stages, "plan_inspections", _boom)  # a bug in the supervise stage
    monkeypatch.chdir(tmp_path)
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(tmp_path / "new")])
    assert r.exit_code == EXIT_INTERNAL == 70
    crash = tmp_path / CRASH_FILE  # the output folder does not exist yet: the current directory
    assert r.output.strip().splitlines() == [
        f"内部错误：ZeroDivisionError: division by zero — 请连同 {crash} 一起报告此问题"
    ]
    report = crash.read_text(encoding="utf-8")
    for what in (
        "Traceback (most recent call last)",
        "ZeroDivisionError: division by zero",
        f"riskmap: {__version__}",
        f"command: riskmap run {tiny_project} --out {tmp_path / 'new'}",
        f"project file: {tiny_project.resolve()}",
        "python: 3.",
        "platform: ",
        "time: 20",
    ):
        assert what in report, what
    # Into an existing output folder, the crash file goes there.
    (tmp_path / "o").mkdir()
    r = runner.invoke(app, ["plan", str(tiny_project), "--out", str(tmp_path / "o")])
    assert r.exit_code == 70 and f"请连同 {tmp_path / 'o' / CRASH_FILE} 一起报告此问题" in r.output
    assert (tmp_path / "o" / CRASH_FILE).exists()


def test_an_internal_error_in_a_real_process_shows_no_traceback(tiny_project: Path, tmp_path: Path):
    """Through typer's own entry point (pretty exceptions and all), as a user runs it."""
    code = (
        "import sys, riskmap.stages as s\n"
        "s.plan_inspections = lambda *a, **k: 1 / 0\n"
        "from riskmap.cli import app\n"
        "sys.argv = ['riskmap', *sys.argv[1:]]\n"
        "app()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "run", str(tiny_project), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert proc.returncode == 70
    assert "Traceback" not in proc.stdout + proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "内部错误：ZeroDivisionError" in proc.stderr
    assert "ZeroDivisionError" in (tmp_path / "riskmap-crash.txt").read_text(encoding="utf-8")


def test_the_traceback_guard_catches_an_escaped_exception():
    """The autouse guard in conftest.py fails any CLI test whose command lets an exception escape."""
    import typer

    bare = typer.Typer()

    @bare.command()
    def crash() -> None:
        raise ZeroDivisionError("escaped")

    with pytest.raises(AssertionError, match="the CLI let ZeroDivisionError escape: escaped"):
        runner.invoke(bare, [])


def test_force_is_needed_to_overwrite_a_users_file(tiny_project: Path, tmp_path: Path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "inspection_plan.csv").write_text("mine", encoding="utf-8")
    r = runner.invoke(app, ["plan", str(tiny_project), "--out", str(out)])
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        f"错误：{out}：将会覆盖不是 riskmap 写出的文件：inspection_plan.csv（不是 riskmap 写出的）；请移走它们、另选 "
        "--out，或加上 --force 覆盖"
    ]
    r = runner.invoke(app, ["plan", str(tiny_project), "--out", str(out), "--force"])
    assert r.exit_code == 0, r.output
    assert "警告：--force：已覆盖 inspection_plan.csv" in r.output


def test_summary_and_map_label_a_projects_own_zone_kind(tiny_project: Path, tmp_path: Path):
    text = tiny_project.read_text(encoding="utf-8").replace(
        'kind = "town"\n', 'kind = "pianqu"\nlabel = "片区"\nlabel_en = "Area"\n'
    )
    tiny_project.write_text(text.replace('kind = "village"\n', 'kind = "district"\n'), encoding="utf-8")
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(tmp_path / "o")], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "│ 片区 " in r.output and "│ 区/县 " in r.output
    page = (tmp_path / "o" / "map.html").read_text(encoding="utf-8")
    assert '"label":"片区"' in page and '"label":"区/县"' in page
    assert json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))["summary"][
        "zone_labels"
    ] == {
        "district": "区/县",
        "pianqu": "片区",
    }


# --------------------------------------------------------------------------------------------------------------
# Internal errors a clerk can act on are one error line; the crash handler never fails (issue 23)


def _one_error_line(r, says: str) -> None:
    assert r.exit_code == 1, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误：") and says in lines[0], r.output


def test_an_output_path_too_long_is_one_error_line(tiny_project: Path, tmp_path: Path):
    """The crash handler itself failed on it (is_dir() of the name) and printed a 198-line traceback."""
    long = tmp_path / ("x" * 300)
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(long)])
    _one_error_line(r, "不能作为输出目录：文件名过长；请另选 --out")
    proc = subprocess.run(
        [sys.executable, "-m", "riskmap", "run", str(tiny_project), "--out", str(long)],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-2000:]


def test_the_crash_handler_never_fails(tiny_project: Path, tmp_path: Path, monkeypatch):
    """No folder takes the crash file (the current one was removed, the temporary one is missing): one line."""
    import tempfile

    import riskmap.stages as stages

    monkeypatch.setattr(stages, "plan_inspections", _boom)
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-tmp"))
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(tmp_path / "new")])
    assert r.exit_code == 70
    assert r.output.strip().splitlines() == [
        "内部错误：ZeroDivisionError: division by zero — 请报告此问题（崩溃报告文件无法写出：文件或目录不存在）"
    ]


def test_a_lock_that_is_a_folder_is_one_error_line(tiny_project: Path, tmp_path: Path):
    out = tmp_path / "o"
    (out / ".riskmap-lock").mkdir(parents=True)
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(out)])
    _one_error_line(r, f"{out / '.riskmap-lock'}：是一个文件夹；riskmap 的锁文件使用这个名称")


def test_init_onto_a_file_is_one_error_line(tmp_path: Path):
    (tmp_path / "afile").write_text("mine")
    r = runner.invoke(app, ["init", str(tmp_path / "afile")])
    _one_error_line(r, "afile：是文件而不是目录；请选择新的或空的目录")
    assert (tmp_path / "afile").read_text() == "mine"


@pytest.mark.parametrize("command", ["run", "plan", "report", "report --previous"])
def test_output_folder_and_previous_are_checked_before_grading(
    tiny_project: Path, tmp_path: Path, monkeypatch, command: str
):
    """A clerk must not wait for the whole grading stage to hear that the output folder cannot be used."""
    import riskmap.pipeline as pipeline

    read = []
    monkeypatch.setattr(pipeline, "read_inputs", lambda *a, **k: read.append(1) or 1 / 0)
    out = tmp_path / "o"
    out.mkdir()
    args = [*command.split()[:1], str(tiny_project), "--out", str(out)]
    if command == "report --previous":
        (tmp_path / "earlier").mkdir()
        args += ["--previous", str(tmp_path / "earlier")]
        says = "earlier：文件夹中没有 riskmap.gpkg；请给出某次运行的 riskmap.gpkg 或其输出文件夹"
    else:
        (out / "run.json").write_text('{"manifest": {"../x": {"sha256": "0"}}}', encoding="utf-8")
        says = "不是 riskmap 的输出文件夹：run.json 列出了 '../x'（不是文件夹内的普通文件名）"
    r = runner.invoke(app, args)
    _one_error_line(r, says)
    assert read == []


def test_an_input_deleted_during_the_run_is_not_a_crash(tiny_project: Path, tmp_path: Path, monkeypatch):
    """The run hashed its inputs at the end (FileNotFoundError, exit 70); they are hashed when read."""
    import hashlib

    import riskmap.stages as stages

    facilities = tiny_project.parent / "facilities.csv"
    read = hashlib.sha256(facilities.read_bytes()).hexdigest()
    zone = stages._zone

    def deleting(*args, **kwargs):
        facilities.unlink()  # a colleague tidies the folder while riskmap grades
        return zone(*args, **kwargs)

    monkeypatch.setattr(stages, "_zone", deleting)
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "o" / "run.json").read_text(encoding="utf-8"))
    assert doc["provenance"]["inputs"]["facilities"] == {"path": "facilities.csv", "sha256": read}


# `plan --history`: every message names keys of the project file and options of the command that exist.

#: A key of the project file as messages write it: supervision.sampling.cover_years, zones[0].layer.
_DOTTED = re.compile(r"(?<![\w/.-])([a-z_]+(?:\[\d+\])?(?:\.[a-z_]+(?:\[\d+\])?)+)(?![\w/-])")
#: "set encoding = ...", "set history.id to ...": the key a message tells the user to set.
_SET = re.compile(r"\bset ([a-z_][\w.\[\]]*)")
_SECTION = re.compile(r"\[([a-z_]+(?:\.[a-z_]+)*)\]")
_FILE_SUFFIXES = {"csv", "xlsx", "xls", "gpkg", "json", "toml", "txt", "docx", "html", "png", "tif"}


def _schema_node(schema: dict, node: dict, part: str) -> dict | None:
    """The schema of key ``part`` under ``node`` (refs and optional sections resolved), or None."""
    while True:
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        elif "anyOf" in node:
            node = next((n for n in node["anyOf"] if n.get("type") != "null"), {})
        elif node.get("type") == "array":
            node = node.get("items", {})
        else:
            break
    if part in node.get("properties", {}):
        return node["properties"][part]
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):  # a table keyed by level, sector ...: any key, or those the schema lists
        names = node.get("propertyNames", {}).get("enum")
        return extra if names is None or part in names else None
    return None


def _key_exists(key: str) -> bool:
    from riskmap.config import json_schema

    schema = json_schema()
    node: dict | None = schema
    for part in re.sub(r"\[\d+\]", "", key).split("."):
        node = _schema_node(schema, node, part) if node is not None else None
    return node is not None


def _named_keys(text: str) -> set[str]:
    keys = {
        k
        for k in _DOTTED.findall(text)
        if k.rsplit(".", 1)[-1] not in _FILE_SUFFIXES and min(map(len, k.split("."))) > 1  # not "e.g."
    }
    keys |= {k.rstrip(".") for k in _SET.findall(text)}
    return keys | set(_SECTION.findall(text))


def test_key_checker_knows_real_and_unreal_keys() -> None:
    assert _key_exists("supervision.sampling.cover_years") and _key_exists("supervision.frequency.none")
    assert _key_exists("zones[0].layer") and _key_exists("supervision")
    assert not _key_exists("history.id") and not _key_exists("encoding")
    assert not _key_exists("supervision.roster.name") and not _key_exists("sampling.cover_years")
    text = 'no column (set history.id to it) or set encoding = "gbk"; see supervision.sampling.cover_years in x.csv'
    assert _named_keys(text) == {"history.id", "encoding", "supervision.sampling.cover_years"}


def _earlier_plan(folder: Path, rows: str, name: str = "inspection_plan_2026.csv", **kw) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(rows.encode(kw.get("encoding", "utf-8")) if isinstance(rows, str) else rows)
    return folder


def _plan_on_second_sheet(folder: Path) -> Path:
    import pandas as pd
    from conftest import IDS

    folder.mkdir()
    with pd.ExcelWriter(folder / "inspection_plan_2026.xlsx") as w:
        pd.DataFrame({"说明": ["2026年检查计划"]}).to_excel(w, sheet_name="说明", index=False)
        plan = pd.DataFrame({"facility_id": [IDS["A"]], "year": [2026], "inspections_per_year": [1]})
        plan.to_excel(w, sheet_name="plan", index=False)
    return folder


def _roster_without_names(project: Path, folder: Path) -> Path:
    (project.parent / "roster.csv").write_text("inspector\n张三\n", encoding="utf-8")
    text = project.read_text(encoding="utf-8").replace(
        "[supervision]\n", '[supervision]\nroster = "roster.csv"\n'
    )
    project.write_text(text, encoding="utf-8")
    return _earlier_plan(folder, "facility_id,year,inspections_per_year\nX,2026,1\n")


_HISTORIES = {
    "columns of another table": (
        lambda p, f: _earlier_plan(f, "id,yr,n\n1,2026,1\n"),
        1,
        r"inspection_plan_2026\.csv：没有 facility_id, year, inspections_per_year 列；--history 读取",
    ),
    "neither UTF-8 nor GBK": (
        lambda p, f: _earlier_plan(f, b"facility_id,year,inspections_per_year\n\xff\xfe\xff,2026,1\n"),
        1,
        r"文本既不是 UTF-8 也不是 GBK/GB18030；请另存为 UTF-8 编码的 CSV",
    ),
    "a year that is not a number": (
        lambda p, f: _earlier_plan(f, "facility_id,year,inspections_per_year\nX,二〇二六,1\n"),
        1,
        r"inspection_plan_2026\.csv 第 2 行，字段“year”：'二〇二六' 不是年份",
    ),
    "an empty folder": (lambda p, f: (f.mkdir(), f)[1], 1, r"该文件夹中没有往年计划（inspection_plan\*\.csv"),
    "a file, not a folder": (
        lambda p, f: (f.write_text("x", encoding="utf-8"), f)[1],
        1,
        r"--history 须为存放往年 inspection_plan\.csv 文件的文件夹",
    ),
    "the plan on the second sheet of a workbook": (
        lambda p, f: _plan_on_second_sheet(f),
        0,
        r"只追溯到 2026 年：.*（supervision\.sampling\.cover_years）",
    ),
    "an earlier output folder of the plan year": (
        lambda p, f: _earlier_plan(
            f, "facility_id,year,inspections_per_year\nX,2027,1\n", "inspection_plan.csv"
        ),
        0,
        r"--history 中的计划都是 2027 年或之后的",
    ),
    "a roster without a name column": (
        _roster_without_names,
        1,
        r"roster\.csv：检查人员名册（supervision\.roster）需要“name”列",
    ),
}


@pytest.mark.parametrize("case", list(_HISTORIES), ids=list(_HISTORIES))
def test_plan_history_messages_name_real_keys_and_options(tiny_project: Path, tmp_path: Path, case: str):
    make, code, says = _HISTORIES[case]
    folder = make(tiny_project, tmp_path / "history")
    r = runner.invoke(
        app, ["plan", str(tiny_project), "--history", str(folder), "--out", str(tmp_path / "o")]
    )
    assert r.exit_code == code, r.output
    text = " ".join(r.output.split())
    assert re.search(says, text), text
    assert "项目文件" not in text or "supervision.roster" in text, text
    unknown = sorted(k for k in _named_keys(text) if not _key_exists(k))
    assert not unknown, f"the messages name keys that do not exist: {unknown}\n{text}"
    plan_options = {o for p in typer.main.get_command(app).commands["plan"].params for o in p.opts}
    assert set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text)) <= plan_options, text


def test_validate_shows_ids_as_written_and_empty_values_as_empty(tiny_project: Path):
    """A duplicate id in a column named as registers name it shows its value; an empty cell says (empty)."""
    from conftest import IDS

    d = tiny_project.parent
    csv = (d / "facilities.csv").read_text(encoding="utf-8").replace("facility_id,", "统一社会信用代码,", 1)
    csv += f"{IDS['A'].lower()},重复行,工贸,119.61,32.21\n,,工贸,119.61,32.21\n无,,工贸,119.61,32.21\n"
    (d / "facilities.csv").write_text(csv, encoding="utf-8")
    text = tiny_project.read_text(encoding="utf-8").replace(
        'path = "facilities.csv"', 'path = "facilities.csv"\nid = "统一社会信用代码"', 1
    )
    tiny_project.write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["validate", str(tiny_project)])
    assert r.exit_code == 1
    assert f"第 8 行，字段“统一社会信用代码”：'{IDS['A'].lower()}' — 企业编号重复" in r.output
    assert "第 9 行，字段“统一社会信用代码”：（空） — 企业编号为空" in r.output
    assert "第 10 行，字段“统一社会信用代码”：'无' — 企业编号为空" in r.output


def test_validate_lists_the_problems_of_every_file_at_once(tiny_project: Path):
    """Issue 24: validate never stops at the first file; zone layers are among the files it checks."""
    d = tiny_project.parent
    (d / "facilities.csv").write_text((d / "facilities.csv").read_text().replace("sector", "行业", 1))
    (d / "risk_points.csv").write_text((d / "risk_points.csv").read_text().replace("likelihood", "L", 1))
    tiny_project.write_text(tiny_project.read_text().replace('layer = "town"', 'layer = "towns"', 1))
    r = runner.invoke(app, ["validate", str(tiny_project)])
    assert r.exit_code != 0 and "输入文件有 3 个问题：" in r.output, r.output
    assert "facilities.csv：没有“sector”列" in r.output and "文件中的列：facility_id, name, 行业" in r.output
    assert "risk_points.csv：没有“likelihood”列" in r.output
    assert "boundaries.gpkg：没有图层 'towns'（zones[1].layer）；文件中的图层：village, town" in r.output


@pytest.mark.parametrize("year", ["1", "99999"])
def test_plan_year_outside_the_accepted_range_is_one_error_line(
    tiny_project: Path, tmp_path: Path, year: str
):
    """``--year`` is checked as the project file's supervision.year is, by the same message."""
    r = runner.invoke(app, ["plan", str(tiny_project), "--year", year, "--out", str(tmp_path / "o")])
    _one_error_line(r, f"--year：supervision.year：{year} 超出允许范围 2000 至 2100")
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------------------------------------------
# The language of the command line (issue 26): --lang, then [project] lang, then the locale


def _riskmap(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """riskmap in a process of its own, with the locale ``env`` gives (the suite's LANGUAGE=zh left out)."""
    base = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
    return subprocess.run(
        [sys.executable, "-m", "riskmap", *args],
        capture_output=True, text=True, cwd=cwd, env={**base, "COLUMNS": "300", **env},
    )  # fmt: skip


def test_a_broken_project_is_said_in_chinese_by_default_and_in_english_when_asked(tiny_project: Path):
    """A facilities file without data rows: Chinese with no locale (and with C.UTF-8), English with --lang en or
    LANG=en_US.UTF-8; the Chinese prefix 错误： is followed by the message without a space."""
    (tiny_project.parent / "facilities.csv").write_text("facility_id,name,sector,lon,lat\n", encoding="utf-8")
    run = ["run", str(tiny_project), "--out", str(tiny_project.parent / "o")]
    for env in ({}, {"LANG": "C.UTF-8"}, {"LANG": "zh_CN.UTF-8"}):
        proc = _riskmap(run, tiny_project.parent, **env)
        assert proc.returncode == 1 and proc.stderr.strip() == "错误：facilities.csv：文件中没有数据行", (
            env,
            proc.stderr,
        )
    for args, env in ((run + ["--lang", "en"], {}), (run, {"LANG": "en_US.UTF-8"})):
        proc = _riskmap(args, tiny_project.parent, **env)
        assert proc.returncode == 1 and proc.stderr.strip() == "error: facilities.csv: the file has no data rows", (
            args, env, proc.stderr)  # fmt: skip
    # The project's own language beats the locale; --lang beats both.
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(text.replace("[project]\n", '[project]\nlang = "zh"\n', 1), encoding="utf-8")
    assert "错误：facilities.csv" in _riskmap(run, tiny_project.parent, LANG="en_US.UTF-8").stderr
    assert "error: facilities.csv" in _riskmap([*run, "--lang", "en"], tiny_project.parent).stderr


@pytest.mark.parametrize(
    ("edit", "zh", "en"),
    [
        (
            ('path = "facilities.csv"', 'path = "facilities.csv"\nsectr = 1'),
            "错误：riskmap.toml：未知的键 'facilities.sectr'；是否想写 'sector'？（此处可用的键：",
            "error: riskmap.toml: unknown key 'facilities.sectr'; did you mean 'sector'? (valid keys here: ",
        ),
        (
            ('crs = "EPSG:4490"', "crs = 4490"),
            '错误：riskmap.toml：facilities.crs：须为带引号的文本，如 "..."（现为 4490）',
            'error: riskmap.toml: facilities.crs: should be text in quotes, e.g. "..." (got 4490)',
        ),
    ],
)
def test_a_config_error_is_said_in_the_users_language(
    tiny_project: Path, edit: tuple[str, str], zh: str, en: str
):
    text = tiny_project.read_text(encoding="utf-8").replace(*edit, 1)
    tiny_project.write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["run", str(tiny_project)])
    assert r.exit_code == 1 and zh in r.output, r.output
    r = runner.invoke(app, ["run", str(tiny_project), "--lang", "en"])
    assert r.exit_code == 1 and en in r.output, r.output


def test_a_wrong_literal_in_the_project_file_is_chinese(tiny_project: Path):
    text = tiny_project.read_text(encoding="utf-8")
    tiny_project.write_text(text.replace("[project]\n", '[project]\nlang = "fr"\n', 1), encoding="utf-8")
    r = runner.invoke(app, ["validate", str(tiny_project)])
    assert r.exit_code == 1
    assert r.output.strip() == "错误：riskmap.toml：project.lang：须为 'zh', 'en' 之一（现为 'fr'）", r.output


def test_the_summary_speaks_the_runs_language(tiny_project: Path, tmp_path: Path):
    r = runner.invoke(app, ["run", str(tiny_project), "--out", str(tmp_path / "zh")], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    for zh in ("riskmap 结果", "│ 企业 ", "重大风险", "输入 6 行 = 已评级 6 + 已剔除 0", "年计划检查"):
        assert zh in r.output, zh
    r = runner.invoke(
        app, ["run", str(tiny_project), "--out", str(tmp_path / "en"), "--lang", "en"], env={"COLUMNS": "200"}
    )
    assert r.exit_code == 0, r.output
    for en in (
        "riskmap summary",
        "│ facilities ",
        "rows in 6 = scored 6 + rejected 0",
        "inspections planned for",
    ):
        assert en in r.output, en
    assert "企业" not in r.output and "输入" not in r.output
