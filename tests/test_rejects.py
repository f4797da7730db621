"""The rejects table in both languages: reasons kept as messages, written in the run's language (issue 26)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import openpyxl
import pandas as pd
import pyogrio
import pytest
from conftest import IDS

import riskmap
from riskmap.config import with_overrides
from riskmap.i18n import N_, Msg, per_row
from riskmap.rejects import localised_rejects, make_rejects, summarise_rejects

CJK = re.compile(r"[\u3400-\u9fff]")


def _rows(n: int) -> pd.DataFrame:
    return pd.DataFrame({"_row": range(2, 2 + n), "facility_id": [f"F{i}" for i in range(n)], "x": ["a"] * n})


def test_a_reason_is_kept_in_english_and_chinese():
    rows = _rows(3)
    first = pd.Series([2, 2, 3], index=rows.index)
    rej = make_rejects(
        "f.csv", rows, "x", per_row(N_("duplicate facility id; first seen at row {row}"), row=first), "v"
    )
    assert rej["reason"].tolist()[1:] == [
        "duplicate facility id; first seen at row 2",
        "duplicate facility id; first seen at row 3",
    ]
    assert rej["reason_zh"].tolist()[2] == "企业编号重复；首次出现在第 3 行"
    one = make_rejects("f.csv", rows, "x", Msg("the sector is empty"), "v")
    assert set(one["reason"]) == {"the sector is empty"} and set(one["reason_zh"]) == {"行业为空"}


@pytest.mark.parametrize(("lang", "other"), [("zh", "reason_en"), ("en", "reason_zh")])
def test_the_written_table_has_the_reason_in_the_language_and_the_other_beside_it(lang, other):
    rej = make_rejects("f.csv", _rows(1), "x", Msg("the sector is empty"), "v")
    out = localised_rejects(rej, lang)
    assert out.columns.tolist()[-2:] == ["reason", other]
    assert out["reason"].iloc[0] == {"zh": "行业为空", "en": "the sector is empty"}[lang]
    assert out[other].iloc[0] == {"zh": "the sector is empty", "en": "行业为空"}[lang]


def test_the_summary_lines_speak_the_language():
    rows = _rows(4)
    first = pd.Series([2, 2, 2, 3], index=rows.index)
    rej = make_rejects(
        "f.csv", rows, "id", per_row(N_("duplicate facility id; first seen at row {row}"), row=first), "v"
    )
    # Grouped on the English up to ";" whatever the language shows: the four rows are one reason.
    assert summarise_rejects(rej, lang="en") == ["f.csv: 4 x id: duplicate facility id (e.g. rows 2, 3, 4)"]
    assert summarise_rejects(rej, lang="zh") == ["f.csv：4 行，字段 id：企业编号重复（如第 2, 3, 4 行）"]


def _with_bad_rows(project: Path) -> None:
    d = project.parent
    fac = pd.read_csv(d / "facilities.csv", dtype=str)
    bad = pd.DataFrame(
        [
            ("X1", "坐标缺失", "工贸", "", "32.21"),
            ("X2", "区外", "工贸", "118.0", "30.0"),
            ("", "无编号", "工贸", "119.61", "32.21"),
            (IDS["A"], "重复", "工贸", "119.61", "32.21"),
        ],
        columns=fac.columns,
    )
    pd.concat([fac, bad]).to_csv(d / "facilities.csv", index=False)


#: A reject of each kind the bad rows make, as each language writes it (by record id, "" for the row without one).
EXPECTED = {
    "X1": ("the coordinate is empty", "坐标为空"),
    "X2": ("the facility lies outside every village zone", "企业不在任何村/社区区域内"),
    IDS["A"]: ("duplicate facility id; first seen at row 2", "企业编号重复；首次出现在第 2 行"),
}


@pytest.mark.parametrize(("lang", "other"), [("zh", "reason_en"), ("en", "reason_zh")])
def test_rejects_csv_and_the_geopackage_carry_both_languages(tiny_project: Path, tmp_path: Path, lang, other):
    _with_bad_rows(tiny_project)
    config = with_overrides(riskmap.load_config(tiny_project), {"project.lang": lang})
    out = tmp_path / "out"
    result = riskmap.run(config, out)
    s = result.summary
    # rows in = graded + not assessed + rejected, whatever the language.
    assert (
        s["facilities_in"]
        == s["facilities_scored"] + s["facilities_unassessed"] + s["facilities_rejected"]
        == 10
    )
    csv = pd.read_csv(out / "rejects.csv", dtype=str, encoding="utf-8-sig").fillna("")
    gpkg = pyogrio.read_dataframe(out / "riskmap.gpkg", layer="rejects")
    for table in (csv, gpkg):
        assert list(table.columns[:9]) == [
            "source",
            "row",
            "record_id",
            "name",
            "field",
            "value",
            "stage",
            "reason",
            other,
        ]
        by_id = table.set_index("record_id")
        for record, (en, zh) in EXPECTED.items():
            shown, beside = (zh, en) if lang == "zh" else (en, zh)
            assert by_id.loc[record, "reason"].startswith(shown), by_id.loc[record, "reason"]
            assert by_id.loc[record, other].startswith(beside), by_id.loc[record, other]
        # An enterprise without an id is keyed by its name; no method grades it: the methods' own reasons, quoted.
        no_id = table.loc[table["name"] == "无编号", ["reason", other]].iloc[0].tolist()
        grade_en = "no method could grade this facility: LS: no risk point records"
        grade_zh = "没有方法能为该企业定级：LS: 无风险点记录"
        assert no_id == ([grade_zh, grade_en] if lang == "zh" else [grade_en, grade_zh])
        # The run's language only in the reason column, the other only beside it (names from the data aside).
        english = table["reason_en" if lang == "zh" else "reason"]
        assert not english.str.contains(CJK).any()
        chinese = table["reason" if lang == "zh" else "reason_zh"]
        assert chinese.str.contains(CJK).all()
    # GDAL reads the same layer and column.
    info = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", str(out / "riskmap.gpkg"), "rejects"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert f"{other} (String)" in info or other in info
    assert ("坐标为空" if lang == "zh" else "the coordinate is empty") in info
    # The workbook's rejects sheet: the same columns.
    sheet = openpyxl.load_workbook(out / "inspection_plan.xlsx", read_only=True)["rejects"]
    header = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True))
    assert header[7:9] == ("reason", other)
    # The summary's reject lines (run.json, the CLI) in the run's language.
    assert any(
        ("企业编号重复" if lang == "zh" else "duplicate facility id") in line
        for line in s["top_reject_reasons"]
    )
