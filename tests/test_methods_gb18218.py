from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskmap.errors import ScoringError
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
    with pytest.raises(ScoringError, match=r"unknown substance '二氧化琉'.*closest: 二氧化硫"):
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
    with pytest.raises(ScoringError, match=r"exactly one of persons"):
        gb18218.assess([("氨", 1.0)])
    with pytest.raises(ScoringError, match=r"non-negative"):
        gb18218.assess([("氨", -1.0)], persons=1)


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
            ("H", "", "甲苯", "30 m3"),  # a volume is not a mass: rejected
            ("H", "", "甲苯", ""),
        ]
    )
    res = gb18218.grade_facilities(inv, pd.Series({"F": 0.0, "G": 0.0, "H": 0.0}), grade_levels=GRADES)
    assert res.results.loc["F", "gb18218_s"] == pytest.approx(1.0)
    assert res.results.loc["G", "gb18218_s"] == pytest.approx(0.2)
    reasons = res.rejects.set_index("row")["reason"]
    assert "unit is not understood" in reasons[5] and "missing or not a number" in reasons[6]


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
