from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from conftest import IDS, credit_code

from riskmap.config import config_from_dict
from riskmap.errors import CRSError, InputError
from riskmap.i18n import language
from riskmap.validate import credit_code_valid, to_number, validate_facilities


def _config(**fac):
    return config_from_dict(
        {
            "facilities": {"path": "f.csv", "crs": "EPSG:4490", **fac},
            "zones": [{"kind": "v", "path": "z.gpkg"}],
        }
    )


def _raw(rows):
    df = pd.DataFrame(rows, columns=["facility_id", "name", "sector", "lon", "lat"])
    df.insert(0, "_row", range(2, len(df) + 2))
    return df


GOOD = (IDS["A"], "甲", "工贸", "119.61", "32.21")


def test_credit_code_checksum():
    assert credit_code_valid(credit_code("91329901MA0000001"))
    assert credit_code_valid("91350100M000100Y43")
    assert not credit_code_valid("91350100M000100Y4X")
    assert not credit_code_valid("short")


def test_full_width_digits_and_separators_parse():
    assert to_number(pd.Series(["１２３.５", "1,234", "abc", ""])).tolist()[:2] == [123.5, 1234.0]


@pytest.mark.parametrize(
    ("row", "field", "reason"),
    [
        (("", "", "工贸", "119.61", "32.21"), "facility_id", "id is empty"),
        ((IDS["A"][:-1] + "0", "坏码", "工贸", "119.61", "32.21"), "facility_id", "check character"),
        (("X1", "无行业", "", "119.61", "32.21"), "sector", "sector is empty"),
        (("X2", "无坐标", "工贸", "", "32.21"), "lon", "coordinate is empty"),
        (("X3", "坏坐标", "工贸", "abc", "32.21"), "lon", "not a number"),
        (("X5", "越界", "工贸", "200", "32.21"), "lon", "out of range"),
    ],
)
def test_bad_rows_become_rejects_with_reasons(row, field, reason):
    gdf, rejects = validate_facilities(_raw([GOOD, row]), _config(), "f.csv")
    assert len(gdf) == 1 and len(rejects) == 1
    r = rejects.iloc[0]
    assert (r["source"], r["row"], r["field"]) == ("f.csv", 3, field)
    assert reason in r["reason"]


def test_duplicate_ids_keep_the_first():
    gdf, rejects = validate_facilities(
        _raw([GOOD, (IDS["A"], "重复", "工贸", "119.62", "32.22")]), _config(), "f.csv"
    )
    assert gdf["name"].tolist() == ["甲"]
    assert "first seen at row 2" in rejects.iloc[0]["reason"]


def test_gcj02_coordinates_are_shifted_back():
    gdf, _ = validate_facilities(
        _raw([(IDS["A"], "甲", "工贸", "116.41024449916938", "39.91640428150164")]),
        _config(crs="GCJ-02"),
        "f.csv",
    )
    assert gdf.geometry.x[0] == pytest.approx(116.404, abs=1e-7)
    assert gdf.geometry.y[0] == pytest.approx(39.915, abs=1e-7)


def test_missing_column_suggests_the_closest():
    with pytest.raises(
        InputError, match=r"没有“lat”列；是否为“lat_”？（请将 facilities\.y 设为文件中的列名）"
    ):
        validate_facilities(_raw([GOOD]).rename(columns={"lat": "lat_"}), _config(), "f.csv")
    with (
        language("en"),
        pytest.raises(InputError, match=r'no column "lat"; did you mean "lat_"\? \(set facilities'),
    ):
        validate_facilities(_raw([GOOD]).rename(columns={"lat": "lat_"}), _config(), "f.csv")


def test_table_without_crs_is_an_error():
    with pytest.raises(InputError, match=r"坐标没有声明坐标系"):
        validate_facilities(_raw([GOOD]), _config(crs=None), "f.csv")


def test_unknown_crs_is_an_error():
    with pytest.raises(CRSError, match=r"'EPSG:99999999' 不是已知的坐标系"):
        validate_facilities(_raw([GOOD]), _config(crs="EPSG:99999999"), "f.csv")


