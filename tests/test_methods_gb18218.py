from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskmap.errors import ScoringError
from riskmap.i18n import language
from riskmap.methods import gb18218

GRADES = {"1": "red", "2": "orange", "3": "yellow", "4": "blue"}


def test_worked_example_sulphur_dioxide():
    a = gb18218.assess([("二氧化硫", 200.0)], persons=60)
    assert (a.s, a.r, a.alpha, a.grade, a.is_major) == (10.0, 30.0, 1.5, 3, True)


def test_worked_example_petrol_station_is_not_major():
    a = gb18218.assess([("汽油", 26.64), ("W5.4", 22.95)], persons=10)
    assert a.s == pytest.approx(0.138, abs=1e-3)
    assert not a.is_major and a.grade is None and a.r is None


@pytest.mark.parametrize(
    ("substance", "q"),
    [("氨", 10.0), ("液氨", 10.0), ("7664-41-7", 10.0), ("W2", 10.0), ("光气", 0.3), ("天然气", 50.0)],
)
def test_lookup_by_name_alias_cas_and_category(substance, q):
    assert gb18218.lookup(substance)[1] == q


def test_beta_from_table3_and_from_category():
    assert gb18218.lookup("氯")[2] == 4.0  # table 3 toxic gas
    assert gb18218.lookup("液化石油气")[2] == 1.5  # W2 flammable gas, table 4
    assert gb18218.lookup("甲苯")[2] == 1.0


def test_unknown_substance_lists_closest():
    with pytest.raises(ScoringError, match=r"未知物质 '二氧化琉'：.*最接近的：二氧化硫"):
        gb18218.lookup("二氧化琉")


def test_s_exactly_one_is_major():
    assert gb18218.assess([("甲苯", 500.0)], persons=0).is_major
    assert gb18218.assess([("甲醇", 250.0), ("甲苯", 250.0)], persons=0).is_major
    assert not gb18218.assess([("甲苯", 499.999)], persons=0).is_major


@pytest.mark.parametrize(("r", "grade"), [(100, 1), (99.999, 2), (50, 2), (49.99, 3), (10, 3), (9.99, 4)])
def test_grade_boundaries(r, grade):
    assert int(gb18218.grade_for(r)) == grade


@pytest.mark.parametrize(
    ("persons", "alpha"),
    [(0, 0.5), (1, 1.0), (29, 1.0), (30, 1.2), (49, 1.2), (50, 1.5), (99, 1.5), (100, 2.0)],
)
def test_alpha_table5(persons, alpha):
    assert float(gb18218.alpha_for(persons)) == alpha


def test_assess_rejects_bad_arguments():
    with pytest.raises(ScoringError, match=r"persons=（500 米内人数）和 alpha= 须且只能给出其中一个"):
        gb18218.assess([("氨", 1.0)])
    with pytest.raises(ScoringError, match=r"数量 -1\.0 吨不是非负数"):
        gb18218.assess([("氨", -1.0)], persons=1)
    with (
        language("en"),
        pytest.raises(ScoringError, match=r"give exactly one of persons= \(within 500 m\) or alpha="),
    ):
        gb18218.assess([("氨", 1.0)])


def test_explicit_items():
    a = gb18218.assess([{"quantity": 20.0, "critical_quantity": 10.0, "beta": 2.0}], alpha=1.0)
    assert (a.s, a.r, a.grade) == (2.0, 4.0, 4)


def _inventory(rows):
    return pd.DataFrame(rows, columns=["facility_id", "unit_id", "substance", "quantity_t"]).assign(
        _row=lambda d: range(2, len(d) + 2)
    )


