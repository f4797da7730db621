"""Differentiated supervision (差异化监管): from levels to an inspection plan that fits the inspectors.

- **Frequencies**: inspections per year per level (floors), per sector if configured, never above the caps
  (by level, and by standardisation grade as current national policy limits how often an enterprise may be
  inspected).
- **Double-random draws (双随机)**: levels with a sampling rate draw that share of their enterprises by lot,
  stratified by town (largest-remainder shares), from a published seed anyone can use to re-draw the list.
  With earlier plans, enterprises not inspected for ``cover_years`` are drawn first. Drawn enterprises get
  random inspectors from the roster.
- **Schedule**: each enterprise's inspections are spread evenly over the year, the k-th of n in its own window
  of months ``floor(12k/n)+1 .. floor(12(k+1)/n)`` (quarterly is once a quarter, monthly once a month);
  enterprises of one town share months and days, and with a capacity every inspection gets a date on a weekday
  within the officers' field days. Inspections move only within their window, so an enterprise never gets two
  in one window. When capacity does not cover the floors, inspections are kept by priority (red, then major
  hazards, then orange, yellow, drawn); one its window has no room for is a shortfall, reported in officer-days.
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskmap.columns import (
    DATES,
    DECISION_NOTE,
    DRAWN,
    FACILITY_ID,
    INSPECTIONS,
    LEVEL,
    LEVEL_ZH,
    MONTHS,
    NAME,
    NOT_ON_MAP_REASON,
    ON_MAP,
    PRIORITY,
    SECTOR,
    UNSCHEDULED,
)
from riskmap.config import SupervisionConfig
from riskmap.frames import column_values, distinct_rows, join_rows, take_column
from riskmap.i18n import N_, Msg, Written, tr
from riskmap.levels import LEVEL_NAMES
from riskmap.vocabulary import STANDARDISATION_GRADE_NAMES

__all__ = [
    "PLAN_COLUMNS",
    "InspectionPlan",
    "plan_inspections",
    "month_label",
    "draw_seed",
    "months_for",
    "zone_patrols",
    "zone_workload",
    "read_history",
]


PLAN_COLUMNS = [
    "year", FACILITY_ID, NAME, SECTOR, "town_code", "zone_code", "zone_name", LEVEL, LEVEL_ZH, PRIORITY,
    INSPECTIONS, MONTHS, DATES, UNSCHEDULED, DRAWN, "cover_overdue", "inspectors", "plan_reason", ON_MAP,
]  # fmt: skip

#: Standardisation grade number (``standardisation_grade``) -> key of ``[[supervision.caps]] by_grade``.
_GRADE_NAMES = {**STANDARDISATION_GRADE_NAMES, 0: "none"}
_GRADE_TEXTS = {n: "标准化" + g for n, g in STANDARDISATION_GRADE_NAMES.items()}
_GRADE_EN = {1: "grade 1", 2: "grade 2", 3: "grade 3"}


@dataclass
class InspectionPlan:
    """The plan (one row per enterprise), the load per month against capacity, and the seed of the draws."""

    plan: pd.DataFrame
    monthly_load: pd.Series
    seed: str
    year: int
    months: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)
    #: Language of the plan's texts (``plan_reason``, the workbook's month sheet names): ``zh`` or ``en``.
    lang: str = "zh"
    #: The inspections table, or what builds it on first use: millions of rows at province size, which only the
    #: month sheets of the XLSX read (not written above 200,000 enterprises).
    _inspections: pd.DataFrame | Callable[[], pd.DataFrame] = field(default_factory=pd.DataFrame, repr=False)

    @property
    def inspections(self) -> pd.DataFrame:
        """One row per planned inspection: month, date, enterprise, town, level, priority, scheduled."""
        if not isinstance(self._inspections, pd.DataFrame):
            self._inspections = self._inspections()
        return self._inspections


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def month_label(month: int, lang: str = "zh") -> str:
    """A month's short name: ``3月`` in Chinese, ``Mar`` in English (the plan workbook's sheet names).

    >>> month_label(3), month_label(12, "en")
    ('3月', 'Dec')
    """
    return _MONTHS_EN[month - 1] if lang == "en" else f"{month}月"


def draw_seed(config: SupervisionConfig, district_code: str) -> str:
    """The published seed: from the config, else ``<year>-<district code>``."""
    return config.sampling.seed or f"{config.year}-{district_code or '000000'}"


def _rng(seed: str) -> np.random.Generator:
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def months_for(per_year: np.ndarray, offsets: np.ndarray) -> list[str]:
    """Months (1..12) of each enterprise's inspections, evenly spaced: 4/yr -> one per quarter.

    >>> months_for(np.array([4, 2, 1, 0]), np.array([0, 1, 11, 0]))
    ['1,4,7,10', '2,8', '12', '']
    """
    n_all = per_year.astype(int)
    # A few distinct (frequency, offset) pairs among a million enterprises: each one's months are written once.
    codes, first = distinct_rows(n_all, offsets)
    texts = [_months_text(n_all[r], offsets[r]) for r in first]
    return [texts[c] for c in codes.tolist()]


def _months_text(n: int, off: int) -> str:
    if n <= 0:
        return ""
    n = min(n, 12)
    step = 12 / n
    months = sorted({int(off + np.floor(i * step)) % 12 + 1 for i in range(n)})
    return ",".join(map(str, months))


def _block_offsets(per_year: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Month offsets that balance the load and keep a town's enterprises together.

    Within each group of equal frequency (rows already sorted by town), the rows are cut into ``interval``
    consecutive blocks of equal size: each block takes one offset, so the load per month differs by at most one
    per group, and the enterprises of one town mostly share their months.
    """
    offsets = np.zeros(len(per_year), dtype=int)
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        n = int(per_year[members[0]])
        if n <= 0:
            continue
        interval = max(12 // min(n, 12), 1)
        offsets[members] = (np.arange(len(members)) * interval) // max(len(members), 1)
    return offsets


def read_history(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Earlier plans (``year``, ``facility_id``, ``inspections_per_year``) -> last inspected year per enterprise."""
    if not frames:
        return pd.DataFrame(columns=[FACILITY_ID, "last_year"])
    hist = pd.concat([f[[FACILITY_ID, "year", INSPECTIONS]] for f in frames], ignore_index=True)
    first_year = int(hist["year"].min()) if len(hist) else None
    hist = hist[pd.to_numeric(hist[INSPECTIONS], errors="coerce").fillna(0) > 0]
    last = hist.groupby(FACILITY_ID)["year"].max().astype(int).rename("last_year").reset_index()
    last.attrs["first_year"] = first_year  # how far back the history reaches
    return last


def _draw(
    rows: np.ndarray,
    id_rank: np.ndarray,
    rate: float,
    strata: pd.Series,
    overdue: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Draw ``rate`` of ``rows``, stratified (largest-remainder shares); overdue ones first in each stratum.

    ``rows`` are positions in the plan's frame, ``strata`` their strata (in the same order); ``id_rank`` and
    ``overdue`` are indexed by position. Returns the drawn positions.
    """
    sizes = strata.value_counts().sort_index()
    quota = sizes * rate
    base = np.floor(quota).astype(int)
    remainder = (quota - base).sort_values(ascending=False, kind="stable")
    extra = max(int(round(rate * len(rows))) - int(base.sum()), 0)
    base[remainder.index[:extra]] += 1
    drawn: list[np.ndarray] = []
    # One pass, not one scan per town; on integer codes, not a million town strings made Python objects.
    codes, towns = pd.factorize(strata)
    by_code = pd.Series(codes).groupby(codes, sort=False).indices
    groups = {towns[c]: positions for c, positions in by_code.items()}
    for stratum, k in base.items():
        if k <= 0:
            continue
        # Sorted by id before the permutation: the draw depends on the seed and the ids, not on row order.
        members = rows[groups[stratum]]
        members = members[np.argsort(id_rank[members], kind="stable")]
        order = members[rng.permutation(len(members))]
        order = order[np.argsort(~overdue[order], kind="stable")]  # overdue first
        drawn.append(order[:k])
    return np.concatenate(drawn) if drawn else np.zeros(0, dtype=int)


def _caps(fac: pd.DataFrame, config: SupervisionConfig) -> pd.Series:
    """The cap of each enterprise: by level, and by standardisation grade (first matching rule)."""
    cap = fac[LEVEL].map(config.caps_by_level).astype(float).fillna(np.inf)
    if config.caps:
        grade = fac.get("standardisation_grade", pd.Series(0, index=fac.index)).fillna(0).astype(int)
        grade_key = grade.map(_GRADE_NAMES).fillna("none")
        by_rule = pd.Series(np.inf, index=fac.index)
        matched = pd.Series(False, index=fac.index)
        for rule in config.caps:
            applies = ~matched & (fac[SECTOR].isin(rule.sectors) if rule.sectors else True)
            value = grade_key.map(rule.by_grade).astype(float).fillna(np.inf)
            by_rule = by_rule.where(~applies, value)
            matched |= applies
        cap = np.minimum(cap, by_rule)
    return cap


def _priority(fac: pd.DataFrame, drawn: pd.Series) -> pd.Series:
    """1 red, 2 major hazard installations, 3 orange, 4 yellow and not assessed, 5 drawn by lot (lower first).

    A not-assessed enterprise (level ``none``) may be of any level: its assessment visit goes with yellow.
    """
    p = fac[LEVEL].map({"red": 1, "orange": 3, "yellow": 4, "blue": 5, "none": 4}).fillna(5).astype(int)
    major = fac.get("gb18218_grade", pd.Series(0, index=fac.index)).fillna(0).astype(int) > 0
    return p.where(~(major & (p > 2)), 2).where(~drawn | (p < 5), 5)


#: Fixed-date public holidays (元旦, 劳动节, 国庆); the lunar ones move and come from the config.
_FIXED_HOLIDAYS = [(1, 1), *((5, d) for d in range(1, 6)), *((10, d) for d in range(1, 8))]


def _weekdays(year: int, month: int, holidays: frozenset[datetime.date] = frozenset()) -> list[datetime.date]:
    """Working days of a month: weekdays that are not public holidays."""
    days = calendar.monthrange(year, month)[1]
    off = holidays | {datetime.date(year, m, d) for m, d in _FIXED_HOLIDAYS}
    return [
        d
        for d in (datetime.date(year, month, i) for i in range(1, days + 1))
        if d.weekday() < 5 and d not in off
    ]


def _windows(insp: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """First and last month (1..12) of each inspection's window.

    The k-th (k = 0..n-1) of an enterprise's n inspections a year belongs in months
    ``floor(12k/n) + 1 .. floor(12(k+1)/n)``: a quarter for quarterly ones, its own month for monthly ones,
    months 1-2, 3-4, 5-7, 8-9, 10-12 for five a year. ``insp`` lists each enterprise's inspections together,
    in month order (as :func:`_inspection_months` makes it).
    """
    rows = insp["i"].to_numpy()
    n = np.bincount(rows)[rows]
    k = insp.groupby("i", sort=False).cumcount().to_numpy()
    return 12 * k // n + 1, 12 * (k + 1) // n


def _fit_windows(
    month: np.ndarray, first: np.ndarray, last: np.ndarray, priority: np.ndarray, month_cap: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each inspection's month within its window, and whether it is scheduled within the monthly capacity.

    The rules:

    - an inspection is only ever placed inside its own window (so never two of an enterprise in one window),
      whatever the capacity; one that its window has no room for keeps its month and is a shortfall;
    - as many inspections of priority 1 as fit are scheduled, then of priority 2 given those, and so on;
    - with those counts, as few inspections as possible leave their month, and not far.

    The inspections of one (priority, window, month) class are interchangeable, so the work is on a few hundred
    classes whatever the number of enterprises: a count by priority (:func:`_schedulable`), then a small
    transportation problem for the months (:func:`_class_months`). Within a class, inspections are taken in
    the order given (by town and id): the first ones stay in their month, the next ones move, the last ones are
    the shortfall.
    """
    key = ((priority.astype(np.int64) * 13 + first) * 13 + last) * 13 + month
    classes, of_class, counts = np.unique(key, return_inverse=True, return_counts=True)
    groups, of_group = np.unique(classes // 13, return_inverse=True)  # classes of one priority and window
    keep = _schedulable(groups, np.bincount(of_group, weights=counts).astype(np.int64), month_cap)
    if keep.sum() == len(month) and (np.bincount(month - 1, minlength=12) <= month_cap).all():
        return month, np.ones(len(month), dtype=bool)  # everything fits where it is
    seg_class, seg_month, seg_size, seg_kept = _class_months(classes, counts, of_group, keep, month_cap)
    # Segments in class order; inspections sorted by class (stably) take their class's segments in turn.
    order = np.argsort(of_class, kind="stable")
    out = np.empty_like(month)
    scheduled = np.empty(len(month), dtype=bool)
    out[order] = np.repeat(seg_month, seg_size)
    scheduled[order] = np.repeat(seg_kept, seg_size)
    return out, scheduled


def _schedulable(groups: np.ndarray, sizes: np.ndarray, month_cap: np.ndarray) -> np.ndarray:
    """How many inspections of each group (``priority*169 + first*13 + last``) can be scheduled, by priority.

    A set of inspections fits the months iff every run of months a..b has at least as much capacity as the
    inspections whose window lies inside it (Hall's condition: windows are runs of months). Groups are added
    highest priority first (shorter windows first among equals), each as far as every run around its window has
    room. Schedulable sets form a matroid, so this keeps the most of priority 1, then of 2 given those, etc.
    """
    last, first, prio = groups % 13, groups // 13 % 13, groups // 169
    cum = np.concatenate([[0], np.cumsum(month_cap)]).astype(np.int64)
    room = cum[None, 1:] - cum[:-1, None]  # room[a, b]: capacity of months a+1..b+1, for a <= b
    keep = np.zeros(len(groups), dtype=np.int64)
    for g in np.lexsort((first, last - first, prio)).tolist():
        a, b = int(first[g]) - 1, int(last[g]) - 1
        x = min(int(sizes[g]), max(int(room[: a + 1, b:].min()), 0))
        room[: a + 1, b:] -= x
        keep[g] = x
    return keep


def _class_months(
    classes: np.ndarray, counts: np.ndarray, of_group: np.ndarray, keep: np.ndarray, month_cap: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Months for the classes, moving as few inspections as possible: ``(class, month, size, scheduled)`` rows.

    A transportation problem: class c sends ``x[c, m]`` inspections to each month m of its window and leaves
    ``d[c]`` unscheduled; each group leaves exactly its unschedulable count, no month takes more than its
    capacity, and each move costs its distance in months (a tie goes to the later month). Its matrix is a
    network's, so the optimum is whole numbers. Rows come per class: the stay, the moves, then the shortfall.
    """
    from scipy.optimize import LinearConstraint, milp
    from scipy.sparse import coo_matrix

    month, last, first = classes % 13, classes // 13 % 13, classes // 169 % 13
    n_class = len(classes)
    var_class = np.repeat(np.arange(n_class), last - first + 1)
    start = np.repeat(np.cumsum(last - first + 1) - (last - first + 1), last - first + 1)
    var_month = first[var_class] + np.arange(len(var_class)) - start
    n_x = len(var_class)
    cost = np.concatenate(
        [2 * np.abs(var_month - month[var_class]) + (var_month < month[var_class]), np.zeros(n_class)]
    )
    drop = n_x + np.arange(n_class)
    rows = np.concatenate(
        [var_class, np.arange(n_class), n_class + of_group, n_class + len(keep) + var_month - 1]
    )
    cols = np.concatenate([np.arange(n_x), drop, drop, np.arange(n_x)])
    a = coo_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(n_class + len(keep) + 12, n_x + n_class)
    ).tocsr()
    sizes = np.bincount(of_group, weights=counts, minlength=len(keep))
    lower = np.concatenate([counts, sizes - keep, np.zeros(12)])
    upper = np.concatenate([counts, sizes - keep, month_cap])
    res = milp(
        cost,
        constraints=LinearConstraint(a, lower, upper),
        integrality=np.ones(len(cost)),
        bounds=(0, np.inf),
    )
    if res.x is None:  # pragma: no cover - the counts fit by construction
        raise AssertionError(f"inspection schedule: no assignment for the schedulable counts ({res.message})")
    flow = np.rint(res.x).astype(np.int64)
    # Per class: the stay first (cost 0), then moves by cost, then the shortfall (which keeps its month).
    seg_class = np.concatenate([var_class, np.arange(n_class)])
    seg_month = np.concatenate([var_month, month])
    seg_cost = np.concatenate([cost[:n_x], np.full(n_class, np.iinfo(np.int64).max)])
    seg_kept = np.concatenate([np.ones(n_x, dtype=bool), np.zeros(n_class, dtype=bool)])
    order = np.lexsort((seg_cost, seg_class))
    return seg_class[order], seg_month[order], flow[order], seg_kept[order]


def _inspection_months(months: list[str]) -> pd.DataFrame:
    """One row per inspection: ``i`` (the enterprise's row) and ``month``, in row order and then as written.

    The same as splitting and exploding ``months``, but each distinct text (a few dozen) is split once.
    """
    codes, texts = pd.factorize(np.asarray(months, dtype=object))
    lists = [[int(m) for m in t.split(",")] if t != "" else [] for t in texts]
    lens = np.array([len(m) for m in lists], dtype=np.intp)
    table = np.zeros((len(lists), max(lens.max(initial=0), 1)), dtype=np.int64)
    for j, m in enumerate(lists):
        table[j, : len(m)] = m
    per_row = lens[codes] if len(codes) else np.zeros(0, dtype=np.intp)
    rows = np.repeat(np.arange(len(months), dtype=np.int64), per_row)
    start = np.repeat(np.cumsum(per_row) - per_row, per_row)  # each inspection's row's first inspection
    return pd.DataFrame({"i": rows, "month": table[codes[rows], np.arange(len(rows)) - start]})


def _schedule(
    fac: pd.DataFrame, months: list[str], config: SupervisionConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per inspection, with a date when capacity is configured; and the per-month load table."""
    insp = _inspection_months(months)
    insp[PRIORITY] = fac[PRIORITY].to_numpy()[insp["i"]]
    insp["town"] = take_column(fac["town_code"].astype(str), insp["i"].to_numpy())
    insp["id"] = take_column(fac[FACILITY_ID], insp["i"].to_numpy())
    load = insp.groupby("month").size().reindex(range(1, 13), fill_value=0)
    table = pd.DataFrame({"month": range(1, 13), "planned": load.to_numpy()})
    cap_cfg = config.capacity
    if cap_cfg is None:
        insp["date"] = ""
        insp["scheduled"] = True
        table["capacity"] = np.nan
        table["scheduled"] = table["planned"]
        table["unscheduled"] = 0
        table["shortfall_officer_days"] = 0.0
        return insp, table
    holidays = frozenset(cap_cfg.holidays)
    weekdays = {m: _weekdays(config.year, m, holidays) for m in range(1, 13)}
    total_days = sum(len(d) for d in weekdays.values())
    per_insp = cap_cfg.inspector_days_per_inspection
    annual = cap_cfg.officers * cap_cfg.working_days * cap_cfg.field_share / per_insp
    month_cap = np.floor(np.array([annual * len(weekdays[m]) / total_days for m in range(1, 13)])).astype(int)
    window_first, window_last = _windows(insp)
    insp = insp.assign(_first=window_first, _last=window_last)
    insp = insp.sort_values(["month", PRIORITY, "town", "id"], kind="stable")
    month, scheduled = _fit_windows(
        insp["month"].to_numpy(),
        insp["_first"].to_numpy(),
        insp["_last"].to_numpy(),
        insp[PRIORITY].to_numpy(),
        month_cap,
    )
    insp = insp.drop(columns=["_first", "_last"]).assign(month=month, scheduled=scheduled)
    kept = insp[insp["scheduled"]].sort_values(["month", "town", PRIORITY, "id"], kind="stable")
    pos = kept.groupby("month").cumcount().to_numpy()
    kept_month = kept["month"].to_numpy()
    # Per-month lookups by array instead of a Python loop over the inspections.
    days = np.array([0] + [len(weekdays[m]) for m in range(1, 13)])
    first_day = np.concatenate([[0, 0], np.cumsum(days[1:])])  # index of each month's first day in `iso`
    iso = np.array([d.isoformat() for m in range(1, 13) for d in weekdays[m]], dtype=object)
    per_day = np.maximum(month_cap[kept_month - 1] / np.maximum(days[kept_month], 1), 1e-9)
    day_index = np.minimum((pos / per_day).astype(int), days[kept_month] - 1)
    insp["date"] = ""
    insp.loc[kept.index, "date"] = iso[first_day[kept_month] + day_index].tolist()
    scheduled = insp.groupby("month")["scheduled"].sum().reindex(range(1, 13), fill_value=0).to_numpy()
    # After rebalancing, "planned" counts the inspections each month holds.
    table["planned"] = np.bincount(insp["month"].to_numpy() - 1, minlength=12)
    table["capacity"] = month_cap
    table["scheduled"] = scheduled
    table["unscheduled"] = table["planned"] - table["scheduled"]
    table["shortfall_officer_days"] = (table["unscheduled"] * per_insp).round(1)
    return insp, table


#: Columns the plan uses when the facilities have them.
_OPTIONAL_COLUMNS = [
    "town_code", "zone_code", "zone_name", "gb18218_grade", "standardisation_grade", ON_MAP, NOT_ON_MAP_REASON,
    DECISION_NOTE,
]  # fmt: skip


def _rank(values: pd.Series) -> np.ndarray:
    """Each row's position once ``values`` are sorted as ``sort_values(kind="stable")`` sorts them.

    Ties stay in row order and missing values go last, so the rank can stand in for the values in a sort.
    """
    if values.hasnans:
        codes, uniques = pd.factorize(values, sort=True)
        order = np.argsort(np.where(codes < 0, len(uniques), codes), kind="stable")
    else:
        order = values.argsort(kind="stable").to_numpy()
    rank = np.empty(len(values), dtype=np.intp)
    rank[order] = np.arange(len(values))
    return rank


def _sort_codes(values: pd.Series) -> np.ndarray:
    """Integers that sort as ``values`` sort (missing last): town codes without a million Python strings."""
    codes, uniques = pd.factorize(values, sort=True)
    return np.where(codes < 0, len(uniques), codes)


def _unique_by_rank(values: pd.Series, rank: np.ndarray) -> bool:
    """``values.is_unique``, from the values in rank order: equal values are neighbours there.

    ``is_unique`` hashes a million id strings (a 90 MB table at the plan's memory peak); this compares
    neighbours of one sorted copy.
    """
    if values.hasnans or not isinstance(values.dtype, pd.StringDtype):
        return bool(values.is_unique)
    order = np.empty_like(rank)
    order[rank] = np.arange(len(rank))
    ordered = pd.Series(values.array.take(order))
    same = ordered.iloc[1:].reset_index(drop=True) == ordered.iloc[:-1].reset_index(drop=True)
    return not bool(same.any())


def _sort_order(keys: list[np.ndarray], kind: str = "quicksort") -> np.ndarray:
    """The row order of ``DataFrame.sort_values`` by these columns (first key first)."""
    frame = pd.DataFrame(dict(enumerate(keys)))
    return frame.sort_values(list(frame.columns), kind=kind).index.to_numpy()


#: Why an enterprise is in the plan this often (``{level}``: its level's words), and what changed it.
_PLAN_DRAWN = N_("{level} enterprise, random draw {rate}/year, drawn this year (seed {seed})")
_PLAN_NOT_DRAWN = N_("{level} enterprise, random draw {rate}/year, not drawn this year")
_PLAN_EVERY_YEAR = N_("{level} enterprise, {n} a year")
_PLAN_OVERDUE = N_("not inspected for {years} years, drawn first")
_NOT_ON_MAP = N_("not on the map: {why}, check its register entry")
_PLAN_CAPPED = N_("cap for enterprises of {grade} standardisation: {n} a year")


def _plan_reasons(
    facts: pd.DataFrame, rates: dict[str, float], seed: str, cover_years: int, lang: str = "zh"
) -> pd.Series:
    """The plan's reason of each row of ``facts`` (``level, level_zh, wanted, drawn, overdue, capped, grade, n``).

    In ``lang`` (``zh`` or ``en``), through the message catalog. ``facts`` holds each distinct combination once
    (:func:`_reason_column`): a few rows, worded one by one.
    """
    from riskmap.levels import label

    texts = []
    for f in facts.itertuples(index=False):
        level = Written(label(f.level, "en"), str(f.level_zh))
        rate = rates.get(f.level, 0.0)
        if f.drawn:
            main = Msg(_PLAN_DRAWN, level=level, rate=format(rate, ".0%"), seed=seed)
        elif rate > 0:
            main = Msg(_PLAN_NOT_DRAWN, level=level, rate=format(rate, ".0%"))
        else:
            main = Msg(_PLAN_EVERY_YEAR, level=level, n=f.wanted)
        clauses = [main.render(lang)]
        if f.overdue and f.drawn:
            clauses.append(tr(_PLAN_OVERDUE, years=cover_years, lang=lang))
        if f.capped:
            grade = Written(_GRADE_EN.get(f.grade, "no"), _GRADE_TEXTS.get(f.grade, "未达标准化"))
            clauses.append(tr(_PLAN_CAPPED, grade=grade, n=f.n, lang=lang))
        texts.append("; ".join(clauses))
    return pd.Series(texts, index=facts.index, dtype=object)


def _plan_rows(
    facilities: pd.DataFrame, strata_column: str, not_on_map: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, np.ndarray, bool]:
    """The columns the plan uses, sorted by town and id; the ids' ranks in that order and whether ids are unique.

    A facility without a town (no ``strata_column``) is in the one stratum "all"; ``town_code`` is the stratum.
    Enterprises ``not_on_map`` follow the facilities (on_map false, their stratum empty).
    """
    # Only the columns the plan uses: sorting (copying) a wide GeoDataFrame of a million rows took seconds.
    used = [FACILITY_ID, NAME, SECTOR, LEVEL, LEVEL_ZH, strata_column, *_OPTIONAL_COLUMNS]
    fac = pd.DataFrame(facilities[[c for c in dict.fromkeys(used) if c in facilities]])
    if not_on_map is not None and len(not_on_map):
        absent = not_on_map.assign(**{strata_column: ""}) if strata_column in fac else not_on_map
        fac = pd.concat(
            [fac.assign(**{ON_MAP: True}), absent[[c for c in absent if c in used]]], ignore_index=True
        )
        fac[ON_MAP] = fac[ON_MAP].astype(bool)
        fac[NOT_ON_MAP_REASON] = fac[NOT_ON_MAP_REASON].fillna("")
    # Sorted by town and id; the ids by their rank, which sorts the same and is much cheaper than the strings.
    id_rank = _rank(fac[FACILITY_ID])
    keys = [_sort_codes(fac[strata_column])] if strata_column in fac else []
    order = _sort_order([*keys, id_rank], kind="stable")
    fac = fac.take(order).reset_index(drop=True)
    id_rank = id_rank[order]
    unique = _unique_by_rank(fac[FACILITY_ID], id_rank)  # here, before the plan's big tables are made
    if strata_column not in fac:
        fac[strata_column] = "all"
    fac["town_code"] = fac[strata_column]
    return fac, id_rank, unique


def _frequency_floor(fac: pd.DataFrame, config: SupervisionConfig) -> pd.Series:
    """Inspections a year by level, a sector's own table overriding the default (0 where none applies)."""
    floor = fac[LEVEL].map(config.frequencies()).astype(float)  # `none` (not assessed) included
    for sector, table in config.frequency_by_sector.items():
        in_sector = fac[SECTOR] == sector
        override = fac.loc[in_sector, LEVEL].map(table)
        floor[in_sector] = override.fillna(floor[in_sector]).astype(float)
    return floor.fillna(0.0)


def _cover_overdue(fac: pd.DataFrame, history: pd.DataFrame | None, config: SupervisionConfig) -> pd.Series:
    """Whether each enterprise has gone uninspected for the cover period (``False`` without a history)."""
    if history is None:
        return pd.Series(False, index=fac.index)
    last = fac[FACILITY_ID].map(history.set_index(FACILITY_ID)["last_year"]).astype(float)
    # An enterprise missing from the history counts as uninspected only when the history reaches back over
    # the whole period; otherwise nobody knows.
    first = history.attrs.get("first_year")
    covered = first is not None and int(first) <= config.year - config.sampling.cover_years
    return (last.isna() & covered) | (config.year - last.fillna(config.year) >= config.sampling.cover_years)


def _history_warnings(history: pd.DataFrame | None, config: SupervisionConfig) -> list[str]:
    """What the plan history (``plan --history``) cannot tell: no earlier year at all, or too few years."""
    if history is None:
        return []
    first = history.attrs.get("first_year")
    cover = config.sampling.cover_years
    if first is None:
        return [
            tr(
                "the plans in --history are all of {year} or later: none is an earlier plan, so none tells which "
                "enterprises went uninspected (give the plans of the years before {year})",
                year=config.year,
            )
        ]
    if int(first) > config.year - cover:
        return [
            tr(
                "the plans in --history reach back to {first} only: an enterprise missing from them is not counted "
                "as uninspected for {cover} years (supervision.sampling.cover_years) until the plans of "
                "{start}..{end} are all there",
                first=first,
                cover=cover,
                start=config.year - cover,
                end=config.year - 1,
            )
        ]
    return []


def _draw_by_level(
    fac: pd.DataFrame,
    strata_column: str,
    id_rank: np.ndarray,
    rates: Mapping[str, float],
    overdue: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Which enterprises are drawn by lot: per level at its sampling rate, stratified by town."""
    drawn = np.zeros(len(fac), dtype=bool)
    for level in LEVEL_NAMES:
        rate = rates.get(level)
        if not rate:
            continue
        # Compared as a column: to_numpy() would make a million Python strings of the levels.
        rows = np.flatnonzero((fac[LEVEL] == level).to_numpy(dtype=bool, na_value=False))
        strata = fac[strata_column].take(rows).fillna("")
        drawn[_draw(rows, id_rank, rate, strata, overdue, rng)] = True
    return drawn


def _assign_inspectors(
    drawn: np.ndarray, roster: Sequence[str] | None, config: SupervisionConfig, rng: np.random.Generator
) -> np.ndarray:
    """Distinct inspectors drawn from the roster for each enterprise drawn by lot ("" elsewhere)."""
    inspectors = np.full(len(drawn), "", dtype=object)
    if roster:
        k = min(config.inspectors_per_inspection, len(roster))
        names = np.array(sorted(roster))
        for i in np.flatnonzero(drawn):
            inspectors[i] = "、".join(rng.choice(names, size=k, replace=False))
    return inspectors


def _schedule_columns(insp: pd.DataFrame, n: int) -> dict[str, Any]:
    """The plan's months, dates and unscheduled count per enterprise, from the schedule's rows."""
    by_month = insp.sort_values(["i", "month"])
    by_date = insp[insp["date"] != ""].sort_values(["i", "date"])
    unscheduled = np.bincount(insp["i"].to_numpy(), weights=~insp["scheduled"].to_numpy(), minlength=n)
    return {
        MONTHS: join_rows(by_month["i"].to_numpy(), by_month["month"].astype(str), n),
        DATES: join_rows(by_date["i"].to_numpy(), by_date["date"], n),
        UNSCHEDULED: unscheduled.astype(np.int64),
    }


def _reason_column(
    facts: pd.DataFrame, rates: dict[str, float], seed: str, cover_years: int, lang: str
) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """Each enterprise's plan reason from its ``facts`` (level, drawn, overdue, capped, grade, n ...)."""
    # The reason depends on these few low-cardinality columns only: written once per distinct combination.
    codes, first = distinct_rows(*(facts[c] for c in facts.columns))
    return take_column(_plan_reasons(facts.iloc[first], rates, seed, cover_years, lang), codes)


def _with_not_on_map(reasons: Any, fac: pd.DataFrame, lang: str) -> Any:
    """The plan reasons, with why an enterprise is not on the map where it is not (it is planned all the same)."""
    if NOT_ON_MAP_REASON not in fac:
        return reasons
    why = fac[NOT_ON_MAP_REASON].fillna("").astype(str)
    off = (why != "").to_numpy()
    if not off.any():
        return reasons
    out = pd.Series(np.asarray(reasons, dtype=object))
    # One clause per distinct reason (a few), the reason itself in the run's language already.
    clause = pd.Series(why[off].to_numpy()).map(
        {w: tr(_NOT_ON_MAP, why=w, lang=lang) for w in pd.unique(why[off])}
    )
    out[off] = out[off] + "; " + clause.to_numpy()
    return out.to_numpy(dtype=object)


def _with_decision(reasons: Any, fac: pd.DataFrame) -> Any:
    """The plan reasons headed by the committee's decision where one set the level (its frequency follows it)."""
    if DECISION_NOTE not in fac:
        return reasons
    note = fac[DECISION_NOTE].fillna("").astype(str).to_numpy(dtype=object)
    has = note != ""
    if not has.any():
        return reasons
    out = np.asarray(reasons, dtype=object).copy()
    out[has] = note[has] + "; " + out[has]
    return out


def _capacity_warnings(month_table: pd.DataFrame) -> list[str]:
    """A warning when the inspectors' capacity does not cover the plan in some months."""
    short = month_table[month_table["shortfall_officer_days"] > 0]
    if not len(short):
        return []
    return [
        tr(
            "capacity does not cover the plan in {months} months: {n} inspections not scheduled, shortfall {days} "
            "officer-days (see the plan's unscheduled column and the month table)",
            months=len(short),
            n=int(short["unscheduled"].sum()),
            days=f"{short['shortfall_officer_days'].sum():g}",
        )
    ]


def plan_inspections(
    facilities: pd.DataFrame,
    config: SupervisionConfig,
    district_code: str = "",
    strata_column: str = "town_code",
    history: pd.DataFrame | None = None,
    roster: Sequence[str] | None = None,
    lang: str = "zh",
    not_on_map: pd.DataFrame | None = None,
) -> InspectionPlan:
    """The inspection plan of ``config.year``; its ``plan_reason`` texts in ``lang`` (``zh`` or ``en``).

    ``facilities`` carries ``facility_id, name, sector, level, level_zh`` and the town code (``strata_column``);
    optionally ``gb18218_grade`` (priority) and ``standardisation_grade`` (caps). ``history`` is the output of
    :func:`read_history`; ``roster`` the inspectors' names. ``not_on_map`` lists enterprises rejected from the
    map (``facility_id`` or only ``name``, ``level`` not assessed, ``not_on_map_reason``): they are planned as
    well, their plan rows with ``on_map`` false.
    """
    fac, id_rank, unique = _plan_rows(facilities, strata_column, not_on_map)
    seed = draw_seed(config, district_code)
    rng = _rng(seed)
    per_year = _frequency_floor(fac, config)
    overdue = _cover_overdue(fac, history, config)
    rates = {str(k): v for k, v in config.sampling.rates.items()}
    drawn_at = _draw_by_level(fac, strata_column, id_rank, rates, overdue.to_numpy(), rng)
    drawn = pd.Series(drawn_at, index=fac.index)
    per_year[drawn] = np.maximum(per_year[drawn], 1.0)

    cap = _caps(fac, config)
    capped = per_year > cap
    wanted = pd.Series(np.ceil(per_year.to_numpy()).astype(int), index=fac.index)
    per_year = np.minimum(per_year, cap)
    n = np.ceil(per_year.to_numpy()).astype(int)
    fac[PRIORITY] = _priority(fac, drawn).to_numpy()
    group = n * 2 + drawn_at  # one group per (frequency, drawn) pair
    inspectors = _assign_inspectors(drawn_at, roster, config, rng)
    insp, month_table = _schedule(fac, months_for(n, _block_offsets(n, group)), config)

    grade = fac.get("standardisation_grade", pd.Series(0, index=fac.index)).fillna(0).astype(int)
    facts = pd.DataFrame(
        {
            "level": fac[LEVEL], "level_zh": fac[LEVEL_ZH], "wanted": wanted, "drawn": drawn,
            "overdue": overdue, "capped": capped, "grade": grade, "n": n,
        }
    )  # fmt: skip
    plan = pd.DataFrame(
        {
            "year": config.year,
            FACILITY_ID: fac[FACILITY_ID],
            NAME: fac[NAME],
            SECTOR: fac[SECTOR],
            "town_code": column_values(fac[strata_column]),
            "zone_code": column_values(fac.get("zone_code", pd.Series("", index=fac.index))),
            "zone_name": column_values(fac.get("zone_name", pd.Series("", index=fac.index))),
            LEVEL: fac[LEVEL],
            LEVEL_ZH: fac[LEVEL_ZH],
            PRIORITY: fac[PRIORITY],
            INSPECTIONS: n,
            **_schedule_columns(insp, len(fac)),
            DRAWN: drawn_at,
            "cover_overdue": overdue.to_numpy(),
            "inspectors": inspectors,
            "plan_reason": _with_decision(
                _with_not_on_map(
                    _reason_column(facts, rates, seed, config.sampling.cover_years, lang), fac, lang
                ),
                fac,
            ),
            ON_MAP: fac[ON_MAP].to_numpy(bool) if ON_MAP in fac else True,
        }
    )
    warnings = _history_warnings(history, config) + _capacity_warnings(month_table)
    build = _inspections_builder(insp, plan, id_rank, unique)
    load = month_table.set_index("month")["planned"]
    load.index.name = "month"
    return InspectionPlan(
        plan=plan, monthly_load=load, seed=seed, year=config.year, months=month_table,
        warnings=warnings, _inspections=build, lang=lang,
    )  # fmt: skip


def _inspections_builder(
    insp: pd.DataFrame, plan: pd.DataFrame, id_rank: np.ndarray, unique: bool
) -> Callable[[], pd.DataFrame]:
    """What makes the inspections table from the schedule (``insp``) and the plan, when it is first asked for.

    It holds the plan's own columns (the plan rows are the facilities in ``insp["i"]`` order), no copies.
    """

    def build() -> pd.DataFrame:
        rows = insp
        by = ["month", "date", "town", PRIORITY]
        if unique:  # then the ids' rank sorts them the same, whatever the row order
            # Sorted before the text columns are taken: each long column is then copied once, in its final order.
            at = rows["i"].to_numpy()
            rows = rows.take(_sort_order([*(rows[c].to_numpy() for c in by), id_rank[at]])).reset_index(
                drop=True
            )
        at = rows["i"].to_numpy()
        inspections = rows.assign(
            facility_id=take_column(plan[FACILITY_ID], at),
            name=take_column(plan[NAME], at),
            level=take_column(plan[LEVEL], at),
            level_zh=take_column(plan[LEVEL_ZH], at),
            zone_name=take_column(plan["zone_name"], at),
        )[["month", "date", FACILITY_ID, NAME, "town", "zone_name", LEVEL, LEVEL_ZH, PRIORITY, "scheduled"]]
        if not unique:
            inspections = inspections.sort_values([*by, FACILITY_ID]).reset_index(drop=True)
        return inspections

    return build


def zone_patrols(levels: pd.Series, config: SupervisionConfig) -> pd.Series:
    """Patrols per year of each zone from its level."""
    return levels.map(config.zone_patrols).fillna(0.0).astype(float)


def zone_workload(plan: pd.DataFrame, codes: pd.Series, code_column: pd.Series) -> pd.Series:
    """Inspections planned per zone: ``code_column`` is each plan row's code in the zone layer."""
    per_zone = pd.Series(plan[INSPECTIONS].to_numpy()).groupby(code_column.to_numpy()).sum()
    return per_zone.reindex(codes.to_numpy()).fillna(0).astype(int).reset_index(drop=True)
