from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmap.config import Chem2018Params
from riskmap.methods import chem2018


def _rows(rows):
    df = pd.DataFrame(rows, columns=["facility_id", "item", "points"])
    df.insert(0, "_row", range(2, len(df) + 2))
    return df


@pytest.mark.parametrize(
    ("score", "rank"), [(90, 1), (89.99, 2), (75, 2), (74.99, 3), (60, 3), (59.99, 4), (0, 4)]
)
def test_band_boundaries(score, rank):
    assert int(chem2018.band(np.array([score]), Chem2018Params())[0]) == rank


def test_weights_sum_to_100():
    assert sum(cap for _, _, cap in chem2018.DEDUCTIONS.values()) == 100


def test_caps_bonuses_and_major_hazard_from_gb18218():
    r = chem2018.grade_facilities(
        _rows([("A", "processes", "4"), ("A", "人员资质", "20"), ("A", "bonus_standardisation", "5")]),
        Chem2018Params(),
        gb18218_grades=pd.Series({"A": 2}),
    ).results
    # 100 - 4 - 15 (personnel capped at its weight 15) - 8 (二级 major hazard) + 5 = 78 -> yellow
    assert r.loc["A", "score"] == 78 and r.loc["A", "rank"] == 2
    assert "人员资质 −15.0(封顶)" in r.loc["A", "reason_zh"] and "取自 GB 18218" in r.loc["A", "reason_zh"]


def test_explicit_major_hazard_row_wins_over_gb18218():
    r = chem2018.grade_facilities(
        _rows([("A", "major_hazard", "4")]), Chem2018Params(), pd.Series({"A": 1})
    ).results
    assert r.loc["A", "score"] == 96


def test_veto_is_red_whatever_the_score():
    r = chem2018.grade_facilities(_rows([("B", "veto_uncertified_workers", "")]), Chem2018Params()).results
    assert r.loc["B", "score"] == 100 and r.loc["B", "rank"] == 4 and bool(r.loc["B", "chem2018_veto"])
    assert "一票否决" in r.loc["B", "reason_zh"]


def test_score_floor_and_ceiling():
    many = [("C", code, str(cap)) for code, (_, _, cap) in chem2018.DEDUCTIONS.items()]
    bonus = [("D", "bonus_standardisation", "15"), ("D", "bonus_fire_brigade", "3")]
    r = chem2018.grade_facilities(_rows(many + bonus), Chem2018Params()).results
    assert r.loc["C", "score"] == 0 and r.loc["D", "score"] == 100


def test_bad_rows_are_rejected():
    res = chem2018.grade_facilities(
        _rows(
            [
                ("E", "bogus", "1"),
                ("E", "personnel", "-1"),
                ("E", "bonus_standardisation", "7"),
                ("E", "equipment", "x"),
                ("E", "design", "2"),
            ]
        ),
        Chem2018Params(),
    )
    reasons = res.rejects.set_index("row")["reason"].to_dict()
    assert "unknown item" in reasons[2] and "must not be negative" in reasons[3]
    assert "bonus points must be one of 15/5/2" in reasons[4] and "needs the points" in reasons[5]
    assert res.results.loc["E", "score"] == 98


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 30), st.floats(0, 30))
def test_more_deductions_never_lower_the_level(a, extra):
    p = Chem2018Params()
    r1 = chem2018.grade_facilities(_rows([("F", "personnel", str(a))]), p).results.loc["F", "rank"]
    r2 = chem2018.grade_facilities(_rows([("F", "personnel", str(a + extra))]), p).results.loc["F", "rank"]
    assert r2 >= r1


def test_non_finite_points_are_rejected():
    res = chem2018.grade_facilities(
        _rows([("E", "design", "2"), ("E", "personnel", "1e400")]), Chem2018Params()
    )
    assert res.rejects.set_index("row")["reason"].to_dict() == {3: "the points are not a finite number"}
    assert res.results.loc["E", "score"] == 98


def test_a_bonus_listed_twice_counts_once():
    res = chem2018.grade_facilities(
        _rows(
            [
                ("A", "personnel", "15"),
                ("A", "bonus_standardisation", "5"),
                ("A", "安全生产标准化", "5"),  # the same bonus under its Chinese name
                ("A", "processes", "2"),
                ("A", "processes", "2"),  # two processes, −2 each: deductions are per instance
            ]
        ),
        Chem2018Params(),
    )
    assert res.rejects[["row", "field"]].values.tolist() == [[4, "item"]]
    assert res.rejects.iloc[0]["reason"] == (
        "duplicate bonus item for the same facility; first seen at row 3 (a bonus counts once)"
    )
    assert res.results.loc["A", "score"] == 100 - 15 - 4 + 5
