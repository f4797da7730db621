from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
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


# -------------------------------------------------------------- caps, capacity, coverage memory, roster
from riskmap.supervision import read_history  # noqa: E402


def test_caps_by_grade_are_never_exceeded_and_say_so():
    fac = _facilities(["red"] * 4)
    fac["standardisation_grade"] = [1, 2, 0, 3]
    fac["sector"] = ["危险化学品", "工贸", "工贸", "工贸"]
    cfg = SupervisionConfig(
        caps=[
            {"sectors": ["危险化学品"], "by_grade": {"一级": 2, "二级": 4, "三级": 8, "none": 12}},
            {"by_grade": {"一级": 1, "二级": 2, "三级": 4, "none": 6}},
        ]
    )
    plan = plan_inspections(fac, cfg).plan.set_index("facility_id")
    assert plan["inspections_per_year"].tolist() == [2, 2, 4, 4]  # red floor 4, capped by grade
    assert (
        plan.loc["F00000", "plan_reason"]
        == "重大风险企业, 每年 4 次; 标准化一级企业检查上限每年 2 次, 压减至 2 次"
    )
    assert "压减" not in plan.loc["F00002", "plan_reason"]


def test_cap_below_floor_is_a_config_error():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match=r"caps_by_level.red = 2 is below the floor of 4"):
        SupervisionConfig(caps_by_level={"red": 2})
    with pytest.raises(ValidationError, match=r"greater than or equal to 0"):
        SupervisionConfig(capacity={"officers": -3})


def test_capacity_shortfall_is_reported_exactly_and_by_priority():
    # 1 officer x 248 days x 0.1 field share = 24.8 inspections a year (about 2 a month).
    levels = ["red"] * 10 + ["yellow"] * 20
    cfg = SupervisionConfig(year=2027, capacity={"officers": 1, "working_days": 248, "field_share": 0.1})
    p = plan_inspections(_facilities(levels), cfg)
    months = p.months
    assert months["capacity"].sum() <= 25
    assert months["planned"].sum() == 10 * 4 + 20
    assert (months["scheduled"] <= months["capacity"]).all()
    assert months["unscheduled"].sum() == 60 - months["scheduled"].sum()
    assert months["shortfall_officer_days"].sum() == months["unscheduled"].sum()  # 1 officer-day each
    assert any("检查力量在" in w and "个月内不足以完成计划" in w for w in p.warnings), p.warnings
    kept = p.inspections[p.inspections["scheduled"]]
    # Red (priority 1) before yellow: no yellow inspection is scheduled while a red one is not.
    assert (
        kept["priority"].max() == 1 or not (p.inspections[~p.inspections["scheduled"]]["priority"] == 1).any()
    )
    assert p.plan["unscheduled"].sum() == months["unscheduled"].sum()


def test_inspections_get_weekday_dates_and_towns_share_days():
    fac = _facilities(["yellow"] * 40, towns=["T1"] * 20 + ["T2"] * 20)
    cfg = SupervisionConfig(year=2027, capacity={"officers": 10, "working_days": 248, "field_share": 0.5})
    p = plan_inspections(fac, cfg)
    ins = p.inspections
    assert ins["scheduled"].all()
    dates = pd.to_datetime(ins["date"])
    assert (dates.dt.weekday < 5).all() and (dates.dt.year == 2027).all()
    assert (dates.dt.month == ins["month"]).all()
    # Within a month, a town's inspections are on consecutive days, not interleaved with the other town's.
    for _, month in ins.sort_values("date").groupby("month"):
        towns = month["town"].tolist()
        assert towns == sorted(towns)


def test_coverage_memory_draws_the_longest_uninspected_first():
    fac = _facilities(["blue"] * 100)
    ids = [f"F{i:05d}" for i in range(90)]
    history = read_history(
        [
            pd.DataFrame({"facility_id": ids, "year": 2026, "inspections_per_year": 1}),
            pd.DataFrame(
                {"facility_id": ids[:5], "year": 2024, "inspections_per_year": 0}
            ),  # reaches back to 2024
        ]
    )
    p = plan_inspections(fac, SupervisionConfig(year=2027), history=history).plan
    drawn = set(p.loc[p["drawn_by_lot"], "facility_id"])
    assert drawn == {f"F{i:05d}" for i in range(90, 100)}  # the 10 never inspected fill the 10 % quota
    assert p.loc[p["drawn_by_lot"], "cover_overdue"].all()
    assert "3 年内未检查, 优先抽取" in p.loc[p["drawn_by_lot"], "plan_reason"].iloc[0]


