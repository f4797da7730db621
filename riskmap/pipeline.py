"""The one place that chains the stages: load -> validate -> score -> adjust -> zone -> supervise -> write.

Each stage is a function taking and returning a small record; the rows each rejects go to one
:class:`~riskmap.rejects.Rejects`. Reading is :func:`riskmap.io.project.read_inputs`, validation, zone
assignment and scoring run in an engine (:mod:`riskmap.engines`), writing is :func:`riskmap.outputs.run.write_run`.
"""

from __future__ import annotations

import ctypes
import json
import logging
import sys
from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.adjust import (
    EVENT_COLUMNS,
    AdjustmentResult,
    apply_adjustments,
    as_of_warnings,
    event_warnings,
    prepare_events,
    resolve_as_of,
    standardisation_grades,
)
from riskmap.columns import (
    DATA_ISSUES,
    FACILITY_ID,
    HD_OPEN,
    HD_STATS,
    LEVEL,
    LEVEL_ZH,
    NAME,
    NOT_ON_MAP_REASON,
    ON_MAP,
    PATROLS,
    PLANNED_INSPECTIONS,
    SECTOR,
    STANDARDISATION_GRADE,
    ZONE_CODE,
)
from riskmap.config import TABLE_COLUMNS, Config
from riskmap.engines import Engine, Located, open_engine
from riskmap.engines.memory import MemoryEngine, table_sources
from riskmap.errors import ConfigError, InputError, OutputError, RiskmapError
from riskmap.exposure import add_persons, population_coverage, zone_population
from riskmap.frames import id_positions
from riskmap.io.inputfiles import InputFile
from riskmap.io.postgis import connect, is_database, read_postgis, require_psycopg
from riskmap.io.project import (
    ProjectInputs,
    read_earlier_plans,
    read_facilities,
    read_inputs,
    read_related,
    read_roster,
    required_tables,
)
from riskmap.io.tables import ROW
from riskmap.io.vector import read_vector
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED
from riskmap.levels import label as level_label
from riskmap.methods import METHODS
from riskmap.outputs.run import check_outputs, write_plan, write_run
from riskmap.outputs.sensitivity import write_sensitivity
from riskmap.rejects import Rejects, from_source, input_sources, is_duplicate, reads_sheets, summarise_rejects
from riskmap.results import RunResult, RunSummary
from riskmap.sectors import unknown_sectors_warning
from riskmap.sensitivity import Basis, SensitivityResult, assess_variants
from riskmap.supervision import InspectionPlan, plan_inspections, read_history, zone_patrols, zone_workload
from riskmap.validate import (
    facility_columns,
    id_notes,
    mapped_columns,
    match_by_name,
    register_names,
    require_columns,
    validate_sites,
    validate_table,
)
from riskmap.zone_kinds import kind_label, project_kind_labels
from riskmap.zone_layers import load_zones, zone_codes, zone_polygons
from riskmap.zoning import aggregate_zones, apply_spillover, count_sites, rule_parameters, zone_code_column

__all__ = ["RunResult", "run", "check", "plan", "sensitivity", "preflight", "load_zones", "Stage"]

logger = logging.getLogger(__name__)

#: Called with the name of each stage as it starts (the CLI shows progress with it).
Stage = Callable[[str], None]


@dataclass
class Validated:
    """The validate stage: facilities located in zones, and the event tables validated against them."""

    located: Located
    #: Hidden dangers, accidents and standardisation grades, parsed (bad rows are in ``event_rejects``).
    events: dict[str, pd.DataFrame]
    event_rejects: Rejects


@dataclass
class Graded:
    """The score stage: graded facilities, the population raster's gaps already rejected."""

    facilities: gpd.GeoDataFrame
    #: What the stage has to say once (sector spellings no configured sector matches).
    warnings: list[str] = field(default_factory=list)


@dataclass
class Zoned:
    """The zone stage: each zone layer with its level, counts and reasons."""

    layers: dict[str, gpd.GeoDataFrame]
    warnings: list[str]


@dataclass
class Supervised:
    """The supervise stage: the facilities with their inspections, the zones with patrols, the plan."""

    facilities: pd.DataFrame
    plan: InspectionPlan


def _require_some(facilities: Sized, rejects: Rejects, n_in: int, source: str, several: bool) -> None:
    """Stop with the reasons when no facility is left: an empty map is never a result."""
    if len(facilities):
        return
    found = rejects.frame()
    found = found[from_source(found["source"], source, several)]
    if n_in == 0:
        raise InputError(f"{source}: the file has no data rows")
    reasons = "; ".join(summarise_rejects(found, top=3))
    raise InputError(f"{source}: none of the {n_in} rows can be used: {reasons}")