def test_grade_facilities_takes_the_worst_unit_and_rejects_bad_rows():
    inv = _inventory(
        [
            ("F1", "罐区", "氯", "50"),  # S=10, R=α·4·10
            ("F1", "仓库", "甲苯", "600"),  # S=1.2, R=α·1.2
            ("F2", "", "甲苯", "100"),  # S=0.2, not major
            ("F3", "", "未知物质X", "1"),  # rejected
            ("F3", "", "氨", "-5"),  # rejected
            ("F3", "", "氨", "abc"),  # rejected
        ]
    )
    persons = pd.Series({"F1": 120.0, "F2": 0.0, "F3": 0.0})
    res = gb18218.grade_facilities(inv, persons, grade_levels=GRADES, source="inv.csv")
    r = res.results
    assert r.loc["F1", "score"] == pytest.approx(80.0)  # α 2.0 x β 4 x 10
    assert r.loc["F1", "rank"] == 3  # grade 2 -> orange
    assert "二级重大危险源" in r.loc["F1", "reason_zh"] and "罐区" in r.loc["F1", "reason_zh"]
    assert r.loc["F2", "rank"] == 0 and np.isnan(r.loc["F2", "score"])
    assert "不构成重大危险源" in r.loc["F2", "reason_zh"]
    assert "F3" not in r.index
    assert sorted(res.rejects["row"].tolist()) == [5, 6, 7]
    assert res.rejects["reason"].str.contains("unknown substance").sum() == 1
    assert res.rejects["reason"].str.contains("negative").sum() == 1


@given(q=st.floats(0.01, 1e4), extra=st.floats(0, 1e4), persons=st.integers(0, 500))
def test_more_quantity_never_lowers_the_grade(q, extra, persons):
    a = gb18218.assess([("甲醇", q)], persons=persons)
    b = gb18218.assess([("甲醇", q + extra)], persons=persons)
    rank = lambda x: 0 if x.grade is None else 5 - x.grade  # noqa: E731
    assert rank(b) >= rank(a)


@pytest.mark.parametrize("key", ["氯化氢", "氯化氢(无水)", "7647-01-0"])
def test_table3_beta_matches_by_cas_when_names_differ(key):
    # Table 1 says 氯化氢(无水), table 3 says 氯化氢: β must be table 3's 3, not the category's.
    assert gb18218.lookup(key)[2] == 3.0


def test_non_major_facility_reports_its_largest_s():
    inv = _inventory(
        [
            ("F", "U1", "乙醇", "300"),  # S = 0.6 (largest S)
            ("F", "U2", "氯", "2"),  # S = 0.4 but larger beta-weighted sum
        ]
    )
    r = gb18218.grade_facilities(inv, pd.Series({"F": 0.0}), grade_levels=GRADES).results
    assert r.loc["F", "gb18218_s"] == pytest.approx(0.6)
    assert "最大 S=0.6 < 1" in r.loc["F", "reason_zh"]


def test_quantities_with_units_and_full_width_digits():
    inv = _inventory(
        [
            ("F", "", "甲苯", "250吨"),
            ("F", "", "甲苯", "250000 kg"),  # 250 t
            ("G", "", "甲苯", "１００ｔ"),
            ("H", "", "甲苯", "30 桶"),  # drums: not a unit of mass or volume, rejected
            ("H", "", "甲苯", ""),
        ]
    )
    res = gb18218.grade_facilities(inv, pd.Series({"F": 0.0, "G": 0.0, "H": 0.0}), grade_levels=GRADES)
    assert res.results.loc["F", "gb18218_s"] == pytest.approx(1.0)
    assert res.results.loc["G", "gb18218_s"] == pytest.approx(0.2)
    reasons = res.rejects.set_index("row")["reason"]
    assert "the unit '桶' is not understood" in reasons[5] and "missing or not a number" in reasons[6]


