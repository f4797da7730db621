from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from riskmap.errors import OutputError
from riskmap.levels import color
from riskmap.outputs.tables import excel_safe, write_csv, write_xlsx

PLAN = pd.DataFrame(
    {
        "facility_id": ["A", "B", "C"],
        "name": ['=HYPERLINK("http://x")', "滨江化工", "-1+2"],
        "level": ["red", "yellow", "blue"],
        "level_zh": ["重大风险", "一般风险", "低风险"],
        "inspections_per_year": [4, 1, 0],
    }
)

#: Text a spreadsheet would run as a formula, and text that only looks like a number.
FORMULAS = ["=1+1", "+1+cmd|' /C calc'!A0", "-1+2", "@SUM(A1:A2)", "\t=1", "\r=1", "-", "=", "+-"]
NUMBERS = ["-12.5", "+3", "12", "-0.5", ".5", "1e5", "-2.5E-3", "329901001001"]


def test_csv_has_bom_and_chinese(tmp_path: Path):
    p = write_csv(PLAN, tmp_path / "plan.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(p, encoding="utf-8-sig", dtype=str)
    assert back["level_zh"].tolist() == ["重大风险", "一般风险", "低风险"]
    assert back["name"].iloc[0].startswith("'=")  # never a live formula in Excel


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_like_text_is_neutralised(text: str):
    assert excel_safe(pd.DataFrame({"a": [text]}))["a"].iloc[0] == "'" + text


@pytest.mark.parametrize("text", [*NUMBERS, "东村", "a=b", " =1", "", "'quoted"])
def test_numbers_and_plain_text_are_kept(text: str):
    assert excel_safe(pd.DataFrame({"a": [text]}))["a"].iloc[0] == text


def test_excel_safe_leaves_numeric_columns_and_input_alone():
    df = pd.DataFrame({"n": [-1, 2], "x": [-1.5, np.nan], "s": pd.array(["=1", None], dtype="string")})
    out = excel_safe(df)
    assert out["n"].dtype == df["n"].dtype and out["x"].dtype == df["x"].dtype
    assert out["s"].iloc[0] == "'=1" and pd.isna(out["s"].iloc[1])
    assert df["s"].iloc[0] == "=1"  # a copy: the caller's frame is untouched


def test_xlsx_styles_and_no_formulas(tmp_path: Path):
    p = write_xlsx({"inspection_plan": PLAN, "zones": PLAN[["level"]]}, tmp_path / "plan.xlsx")
    wb = load_workbook(p)
    assert wb.sheetnames == ["inspection_plan", "zones"]
    ws = wb["inspection_plan"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:E4"
    assert ws["A1"].font.bold
    # Formula-like text is a text cell showing exactly what was there, with Excel's quote prefix.
    assert ws["B2"].data_type == "s" and ws["B2"].value == '=HYPERLINK("http://x")' and ws["B2"].quotePrefix
    assert ws["B4"].value == "-1+2" and ws["B4"].data_type == "s" and ws["B4"].quotePrefix
    assert not ws["B3"].quotePrefix
    fill = ws["C2"].fill.fgColor.rgb
    assert fill.endswith(color("red").lstrip("#").upper())
    assert ws["D3"].fill.fgColor.rgb.endswith(color("yellow").lstrip("#").upper())


def test_xlsx_has_no_formula_anywhere(tmp_path: Path):
    df = pd.DataFrame({"t": FORMULAS, "u": ["x"] * len(FORMULAS)})
    p = write_xlsx({"s": df}, tmp_path / "f.xlsx")
    with zipfile.ZipFile(p) as z:
        xml = z.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml
    ws = load_workbook(p)["s"]
    got = [ws.cell(row=i, column=1) for i in range(2, len(FORMULAS) + 2)]
    # openpyxl reads \r back as \n-free text; compare what matters: no formula, text kept, quote prefix set.
    assert all(c.data_type == "s" and c.quotePrefix for c in got)
    assert [c.value for c in got][:4] == FORMULAS[:4]
    assert pd.read_excel(p, sheet_name="s")["t"].tolist()[:4] == FORMULAS[:4]


def test_xlsx_numbers_stay_numbers(tmp_path: Path):
    df = pd.DataFrame(
        {
            "int": [4, -1],
            "float": [-12.5, np.nan],
            "nullable": pd.array([3, None], dtype="Int64"),
            "flag": [True, False],
            "text_number": ["-12.5", "329901001001"],  # text stays text: a code must keep its digits
        }
    )
    ws = load_workbook(write_xlsx({"n": df}, tmp_path / "n.xlsx"))["n"]
    assert [ws["A2"].value, ws["A3"].value] == [4, -1] and ws["A2"].data_type == "n"
    assert ws["B2"].value == -12.5 and ws["B2"].data_type == "n" and ws["B3"].value is None
    assert ws["C2"].value == 3 and ws["C2"].data_type == "n" and ws["C3"].value is None
    assert ws["D2"].value is True and ws["D2"].data_type == "b"
    assert ws["E2"].value == "-12.5" and ws["E3"].value == "329901001001" and ws["E2"].data_type == "s"
    assert not ws["E2"].quotePrefix


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["zones_village"], ["zones_village"]),
        (
            ["a/b:c", "x" * 40, "x" * 31 + "y", "X" * 31],
            ["a_b_c", "x" * 31, "x" * 29 + "~2", "X" * 29 + "~3"],
        ),
    ],
)
def test_sheet_names_are_valid_and_unique(tmp_path: Path, names: list[str], expected: list[str]):
    frames = {n: PLAN.iloc[i : i + 1] for i, n in enumerate(names)}
    assert len(frames) == len(names)
    p = write_xlsx(frames, tmp_path / "s.xlsx")
    assert load_workbook(p).sheetnames == expected


def test_empty_table(tmp_path: Path):
    ws = load_workbook(write_xlsx({"rejects": PLAN.iloc[:0]}, tmp_path / "e.xlsx"))["rejects"]
    assert [c.value for c in ws[1]] == list(PLAN.columns) and ws.max_row == 1
    assert write_csv(PLAN.iloc[:0], tmp_path / "e.csv").read_text(encoding="utf-8-sig").strip() == ",".join(
        PLAN.columns
    )


def test_unwritable_target_is_an_output_error(tmp_path: Path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(OutputError, match=re.escape(str(tmp_path / "file" / "p.csv")) + ": cannot write"):
        write_csv(PLAN, tmp_path / "file" / "p.csv")
