from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmap.config import SupervisionConfig
from riskmap.levels import Level
from riskmap.supervision import months_for, plan_inspections


def _facilities(levels, towns=None):
    n = len(levels)
    return pd.DataFrame(
        {
            "facility_id": [f"F{i:05d}" for i in range(n)],
            "name": [f"企业{i}" for i in range(n)],
            "sector": "工贸",
            "level": levels,
            "level_zh": [Level.parse(k).zh for k in levels],
            "town_code": towns if towns is not None else ["T1"] * n,
            "zone_code": "V1",
            "zone_name": "村",
        }
    )


def test_frequencies_per_level_and_even_spread():
    plan = plan_inspections(_facilities(["red", "orange", "yellow"]), SupervisionConfig(year=2027)).plan
    assert plan["inspections_per_year"].tolist() == [4, 2, 1]
    quarters = [int(m) for m in plan.loc[0, "months"].split(",")]
    assert len(quarters) == 4 and [((m - 1) // 3) for m in quarters] == [0, 1, 2, 3]
    halves = [int(m) for m in plan.loc[1, "months"].split(",")]
    assert halves[1] - halves[0] == 6


def test_months_for_examples():
    assert months_for(np.array([12, 3]), np.array([0, 3])) == ["1,2,3,4,5,6,7,8,9,10,11,12", "4,8,12"]


def test_draw_is_reproducible_stratified_and_seed_dependent():
    fac = _facilities(["blue"] * 300, towns=["T1"] * 200 + ["T2"] * 100)
    a = plan_inspections(fac, SupervisionConfig(year=2027), "329901")
    b = plan_inspections(fac.sample(frac=1, random_state=1), SupervisionConfig(year=2027), "329901")
    c = plan_inspections(fac, SupervisionConfig(year=2028), "329901")
    drawn = lambda p: set(p.plan.loc[p.plan["drawn_by_lot"], "facility_id"])  # noqa: E731
    assert a.seed == "2027-329901"
    assert drawn(a) == drawn(b)  # input order does not matter
    assert drawn(a) != drawn(c)
    assert len(drawn(a)) == 30
    by_town = a.plan[a.plan["drawn_by_lot"]].groupby("town_code").size().to_dict()
    assert by_town == {"T1": 20, "T2": 10}
    assert (a.plan.loc[a.plan["drawn_by_lot"], "inspections_per_year"] == 1).all()
    assert (a.plan.loc[~a.plan["drawn_by_lot"], "inspections_per_year"] == 0).all()
    assert "本年未抽中" in a.plan.loc[~a.plan["drawn_by_lot"], "plan_reason"].iloc[0]


def test_monthly_load_adds_up():
    p = plan_inspections(_facilities(["red"] * 7 + ["orange"] * 5 + ["yellow"] * 11), SupervisionConfig())
    assert p.monthly_load.sum() == 7 * 4 + 5 * 2 + 11
    assert p.monthly_load.max() - p.monthly_load.min() <= 3  # one per frequency group at most


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(["red", "orange", "yellow", "blue"]), min_size=1, max_size=40),
    st.integers(0, 39),
)
def test_raising_a_level_never_lowers_planned_inspections(levels, i):
    i = i % len(levels)
    before = plan_inspections(_facilities(levels), SupervisionConfig(sampling={"rates": {}}))
    raised = list(levels)
    raised[i] = Level(min(int(Level.parse(levels[i])) + 1, 4)).key
    after = plan_inspections(_facilities(raised), SupervisionConfig(sampling={"rates": {}}))
    assert after.plan.loc[i, "inspections_per_year"] >= before.plan.loc[i, "inspections_per_year"]


def test_bad_supervision_config_is_rejected():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"between 0 and 52"):
        SupervisionConfig(frequency={"red": -1, "orange": 2, "yellow": 1, "blue": 0})
