"""Dynamic adjustment: date parsing, event tables, each rule, the as-of boundaries, and monotonicity."""

from __future__ import annotations

import textwrap
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmap.adjust import apply_adjustments, parse_as_of, parse_dates, prepare_events, resolve_as_of
from riskmap.columns import ADJUSTMENTS, HD_MAJOR_OPEN, HD_OPEN, HD_OVERDUE, LEVEL_METHOD
from riskmap.config import AdjustmentConfig, config_from_dict, load_config
from riskmap.errors import ConfigError
from riskmap.i18n import language
from riskmap.io.tables import read_table
from riskmap.levels import Level
from riskmap.pipeline import check

AS_OF = date(2026, 11, 24)
HD_COLS = ["hazard_id", "facility_id", "grade", "found_date", "deadline", "closed_date"]
ACC_COLS = ["accident_id", "facility_id", "date", "class", "deaths"]


def facilities(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """(id, sector, level) rows, as score_facilities returns them."""
    df = pd.DataFrame(rows, columns=["facility_id", "sector", "level"])
    df["level_zh"] = df["level"].map(lambda k: Level.parse(k).zh)
    df["reasons"] = "LS: 方法等级"
    df["reasons_en"] = "LS: method level"
    return df


def table(name: str, rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    raw = pd.DataFrame([[str(v) for v in r] for r in rows], columns=columns)
    raw.insert(0, "_row", range(2, len(raw) + 2))
    clean, rejects = prepare_events(name, raw, f"{name}.csv")
    assert len(clean) + len(rejects) == len(raw)  # rows in = rows used + rows rejected
    return clean


def hd(*rows: tuple) -> pd.DataFrame:
    return table("hidden_dangers", list(rows), HD_COLS)


def accidents(*rows: tuple) -> pd.DataFrame:
    return table("accidents", list(rows), ACC_COLS)


def std(*rows: tuple) -> pd.DataFrame:
    return table("standardisation", list(rows), ["facility_id", "grade", "valid_until"])


def rules(*rules: dict) -> AdjustmentConfig:
    return AdjustmentConfig.model_validate({"rules": list(rules)})


def adjust(fac: pd.DataFrame, tables: dict, cfg: AdjustmentConfig, as_of: date = AS_OF) -> pd.DataFrame:
    return apply_adjustments(fac, tables, cfg, as_of).facilities.set_index("facility_id")


OPEN_MAJOR = {"when": {"condition": "open_major_hidden_danger"}, "raise_to": "red"}
OVERDUE = {
    "when": {"condition": "overdue_hidden_danger", "grade": "一般"},
    "raise_by": 1,
    "ceiling": "orange",
}
FATAL_12M = {"when": {"condition": "accident", "within_months": 12, "min_deaths": 1}, "raise_to": "red"}
STANDARD = {
    "when": {"condition": "standardisation", "grades": ["一级", "二级"]},
    "lower_by": 1,
    "floor": "yellow",
}


# ---------------------------------------------------------------------------------------------------------------
# dates


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-01",
        "2026/3/1",
        "2026/03/01",
        "2026年3月1日",
        "2026.3.1",
        "20260301",
        "46082",  # Excel serial number
        "46082.0",
        "2026-03-01 00:00:00",  # an XLSX date cell read as text
        "２０２６－０３－０１",  # full-width
        " 2026-3-1 ",
    ],
)
def test_parse_dates_common_forms(text: str):
    assert parse_dates(pd.Series([text])).iloc[0] == pd.Timestamp(2026, 3, 1)


@pytest.mark.parametrize("text", ["", "abc", "2026-02-30", "2026-13-01", "2026", "3/1/2026", "123", "99999"])
def test_parse_dates_rejects_the_rest(text: str):
    assert pd.isna(parse_dates(pd.Series([text])).iloc[0])


def test_as_of_precedence_and_errors():
    cfg = AdjustmentConfig(as_of=date(2026, 1, 1))
    assert resolve_as_of(None, cfg) == date(2026, 1, 1)
    assert resolve_as_of("2026年2月3日", cfg) == date(2026, 2, 3)
    assert resolve_as_of(None, AdjustmentConfig()) == date.today()
    with pytest.raises(ValueError, match="'yesterday' 不是日期；请写作 2026-03-01"):
        parse_as_of("yesterday")


def test_xlsx_datetime_cells(tmp_path: Path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HD_COLS)
    ws.append(["YH1", "A", "重大", datetime(2026, 3, 1), datetime(2026, 4, 1), None])
    ws.append(["YH2", "A", "一般", 46082, "2026/4/1", "2026年3月5日"])
    wb.save(tmp_path / "hd.xlsx")
    clean, rejects = prepare_events("hidden_dangers", read_table(tmp_path / "hd.xlsx"), "hd.xlsx")
    assert rejects.empty
    assert clean["found_date"].tolist() == [pd.Timestamp(2026, 3, 1)] * 2
    assert clean["closed_date"].isna().tolist() == [True, False]


# ---------------------------------------------------------------------------------------------------------------
# event tables: bad rows are rejects with reasons