def _locate(config: Config, engine: Engine, project: ProjectInputs, rejects: Rejects) -> Validated:
    """Validate the facilities and put them in zones, then validate the event tables against them.

    Facilities are located before they are graded: a facility outside every zone is reported as such,
    whatever else may be wrong with it, and its related rows are rejected with it. Rows of related tables
    without an id find their facility by name here (``match_by_name``), before either engine reads them.
    """
    names = register_names(project.facilities, config.facilities) if _matching_by_name(config) else None
    notes = id_notes(project.facilities, config.facilities, project.source)
    # Handed over, not kept: the engine frees the text as read once it is validated (hundreds of MB at
    # province size).
    located = engine.locate(project.take_facilities(), project.zones)
    located.warnings += notes
    rejects.add(located.facility_rejects, located.zoning_rejects)
    several = reads_sheets(config.facilities)
    _require_some(located.known_ids, rejects, project.n_facilities, project.source, several)
    unnamed = Rejects()
    if names is not None:
        project.tables = _match_names(config, project.tables, names, located.known_ids, rejects)
        project.events = _match_names(config, project.events, names, located.known_ids, unnamed)
    events, validated = _validate_events(config, project.events, located.known_ids)
    project.events = {}
    event_rejects = Rejects()  # the event rows of unknown names first, as they were found
    event_rejects.add(*unnamed.frames, *validated.frames)
    return Validated(located, events, event_rejects)


def _matching_by_name(config: Config) -> bool:
    return any(getattr(getattr(config, t, None), "match_by_name", False) for t in TABLE_COLUMNS)


def _match_names(
    config: Config, tables: dict[str, pd.DataFrame], names: pd.DataFrame, known: pd.Index, rejects: Rejects
) -> dict[str, pd.DataFrame]:
    """The tables with the ids of rows without one found by name (:func:`riskmap.validate.match_by_name`)."""
    sources = input_sources(config)
    out = {}
    for table, df in tables.items():
        cfg = getattr(config, table)
        if cfg.match_by_name:
            df, rej = match_by_name(df, table, cfg, names, known, sources[table])
            rejects.add(rej)
        out[table] = df
    return out


def _grade(
    config: Config, engine: Engine, project: ProjectInputs, validated: Validated, rejects: Rejects
) -> Graded:
    """Grade the located facilities; those whose population the raster does not give are rejected."""
    scored = engine.score(validated.located, project.take_tables())
    # In the order of the stages: event rows were validated before scoring.
    rejects.add(*scored.table_rejects.values(), *validated.event_rejects.frames)
    facilities, uncovered = population_coverage(
        scored.facilities, config, config.resolve(config.facilities.path).name
    )
    rejects.add(uncovered, scored.score_rejects)
    _require_some(facilities, rejects, project.n_facilities, project.source, reads_sheets(config.facilities))
    unknown = unknown_sectors_warning(scored.facilities, scored.score_rejects, config.scoring, project.source)
    return Graded(facilities, [unknown] if unknown else [])


def _rejected_per_facility(event_rejects: Rejects) -> pd.Series | None:
    """Rejected event rows per facility id, copies of earlier rows left out (the record itself was used)."""
    found = event_rejects.frame()
    found = found[~is_duplicate(found)]
    return found["record_id"].value_counts() if len(found) else None


def _adjust(
    config: Config, graded: Graded, validated: Validated, as_of: date | str | None
) -> tuple[gpd.GeoDataFrame, AdjustmentResult]:
    """Raise or lower levels by the adjustment rules (hidden dangers, accidents, standardisation)."""
    scored = graded.facilities
    adjusted = apply_adjustments(
        scored,
        validated.events,
        config.adjustment,
        resolve_as_of(as_of, config.adjustment),
        rejected=_rejected_per_facility(validated.event_rejects),
    )
    return gpd.GeoDataFrame(adjusted.facilities, geometry=scored.geometry.name, crs=scored.crs), adjusted


