from __future__ import annotations

from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from riskmap.levels import color
from riskmap.outputs.tables import write_csv, write_xlsx

PLAN = pd.DataFrame(
    {
        "facility_id": ["A", "B", "C"],
        "name": ['=HYPERLINK("http://x")', "滨江化工", "-1+2"],
        "level": ["red", "yellow", "blue"],
        "level_zh": ["重大风险", "一般风险", "低风险"],
        "inspections_per_year": [4, 1, 0],
    }
)


def test_csv_has_bom_and_chinese(tmp_path: Path):
    p = write_csv(PLAN, tmp_path / "plan.csv")
    raw = p.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(p, encoding="utf-8-sig", dtype=str)
    assert back["level_zh"].tolist() == ["重大风险", "一般风险", "低风险"]
    assert back["name"].iloc[0].startswith("'=")  # never a live formula in Excel


def test_xlsx_styles_and_no_formulas(tmp_path: Path):
    p = write_xlsx({"inspection_plan": PLAN, "zones": PLAN[["level"]]}, tmp_path / "plan.xlsx")
    wb = load_workbook(p)
    assert wb.sheetnames == ["inspection_plan", "zones"]
    ws = wb["inspection_plan"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:E4"
    assert ws["A1"].font.bold
    assert ws["B2"].data_type == "s" and ws["B2"].value.startswith("'=")
    assert ws["B4"].value == "'-1+2"
    fill = ws["C2"].fill.fgColor.rgb
    assert fill.endswith(color("red").lstrip("#").upper())
    assert ws["D3"].fill.fgColor.rgb.endswith(color("yellow").lstrip("#").upper())