def test_projected_crs_is_converted():
    # CGCS2000 / 3-degree Gauss-Kruger CM 120E coordinates of about 119.6 E, 32.2 N.
    from pyproj import Transformer

    x, y = Transformer.from_crs(4490, 4549, always_xy=True).transform(119.6, 32.2)
    gdf, rejects = validate_facilities(
        _raw([(IDS["A"], "甲", "工贸", str(x), str(y))]), _config(crs="EPSG:4549"), "f.csv"
    )
    assert rejects.empty
    assert gdf.geometry.x[0] == pytest.approx(119.6, abs=1e-8)


def test_id_positions_arrow_and_object_agree():
    """Positions of ids in a unique key list (-1 when absent), the same with Arrow strings and with objects."""
    import numpy as np

    from riskmap.frames import id_positions

    keys, values = ["b", "a", "c"], ["c", "x", "a", "b", "a"]
    want = np.array([2, -1, 1, 0, 1])
    for dtype in ("str", object):
        got = id_positions(pd.Series(keys, dtype=dtype), pd.Series(values, dtype=dtype))
        assert got.tolist() == want.tolist()
    assert id_positions(pd.Series(keys, dtype="str"), pd.Series([], dtype="str")).tolist() == []


@pytest.mark.parametrize(
    ("text", "number", "reason"),
    [
        ("1,234", 1234.0, ""),
        ("1,234,567.25", 1234567.25, ""),
        ("-1,234.5", -1234.5, ""),
        ("１，２３４", 1234.0, ""),  # full width: NFKC first
        ("2,5", np.nan, "ambiguous decimal comma; write 2.5"),
        ("２，５", np.nan, "ambiguous decimal comma; write 2.5"),
        ("2、5", np.nan, "ambiguous decimal comma; write 2.5"),
        ("1.234,5", np.nan, "with dots for thousands; write 1234.5"),
        ("12,34", np.nan, "ambiguous decimal comma; write 12.34"),
        ("1,2,3", np.nan, "not a number: a comma is read only as a thousands separator"),
        ("1234", 1234.0, ""),
    ],
)
def test_comma_is_only_a_thousands_separator(text, number, reason):
    from riskmap.validate import comma_reasons, to_number

    got = to_number(pd.Series([text])).iloc[0]
    assert (np.isnan(got) and np.isnan(number)) or got == number
    found = comma_reasons(pd.Series([text])).iloc[0]
    assert reason in (found.render("en") if found != "" else found)
    assert (comma_reasons(pd.Series([text])).iloc[0] == "") == (reason == "")


@pytest.mark.parametrize(
    ("x", "y", "hint"),
    [
        # CGCS2000 3-degree Gauss-Krüger with the zone number in front of the easting (zone 40: CM 120E).
        ("40512345.6", "3563210.4", r'3-degree Gauss-Krüger zone 40 .*set facilities\.crs = "EPSG:4528"'),
        # 6-degree zones carry 13..23 in front.
        ("20512345.6", "3563210.4", r'6-degree\) Gauss-Krüger zone 20 .*set facilities\.crs = "EPSG:4498"'),
        # No zone number: the central meridian cannot be read from the easting.
        ("500000", "4000000", r'projected metres.*"EPSG:4534" \.\. "EPSG:4554".*UTM'),
    ],
)
def test_projected_metres_declared_as_degrees_name_the_crs_to_set(x, y, hint):
    """x/y of 500000/4000000 with crs EPSG:4490: "out of range" says which CRS to set (issue 23)."""
    gdf, rejects = validate_facilities(_raw([GOOD, ("X9", "投影", "工贸", x, y)]), _config(), "f.csv")
    assert len(gdf) == 1
    reason = rejects.iloc[0]["reason"]
    assert reason.startswith("longitude/latitude out of range")
    assert re.search(hint, reason), reason
    assert ";" not in reason  # the summary of the rejects cuts a reason at its first ";"


# Duplicated related rows (issue 23): the same accident listed twice made a blue enterprise red.


