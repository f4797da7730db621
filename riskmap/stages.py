"""The stage chain, validate -> score -> adjust -> zone -> supervise, and :func:`run_stages`, the one place that runs it.

Each stage is a function taking the records of the stages before it (a :class:`Pass`) and adding its own; the rows
each rejects go to the pass's :class:`~riskmap.results.Rejects`. An engine (:mod:`riskmap.engines`) locates the
facilities (validates them and puts them in zones) and grades them; adjustment, zoning and the plan run here.

Every command runs the stages through :func:`run_stages`. A run (:func:`riskmap.pipeline.run`, ``check``,
``plan``) makes one pass from the inputs. ``riskmap sensitivity`` keeps what the validate stage produced
(:class:`Basis`) and makes a pass per variant from the first stage the variant's keys touch (:func:`first_stage`),
the stages before it taken from the project's own pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sized
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.adjust import (
    EVENT_COLUMNS,
    AdjustmentResult,
    apply_adjustments,
    prepare_events,
    resolve_as_of,
    standardisation_grades,
)
from riskmap.columns import (
    DECIDED_ON,
    DECISION_NOTE,
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
    REJECT_REASON,
    SECTOR,
    STANDARDISATION_GRADE,
    ZONE_CODE,
)
from riskmap.config import TABLE_COLUMNS, Config
from riskmap.decisions import (
    Decisions,
    InForce,
    apply_facility_decisions,
    apply_zone_decisions,
    decision_notes,
    decisions_in_force,
    validate_decisions,
)
from riskmap.engines import Engine, Located, Scored, open_engine
from riskmap.engines.memory import table_sources
from riskmap.errors import InputError
from riskmap.exposure import add_persons, population_coverage, zone_population
from riskmap.frames import id_positions
from riskmap.i18n import tr
from riskmap.io.project import ProjectInputs, read_roster, required_tables
from riskmap.levels import NOT_ASSESSED
from riskmap.levels import label as level_label
from riskmap.methods import METHODS, ScoringInputs, score_facilities
from riskmap.methods.base import MethodResult
from riskmap.rejects import (
    Rejects,
    from_source,
    input_sources,
    is_duplicate,
    localised_rejects,
    reads_sheets,
    summarise_rejects,
)
from riskmap.sectors import unknown_sectors_warning
from riskmap.supervision import InspectionPlan, plan_inspections, zone_patrols, zone_workload
from riskmap.validate import id_notes, match_by_name, register_names, validate_sites, validate_table
from riskmap.zoning import aggregate_zones, apply_spillover, count_sites, spillover_hits, zone_code_column

__all__ = [
    "STAGES",
    "StageName",
    "Stage",
    "Pass",
    "Basis",
    "Validated",
    "Graded",
    "Zoned",
    "Supervised",
    "run_stages",
    "first_stage",
    "done",
]

StageName = Literal["validate", "score", "adjust", "zone", "supervise"]
#: The stages in the order they run.
STAGES: tuple[StageName, ...] = ("validate", "score", "adjust", "zone", "supervise")

#: Called with the name of each stage as it starts (the CLI shows progress with it).
Stage = Callable[[str], None]

_T = TypeVar("_T")


@dataclass
class Validated:
    """The validate stage: facilities located in zones, and the event tables validated against them."""

    located: Located
    #: Hidden dangers, accidents and standardisation grades, parsed (bad rows are in ``event_rejects``).
    events: dict[str, pd.DataFrame]
    event_rejects: Rejects
    #: Rejected event rows per facility id, copies of earlier rows left out (``None``: none rejected).
    rejected_events: pd.Series | None = None
    #: The committee's decisions validated (``None``: no ``[decisions]``); which are in force is the adjust stage's.
    decisions: Decisions | None = None


@dataclass
class Graded:
    """The score stage: graded facilities, the population raster's gaps already rejected."""

    facilities: gpd.GeoDataFrame
    #: Each method's results, for a later pass that grades with the method as this one did.
    methods: dict[str, MethodResult] = field(default_factory=dict)


@dataclass
class Zoned:
    """The zone stage: each zone layer with its level, counts and reasons."""

    layers: dict[str, gpd.GeoDataFrame]


@dataclass
class Supervised:
    """The supervise stage: the facilities with their inspections, the zones with patrols, the plan."""

    facilities: pd.DataFrame
    plan: InspectionPlan