@pytest.mark.parametrize(
    ("quantity", "reason"),
    [
        ("1e400", r"not a finite number"),  # overflows to infinity: S = inf would make the unit red
        ("1E+400 t", r"not a finite number"),
        ("2e7", r"implausible: above 10,000,000 t"),
        ("12000000吨", r"implausible: above 10,000,000 t"),
    ],
)
def test_non_finite_or_implausible_quantity_is_rejected(quantity, reason):
    """A quantity of 1e400 gave S = inf and a red enterprise (issue 23): rejected with the reason."""
    inv = _inventory([("F", "罐区", "甲苯", "100"), ("F", "罐区", "甲苯", quantity)])
    res = gb18218.grade_facilities(inv, pd.Series({"F": 0.0}), grade_levels=GRADES)
    assert res.rejects["row"].tolist() == [3]
    assert res.rejects.iloc[0]["field"] == "quantity_t"
    assert re.search(reason, res.rejects.iloc[0]["reason"]), res.rejects.iloc[0]["reason"]
    assert res.results.loc["F", "gb18218_s"] == pytest.approx(0.2)  # graded on the row that is left


def test_the_largest_plausible_quantity_is_read():
    inv = _inventory([("F", "罐区", "W5.4", "10000000")])  # a strategic crude reserve: 10 million t
    res = gb18218.grade_facilities(inv, pd.Series({"F": 0.0}), grade_levels=GRADES)
    assert res.rejects.empty and res.results.loc["F", "rank"] > 0


@pytest.mark.parametrize(
    ("written", "name", "q"),
    [
        ("92#车用汽油", "汽油(乙醇汽油、甲醇汽油)", 200.0),
        ("95号汽油", "汽油(乙醇汽油、甲醇汽油)", 200.0),
        ("车用汽油", "汽油(乙醇汽油、甲醇汽油)", 200.0),
        ("乙醇汽油", "汽油(乙醇汽油、甲醇汽油)", 200.0),
        ("甲醇汽油", "汽油(乙醇汽油、甲醇汽油)", 200.0),
        ("0#柴油", "W5.4", 5000.0),  # diesel is not in table 1: flammable liquid category 3
        ("-10#柴油", "W5.4", 5000.0),
        ("柴油", "W5.4", 5000.0),
        ("68334-30-5", "W5.4", 5000.0),
        ("煤油", "W5.4", 5000.0),
        ("LPG", "液化石油气(含丙烷、丁烷及其混合物)", 50.0),
        ("ｌｐｇ", "液化石油气(含丙烷、丁烷及其混合物)", 50.0),
        ("液化气", "液化石油气(含丙烷、丁烷及其混合物)", 50.0),
        ("液化天然气", "甲烷,天然气", 50.0),
        ("LNG", "甲烷,天然气", 50.0),
        ("CNG", "甲烷,天然气", 50.0),
        ("压缩天然气", "甲烷,天然气", 50.0),
        ("工业甲醇", "甲醇", 500.0),
        ("无水氟化氢", "氟化氢", 1.0),
        ("液氨", "氨", 10.0),
        ("67-56-1", "甲醇", 500.0),
    ],
)
def test_substances_as_registers_write_them(written, name, q):
    found = gb18218.lookup(written)
    assert found[:2] == (name, q)


@pytest.mark.parametrize("written", ["氨水", "氢氟酸", "盐酸"])
def test_what_is_chemically_different_is_not_aliased(written):
    """氨水 (ammonia solution) is not 氨, 氢氟酸 not 氟化氢, 盐酸 not 氯化氢: unknown, with the reason, no guess."""
    with pytest.raises(ScoringError, match=r"is not .*：.*表2") as err:
        gb18218.lookup(written)
    assert "最接近" not in str(err.value)


@pytest.mark.parametrize(
    ("written", "closest"),
    [
        ("二氧化琉", "二氧化硫"),
        ("机油", None),
        ("油漆", None),
        ("氮气", None),
        ("汽由", None),
        ("甲 苯", "甲苯"),
    ],
)
def test_closest_only_when_close(written, closest):
    """柴油 was "closest: 硝化甘油", and so were 机油 and 油漆: a suggestion now needs a close spelling."""
    inv = _inventory([("F", "", written, "1")])
    res = gb18218.grade_facilities(inv, pd.Series({"F": 0.0}), grade_levels=GRADES)
    if written == "甲 苯":  # spaces do not count: it is 甲苯
        assert res.rejects.empty
        return
    reason = res.rejects["reason"].iloc[0]
    if closest is None:
        assert "closest" not in reason, reason
    else:
        assert f"closest: {closest}" in reason, reason