def _table(rows, columns):
    df = pd.DataFrame([[str(v) for v in r] for r in rows], columns=columns)
    df.insert(0, "_row", range(2, len(df) + 2))
    return df


def _related(table, rows, columns, known=("F1", "F2")):
    from riskmap.config import TableConfig
    from riskmap.validate import validate_table

    clean, rejects = validate_table(
        _table(rows, columns), table, TableConfig(path="t.csv"), pd.Index(known), "t.csv", ()
    )
    assert len(clean) + len(rejects) == len(rows)  # rows in = rows used + rows rejected
    return clean, rejects


ACC = ["accident_id", "facility_id", "date", "class", "deaths"]
INV = ["facility_id", "unit_id", "substance", "quantity_t"]
HD = ["hazard_id", "facility_id", "grade", "found_date", "deadline", "closed_date"]


def test_the_same_record_id_twice_is_a_duplicate_of_the_first():
    clean, rejects = _related(
        "accidents",
        [
            ("SG-1", "F1", "2026-03-01", "较大", "3"),
            ("SG-2", "F1", "2026-05-01", "一般", "0"),
            ("sg-1", "F1", "2026/3/1", "较大事故", "3"),  # the same accident, re-typed from another export
            ("SG-1", "F2", "2026-03-01", "较大", "3"),  # another enterprise's record with the same number
        ],
        ACC,
    )
    assert clean["_row"].tolist() == [2, 3, 5]
    r = rejects.iloc[0]
    assert (r["row"], r["field"], r["value"], r["record_id"]) == (4, "accident_id", "sg-1", "F1")
    assert r["reason"] == "duplicate accident_id for the same facility; first seen at row 2 (counted once)"


def test_an_identical_row_is_a_duplicate_and_a_like_record_is_not():
    rows = [
        ("F1", "1#罐区", "甲苯", "200"),
        ("F1", "2#罐区", "甲苯", "200"),  # another tank farm holding the same: not a duplicate
        ("F2", "1#罐区", "甲苯", "200"),  # another enterprise: not a duplicate
        ("F1", "1#罐区", "甲苯", "200"),  # listed twice
    ]
    clean, rejects = _related("inventory", rows, INV)
    assert clean["_row"].tolist() == [2, 3, 4]
    r = rejects.iloc[0]
    assert (r["row"], r["field"], r["record_id"]) == (5, "(whole row)", "F1")
    assert (
        r["reason"]
        == "duplicate row: the same as an earlier row in every column; first seen at row 2 (counted once)"
    )


def test_a_column_riskmap_does_not_read_tells_two_like_rows_apart():
    rows = [("F1", "1#罐区", "甲苯", "200", "T-101"), ("F1", "1#罐区", "甲苯", "200", "T-102")]
    clean, rejects = _related("inventory", rows, [*INV, "tank"])
    assert rejects.empty and len(clean) == 2


def test_hidden_dangers_without_ids_are_duplicates_when_identical():
    rows = [
        ("", "F1", "重大", "2026-03-01", "2026-06-01", ""),
        ("", "F1", "重大", "2026-03-01", "2026-06-01", ""),
        ("", "F1", "重大", "2026-03-01", "2026-07-01", ""),  # another deadline: another record
    ]
    clean, rejects = _related("hidden_dangers", rows, HD)
    assert clean["_row"].tolist() == [2, 4] and rejects["row"].tolist() == [3]


def test_identical_deduction_rows_are_each_an_instance():
    # One row per hazardous process, each −2: the guide deducts per instance, so rows are summed, not merged.
    rows = [("F1", "processes", "2"), ("F1", "processes", "2")]
    clean, rejects = _related("deductions", rows, ["facility_id", "item", "points"])
    assert rejects.empty and len(clean) == 2


