"""The orchestrator: a command's inputs read, its stages run, its counts and warnings, its outputs written.

``run`` (``riskmap run``) is ``check`` plus :func:`riskmap.outputs.run.write_run`; ``plan`` writes the plan tables
only; ``sensitivity`` re-grades under each ``[sensitivity]`` variant. Reading is
:func:`riskmap.io.project.read_inputs`; the stages (validate -> score -> adjust -> zone -> supervise) are chained
in one place, :func:`riskmap.stages.run_stages`; writing is in :mod:`riskmap.outputs`.
"""

from __future__ import annotations

import ctypes
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.adjust import EVENT_COLUMNS, as_of_warnings, event_warnings
from riskmap.columns import DATA_ISSUES, FACILITY_ID, LEVEL, NAME, ON_MAP
from riskmap.config import Config, with_overrides
from riskmap.decisions import DECISIONS_REQUIRED, decision_table, decision_warnings
from riskmap.engines.memory import MemoryEngine
from riskmap.errors import ConfigError, OutputError, RiskmapError
from riskmap.i18n import in_project_language, tr
from riskmap.io.inputfiles import InputFile
from riskmap.io.postgis import connect, is_database, read_postgis, require_psycopg
from riskmap.io.project import (
    ProjectInputs,
    read_decisions,
    read_earlier_plans,
    read_facilities,
    read_inputs,
    read_related,
)
from riskmap.io.tables import ROW
from riskmap.io.vector import read_vector
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED
from riskmap.methods import METHODS
from riskmap.outputs.run import check_outputs, write_plan, write_run
from riskmap.outputs.sensitivity import write_sensitivity
from riskmap.rejects import Rejects, from_source, input_sources, is_duplicate, reads_sheets, summarise_rejects
from riskmap.results import RunResult, RunSummary
from riskmap.sensitivity import SensitivityResult, assess_variants
from riskmap.stages import Pass, Stage, Supervised, Validated, done, run_stages
from riskmap.supervision import read_history
from riskmap.validate import facility_columns, mapped_columns, require_columns
from riskmap.zone_kinds import kind_label, project_kind_labels
from riskmap.zone_layers import load_zones, zone_codes, zone_polygons
from riskmap.zoning import rule_parameters

__all__ = ["RunResult", "run", "check", "plan", "sensitivity", "preflight", "load_zones", "Stage"]

logger = logging.getLogger(__name__)


def _summarise(
    config: Config, n_in: int, p: Pass, supervised: Supervised, all_rejects: pd.DataFrame
) -> RunSummary:
    """The counts of the run, as run.json's ``summary``: rows in = scored + unassessed + rejected."""
    facilities, plan, zones = supervised.facilities, supervised.plan, done(p.zoned, "zone").layers
    adjusted = done(p.adjustment, "adjust")
    grey = config.scoring.unassessed == "grey"
    source = input_sources(config)["facilities"]
    n_rejected = int(from_source(all_rejects["source"], source, reads_sheets(config.facilities)).sum())
    per_level = {
        k: int((facilities[LEVEL] == k).sum()) for k in (*LEVEL_NAMES, *([NOT_ASSESSED] if grey else []))
    }
    n_unassessed = per_level.get(NOT_ASSESSED, 0)
    return RunSummary(
        facilities_in=n_in,
        facilities_scored=len(facilities) - n_unassessed,
        facilities_unassessed=n_unassessed,
        facilities_rejected=n_rejected,
        facilities_per_level=per_level,
        zones_per_level={
            kind: {k: int((z[LEVEL] == k).sum()) for k in (*LEVEL_NAMES, "none")} for kind, z in zones.items()
        },
        zone_labels={
            kind: kind_label(kind, config.project.lang, project_kind_labels(config)) for kind in zones
        },
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
            tr(
                "{rejected} of {rows} facility rows ({share}) were rejected and are not on the map; see the rejects "
                "table",
                rejected=n_rejected,
                rows=n_in,
                share=f"{n_rejected / n_in:.0%}",
            )
        )
    incomplete = summary.facilities_with_rejected_records
    if incomplete:
        warnings.append(
            tr(
                "{count} facilities were graded without some of their records (rejected inventory, risk point or "
                "deduction rows, or indicator values that could not be read): their level may be too low until "
                "those rows are fixed",
                count=incomplete,
            )
        )
    found = rejects.frame()
    of_facilities = from_source(found["source"], project.source, reads_sheets(config.facilities)).to_numpy()
    copies = found[is_duplicate(found) & ~of_facilities]
    if len(copies):
        per_file = ", ".join(f"{src}: {n}" for src, n in copies["source"].value_counts(sort=False).items())
        warnings.append(
            tr(
                "{count} rows of related tables repeat an earlier row ({per_file}) and were counted once: the same "
                "record listed twice (same record id, or identical in every column); see the rejects table",
                count=len(copies),
                per_file=per_file,
            )
        )
    bad_events = validated.event_rejects.frame()
    bad_events = bad_events[~is_duplicate(bad_events)]
    if len(bad_events):
        warnings.append(
            tr(
                "{count} hidden-danger, accident or standardisation rows were rejected: the facilities they belong "
                "to may be adjusted too little (or too much) until those rows are fixed; see the rejects table",
                count=len(bad_events),
            )
        )
    if summary.enterprises_not_on_map:
        warnings.append(
            tr(
                "{count} enterprises of the register are not on the map (rejected: see the rejects table) but are in "
                "the inspection plan as not assessed, each with the reason, for a visit that checks its register "
                "entry",
                count=summary.enterprises_not_on_map,
            )
        )
    if summary.facilities_unassessed:
        # Kept on the map as "not assessed": counted apart (rows in = scored + unassessed + rejected).
        warnings.append(
            tr(
                "{count} facilities could not be graded by their sector's methods and are shown grey as not "
                "assessed, planned for an assessment visit (supervision.frequency.none)",
                count=summary.facilities_unassessed,
            )
        )
    return warnings