def _rejects(name: str, rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    raw = pd.DataFrame([[str(v) for v in r] for r in rows], columns=columns)
    raw.insert(0, "_row", range(2, len(raw) + 2))
    clean, rejects = prepare_events(name, raw, f"{name}.csv")
    assert len(clean) + len(rejects) == len(raw)
    assert set(rejects["stage"]) <= {"validate"}
    return rejects


def test_hidden_danger_rejects():
    rej = _rejects(
        "hidden_dangers",
        [
            ("Y1", "A", "一般", "2026-03-01", "2026-04-01", ""),  # fine
            ("Y2", "A", "重大事故隐患", "2026/3/1", "", ""),  # fine: full grade name, no deadline
            ("Y3", "A", "特大", "2026-03-01", "", ""),
            ("Y4", "A", "一般", "", "", ""),
            ("Y5", "A", "一般", "2026-02-30", "", ""),
            ("Y6", "A", "一般", "2026-03-01", "2026-02-01", ""),
            ("Y7", "A", "一般", "2026-03-01", "", "2026-02-28"),
            ("Y8", "A", "一般", "2026-03-01", "soon", ""),
        ],
        HD_COLS,
    )
    by_row = dict(zip(rej["row"], rej["reason"], strict=True))
    assert sorted(by_row) == [4, 5, 6, 7, 8, 9]
    assert "unknown hidden-danger grade" in by_row[4]
    assert "found date is empty" in by_row[5]
    assert "found date is not a date" in by_row[6]
    assert "deadline is before the found date" in by_row[7]
    assert "closed date is before the found date" in by_row[8]
    assert "rectification deadline is not a date" in by_row[9]


def test_accident_rejects():
    rej = _rejects(
        "accidents",
        [
            ("S1", "A", "2026-03-01", "一般", ""),  # fine: empty deaths = 0
            ("S2", "A", "2026-03-01", "较大事故", "3"),  # fine
            ("S3", "A", "2026-03-01", "小", "0"),
            ("S4", "A", "2026-03-01", "一般", "-1"),
            ("S5", "A", "2026-03-01", "一般", "5"),  # 5 deaths make at least 较大
            ("S6", "A", "someday", "一般", "0"),
        ],
        ACC_COLS,
    )
    by_row = dict(zip(rej["row"], rej["reason"], strict=True))
    assert sorted(by_row) == [4, 5, 6, 7]
    assert "unknown accident class" in by_row[4]
    assert "whole number" in by_row[5]
    assert "at least a 较大 accident" in by_row[6]
    assert "accident date is not a date" in by_row[7]


def test_standardisation_rejects():
    rej = _rejects(
        "standardisation",
        [
            ("A", "二级", "2027-01-01"),
            ("B", "无", ""),  # no grade: fine without a date
            ("C", "安全生产标准化一级企业", "2027/1/1"),
            ("D", "四级", "2027-01-01"),
            ("E", "三级", ""),
            ("F", "三级", "2027-02-30"),
        ],
        ["facility_id", "grade", "valid_until"],
    )
    by_row = dict(zip(rej["row"], rej["reason"], strict=True))
    assert sorted(by_row) == [5, 6, 7]
    assert "unknown standardisation grade" in by_row[5]
    assert "needs its valid-until date" in by_row[6]
    assert "not a date" in by_row[7]


# ---------------------------------------------------------------------------------------------------------------
# each rule


def test_open_major_hidden_danger_raises_to_red_with_reason():
    fac = facilities(("A", "工贸", "blue"), ("B", "工贸", "blue"), ("C", "工贸", "blue"))
    events = {
        "hidden_dangers": hd(
            ("YH2026001", "A", "重大", "2026-03-01", "2026-12-01", ""),
            ("YH2026002", "B", "重大", "2026-03-01", "2026-12-01", "2026-06-01"),  # closed
            ("YH2026003", "C", "一般", "2026-03-01", "2026-12-01", ""),  # not major
        )
    }
    out = adjust(fac, events, rules(OPEN_MAJOR))
    assert out["level"].tolist() == ["red", "blue", "blue"]
    assert out.loc["A", LEVEL_METHOD] == "blue"
    assert out.loc["A", "level_zh"] == "重大风险"
    assert "动态调整: 存在未销号重大事故隐患 (YH2026001 2026-03-01发现) → 重大风险" in out.loc["A", "reasons"]
    assert out.loc["A", "reasons"].startswith("LS: 方法等级；")
    assert (
        "adjustment: open major hidden danger (YH2026001 found 2026-03-01) → Major risk"
        in (out.loc["A", "reasons_en"])
    )
    assert out.loc["A", ADJUSTMENTS] == "open_major_hidden_danger"
    assert out.loc["B", "reasons"] == "LS: 方法等级"
    assert out[[HD_OPEN, HD_OVERDUE, HD_MAJOR_OPEN]].loc["A"].tolist() == [1, 0, 1]
    assert out[[HD_OPEN, HD_OVERDUE, HD_MAJOR_OPEN]].loc["C"].tolist() == [1, 0, 0]


def test_open_major_can_be_orange_and_never_lowers():
    fac = facilities(("A", "工贸", "blue"), ("B", "工贸", "red"))
    events = {
        "hidden_dangers": hd(
            ("Y1", "A", "重大", "2026-03-01", "", ""), ("Y2", "B", "重大", "2026-03-01", "", "")
        )
    }
    out = adjust(fac, events, rules({**OPEN_MAJOR, "raise_to": "orange"}))
    assert out["level"].tolist() == ["orange", "red"]


@pytest.mark.parametrize(
    ("as_of", "found", "closed", "is_open"),
    [
        (date(2026, 3, 1), "2026-03-01", "", True),  # found that day: counts
        (date(2026, 2, 28), "2026-03-01", "", False),  # not yet found
        (date(2026, 6, 1), "2026-03-01", "2026-06-01", False),  # closed that day: closed
        (date(2026, 5, 31), "2026-03-01", "2026-06-01", True),  # closed later: still open then
    ],
)
def test_open_as_of_boundaries(as_of: date, found: str, closed: str, is_open: bool):
    fac = facilities(("A", "工贸", "blue"))
    out = adjust(
        fac, {"hidden_dangers": hd(("Y1", "A", "重大", found, "", closed))}, rules(OPEN_MAJOR), as_of
    )
    assert (out.loc["A", "level"] == "red") is is_open
    assert out.loc["A", HD_OPEN] == int(is_open)


@pytest.mark.parametrize(
    ("as_of", "overdue"),
    [(date(2026, 4, 1), False), (date(2026, 4, 2), True), (date(2026, 3, 31), False)],
    ids=["deadline day itself", "day after", "day before"],
)
def test_overdue_deadline_day_is_not_overdue(as_of: date, overdue: bool):
    fac = facilities(("A", "工贸", "yellow"))
    events = {"hidden_dangers": hd(("Y1", "A", "一般", "2026-03-01", "2026-04-01", ""))}
    out = adjust(fac, events, rules(OVERDUE), as_of)
    assert out.loc["A", "level"] == ("orange" if overdue else "yellow")
    assert out.loc["A", HD_OVERDUE] == int(overdue)


def test_overdue_ceiling_grade_min_count_and_min_days():
    fac = facilities(
        ("A", "工贸", "blue"), ("B", "工贸", "orange"), ("C", "工贸", "blue"), ("D", "工贸", "red")
    )
    events = {
        "hidden_dangers": hd(
            ("Y1", "A", "一般", "2026-03-01", "2026-04-01", ""),
            ("Y2", "B", "一般", "2026-03-01", "2026-04-01", ""),  # orange: ceiling orange keeps it orange
            ("Y3", "C", "重大", "2026-03-01", "2026-04-01", ""),  # grade 重大, rule is for 一般
            ("Y4", "D", "一般", "2026-03-01", "2026-04-01", ""),  # red stays red (ceiling never lowers)
        )
    }
    out = adjust(fac, events, rules(OVERDUE))
    assert out["level"].tolist() == ["yellow", "orange", "blue", "red"]
    two = rules({**OVERDUE, "when": {**OVERDUE["when"], "min_count": 2}})
    assert adjust(fac, events, two)["level"].tolist() == ["blue", "orange", "blue", "red"]
    late = rules({**OVERDUE, "when": {**OVERDUE["when"], "min_days": 30}})
    assert adjust(fac, events, late, date(2026, 4, 30))["level"].tolist()[0] == "blue"
    assert adjust(fac, events, late, date(2026, 5, 1))["level"].tolist()[0] == "yellow"


def test_open_hidden_danger_any_grade():
    fac = facilities(("A", "工贸", "blue"))
    events = {"hidden_dangers": hd(("Y1", "A", "一般", "2026-03-01", "", ""))}
    rule = {"when": {"condition": "open_hidden_danger"}, "raise_by": 2}
    out = adjust(fac, events, rules(rule))
    assert out.loc["A", "level"] == "orange"
    assert "存在未销号隐患" in out.loc["A", "reasons"]


@pytest.mark.parametrize(
    ("accident_day", "counted"),
    [
        ("2025-11-24", False),  # exactly 12 months before the as-of day: outside
        ("2025-11-25", True),  # the first day of the window
        ("2026-11-24", True),  # the as-of day itself
        ("2026-11-25", False),  # after the as-of day: not yet happened
    ],
)
def test_accident_window_boundaries(accident_day: str, counted: bool):
    fac = facilities(("A", "工贸", "blue"))
    out = adjust(fac, {"accidents": accidents(("S1", "A", accident_day, "一般", 1))}, rules(FATAL_12M))
    assert (out.loc["A", "level"] == "red") is counted


def test_accident_window_month_end():
    # 12 months before 2025-02-28 is 2024-02-28; 2024-02-29 is inside the window.
    fac = facilities(("A", "工贸", "blue"))
    acc = {"accidents": accidents(("S1", "A", "2024-02-29", "一般", 1))}
    assert adjust(fac, acc, rules(FATAL_12M), date(2025, 2, 28)).loc["A", "level"] == "red"
    assert adjust(fac, acc, rules(FATAL_12M), date(2025, 3, 1)).loc["A", "level"] == "blue"


def test_fatal_accident_needs_deaths():
    fac = facilities(("A", "工贸", "blue"), ("B", "工贸", "blue"))
    acc = {"accidents": accidents(("S1", "A", "2026-06-01", "一般", 0), ("S2", "B", "2026-06-01", "一般", 2))}
    out = adjust(fac, acc, rules(FATAL_12M))
    assert out["level"].tolist() == ["blue", "red"]
    assert "12个月内发生死亡事故 (S2 2026-06-01 一般 死亡2人) → 重大风险" in out.loc["B", "reasons"]


GUIDE_2018 = [
    {
        "when": {"condition": "accident", "classes": ["特别重大", "重大"], "within_months": 36},
        "raise_to": "red",
    },
    {
        "when": {"condition": "accident", "classes": ["较大"], "within_months": 36, "min_count": 2},
        "raise_to": "red",
    },
    {
        "when": {
            "condition": "accident",
            "classes": ["一般"],
            "within_months": 12,
            "min_deaths": 1,
            "min_count": 2,
        },
        "raise_to": "red",
    },
]


@pytest.mark.parametrize(
    ("rows", "red"),
    [
        ([("S1", "A", "2024-01-01", "重大", 10)], True),  # a 重大 accident within 3 years
        ([("S1", "A", "2023-11-24", "重大", 10)], False),  # exactly 3 years ago: outside
        ([("S1", "A", "2024-01-01", "较大", 3)], False),  # one 较大 is not enough
        ([("S1", "A", "2024-01-01", "较大", 3), ("S2", "A", "2026-01-01", "较大", 4)], True),
        ([("S1", "A", "2026-01-01", "一般", 1)], False),  # one fatal 一般
        ([("S1", "A", "2026-01-01", "一般", 1), ("S2", "A", "2026-05-01", "一般", 2)], True),
        (
            [("S1", "A", "2025-06-01", "一般", 1), ("S2", "A", "2026-05-01", "一般", 2)],
            False,
        ),  # > 1 year apart
        (
            [("S1", "A", "2026-01-01", "一般", 0), ("S2", "A", "2026-05-01", "一般", 2)],
            False,
        ),  # one not fatal
    ],
)
def test_guide_2018_automatic_red(rows: list[tuple], red: bool):
    fac = facilities(("A", "危险化学品", "blue"))
    assert (
        adjust(fac, {"accidents": accidents(*rows)}, rules(*GUIDE_2018)).loc["A", "level"] == "red"
    ) is red


def test_standardisation_lowers_with_floor_and_validity():
    fac = facilities(
        ("A", "工贸", "red"),
        ("B", "工贸", "orange"),
        ("C", "工贸", "yellow"),  # at the floor: stays
        ("D", "工贸", "blue"),  # below the floor: never raised by a lowering rule
        ("E", "工贸", "orange"),  # expired
        ("F", "工贸", "orange"),  # 三级 does not count
        ("G", "工贸", "orange"),  # valid until the as-of day itself: counts
    )
    events = {
        "standardisation": std(
            ("A", "一级", "2027-01-01"),
            ("B", "二级", "2027-01-01"),
            ("C", "二级", "2027-01-01"),
            ("D", "二级", "2027-01-01"),
            ("E", "二级", "2026-11-23"),
            ("F", "三级", "2027-01-01"),
            ("G", "二级", "2026-11-24"),
        )
    }
    out = adjust(fac, events, rules(STANDARD))
    assert out["level"].tolist() == ["orange", "yellow", "yellow", "blue", "orange", "orange", "yellow"]
    assert "安全生产标准化达标 (二级, 有效期至2027-01-01) → 一般风险" in out.loc["B", "reasons"]
    assert (
        "valid safety standardisation grade (grade 2, valid until 2027-01-01) → "
        in out.loc["B", "reasons_en"]
    )


def test_lowering_applies_before_raising_and_rules_do_not_stack():
    fac = facilities(("A", "工贸", "orange"), ("B", "工贸", "yellow"))
    events = {
        "standardisation": std(("A", "一级", "2027-01-01"), ("B", "一级", "2027-01-01")),
        "hidden_dangers": hd(
            ("Y1", "A", "重大", "2026-03-01", "", ""),
            ("Y2", "B", "一般", "2026-03-01", "2026-04-01", ""),
            ("Y3", "B", "一般", "2026-03-01", "2026-04-01", ""),
        ),
    }
    cfg = rules(
        OPEN_MAJOR,
        {"name": "overdue_a", **OVERDUE, "ceiling": None},
        {"name": "overdue_b", **OVERDUE, "ceiling": None},
        {**STANDARD, "floor": None},
    )
    result = apply_adjustments(fac, events, cfg, AS_OF)
    out = result.facilities.set_index("facility_id")
    # A: orange -> yellow (standardisation) -> red (open major); a grade never cancels an automatic red.
    assert out.loc["A", "level"] == "red"
    # B: yellow -> blue (standardisation) -> yellow: two raise_by rules propose yellow; they do not stack.
    assert out.loc["B", "level"] == "yellow"
    reasons = out.loc["A", "reasons"].split("；")
    assert reasons[1].startswith("动态调整: 安全生产标准化达标") and reasons[2].startswith(
        "动态调整: 存在未销号"
    )
    assert result.rules["standardisation"] == {"applied": 2, "moved": 2}
    assert result.rules["open_major_hidden_danger"] == {"applied": 1, "moved": 1}
    assert (result.up, result.down) == (1, 0)


def test_sector_scope():
    fac = facilities(("A", "工贸", "orange"), ("B", "危险化学品", "orange"))
    events = {"standardisation": std(("A", "一级", "2027-01-01"), ("B", "一级", "2027-01-01"))}
    out = adjust(fac, events, rules({**STANDARD, "sectors": ["工贸"]}))
    assert out["level"].tolist() == ["yellow", "orange"]


def test_no_rules_keeps_levels_and_adds_columns():
    fac = facilities(("A", "工贸", "orange"))
    out = adjust(fac, {}, AdjustmentConfig())
    assert out.loc["A", "level"] == out.loc["A", LEVEL_METHOD] == "orange"
    assert out.loc["A", ADJUSTMENTS] == ""
    assert HD_OPEN not in out.columns  # no hidden-danger table: no statistics, rather than misleading zeros


def test_rejected_event_rows_flag_the_facility():
    fac = facilities(("A", "工贸", "orange"), ("B", "工贸", "orange"))
    out = apply_adjustments(fac, {}, AdjustmentConfig(), AS_OF, rejected=pd.Series({"A": 2})).facilities
    assert "动态调整数据不完整: 2 条" in out.loc[0, "reasons"]
    assert out.loc[1, "reasons"] == "LS: 方法等级"


# ---------------------------------------------------------------------------------------------------------------
# properties: closing a hidden danger never raises a level; adding an accident never lowers one

ALL_RULES = rules(
    OPEN_MAJOR,
    OVERDUE,
    {"when": {"condition": "open_hidden_danger", "min_count": 2}, "raise_by": 1},
    FATAL_12M,
    *GUIDE_2018,
    STANDARD,
    {"when": {"condition": "standardisation"}, "lower_to": "yellow", "sectors": ["工贸"]},
)
LEVELS = st.sampled_from(["red", "orange", "yellow", "blue"])
DAY = st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 6, 30))
HD_ROW = st.tuples(st.sampled_from("AB"), st.sampled_from(["一般", "重大"]), DAY, st.integers(0, 120))
ACC_ROW = st.tuples(
    st.sampled_from("AB"), DAY, st.sampled_from(["一般", "较大", "重大", "特别重大"]), st.integers(0, 40)
)