@dataclass
class Basis:
    """What the passes after the first re-grade from: read once, validated once (``keep=True``)."""

    #: Located, validated facilities, with the persons within the GB 18218 radius when that method is used.
    facilities: gpd.GeoDataFrame
    #: The related tables (inventory, risk points, deductions) validated against the facilities.
    tables: dict[str, pd.DataFrame]
    #: How the facilities and each table are named in rejects.
    sources: dict[str, str]
    #: Zone layers, finest first (their population is added once, when a raster is given).
    zones: dict[str, gpd.GeoDataFrame]
    #: Validated sensitive sites, when configured.
    sites: gpd.GeoDataFrame | None = None
    #: The settings the facilities' persons were counted with (:func:`_persons_settings`).
    persons_for: tuple[float, str | None] | None = None
    #: Zones near big major hazards, by spillover settings and hazards: shared by the passes that share them.
    spillover: dict[tuple[str, tuple[str, ...]], Any] = field(default_factory=dict)


@dataclass
class Pass:
    """The records of one pass of the stages under ``config``; a later pass may start from any of them.

    A pass from the inputs starts as ``Pass(project)``. It keeps what a run reads at the end: the graded and the
    adjusted facility tables go once the next stage has used them (gigabytes at province size). A pass that
    starts from another's (:func:`run_stages` with ``start`` after ``validate``) keeps every record, for the
    passes after it.
    """

    project: ProjectInputs
    #: The date dynamic adjustment is evaluated on (``--as-of``; default ``adjustment.as_of``, else today).
    as_of: date | str | None = None
    #: Earlier plans (``riskmap plan --history``), for the draw.
    history: pd.DataFrame | None = None
    #: The config the records were made under (``None`` until a stage has run).
    config: Config | None = None
    rejects: Rejects = field(default_factory=Rejects)
    #: What the stages had to say, in the order they ran.
    warnings: list[str] = field(default_factory=list)
    validated: Validated | None = None
    graded: Graded | None = None
    adjusted: gpd.GeoDataFrame | None = None
    adjustment: AdjustmentResult | None = None
    #: The decisions in force on the as-of date (the adjust stage's, when ``[decisions]`` is configured).
    decided: InForce | None = None
    zoned: Zoned | None = None
    supervised: Supervised | None = None
    basis: Basis | None = None


def done(record: _T | None, stage: StageName) -> _T:
    """The record of a stage that has run in a pass; a clear error when it has not (a pass started too late)."""
    if record is None:
        raise ValueError(f"the {stage} stage has not run in this pass")
    return record


def first_stage(base: Config, variant: Config) -> StageName | None:
    """The first stage whose settings differ between two configs (``None``: none does)."""
    if base.scoring != variant.scoring or base.methods != variant.methods:
        return "score"
    if base.adjustment != variant.adjustment:
        return "adjust"
    if base.zoning != variant.zoning:
        return "zone"
    return None


def run_stages(
    config: Config,
    earlier: Pass,
    *,
    start: StageName = "validate",
    until: StageName = "supervise",
    engine: Engine | None = None,
    keep: bool = False,
    levels_only: bool = False,
    stage: Stage | None = None,
) -> Pass:
    """Run the stages from ``start`` to ``until`` under ``config``; the records before ``start`` are ``earlier``'s.

    Parameters
    ----------
    config
        The validated project (a variant's, for a pass after the first).
    earlier
        ``Pass(project, as_of, history)`` for a pass from the inputs; else the pass to start from.
    start, until
        The first and the last stage to run. A pass from ``validate`` locates and grades with ``engine``
        (default: the configured one, open for those two stages); a later start re-grades from ``earlier``'s
        :class:`Basis`, reusing the results of the methods ``config`` grades with as ``earlier`` did.
    keep
        Keep a :class:`Basis` for the passes after this one.
    levels_only
        Zone without the reason texts and the hidden-danger counts (a variant needs levels only).
    stage
        Called with each stage's name as it starts.

    Returns
    -------
    Pass
        A new pass: ``earlier``'s records up to ``start``, then those of the stages run.

    Examples
    --------
    >>> import riskmap
    >>> from riskmap.config import load_config
    >>> from riskmap.io.project import read_inputs
    >>> config = load_config(riskmap.demo_dir() / "riskmap.toml")
    >>> p = run_stages(config, Pass(read_inputs(config)), until="score")  # located and graded
    >>> rejected = p.rejects.table()
    >>> len(p.graded.facilities) + int((rejected["source"] == "facilities.csv").sum()) == p.project.n_facilities
    True
    >>> run_stages(config, p, start="adjust")  # a later pass starts from a kept basis
    Traceback (most recent call last):
    ValueError: a pass from adjust starts from a pass made with keep=True
    """
    say = stage or (lambda _name: None)
    steps = STAGES[STAGES.index(start) : STAGES.index(until) + 1]
    first = start == "validate"
    if not first and earlier.basis is None:
        raise ValueError(f"a pass from {start} starts from a pass made with keep=True")
    # A later pass's rejects and warnings are its own: the run's are the first pass's.
    p = replace(earlier, config=config, rejects=earlier.rejects if first else Rejects(), warnings=[])
    with _engine_for(config, p, first, engine) as opened:
        if "validate" in steps:
            say("validate")
            p.validated = _locate(config, opened, p)
            p.basis = _keep(config, p, take="score" not in steps) if keep else None
        if "score" in steps:
            say("score")
            p.graded = _grade(config, opened, p, earlier, first)
    if "adjust" in steps:
        say("adjust")
        p.adjusted, p.adjustment = _adjust(config, p)
        if first:
            p.graded = None  # once adjusted, the graded table (its reason texts) can go
    if "zone" in steps:
        say("zone")
        p.zoned = _zone(config, p, first, levels_only)
    if "supervise" in steps:
        say("supervise")
        p.supervised = _supervise(config, p)
        if first:
            p.adjusted = None  # the plan's facility table is the adjusted one with the plan's columns
    return p