def test_a_duplicate_of_an_unknown_facility_row_is_rejected_as_unknown():
    rows = [("SG-1", "NOPE", "2026-03-01", "较大", "3"), ("SG-1", "NOPE", "2026-03-01", "较大", "3")]
    clean, rejects = _related("accidents", rows, ACC)
    # Both rows (not one as a duplicate of the other), each for its unknown facility; none kept.
    assert rejects["row"].tolist() == [2, 3] and clean.empty
    assert rejects["reason"].str.startswith("no facility with this id").all()


def test_a_record_in_two_sheets_is_named_with_its_sheet():
    """A table read from several sheets (layer = "*"): row numbers repeat, so the first copy's sheet is named."""
    from riskmap.io.tables import SHEET

    rows = [("SG-1", "F1", "2026-03-01", "较大", "3"), ("SG-1", "F1", "2026-03-01", "较大", "3")]
    df = _table(rows, ACC).assign(**{"_row": [2, 2], SHEET: ["2026年第一季度", "2026年第二季度"]})
    from riskmap.config import TableConfig
    from riskmap.validate import validate_table

    clean, rejects = validate_table(
        df, "accidents", TableConfig(path="t.xlsx"), pd.Index(["F1"]), "t.xlsx", ()
    )
    assert len(clean) == 1
    r = rejects.iloc[0]
    assert r["source"] == "t.xlsx:2026年第二季度"
    assert r["reason"] == (
        "duplicate accident_id for the same facility; first seen at row 2 of sheet 2026年第一季度 (counted once)"
    )


# Ids as offices write them (issue 24): words for "no id", old registration numbers, rows matched by name.

EMPTY_ID_WORDS = ["无", "/", "-", "—", "——", "空", "暂无", "N/A", "n/a", "／", " 无 "]


@pytest.mark.parametrize("written", EMPTY_ID_WORDS)
def test_words_for_no_id_are_empty_ids(written: str):
    from riskmap.validate import normalise_ids

    assert normalise_ids(pd.Series([written])).tolist() == [""]
    gdf, rejects = validate_facilities(
        _raw([GOOD, (written, "", "工贸", "119.62", "32.22")]), _config(), "f.csv"
    )
    assert len(gdf) == 1
    r = rejects.iloc[0]
    assert (r["field"], r["value"], r["reason"]) == ("facility_id", written, "the facility id is empty")


def test_an_enterprise_without_an_id_is_keyed_by_its_name():
    """No enterprise of a register vanishes: one without a code (无, empty) but with a name is on the map under
    无代码:<name>; two such rows of one name are one enterprise listed twice; a row without an id named like an
    enterprise with one is a copy of it (its reject names that id, so the plan lists the enterprise once)."""
    from riskmap.validate import id_notes

    raw = _raw(
        [
            GOOD,
            ("无", "厦门市永泰塑胶 有限公司", "工贸", "119.62", "32.22"),
            ("", "厦门市永泰塑胶有限公司", "工贸", "119.62", "32.22"),
            ("", "甲", "工贸", "119.63", "32.23"),
            ("", "", "工贸", "119.63", "32.23"),
        ]
    )
    gdf, rejects = validate_facilities(raw, _config(), "f.csv")
    assert gdf["facility_id"].tolist() == [GOOD[0], "无代码:厦门市永泰塑胶有限公司"]
    by_row = rejects.set_index("row")
    assert by_row.loc[4, "reason"] == "duplicate enterprise name without an id; first seen at row 3"
    assert by_row.loc[5, "record_id"] == GOOD[0] and by_row.loc[5, "reason"].startswith(
        f"no id, and the register lists an enterprise of this name with the id {GOOD[0]}"
    )
    assert by_row.loc[6, "reason"] == "the facility id is empty"
    (note,) = id_notes(raw, _config().facilities, "f.csv")
    assert note.startswith(
        "f.csv：3 家企业没有编号（第 3, 4, 5 行）：在地图和计划中以其名称（无代码:<名称>）列出"
    )


def test_a_related_row_with_a_word_for_no_id_is_an_empty_id():
    _, rejects = _related("accidents", [("SG-1", "暂无", "2026-03-01", "较大", "3")], ACC)
    assert rejects[["value", "reason"]].values.tolist() == [["暂无", "the facility id is empty"]]