def _hd_rows(rows: list[tuple], closed: list[date | None]) -> pd.DataFrame:
    return hd(
        *[
            (f"Y{i}", f, g, found.isoformat(), (found + timedelta(days=d)).isoformat(), c or "")
            for i, ((f, g, found, d), c) in enumerate(
                zip(rows, [c.isoformat() if c else None for c in closed], strict=True)
            )
        ]
    )


def _acc_rows(rows: list[tuple]) -> pd.DataFrame:
    legal = {"一般": (0, 2), "较大": (3, 9), "重大": (10, 29), "特别重大": (30, 40)}
    fixed = [(f, day, c, min(max(n, legal[c][0]), legal[c][1])) for f, day, c, n in rows]
    return accidents(*[(f"S{i}", f, day.isoformat(), c, n) for i, (f, day, c, n) in enumerate(fixed)])


EMPTY = {"hidden_dangers": hd(), "accidents": accidents(), "standardisation": std()}


def _final(fac: pd.DataFrame, events: dict, as_of: date) -> list[int]:
    out = apply_adjustments(fac, {**EMPTY, **events}, ALL_RULES, as_of).facilities
    return [int(Level.parse(k)) for k in out["level"]]


@settings(max_examples=40, deadline=None)
@given(
    levels=st.tuples(LEVELS, LEVELS),
    rows=st.lists(HD_ROW, min_size=1, max_size=6),
    accs=st.lists(ACC_ROW, max_size=3),
    which=st.integers(0, 5),
    as_of=DAY,
    close_after=st.integers(0, 200),
)
def test_closing_a_hidden_danger_never_raises(levels, rows, accs, which, as_of, close_after):
    fac = facilities(("A", "工贸", levels[0]), ("B", "危险化学品", levels[1]))
    which %= len(rows)
    closed: list[date | None] = [None] * len(rows)
    before = _final(fac, {"hidden_dangers": _hd_rows(rows, closed), "accidents": _acc_rows(accs)}, as_of)
    closed[which] = rows[which][2] + timedelta(days=close_after)
    after = _final(fac, {"hidden_dangers": _hd_rows(rows, closed), "accidents": _acc_rows(accs)}, as_of)
    assert all(a <= b for a, b in zip(after, before, strict=True))


