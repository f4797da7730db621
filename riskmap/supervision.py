"""Differentiated supervision (差异化监管): inspections per enterprise, double-random draws, a monthly plan.

Levels with a frequency inspect every enterprise that often; levels with a sampling rate draw that share of
their enterprises by lot (双随机), stratified by zone so every town gets its share, from a published seed that
anyone can use to re-draw the list. Inspections are spread evenly over the year (quarterly means once a quarter).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

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
    "DRAWN",
    "InspectionPlan",
    "plan_inspections",
    "draw_seed",
    "months_for",
    "zone_patrols",
    "PATROLS",
]

INSPECTIONS = "inspections_per_year"
MONTHS = "months"
DRAWN = "drawn_by_lot"
PATROLS = "patrols_per_year"

PLAN_COLUMNS = [
    FACILITY_ID,
    NAME,
    SECTOR,
    "town_code",
    "zone_code",
    "zone_name",
    LEVEL,
    LEVEL_ZH,
    INSPECTIONS,
    MONTHS,
    DRAWN,
    "plan_reason",
]


@dataclass
class InspectionPlan:
    """The plan table (one row per enterprise), the monthly load and the seed used for the draws."""

    plan: pd.DataFrame
    monthly_load: pd.Series
    seed: str
    year: int


def draw_seed(config: SupervisionConfig, district_code: str) -> str:
    """The published seed: from the config, else ``<year>-<district code>``."""
    return config.sampling.seed or f"{config.year}-{district_code or '000000'}"


def _rng(seed: str) -> np.random.Generator:
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def _round_robin_offsets(per_year: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """Offsets that balance the monthly load.

    Within each group of equal frequency, enterprises take the months of their interval in turn (rows are already in a stable order), each group starting where the
    previous one stopped, so every month's load differs from another's by at most the number of groups.
    """
    offsets = np.zeros(len(per_year), dtype=int)
    start = 0
    groups = sorted(set(zip(per_year.tolist(), drawn.tolist(), strict=True)), reverse=True)
    for n, was_drawn in groups:
        if n <= 0:
            continue
        members = np.flatnonzero((per_year == n) & (drawn == was_drawn))
        interval = max(12 // min(n, 12), 1)
        offsets[members] = (start + np.arange(len(members))) % interval
        start = (start + len(members)) % 12
    return offsets


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


def _draw(facilities: pd.DataFrame, rate: float, strata: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Draw ``rate`` of the facilities, stratified: each stratum gets its largest-remainder share."""
    sizes = strata.value_counts().sort_index()
    quota = sizes * rate
    target = int(round(rate * len(facilities)))
    base = np.floor(quota).astype(int)
    remainder = (quota - base).sort_values(ascending=False, kind="stable")
    extra = max(target - int(base.sum()), 0)
    base[remainder.index[:extra]] += 1
    drawn = pd.Series(False, index=facilities.index)
    for stratum, k in base.items():
        if k <= 0:
            continue
        members = facilities.index[(strata == stratum).to_numpy()]
        # Sort before drawing so the draw depends on the seed and the ids, not on input row order.
        members = facilities.loc[members].sort_values(FACILITY_ID).index
        chosen = rng.choice(len(members), size=min(k, len(members)), replace=False)
        drawn[members[np.sort(chosen)]] = True
    return drawn


def plan_inspections(
    facilities: pd.DataFrame,
    config: SupervisionConfig,
    district_code: str = "",
    strata_column: str = "town_code",
) -> InspectionPlan:
    """The inspection plan of the year: frequency per level, double-random draws, months."""
    fac = facilities.sort_values(FACILITY_ID, kind="stable").reset_index(drop=True)
    seed = draw_seed(config, district_code)
    rng = _rng(seed)
    per_year = fac[LEVEL].map(config.frequency).fillna(0.0).astype(float)
    drawn = pd.Series(False, index=fac.index)
    strata = fac[strata_column] if strata_column in fac.columns else pd.Series("all", index=fac.index)
    for level in LEVEL_NAMES:
        rate = {str(k): v for k, v in config.sampling.rates.items()}.get(level)
        if not rate:
            continue
        members = fac[LEVEL] == level
        got = _draw(fac[members], rate, strata[members].fillna(""), rng)
        drawn[got[got].index] = True
        per_year[members & drawn] = np.maximum(per_year[members & drawn], 1.0)
    n = np.ceil(per_year.to_numpy()).astype(int)
    months = months_for(n, _round_robin_offsets(n, drawn.to_numpy()))
    sampled = fac[LEVEL].map(lambda k: config.sampling.rates.get(k, 0.0) > 0).to_numpy()
    rate_txt = fac[LEVEL].map(lambda k: f"{config.sampling.rates.get(k, 0.0):.0%}")
    reason = np.select(
        [drawn.to_numpy(), sampled],
        [
            (fac[LEVEL_ZH] + "企业, 双随机抽查 " + rate_txt + "/年, 本年抽中 (种子 " + seed + ")").to_numpy(),
            (fac[LEVEL_ZH] + "企业, 双随机抽查 " + rate_txt + "/年, 本年未抽中").to_numpy(),
        ],
        default=(
            fac[LEVEL_ZH] + "企业, 每年 " + pd.Series(n, index=fac.index).astype(str) + " 次"
        ).to_numpy(),
    )
    plan = pd.DataFrame(
        {
            FACILITY_ID: fac[FACILITY_ID],
            NAME: fac[NAME],
            SECTOR: fac[SECTOR],
            "town_code": strata.to_numpy(),
            "zone_code": fac.get("zone_code", pd.Series("", index=fac.index)).to_numpy(),
            "zone_name": fac.get("zone_name", pd.Series("", index=fac.index)).to_numpy(),
            LEVEL: fac[LEVEL],
            LEVEL_ZH: fac[LEVEL_ZH],
            INSPECTIONS: n,
            MONTHS: months,
            DRAWN: drawn.to_numpy(),
            "plan_reason": reason,
        }
    )
    load = (
        plan[MONTHS]
        .str.split(",")
        .explode()
        .replace("", np.nan)
        .dropna()
        .astype(int)
        .value_counts()
        .reindex(range(1, 13), fill_value=0)
    )
    load.index.name = "month"
    return InspectionPlan(plan=plan, monthly_load=load, seed=seed, year=config.year)


def zone_patrols(levels: pd.Series, config: SupervisionConfig) -> pd.Series:
    """Patrols per year of each zone from its level."""
    return levels.map(config.zone_patrols).fillna(0.0).astype(float)