def _zone(
    config: Config,
    project: ProjectInputs,
    zones: dict[str, gpd.GeoDataFrame],
    scored: gpd.GeoDataFrame,
    rejects: Rejects,
) -> Zoned:
    """Zone levels from the facilities in them (and the population and sensitive sites, when given)."""
    warnings: list[str] = []
    if config.population is not None:
        zone_population(zones, config, config.resolve(config.population.path), warnings)
    sites = None
    if config.sensitive_sites is not None:
        assert project.sites is not None
        site_points, rej = validate_sites(
            project.sites, config.sensitive_sites, input_sources(config)["sensitive_sites"]
        )
        rejects.add(rej)
        sites = count_sites(zones, site_points, scored, config.zoning.index.vulnerability_distance_m)
    grey = config.scoring.unassessed == "grey"
    layers = aggregate_zones(scored, zones, config.zoning, sites, unassessed=grey)
    layers = apply_spillover(layers, scored, config.zoning)
    if HD_OPEN in scored.columns:
        for kind, z in layers.items():
            sums = scored.groupby(zone_code_column(kind))[HD_STATS].sum()
            z[HD_STATS] = sums.reindex(z[ZONE_CODE]).fillna(0).astype(int).to_numpy()
    return Zoned(layers, warnings)


def _not_on_map(config: Config, rejects: pd.DataFrame, on_map: pd.Series) -> pd.DataFrame:
    """The enterprises of the register that are not on the map but are known by an id or a name: one row each.

    No enterprise of a register vanishes (DESIGN.md): one rejected for its coordinates, sector or id is in the
    plan all the same, not assessed, with the reason it is not on the map. A copy of an enterprise that is on
    the map (a duplicate id) is not another enterprise; rows without id and name identify nobody.
    """
    source = input_sources(config)["facilities"]
    rows = rejects[from_source(rejects["source"], source, reads_sheets(config.facilities))]
    ids, names = rows["record_id"].fillna("").astype(str), rows["name"].fillna("").astype(str)
    rows = rows[((ids != "") | (names != "")) & ~ids.isin(set(on_map.astype(str)) - {""})]
    ids, names = rows["record_id"].fillna("").astype(str), rows["name"].fillna("").astype(str)
    key = np.where(ids != "", "id:" + ids, "name:" + names)
    rows = rows[~pd.Series(key, index=rows.index).duplicated().to_numpy()]
    return pd.DataFrame(
        {
            FACILITY_ID: rows["record_id"].fillna("").astype(str).to_numpy(),
            NAME: rows["name"].fillna("").astype(str).to_numpy(),
            SECTOR: "",
            LEVEL: NOT_ASSESSED,
            LEVEL_ZH: level_label(NOT_ASSESSED, "zh"),
            NOT_ON_MAP_REASON: rows["reason"].astype(str).to_numpy(),
            ON_MAP: False,
        }
    )


def _supervise(
    config: Config,
    scored: gpd.GeoDataFrame,
    adjusted: AdjustmentResult,
    validated: Validated,
    zones: dict[str, gpd.GeoDataFrame],
    history: pd.DataFrame | None,
    files: dict[str, InputFile],
    absent: pd.DataFrame,
) -> Supervised:
    """Inspections per enterprise (frequencies, draws, schedule) and patrols per zone.

    The plan has a row per facility on the map and one per enterprise in ``absent`` (not on the map).
    """
    kinds = list(zones)
    strata = zone_code_column(kinds[-1]) if len(kinds) > 1 else zone_code_column(kinds[0])
    facilities = scored
    facilities[STANDARDISATION_GRADE] = standardisation_grades(
        validated.events.get("standardisation"), facilities[FACILITY_ID], adjusted.as_of
    ).to_numpy()
    plan = plan_inspections(
        facilities.assign(town_code=facilities[strata]),
        config.supervision,
        config.project.district_code,
        history=history,
        roster=read_roster(config, files),
        lang=config.project.lang,
        not_on_map=absent,
    )
    # Every facility has one plan row: its columns are taken over by position, not merged (a merge copies
    # the whole facility table, a gigabyte at province size).
    on_map = plan.plan[ON_MAP].to_numpy(bool)
    plan_at = np.flatnonzero(on_map)[_positions(plan.plan.loc[on_map, FACILITY_ID], facilities[FACILITY_ID])]
    facilities = facilities.reset_index(drop=True)
    for col in ("inspections_per_year", "months", "dates", "drawn_by_lot"):
        facilities[col] = plan.plan[col].array.take(plan_at)
    # A zone's workload counts the enterprises on the map in it (those not on the map have no zone).
    mapped = plan.plan[on_map]
    fac_of_plan = _positions(facilities[FACILITY_ID], mapped[FACILITY_ID])
    for kind, z in zones.items():
        z[PATROLS] = zone_patrols(z[LEVEL], config.supervision).to_numpy()
        codes = facilities[zone_code_column(kind)]
        z[PLANNED_INSPECTIONS] = zone_workload(mapped, z[ZONE_CODE], pd.Series(codes.array.take(fac_of_plan)))
    return Supervised(facilities, plan)