@settings(max_examples=40, deadline=None)
@given(
    levels=st.tuples(LEVELS, LEVELS),
    accs=st.lists(ACC_ROW, max_size=4),
    extra=ACC_ROW,
    grades=st.tuples(st.sampled_from(["一级", "二级", "三级", "无"]), DAY),
    as_of=DAY,
)
def test_adding_an_accident_never_lowers(levels, accs, extra, grades, as_of):
    fac = facilities(("A", "工贸", levels[0]), ("B", "危险化学品", levels[1]))
    standard = std(("A", grades[0], grades[1].isoformat()), ("B", grades[0], grades[1].isoformat()))
    before = _final(fac, {"accidents": _acc_rows(accs), "standardisation": standard}, as_of)
    after = _final(fac, {"accidents": _acc_rows([*accs, extra]), "standardisation": standard}, as_of)
    assert all(a >= b for a, b in zip(after, before, strict=True))


# ---------------------------------------------------------------------------------------------------------------
# config errors

BASE = {
    "facilities": {"path": "f.csv", "crs": "EPSG:4490"},
    "zones": [{"kind": "village", "path": "b.gpkg"}],
    "scoring": {"sectors": {"工贸": ["ls_matrix"], "危险化学品": ["gb18218"]}},
    "hidden_dangers": {"path": "hd.csv"},
    "accidents": {"path": "acc.csv"},
}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            {"when": {"condition": "open_major_hazard"}, "raise_to": "red"},
            r"unknown condition 'open_major_hazard'; did you mean 'open_major_hidden_danger'\? \(valid: "
            r"open_major_hidden_danger, open_hidden_danger, overdue_hidden_danger, accident, standardisation\)",
        ),
        ({"when": {"grade": "一般"}, "raise_to": "red"}, "needs condition = one of open_major_hidden_danger"),
        (
            {"when": {"condition": "accident", "within_month": 12}, "raise_to": "red"},
            "unknown key 'within_month' for condition 'accident'; did you mean 'within_months'",
        ),
        (
            {"when": {"condition": "accident", "classes": ["大"]}, "raise_to": "red"},
            "classes.0: Input should be",
        ),
        ({"when": {"condition": "accident"}, "raise_to": "purple"}, r"raise_to: Input should be 'red'"),
        (
            {"when": {"condition": "accident"}, "raise_to": "red", "sectors": ["危险化学"]},
            "did you mean '危险化学品'",
        ),
        ({"when": {"condition": "accident"}}, "needs exactly one effect"),
        ({"when": {"condition": "accident"}, "raise_to": "red", "raise_by": 1}, "needs exactly one effect"),
        ({"when": {"condition": "accident"}, "lower_by": 1}, "an adverse event can only raise"),
        ({"when": {"condition": "accident"}, "raise_to": "red", "floor": "blue"}, "floor goes with lower_by"),
        (
            {"when": {"condition": "standardisation"}, "lower_by": 1},
            r"reads the \[standardisation\] table; add \[standardisation\] path",
        ),
    ],
)
def test_rule_config_errors(rule: dict, message: str):
    with pytest.raises(ConfigError, match=message):
        config_from_dict({**BASE, "adjustment": {"rules": [rule]}})


def test_rule_names_default_and_unique():
    cfg = config_from_dict(
        {**BASE, "adjustment": {"rules": [OPEN_MAJOR, OPEN_MAJOR, {**FATAL_12M, "name": "fatal"}]}}
    )
    assert [n for n, _ in cfg.adjustment.named_rules()] == [
        "open_major_hidden_danger",
        "open_major_hidden_danger_2",
        "fatal",
    ]
    with pytest.raises(ConfigError, match="each rule needs its own name"):
        config_from_dict(
            {**BASE, "adjustment": {"rules": [{**OPEN_MAJOR, "name": "x"}, {**FATAL_12M, "name": "x"}]}}
        )


def test_toml_date_and_schema():
    cfg = config_from_dict({**BASE, "adjustment": {"as_of": date(2026, 3, 1), "rules": [OPEN_MAJOR]}})
    assert cfg.adjustment.as_of == date(2026, 3, 1)
    from riskmap.config import json_schema

    assert "adjustment" in json_schema()["properties"]


# ---------------------------------------------------------------------------------------------------------------
# in the pipeline, on the tiny district