def _dates_warnings(config: Config, validated: Validated, used: date, given: date | str | None) -> list[str]:
    """Whether the as-of date fits the plan year and the records (:func:`riskmap.adjust.as_of_warnings`)."""
    if given is not None:
        origin = "--as-of"
    elif config.adjustment.as_of is not None:
        origin = "adjustment.as_of"
    else:
        origin = tr("today: no --as-of or adjustment.as_of")
    return as_of_warnings(
        used, validated.events, config.supervision.year, input_sources(config), given=origin
    )


def _check_accounting(n_in: int, summary: RunSummary) -> None:
    # Accounting is the contract: every input row is on the map (graded, or grey as not assessed) or rejected.
    s = summary
    if s.facilities_scored + s.facilities_unassessed + s.facilities_rejected != n_in:
        raise AssertionError(
            f"row accounting broken: {n_in} in, {s.facilities_scored} scored, {s.facilities_unassessed} not "
            f"assessed, {s.facilities_rejected} rejected"
        )


def _result(config: Config, stage: Stage, as_of: date | str | None, history: Path | None) -> RunResult:
    """Read the inputs, run every stage (:func:`riskmap.stages.run_stages`), count and warn: a run's result."""
    reading = stage  # per input file: no memory to return between them
    stage = _returning_memory(stage)
    stage("load")
    # Read first: a bad history file stops the run before minutes of grading.
    earlier, history_files = _plan_history(history, config.supervision.year)
    project = read_inputs(config, progress=lambda name: reading(f"load:{name}"))
    project.files.update(history_files)
    # With [outputs] sensitivity, the located facilities are kept for the variants (the engine frees its own).
    p = run_stages(config, Pass(project, as_of, earlier), keep=config.outputs.sensitivity, stage=stage)
    assessed = None
    if p.basis is not None:
        stage("sensitivity")
        assessed = assess_variants(config, p)
    project.check_late_reads()  # the population raster, read by the stages: still the file hashed
    validated, supervised = done(p.validated, "validate"), done(p.supervised, "supervise")
    all_rejects = p.rejects.table()
    summary = _summarise(config, project.n_facilities, p, supervised, all_rejects)
    _check_accounting(project.n_facilities, summary)
    warnings = [*project.warnings, *p.warnings]
    warnings += _run_warnings(config, project, summary, p.rejects, validated)
    warnings += _dates_warnings(config, validated, done(p.adjustment, "adjust").as_of, as_of)
    warnings += event_warnings(validated.events, input_sources(config))
    counts, decided = _decisions(p, supervised)
    warnings += (
        decision_warnings(p.decided, validated.decisions.source) if p.decided and validated.decisions else []
    )
    warnings = list(dict.fromkeys(warnings))  # one file read for two sections (the register) notes once
    zones = done(p.zoned, "zone").layers
    return RunResult(
        facilities=gpd.GeoDataFrame(
            supervised.facilities, geometry=supervised.facilities.geometry.name, crs="EPSG:4490"
        ),
        zones=zones,
        plan=supervised.plan,
        rejects=all_rejects,
        summary=summary.to_dict() | ({"decisions": counts} if counts else {}),
        warnings=warnings,
        inputs=project.files,
        sensitivity=assessed,
        decisions=decided,
    )