def test_rejects_show_the_id_as_written_whatever_the_column_is_called():
    """The id column named as in the register: a duplicate or a bad credit code shows its value, not ''."""
    bad = IDS["B"][:-1] + ("0" if IDS["B"][-1] != "0" else "1")
    raw = _raw(
        [
            GOOD,
            (IDS["A"].lower(), "重复", "工贸", "119.62", "32.22"),
            (bad, "坏码", "工贸", "119.62", "32.22"),
        ]
    )
    raw = raw.rename(columns={"facility_id": "统一社会信用代码"})
    _, rejects = validate_facilities(raw, _config(id="统一社会信用代码"), "f.csv")
    by_row = rejects.set_index("row")
    assert by_row.loc[3, ["field", "value"]].tolist() == ["统一社会信用代码", IDS["A"].lower()]
    assert "duplicate facility id" in by_row.loc[3, "reason"]
    assert by_row.loc[4, ["field", "value"]].tolist() == ["统一社会信用代码", bad]
    assert "check character" in by_row.loc[4, "reason"]


def test_related_rows_of_unknown_ids_show_the_id_as_written():
    _, rejects = _related("accidents", [("SG-1", " nope ", "2026-03-01", "较大", "3")], ACC)
    assert rejects["value"].tolist() == [" nope "] and rejects["record_id"].tolist() == ["NOPE"]


def test_old_registration_numbers_are_ids_and_noted_once():
    from riskmap.validate import id_notes

    raw = _raw(
        [
            GOOD,
            ("350212100012345", "乙", "工贸", "119.62", "32.22"),
            ("350212100012346", "丙", "工贸", "119.63", "32.23"),
        ]
    )
    gdf, rejects = validate_facilities(raw, _config(), "f.csv")
    assert rejects.empty and gdf["facility_id"].tolist()[1:] == ["350212100012345", "350212100012346"]
    notes = id_notes(raw, _config().facilities, "f.csv")
    assert len(notes) == 1
    assert notes[0].startswith(
        "f.csv：2 个企业编号是旧的 15 位工商注册号（如第 3 行的 350212100012345），已作为编号接受"
    )
    with language("en"):
        notes = id_notes(raw, _config().facilities, "f.csv")
    assert notes[0].startswith(
        "f.csv: 2 facility ids are old 15-digit business registration numbers (工商注册号, e.g. row 3 "
        "350212100012345), accepted as ids"
    )
    assert id_notes(_raw([GOOD]), _config().facilities, "f.csv") == []


def _register(*rows: tuple[str, str]) -> pd.DataFrame:
    from riskmap.validate import register_names

    return register_names(_raw([(i, n, "工贸", "119.61", "32.21") for i, n in rows]), _config().facilities)


HD_NAMED = ["hazard_id", "统一社会信用代码", "企业名称", "grade", "found_date"]


def _by_name(rows, names, known=("F1", "F2", "F3", "F4"), columns=HD_NAMED, **cfg):
    from riskmap.config import TableConfig
    from riskmap.validate import match_by_name

    table = TableConfig(
        path="t.csv",
        columns={"facility_id": "统一社会信用代码", "name": "企业名称"},
        match_by_name=True,
        **cfg,
    )
    raw = _table(rows, columns)
    out, rejects = match_by_name(raw, "hidden_dangers", table, names, pd.Index(known), "t.csv")
    assert len(out) + len(rejects) == len(raw)
    return out, rejects


def test_rows_without_an_id_find_their_facility_by_name():
    names = _register(("F1", "厦门甲机械有限公司"), ("F2", "厦门乙化工（同安）有限公司"), ("F3", "丙"))
    out, rejects = _by_name(
        [
            ("Y1", "", "厦门甲机械有限公司", "一般", "2026-03-01"),
            ("Y2", "无", " 厦门乙化工(同安)有限公司 ", "一般", "2026-03-01"),  # half-width brackets, spaces
            ("Y3", "F3", "厦门甲机械有限公司", "一般", "2026-03-01"),  # an id wins over the name
            ("Y4", "", "", "一般", "2026-03-01"),  # nothing to match: left to the empty-id check
        ],
        names,
    )
    assert rejects.empty
    assert out["统一社会信用代码"].tolist() == ["F1", "F2", "F3", ""]