RULES_TOML = """
[hidden_dangers]
path = "hidden_dangers.csv"

[accidents]
path = "accidents.csv"

[adjustment]
as_of = 2026-11-24

[[adjustment.rules]]
when = { condition = "open_major_hidden_danger" }
raise_to = "red"

[[adjustment.rules]]
when = { condition = "accident", within_months = 12, min_deaths = 1 }
raise_to = "orange"
"""


@pytest.fixture
def adjusted_project(tiny_project: Path) -> Path:
    from conftest import IDS

    d = tiny_project.parent
    pd.DataFrame(
        [
            ("YH1", IDS["E"], "重大", "2026-03-01", "2026-06-01", ""),  # E (blue) -> red
            ("YH2", IDS["E"], "一般", "2026/3/1", "2026/4/1", ""),  # overdue
            ("YH3", IDS["F"], "一般", "2026年3月1日", "2026-12-01", ""),
            ("YH4", "91329901MA99999999", "重大", "2026-03-01", "", ""),  # unknown facility: a reject
            ("YH5", IDS["F"], "一般", "2026-02-30", "", ""),  # bad date: a reject
        ],
        columns=HD_COLS,
    ).to_csv(d / "hidden_dangers.csv", index=False)
    pd.DataFrame([("S1", IDS["F"], "2026-05-01", "一般", "1")], columns=ACC_COLS).to_csv(
        d / "accidents.csv", index=False
    )
    text = tiny_project.read_text(encoding="utf-8").replace("[[zones]]", RULES_TOML + "\n[[zones]]", 1)
    tiny_project.write_text(text, encoding="utf-8")
    return tiny_project


def test_pipeline_adjusts_and_counts_rows(adjusted_project: Path):
    from conftest import IDS

    result = check(load_config(adjusted_project))
    fac = result.facilities.set_index("facility_id")
    assert fac.loc[IDS["E"], ["level_method", "level"]].tolist() == ["blue", "red"]
    assert fac.loc[IDS["F"], ["level_method", "level"]].tolist() == ["yellow", "orange"]
    assert fac.loc[IDS["E"], ["hd_open", "hd_overdue", "hd_major_open"]].tolist() == [2, 2, 1]
    assert "数据不完整" in fac.loc[IDS["F"], "reasons"]  # its bad-date row was rejected
    hd_rejects = result.rejects[result.rejects["source"] == "hidden_dangers.csv"]
    assert sorted(hd_rejects["row"]) == [5, 6]  # rows in 5 = used 3 + rejected 2
    assert "no facility with this id" in hd_rejects.iloc[0]["reason"]
    village = result.zones["village"].set_index("zone_code")
    assert village["hd_open"].sum() == 3 and result.zones["town"]["hd_major_open"].sum() == 1
    s = result.summary
    assert s["as_of"] == "2026-11-24"
    assert s["adjustment"]["rules"]["open_major_hidden_danger"] == {"applied": 1, "moved": 1}
    assert s["adjustment"]["up"] == 2
    assert any("hidden-danger, accident or standardisation rows were rejected" in w for w in result.warnings)


def test_pipeline_as_of_argument_overrides_config(adjusted_project: Path):
    from conftest import IDS

    result = check(load_config(adjusted_project), as_of=date(2026, 2, 1))  # before every record
    fac = result.facilities.set_index("facility_id")
    assert (fac["level"] == fac["level_method"]).all()
    assert fac.loc[IDS["E"], "hd_open"] == 0
    assert result.summary["as_of"] == "2026-02-01"


def test_config_without_tables_has_a_clear_error(tiny_project: Path):
    text = tiny_project.read_text(encoding="utf-8") + textwrap.dedent(
        """
        [[adjustment.rules]]
        when = { condition = "accident" }
        raise_to = "red"
        """
    )
    tiny_project.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"reads the \[accidents\] table"):
        load_config(tiny_project)


def test_evidence_names_the_first_three_records_by_date_and_counts_the_rest():
    fac = facilities(("A", "工贸", "yellow"), ("B", "工贸", "yellow"))
    found = ["2026-05-01", "2026-01-01", "2026-03-01", "2026-02-01", "2026-04-01"]
    table_ = hd(
        *((f"H{i}", "A", "重大", day, "", "") for i, day in enumerate(found)),
        ("H9", "B", "重大", "2026-06-01", "", ""),
    )
    out = adjust(fac, {"hidden_dangers": table_}, rules(OPEN_MAJOR))
    assert "(H1 2026-01-01发现、H3 2026-02-01发现、H2 2026-03-01发现 等5项)" in out.loc["A", "reasons"]
    assert (
        "(H1 found 2026-01-01, H3 found 2026-02-01, H2 found 2026-03-01 and 2 more)"
        in out.loc["A", "reasons_en"]
    )
    assert "(H9 2026-06-01发现)" in out.loc["B", "reasons"]
    assert out.loc["A", HD_MAJOR_OPEN] == 5 and out.loc["B", HD_MAJOR_OPEN] == 1


def test_dates_repeated_and_in_many_forms_parse_like_single_ones():
    forms = [
        "2026-03-01",
        "2026/3/1",
        "2026年3月1日",
        "46082",
        "20260301",
        "２０２６-03-01",
        "",
        "2026-02-30",
    ]
    values = pd.Series(forms * 3 + [None], dtype="str")
    one_by_one = pd.concat([parse_dates(pd.Series([v], dtype="str")) for v in values], ignore_index=True)
    pd.testing.assert_series_equal(parse_dates(values), one_by_one)


def test_an_accident_listed_twice_counts_once(tiny_project: Path):
    """Two 较大 accidents within 3 years make an enterprise red (2018 guide); one listed twice made a blue
    enterprise red (issue 23). The copy is rejected naming the first row, and the enterprise stays blue."""
    from conftest import IDS

    d = tiny_project.parent
    pd.DataFrame(
        [("SG-7", IDS["E"], "2026-05-01", "较大", "3"), ("SG-7", IDS["E"], "2026/5/1", "较大", "3")],
        columns=ACC_COLS,
    ).to_csv(d / "accidents.csv", index=False)
    rule = (
        '[accidents]\npath = "accidents.csv"\n\n[adjustment]\nas_of = 2026-11-24\n\n[[adjustment.rules]]\n'
        'when = { condition = "accident", within_months = 36, classes = ["较大"], min_count = 2 }\n'
        'raise_to = "red"\n'
    )
    tiny_project.write_text(
        tiny_project.read_text(encoding="utf-8").replace("[[zones]]", rule + "\n[[zones]]", 1),
        encoding="utf-8",
    )
    result = check(load_config(tiny_project))
    fac = result.facilities.set_index("facility_id")
    assert fac.loc[IDS["E"], ["level_method", "level"]].tolist() == ["blue", "blue"]
    assert "数据不完整" not in fac.loc[IDS["E"], "reasons"]  # the record was used, once
    acc = result.rejects[result.rejects["source"] == "accidents.csv"]
    assert acc[["row", "field", "reason"]].values.tolist() == [
        [3, "accident_id", "duplicate accident_id for the same facility; first seen at row 2 (counted once)"]
    ]
    assert any(
        w.startswith("1 rows of related tables repeat an earlier row (accidents.csv: 1)")
        for w in result.warnings
    )
    assert not any("accident or standardisation rows were rejected" in w for w in result.warnings)


