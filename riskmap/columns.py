"""The data contract: the column names and separators every stage writes and every output reads, spelled once.

A stage adds its columns to the facility or zone table; the outputs (GeoPackage, map, tables, report) read them
by these names. Import the name, never retype the string: a rename here then reaches every reader. The names of
the four levels (``red`` … ``blue``, their zh/en labels and colours) live in :mod:`riskmap.levels`; the names of
grades and other domain vocabularies (GB 18218 grades, accident classes, standardisation grades) in
:mod:`riskmap.vocabulary`. This module imports nothing, so every module can import it.
"""

from __future__ import annotations

__all__ = [
    "FACILITY_ID",
    "NAME",
    "SECTOR",
    "FOOTPRINT",
    "RAW_X",
    "RAW_Y",
    "ROW_CRS",
    "SWAPPED",
    "NO_XY",
    "NO_XY_FIELD",
    "ZONE_WRITTEN",
    "TOWN_WRITTEN",
    "CLAIMED_ZONE",
    "PLACED_BY",
    "PLACEMENT_COLUMNS",
    "LEVEL",
    "LEVEL_ZH",
    "SCORE",
    "METHOD",
    "REASONS",
    "REASONS_EN",
    "DATA_ISSUES",
    "persons_column",
    "PERSONS_COVERAGE",
    "PERSONS_PROBLEM",
    "PERSONS_NOTE",
    "PERSONS_NOTE_EN",
    "LEVEL_METHOD",
    "ADJUSTMENTS",
    "STANDARDISATION_GRADE",
    "HD_OPEN",
    "HD_OVERDUE",
    "HD_MAJOR_OPEN",
    "HD_STATS",
    "ZONE_CODE",
    "ZONE_NAME",
    "PARENT_CODE",
    "RULE",
    "ASSIGNMENT",
    "PLACED",
    "INDEX_COLUMNS",
    "SITES",
    "SITES_NEAR",
    "POPULATION",
    "INSPECTIONS",
    "ON_MAP",
    "NOT_ON_MAP_REASON",
    "MONTHS",
    "DATES",
    "DRAWN",
    "PATROLS",
    "PRIORITY",
    "UNSCHEDULED",
    "PLANNED_INSPECTIONS",
    "LEVEL_COMPUTED",
    "DECISION_REASON",
    "DECIDED_BY",
    "DECIDED_ON",
    "DECISION_VALID_UNTIL",
    "DECISION_COLUMNS",
    "DECISION_NOTE",
    "REJECT_COLUMNS",
    "REJECT_REASON",
    "REJECT_REASON_ZH",
    "REJECT_REASON_EN",
    "REASON_SEP_ZH",
    "REASON_SEP_EN",
]

# -- facilities, as validated (riskmap.validate) -----------------------------------------------------------------
FACILITY_ID = "facility_id"
NAME = "name"
SECTOR = "sector"
#: Polygon of a facility given as a plant boundary (vector input); its point geometry is a point inside it.
FOOTPRINT = "_footprint"
#: The coordinates as written (numbers, swapped back where swapped) in the row's own system, which ``ROW_CRS``
#: names (``"BD-09"``, ``"EPSG:4490"``, ...): what the shift check reads them as instead (private, tables only).
RAW_X = "_x"
RAW_Y = "_y"
ROW_CRS = "_crs"
#: Whether the row's x and y were swapped in the file and read swapped back (private).
SWAPPED = "_swapped"
#: Why a facility's coordinates cannot be used, and the field, for a facility that may be placed by its zone column
#: (``[facilities] zone_column``) instead of being rejected; ``""`` where they can (private).
NO_XY = "_no_xy"
NO_XY_FIELD = "_no_xy_field"
#: The zone and town as the register writes them (``zone_column``, ``town_column``; private).
ZONE_WRITTEN = "_zone_written"
TOWN_WRITTEN = "_town_written"
#: The code of the zone the register names for the facility (``zone_column``), where it names one (private).
CLAIMED_ZONE = "_claimed_zone"
#: ``"placed by <zone_column>"`` for a facility placed at a point inside its zone, else ``""`` (private).
PLACED_BY = "_placed_by"
#: The private columns of locating facilities, dropped once they are in zones.
PLACEMENT_COLUMNS = [
    RAW_X,
    RAW_Y,
    ROW_CRS,
    NO_XY,
    NO_XY_FIELD,
    ZONE_WRITTEN,
    TOWN_WRITTEN,
    CLAIMED_ZONE,
    PLACED_BY,
]

# -- scoring (riskmap.methods) -------------------------------------------------------------------------------------
#: A facility's level (``red`` … ``blue``, or ``none``); zone tables use the same column for the zone's level.
LEVEL = "level"
LEVEL_ZH = "level_zh"
SCORE = "score"
METHOD = "method"
#: Why the level, in Chinese: one text per method or rule, joined by :data:`REASON_SEP_ZH`.
REASONS = "reasons"
#: The same in English, joined by :data:`REASON_SEP_EN`.
REASONS_EN = "reasons_en"
#: Number of a facility's related rows (inventory, risk points, deductions) that were rejected, plus the values of
#: its own register a method refused (indicator cells such as ``3000以上``).
DATA_ISSUES = "rejected_records"