def _summarise(
    config: Config,
    n_in: int,
    supervised: Supervised,
    zones: dict[str, gpd.GeoDataFrame],
    all_rejects: pd.DataFrame,
    adjusted: AdjustmentResult,
) -> RunSummary:
    """The counts of the run, as run.json's ``summary``."""
    facilities, plan = supervised.facilities, supervised.plan
    grey = config.scoring.unassessed == "grey"
    source = input_sources(config)["facilities"]
    n_rejected = int(from_source(all_rejects["source"], source, reads_sheets(config.facilities)).sum())
    per_level = {k: int((facilities[LEVEL] == k).sum()) for k in (*LEVEL_NAMES, *(["none"] if grey else []))}
    return RunSummary(
        facilities_in=n_in,
        facilities_scored=len(facilities),
        facilities_rejected=n_rejected,
        facilities_per_level=per_level,
        zones_per_level={
            kind: {k: int((z[LEVEL] == k).sum()) for k in (*LEVEL_NAMES, "none")} for kind, z in zones.items()
        },
        zone_labels={kind: kind_label(kind, "zh", project_kind_labels(config)) for kind in zones},
        rejects_by_source={
            str(k): int(v) for k, v in all_rejects["source"].value_counts().sort_index().items()
        },
        inspections_planned=int(plan.plan["inspections_per_year"].sum()),
        enterprises_drawn_by_lot=int(plan.plan["drawn_by_lot"].sum()),
        monthly_load={int(k): int(v) for k, v in plan.monthly_load.items()},
        months=plan.months.replace({np.nan: None}).to_dict("records"),
        draw_seed=plan.seed,
        plan_year=plan.year,
        as_of=adjusted.as_of.isoformat(),
        adjustment={"up": adjusted.up, "down": adjusted.down, "rules": adjusted.rules},
        top_reject_reasons=summarise_rejects(all_rejects),
        zoning_rule=json.loads(rule_parameters(config.zoning)),
        facilities_with_rejected_records=(
            int((facilities[DATA_ISSUES] > 0).sum()) if DATA_ISSUES in facilities else 0
        ),
        facilities_unassessed=per_level["none"] if grey else None,
        enterprises_not_on_map=int((~plan.plan[ON_MAP].to_numpy(bool)).sum()),
    )


def _run_warnings(
    config: Config, project: ProjectInputs, summary: RunSummary, rejects: Rejects, validated: Validated
) -> list[str]:
    """The warnings a run ends with, after those of the stages: what is missing from the map and why."""
    warnings = _lost_tables(config, project.table_rows, project.table_sources, rejects)
    n_in, n_rejected = summary.facilities_in, summary.facilities_rejected
    if n_rejected:
        warnings.append(
            f"{n_rejected} of {n_in} facility rows ({n_rejected / n_in:.0%}) were rejected and are not on the "
            "map; see the rejects table"
        )
    incomplete = summary.facilities_with_rejected_records
    if incomplete:
        warnings.append(
            f"{incomplete} facilities were graded without some of their records (rejected inventory, risk point "
            "or deduction rows, or indicator values that could not be read): their level may be too low until "
            "those rows are fixed"
        )
    found = rejects.frame()
    of_facilities = from_source(found["source"], project.source, reads_sheets(config.facilities)).to_numpy()
    copies = found[is_duplicate(found) & ~of_facilities]
    if len(copies):
        per_file = ", ".join(f"{src}: {n}" for src, n in copies["source"].value_counts(sort=False).items())
        warnings.append(
            f"{len(copies)} rows of related tables repeat an earlier row ({per_file}) and were counted once: the "
            "same record listed twice (same record id, or identical in every column); see the rejects table"
        )
    bad_events = validated.event_rejects.frame()
    bad_events = bad_events[~is_duplicate(bad_events)]
    if len(bad_events):
        warnings.append(
            f"{len(bad_events)} hidden-danger, accident or standardisation rows were rejected: the "
            "facilities they belong to may be adjusted too little (or too much) until those rows are fixed; see "
            "the rejects table"
        )
    if summary.enterprises_not_on_map:
        warnings.append(
            f"{summary.enterprises_not_on_map} enterprises of the register are not on the map (rejected: see the "
            "rejects table) but are in the inspection plan as not assessed (未评估), each with the reason, for a "
            "visit that checks its register entry"
        )
    if summary.facilities_unassessed:
        # Kept on the map as "not assessed": counted in facilities_scored (rows in = scored + rejected).
        warnings.append(
            f"{summary.facilities_unassessed} facilities could not be graded by their sector's methods and are "
            "shown grey as not assessed (未评估), planned for an assessment visit (supervision.frequency.none)"
        )
    return warnings


