from __future__ import annotations

import re

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

    with pytest.raises(ValidationError, match=r"max（1.0）须大于 min（5.0）"):
        IndicatorParams(indicators={"x": {"column": "x", "weight": 1, "min": 5, "max": 1}})
    with pytest.raises(ValidationError, match=r"breaks 须在 0..100 之内且从 red 到 yellow 递减"):
        IndicatorParams(breaks={"red": 10, "orange": 50, "yellow": 25})


def test_breaks_are_inclusive():
    assert indicator.index_ranks(np.array([75.0, 50.0, 25.0, 0.0]), IndicatorParams()).tolist() == [
        4,
        3,
        2,
        1,
    ]


OCCUPANCY = IndicatorParams(
    indicators={"occupancy": {"column": "occupancy", "weight": 1, "min": 0, "max": 10000}}
)
SHARE = IndicatorParams(indicators={"share": {"column": "share", "weight": 1, "min": 0, "max": 1}})


@pytest.mark.parametrize(
    ("cell", "value", "note"),
    [
        ("3000人", 3000.0, "'3000人'"),  # a unit after the number
        ("约2000", 2000.0, "'约2000'"),  # 约: approximately
        ("2000人左右", 2000.0, "'2000人左右'"),
        ("0.5万", 5000.0, "'0.5万'"),  # 万: ten thousand
        ("5,000", 5000.0, ""),  # a plain number needs no note
        ("５０００", 5000.0, ""),
        ("50%", 50.0, "'50%'"),  # percent points on a scale of 0..10000
    ],
)
def test_indicator_cells_are_read_as_quantities(cell, value, note):
    """3000人, 约2000, 5万, 50% dropped the indicator method in silence (issue 23): read, with a note."""
    r = indicator.grade_facilities(
        pd.DataFrame({"facility_id": ["A"], "occupancy": [cell]}), OCCUPANCY
    ).results
    assert r.loc["A", "score"] == pytest.approx(value / 100)
    assert r.loc["A", "rank"] > 0
    shown = f"occupancy={value:g}" + (f" ({note})" if note else "") + "→"
    assert shown in r.loc["A", "reason_zh"] and shown in r.loc["A", "reason_en"]


def test_percent_on_a_scale_of_0_to_1_is_a_fraction():
    r = indicator.grade_facilities(pd.DataFrame({"facility_id": ["A"], "share": ["50%"]}), SHARE).results
    assert r.loc["A", "score"] == pytest.approx(50.0)
    assert "share=0.5 ('50%')→50" in r.loc["A", "reason_zh"]


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("-300", r"'-300' is negative"),  # became 0 persons before
        ("1e400", r"'1e400' is not a finite number"),
        ("3000以上", r"'3000以上' is a bound \(以上\), not a value"),
        ("很多", r"'很多' is not a number"),
        ("2,5", r"'2,5': ambiguous decimal comma; write 2\.5"),
    ],
)
def test_unusable_indicator_cells_are_refused_with_the_reason(cell, why):
    """A negative occupancy became 0 (issue 23); every refused cell says why and counts as incomplete data."""
    fac = pd.DataFrame({"facility_id": ["A", "B"], "occupancy": [cell, ""]})
    res = indicator.grade_facilities(fac, OCCUPANCY)
    r = res.results
    assert r.loc["A", "rank"] == 0 and np.isnan(r.loc["A", "score"])
    assert re.search(r"occupancy \(occupancy\) missing or not understood: " + why, r.loc["A", "reason_en"])
    assert "occupancy(occupancy) 缺失或无法识别: " in r.loc["A", "reason_zh"]
    # A value given and refused is a data problem of the facility; an empty cell is only missing.
    assert res.unusable.to_dict() == {"A": 1}


def test_a_negative_value_is_read_where_the_scale_has_negatives():
    params = IndicatorParams(indicators={"t": {"column": "t", "weight": 1, "min": -40, "max": 60}})
    r = indicator.grade_facilities(pd.DataFrame({"facility_id": ["A"], "t": ["-15"]}), params).results
    assert r.loc["A", "score"] == pytest.approx(25.0)


def test_a_refused_indicator_cell_flags_a_facility_graded_by_another_method():
    """Not dropped in silence: the LS matrix grades the facility, which is marked as graded on incomplete data."""
    from riskmap.columns import DATA_ISSUES
    from riskmap.config import config_from_dict
    from riskmap.methods import ScoringInputs, score_facilities

    config = config_from_dict(
        {
            "facilities": {"path": "f.csv", "crs": "EPSG:4490"},
            "zones": [{"kind": "village", "path": "z.gpkg"}],
            "scoring": {"sectors": {"人员密集场所": ["indicator", "ls_matrix"]}},
            "methods": {"indicator": OCCUPANCY.model_dump()},
        }
    )
    fac = pd.DataFrame(
        {
            "facility_id": ["A", "B"],
            "name": ["甲", "乙"],
            "sector": "人员密集场所",
            "occupancy": ["-300", "约2000人"],
        }
    )
    points = pd.DataFrame({"facility_id": ["A", "B"], "likelihood": ["2", "2"], "severity": ["2", "2"]})
    scored, rejects = score_facilities(ScoringInputs(fac, {"risk_points": points}), config)
    out = scored.set_index("facility_id")
    assert rejects.empty
    assert out.loc["A", DATA_ISSUES] == 1 and out.loc["B", DATA_ISSUES] == 0
    assert out.loc["A", "reasons_en"].endswith("incomplete data: 1 register values not usable, see above")
    assert "'-300' is negative" in out.loc["A", "reasons_en"]
    assert "数据不完整: 1 个登记值无法使用" in out.loc["A", "reasons"]
    assert "occupancy=2000 ('约2000人')→20" in out.loc["B", "reasons"]