def test_a_name_of_two_facilities_or_of_none_is_rejected():
    """A register row without an id is the enterprise 无代码:<name> (:func:`validate_facilities`): found by name."""
    names = _register(
        ("F1", "同名公司"), ("F2", "同名公司"), ("", "无码公司"), ("F4", "丁公司"), ("F9", "已拒公司")
    )
    out, rejects = _by_name(
        [
            ("Y1", "", "同名公司", "一般", "2026-03-01"),
            ("Y2", "", "没有这家", "一般", "2026-03-01"),
            ("Y3", "", "无码公司", "一般", "2026-03-01"),
            ("Y4", "", "丁公司", "一般", "2026-03-01"),
            ("Y5", "", "已拒公司", "一般", "2026-03-01"),
        ],
        names,
        known=("F1", "F2", "F3", "F4", "无代码:无码公司"),
    )
    assert out["统一社会信用代码"].tolist() == ["无代码:无码公司", "F4"]
    by_row = rejects.set_index("row")
    assert sorted(by_row.index) == [2, 3, 6]
    assert (by_row["field"] == "name").all() and by_row.loc[2, "value"] == "同名公司"
    assert by_row.loc[2, "reason"] == (
        "the enterprise name matches several facilities; give the facility id (candidates: F1, F2)"
    )
    assert by_row.loc[3, "reason"].startswith("no facility with this name in the facilities layer")
    assert by_row.loc[6, "reason"].startswith("no facility with this id or name on the map; the facility of")
    assert "F9" in by_row.loc[6, "reason"]


def test_match_by_name_needs_the_name_column():
    from riskmap.config import TableConfig
    from riskmap.validate import match_by_name

    cfg = TableConfig(path="t.csv", match_by_name=True)
    with pytest.raises(
        InputError, match=r'没有“name”列（请用 \[hidden_dangers\] columns = \{ name = "..." \} 映射您的列）'
    ):
        match_by_name(_table([("Y1", "", "一般")], ["hazard_id", "facility_id", "grade"]), "hidden_dangers",
                      cfg, _register(("F1", "甲")), pd.Index(["F1"]), "t.csv")  # fmt: skip


def test_a_table_without_an_id_column_is_matched_by_name_alone():
    out, rejects = _by_name(
        [("Y1", "甲", "一般", "2026-03-01")], _register(("F1", "甲")), columns=["hazard_id", "企业名称", "grade",
                                                                                 "found_date"]
    )  # fmt: skip
    assert rejects.empty and out["统一社会信用代码"].tolist() == ["F1"]


def test_a_register_of_several_sheets_names_the_sheet_of_a_row():
    from riskmap.io.tables import SHEET
    from riskmap.validate import register_names

    raw = _raw([("", "无码公司", "工贸", "119.61", "32.21")]).assign(**{SHEET: ["企业"]})
    assert register_names(raw, _config().facilities)["_row"].tolist() == ["2 of sheet 企业"]


# Coordinates as written and mixed systems (issue 24).

TRUE = (118.10, 24.70)  # a point in 同安区 (Xiamen)


def _rows_in(system: str, lon: float = TRUE[0], lat: float = TRUE[1]) -> tuple[float, float]:
    """The true point as picked in ``system``'s map app."""
    from riskmap.io.crs import wgs84_to_bd09, wgs84_to_gcj02

    convert = {"BD-09": wgs84_to_bd09, "GCJ-02": wgs84_to_gcj02}.get(system)
    if convert is None:
        return lon, lat
    x, y = convert(np.array([lon]), np.array([lat]))
    return float(x[0]), float(y[0])


