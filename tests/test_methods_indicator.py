from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskmap.config import IndicatorParams
from riskmap.methods import indicator

PARAMS = IndicatorParams(
    indicators={
        "occupancy": {"column": "occupancy", "weight": 2, "min": 0, "max": 2000},
        "fire_rating": {
            "column": "fire_rating",
            "weight": 1,
            "max": 100,
            "categories": {"一级": 0, "二级": 50, "三级": 100},
        },
        "exits": {"column": "exits", "weight": 1, "min": 1, "max": 5, "direction": "lower_worse"},
    }
)


def test_weighted_index_and_levels():
    fac = pd.DataFrame(
        {
            "facility_id": ["A", "B", "C"],
            "occupancy": ["2000", "100", "5000"],
            "fire_rating": ["三级", "一级", "二级"],
            "exits": ["1", "5", "abc"],
        }
    )
    r = indicator.grade_facilities(fac, PARAMS).results
    assert r.loc["A", "score"] == pytest.approx(100.0) and r.loc["A", "rank"] == 4
    assert r.loc["B", "score"] == pytest.approx(2.5) and r.loc["B", "rank"] == 1
    assert r.loc["C", "rank"] == 0 and "exits(exits) 缺失或无法识别" in r.loc["C", "reason_zh"]
    assert "occupancy=2000→100" in r.loc["A", "reason_zh"]


def test_normalise_clips_and_reverses():
    s = indicator.normalise(pd.Series([-5.0, 0.0, 5.0, 10.0, 20.0]), 0, 10)
    assert s.tolist() == [0.0, 0.0, 50.0, 100.0, 100.0]
    assert indicator.normalise(pd.Series([0.0]), 0, 10, lower_worse=True).tolist() == [100.0]


def test_no_indicators_configured_grades_nothing():
    r = indicator.grade_facilities(pd.DataFrame({"facility_id": ["A"]}), IndicatorParams()).results
    assert r.loc["A", "rank"] == 0 and "no indicators configured" in r.loc["A", "reason_en"]


def test_bad_indicator_config():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"max \(1.0\) must be greater than min \(5.0\)"):
        IndicatorParams(indicators={"x": {"column": "x", "weight": 1, "min": 5, "max": 1}})
    with pytest.raises(ValidationError, match=r"breaks must decrease"):
        IndicatorParams(breaks={"red": 10, "orange": 50, "yellow": 25})


def test_breaks_are_inclusive():
    assert indicator.index_ranks(np.array([75.0, 50.0, 25.0, 0.0]), IndicatorParams()).tolist() == [
        4,
        3,
        2,
        1,
    ]