# ---------------------------------------------------------------------------------------------------------------
# the as-of date against the plan year and the records' span


def test_as_of_after_the_plan_year_is_a_warning():
    from riskmap.adjust import as_of_warnings

    assert as_of_warnings(date(2027, 12, 31), {}, 2027) == []
    w = as_of_warnings(date(2028, 1, 1), {}, 2027, given="--as-of")
    assert len(w) == 1
    assert "数据截至日期 2028-01-01（--as-of） 晚于计划年度 2027（supervision.year）" in w[0]
    with language("en"):
        w = as_of_warnings(date(2028, 1, 1), {}, 2027, given="--as-of")
    assert "the as-of date 2028-01-01 (--as-of) is after the plan year 2027 (supervision.year)" in w[0]


def test_as_of_before_every_record_is_a_warning():
    from riskmap.adjust import as_of_warnings

    events = {
        "hidden_dangers": hd(("Y1", "A", "一般", "2026-03-01", "", "")),
        "accidents": accidents(("S1", "A", "2026-02-01", "一般", "0")),
    }
    assert as_of_warnings(date(2026, 2, 1), events, 2027) == []  # the earliest record's own day counts
    w = as_of_warnings(date(2026, 1, 31), events, 2027, {"accidents": "accidents.csv"})
    assert len(w) == 1 and "早于所有带日期的记录（最早的：accidents.csv date 2026-02-01）" in w[0]


def test_as_of_long_after_the_latest_hidden_danger_is_a_warning():
    from riskmap.adjust import STALE_AFTER_DAYS, as_of_warnings

    events = {"hidden_dangers": hd(("Y1", "A", "一般", "2025-03-01", "", "2025-04-01"))}
    assert STALE_AFTER_DAYS == 365
    assert as_of_warnings(date(2026, 4, 1), events, 2027) == []  # 365 days after the closing
    w = as_of_warnings(date(2026, 4, 2), events, 2027, {"hidden_dangers": "hd.csv"})
    assert len(w) == 1
    assert "比最近一条隐患记录（hd.csv closed_date 2025-04-01）晚 366 天" in w[0]
    # A quiet year is normal for accidents: an old accident alone says nothing about the tables.
    old = {"accidents": accidents(("S1", "A", "2020-01-01", "一般", "0"))}
    assert as_of_warnings(date(2026, 11, 24), old, 2027) == []


def test_every_standardisation_grade_expired_is_a_warning():
    from riskmap.adjust import as_of_warnings

    events = {"standardisation": std(("A", "二级", "2026-06-30"), ("B", "无", ""))}
    assert as_of_warnings(date(2026, 6, 30), events, 2027) == []  # valid through its last day
    w = as_of_warnings(date(2026, 7, 1), events, 2027, {"standardisation": "std.csv"})
    assert len(w) == 1 and w[0].startswith("std.csv 中的每个标准化等级到数据截至日期 2026-07-01 时均已过期")


def test_check_warns_about_the_as_of_date(tiny_project: Path):
    result = check(load_config(tiny_project), as_of="2029-01-05")
    assert any("2029-01-05（--as-of） 晚于计划年度 2027" in w for w in result.warnings), result.warnings
    assert not any("数据截至日期" in w for w in check(load_config(tiny_project), as_of="2026-11-24").warnings)


# ---------------------------------------------------------------------------------------------------------------
# hidden-danger status (整改状态): a ledger says "rectified" in a column, often without a closed date

HD_STATUS_COLS = [*HD_COLS, "status"]


