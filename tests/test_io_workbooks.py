"""Spreadsheets as offices have them: .xls, .ods, two-row merged headers, several sheets, totals rows."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from riskmap.errors import InputError
from riskmap.i18n import language
from riskmap.io.headers import flatten_header, header_layout, non_data_rows
from riskmap.io.tables import NON_DATA_ROWS, READ_WARNINGS, ROW, SHEET, read_table
from riskmap.rejects import make_rejects

xlwt = pytest.importorskip("xlwt")

CODE_1 = "91329901006CH8URN5"
CODE_2 = "9132990100TDHP6A05"


def write_register_xls(path: Path) -> None:
    """An Excel 97-2003 register as a county office sends it: a title, a two-row merged header, totals and
    signatures under the data."""
    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("企业名录")
    ws.write_merge(0, 0, 0, 6, "XX县重点企业名录（2025年）")
    for c, label in enumerate(["序号", "统一社会信用代码", "企业名称"]):
        ws.write_merge(1, 2, c, c, label)
    ws.write_merge(1, 1, 3, 4, "坐标")
    ws.write(2, 3, "经度")
    ws.write(2, 4, "纬度")
    ws.write_merge(1, 2, 5, 5, "行业")
    ws.write_merge(1, 2, 6, 6, "从业人数")
    ws.write_merge(3, 4, 5, 5, "工贸")  # one 行业 cell merged over two enterprises
    rows = [
        (1, CODE_1, "昌宏船舶配件有限公司", 119.690773, 32.141895, 55),
        (2, CODE_2, "源远医药化工", 119.7071, 32.1258, 89),
    ]
    for r, (no, code, name, x, y, n) in enumerate(rows, start=3):
        for c, v in ((0, no), (1, code), (2, name), (3, x), (4, y), (6, n)):
            ws.write(r, c, v)
    ws.write(5, 0, "合计")
    ws.write(5, 6, 144)
    ws.write(6, 0, "共2家")
    ws.write_merge(8, 8, 0, 6, "填表人：张三        审核人：李四        填报日期：2025年3月5日")
    wb.save(str(path))


def test_xls_with_title_two_row_merged_header_and_totals(tmp_path):
    path = tmp_path / "名录.xls"
    write_register_xls(path)
    df = read_table(path, expect=["统一社会信用代码", "企业名称", "经度"])
    assert list(df.columns) == [
        ROW,
        "序号",
        "统一社会信用代码",
        "企业名称",
        "经度",
        "纬度",
        "行业",
        "从业人数",
    ]
    assert df[ROW].tolist() == [4, 5]  # the rows a user sees in Excel
    assert df["统一社会信用代码"].tolist() == [CODE_1, CODE_2]
    assert df["经度"].tolist() == ["119.690773", "119.7071"] and df["从业人数"].tolist() == ["55", "89"]
    assert df["行业"].tolist() == ["工贸", "工贸"]  # the merged cell means both
    assert df.attrs[NON_DATA_ROWS] == [6, 7, 9]
    assert any(re.search(r"跳过 3 行非数据行.*第 6, 7, 9 行", w) for w in df.attrs[READ_WARNINGS])


def test_xls_header_found_without_expected_names(tmp_path):
    path = tmp_path / "名录.xls"
    write_register_xls(path)
    df = read_table(path)
    assert "经度" in df.columns and "纬度" in df.columns and df[ROW].tolist() == [4, 5]


def test_old_xls_saved_under_an_xlsx_name_is_read(tmp_path):
    path = tmp_path / "名录.xlsx"
    write_register_xls(path)  # the bytes of an .xls
    assert read_table(path, expect=["企业名称"])["企业名称"].tolist() == [
        "昌宏船舶配件有限公司",
        "源远医药化工",
    ]


def test_ods_two_row_header_without_merge_information(tmp_path):
    pytest.importorskip("odf")
    rows = [
        ["XX县重点企业名录", "", "", "", ""],
        ["统一社会信用代码", "企业名称", "坐标", "", "行业"],
        ["", "", "经度", "纬度", ""],
        [CODE_1, "昌宏", "119.69", "32.14", "工贸"],
        ["合计", "", "", "", ""],
    ]
    path = tmp_path / "名录.ods"
    pd.DataFrame(rows).to_excel(path, engine="odf", header=False, index=False)
    df = read_table(path, expect=["统一社会信用代码", "经度"])
    assert list(df.columns) == [ROW, "统一社会信用代码", "企业名称", "经度", "纬度", "行业"]
    assert df[ROW].tolist() == [4] and df.attrs[NON_DATA_ROWS] == [5]


def test_csv_two_row_header(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(
        f"XX县重点企业名录,,,,\n代码,名称,坐标,,行业\n,,经度,纬度,\n{CODE_1},昌宏,119.69,32.14,工贸\n",
        encoding="gbk",
    )
    df = read_table(path, expect=["代码", "经度"])
    assert list(df.columns) == [ROW, "代码", "名称", "经度", "纬度", "行业"] and df[ROW].tolist() == [4]
    # the names a user maps columns by, said once: validate and run print the read warnings
    assert df.attrs[READ_WARNINGS] == ["f.csv：2 行表头（第 2-3 行）读作以下列：代码, 名称, 经度, 纬度, 行业"]
    with language("en"):
        df = read_table(path, expect=["代码", "经度"])
    assert df.attrs[READ_WARNINGS] == [
        "f.csv: a 2-row header (rows 2-3) read as the columns 代码, 名称, 经度, 纬度, 行业"
    ]


def test_a_one_row_header_is_not_noted(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(f"代码,名称,经度,纬度\n{CODE_1},昌宏,119.69,32.14\n", encoding="utf-8")
    assert read_table(path, expect=["代码"]).attrs[READ_WARNINGS] == []


def test_repeated_lower_labels_get_their_group_as_prefix(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["企业名称", "第一季度", None, "第二季度", None])
    ws.append([None, "隐患数", "整改数", "隐患数", "整改数"])
    ws.append(["昌宏", 3, 2, 1, 1])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:C1")
    ws.merge_cells("D1:E1")
    wb.save(tmp_path / "q.xlsx")
    df = read_table(tmp_path / "q.xlsx", expect=["企业名称"])
    assert list(df.columns)[1:] == [
        "企业名称",
        "第一季度隐患数",
        "第一季度整改数",
        "第二季度隐患数",
        "第二季度整改数",
    ]


def test_header_rows_forces_the_number_of_header_rows(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text(f"代码,名称,数量\n(统一社会信用代码),(全称),(吨)\n{CODE_1},昌宏,3\n", encoding="utf-8")
    assert read_table(path)[ROW].tolist() == [2, 3]  # not detected: the row of notes reads as data
    df = read_table(path, header_rows=2)
    assert df[ROW].tolist() == [3] and list(df.columns) == [ROW, "(统一社会信用代码)", "(全称)", "(吨)"]


def _ledger(path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["本表按季度填报，每季度一个工作表"])
    for q, ids in (("2025年第一季度", ["YH1", "YH2"]), ("2025年第二季度", ["YH3"])):
        ws = wb.create_sheet(q)
        ws.append([f"{q}隐患排查治理台账"])
        ws.append(["hazard_id", "facility_id", "grade"])
        for i in ids:
            ws.append([i, CODE_1, "一般"])
        ws.append(["合计", "", f"{len(ids)}条"])
    ws = wb.create_sheet("汇总")
    ws.append(["季度", "隐患数"])
    ws.append(["第一季度", 2])
    wb.save(path)


@pytest.mark.parametrize("sheets", ["*", ["2025年第一季度", "2025年第二季度"]])
def test_several_sheets_as_one_table(tmp_path, sheets):
    path = tmp_path / "台账.xlsx"
    _ledger(path)
    df = read_table(path, sheet=sheets, expect=["facility_id"])
    assert df["hazard_id"].tolist() == ["YH1", "YH2", "YH3"]
    assert df[SHEET].tolist() == ["2025年第一季度"] * 2 + ["2025年第二季度"]
    assert df[ROW].tolist() == [3, 4, 3]
    assert df.attrs[NON_DATA_ROWS] == [5, 4]
    rejects = make_rejects("台账.xlsx", df.iloc[[2]], "grade", "bad", "validate", id_column="hazard_id")
    assert rejects["source"].tolist() == ["台账.xlsx:2025年第二季度"] and rejects["row"].tolist() == [3]
    if sheets == "*":
        assert any("已读取工作表 2025年第一季度, 2025年第二季度" in w for w in df.attrs[READ_WARNINGS])


def test_a_named_sheet_that_is_missing_is_named(tmp_path):
    path = tmp_path / "台账.xlsx"
    _ledger(path)
    with pytest.raises(
        InputError, match=r"没有工作表 '2025年第三季度'；工作簿中的工作表：填表说明, 2025年第一季度"
    ):
        read_table(path, sheet=["2025年第一季度", "2025年第三季度"], expect=["facility_id"])


def test_a_sheet_formatted_down_to_the_last_row_reads_its_data_only(tmp_path):
    """Formatted empty rows to row 1,048,576 (a county's XLSX took 278 s and 4.9 GB before)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.append(["facility_id", "name"])
    ws.append([CODE_1, "昌宏"])
    ws["A3"].font = Font(bold=True)
    small = tmp_path / "small.xlsx"
    wb.save(small)
    with zipfile.ZipFile(small) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    empty = "".join(f'<row r="{r}"><c r="A{r}" s="1"/><c r="B{r}" s="1"/></row>' for r in range(4, 1_048_577))
    parts["xl/worksheets/sheet1.xml"] = sheet.replace("</sheetData>", empty + "</sheetData>").encode()
    big = tmp_path / "big.xlsx"
    with zipfile.ZipFile(big, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    df = read_table(big, expect=["facility_id"])
    assert df["facility_id"].tolist() == [CODE_1]


@pytest.mark.parametrize(
    "rows, expected",
    [
        ([["1", "甲", "x"], ["合计", "", "300"]], [False, True]),
        ([["1", "甲", "x"], ["", "小 计", "3"]], [False, True]),
        ([["1", "甲", "x"], ["共 12 家", "", ""]], [False, True]),
        ([["1", "填表人未签字", "整改中"]], [False]),  # a description that starts like a signature: data
        ([["", "填表人：张三", "审核人：李四"]], [True]),
        ([["注：坐标为CGCS2000", "", ""]], [True]),
        ([["1", "合计车间", "x"]], [False]),  # 合计 inside a name after the first cell: data
    ],
)
def test_non_data_rows(rows, expected):
    assert non_data_rows(pd.DataFrame(rows, columns=["a", "b", "c"])).tolist() == expected


def test_a_title_line_is_not_the_upper_row_of_a_header():
    rows = [["名录", "名录", "名录"], ["代码", "名称", "行业"], ["1", "甲", "工贸"]]
    assert header_layout(rows, ["代码"], merged=[(0, 0, 0, 2)]) == (1, 1)
    assert flatten_header(rows[1:2]) == ["代码", "名称", "行业"]
