"""What a run produced: :class:`RunResult` (frames, plan, rejects, warnings, files) and its :class:`RunSummary`.

Kept apart from the pipeline so that the outputs can take a result without importing the orchestrator.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from riskmap.supervision import InspectionPlan

if TYPE_CHECKING:
    from riskmap.io.inputfiles import InputFile

__all__ = ["RunResult", "RunSummary"]


@dataclass
class RunResult:
    """Everything a run produced, in memory and on disk."""

    facilities: gpd.GeoDataFrame
    zones: dict[str, gpd.GeoDataFrame]
    plan: InspectionPlan
    rejects: pd.DataFrame
    summary: dict[str, Any]
    outputs: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: Every input file read, by key, hashed when it was read (its path and SHA-256 go into run.json).
    inputs: dict[str, InputFile] = field(default_factory=dict)
    #: Levels under the [sensitivity] variants (:class:`riskmap.sensitivity.SensitivityResult`), when asked.
    sensitivity: Any = None
    #: The committee's decisions applied (:func:`riskmap.decisions.decision_table`), when ``[decisions]`` is set.
    decisions: pd.DataFrame | None = None


@dataclass
class RunSummary:
    """The counts of a run, as written in run.json's ``summary`` (:meth:`to_dict`, in this order)."""

    #: Rows in = scored + unassessed + rejected: every register row is on the map or in the rejects.
    facilities_in: int
    #: Facilities graded by their sector's methods (red … blue).
    facilities_scored: int
    #: Facilities on the map as not assessed (grey, 未评估; only with ``scoring.unassessed = "grey"``, else 0).
    facilities_unassessed: int
    facilities_rejected: int
    facilities_per_level: dict[str, int]
    zones_per_level: dict[str, dict[str, int]]
    zone_labels: dict[str, str]
    rejects_by_source: dict[str, int]
    inspections_planned: int
    enterprises_drawn_by_lot: int
    monthly_load: dict[int, int]
    months: list[dict[str, Any]]
    draw_seed: Any
    plan_year: int
    as_of: str
    adjustment: dict[str, Any]
    top_reject_reasons: list[str]
    zoning_rule: dict[str, Any]
    facilities_with_rejected_records: int
    #: Enterprises rejected from the map (known by id or name) that the plan lists for a visit.
    enterprises_not_on_map: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The summary as a plain dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