@contextmanager
def _engine_for(config: Config, p: Pass, needed: bool, engine: Engine | None) -> Iterator[Any]:
    """The engine given, else the configured one when the pass locates and grades (closed once it has)."""
    if engine is not None or not needed:
        yield engine
        return
    with open_engine(config, p.project.source) as opened:
        yield opened


# -- validate --------------------------------------------------------------------------------------------------


def _require_some(facilities: Sized, rejects: Rejects, n_in: int, source: str, several: bool) -> None:
    """Stop with the reasons when no facility is left: an empty map is never a result."""
    if len(facilities):
        return
    found = rejects.frame()
    found = found[from_source(found["source"], source, several)]
    if n_in == 0:
        raise InputError(tr("{source}: the file has no data rows", source=source))
    reasons = tr("; ").join(summarise_rejects(found, top=3))
    raise InputError(
        tr(
            "{source}: none of the {rows} rows can be used: {reasons}",
            source=source,
            rows=n_in,
            reasons=reasons,
        )
    )


def _locate(config: Config, engine: Engine, p: Pass) -> Validated:
    """Validate the facilities and put them in zones, then validate the event tables against them.

    Facilities are located before they are graded: a facility outside every zone is reported as such,
    whatever else may be wrong with it, and its related rows are rejected with it. Rows of related tables
    without an id find their facility by name here (``match_by_name``), before either engine reads them.
    """
    project, rejects = p.project, p.rejects
    names = register_names(project.facilities, config.facilities) if _matching_by_name(config) else None
    notes = id_notes(project.facilities, config.facilities, project.source)
    # Handed over, not kept: the engine frees the text as read once it is validated (hundreds of MB at
    # province size).
    located = engine.locate(project.take_facilities(), project.zones)
    located.warnings += notes
    p.warnings += located.warnings
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
    decisions = None
    if project.decisions is not None and config.decisions is not None:
        source = input_sources(config)["decisions"]
        decisions, bad = validate_decisions(
            project.decisions, config.decisions, located.known_ids, located.zones, source
        )
        rejects.add(bad)
    return Validated(located, events, event_rejects, _rejected_per_facility(event_rejects), decisions)


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


def _rejected_per_facility(event_rejects: Rejects) -> pd.Series | None:
    """Rejected event rows per facility id, copies of earlier rows left out (the record itself was used)."""
    found = event_rejects.frame()
    found = found[~is_duplicate(found)]
    return found["record_id"].value_counts() if len(found) else None


def _keep(config: Config, p: Pass, take: bool) -> Basis:
    """What the later passes re-grade from: the located facilities with their persons, the tables validated.

    The tables as read are left to the engine when this pass grades (``take=False``), else taken: nothing else
    reads them. The persons are counted here, on the located table the engine then grades (it counts none
    again).
    """
    project, validated = p.project, done(p.validated, "validate")
    raw = project.take_tables() if take else project.tables
    sources = table_sources(config, project.source, raw)
    needs = required_tables(config)
    known = validated.located.known_ids
    tables = {
        t: validate_table(df, t, getattr(config, t), known, sources[t], needs.get(t, ()))[0]
        for t, df in raw.items()
    }
    sites = None
    if config.sensitive_sites is not None:
        assert project.sites is not None
        source = input_sources(config)["sensitive_sites"]
        sites = validate_sites(project.sites, config.sensitive_sites, source)[0]
    facilities = validated.located.state
    if not isinstance(facilities, gpd.GeoDataFrame):  # partitions on a cluster: gone with the engine
        raise ValueError(
            "keep=True locates with the memory engine (MemoryEngine): the passes after re-grade one table"
        )
    if config.uses_method("gb18218"):
        add_persons(facilities, config)
    return Basis(facilities, tables, sources, validated.located.zones, sites, _persons_settings(config))


