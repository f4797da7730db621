"""Dynamic adjustment (动态调整): hidden dangers, accidents and standardisation grades change method levels.

Rules come from ``[adjustment]`` in the project file and are evaluated **as of a date**. Order, fixed and
independent of how the rules are listed:

1. every *lowering* rule whose condition holds proposes a level from the method level; the lowest proposal wins
   (two lowering rules do not stack);
2. every *raising* rule whose condition holds proposes a level from the result of step 1; the highest proposal
   wins (就高; raising rules do not stack either).

Lowering first means a standardisation grade can never cancel an automatic red. Conditions about adverse events
may only raise and standardisation may only lower (the config refuses anything else), so closing a hidden danger
never raises a level and adding an accident never lowers one.

Date conventions, as of day ``D``:

- a hidden danger counts once found (``found_date <= D``); it is open unless closed on or before ``D`` (or closed by
  its status: see :func:`prepare_events`);
- it is overdue when open and ``D - deadline >= min_days`` (default 1): the deadline day itself is not overdue;
- an accident counts within ``N`` months when ``D - N months < date <= D``: the day exactly ``N`` months before
  ``D`` is outside the window (12 months = the 365 or 366 days ending on ``D``);
- a standardisation grade counts while ``valid_until >= D`` (valid through its last day);
- a date written to the month (``2026.5``, ``2026年5月``) is the month's first day where it starts something (found,
  accident) and its last day where it ends something (deadline, closed, valid until).

>>> parse_dates(pd.Series(["2026-03-01", "2026/3/1", "2026年3月1日", "2026.3.1", "46082", "2026-02-30"])).dt.day.tolist()
[1.0, 1.0, 1.0, 1.0, 1.0, nan]
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from riskmap._resources import styles_dir
from riskmap.columns import (
    ADJUSTMENTS,
    FACILITY_ID,
    HD_MAJOR_OPEN,
    HD_OPEN,
    HD_OVERDUE,
    HD_STATS,
    LEVEL,
    LEVEL_METHOD,
    LEVEL_ZH,
    REASON_SEP_EN,
    REASON_SEP_ZH,
    REASONS,
    REASONS_EN,
    SECTOR,
)
from riskmap.config import AdjustmentConfig, AdjustmentRule
from riskmap.config import adjustment as conditions  # the condition models, one per `condition = "..."`
from riskmap.frames import join_first, normalise_text, per_distinct
from riskmap.i18n import N_, Msg, per_row, tr
from riskmap.levels import Level, level_from_rank, level_rank
from riskmap.methods.base import level_names_zh
from riskmap.rejects import make_rejects, rejects_frame
from riskmap.validate import to_number
from riskmap.vocabulary import (
    ACCIDENT_CLASS_MIN_DEATHS,
    ACCIDENT_CLASS_RANK,
    ACCIDENT_CLASS_SPELLINGS,
    ACCIDENT_CLASSES,
    GRADE_NAMES_ZH,
    HIDDEN_DANGER_GRADE_EN,
    HIDDEN_DANGER_GRADE_SPELLINGS,
    HIDDEN_DANGER_STATUSES,
    STANDARDISATION_GRADE_NUMBER,
    STANDARDISATION_NONE,
    status_key,
)

__all__ = [
    "EVENT_TABLES",
    "EVENT_COLUMNS",
    "AdjustmentResult",
    "parse_dates",
    "parse_as_of",
    "resolve_as_of",
    "as_of_warnings",
    "STALE_AFTER_DAYS",
    "prepare_events",
    "hidden_danger_statuses",
    "event_warnings",
    "hidden_danger_stats",
    "standardisation_grades",
    "apply_adjustments",
    "CONDITION_EVALUATORS",
]


#: Tables read by adjustment, and the canonical columns each needs (ids are optional).
EVENT_TABLES = ("hidden_dangers", "accidents", "standardisation")
EVENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "hidden_dangers": ("grade", "found_date", "deadline", "closed_date"),
    "accidents": ("date", "class"),
    "standardisation": ("grade", "valid_until"),
}

_STAGE = "validate"
_SHOWN = 3  # records named in a reason; the rest are counted

# Excel's day 0 is 1899-12-30 (it counts 1900 as a leap year); serials 20000..80000 are 1954..2119.
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")
_YMD = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
#: A month: 2026.5, 2026-05, 2026/5, 2026年5月, 202605.
_YM = re.compile(r"(\d{4})(?:[-/.年](\d{1,2})月?|(\d{2}))")
_SERIAL = re.compile(r"\d{5}(\.0+)?")
#: A day without its year: 3月5日, 3-5, 11/9, 3.5.
_NO_YEAR = re.compile(r"\d{1,2}[-/.月]\d{1,2}日?")
_DATE_FORMS = Msg(
    "write e.g. 2026-03-01, 2026/3/1, 2026.3.1, 2026年3月1日, 20260301, or a month: 2026.5, 2026年5月"
)

#: Standardisation grades as written, once the words around them are gone (安全生产标准化三级 -> 三; Ⅲ级 -> III):
#: -> 1..3.
_STD_GRADES = {
    **{g.removesuffix("级"): n for g, n in STANDARDISATION_GRADE_NUMBER.items()},
    **{str(n): n for n in STANDARDISATION_GRADE_NUMBER.values()},
    **{"I" * n: n for n in STANDARDISATION_GRADE_NUMBER.values()},
}
#: Words written around a standardisation grade: 安全生产标准化三级, 小微企业三级, 二级达标, 标准化二级企业.
_STD_WORDS = r"安全生产|安全|标准化|小微企业|小微|达标|企业|单位|等级|\s+"


@dataclass
class AdjustmentResult:
    """Facilities with final levels, the per-rule counts and the date the rules were evaluated on."""

    facilities: pd.DataFrame
    as_of: date
    #: Rule name -> ``{"applied": facilities whose condition held, "moved": facilities whose level it set}``.
    rules: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Facilities whose final level is above / below the method level.
    up: int = 0
    down: int = 0


# ---------------------------------------------------------------------------------------------------------------
# dates


def _text(values: pd.Series) -> pd.Series:
    return per_distinct(values, _text_direct, strings_only=True)


def _text_direct(values: pd.Series) -> pd.Series:
    return normalise_text(values.fillna(""))


def parse_dates(values: pd.Series, month: str = "first") -> pd.Series:
    """Parse dates written in any common form; anything else (and empty cells) becomes ``NaT``.

    Accepted: ``2026-03-01``, ``2026/3/1``, ``2026.3.1``, ``2026年3月1日``, ``20260301``, full-width digits,
    a time after the date (``2026-03-01 00:00:00``, as XLSX date cells are read), Excel serial numbers
    (``46082``, 1954..2119), and months (``2026.5``, ``2026-05``, ``2026/5``, ``2026年5月``, ``202605``): the month's
    first day, or its last with ``month="last"``. Impossible calendar dates (``2026-02-30``) and days without a
    year (``3月5日``) are ``NaT``.

    >>> parse_dates(pd.Series(["2026.2", "2026年2月"]), month="last").dt.day.tolist()
    [28, 28]
    """
    # _text makes any column a string column, whose distinct values are then parsed once each.
    parsed = per_distinct(_text(values), lambda t: _parse_text(t, month == "last"), strings_only=True)
    return pd.Series(parsed.to_numpy(), index=values.index, dtype="datetime64[ns]")


def _parse_text(text: pd.Series, month_end: bool) -> pd.Series:
    """:func:`parse_dates` of cleaned text (:func:`_text`)."""
    text = text.str.split(r"[ T]", n=1, regex=True).str[0]
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    ymd = text.str.fullmatch(_YMD.pattern)
    parts = text[ymd].str.extract(_YMD.pattern)
    compact = text.str.fullmatch(_COMPACT.pattern) & ~ymd
    parts = pd.concat([parts, text[compact].str.extract(_COMPACT.pattern)])
    if len(parts):
        cols = parts.astype(int).set_axis(["year", "month", "day"], axis=1)
        out[cols.index] = pd.to_datetime(cols, errors="coerce")
    months = text.str.fullmatch(_YM.pattern)
    if months.any():
        ym = text[months].str.extract(_YM.pattern)
        cols = pd.DataFrame({"year": ym[0], "month": ym[1].fillna(ym[2]), "day": "1"}).astype(int)
        first = pd.to_datetime(cols, errors="coerce")
        out[cols.index] = (
            first + pd.to_timedelta(first.dt.days_in_month - 1, unit="D") if month_end else first
        )
    serial = text.str.fullmatch(_SERIAL.pattern) & ~compact
    if serial.any():
        days = pd.to_numeric(text[serial]).astype(int)
        days = days[(days >= 20000) & (days <= 80000)]
        out[days.index] = _EXCEL_EPOCH + pd.to_timedelta(days, unit="D")
    return out


def parse_as_of(text: str) -> date:
    """One date in any form :func:`parse_dates` accepts; ``ValueError`` when it is not a date.

    >>> parse_as_of("2026年3月1日")
    datetime.date(2026, 3, 1)
    """
    parsed = parse_dates(pd.Series([text])).iloc[0]
    if pd.isna(parsed):
        raise ValueError(tr("{value} is not a date; write it as 2026-03-01", value=repr(text)))
    return parsed.date()


def resolve_as_of(as_of: date | str | None, config: AdjustmentConfig) -> date:
    """The as-of date: the argument (``--as-of``), else ``adjustment.as_of``, else today."""
    if isinstance(as_of, str):
        return parse_as_of(as_of)
    if as_of is not None:
        return as_of
    return config.as_of or date.today()


#: An as-of date more than this many days after the latest hidden-danger record makes the tables look stale (or
#: the date mistyped): a district finds hidden dangers every month; a quiet year without accidents is normal.
STALE_AFTER_DAYS = 365

#: The dates that say when something happened, per event table (deadlines and valid-until dates look ahead).
_EVENT_DATES = {"hidden_dangers": ("found_date", "closed_date"), "accidents": ("date",)}


def _extreme(
    events: Mapping[str, pd.DataFrame], tables: tuple[str, ...], last: bool
) -> tuple[Any, str] | None:
    """The earliest (or latest) event date among ``tables`` and where it is (``table.field``); None if none."""
    found = []
    for table in tables:
        df = events.get(table)
        if df is None:
            continue
        for col in (c for c in _EVENT_DATES[table] if c in df.columns):
            values = df[col].dropna()
            if len(values):
                found.append((values.max() if last else values.min(), f"{table}.{col}"))
    if not found:
        return None
    return max(found) if last else min(found)


def as_of_warnings(
    as_of: date,
    events: Mapping[str, pd.DataFrame],
    plan_year: int,
    sources: Mapping[str, str] | None = None,
    given: str | None = None,
) -> list[str]:
    """Warnings when the as-of date does not fit the plan or the records it is applied to.

    - after the plan year (``supervision.year``): the plan would be made from the levels of a later date;
    - before every dated record (hidden dangers found, accidents): no record counts yet;
    - more than :data:`STALE_AFTER_DAYS` after the latest hidden-danger record (found or closed): old tables,
      or a mistyped date;
    - after every standardisation grade's ``valid_until``: none lowers a level or caps inspections.

    ``events`` are the parsed event tables (:func:`prepare_events`), ``sources`` their file names by table,
    ``given`` where the date comes from (``--as-of``, ``adjustment.as_of``, today).

    >>> from riskmap.i18n import language
    >>> with language("en"):
    ...     as_of_warnings(date(2029, 1, 5), {}, 2027)[0][:60]
    'the as-of date 2029-01-05 is after the plan year 2027 (super'
    >>> as_of_warnings(date(2026, 11, 24), {}, 2027)
    []
    """
    names = dict(sources or {})
    when = (
        tr("the as-of date {date} ({given})", date=as_of.isoformat(), given=given)
        if given
        else tr("the as-of date {date}", date=as_of.isoformat())
    )

    def where(table_field: str) -> str:
        table, col = table_field.split(".")
        return f"{names.get(table, table)} {col}"

    out = []
    if as_of.year > plan_year:
        out.append(
            tr(
                "{when} is after the plan year {year} (supervision.year): the {year} inspection plan would be made "
                "from the levels of a later date; give a date in or before {year}, or plan a later year",
                when=when,
                year=plan_year,
            )
        )
    day = pd.Timestamp(as_of)
    first = _extreme(events, ("hidden_dangers", "accidents"), last=False)
    if first is not None and first[0] > day:
        out.append(
            tr(
                "{when} is before every dated record (the earliest: {where} {date}): no hidden danger or accident "
                "counts; check the date",
                when=when,
                where=where(first[1]),
                date=first[0].date(),
            )
        )
    latest = _extreme(events, ("hidden_dangers",), last=True)
    if latest is not None and (day - latest[0]).days > STALE_AFTER_DAYS:
        out.append(
            tr(
                "{when} is {days} days after the latest hidden-danger record ({where} {date}): are the tables up "
                "to date, or is the date mistyped?",
                when=when,
                days=(day - latest[0]).days,
                where=where(latest[1]),
                date=latest[0].date(),
            )
        )
    out += _expired_grades(events.get("standardisation"), day, when, names)
    return out


def _expired_grades(
    std: pd.DataFrame | None, day: pd.Timestamp, when: str, names: Mapping[str, str]
) -> list[str]:
    """A warning when every standardisation grade of the table has expired by the as-of date."""
    if std is None or not len(std) or "valid_until" not in std.columns:
        return []
    until = std.loc[std["grade"] > 0, "valid_until"].dropna()
    if not len(until) or until.max() >= day:
        return []
    return [
        tr(
            "every standardisation grade in {table} has expired by {when} (the latest valid_until: {date}): none "
            "lowers a level or caps the inspections; update the table or check the date",
            table=names.get("standardisation", "standardisation"),
            when=when,
            date=until.max().date(),
        )
    ]


# ---------------------------------------------------------------------------------------------------------------
# reading the event tables


class _Rejecter:
    """Collects one rejects row per bad row (its first problem) and drops it from the frame."""

    def __init__(self, df: pd.DataFrame, source: str) -> None:
        self.df = df
        self.source = source
        self.rejects: list[pd.DataFrame] = []

    def __call__(self, mask: pd.Series, column: str, reason: Msg | pd.Series) -> None:
        mask = mask.reindex(self.df.index, fill_value=False)
        if mask.any():
            why = reason.reindex(mask.index[mask]) if isinstance(reason, pd.Series) else reason
            self.rejects.append(make_rejects(self.source, self.df[mask], column, why, _STAGE))
            self.df = self.df[~mask].copy()

    def result(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        rej = [r for r in self.rejects if not r.empty]
        return self.df.reset_index(drop=True), (pd.concat(rej, ignore_index=True) if rej else rejects_frame())


def _date_column(
    r: _Rejecter, column: str, what: Msg, required: bool, month: str = "first", where: pd.Series | None = None
) -> pd.Series:
    """Parse a date column in place (rejecting bad cells) and return it.

    ``month``: the day a month (``2026年5月``) stands for, its ``"first"`` or ``"last"``; ``where``: the rows whose
    date is read (the others' cells are left as they are, parsed or not).
    """
    if column not in r.df.columns:
        r.df[column] = ""
    raw = _text(r.df[column])
    parsed = parse_dates(raw, month=month)
    read = pd.Series(True, index=raw.index) if where is None else where.reindex(raw.index, fill_value=False)
    if required:
        r(read & (raw == ""), column, Msg("the {what} is empty", what=what))
    bad = read & (raw != "") & parsed.isna()
    no_year = bad & raw.str.fullmatch(_NO_YEAR.pattern).fillna(False).astype(bool)
    r(
        no_year,
        column,
        Msg("the {what} has no year; write the year too, e.g. 2026年3月5日 or 2026-03-05", what=what),
    )
    # Rejected before the column is replaced, so the rejects table shows the text as written (2027-02-30).
    r(bad, column, Msg("the {what} is not a date ({forms})", what=what, forms=_DATE_FORMS))
    r.df[column] = parsed.reindex(r.df.index)
    return r.df[column]


@cache
def _shipped_statuses() -> dict[str, str]:
    with open(styles_dir() / "hidden_danger_status.toml", "rb") as f:
        table = tomllib.load(f)
    return {status_key(str(v)): meaning for meaning in HIDDEN_DANGER_STATUSES for v in table.get(meaning, [])}


def hidden_danger_statuses(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Spellings of 整改状态 (as :func:`riskmap.vocabulary.status_key` compares them) -> ``closed``/``open``.

    The shipped table (``styles/hidden_danger_status.toml``) with ``extra`` (``[hidden_dangers] status_values``)
    added over it.

    >>> s = hidden_danger_statuses({"验收通过": "closed"})
    >>> s["已销号"], s["逾期未整改"], s["验收通过"]
    ('closed', 'open', 'closed')
    """
    return {**_shipped_statuses(), **{status_key(k): v for k, v in (extra or {}).items()}}


def _accepted_statuses(statuses: Mapping[str, str]) -> str:
    return "; ".join(
        f"{', '.join(k for k, v in statuses.items() if v == meaning)} ({meaning})"
        for meaning in HIDDEN_DANGER_STATUSES
    )


def _status_column(r: _Rejecter, status_values: Mapping[str, str] | None) -> None:
    """Read the 整改状态 column; unknown spellings are rejected with the accepted ones.

    ``status`` becomes what the cell says (``closed``, ``open``; ``""`` when empty or not read), and
    ``status_written`` the cell as written.
    """
    if "status" not in r.df.columns:
        r.df["status"] = ""
    written = _text(r.df["status"])
    statuses = hidden_danger_statuses(status_values)
    key = per_distinct(
        written, lambda v: v.str.replace(r"\s+", "", regex=True).str.lower(), strings_only=True
    )
    meaning = key.map(statuses)
    r(
        (key != "") & meaning.isna(),
        "status",
        Msg(
            "unknown rectification status (整改状态); accepted: {accepted}; add others with [hidden_dangers] "
            'status_values = {{ "…" = "closed" }} (or "open")',
            accepted=_accepted_statuses(statuses),
        ),
    )
    r.df["status_written"] = written.reindex(r.df.index)
    r.df["status"] = meaning.reindex(r.df.index).fillna("").astype(object)


def _hidden_dangers(
    df: pd.DataFrame, source: str, status_values: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    r = _Rejecter(df.copy(), source)
    grade = per_distinct(
        r.df["grade"],
        lambda v: (
            _text(v)
            .str.lower()
            .str.replace(r"(事故)?隐患$", "", regex=True)
            .map(HIDDEN_DANGER_GRADE_SPELLINGS)
        ),
        strings_only=True,
    )
    r(grade.isna(), "grade", Msg("unknown hidden-danger grade; use 一般 or 重大"))
    r.df["grade"] = grade.reindex(r.df.index)
    found = _date_column(r, "found_date", Msg("found date"), required=True)
    deadline = _date_column(r, "deadline", Msg("rectification deadline"), required=False, month="last")
    r(
        deadline < found.reindex(deadline.index),
        "deadline",
        Msg("the rectification deadline is before the found date"),
    )
    closed = _date_column(r, "closed_date", Msg("closed date"), required=False, month="last")
    r(closed < r.df["found_date"], "closed_date", Msg("the closed date is before the found date"))
    _status_column(r, status_values)
    return r.result()


def _accidents(df: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    r = _Rejecter(df.copy(), source)
    cls = per_distinct(
        r.df["class"],
        lambda v: (
            _text(v)
            .str.lower()
            .str.replace(r"(生产安全)?事故$", "", regex=True)
            .map(ACCIDENT_CLASS_SPELLINGS)
        ),
        strings_only=True,
    )
    r(cls.isna(), "class", Msg("unknown accident class; use 特别重大, 重大, 较大 or 一般"))
    r.df["class"] = cls.reindex(r.df.index)
    _date_column(r, "date", Msg("accident date"), required=True)
    if "deaths" not in r.df.columns:
        r.df["deaths"] = ""
    raw = _text(r.df["deaths"])
    deaths = to_number(raw).where(raw != "", 0.0)  # an empty cell means nobody died
    r(
        deaths.isna() | (deaths < 0) | (deaths % 1 != 0),
        "deaths",
        Msg("deaths must be a whole number, 0 or more"),
    )
    deaths = deaths.reindex(r.df.index).astype(int)
    *worse, least = ACCIDENT_CLASSES
    implied = pd.Series(
        np.select([deaths >= ACCIDENT_CLASS_MIN_DEATHS[c] for c in worse], worse, default=least),
        index=deaths.index,
    )
    low = r.df["class"].map(ACCIDENT_CLASS_RANK) < implied.map(ACCIDENT_CLASS_RANK)
    r(
        low,
        "class",
        per_row(
            N_("the class is too low for the deaths: {deaths} deaths make at least a {cls} accident (生产安全事故报告和调查处理条例)"),
            deaths=deaths[low].astype(str), cls=implied[low],
        ),
    )  # fmt: skip
    r.df["deaths"] = deaths.reindex(r.df.index)
    return r.result()


_UNKNOWN_GRADE = Msg(
    "unknown standardisation grade; use 一级, 二级 or 三级 (also read: 安全生产标准化三级, 三级（小微）, Ⅲ级, "
    "3级, 二级达标) or 无/未创建/已过期 for none"
)
_ONLY_PASSED = Msg(
    "达标 (meets the standard) names no grade: level unknown; write 一级, 二级 or 三级 as on the certificate"
)


def _standardisation_grades(written: pd.Series) -> pd.DataFrame:
    """Per cell (normalised text): ``grade`` 1..3 (0: none, NaN: not read) and ``why`` it was not read."""
    text = written.str.replace(r"\(.*?\)", "", regex=True).str.replace(r"\s+", "", regex=True)
    none = text.str.lower().isin(STANDARDISATION_NONE)
    core = text.str.replace(_STD_WORDS, "", regex=True).str.upper().str.replace("级$", "", regex=True)
    grade = core.map(_STD_GRADES).where(~none, 0)
    only_passed = (core == "") & written.str.contains("达标")
    why = np.where(only_passed, np.array(_ONLY_PASSED, dtype=object), np.array(_UNKNOWN_GRADE, dtype=object))
    return pd.DataFrame({"grade": grade, "why": np.where(grade.isna(), why, "")}, index=written.index)


def _standardisation(df: pd.DataFrame, source: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    r = _Rejecter(df.copy(), source)
    read = per_distinct(_text(r.df["grade"]), _standardisation_grades, strings_only=True)
    r(read["grade"].isna(), "grade", read["why"])
    r.df["grade"] = read["grade"].reindex(r.df.index).fillna(0).astype(int)
    graded = r.df["grade"] > 0
    if "valid_until" not in r.df.columns:
        r.df["valid_until"] = ""
    raw = _text(r.df["valid_until"])
    r(graded & (raw == ""), "valid_until", Msg("a standardisation grade needs its valid-until date"))
    _date_column(
        r, "valid_until", Msg("valid-until date"), required=False, month="last", where=r.df["grade"] > 0
    )
    return r.result()


_PREPARE = {"hidden_dangers": _hidden_dangers, "accidents": _accidents, "standardisation": _standardisation}


def prepare_events(
    table: str, df: pd.DataFrame, source: str, status_values: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse one event table (after :func:`riskmap.validate.validate_table`): dates, grades, classes, status.

    Returns the usable rows (dates as ``datetime64``) and one rejects row, stage ``validate``, for every other
    row: rows in = rows used + rows rejected. ``status_values`` (``[hidden_dangers] status_values``) adds
    spellings of the hidden dangers' 整改状态 to the shipped ones.
    """
    if table == "hidden_dangers":
        return _hidden_dangers(df, source, status_values)
    return _PREPARE[table](df, source)


def _spellings(written: pd.Series) -> str:
    """The spellings of ``written`` with their counts, the most frequent first: ``已整改 2, 已销号 1``."""
    return ", ".join(f"{k} {n}" for k, n in written.value_counts(sort=True).items())


def event_warnings(events: Mapping[str, pd.DataFrame], sources: Mapping[str, str]) -> list[str]:
    """Warnings on hidden dangers whose status says more than their dates.

    Those closed by their status alone (no closed date), and those whose open status and closed date disagree
    (the status wins: see :func:`prepare_events`).

    >>> event_warnings({}, {})
    []
    """
    hd = events.get("hidden_dangers")
    if hd is None or "status" not in hd.columns or not len(hd):
        return []
    name = sources.get("hidden_dangers", "hidden_dangers")
    notes = (
        (
            (hd["status"] == "closed") & hd["closed_date"].isna(),
            N_(
                "{file}: 1 hidden danger is closed by its status ({spellings}) with no closed date: counted closed "
                "(销号) whatever the as-of date; fill in the closed dates to date them"
            ),
            N_(
                "{file}: {n} hidden dangers are closed by their status ({spellings}) with no closed date: counted "
                "closed (销号) whatever the as-of date; fill in the closed dates to date them"
            ),
        ),
        (
            (hd["status"] == "open") & hd["closed_date"].notna(),
            N_(
                "{file}: 1 hidden danger has an open status ({spellings}) and a closed date: counted open (the "
                "status wins); correct the status or remove the date"
            ),
            N_(
                "{file}: {n} hidden dangers have an open status ({spellings}) and a closed date: counted open (the "
                "status wins); correct the status or remove the date"
            ),
        ),
    )
    out = []
    for mask, one, many in notes:
        n = int(mask.sum())
        if n:
            spellings = _spellings(hd.loc[mask, "status_written"])
            out.append(tr(one if n == 1 else many, file=name, n=n, spellings=spellings))
    return out


# ---------------------------------------------------------------------------------------------------------------
# conditions


def _ts(as_of: date) -> pd.Timestamp:
    return pd.Timestamp(as_of)


def _open(hd: pd.DataFrame, as_of: date) -> pd.Series:
    """Found on or before ``as_of`` and not closed then.

    Closed by a closed date on or before ``as_of``, or by a closed status without a date; an open status keeps it
    open whatever the closed date says.
    """
    d = _ts(as_of)
    closed = (hd["closed_date"] <= d).fillna(False)
    if "status" in hd.columns:
        closed = (hd["status"] != "open") & (closed | ((hd["status"] == "closed") & hd["closed_date"].isna()))
    return (hd["found_date"] <= d) & ~closed


def _overdue(hd: pd.DataFrame, as_of: date, min_days: int = 1) -> pd.Series:
    late = (_ts(as_of) - hd["deadline"]).dt.days >= min_days
    return _open(hd, as_of) & late.fillna(False).astype(bool)


def standardisation_grades(std: pd.DataFrame | None, ids: pd.Series, as_of: date) -> pd.Series:
    """Best standardisation grade (1..3) valid on ``as_of`` for each id; 0 where none (supervision caps use it)."""
    if std is None or std.empty:
        return pd.Series(0, index=ids.index, dtype=int)
    valid = std[(std["grade"] > 0) & (std["valid_until"] >= _ts(as_of))]
    best = valid.groupby("facility_id")["grade"].min()
    return ids.map(best).fillna(0).astype(int)


def hidden_danger_stats(hidden_dangers: pd.DataFrame | None, ids: pd.Series, as_of: date) -> pd.DataFrame:
    """Open, overdue and open major hidden dangers per facility id (``hd_open``, ``hd_overdue``, ...)."""
    out = pd.DataFrame(0, index=pd.Index(ids, name=FACILITY_ID), columns=HD_STATS)
    if hidden_dangers is None or hidden_dangers.empty:
        return out
    return _hd_counts(hidden_dangers, as_of).reindex(out.index).fillna(0).astype(int)


def _hd_counts(hd: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """:data:`HD_STATS` of the facility ids that have hidden dangers."""
    flags = pd.DataFrame(
        {
            HD_OPEN: _open(hd, as_of),
            HD_OVERDUE: _overdue(hd, as_of),
            HD_MAJOR_OPEN: _open(hd, as_of) & (hd["grade"] == "重大"),
        }
    ).astype(int)
    return flags.groupby(hd[FACILITY_ID]).sum()


@dataclass
class _Hits:
    """Per facility id: records satisfying a condition, and how to name them."""

    count: pd.Series
    evidence_zh: pd.Series
    evidence_en: pd.Series


def _label(df: pd.DataFrame, id_col: str) -> pd.Series:
    ids = df[id_col].astype(str) if id_col in df.columns else pd.Series("", index=df.index)
    rows = "第" + df["_row"].astype(str) + "行" if "_row" in df.columns else pd.Series("?", index=df.index)
    return ids.where(ids.str.strip() != "", rows)


def _hits(records: pd.DataFrame, item_zh: pd.Series, item_en: pd.Series, unit_zh: str) -> _Hits:
    """Count the records of each facility and name its first ``_SHOWN`` (records come sorted by date).

    ``item_zh`` and ``item_en`` are computed from ``records`` and line up with its rows. Vectorised: a
    per-facility Python function over hundreds of thousands of facilities took seconds.
    """
    if records.empty:
        empty = pd.Series(dtype=object)
        return _Hits(pd.Series(dtype=int), empty, empty)
    codes, ids = pd.factorize(records[FACILITY_ID])
    has_id = codes >= 0  # a record without a facility id belongs to nobody
    codes = codes[has_id]
    count = np.bincount(codes, minlength=len(ids))
    rank = pd.Series(codes).groupby(codes).cumcount().to_numpy()  # position among the facility's records
    zh = join_first(codes, rank, item_zh.to_numpy(dtype=object)[has_id], len(ids), "、", _SHOWN)
    en = join_first(codes, rank, item_en.to_numpy(dtype=object)[has_id], len(ids), ", ", _SHOWN)
    for g in np.flatnonzero(count > _SHOWN):
        zh[g] += f" 等{count[g]}{unit_zh}"
        en[g] += f" and {count[g] - _SHOWN} more"
    index = pd.Index(ids, name=FACILITY_ID)
    return _Hits(pd.Series(count, index=index), pd.Series(zh, index=index), pd.Series(en, index=index))


def _grade_text(grade: str, zh: bool) -> str:
    if grade == "any":
        return ""
    return grade if zh else HIDDEN_DANGER_GRADE_EN[grade] + " "


#: What an evaluator gives: the facilities satisfying a condition with their evidence, and the condition's
#: wording (zh, en).
_Evaluation = tuple[_Hits, str, str]


def _hidden_dangers_where(hd: pd.DataFrame, mask: pd.Series, grade: str) -> pd.DataFrame:
    """The hidden dangers under ``mask`` of ``grade`` (or any), by found date."""
    if grade != "any":
        mask &= hd["grade"] == grade
    return hd[mask].sort_values(["found_date", "_row"] if "_row" in hd else ["found_date"], kind="stable")


def _open_hits(hd: pd.DataFrame, as_of: date, grade: str) -> _Evaluation:
    rec = _hidden_dangers_where(hd, _open(hd, as_of), grade)
    name = _label(rec, "hazard_id")
    item_zh = name + " " + rec["found_date"].dt.strftime("%Y-%m-%d") + "发现"
    item_en = name + " found " + rec["found_date"].dt.strftime("%Y-%m-%d")
    zh = "存在未销号重大事故隐患" if grade == "重大" else f"存在未销号{_grade_text(grade, True)}隐患"
    en = f"open {_grade_text(grade, False)}hidden danger"
    return _hits(rec, item_zh, item_en, "项"), zh, en


def _evaluate_open_hidden_danger(
    w: conditions.OpenHiddenDanger, tables: Mapping[str, pd.DataFrame], as_of: date
) -> _Evaluation:
    return _open_hits(tables["hidden_dangers"], as_of, w.grade)


def _evaluate_open_major_hidden_danger(
    w: conditions.OpenMajorHiddenDanger, tables: Mapping[str, pd.DataFrame], as_of: date
) -> _Evaluation:
    return _open_hits(tables["hidden_dangers"], as_of, "重大")


def _evaluate_overdue_hidden_danger(
    w: conditions.OverdueHiddenDanger, tables: Mapping[str, pd.DataFrame], as_of: date
) -> _Evaluation:
    hd = tables["hidden_dangers"]
    rec = _hidden_dangers_where(hd, _overdue(hd, as_of, w.min_days), w.grade)
    name = _label(rec, "hazard_id")
    item_zh = name + " 期限" + rec["deadline"].dt.strftime("%Y-%m-%d")
    item_en = name + " due " + rec["deadline"].dt.strftime("%Y-%m-%d")
    zh = f"{_grade_text(w.grade, True)}隐患逾期未整改"
    en = f"{_grade_text(w.grade, False)}hidden danger past its rectification deadline"
    return _hits(rec, item_zh, item_en, "项"), zh, en


def _evaluate_accident(
    w: conditions.AccidentCondition, tables: Mapping[str, pd.DataFrame], as_of: date
) -> _Evaluation:
    acc = tables["accidents"]
    d = _ts(as_of)
    start = d - pd.DateOffset(months=w.within_months)
    mask = (acc["date"] <= d) & (acc["date"] > start) & acc["class"].isin(w.classes)
    mask &= acc["deaths"] >= w.min_deaths
    rec = acc[mask].sort_values(["date", "_row"] if "_row" in acc else ["date"], kind="stable")
    name = _label(rec, "accident_id")
    day = rec["date"].dt.strftime("%Y-%m-%d")
    item_zh = name + " " + day + " " + rec["class"] + " 死亡" + rec["deaths"].astype(str) + "人"
    item_en = name + " " + day + " " + rec["class"] + " " + rec["deaths"].astype(str) + " deaths"
    every = set(w.classes) == set(ACCIDENT_CLASSES)
    classes_zh = "" if every else "/".join(w.classes)
    fatal_zh = "死亡" if w.min_deaths == 1 else (f"死亡{w.min_deaths}人以上" if w.min_deaths > 1 else "")
    fatal_en = "fatal " if w.min_deaths == 1 else (f"{w.min_deaths}+ death " if w.min_deaths > 1 else "")
    zh = f"{w.within_months}个月内发生{classes_zh}{fatal_zh}事故"
    en = f"{fatal_en}{'' if every else '/'.join(w.classes) + ' '}accident within {w.within_months} months"
    if w.min_count > 1:
        zh += f" {w.min_count} 起以上"
        en = f"{w.min_count}+ {en.replace('accident', 'accidents', 1)}"
    return _hits(rec, item_zh, item_en, "起"), zh, en


def _evaluate_standardisation(
    w: conditions.StandardisationCondition, tables: Mapping[str, pd.DataFrame], as_of: date
) -> _Evaluation:
    std = tables["standardisation"]
    wanted = [STANDARDISATION_GRADE_NUMBER[g] for g in w.grades]
    rec = std[(std["grade"] > 0) & (std["valid_until"] >= _ts(as_of)) & std["grade"].isin(wanted)]
    rec = rec.sort_values(["grade", "valid_until"], ascending=[True, False], kind="stable")
    rec = rec.groupby(FACILITY_ID, sort=False).head(1)  # the best valid grade
    until = rec["valid_until"].dt.strftime("%Y-%m-%d")
    item_zh = rec["grade"].map(GRADE_NAMES_ZH) + ", 有效期至" + until
    item_en = "grade " + rec["grade"].astype(str) + ", valid until " + until
    return _hits(rec, item_zh, item_en, "项"), "安全生产标准化达标", "valid safety standardisation grade"


#: The evaluator of each adjustment condition model (:data:`riskmap.config.CONDITIONS`, data only): given the
#: condition, the parsed event tables and the as-of date, the facilities for which it holds, their evidence and
#: the condition's wording. A new condition is a model there and an evaluator here (a test checks both sides).
CONDITION_EVALUATORS: dict[type, Callable[[Any, Mapping[str, pd.DataFrame], date], _Evaluation]] = {
    conditions.OpenMajorHiddenDanger: _evaluate_open_major_hidden_danger,
    conditions.OpenHiddenDanger: _evaluate_open_hidden_danger,
    conditions.OverdueHiddenDanger: _evaluate_overdue_hidden_danger,
    conditions.AccidentCondition: _evaluate_accident,
    conditions.StandardisationCondition: _evaluate_standardisation,
}


def _evaluate(rule: AdjustmentRule, tables: Mapping[str, pd.DataFrame], as_of: date) -> _Evaluation:
    """Which facilities satisfy the rule's condition, with their evidence and the condition's wording."""
    condition: conditions.Condition = rule.when
    return CONDITION_EVALUATORS[type(condition)](condition, tables, as_of)


def _propose(rule: AdjustmentRule, rank: np.ndarray) -> np.ndarray:
    """The level (rank 1..4) the rule's effect gives each current rank."""
    effect, value = rule.effect
    if effect == "raise_to":
        return np.maximum(rank, int(Level.parse(str(value))))
    if effect == "lower_to":
        return np.minimum(rank, int(Level.parse(str(value))))
    if effect == "raise_by":
        ceiling = int(Level.parse(rule.ceiling)) if rule.ceiling else int(Level.RED)
        return np.minimum(np.minimum(rank + int(value), np.maximum(rank, ceiling)), int(Level.RED))
    floor = int(Level.parse(rule.floor)) if rule.floor else int(Level.BLUE)
    return np.maximum(np.maximum(rank - int(value), np.minimum(rank, floor)), int(Level.BLUE))


class _Texts:
    """One text per row, each a list joined by ``sep``; :meth:`append` adds an item to some rows."""

    def __init__(self, n: int, sep: str) -> None:
        self.texts = np.full(n, "", dtype=object)
        self.started = np.zeros(n, dtype=bool)
        self.sep = sep

    def append(self, rows: np.ndarray, items: list[str]) -> None:
        new = np.array(items, dtype=object)
        old = self.texts[rows]
        self.texts[rows] = np.where(self.started[rows], old + self.sep + new, new)
        self.started[rows] = True


class _FacilityRows:
    """Values indexed by facility id, placed on the facility rows (``values.reindex(ids)``).

    The ids' hash table is built once and the few hit ids are looked up in it, instead of looking a million
    ids up in every rule's hits.
    """

    def __init__(self, ids: pd.Series) -> None:
        self.ids = pd.Index(ids)

    def rows(self, index: pd.Index) -> np.ndarray | None:
        """The facility row of each id in ``index`` (-1: none); ``None`` when the ids are not unique."""
        return self.ids.get_indexer(index) if self.ids.is_unique else None

    def spread(self, values: pd.Series, fill: object, rows: np.ndarray | None = None) -> np.ndarray:
        """``values.reindex(ids, fill_value=fill)`` as an object array; ``rows`` from :meth:`rows` if known."""
        if rows is None:
            rows = self.rows(values.index)
        if rows is None:  # validated facilities have unique ids; keep reindex's meaning anyway
            return values.reindex(self.ids, fill_value=fill).to_numpy(dtype=object)
        found = rows >= 0
        out = np.full(len(self.ids), fill, dtype=object)
        out[rows[found]] = values.to_numpy(dtype=object)[found]
        return out


def _append_text(text: pd.Series, extra: pd.Series, has: pd.Series, sep: str) -> pd.Series:
    """``text + sep + extra`` where ``has`` (a missing text counting as empty), ``text`` elsewhere."""
    if isinstance(text.dtype, pd.StringDtype):
        # One concatenation over every row: a masked assignment into an Arrow string column is slower.
        return text.mask(has & text.isna(), "") + (sep + extra).where(has, "")
    text = text.copy()
    text.loc[has] = text.loc[has].fillna("").astype(str) + sep + extra[has]
    return text


class _RuleRun:
    """The rules of one direction applied in turn: each appends its reasons and proposes a level.

    Texts per facility are built one rule at a time, so the rules' order is the order of the reasons.
    """

    def __init__(self, facilities: pd.DataFrame, tables: Mapping[str, pd.DataFrame], as_of: date) -> None:
        n = len(facilities)
        self.sector = facilities[SECTOR]
        self.tables = tables
        self.as_of = as_of
        self.at = _FacilityRows(facilities[FACILITY_ID])
        self.reasons_zh = _Texts(n, REASON_SEP_ZH)
        self.reasons_en = _Texts(n, REASON_SEP_EN)
        self.applied_names = _Texts(n, REASON_SEP_EN)
        self.counts: dict[str, dict[str, int]] = {}

    def holds(self, rule: AdjustmentRule, hits: _Hits, start: np.ndarray) -> np.ndarray:
        """Where the rule's condition holds for a facility at rank ``start``."""
        count = self.at.spread(hits.count, 0).astype(float)
        holds = count >= rule.when.min_count if hasattr(rule.when, "min_count") else count > 0
        if rule.sectors is not None:
            holds &= self.sector.isin(rule.sectors).to_numpy()
        if rule.effect[0] != "raise_to":
            # A not-assessed facility (rank 0) has no level to move by or to lower; "at least red" holds.
            holds &= start > 0
        return holds

    def note(self, name: str, hits: _Hits, zh: str, en: str, rows: np.ndarray, proposed: np.ndarray) -> None:
        """Append the rule's reason (evidence and proposed level) and name to the facilities at ``rows``."""
        ev_zh = self.at.spread(hits.evidence_zh, np.nan)[rows]
        ev_en = self.at.spread(hits.evidence_en, np.nan)[rows]
        lvl = [Level(r) for r in proposed[rows].tolist()]
        self.reasons_zh.append(
            rows, [f"动态调整: {zh} ({e}) → {v.zh}" for e, v in zip(ev_zh, lvl, strict=True)]
        )
        self.reasons_en.append(
            rows, [f"adjustment: {en} ({e}) → {v.en}" for e, v in zip(ev_en, lvl, strict=True)]
        )
        self.applied_names.append(rows, [name] * len(rows))

    def step(self, rules: list[tuple[str, AdjustmentRule]], start: np.ndarray, lower: bool) -> np.ndarray:
        """The ranks after one direction's rules: the lowest (``lower``) or highest proposal wins."""
        proposals: list[tuple[str, np.ndarray, np.ndarray]] = []
        for name, rule in rules:
            hits, zh, en = _evaluate(rule, self.tables, self.as_of)
            holds = self.holds(rule, hits, start)
            prop = np.where(holds, _propose(rule, start), start)
            proposals.append((name, holds, prop))
            self.note(name, hits, zh, en, np.flatnonzero(holds), prop)
        if not proposals:
            return start
        stack = np.vstack([p for _, _, p in proposals])
        result = stack.min(axis=0) if lower else stack.max(axis=0)
        result = np.minimum(result, start) if lower else np.maximum(result, start)
        for name, holds, prop in proposals:
            moved = holds & (prop == result) & (result != start)
            self.counts[name] = {"applied": int(holds.sum()), "moved": int(moved.sum())}
        return result


def _note_rejected_rows(extra_zh: pd.Series, extra_en: pd.Series, bad: np.ndarray) -> None:
    """Add to ``extra_*`` (in place) a note on the facilities with ``bad`` > 0 rejected event rows."""
    flagged = pd.Series(bad > 0, index=extra_zh.index)
    n_bad = pd.Series(bad, index=extra_zh.index)[flagged].astype(str)  # only the flagged rows get a note
    note_zh = "动态调整数据不完整: " + n_bad + " 条隐患/事故/标准化记录被剔除, 见 rejects.csv"
    note_en = (
        "incomplete adjustment data: "
        + n_bad
        + " hidden-danger/accident/standardisation rows rejected, see rejects"
    )
    extra_zh[flagged] = (extra_zh[flagged] + REASON_SEP_ZH).str.lstrip(REASON_SEP_ZH) + note_zh
    extra_en[flagged] = (extra_en[flagged] + REASON_SEP_EN).str.lstrip("; ") + note_en


def _add_hidden_danger_stats(out: pd.DataFrame, hd: pd.DataFrame, as_of: date, at: _FacilityRows) -> None:
    """The hidden-danger statistics columns: ``hidden_danger_stats(hd, ids, as_of)``, reusing the ids' lookup."""
    stats = _hd_counts(hd, as_of) if not hd.empty else pd.DataFrame(columns=HD_STATS)
    rows = at.rows(stats.index)
    for col in HD_STATS:
        out[col] = at.spread(stats[col], 0, rows).astype(np.int64)


def apply_adjustments(
    facilities: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    config: AdjustmentConfig,
    as_of: date,
    rejected: pd.Series | None = None,
) -> AdjustmentResult:
    """Apply the adjustment rules to scored facilities, as of ``as_of``.

    Parameters
    ----------
    facilities
        Output of :func:`riskmap.methods.score_facilities` (``facility_id``, ``sector``, ``level``, reasons).
    tables
        Parsed event tables by name (:func:`prepare_events`); a rule's table is always present when the config
        validated.
    config
        ``[adjustment]``.
    as_of
        The day the rules are evaluated on.
    rejected
        Rejected event rows per facility id: such facilities get a reason saying their data is incomplete.

    Returns
    -------
    AdjustmentResult
        The facilities with ``level`` (final), ``level_method`` (before), ``adjustments`` (names of the rules
        whose condition held), the hidden-danger statistics when there is a hidden-danger table, and one reason
        per applied rule (``动态调整: … → 重大风险``).

    Examples
    --------
    >>> from riskmap.config import AdjustmentConfig
    >>> fac = pd.DataFrame({"facility_id": ["A"], "sector": ["工贸"], "level": ["yellow"], "level_zh": ["一般风险"],
    ...                     "reasons": ["LS: R=9"], "reasons_en": ["LS: R=9"]})
    >>> acc = prepare_events("accidents", pd.DataFrame({"facility_id": ["A"], "date": ["2026/3/1"],
    ...                      "class": ["一般"], "deaths": ["1"]}), "accidents.csv")[0]
    >>> rules = AdjustmentConfig(rules=[{"when": {"condition": "accident", "min_deaths": 1}, "raise_to": "red"}])
    >>> apply_adjustments(fac, {"accidents": acc}, rules, date(2027, 3, 1)).facilities["level"].tolist()
    ['yellow']
    >>> out = apply_adjustments(fac, {"accidents": acc}, rules, date(2027, 2, 28)).facilities
    >>> out[["level_method", "level"]].values.tolist()
    [['yellow', 'red']]
    """
    out = facilities.copy()
    rank0 = level_rank(out[LEVEL]).to_numpy().astype(int)
    out[LEVEL_METHOD] = out[LEVEL].to_numpy()
    named = config.named_rules()
    lowering = [(nm, r) for nm, r in named if type(r.when).direction == "lower"]
    raising = [(nm, r) for nm, r in named if type(r.when).direction == "raise"]
    rules = _RuleRun(out, tables, as_of)
    rank1 = rules.step(lowering, rank0, lower=True)
    rank2 = rules.step(raising, rank1, lower=False)
    counts = {name: rules.counts[name] for name, _ in named if name in rules.counts}

    out[LEVEL] = level_from_rank(rank2).to_numpy()
    out[LEVEL_ZH] = level_names_zh(out[LEVEL])
    out[ADJUSTMENTS] = rules.applied_names.texts.tolist()
    extra_zh = pd.Series(rules.reasons_zh.texts.tolist(), index=out.index)
    extra_en = pd.Series(rules.reasons_en.texts.tolist(), index=out.index)
    if rejected is not None and len(rejected):
        _note_rejected_rows(extra_zh, extra_en, rules.at.spread(rejected, 0).astype(np.int64))
    has = extra_zh != ""
    out[REASONS] = _append_text(out[REASONS], extra_zh, has, REASON_SEP_ZH)
    out[REASONS_EN] = _append_text(out[REASONS_EN], extra_en, has, REASON_SEP_EN)
    if "hidden_dangers" in tables:
        _add_hidden_danger_stats(out, tables["hidden_dangers"], as_of, rules.at)
    return AdjustmentResult(
        facilities=out,
        as_of=as_of,
        rules=counts,
        up=int((rank2 > rank0).sum()),
        down=int((rank2 < rank0).sum()),
    )