def _register_in(written: list[str], systems: list[str]) -> pd.DataFrame:
    rows = []
    for i, (w, s) in enumerate(zip(written, systems, strict=True)):
        x, y = _rows_in(s)
        rows.append((f"M{i}", f"企业{i}", "工贸", f"{x:.7f}", f"{y:.7f}", w))
    df = pd.DataFrame(rows, columns=["facility_id", "name", "sector", "lon", "lat", "坐标系"])
    df.insert(0, "_row", range(2, len(df) + 2))
    return df


def test_each_row_is_converted_from_its_own_system():
    written = [
        "百度",
        "百度地图",
        "BD09",
        "bd-09",
        "高德",
        "腾讯",
        "GCJ02",
        "火星",
        "GPS",
        "WGS84",
        "2000",
        "国家2000",
        "",
    ]
    systems = ["BD-09"] * 4 + ["GCJ-02"] * 4 + ["EPSG:4326"] * 2 + ["EPSG:4490"] * 3
    gdf, rejects = validate_facilities(_register_in(written, systems), _config(crs_column="坐标系"), "f.csv")
    assert rejects.empty, rejects["reason"].tolist()
    assert np.allclose(gdf.geometry.x, TRUE[0], atol=1e-6) and np.allclose(gdf.geometry.y, TRUE[1], atol=1e-6)


def test_an_unknown_system_is_rejected_with_the_accepted_values():
    gdf, rejects = validate_facilities(
        _register_in(["百度", "北京54"], ["BD-09", "EPSG:4490"]), _config(crs_column="坐标系"), "f.csv"
    )
    assert len(gdf) == 1
    (r,) = rejects.to_dict("records")
    assert (r["row"], r["field"], r["value"]) == (3, "坐标系", "北京54")
    assert (
        "百度" in r["reason"]
        and "高德" in r["reason"]
        and "GPS" in r["reason"]
        and "crs_values" in r["reason"]
    )
    assert ";" not in r["reason"]  # the summary of the rejects cuts a reason at its first ";"


def test_crs_values_add_spellings():
    config = _config(crs_column="坐标系", crs_values={"百度坐标系": "BD-09", "北京54": "EPSG:4490"})
    gdf, rejects = validate_facilities(
        _register_in(["百度坐标系", "北京54"], ["BD-09", "EPSG:4490"]), config, "f.csv"
    )
    assert rejects.empty and np.allclose(gdf.geometry.x, TRUE[0], atol=1e-6)


def test_a_crs_values_entry_that_is_no_crs_is_a_config_error():
    config = _config(crs_column="坐标系", crs_values={"北京54": "Beijing 1954 please"})
    with pytest.raises(CRSError, match=r'facilities\.crs_values\["北京54"\]：.*不是已知的坐标系'):
        validate_facilities(_register_in(["北京54"], ["EPSG:4490"]), config, "f.csv")


def test_an_empty_system_without_crs_is_rejected():
    gdf, rejects = validate_facilities(
        _register_in(["高德", ""], ["GCJ-02", "EPSG:4490"]), _config(crs=None, crs_column="坐标系"), "f.csv"
    )
    assert len(gdf) == 1 and gdf.geometry.x.iloc[0] == pytest.approx(TRUE[0], abs=1e-6)
    # The other row is a reject with the reason, not lost: rows in = rows kept + rows rejected.
    assert rejects[["row", "field"]].values.tolist() == [[3, "坐标系"]]
    assert rejects["reason"].str.contains("坐标系 is empty and facilities.crs is not set").all()


def test_crs_column_missing_from_the_file_names_it():
    with pytest.raises(InputError, match=r"没有“坐标”列；是否为“坐标系”？"):
        validate_facilities(_register_in(["高德"], ["GCJ-02"]), _config(crs_column="坐标"), "f.csv")


def test_systems_are_converted_per_group_not_per_row(monkeypatch):
    import riskmap.validate as v

    calls = []
    real = v.to_geographic

    def counted(x, y, crs):
        calls.append(len(x))
        return real(x, y, crs)

    monkeypatch.setattr(v, "to_geographic", counted)
    written = ["百度", "高德", "", "百度", "高德", "", "GPS"] * 100
    systems = ["BD-09", "GCJ-02", "EPSG:4490", "BD-09", "GCJ-02", "EPSG:4490", "EPSG:4326"] * 100
    gdf, _ = validate_facilities(_register_in(written, systems), _config(crs_column="坐标系"), "f.csv")
    assert sorted(calls) == [100, 200, 200, 200] and len(gdf) == 700