# -- score -----------------------------------------------------------------------------------------------------


def _grade(config: Config, engine: Engine, p: Pass, earlier: Pass, first: bool) -> Graded:
    """Grade the located facilities; those whose population the raster does not give are rejected.

    The first pass grades with the engine; a later one re-grades the kept :class:`Basis`, with the results of
    the methods it grades with as ``earlier`` did.
    """
    validated, rejects = done(p.validated, "validate"), p.rejects
    if first:
        scored, methods = engine.score(validated.located, p.project.take_tables()), {}
    else:
        methods = _reusable(earlier, config)
        scored = _regrade(config, done(p.basis, "validate"), methods)
    # In the order of the stages: event rows were validated before scoring.
    rejects.add(*scored.table_rejects.values(), *validated.event_rejects.frames)
    source = config.resolve(config.facilities.path).name
    facilities, uncovered = population_coverage(scored.facilities, config, source)
    rejects.add(uncovered, scored.score_rejects)
    if first:  # a variant that grades nothing is a result of the variant, not a stop
        several = reads_sheets(config.facilities)
        _require_some(facilities, rejects, p.project.n_facilities, p.project.source, several)
        unknown = unknown_sectors_warning(
            scored.facilities, scored.score_rejects, config.scoring, p.project.source
        )
        p.warnings += [unknown] if unknown else []
    return Graded(facilities, methods)


def _reusable(earlier: Pass, config: Config) -> dict[str, MethodResult]:
    """Results of the methods ``config`` grades with exactly as ``earlier``'s config did (a copy to fill)."""
    if earlier.graded is None or earlier.config is None:
        return {}
    base, cache = earlier.config, earlier.graded.methods
    if base.scoring != config.scoring:  # which sectors a method grades changes its results
        return {}
    changed = {n for n in METHODS if getattr(base.methods, n, None) != getattr(config.methods, n, None)}
    if "gb18218" in changed:
        changed.add("chem2018")  # its major-hazard item reads the GB 18218 grades
    return {n: r for n, r in cache.items() if n not in changed}


def _regrade(config: Config, basis: Basis, methods: dict[str, MethodResult]) -> Scored:
    """Grade the kept facilities under ``config``; ``methods`` has the results to reuse and gets the others."""
    fac, persons = basis.facilities, _persons_settings(config)
    if persons is not None and persons != basis.persons_for:  # a variant of buffer_m or persons_column
        fac = fac.copy()
        add_persons(fac, config)
    scored, rejected = score_facilities(
        ScoringInputs(fac, dict(basis.tables), basis.sources, methods), config
    )
    return Scored(gpd.GeoDataFrame(scored, geometry=fac.geometry.name, crs=fac.crs), {}, rejected)


def _persons_settings(config: Config) -> tuple[float, str | None] | None:
    """What the persons within the GB 18218 radius depend on (``None``: GB 18218 is not used)."""
    if not config.uses_method("gb18218"):
        return None
    return config.methods.gb18218.buffer_m, config.methods.gb18218.persons_column


# -- adjust ----------------------------------------------------------------------------------------------------


def _adjust(config: Config, p: Pass) -> tuple[gpd.GeoDataFrame, AdjustmentResult]:
    """Raise or lower levels by the adjustment rules (hidden dangers, accidents, standardisation)."""
    scored, validated = done(p.graded, "score").facilities, done(p.validated, "validate")
    as_of = resolve_as_of(p.as_of, config.adjustment)
    adjusted = apply_adjustments(
        scored, validated.events, config.adjustment, as_of, rejected=validated.rejected_events
    )
    facilities = adjusted.facilities
    if (
        validated.decisions is not None
    ):  # the committee's word after the rules, before the zones see the levels
        p.decided = decisions_in_force(validated.decisions, as_of)
        p.rejects.add(p.decided.rejects)
        facilities = apply_facility_decisions(facilities, p.decided)
    return gpd.GeoDataFrame(facilities, geometry=scored.geometry.name, crs=scored.crs), adjusted


# -- zone ------------------------------------------------------------------------------------------------------