def hd_status(*rows: tuple, status_values: dict[str, str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.DataFrame([[str(v) for v in r] for r in rows], columns=HD_STATUS_COLS)
    raw.insert(0, "_row", range(2, len(raw) + 2))
    clean, rejects = prepare_events("hidden_dangers", raw, "hd.csv", status_values=status_values)
    assert len(clean) + len(rejects) == len(raw)  # rows in = rows used + rows rejected
    return clean, rejects


@pytest.mark.parametrize("status", ["已整改", "已销号", "完成", "已完成", "整改完成", "销号", " 已整改 "])
def test_a_closed_status_without_a_date_closes_the_hidden_danger(status: str):
    fac = facilities(("A", "工贸", "blue"))
    clean, rejects = hd_status(("Y1", "A", "重大", "2026-03-01", "2026-04-01", "", status))
    assert rejects.empty
    out = adjust(fac, {"hidden_dangers": clean}, rules(OPEN_MAJOR, OVERDUE))
    assert out.loc["A", "level"] == "blue"
    assert out.loc["A", [HD_OPEN, HD_OVERDUE, HD_MAJOR_OPEN]].tolist() == [0, 0, 0]


@pytest.mark.parametrize("status", ["未整改", "整改中", "正在整改", "逾期", "逾期未整改", ""])
def test_an_open_or_empty_status_leaves_the_hidden_danger_open(status: str):
    fac = facilities(("A", "工贸", "blue"))
    clean, rejects = hd_status(("Y1", "A", "重大", "2026-03-01", "2026-04-01", "", status))
    assert rejects.empty
    assert adjust(fac, {"hidden_dangers": clean}, rules(OPEN_MAJOR)).loc["A", "level"] == "red"


def test_status_and_closed_date_together():
    """The date says when; an open status wins over a closed date (the ledger says it is not rectified)."""
    fac = facilities(*((k, "工贸", "blue") for k in "ABCDE"))
    clean, _ = hd_status(
        ("Y1", "A", "重大", "2026-03-01", "", "2026-05-01", "已整改"),  # closed, and when
        (
            "Y2",
            "B",
            "重大",
            "2026-03-01",
            "",
            "2026-12-01",
            "已整改",
        ),  # closed after the as-of date: open then
        ("Y3", "C", "重大", "2026-03-01", "", "2026-05-01", "未整改"),  # contradiction: open
        ("Y4", "D", "重大", "2026-03-01", "", "2026-05-01", ""),  # no status: the date decides
        ("Y5", "E", "重大", "2026-03-01", "", "", "已销号"),  # closed by its status, date unknown
    )
    out = adjust(fac, {"hidden_dangers": clean}, rules(OPEN_MAJOR))
    assert out["level"].tolist() == ["blue", "red", "red", "blue", "blue"]


def test_an_unknown_status_is_rejected_with_the_accepted_spellings():
    _, rejects = hd_status(
        ("Y1", "A", "一般", "2026-03-01", "", "", "已整改"),
        ("Y2", "A", "一般", "2026-03-01", "", "", "待定"),
    )
    assert rejects["row"].tolist() == [3] and rejects["field"].tolist() == ["status"]
    assert rejects["value"].tolist() == ["待定"]
    reason = rejects["reason"].iloc[0]
    assert "unknown rectification status" in reason
    assert "已整改" in reason and "未整改" in reason and "status_values" in reason


def test_status_values_extend_and_override_the_shipped_spellings():
    fac = facilities(("A", "工贸", "blue"), ("B", "工贸", "blue"))
    clean, rejects = hd_status(
        ("Y1", "A", "重大", "2026-03-01", "", "", "验收通过"),
        ("Y2", "B", "重大", "2026-03-01", "", "", "完成"),
        status_values={"验收通过": "closed", "完成": "open"},
    )
    assert rejects.empty
    assert adjust(fac, {"hidden_dangers": clean}, rules(OPEN_MAJOR))["level"].tolist() == ["blue", "red"]


def test_ledger_of_rectified_dangers_without_dates_raises_nobody():
    """An office's ledger: 118 rectified dangers without a date over 59 enterprises, 4 of them 重大. Read by the
    closed date alone they kept the 59 one level too high (overdue) and made 4 red; by their status, none moves."""
    ids = [f"E{i:02d}" for i in range(59)]
    fac = facilities(*((i, "工贸", "blue") for i in ids))
    rows = []
    for n, i in enumerate(ids):
        rows.append((f"Y{n}a", i, "重大" if n < 4 else "一般", "2026-02-01", "2026-03-01", "", "已整改"))
        rows.append((f"Y{n}b", i, "一般", "2026-04-01", "2026-05-01", "", "整改完成"))
    clean, rejects = hd_status(*rows)
    assert rejects.empty and len(clean) == 118
    out = adjust(fac, {"hidden_dangers": clean}, rules(OPEN_MAJOR, OVERDUE))
    assert (out["level"] == "blue").all()
    # The same ledger without its status column: what the closed date alone said.
    blind = hd(*(r[:-1] for r in rows))
    levels = adjust(fac, {"hidden_dangers": blind}, rules(OPEN_MAJOR, OVERDUE))["level"]
    assert (levels == "red").sum() == 4 and (levels == "yellow").sum() == 55


def test_status_warnings_count_closed_without_date_and_contradictions():
    from riskmap.adjust import event_warnings

    clean, _ = hd_status(
        ("Y1", "A", "一般", "2026-03-01", "", "", "已整改"),
        ("Y2", "A", "一般", "2026-03-01", "", "", "已销号"),
        ("Y3", "A", "一般", "2026-03-01", "", "2026-04-01", "未整改"),
        ("Y4", "A", "一般", "2026-03-01", "", "2026-04-01", "已整改"),
    )
    w = event_warnings({"hidden_dangers": clean}, {"hidden_dangers": "hd.csv"})
    assert len(w) == 2, w
    assert w[0].startswith("hd.csv：2 条隐患按状态已销号（已整改") and "没有销号日期" in w[0]
    assert w[1].startswith("hd.csv：1 条隐患状态为未整改（未整改") and "按未整改计" in w[1]
    with language("en"):
        w = event_warnings({"hidden_dangers": clean}, {"hidden_dangers": "hd.csv"})
    assert (
        w[0].startswith("hd.csv: 2 hidden dangers are closed by their status (已整改") and "no closed" in w[0]
    )
    assert w[1].startswith("hd.csv: 1 hidden danger has an open status (未整改") and "counted open" in w[1]
    assert event_warnings({"hidden_dangers": hd(("Y1", "A", "一般", "2026-03-01", "", ""))}, {}) == []


@settings(max_examples=40, deadline=None)
@given(
    levels=st.tuples(LEVELS, LEVELS),
    rows=st.lists(HD_ROW, min_size=1, max_size=6),
    statuses=st.lists(st.sampled_from(["", "未整改", "逾期", "已整改"]), min_size=6, max_size=6),
    which=st.integers(0, 5),
    as_of=DAY,
)
def test_marking_a_hidden_danger_rectified_never_raises(levels, rows, statuses, which, as_of):
    fac = facilities(("A", "工贸", levels[0]), ("B", "危险化学品", levels[1]))
    which %= len(rows)

    def final(status: list[str]) -> list[int]:
        table = [
            (f"Y{i}", f, g, found.isoformat(), (found + timedelta(days=d)).isoformat(), "", s)
            for i, ((f, g, found, d), s) in enumerate(zip(rows, status, strict=False))
        ]
        return _final(fac, {"hidden_dangers": hd_status(*table)[0]}, as_of)

    before = final(statuses)
    after = final([*statuses[:which], "已整改", *statuses[which + 1 :]])
    assert all(a <= b for a, b in zip(after, before, strict=True))


def test_pipeline_reads_the_status_column(adjusted_project: Path):
    from conftest import IDS

    d = adjusted_project.parent
    pd.DataFrame(
        [
            ("YH1", IDS["E"], "重大", "2026-03-01", "2026-06-01", "", "已销号"),  # E stays blue
            ("YH2", IDS["F"], "重大", "2026-03-01", "2026-06-01", "", "整改中"),  # F red
            ("YH3", IDS["C"], "重大", "2026-03-01", "2026-06-01", "", "挂牌督办"),  # unknown: a reject
        ],
        columns=[*HD_COLS, "整改状态"],
    ).to_csv(d / "hidden_dangers.csv", index=False)
    text = adjusted_project.read_text(encoding="utf-8").replace(
        'path = "hidden_dangers.csv"',
        'path = "hidden_dangers.csv"\ncolumns = { status = "整改状态" }\nstatus_values = { "挂牌督办" = "open" }',
    )
    adjusted_project.write_text(text, encoding="utf-8")
    result = check(load_config(adjusted_project))
    fac = result.facilities.set_index("facility_id")
    assert fac.loc[IDS["E"], "level"] == "blue" and fac.loc[IDS["F"], "level"] == "red"
    assert fac.loc[IDS["C"], "level"] == "red"  # 挂牌督办 (listed for supervision) is open by status_values
    assert result.rejects[result.rejects["source"] == "hidden_dangers.csv"].empty
    assert any("1 条隐患按状态已销号（已销号" in w for w in result.warnings), result.warnings


# ---------------------------------------------------------------------------------------------------------------
# dates and grades as offices write them


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("20261109", date(2026, 11, 9)),
        ("2026.11.9", date(2026, 11, 9)),
        ("2026/11/09", date(2026, 11, 9)),
        ("2026年11月9日", date(2026, 11, 9)),
        ("２０２６．１１．９", date(2026, 11, 9)),
    ],
)
def test_parse_dates_day_forms(text: str, day: date):
    assert parse_dates(pd.Series([text])).iloc[0] == pd.Timestamp(day)


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("2026.5", date(2026, 5, 1), date(2026, 5, 31)),
        ("2026年5月", date(2026, 5, 1), date(2026, 5, 31)),
        ("2026-05", date(2026, 5, 1), date(2026, 5, 31)),
        ("2026/5", date(2026, 5, 1), date(2026, 5, 31)),
        ("202605", date(2026, 5, 1), date(2026, 5, 31)),
        ("2028年2月", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026.12", date(2026, 12, 1), date(2026, 12, 31)),
    ],
)
def test_parse_dates_month_precision(text: str, first: date, last: date):
    values = pd.Series([text, "2026-03-01"])
    assert parse_dates(values).tolist() == [pd.Timestamp(first), pd.Timestamp(2026, 3, 1)]
    assert parse_dates(values, month="last").tolist() == [pd.Timestamp(last), pd.Timestamp(2026, 3, 1)]


@pytest.mark.parametrize("text", ["2026.13", "2026年0月", "3月5日", "3-5", "11/9", "2026年", "202613"])
def test_parse_dates_refuses_months_that_are_not(text: str):
    assert pd.isna(parse_dates(pd.Series([text]), month="last").iloc[0])


