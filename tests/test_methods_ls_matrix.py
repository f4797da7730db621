from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskmap.config import LSMatrixParams
from riskmap.methods import ls_matrix


@pytest.mark.parametrize(
    ("lik", "sev", "rank"),
    [(4, 5, 4), (5, 5, 4), (3, 5, 3), (4, 4, 3), (3, 4, 2), (3, 3, 2), (2, 4, 1), (1, 1, 1)],
)
def test_common_preset_bands(lik, sev, rank):
    assert int(ls_matrix.point_ranks([lik], [sev], LSMatrixParams())[0]) == rank


def test_variant_preset_and_full_matrix():
    variant = LSMatrixParams(preset="variant")
    assert int(ls_matrix.point_ranks([2], [5], variant)[0]) == 3  # 10 is orange in the variant
    m = [["blue"] * 5 for _ in range(5)]
    m[0][0] = "red"
    full = LSMatrixParams(matrix=m)
    assert ls_matrix.point_ranks([1, 5], [1, 5], full).tolist() == [4, 1]


def test_worst_point_decides_and_bad_points_are_rejected():
    pts = pd.DataFrame(
        {
            "facility_id": ["F", "F", "F", "G"],
            "point_name": ["配电室", "有限空间", "坏数据", "仓库"],
            "likelihood": ["2", "4", "6", "1"],
            "severity": ["2", "5", "1", "x"],
            "_row": [2, 3, 4, 5],
        }
    )
    res = ls_matrix.grade_facilities(pts, LSMatrixParams(), "rp.csv")
    assert res.results.loc["F", "rank"] == 4 and res.results.loc["F", "score"] == 20
    assert "有限空间" in res.results.loc["F", "reason_zh"]
    assert "G" not in res.results.index
    assert sorted(res.rejects["row"]) == [4, 5]
    assert set(res.rejects["reason"]) == {
        "likelihood must be an integer 1..5",
        "severity must be an integer 1..5",
    }


@given(lik=st.integers(1, 5), sev=st.integers(1, 5), dl=st.integers(0, 4), ds=st.integers(0, 4))
def test_higher_l_or_s_never_lowers_the_level(lik, sev, dl, ds):
    p = LSMatrixParams()
    a = ls_matrix.point_ranks(np.array([lik]), np.array([sev]), p)[0]
    b = ls_matrix.point_ranks(np.array([min(lik + dl, 5)]), np.array([min(sev + ds, 5)]), p)[0]
    assert b >= a