def _zone(config: Config, p: Pass, first: bool, levels_only: bool) -> Zoned:
    """Zone levels from the facilities in them (and the population and sensitive sites, when given)."""
    scored = done(p.adjusted, "adjust")
    zones, site_points = (
        _zone_inputs(config, p) if first else _kept_zone_inputs(config, done(p.basis, "validate"))
    )
    sites = None
    if site_points is not None:
        sites = count_sites(zones, site_points, scored, config.zoning.index.vulnerability_distance_m)
    grey = config.scoring.unassessed == "grey"
    layers = aggregate_zones(scored, zones, config.zoning, sites, unassessed=grey, reasons=not levels_only)
    hits = None if first else _spillover_hits(config, done(p.basis, "validate"), layers, scored)
    layers = apply_spillover(layers, scored, config.zoning, hits)
    if p.decided is not None:  # a decided zone keeps its decided level, whatever its facilities say
        layers = apply_zone_decisions(layers, p.decided, reasons=not levels_only)
    if HD_OPEN in scored.columns and not levels_only:
        for kind, z in layers.items():
            sums = scored.groupby(zone_code_column(kind))[HD_STATS].sum()
            z[HD_STATS] = sums.reindex(z[ZONE_CODE]).fillna(0).astype(int).to_numpy()
    return Zoned(layers)


def _zone_inputs(config: Config, p: Pass) -> tuple[dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame | None]:
    """The zone layers with their population, and the sensitive sites validated (bad rows rejected)."""
    zones = done(p.validated, "validate").located.zones
    if config.population is not None:
        zone_population(zones, config, config.resolve(config.population.path), p.warnings)
    if config.sensitive_sites is None:
        return zones, None
    assert p.project.sites is not None
    source = input_sources(config)["sensitive_sites"]
    site_points, rejected = validate_sites(p.project.sites, config.sensitive_sites, source)
    p.rejects.add(rejected)
    return zones, site_points


def _kept_zone_inputs(
    config: Config, basis: Basis
) -> tuple[dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame | None]:
    """The kept zone layers (their population added once, unless the first pass did) and sensitive sites."""
    if config.population is not None and any("population" not in z.columns for z in basis.zones.values()):
        zone_population(basis.zones, config, config.resolve(config.population.path), [])
    return basis.zones, basis.sites


def _spillover_hits(
    config: Config, basis: Basis, layers: dict[str, gpd.GeoDataFrame], adjusted: gpd.GeoDataFrame
) -> dict[str, pd.DataFrame] | None:
    """The zones near big major hazards, computed once per spillover setting and set of hazards."""
    sp = config.zoning.spillover
    if sp is None or "gb18218_grade" not in adjusted.columns:
        return None
    big = adjusted["gb18218_grade"].fillna(0).astype(int).isin(sp.grades).to_numpy()
    key = (sp.model_dump_json(), tuple(adjusted[FACILITY_ID].to_numpy()[big]))
    if key not in basis.spillover:
        basis.spillover[key] = spillover_hits(layers, adjusted, config.zoning)
    return basis.spillover[key]


# -- supervise -------------------------------------------------------------------------------------------------


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
            NOT_ON_MAP_REASON: localised_rejects(rows)[REJECT_REASON]
            .astype(str)
            .to_numpy(),  # the run's language
            ON_MAP: False,
        }
    )


def _supervise(config: Config, p: Pass) -> Supervised:
    """Inspections per enterprise (frequencies, draws, schedule) and patrols per zone.

    The plan has a row per facility on the map and one per enterprise of the register not on the map (rejected,
    but known by an id or a name).
    """
    facilities, zones = done(p.adjusted, "adjust"), done(p.zoned, "zone").layers
    validated, as_of = done(p.validated, "validate"), done(p.adjustment, "adjust").as_of
    kinds = list(zones)
    strata = zone_code_column(kinds[-1]) if len(kinds) > 1 else zone_code_column(kinds[0])
    facilities[STANDARDISATION_GRADE] = standardisation_grades(
        validated.events.get("standardisation"), facilities[FACILITY_ID], as_of
    ).to_numpy()
    planned = facilities.assign(town_code=facilities[strata])
    if DECIDED_ON in facilities.columns:  # the decision heads the plan's reason
        planned[DECISION_NOTE] = decision_notes(facilities, config.project.lang).to_numpy()
    plan = plan_inspections(
        planned,
        config.supervision,
        config.project.district_code,
        history=p.history,
        roster=read_roster(config, p.project.files),
        lang=config.project.lang,
        not_on_map=_not_on_map(config, p.rejects.table(), facilities[FACILITY_ID]),
    )
    p.warnings += plan.warnings
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


def _positions(keys: pd.Series, wanted: pd.Series) -> np.ndarray:
    """Position in ``keys`` (unique ids) of each of ``wanted``, all of which are there."""
    at = id_positions(keys, wanted)
    if (at < 0).any():
        raise AssertionError("a facility without its plan row")  # the plan has one row per facility
    return at