def test_a_date_without_a_year_is_rejected_with_the_reason():
    rej = _rejects(
        "hidden_dangers",
        [
            ("Y1", "A", "一般", "3月5日", "", ""),
            ("Y2", "A", "一般", "2026-03-05", "4/5", ""),
            ("Y3", "A", "一般", "2026-03-05", "", "垃圾"),
        ],
        HD_COLS,
    )
    by_row = dict(zip(rej["row"], rej["reason"], strict=True))
    assert by_row[2].startswith("the found date has no year; write the year too, e.g. 2026年3月5日")
    assert by_row[3].startswith("the rectification deadline has no year")
    assert rej["value"].tolist() == ["3月5日", "4/5", "垃圾"]  # as written
    assert "closed date is not a date" in by_row[4] and "2026.5" in by_row[4]  # the accepted forms, month too


def test_month_precision_per_column():
    """A month for a date that starts something (found, accident) is its first day; for one that ends something
    (deadline, closed, valid until) its last day."""
    clean = hd(("Y1", "A", "一般", "2026年3月", "2026.4", "2026年5月"))
    assert clean.loc[0, ["found_date", "deadline", "closed_date"]].tolist() == [
        pd.Timestamp(2026, 3, 1),
        pd.Timestamp(2026, 4, 30),
        pd.Timestamp(2026, 5, 31),
    ]
    assert accidents(("S1", "A", "2026年3月", "一般", "0")).loc[0, "date"] == pd.Timestamp(2026, 3, 1)
    assert std(("A", "二级", "2026.5")).loc[0, "valid_until"] == pd.Timestamp(2026, 5, 31)


def test_a_deadline_month_is_overdue_only_after_the_month():
    fac = facilities(("A", "工贸", "yellow"))
    events = {"hidden_dangers": hd(("Y1", "A", "一般", "2026-03-01", "2026年4月", ""))}
    assert adjust(fac, events, rules(OVERDUE), date(2026, 4, 30)).loc["A", "level"] == "yellow"
    assert adjust(fac, events, rules(OVERDUE), date(2026, 5, 1)).loc["A", "level"] == "orange"


def test_a_grade_valid_until_a_month_holds_through_its_last_day():
    fac = facilities(("A", "工贸", "orange"))
    events = {"standardisation": std(("A", "二级", "2026年11月"))}
    assert adjust(fac, events, rules(STANDARD), date(2026, 11, 30)).loc["A", "level"] == "yellow"
    assert adjust(fac, events, rules(STANDARD), date(2026, 12, 1)).loc["A", "level"] == "orange"


@pytest.mark.parametrize(
    ("written", "grade"),
    [
        ("一级", 1),
        ("二级", 2),
        ("三级", 3),
        ("安全生产标准化三级", 3),
        ("安全生产标准化二级企业", 2),
        ("三级（小微）", 3),
        ("三级(小微企业)", 3),
        ("小微企业三级", 3),
        ("Ⅲ级", 3),
        ("III级", 3),
        ("Ⅱ级", 2),
        ("I级", 1),
        ("2级", 2),
        ("二级达标", 2),
        ("标准化二级达标企业", 2),
        ("3", 3),
        ("未创建", 0),
        ("无", 0),
        ("已过期", 0),
        ("未达标", 0),
        ("", 0),
    ],
)
def test_standardisation_grades_as_written(written: str, grade: int):
    rows = std(("A", written, "2027-03-31" if grade else ""))
    assert rows["grade"].tolist() == [grade]


def test_standardisation_达标_alone_is_rejected_as_a_grade_unknown():
    rej = _rejects(
        "standardisation",
        [("A", "达标", "2026.5"), ("B", "安全生产标准化达标企业", "2026.5"), ("C", "四级", "2027-01-01")],
        ["facility_id", "grade", "valid_until"],
    )
    by_row = dict(zip(rej["row"], rej["reason"], strict=True))
    assert sorted(by_row) == [2, 3, 4]
    assert "level unknown" in by_row[2] and "一级, 二级 or 三级" in by_row[2]
    assert by_row[3] == by_row[2]
    assert "unknown standardisation grade" in by_row[4] and "Ⅲ级" in by_row[4]


# ---------------------------------------------------------------------------------------------------------------
# rows without an id, matched by the enterprise name (match_by_name), in the pipeline with either engine

NAMED_TOML = """
[hidden_dangers]
path = "hidden_dangers.csv"
columns = { name = "企业名称" }
match_by_name = true

[risk_points]
path = "risk_points.csv"
columns = { name = "企业名称" }
match_by_name = true
"""


@pytest.fixture
def named_project(adjusted_project: Path) -> Path:
    from conftest import IDS

    d = adjusted_project.parent
    pd.DataFrame(
        [
            ("YH1", "", "戊商场", "重大", "2026-03-01", "2026-06-01", ""),  # E (blue) -> red, by name
            ("YH2", "无", "己 工厂", "一般", "2026-03-01", "2026-12-01", ""),  # F, by name (spaces ignored)
            ("YH3", "", "不存在的公司", "重大", "2026-03-01", "", ""),  # no such enterprise: a reject
            ("YH4", IDS["A"], "乙加油站", "一般", "2026-03-01", "", ""),  # the id wins over the name
        ],
        columns=["hazard_id", "facility_id", "企业名称", "grade", "found_date", "deadline", "closed_date"],
    ).to_csv(d / "hidden_dangers.csv", index=False)
    rp = pd.read_csv(d / "risk_points.csv", dtype=str)
    rp["企业名称"] = ""
    rp.loc[len(rp)] = ["", "P8", "冲压车间", "5", "5", "己工厂"]  # F: 5x5 = red, by name
    rp.to_csv(d / "risk_points.csv", index=False)
    text = adjusted_project.read_text(encoding="utf-8")
    text = text.replace('[risk_points]\npath = "risk_points.csv"\n', "")
    text = text.replace('[hidden_dangers]\npath = "hidden_dangers.csv"\n', NAMED_TOML)
    adjusted_project.write_text(text, encoding="utf-8")
    return adjusted_project


@pytest.mark.parametrize("engine", ["memory", "dask"])
def test_pipeline_matches_rows_without_ids_by_name(named_project: Path, engine: str):
    from conftest import IDS

    from riskmap.config import with_overrides

    if engine == "dask":
        pytest.importorskip("distributed")
    config = with_overrides(load_config(named_project), {"engine.name": engine})
    result = check(config)
    fac = result.facilities.set_index("facility_id")
    assert fac.loc[IDS["E"], "level"] == "red" and fac.loc[IDS["E"], "hd_open"] == 1
    assert fac.loc[IDS["F"], ["level_method", "hd_open"]].tolist() == ["red", 1]  # its risk point by name
    assert fac.loc[IDS["A"], "hd_open"] == 1
    rej = result.rejects[result.rejects["source"] == "hidden_dangers.csv"]
    assert rej[["row", "field", "value"]].values.tolist() == [[4, "name", "不存在的公司"]]
    assert rej["reason"].str.startswith("no facility with this name").all()
    assert result.rejects[result.rejects["source"] == "risk_points.csv"].empty


def test_pipeline_preflight_asks_for_the_name_column(named_project: Path):
    from riskmap.pipeline import preflight

    d = named_project.parent
    (d / "hidden_dangers.csv").write_text(
        (d / "hidden_dangers.csv").read_text(encoding="utf-8").replace("企业名称", "单位"), encoding="utf-8"
    )
    problems = preflight(load_config(named_project))
    assert any("hidden_dangers.csv：没有“企业名称”列" in p for p in problems), problems