def _dates_warnings(config: Config, validated: Validated, used: date, given: date | str | None) -> list[str]:
    """Whether the as-of date fits the plan year and the records (:func:`riskmap.adjust.as_of_warnings`)."""
    if given is not None:
        origin = "--as-of"
    elif config.adjustment.as_of is not None:
        origin = "adjustment.as_of"
    else:
        origin = "today: no --as-of or adjustment.as_of"
    return as_of_warnings(
        used, validated.events, config.supervision.year, input_sources(config), given=origin
    )


def _check_accounting(n_in: int, summary: RunSummary) -> None:
    # Accounting is the contract: every input row is either on the map or in the rejects table.
    if summary.facilities_scored + summary.facilities_rejected != n_in:
        raise AssertionError(
            f"row accounting broken: {n_in} in, {summary.facilities_scored} scored, "
            f"{summary.facilities_rejected} rejected"
        )


def _stages(config: Config, stage: Stage, as_of: date | str | None, history: Path | None) -> RunResult:
    reading = stage  # per input file: no memory to return between them
    stage = _returning_memory(stage)
    stage("load")
    # Read first: a bad history file stops the run before minutes of grading.
    earlier, history_files = _plan_history(history, config.supervision.year)
    project = read_inputs(config, progress=lambda name: reading(f"load:{name}"))
    project.files.update(history_files)
    rejects = Rejects()
    with open_engine(config, project.source) as engine:
        stage("validate")
        validated = _locate(config, engine, project, rejects)
        # The located facilities and the tables as read, kept for the variants (the engine frees its own).
        kept = (validated.located.state, dict(project.tables)) if config.outputs.sensitivity else None
        stage("score")
        graded = _grade(config, engine, project, validated, rejects)
    zones, engine_warnings = validated.located.zones, [*validated.located.warnings, *graded.warnings]
    stage("adjust")
    scored, adjusted = _adjust(config, graded, validated, as_of)
    del graded  # once adjusted, the graded table before adjustment (its reason texts) can go
    stage("zone")
    zoned = _zone(config, project, zones, scored, rejects)
    stage("supervise")
    absent = _not_on_map(config, rejects.table(), scored[FACILITY_ID])
    supervised = _supervise(config, scored, adjusted, validated, zoned.layers, earlier, project.files, absent)
    del scored
    assessed = None
    if kept is not None:
        stage("sensitivity")
        basis = _sensitivity_basis(config, project, validated, *kept, as_of)
        assessed = assess_variants(config, basis)
    project.check_late_reads()  # the population raster, read by the stages: still the file hashed
    all_rejects = rejects.table()
    summary = _summarise(config, project.n_facilities, supervised, zoned.layers, all_rejects, adjusted)
    _check_accounting(project.n_facilities, summary)
    warnings = [*project.warnings, *engine_warnings, *zoned.warnings, *supervised.plan.warnings]
    warnings += _run_warnings(config, project, summary, rejects, validated)
    warnings += _dates_warnings(config, validated, adjusted.as_of, as_of)
    warnings += event_warnings(validated.events, input_sources(config))
    warnings = list(dict.fromkeys(warnings))  # one file read for two sections (the register) notes once
    return RunResult(
        facilities=gpd.GeoDataFrame(
            supervised.facilities, geometry=supervised.facilities.geometry.name, crs="EPSG:4490"
        ),
        zones=zoned.layers,
        plan=supervised.plan,
        rejects=all_rejects,
        summary=summary.to_dict(),
        warnings=warnings,
        inputs=project.files,
        sensitivity=assessed,
    )


def _sensitivity_basis(
    config: Config,
    project: ProjectInputs,
    validated: Validated,
    facilities: gpd.GeoDataFrame,
    raw_tables: dict[str, pd.DataFrame],
    as_of: date | str | None,
) -> Basis:
    """What every sensitivity variant starts from: the located facilities, the tables validated against them."""
    sources = table_sources(config, project.source, raw_tables)
    needs = required_tables(config)
    known = validated.located.known_ids
    tables = {
        t: validate_table(df, t, getattr(config, t), known, sources[t], needs.get(t, ()))[0]
        for t, df in raw_tables.items()
    }
    sites = None
    if config.sensitive_sites is not None:
        assert project.sites is not None
        source = input_sources(config)["sensitive_sites"]
        sites = validate_sites(project.sites, config.sensitive_sites, source)[0]
    return Basis(
        facilities=facilities,
        tables=tables,
        sources=sources,
        events=validated.events,
        rejected_events=_rejected_per_facility(validated.event_rejects),
        zones=validated.located.zones,
        sites=sites,
        as_of=as_of,
    )