def _with_units(rows):
    return pd.DataFrame(rows, columns=["facility_id", "unit_id", "substance", "quantity_t", "unit"]).assign(
        _row=lambda d: range(2, len(d) + 2)
    )


def test_unit_column_masses_and_volumes():
    """t, 吨, kg, 千克, 公斤; m³, 立方米, 方 and L of a liquid with a shipped density (t/m³)."""
    inv = _with_units(
        [
            ("T", "", "甲苯", "100", "t"),
            ("T", "", "甲苯", "100", "吨"),
            ("T", "", "甲苯", "100000", "kg"),
            ("T", "", "甲苯", "100000", "千克"),
            ("T", "", "甲苯", "100000", "公斤"),
            ("T", "", "甲苯", "100", ""),  # no unit: tonnes, as the column always read
            ("P", "", "92#车用汽油", "1000", "m³"),  # petrol 0.74 t/m³: 740 t
            ("D", "", "0#柴油", "1000", "立方米"),  # diesel 0.84: 840 t
            ("M", "", "工业甲醇", "1000", "方"),  # methanol 0.79: 790 t
            ("L", "", "LPG", "100", "m3"),  # LPG (liquid) 0.55: 55 t
            ("N", "", "液化天然气", "100000", "L"),  # LNG 0.45: 100 m³ = 45 t
            ("A", "", "液氨", "10", "m³"),  # liquid ammonia 0.61: 6.1 t
        ]
    )
    ids = list("TPDMLNA")
    res = gb18218.grade_facilities(inv, pd.Series(0.0, index=ids), grade_levels=GRADES)
    assert res.rejects.empty, res.rejects["reason"].tolist()
    s = res.results["gb18218_s"]
    assert s["T"] == pytest.approx(600 / 500)
    assert s["P"] == pytest.approx(740 / 200)
    assert s["D"] == pytest.approx(840 / 5000)
    assert s["M"] == pytest.approx(790 / 500)
    assert s["L"] == pytest.approx(55 / 50)
    assert s["N"] == pytest.approx(45 / 50)
    assert s["A"] == pytest.approx(6.1 / 10)


def test_volume_without_a_density_names_the_key_to_set():
    """CNG and 氨(气) in m³ are gases: no shipped density (a tonne of gas has no one volume)."""
    inv = _with_units(
        [("F", "", "CNG", "100", "m³"), ("F", "", "氨", "5", "立方米"), ("F", "", "氨", "3", "t")]
    )
    res = gb18218.grade_facilities(inv, pd.Series({"F": 0.0}), grade_levels=GRADES, source="inv.csv")
    reasons = res.rejects.set_index("row")["reason"]
    assert list(reasons.index) == [2, 3]
    assert '[inventory] densities = { "CNG" = ' in reasons[2], reasons[2]
    assert '[inventory] densities = { "氨" = ' in reasons[3]
    assert res.results.loc["F", "gb18218_s"] == pytest.approx(0.3)  # graded on the row in tonnes
    densities = {"cng": 0.18, "氨": 0.61}  # the project's own (compared as substances are)
    res = gb18218.grade_facilities(inv, pd.Series({"F": 0.0}), grade_levels=GRADES, densities=densities)
    assert res.rejects.empty
    assert res.results.loc["F", "gb18218_s"] == pytest.approx(18 / 50 + (3.05 + 3) / 10)


def test_project_density_wins_over_the_shipped_one():
    inv = _with_units([("F", "", "汽油", "1000", "m³")])
    res = gb18218.grade_facilities(inv, pd.Series({"F": 0.0}), grade_levels=GRADES, densities={"汽油": 0.72})
    assert res.results.loc["F", "gb18218_s"] == pytest.approx(720 / 200)


