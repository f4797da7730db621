"""The numbers of the report: computed once, read by the sentences, the tables and the cards alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED

if TYPE_CHECKING:
    from riskmap.results import RunResult

__all__ = ["Numbers", "report_numbers", "list_frame"]


@dataclass
class Numbers:
    """The values the report shows: counts per level and zone, the zone table, the plan per month and town."""

    lang: str
    levels: list[str]  # the levels shown (``none`` too when some facilities are not assessed)
    facilities: dict[str, int]
    scored: int
    zones: dict[str, dict[str, int]]  # kind -> level -> count
    coarse: str  # the zone layer of the zone table and the per-town plan (the coarsest)
    fine: str
    coarse_names: pd.Series  # code -> name of the coarse layer
    zone_table: pd.DataFrame
    months: pd.DataFrame  # month x level counts + planned, capacity, scheduled, shortfall
    towns: pd.DataFrame  # per coarse zone: enterprises, inspections, drawn, patrols
    extra: dict[str, Any] = field(default_factory=dict)

    def share(self, n: int) -> str:
        """``n`` as a share of the graded enterprises (``12.5%``)."""
        return f"{100 * n / self.scored:.1f}%" if self.scored else "0.0%"


def report_numbers(result: RunResult, lang: str = "zh") -> Numbers:
    """The values the report's sentences and tables are made of (one place, so that they always agree)."""
    from riskmap.columns import DRAWN, INSPECTIONS, PATROLS, RULE, ZONE_CODE, ZONE_NAME
    from riskmap.zoning import COUNT_COLUMNS, zone_code_column

    s = result.summary
    levels = list(LEVEL_NAMES) + ([NOT_ASSESSED] if s["facilities_per_level"].get(NOT_ASSESSED) else [])
    kinds = list(result.zones)
    coarse, fine = kinds[-1], kinds[0]
    cz = result.zones[coarse]
    names = pd.Series(cz[ZONE_NAME].astype(str).to_numpy(), index=cz[ZONE_CODE].astype(str).to_numpy())
    table = pd.DataFrame(cz[[ZONE_CODE, ZONE_NAME, *COUNT_COLUMNS, "n_facilities", RULE, "level"]])
    plan = result.plan
    insp = plan.inspections
    per_month = (
        pd.crosstab(insp["month"], insp["level"])
        .reindex(index=range(1, 13), columns=levels)
        .fillna(0)
        .astype(int)
    )
    months = per_month.copy()
    mt = plan.months.set_index("month") if len(plan.months) else pd.DataFrame(index=range(1, 13))
    months["planned"] = per_month.sum(axis=1)
    for col in ("capacity", "scheduled", "shortfall_officer_days"):
        months[col] = mt[col].reindex(months.index) if col in mt else np.nan
    code_col = zone_code_column(coarse) if len(kinds) > 1 else "zone_code"
    pp = plan.plan
    town_of_plan = pp["town_code"].astype(str) if len(kinds) > 1 else pp["zone_code"].astype(str)
    del code_col
    towns = pd.DataFrame(
        {
            "enterprises": town_of_plan.value_counts(),
            "inspections": pp[INSPECTIONS].groupby(town_of_plan).sum(),
            "drawn": pp[DRAWN].astype(int).groupby(town_of_plan).sum(),
        }
    )
    towns = towns.reindex(names.index).fillna(0).astype(int)
    towns.insert(0, "name", names)
    towns["patrols"] = pd.Series(cz[PATROLS].to_numpy(), index=names.index) if PATROLS in cz else np.nan
    return Numbers(
        lang=lang,
        levels=levels,
        facilities={k: int(s["facilities_per_level"].get(k, 0)) for k in levels},
        scored=int(s["facilities_scored"]) + int(s["facilities_unassessed"]),  # on the map: grey ones too
        zones={k: {lv: int(v.get(lv, 0)) for lv in levels} for k, v in s["zones_per_level"].items()},
        coarse=coarse,
        fine=fine,
        coarse_names=names,
        zone_table=table.reset_index(drop=True),
        months=months,
        towns=towns,
    )


def list_frame(result: RunResult, nums: Numbers, level: str, lang: str) -> pd.DataFrame:
    """The enterprises of ``level``, sorted by town then id, with the report's columns."""
    from riskmap.zoning import zone_code_column

    f = result.facilities
    sel = f[(f["level"] == level).to_numpy()]
    town_col = zone_code_column(nums.coarse)
    town_code = sel[town_col].astype(str) if town_col in sel else sel["zone_code"].astype(str)
    reasons = "reasons_en" if lang == "en" and "reasons_en" in sel else "reasons"
    out = pd.DataFrame(
        {
            "town_code": town_code.to_numpy(),
            "name": sel["name"].astype(str).to_numpy(),
            "facility_id": sel["facility_id"].astype(str).to_numpy(),
            "town": town_code.map(nums.coarse_names).fillna("").to_numpy(),
            "village": sel["zone_name"].astype(str).to_numpy(),
            "sector": sel["sector"].astype(str).to_numpy(),
            "level": sel["level"].to_numpy(),
            "method": sel["method"].astype(str).to_numpy() if "method" in sel else "",
            "reasons": sel[reasons].fillna("").astype(str).to_numpy(),
            "inspections": sel["inspections_per_year"].to_numpy() if "inspections_per_year" in sel else 0,
            "months": sel["months"].astype(str).to_numpy() if "months" in sel else "",
        }
    )
    return out.sort_values(["town_code", "facility_id"], kind="stable").reset_index(drop=True)