def _validate_events(
    config: Config, raw: dict[str, pd.DataFrame], known_ids: pd.Index
) -> tuple[dict[str, pd.DataFrame], Rejects]:
    """Hidden dangers, accidents and standardisation grades, parsed; their bad rows go to the rejects."""
    events: dict[str, pd.DataFrame] = {}
    rejects = Rejects()
    sources = input_sources(config)
    for table, df in raw.items():
        source = sources[table]
        clean, rej = validate_table(
            df, table, getattr(config, table), known_ids, source, EVENT_COLUMNS[table]
        )
        status_values = getattr(getattr(config, table), "status_values", None)
        events[table], bad = prepare_events(table, clean, source, status_values=status_values)
        rejects.add(rej, bad)
    return events, rejects


#: Which related table each adjustment condition reads.
_CONDITION_TABLES = {
    "open_hidden_danger": "hidden_dangers",
    "open_major_hidden_danger": "hidden_dangers",
    "overdue_hidden_danger": "hidden_dangers",
    "accident": "accidents",
    "standardisation": "standardisation",
}


def _users(config: Config, table: str) -> str:
    """The methods and adjustment rules that read ``table``, as a phrase for a message."""
    methods = [n for n, m in METHODS.items() if m.table == table and config.uses_method(n)]
    rules = [
        n for n, r in config.adjustment.named_rules() if _CONDITION_TABLES.get(r.when.condition) == table
    ]
    parts = [f"method {', '.join(methods)}"] if methods else []
    parts += [f"adjustment rule {', '.join(rules)}"] if rules else []
    if table == "standardisation":
        parts.append("the standardisation grades of the plan")
    return " and ".join(parts) or "nothing"


def _lost_tables(
    config: Config, rows: dict[str, int], sources: dict[str, str], rejects: Rejects
) -> list[str]:
    """Warn about related tables that give no facility any data: no rows, or none of a located facility.

    Such a table turns its methods and rules off for every facility without a word: grades fall back to other
    methods, adjustments never fire.
    """
    found = rejects.frame()
    unmatched = found.loc[(found["stage"] == "validate") & found["field"].isin([FACILITY_ID, NAME]), "source"]
    warnings = []
    for table, n in rows.items():
        source = sources[table]
        if n == 0:
            what = "has a header and no rows"
        elif int(from_source(unmatched, source, reads_sheets(getattr(config, table))).sum()) >= n:
            what = f"has {n} rows and none belongs to a facility on the map (ids unknown, empty or rejected)"
        else:
            continue
        warnings.append(
            f"{source} ([{table}]) {what}: {_users(config, table)} had no data for any facility; check the file "
            "and its facility_id column"
        )
    return warnings


def _plan_history(history: Path | None, year: int) -> tuple[pd.DataFrame | None, dict[str, InputFile]]:
    """Earlier plans from a directory of inspection_plan*.csv/xlsx files (riskmap's own), and their files."""
    if history is None:
        return None, {}
    frames, files = read_earlier_plans(history, year)
    return read_history(frames), files


def _positions(keys: pd.Series, wanted: pd.Series) -> np.ndarray:
    """Position in ``keys`` (unique ids) of each of ``wanted``, all of which are there."""
    at = id_positions(keys, wanted)
    if (at < 0).any():
        raise AssertionError("a facility without its plan row")  # the plan has one row per facility
    return at


def _return_free_memory() -> None:
    """Give memory freed by the last stage back to the operating system.

    Arrow's allocator and glibc's keep freed pages for reuse; at province size that is gigabytes a stage
    never uses again, counted in the peak of the next one.
    """
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl): nothing to trim
            pass


def _returning_memory(stage: Stage) -> Stage:
    def announce(name: str) -> None:
        _return_free_memory()
        stage(name)

    return announce


def check(
    config: Config, stage: Stage | None = None, as_of: date | str | None = None, history: Path | None = None
) -> RunResult:
    """Run every stage up to the plan without writing anything: the library side of ``riskmap validate``.

    The command runs :func:`preflight` (can every input file be read?) and then this; :func:`run` is this plus
    :func:`riskmap.outputs.run.write_run`.

    ``as_of`` is the date dynamic adjustment is evaluated on (default ``adjustment.as_of``, else today).
    """
    return _stages(config, stage or (lambda _s: None), as_of, history)