@pytest.mark.parametrize(
    ("quantity", "unit", "says"),
    [
        ("5吨", "kg", r"the quantity '5吨' and its unit column \(kg\) disagree"),
        ("100", "桶", r"the unit '桶' is not understood"),
        ("100", "m³/h", r"the unit 'm3/h' is not understood"),
    ],
)
def test_units_that_cannot_be_read(quantity, unit, says):
    inv = _with_units([("F", "", "甲苯", quantity, unit)])
    res = gb18218.grade_facilities(inv, pd.Series({"F": 0.0}), grade_levels=GRADES)
    assert re.search(says, res.rejects["reason"].iloc[0]), res.rejects["reason"].iloc[0]


def test_same_unit_in_cell_and_column_is_read():
    inv = _with_units([("F", "", "甲苯", "500吨", "t"), ("G", "", "甲苯", "500 t", "吨")])
    res = gb18218.grade_facilities(inv, pd.Series({"F": 0.0, "G": 0.0}), grade_levels=GRADES)
    assert res.rejects.empty and (res.results["gb18218_s"] == 1.0).all()


def test_unit_column_and_densities_from_the_project_file(tiny_project):
    """[inventory] columns.unit names the register's 单位 column; [inventory] densities the project's own."""
    from conftest import IDS

    import riskmap

    d = tiny_project.parent
    inv = pd.read_csv(d / "inventory.csv", dtype=str)
    inv.columns = ["统一社会信用代码", "单元", "物质名称", "设计最大量"]
    inv["单位"] = ["吨", "m³", "m³"]
    inv.loc[1:, "物质名称"] = ["92#车用汽油", "CNG"]
    inv.loc[1:, "设计最大量"] = ["36", "100"]  # 26.64 t of petrol; 100 m³ of CNG at 0.18 t/m³ is 18 t
    inv.to_csv(d / "inventory.csv", index=False)
    text = tiny_project.read_text(encoding="utf-8").replace(
        '[inventory]\npath = "inventory.csv"\n',
        '[inventory]\npath = "inventory.csv"\ncolumns = { facility_id = "统一社会信用代码", unit_id = "单元", '
        'substance = "物质名称", quantity_t = "设计最大量", unit = "单位" }\n',
    )
    tiny_project.write_text(text, encoding="utf-8")
    result = riskmap.check(riskmap.load_config(tiny_project))
    rejected = result.rejects[result.rejects["source"] == "inventory.csv"]
    assert rejected[["field", "value"]].values.tolist() == [["quantity_t", "100"]]
    assert '[inventory] densities = { "CNG" = <t per m³> }' in rejected["reason"].iloc[0]
    tiny_project.write_text(text + '\n[inventory.densities]\n"CNG" = 0.18\n', encoding="utf-8")
    fac = riskmap.check(riskmap.load_config(tiny_project)).facilities.set_index("facility_id")
    assert fac.loc[IDS["A"], "gb18218_s"] == pytest.approx(10.0)
    assert fac.loc[IDS["B"], "gb18218_s"] == pytest.approx(36 * 0.74 / 200 + 18 / 50)


def test_empty_inventory_with_a_unit_column():
    inv = _with_units([]).astype(str)
    res = gb18218.grade_facilities(inv, pd.Series(dtype=float), grade_levels=GRADES)
    assert res.results.empty and res.rejects.empty


def test_a_unit_column_mapped_but_missing_stops_the_run(tiny_project):
    """Every quantity read as tonnes, without a word, if a mapped unit column were not found: it is an error."""
    import riskmap
    from riskmap.errors import InputError

    text = tiny_project.read_text(encoding="utf-8").replace(
        '[inventory]\npath = "inventory.csv"\n',
        '[inventory]\npath = "inventory.csv"\ncolumns = { unit = "单位" }\n',
    )
    tiny_project.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=r"inventory\.csv：没有“单位”列"):
        riskmap.check(riskmap.load_config(tiny_project))
