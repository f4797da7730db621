from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskmap.config import LECParams
from riskmap.methods import lec


@pytest.mark.parametrize(
    ("d", "lower", "upper"),
    [
        (320, 4, 3),
        (319.99, 3, 3),
        (160, 3, 2),
        (159.9, 2, 2),
        (70, 2, 1),
        (69.9, 1, 1),
        (1000, 4, 4),
        (0.1, 1, 1),
    ],
)
def test_boundaries_under_both_conventions(d, lower, upper):
    assert int(lec.point_ranks(np.array([d]), LECParams())[0]) == lower
    assert int(lec.point_ranks(np.array([d]), LECParams(boundary="upper"))[0]) == upper


def test_thresholds_must_decrease():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"thresholds 须为正数且从 red 到 yellow 递减"):
        LECParams(thresholds={"red": 100, "orange": 160, "yellow": 70})


def _points(rows):
    df = pd.DataFrame(rows, columns=["facility_id", "point_name", "lec_l", "lec_e", "lec_c"])
    df.insert(0, "_row", range(2, len(df) + 2))
    return df


def test_worst_point_and_rejects_for_values_outside_the_sets():
    res = lec.grade_facilities(
        _points(
            [
                ("F", "有限空间", "6", "6", "15"),  # 540 red
                ("F", "配电室", "3", "3", "7"),  # 63 blue
                ("G", "动火作业", "3", "6", "7"),  # 126 yellow
                ("G", "坏值", "4", "6", "7"),  # L=4 is not an LEC value
                ("H", "坏值", "1", "6", "8"),  # C=8 is not an LEC value
            ]
        ),
        LECParams(),
        "rp.csv",
    )
    r = res.results
    assert r.loc["F", "rank"] == 4 and r.loc["F", "score"] == 540
    assert "有限空间 D=6×6×15=540 → 重大风险" in r.loc["F", "reason_zh"]
    assert r.loc["G", "rank"] == 2
    assert "H" not in r.index
    assert res.rejects.set_index("row")["field"].to_dict() == {5: "lec_l", 6: "lec_c"}
    assert "must be one of 10, 6, 3, 1, 0.5, 0.2, 0.1" in res.rejects.iloc[0]["reason"]


def test_count_aggregation():
    pts = _points(
        [
            ("F", "a", "6", "6", "15"),
            ("F", "b", "3", "3", "7"),
            ("G", "a", "6", "6", "15"),
            ("G", "b", "10", "6", "15"),
        ]
    )
    params = LECParams(aggregate="count", count_thresholds={"red": 2, "orange": 1, "yellow": 1, "blue": 1})
    r = lec.grade_facilities(pts, params).results
    assert r.loc["F", "rank"] == 3  # one red point only: orange under "2 red points make red"
    assert r.loc["G", "rank"] == 4
    assert "按风险点数量规则 (红1/橙0/黄0/蓝1)" in r.loc["F", "reason_zh"]


@given(
    st.sampled_from(lec.L_VALUES),
    st.sampled_from(lec.E_VALUES),
    st.sampled_from(lec.C_VALUES),
    st.sampled_from(lec.L_VALUES),
    st.sampled_from(lec.E_VALUES),
    st.sampled_from(lec.C_VALUES),
)
def test_higher_l_e_or_c_never_lowers_the_level(l1, e1, c1, l2, e2, c2):
    lo = (min(l1, l2), min(e1, e2), min(c1, c2))
    hi = (max(l1, l2), max(e1, e2), max(c1, c2))
    ranks = lec.point_ranks(np.array([np.prod(lo), np.prod(hi)]), LECParams())
    assert ranks[1] >= ranks[0]