def run(
    config: Config,
    out_dir: str | Path | None = None,
    stage: Stage | None = None,
    as_of: date | str | None = None,
    history: Path | None = None,
    force: bool = False,
) -> RunResult:
    """Run the whole pipeline and write every output into ``out_dir`` (default: ``outputs.dir``).

    ``as_of`` is the date dynamic adjustment is evaluated on (default ``adjustment.as_of``, else today).
    The outputs are written as one set (a staging folder, then moved into place, ``run.json`` last with a
    manifest of every file and its SHA-256). Files in ``out_dir`` that riskmap did not write are never removed;
    ``force`` lets the run overwrite those that carry one of its output names.

    Raises
    ------
    RiskmapError
        A config, input or output problem that stops the run; row-level problems go to the rejects instead.
    """
    say = stage or (lambda _s: None)
    started = datetime.now(UTC)
    check_outputs(config, out_dir)  # before minutes of grading: the folder and the template can be used
    if config.outputs.postgis:  # before the grading: publishing needs psycopg
        require_psycopg("outputs.postgis", OutputError)
    result = check(config, say, as_of, history)
    _return_free_memory()
    say("write")
    return write_run(config, result, out_dir, started=started, force=force, stage=say)


def plan(
    config: Config,
    out_dir: str | Path | None = None,
    year: int | None = None,
    history: Path | None = None,
    stage: Stage | None = None,
    as_of: date | str | None = None,
    force: bool = False,
) -> RunResult:
    """Re-plan inspections without re-rendering the maps: writes the plan tables and ``plan.json`` only.

    ``year`` overrides ``supervision.year``; ``history`` is a directory of earlier ``inspection_plan.csv``
    files, so that enterprises not inspected for ``sampling.cover_years`` are drawn first. The files are
    written as one set, ``plan.json`` last with their manifest (as :func:`run` does with ``run.json``);
    ``force`` overwrites files of the same names that riskmap did not write.
    """
    if year is not None:
        config = config.model_copy(
            update={"supervision": config.supervision.model_copy(update={"year": year})}
        )
    check_outputs(config, out_dir)
    return write_plan(config, check(config, stage, as_of, history), out_dir, force)


def sensitivity(
    config: Config,
    out_dir: str | Path | None = None,
    stage: Stage | None = None,
    as_of: date | str | None = None,
    force: bool = False,
) -> SensitivityResult:
    """Levels under each ``[sensitivity]`` variant (``riskmap sensitivity``); writes the sensitivity tables.

    The inputs are read and validated once; each variant re-grades and re-zones from the located facilities
    (:func:`riskmap.sensitivity.assess_variants`). The tables and ``sensitivity.json`` (their manifest, last) are
    written into ``out_dir`` (default: ``outputs.dir``) as one set.

    Raises
    ------
    ConfigError
        The project has no ``[[sensitivity.variants]]``, or a variant sets an unknown key or a bad value.
    """
    if config.sensitivity is None or not config.sensitivity.variants:
        raise ConfigError(
            "the project file has no [[sensitivity.variants]]: add some, e.g. "
            '[[sensitivity.variants]] name = "LEC upper bounds", set = { "methods.lec.boundary" = "upper" } '
            "(riskmap init ships the common ones, commented out)"
        )
    check_outputs(config, out_dir)
    say = _returning_memory(stage or (lambda _s: None))
    say("load")
    project = read_inputs(config)
    rejects = Rejects()
    engine = MemoryEngine(config, project.source)
    say("validate")
    validated = _locate(config, engine, project, rejects)
    facilities = validated.located.state
    if config.uses_method("gb18218"):
        add_persons(facilities, config)
    if config.population is not None:
        zone_population(validated.located.zones, config, config.resolve(config.population.path), [])
    say("sensitivity")
    basis = _sensitivity_basis(config, project, validated, facilities, project.take_tables(), as_of)
    result = assess_variants(config, basis)
    project.check_late_reads()
    say("write")
    write_sensitivity(config, result, project.files, out_dir, force)
    return result


_TABLES = ("inventory", "risk_points", "deductions", "hidden_dangers", "accidents", "standardisation")


def _conninfo(cfg: object) -> str | None:
    return getattr(cfg, "conninfo", None)