def test_roster_assigns_random_distinct_inspectors_to_drawn_enterprises():
    fac = _facilities(["blue"] * 50)
    roster = ["甲", "乙", "丙", "丁", "戊"]
    a = plan_inspections(fac, SupervisionConfig(year=2027), roster=roster).plan
    b = plan_inspections(fac, SupervisionConfig(year=2027), roster=roster).plan
    got = a.loc[a["drawn_by_lot"], "inspectors"]
    assert len(got) == 5 and got.str.split("、").map(len).eq(2).all()
    assert got.str.split("、").map(lambda x: len(set(x)) == 2).all()
    assert a["inspectors"].tolist() == b["inspectors"].tolist()
    assert (a.loc[~a["drawn_by_lot"], "inspectors"] == "").all()


def test_priority_holds_across_months_when_capacity_is_short():
    # Major hazards (priority 2) and ordinary orange enterprises (priority 3), both twice a year.
    fac = _facilities(["orange"] * 40)
    fac["gb18218_grade"] = [3] * 20 + [0] * 20
    cfg = SupervisionConfig(year=2027, capacity={"officers": 1, "working_days": 248, "field_share": 0.15})
    p = plan_inspections(fac, cfg)
    ins = p.inspections
    assert (~ins["scheduled"]).any()
    worst_kept = ins.loc[ins["scheduled"], "priority"].max()
    best_dropped = ins.loc[~ins["scheduled"], "priority"].min()
    assert worst_kept <= best_dropped, "a lower-priority inspection was kept while a higher one was dropped"
    # Quarterly/half-yearly spacing survives the swaps: each enterprise keeps at most one inspection per half.
    halves = (
        ins[ins["scheduled"]]
        .assign(half=lambda d: (d["month"] - 1) // 6)
        .groupby(["facility_id", "half"])
        .size()
    )
    assert halves.max() == 1


def test_a_short_history_does_not_make_everyone_overdue():
    history = read_history(
        [pd.DataFrame({"facility_id": ["F00000"], "year": 2026, "inspections_per_year": 1})]
    )
    p = plan_inspections(_facilities(["blue"] * 50), SupervisionConfig(year=2027), history=history).plan
    assert not p["cover_overdue"].any()


def test_no_inspection_on_public_holidays():
    import datetime

    fac = _facilities(["red"] * 60)
    spring = [datetime.date(2027, 2, d) for d in range(5, 12)]
    cfg = SupervisionConfig(year=2027, capacity={"officers": 20, "holidays": spring})
    dates = pd.to_datetime(plan_inspections(fac, cfg).inspections["date"]).dt.date
    fixed = {datetime.date(2027, 1, 1), *(datetime.date(2027, 5, d) for d in range(1, 6)),
             *(datetime.date(2027, 10, d) for d in range(1, 8))}  # fmt: skip
    assert not set(dates) & (fixed | set(spring))


def _window_of(month: int, n: int) -> int:
    """Which of n yearly windows month (1..12) is in: the k-th is months 12k//n + 1 .. 12(k+1)//n."""
    return sum(12 * k // n <= month - 1 for k in range(1, n))


_FREQUENCIES = st.sampled_from([0, 1, 2, 3, 4, 6, 12])


@settings(max_examples=40, deadline=None)
@given(
    levels=st.lists(st.sampled_from(["red", "orange", "yellow", "blue"]), min_size=1, max_size=60),
    frequencies=st.tuples(_FREQUENCIES, _FREQUENCIES, _FREQUENCIES, _FREQUENCIES),
    caps=st.fixed_dictionaries(
        {g: st.sampled_from([1, 2, 3, 4, 5, 6, 8, 12]) for g in ("一级", "二级", "none")}
    ),
    grades=st.lists(st.sampled_from([0, 1, 2]), min_size=60, max_size=60),
    majors=st.lists(st.booleans(), min_size=60, max_size=60),
    load_share=st.floats(0.0, 1.3),
)
# The cases of issue 14: monthly, and five a year (a cap of 5), with February short and other months with room.
@example(["red"] * 10, (12, 2, 1, 0), {"一级": 1, "二级": 2, "none": 12}, [0] * 60, [False] * 60, 1.0)
@example(["red"] * 24, (12, 2, 1, 0), {"一级": 1, "二级": 2, "none": 5}, [0] * 60, [False] * 60, 0.98)
def test_one_inspection_per_window_whatever_the_capacity(
    levels, frequencies, caps, grades, majors, load_share
):
    fac = _facilities(levels, towns=[f"T{i % 3}" for i in range(len(levels))])
    fac["standardisation_grade"] = grades[: len(levels)]
    fac["gb18218_grade"] = [3 if m else 0 for m in majors[: len(levels)]]
    frequency = dict(zip(["red", "orange", "yellow", "blue"], sorted(frequencies, reverse=True), strict=True))
    cfg = {"year": 2027, "frequency": frequency, "caps": [{"by_grade": caps}], "sampling": {"rates": {}}}
    # A capacity of load_share times the plan: short in some months only near 1 (February has fewer days).
    planned = plan_inspections(fac, SupervisionConfig(**cfg)).plan["inspections_per_year"].sum()
    days = 248 / max(load_share * planned, 1e-3)
    capacity = {"officers": 1, "field_share": 1.0, "inspector_days_per_inspection": days}
    p = plan_inspections(fac, SupervisionConfig(**cfg, capacity=capacity))
    ins, months = p.inspections, p.months
    n = p.plan.set_index("facility_id")["inspections_per_year"]
    # Every inspection, scheduled or not, lies in its own window: one per window, never two.
    windows = [_window_of(m, n[f]) for f, m in zip(ins["facility_id"], ins["month"], strict=True)]
    per_window = (
        pd.Series(1, index=pd.MultiIndex.from_arrays([ins["facility_id"], windows]))
        .groupby(level=[0, 1])
        .sum()
    )
    assert per_window.max() <= 1 if len(per_window) else True
    assert ins.groupby("facility_id").size().reindex(n.index, fill_value=0).tolist() == n.tolist()
    # Nothing lost: scheduled + shortfall = planned, per month and per enterprise.
    assert months["scheduled"].sum() + months["unscheduled"].sum() == months["planned"].sum() == n.sum()
    assert p.plan["unscheduled"].sum() == months["unscheduled"].sum() == (~ins["scheduled"]).sum()
    assert (months["scheduled"] <= months["capacity"]).all()
    # Priority: an inspection left out has no room anywhere in its window, and no lower-priority one holds it.
    kept = ins[ins["scheduled"]]
    full = set(months.loc[months["scheduled"] == months["capacity"], "month"])
    worst = kept.groupby("month")["priority"].max()
    for f, m, prio in ins.loc[~ins["scheduled"], ["facility_id", "month", "priority"]].itertuples(
        index=False
    ):
        k, nf = _window_of(m, n[f]), n[f]
        for w in range(12 * k // nf + 1, 12 * (k + 1) // nf + 1):
            assert w in full, f"{f}: inspection in month {m} left out while month {w} of its window has room"
            assert worst.get(w, 0) <= prio, f"{f}: month {w} holds a lower-priority inspection instead"


def test_monthly_inspections_stay_in_their_months_when_capacity_is_short():
    # Issue 14: with frequency 12 and capacity short in some months only (February has fewer working days),
    # a monthly inspection moved into another month with room: months 3,3,4,...,12,12.
    fac = _facilities(["red"] * 10)
    cfg = SupervisionConfig(
        year=2027,
        frequency={"red": 12, "orange": 2, "yellow": 1, "blue": 0},
        capacity={"officers": 1, "working_days": 248, "field_share": 0.5},
    )
    ins = plan_inspections(fac, cfg).inspections
    red = ins[ins["level"] == "red"]
    assert (~red["scheduled"]).any()  # capacity is short
    assert red.groupby("facility_id")["month"].apply(lambda m: sorted(m) == list(range(1, 13))).all()