def test_swapped_coordinates_are_swapped_back_and_flagged():
    from riskmap.columns import SWAPPED

    gdf, rejects = validate_facilities(
        _raw([GOOD, ("X4", "颠倒", "工贸", "32.21", "119.61")]), _config(), "f.csv"
    )
    assert rejects.empty
    assert gdf[SWAPPED].tolist() == [False, True]
    assert gdf.geometry.x.tolist() == [119.61, 119.61] and gdf.geometry.y.tolist() == [32.21, 32.21]


def test_dms_text_and_pairs_in_the_register_in():
    rows = [
        ("P1", "度分秒", "工贸", "119°36'36\"", "32°12'36\""),
        ("P2", "中文度分秒", "工贸", "东经119度36分36秒", "北纬32度12分36秒"),
        ("P3", "一格两数", "工贸", "119.61,32.21", ""),
        ("P4", "文本数字", "工贸", " 119.610000 ", "32.210000"),
    ]
    gdf, rejects = validate_facilities(_raw(rows), _config(), "f.csv")
    assert rejects.empty, rejects["reason"].tolist()
    assert np.allclose(gdf.geometry.x, 119.61) and np.allclose(gdf.geometry.y, 32.21)


def test_x_and_y_in_one_column():
    raw = _raw([(IDS["A"], "甲", "工贸", "119.61，32.21", "")]).rename(columns={"lon": "坐标"})
    gdf, rejects = validate_facilities(raw, _config(x="坐标", y="坐标"), "f.csv")
    assert rejects.empty and (gdf.geometry.x.iloc[0], gdf.geometry.y.iloc[0]) == (119.61, 32.21)
    assert "坐标" not in gdf.columns


def test_riskmap_validate_lists_the_input_problems_in_chinese_and_with_lang_en_in_english(tiny_project):
    """`riskmap validate` on a project with broken inputs: its problem lines in Chinese, or English with --lang en."""
    from typer.testing import CliRunner

    from riskmap.cli import app

    d = tiny_project.parent
    (d / "inventory.csv").unlink()
    (d / "risk_points.csv").write_text(
        (d / "risk_points.csv").read_text(encoding="utf-8").replace("likelihood", "L", 1), encoding="utf-8"
    )
    tiny_project.write_text(
        tiny_project.read_text(encoding="utf-8").replace('layer = "town"', 'layer = "towns"', 1)
    )
    runner = CliRunner()
    zh = " ".join(runner.invoke(app, ["validate", str(tiny_project)]).output.split())
    en = " ".join(runner.invoke(app, ["validate", str(tiny_project), "--lang", "en"]).output.split())
    said_zh = (
        "inventory.csv：找不到文件；请检查项目文件中的路径（相对于项目文件）",
        'risk_points.csv：没有“likelihood”列（请用 [risk_points] columns = { likelihood = "..." } 映射您的列）。'
        "文件中的列：facility_id, point_id, point_name, L, severity。",
        "boundaries.gpkg：没有图层 'towns'（zones[1].layer）；文件中的图层：village, town",
    )
    said_en = (
        "inventory.csv: file not found; check the path in the project file (relative to it)",
        'risk_points.csv: no column "likelihood" (map yours with [risk_points] columns = { likelihood = "..." }). '
        "Columns in the file: facility_id, point_id, point_name, L, severity.",
        "boundaries.gpkg: no layer 'towns' (zones[1].layer); the file has: village, town",
    )
    for chinese, english in zip(said_zh, said_en, strict=True):
        assert chinese in zh and english not in zh, zh
        assert english in en and chinese not in en, en
    for english_words in ("file not found", "no column", "no layer", "Columns in the file"):
        assert english_words not in zh, zh