def persons_column(buffer_m: float) -> str:
    """The column of the persons within the GB 18218 radius of each facility, named by the radius.

    From a register column or the population raster; ``methods.gb18218.buffer_m`` is the radius, so the demo's
    500 m gives ``persons_500m``, a radius of 1 km ``persons_1000m`` (a fraction of a metre: ``persons_750_5m``).

    >>> persons_column(500.0), persons_column(1000), persons_column(750.5)
    ('persons_500m', 'persons_1000m', 'persons_750_5m')
    """
    return f"persons_{f'{buffer_m:.10g}'.replace('.', '_')}m"


#: Share of each facility's buffer the population raster covers with data (private: not written out).
PERSONS_COVERAGE = "_persons_coverage"
#: Why a facility's persons from ``methods.gb18218.persons_column`` cannot be used, "" if they can (private).
PERSONS_PROBLEM = "_persons_problem"
#: How a facility's persons were found, when a reader of its GB 18218 reason should know (written as approximate,
#: an empty cell counted from the raster, a buffer the raster covers only in part): zh and en, "" if nothing
#: to say (private: the GB 18218 method puts it into the reasons of major hazard installations).
PERSONS_NOTE = "_persons_note"
PERSONS_NOTE_EN = "_persons_note_en"

# -- dynamic adjustment (riskmap.adjust) ---------------------------------------------------------------------------
#: The level the grading methods gave, before adjustment (``level`` is the final one).
LEVEL_METHOD = "level_method"
#: Names of the rules whose condition held for the facility, joined by ``"; "``.
ADJUSTMENTS = "adjustments"
#: The best standardisation grade valid on the adjustment date (1 = 一级 … 3 = 三级; 0 = none).
STANDARDISATION_GRADE = "standardisation_grade"
HD_OPEN = "hd_open"
HD_OVERDUE = "hd_overdue"
HD_MAJOR_OPEN = "hd_major_open"
#: Hidden-danger statistics per facility (and summed per zone), as of the adjustment date.
HD_STATS = [HD_OPEN, HD_OVERDUE, HD_MAJOR_OPEN]

# -- zones (riskmap.zoning); a zone's level is in LEVEL ------------------------------------------------------------
ZONE_CODE = "zone_code"
ZONE_NAME = "zone_name"
PARENT_CODE = "parent_code"
RULE = "rule"
#: How a facility was placed: within, border (touches several zones), largest overlap, nearest (… m), placed by
#: <zone_column> (no usable coordinates: at a point inside the zone its register names).
ASSIGNMENT = "zone_assignment"
#: A zone's facilities placed by the register's zone column (no usable coordinates), their names joined by "、".
PLACED = "placed_by_column"
#: Columns of the index rule: its three parts (0..1 over the zones) and the index.
INDEX_COLUMNS = ["idx_hazard", "idx_exposure", "idx_vulnerability", "index"]
SITES = "n_sensitive_sites"
SITES_NEAR = "n_sites_near_hazard"
POPULATION = "population"

# -- supervision (riskmap.supervision) -----------------------------------------------------------------------------
#: Inspections a year of an enterprise (the inspection plan).
INSPECTIONS = "inspections_per_year"
MONTHS = "months"
DATES = "dates"
DRAWN = "drawn_by_lot"
#: Patrols a year of a zone.
PATROLS = "patrols_per_year"
PRIORITY = "priority"
#: Whether a plan row's enterprise is on the map (False: rejected from the map, in the plan for a visit).
ON_MAP = "on_map"
#: Why a plan row's enterprise is not on the map (its reject reason), empty for those on the map.
NOT_ON_MAP_REASON = "not_on_map_reason"
UNSCHEDULED = "unscheduled"
#: A zone's workload: the inspections a year the plan gives the enterprises in it.
PLANNED_INSPECTIONS = "inspections_planned"

# -- decisions of the committee (riskmap.decisions) ------------------------------------------------------------
#: The level the stages computed (facilities: after dynamic adjustment; zones: after zoning), kept beside ``level``
#: where an expert decision (专家研判) set it; equal to ``level`` elsewhere.
LEVEL_COMPUTED = "level_computed"
#: The decision in force on the as-of date, as its table writes it (empty where none): the audit trail.
DECISION_REASON = "decision_reason"
DECIDED_BY = "decided_by"
#: Dates as ``YYYY-MM-DD`` text (empty where none, or no end date).
DECIDED_ON = "decided_on"
DECISION_VALID_UNTIL = "valid_until"
#: The audit columns every facility and zone carries once decisions are configured.
DECISION_COLUMNS = [LEVEL_COMPUTED, DECISION_REASON, DECIDED_BY, DECIDED_ON, DECISION_VALID_UNTIL]
#: The decision as a reason in the run's language, for the plan's reason (private: not written out).
DECISION_NOTE = "_decision_note"

# -- rejects (riskmap.validate and every stage) --------------------------------------------------------------------
#: Columns of the rejects table.
#: Why a row was rejected, in English (code matches it), and in Chinese; the outputs write ``reason`` in the run's
#: language and the other language in ``reason_en`` (a Chinese run) or ``reason_zh`` (an English run).
REJECT_REASON = "reason"
REJECT_REASON_ZH = "reason_zh"
REJECT_REASON_EN = "reason_en"
REJECT_COLUMNS = [
    "source",
    "row",
    "record_id",
    "name",
    "field",
    "value",
    "stage",
    REJECT_REASON,
    REJECT_REASON_ZH,
]

# -- separators ----------------------------------------------------------------------------------------------------
#: Between the reasons of one facility, in Chinese texts (``reasons``).
REASON_SEP_ZH = "；"
#: Between the reasons of one facility, in English texts (``reasons_en``, ``adjustments``).
REASON_SEP_EN = "; "