def _check_connections(config: Config, problems: list[str]) -> set[str]:
    """Connect once to each database the inputs read; a failure is one problem naming the inputs using it.

    Returns the connection strings that failed: the checks of their inputs are skipped (the same error again).
    """
    inputs = [
        ("facilities", config.facilities),
        *((table, getattr(config, table, None)) for table in _TABLES),
        *((f"zones[{i}]", zc) for i, zc in enumerate(config.zones)),
        ("sensitive_sites", config.sensitive_sites),
    ]
    uses: dict[str, list[str]] = {}
    for what, cfg in inputs:
        if cfg is not None and (conninfo := _conninfo(cfg)) is not None:
            uses.setdefault(conninfo, []).append(what)
    failed = set()
    for conninfo, whats in uses.items():
        try:
            connect(conninfo, ", ".join(whats), read_only=True).close()
        except RiskmapError as err:
            problems.append(str(err))
            failed.add(conninfo)
    return failed


def _attempt(problems: list[str], fn: Callable[[], object]) -> None:
    """Run one file check, collecting a riskmap error as a problem instead of stopping."""
    try:
        fn()
    except RiskmapError as err:
        problems.append(str(err))


def _check_facility_file(config: Config, problems: list[str]) -> None:
    fc = config.facilities
    raw = read_facilities(config)
    source = config.resolve(fc.path).name
    cols = facility_columns(fc, isinstance(raw, gpd.GeoDataFrame), source)
    require_columns(raw, cols, source, "facilities")
    for i, rule in enumerate(config.methods.baseline.rules):  # register columns the baseline rules read
        where = f"methods.baseline.rules[{i}].when"
        _attempt(problems, partial(require_columns, raw, {"column": rule.when.column}, source, where))


def _check_table_file(config: Config, table: str, problems: list[str]) -> None:
    tcfg = getattr(config, table)
    df = read_related(config, table)
    path = config.resolve(tcfg.path)
    # Every column the configured methods and rules need, each reported (not only the first).
    needed = {FACILITY_ID} | set(EVENT_COLUMNS.get(table, ())) | mapped_columns(tcfg)
    if tcfg.match_by_name:  # rows may find their facility by name alone
        needed = (needed - {FACILITY_ID}) | {NAME}
    for name, method in METHODS.items():
        if method.table == table and config.uses_method(name):
            needed |= set(method.columns)
    for canonical in sorted(needed):
        columns = {canonical: tcfg.columns.get(canonical, canonical)}
        _attempt(problems, partial(require_columns, df, columns, path.name, f"{table}.columns"))


def _check_zone_file(config: Config, i: int) -> None:
    zc = config.zones[i]
    assert zc.path is not None
    path = config.resolve(zc.path)
    if is_database(zc):
        gdf = read_postgis(zc, crs=zc.crs, where=f"zones[{i}]")
    else:
        gdf = read_vector(path, layer=zc.layer, crs=zc.crs, where=f"zones[{i}]")
    require_columns(gdf, {"code": zc.code, "name": zc.name}, path.name, f"zones[{i}]")
    zone_codes(gdf[zc.code], gdf[ROW], path.name, zc.kind, [])  # codes Excel lost (3.29901E+11)
    zone_polygons(gdf, path.name, zc.kind, [])


def preflight(config: Config) -> list[str]:
    """Every file-level problem at once: missing files, unknown layers, missing columns.

    ``riskmap validate`` runs this before the stages, so a user fixing a project sees all such problems in one
    pass instead of one per run. Row-level problems are found by :func:`check`.
    """
    problems: list[str] = []
    failed = _check_connections(config, problems)  # a wrong password is said once, not once per table
    if _conninfo(config.facilities) not in failed:
        _attempt(problems, partial(_check_facility_file, config, problems))
    for table in _TABLES:
        tcfg = getattr(config, table, None)
        if tcfg is not None and _conninfo(tcfg) not in failed:
            _attempt(problems, partial(_check_table_file, config, table, problems))
    for i, zc in enumerate(config.zones):
        if zc.path is not None and _conninfo(zc) not in failed:
            _attempt(problems, partial(_check_zone_file, config, i))
    sites = config.sensitive_sites
    for label, path in (
        ("population", config.population.path if config.population else None),
        ("sensitive_sites", sites.path if sites is not None and not is_database(sites) else None),
        ("supervision.roster", config.supervision.roster),
    ):
        if path is not None and not config.resolve(path).exists():
            problems.append(
                f"{config.resolve(path)}: file not found ({label}); check the path in the project file"
            )
    return problems