def _decisions(p: Pass, supervised: Supervised) -> tuple[dict[str, int] | None, pd.DataFrame | None]:
    """The decisions' counts (rows in = applied + expired + not yet in force + rejected) and the applied ones."""
    validated = done(p.validated, "validate")
    if p.decided is None or validated.decisions is None:
        return None, None
    counts = p.decided.counts(validated.decisions)
    accounted = counts["applied"] + counts["expired"] + counts["not_yet_in_force"] + counts["rejected"]
    if accounted != counts["rows"]:
        raise AssertionError(f"decision accounting broken: {counts}")
    return counts, decision_table(supervised.facilities, done(p.zoned, "zone").layers)


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
    parts = [tr("method {names}", names=", ".join(methods))] if methods else []
    parts += [tr("adjustment rule {names}", names=", ".join(rules))] if rules else []
    if table == "standardisation":
        parts.append(tr("the standardisation grades of the plan"))
    return tr("; ").join(parts) or tr("nothing")


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
            warnings.append(
                tr(
                    "{source} ([{table}]) has a header and no rows: {users} had no data for any facility; check the "
                    "file and its facility_id column",
                    source=source,
                    table=table,
                    users=_users(config, table),
                )
            )
        elif int(from_source(unmatched, source, reads_sheets(getattr(config, table))).sum()) >= n:
            warnings.append(
                tr(
                    "{source} ([{table}]) has {rows} rows and none belongs to a facility on the map (ids unknown, "
                    "empty or rejected): {users} had no data for any facility; check the file and its facility_id "
                    "column",
                    source=source,
                    table=table,
                    rows=n,
                    users=_users(config, table),
                )
            )
    return warnings


def _plan_history(history: Path | None, year: int) -> tuple[pd.DataFrame | None, dict[str, InputFile]]:
    """Earlier plans from a directory of inspection_plan*.csv/xlsx files (riskmap's own), and their files."""
    if history is None:
        return None, {}
    frames, files = read_earlier_plans(history, year)
    return read_history(frames), files


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


@in_project_language
def check(
    config: Config, stage: Stage | None = None, as_of: date | str | None = None, history: Path | None = None
) -> RunResult:
    """Run every stage up to the plan without writing anything: the library side of ``riskmap validate``.

    The command runs :func:`preflight` (can every input file be read?) and then this; :func:`run` is this plus
    :func:`riskmap.outputs.run.write_run`.

    ``as_of`` is the date dynamic adjustment is evaluated on (default ``adjustment.as_of``, else today).
    """
    return _result(config, stage or (lambda _s: None), as_of, history)


@in_project_language
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


@in_project_language
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
    if year is not None:  # checked as the project file's year is
        config = with_overrides(config, {"supervision.year": year}, "plan(year=...)")
    check_outputs(config, out_dir)
    return write_plan(config, check(config, stage, as_of, history), out_dir, force)


@in_project_language
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
            tr(
                "the project file has no [[sensitivity.variants]]: add some, e.g. [[sensitivity.variants]] name = "
                '"LEC upper bounds", set = { "methods.lec.boundary" = "upper" } (riskmap init ships the common '
                "ones, commented out)"
            )
        )
    check_outputs(config, out_dir)
    say = _returning_memory(stage or (lambda _s: None))
    say("load")
    project = read_inputs(config)
    # In memory whatever [engine] says: the variants re-grade the located facilities as one table.
    engine = MemoryEngine(config, project.source)
    located = run_stages(config, Pass(project, as_of), until="validate", engine=engine, keep=True, stage=say)
    say("sensitivity")
    result = assess_variants(config, located)
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


def _check_decisions_file(config: Config, problems: list[str]) -> None:
    """The decisions table can be read and has each required column (every missing one reported)."""
    dcfg = config.decisions
    assert dcfg is not None
    df = read_decisions(config)
    source = config.resolve(dcfg.path).name
    for canonical in DECISIONS_REQUIRED:
        columns = {canonical: dcfg.columns.get(canonical, canonical)}
        _attempt(problems, partial(require_columns, df, columns, source, "decisions.columns"))


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


@in_project_language
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
    decisions = config.decisions
    if decisions is not None and _conninfo(decisions) not in failed:
        _attempt(problems, partial(_check_decisions_file, config, problems))
    sites = config.sensitive_sites
    for label, path in (
        ("population", config.population.path if config.population else None),
        ("sensitive_sites", sites.path if sites is not None and not is_database(sites) else None),
        ("supervision.roster", config.supervision.roster),
    ):
        if path is not None and not config.resolve(path).exists():
            problems.append(
                tr(
                    "{file}: file not found ({key}); check the path in the project file",
                    file=config.resolve(path),
                    key=label,
                )
            )
    return problems
