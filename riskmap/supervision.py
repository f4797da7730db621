"""Differentiated supervision (差异化监管): from levels to an inspection plan that fits the inspectors.

- **Frequencies**: inspections per year per level (floors), per sector if configured, never above the caps
  (by level, and by standardisation grade as current national policy limits how often an enterprise may be
  inspected).
- **Double-random draws (双随机)**: levels with a sampling rate draw that share of their enterprises by lot,
  stratified by town (largest-remainder shares), from a published seed anyone can use to re-draw the list.
  With earlier plans, enterprises not inspected for ``cover_years`` are drawn first. Drawn enterprises get
  random inspectors from the roster.
- **Schedule**: each enterprise's inspections are spread evenly over the year (quarterly is once a quarter),
  enterprises of one town share months and days, and with a capacity every inspection gets a date on a weekday
  within the officers' field days. When capacity does not cover the floors, inspections are kept by priority
  (red, then major hazards, then orange, yellow, drawn) and the shortfall is reported in officer-days.
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskmap.config import SupervisionConfig
from riskmap.levels import LEVEL_NAMES
from riskmap.methods import LEVEL, LEVEL_ZH
from riskmap.validate import FACILITY_ID, NAME, SECTOR

__all__ = [
    "PLAN_COLUMNS",
    "INSPECTIONS",
    "MONTHS",
    "DATES",
    "DRAWN",
    "PATROLS",
    "PRIORITY",
    "WORKLOAD",
    "UNSCHEDULED",
    "InspectionPlan",
    "plan_inspections",
    "draw_seed",
    "months_for",
    "zone_patrols",
    "zone_workload",
    "read_history",
]

INSPECTIONS = "inspections_per_year"
MONTHS = "months"
DATES = "dates"
DRAWN = "drawn_by_lot"
PATROLS = "patrols_per_year"
PRIORITY = "priority"
UNSCHEDULED = "unscheduled"
WORKLOAD = "inspections_planned"

PLAN_COLUMNS = [
    "year", FACILITY_ID, NAME, SECTOR, "town_code", "zone_code", "zone_name", LEVEL, LEVEL_ZH, PRIORITY,
    INSPECTIONS, MONTHS, DATES, UNSCHEDULED, DRAWN, "cover_overdue", "inspectors", "plan_reason",
]  # fmt: skip

_GRADE_NAMES = {1: "一级", 2: "二级", 3: "三级", 0: "none"}


@dataclass
class InspectionPlan:
    """The plan (one row per enterprise), the load per month against capacity, and the seed of the draws."""

    plan: pd.DataFrame
    monthly_load: pd.Series
    seed: str
    year: int
    months: pd.DataFrame = field(default_factory=pd.DataFrame)
    inspections: pd.DataFrame = field(default_factory=pd.DataFrame)
    warnings: list[str] = field(default_factory=list)


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
    out = []
    for n, off in zip(per_year.astype(int), offsets, strict=True):
        if n <= 0:
            out.append("")
            continue
        n = min(n, 12)
        step = 12 / n
        months = sorted({int(off + np.floor(i * step)) % 12 + 1 for i in range(n)})
        out.append(",".join(map(str, months)))
    return out


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
    members: pd.DataFrame, rate: float, strata: pd.Series, overdue: pd.Series, rng: np.random.Generator
) -> pd.Series:
    """Draw ``rate`` of ``members``, stratified (largest-remainder shares); overdue ones first in each stratum."""
    sizes = strata.value_counts().sort_index()
    quota = sizes * rate
    base = np.floor(quota).astype(int)
    remainder = (quota - base).sort_values(ascending=False, kind="stable")
    extra = max(int(round(rate * len(members))) - int(base.sum()), 0)
    base[remainder.index[:extra]] += 1
    drawn = pd.Series(False, index=members.index)
    groups = strata.groupby(strata.to_numpy(), sort=False).indices  # one pass, not one scan per town
    for stratum, k in base.items():
        if k <= 0:
            continue
        # Sorted by id before the permutation: the draw depends on the seed and the ids, not on row order.
        ids = members.index[groups[stratum]]
        ids = members.loc[ids].sort_values(FACILITY_ID).index
        order = ids[rng.permutation(len(ids))]
        order = order[np.argsort(~overdue.loc[order].to_numpy(), kind="stable")]  # overdue first
        drawn[order[:k]] = True
    return drawn


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
    """1 red, 2 major hazard installations, 3 orange, 4 yellow, 5 drawn by lot (lower goes first)."""
    p = fac[LEVEL].map({"red": 1, "orange": 3, "yellow": 4, "blue": 5}).fillna(5).astype(int)
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


INSPECTIONS_N = "_n"


def _rebalance(insp: pd.DataFrame, month_cap: np.ndarray) -> pd.DataFrame:
    """Move inspections out of months over capacity into months with room, within their own window.

    An enterprise inspected n times a year keeps one inspection per 12/n-month window (a quarterly one stays in
    its quarter); the lowest-priority inspections of a full month move first, to the window month with the most
    room. Only what no month can take stays over capacity.
    """
    insp = insp.sort_values(["month", PRIORITY, "town", "id"], kind="stable").reset_index(drop=True)
    load = np.bincount(insp["month"].to_numpy() - 1, minlength=12)
    room = month_cap - load
    months = insp["month"].to_numpy().copy()
    for m in np.flatnonzero(room < 0) + 1:
        excess = -room[m - 1]
        # Lowest priority last in the month: take candidates from the end.
        candidates = np.flatnonzero(months == m)[::-1]
        for idx in candidates:
            if excess <= 0:
                break
            interval = int(insp.at[idx, "interval"])
            start = (m - 1) // interval * interval + 1 if interval > 1 else 1
            window = range(start, start + interval) if interval > 1 else range(1, 13)
            spare = [(room[w - 1], -abs(w - m), w) for w in window if w != m and room[w - 1] > 0]
            if not spare:
                continue
            _, _, target = max(spare)
            months[idx] = target
            room[target - 1] -= 1
            room[m - 1] += 1
            excess -= 1
    insp["month"] = months
    return insp


def _window(month: int, interval: int) -> range:
    """The months an inspection may move within: its 12/n-month slot (a quarter for quarterly ones)."""
    if interval <= 1 or interval >= 12:
        return range(1, 13) if interval >= 12 else range(month, month + 1)
    start = (month - 1) // interval * interval + 1
    return range(start, start + interval)


def _promote(insp: pd.DataFrame) -> pd.DataFrame:
    """Priority across months: an unscheduled inspection replaces a lower-priority scheduled one.

    The replaced one must be in a month of the inspection's window, so red and major hazards are never left out
    while orange or drawn ones are planned. Each swap strictly raises the priority held by a slot, so the loop ends.
    """
    import heapq

    scheduled = insp["scheduled"].to_numpy().copy()
    months = insp["month"].to_numpy().copy()
    prio = insp[PRIORITY].to_numpy()
    interval = insp["interval"].to_numpy()
    held: dict[int, list[tuple[int, int]]] = {m: [] for m in range(1, 13)}  # max-heap of (-priority, row)
    for row in np.flatnonzero(scheduled).tolist():
        heapq.heappush(held[int(months[row])], (-int(prio[row]), row))
    waiting: list[tuple[int, int]] = [(int(prio[r]), r) for r in np.flatnonzero(~scheduled).tolist()]
    heapq.heapify(waiting)
    while waiting:
        p, i = heapq.heappop(waiting)
        best: tuple[tuple[int, int], int] | None = None
        for w in _window(int(months[i]), int(interval[i])):
            if held[w] and -held[w][0][0] > p:
                key = (-held[w][0][0], -abs(w - int(months[i])))
                if best is None or key > best[0]:
                    best = (key, w)
        if best is None:
            continue
        w = best[1]
        _, victim = heapq.heappop(held[w])
        scheduled[victim] = False
        heapq.heappush(waiting, (int(prio[victim]), victim))
        scheduled[i] = True
        months[i] = w
        heapq.heappush(held[w], (-p, i))
    return insp.assign(scheduled=scheduled, month=months)


def _schedule(
    fac: pd.DataFrame, months: list[str], config: SupervisionConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per inspection, with a date when capacity is configured; and the per-month load table."""
    rows = pd.DataFrame({"i": np.arange(len(fac)), MONTHS: months})
    rows = rows[rows[MONTHS] != ""]
    insp = rows.assign(month=rows[MONTHS].str.split(",")).explode("month").reset_index(drop=True)
    insp["month"] = insp["month"].astype(int)
    insp[PRIORITY] = fac[PRIORITY].to_numpy()[insp["i"]]
    insp["town"] = fac["town_code"].astype(str).to_numpy()[insp["i"]]
    insp["id"] = fac[FACILITY_ID].to_numpy()[insp["i"]]
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
    insp["interval"] = np.maximum(12 // np.minimum(fac[INSPECTIONS_N].to_numpy()[insp["i"]], 12), 1)
    insp = _rebalance(insp, month_cap)
    insp = insp.sort_values(["month", PRIORITY, "town", "id"], kind="stable")
    insp["rank_in_month"] = insp.groupby("month").cumcount()
    insp["scheduled"] = insp["rank_in_month"].to_numpy() < month_cap[insp["month"].to_numpy() - 1]
    insp = _promote(insp)
    kept = insp[insp["scheduled"]].sort_values(["month", "town", PRIORITY, "id"], kind="stable")
    pos = kept.groupby("month").cumcount().to_numpy()
    per_day = np.maximum(
        month_cap[kept["month"].to_numpy() - 1] / np.array([max(len(weekdays[m]), 1) for m in kept["month"]]),
        1e-9,
    )
    day_index = np.minimum((pos / per_day).astype(int), [len(weekdays[m]) - 1 for m in kept["month"]])
    insp["date"] = ""
    insp.loc[kept.index, "date"] = [
        weekdays[m][d].isoformat() for m, d in zip(kept["month"], day_index, strict=True)
    ]
    scheduled = insp.groupby("month")["scheduled"].sum().reindex(range(1, 13), fill_value=0).to_numpy()
    # After rebalancing, "planned" counts the inspections each month holds.
    table["planned"] = np.bincount(insp["month"].to_numpy() - 1, minlength=12)
    table["capacity"] = month_cap
    table["scheduled"] = scheduled
    table["unscheduled"] = table["planned"] - table["scheduled"]
    table["shortfall_officer_days"] = (table["unscheduled"] * per_insp).round(1)
    return insp, table


def plan_inspections(
    facilities: pd.DataFrame,
    config: SupervisionConfig,
    district_code: str = "",
    strata_column: str = "town_code",
    history: pd.DataFrame | None = None,
    roster: Sequence[str] | None = None,
) -> InspectionPlan:
    """The inspection plan of ``config.year``.

    ``facilities`` carries ``facility_id, name, sector, level, level_zh`` and the town code (``strata_column``);
    optionally ``gb18218_grade`` (priority) and ``standardisation_grade`` (caps). ``history`` is the output of
    :func:`read_history`; ``roster`` the inspectors' names.
    """
    fac = facilities.sort_values(
        [strata_column, FACILITY_ID] if strata_column in facilities else FACILITY_ID, kind="stable"
    ).reset_index(drop=True)
    if strata_column not in fac:
        fac[strata_column] = "all"
    fac["town_code"] = fac[strata_column]
    seed = draw_seed(config, district_code)
    rng = _rng(seed)
    floor = fac[LEVEL].map(config.frequency).astype(float)
    for sector, table in config.frequency_by_sector.items():
        in_sector = fac[SECTOR] == sector
        override = fac.loc[in_sector, LEVEL].map(table)
        floor[in_sector] = override.fillna(floor[in_sector]).astype(float)
    floor = floor.fillna(0.0)

    overdue = pd.Series(False, index=fac.index)
    if history is not None:
        last = fac[FACILITY_ID].map(history.set_index(FACILITY_ID)["last_year"]).astype(float)
        # An enterprise missing from the history counts as uninspected only when the history reaches back over
        # the whole period; otherwise nobody knows.
        first = history.attrs.get("first_year")
        covered = first is not None and int(first) <= config.year - config.sampling.cover_years
        overdue = (last.isna() & covered) | (
            config.year - last.fillna(config.year) >= config.sampling.cover_years
        )
    drawn = pd.Series(False, index=fac.index)
    per_year = floor.copy()
    rates = {str(k): v for k, v in config.sampling.rates.items()}
    for level in LEVEL_NAMES:
        rate = rates.get(level)
        if not rate:
            continue
        members = fac[fac[LEVEL] == level]
        got = _draw(members, rate, fac.loc[members.index, strata_column].fillna(""), overdue, rng)
        drawn[got[got].index] = True
    per_year[drawn] = np.maximum(per_year[drawn], 1.0)

    cap = _caps(fac, config)
    capped = per_year > cap
    wanted = pd.Series(np.ceil(per_year.to_numpy()).astype(int), index=fac.index)
    per_year = np.minimum(per_year, cap)
    n = np.ceil(per_year.to_numpy()).astype(int)
    fac[PRIORITY] = _priority(fac, drawn).to_numpy()
    group = np.array([f"{k}|{d}" for k, d in zip(n, drawn.to_numpy(), strict=True)])
    months = months_for(n, _block_offsets(n, group))

    inspectors = pd.Series("", index=fac.index)
    if roster:
        k = min(config.inspectors_per_inspection, len(roster))
        names = np.array(sorted(roster))
        for i in fac.index[drawn.to_numpy()]:
            inspectors[i] = "、".join(rng.choice(names, size=k, replace=False))

    fac[INSPECTIONS_N] = n
    insp, month_table = _schedule(fac, months, config)
    moved = insp.sort_values(["i", "month"]).groupby("i")["month"].agg(lambda ms: ",".join(map(str, ms)))
    months = moved.reindex(range(len(fac))).fillna("").tolist()
    dates = insp[insp["date"] != ""].sort_values(["i", "date"]).groupby("i")["date"].agg(",".join)
    unscheduled = (~insp["scheduled"]).groupby(insp["i"]).sum()

    rate_txt = fac[LEVEL].map(lambda k: f"{rates.get(k, 0.0):.0%}")
    n_txt = pd.Series(n, index=fac.index).astype(str)
    reason = pd.Series(
        np.select(
            [drawn.to_numpy(), fac[LEVEL].map(lambda k: rates.get(k, 0.0) > 0).to_numpy()],
            [
                (
                    fac[LEVEL_ZH] + "企业, 双随机抽查 " + rate_txt + "/年, 本年抽中 (种子 " + seed + ")"
                ).to_numpy(),
                (fac[LEVEL_ZH] + "企业, 双随机抽查 " + rate_txt + "/年, 本年未抽中").to_numpy(),
            ],
            default=(fac[LEVEL_ZH] + "企业, 每年 " + wanted.astype(str) + " 次").to_numpy(),
        ),
        index=fac.index,
    )
    reason[overdue & drawn] += f"; {config.sampling.cover_years} 年内未检查, 优先抽取"
    grade = fac.get("standardisation_grade", pd.Series(0, index=fac.index)).fillna(0).astype(int)
    grade_txt = grade.map({1: "标准化一级", 2: "标准化二级", 3: "标准化三级"}).fillna("未达标准化")
    reason[capped] += (
        "; "
        + grade_txt[capped]
        + "企业检查上限每年 "
        + n_txt[capped]
        + " 次, 压减至 "
        + n_txt[capped]
        + " 次"
    )
    plan = pd.DataFrame(
        {
            "year": config.year,
            FACILITY_ID: fac[FACILITY_ID],
            NAME: fac[NAME],
            SECTOR: fac[SECTOR],
            "town_code": fac[strata_column].to_numpy(),
            "zone_code": fac.get("zone_code", pd.Series("", index=fac.index)).to_numpy(),
            "zone_name": fac.get("zone_name", pd.Series("", index=fac.index)).to_numpy(),
            LEVEL: fac[LEVEL],
            LEVEL_ZH: fac[LEVEL_ZH],
            PRIORITY: fac[PRIORITY],
            INSPECTIONS: n,
            MONTHS: months,
            DATES: dates.reindex(range(len(fac))).fillna("").to_numpy(),
            UNSCHEDULED: unscheduled.reindex(range(len(fac))).fillna(0).astype(int).to_numpy(),
            DRAWN: drawn.to_numpy(),
            "cover_overdue": overdue.to_numpy(),
            "inspectors": inspectors.to_numpy(),
            "plan_reason": reason.to_numpy(),
        }
    )
    warnings = []
    short = month_table[month_table["shortfall_officer_days"] > 0]
    if len(short):
        warnings.append(
            f"capacity does not cover the plan in {len(short)} months: {int(short['unscheduled'].sum())} "
            f"inspections not scheduled, shortfall {short['shortfall_officer_days'].sum():g} officer-days "
            "(see the plan's unscheduled column and the month table)"
        )
    inspections = insp.assign(
        facility_id=fac[FACILITY_ID].to_numpy()[insp["i"]],
        name=fac[NAME].to_numpy()[insp["i"]],
        level=fac[LEVEL].to_numpy()[insp["i"]],
        level_zh=fac[LEVEL_ZH].to_numpy()[insp["i"]],
        zone_name=plan["zone_name"].to_numpy()[insp["i"]],
    )[["month", "date", FACILITY_ID, NAME, "town", "zone_name", LEVEL, LEVEL_ZH, PRIORITY, "scheduled"]]
    inspections = inspections.sort_values(["month", "date", "town", PRIORITY, FACILITY_ID]).reset_index(
        drop=True
    )
    load = month_table.set_index("month")["planned"]
    load.index.name = "month"
    return InspectionPlan(
        plan=plan, monthly_load=load, seed=seed, year=config.year, months=month_table,
        inspections=inspections, warnings=warnings,
    )  # fmt: skip


def zone_patrols(levels: pd.Series, config: SupervisionConfig) -> pd.Series:
    """Patrols per year of each zone from its level."""
    return levels.map(config.zone_patrols).fillna(0.0).astype(float)


def zone_workload(plan: pd.DataFrame, codes: pd.Series, code_column: pd.Series) -> pd.Series:
    """Inspections planned per zone: ``code_column`` is each plan row's code in the zone layer."""
    per_zone = pd.Series(plan[INSPECTIONS].to_numpy()).groupby(code_column.to_numpy()).sum()
    return per_zone.reindex(codes.to_numpy()).fillna(0).astype(int).reset_index(drop=True)
