"""Writing a run's files as one set: the GeoPackage, the tables, the map and the figure, run.json last.

:func:`write_run` writes what :func:`riskmap.pipeline.check` produced (``riskmap run``), :func:`write_plan` the
plan tables only (``riskmap plan``); both through :func:`riskmap.outputs.runfolder.open_output_set`, so that a
failed write leaves the previous set whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from riskmap.columns import (
    ADJUSTMENTS,
    ASSIGNMENT,
    DECISION_COLUMNS,
    FACILITY_ID,
    HD_STATS,
    LEVEL,
    LEVEL_METHOD,
    REJECT_REASON,
    STANDARDISATION_GRADE,
    persons_column,
)
from riskmap.config import Config, config_hash
from riskmap.frames import in_language
from riskmap.i18n import tr
from riskmap.outputs.runfolder import OutputSet, input_provenance, open_output_set
from riskmap.results import RunResult
from riskmap.supervision import InspectionPlan, month_label
from riskmap.version import __version__
from riskmap.zone_kinds import project_kind_labels
from riskmap.zoning import drivers_in_english, zone_code_column

__all__ = [
    "XLSX_MAX_ROWS",
    "facility_layer",
    "zones_in_language",
    "plan_sheets",
    "write_run",
    "write_plan",
    "run_provenance",
    "manifest_doc",
    "set_outputs",
    "check_outputs",
]

#: Above this many enterprises the XLSX workbook is not written (CSV and GeoPackage carry the plan).
XLSX_MAX_ROWS = 200_000

#: The plan tables: ``riskmap plan`` replaces them whichever command wrote them last.
_PLAN_TABLES = ("inspection_plan.csv", "inspection_plan.xlsx")

#: The facility columns written, in this order, around the persons column (named by the project's radius).
_FACILITY_OUT = [
    FACILITY_ID,
    "name",
    "sector",
    LEVEL,
    "level_zh",
    LEVEL_METHOD,
    *DECISION_COLUMNS,
    "score",
    "method",
    "reasons",
    "reasons_en",
    ADJUSTMENTS,
    *HD_STATS,
    "gb18218_grade",
    "gb18218_s",
]
_FACILITY_OUT_AFTER_PERSONS = [
    "zone_code",
    "zone_name",
    ASSIGNMENT,
    STANDARDISATION_GRADE,
    "inspections_per_year",
    "months",
    "dates",
    "drawn_by_lot",
]


def facility_layer(result: RunResult, config: Config) -> gpd.GeoDataFrame:
    """The facilities as written: the output columns present, the zone code of each kind, the geometry."""
    persons = persons_column(config.methods.gb18218.buffer_m)
    written = [*_FACILITY_OUT, persons, *_FACILITY_OUT_AFTER_PERSONS]
    cols = [c for c in written if c in result.facilities.columns]
    kinds = list(result.zones)
    cols += [zone_code_column(k) for k in kinds if zone_code_column(k) in result.facilities.columns]
    return result.facilities[[*cols, result.facilities.geometry.name]]


def plan_sheets(plan: InspectionPlan) -> dict[str, pd.DataFrame]:
    """The month table (load against capacity) and one sheet per month listing its inspections."""
    sheets = {"months": plan.months}
    for m in range(1, 13):
        month = plan.inspections[plan.inspections["month"] == m].drop(columns="month")
        # Scheduled inspections first, by date; dates as real dates so Excel can sort and filter them.
        month = month.sort_values(["scheduled", "date"], ascending=[False, True], kind="stable")
        month = month.assign(date=pd.to_datetime(month["date"], errors="coerce").dt.date)
        sheets[month_label(m, plan.lang)] = month
    return sheets


def _write_plan_xlsx(result: RunResult, path: Path, sheets: dict[str, pd.DataFrame]) -> Path | None:
    """The plan workbook, unless the plan is too large for one (then a warning, and no stale workbook)."""
    from riskmap.outputs.tables import write_xlsx

    n = len(result.plan.plan)
    if n <= XLSX_MAX_ROWS:
        return write_xlsx({"inspection_plan": result.plan.plan, **plan_sheets(result.plan), **sheets}, path)
    result.warnings.append(
        tr(
            "the plan has {rows} rows: {file} is not written above {most} (a workbook of styled cells that size "
            "takes minutes and gigabytes, and a sheet holds at most 1,048,576 rows); use inspection_plan.csv or the "
            "GeoPackage",
            rows=f"{n:,}",
            file=path.name,
            most=f"{XLSX_MAX_ROWS:,}",
        )
    )
    # An older, smaller plan's workbook would mislead: the output set removes it (if riskmap wrote it).
    return None


def run_provenance(
    config: Config, inputs: dict[str, dict[str, str]], started: datetime | None = None
) -> dict[str, Any]:
    """A manifest's provenance: riskmap's version, the config's hash, the engine, the inputs, the start time."""
    doc: dict[str, Any] = {
        "riskmap_version": __version__,
        "config_hash": config_hash(config),
        "district_code": config.project.district_code,
        "engine": config.engine.name,
        "inputs": inputs,
    }
    if started is not None:
        doc["started"] = started.isoformat(timespec="seconds")
    return doc


def manifest_doc(result: RunResult, provenance: dict[str, Any], staged: dict[str, Path]) -> dict[str, Any]:
    """A run's manifest file (run.json, report.json): summary, warnings, provenance with the end time, outputs."""
    return {
        "summary": result.summary,
        "warnings": result.warnings,
        "provenance": {**provenance, "finished": datetime.now(UTC).isoformat(timespec="seconds")},
        "outputs": {k: p.name for k, p in staged.items()},
    }


def set_outputs(
    result: RunResult, outset: OutputSet, staged: dict[str, Path], key: str, manifest: Path
) -> RunResult:
    """Give ``result`` the committed set's warnings and final paths, the manifest's under ``key``."""
    result.warnings.extend(outset.warnings)
    result.outputs = {k: outset.final(p) for k, p in staged.items()}
    result.outputs[key] = manifest
    return result


def _output_dir(config: Config, out_dir: str | Path | None) -> Path:
    """The output folder: ``out_dir``, else ``outputs.dir`` of the project file (relative to it)."""
    return Path(out_dir) if out_dir is not None else config.resolve(config.outputs.dir)


def check_outputs(config: Config, out_dir: str | Path | None = None, *, report: bool = False) -> Path:
    """What a command will write with, checked before it starts its work; returns the output folder.

    The output folder (:func:`riskmap.outputs.runfolder.check_output_folder`: writable, its lock, its
    manifests), the font file (``[outputs] font``) and the Word template when a report is written (``report``,
    or ``[outputs] report``; :func:`riskmap.outputs.docx_template.check_template`). Grading a district takes
    minutes: a folder, a font or a template that cannot be used is said at once. The writers check the same again when they write (the
    earlier run of ``riskmap report --previous`` is read before grading by :func:`riskmap.reporting.report`).

    Raises
    ------
    RiskmapError
        The first of them that cannot be used, in one line.
    """
    from riskmap.outputs.runfolder import check_output_folder

    out = _output_dir(config, out_dir)
    check_output_folder(out)
    if config.outputs.font is not None and (config.outputs.figure or report or config.outputs.report):
        from riskmap.outputs.figure import font_file_family

        font_file_family(config.resolve(config.outputs.font))
    if (report or config.outputs.report) and config.outputs.report_template is not None:
        from riskmap.outputs.docx_template import check_template

        check_template(config.resolve(config.outputs.report_template))
    return out


def write_run(
    config: Config,
    result: RunResult,
    out_dir: str | Path | None = None,
    *,
    started: datetime,
    force: bool = False,
    stage: Callable[[str], None] = lambda _s: None,
) -> RunResult:
    """Write every output of ``result`` into ``out_dir`` (default: ``outputs.dir``) as one set, run.json last.

    ``started`` is when the run began (in the provenance); ``force`` overwrites files of riskmap's output names
    that riskmap did not write; ``stage`` is told ``"map"`` and ``"figure"`` as they start. Returns ``result``
    with its ``outputs`` (final paths by key) and the output set's warnings.
    """
    provenance = run_provenance(config, input_provenance(config.base_dir, result.inputs), started)
    with open_output_set(_output_dir(config, out_dir), "run.json", force) as outset:
        staged = _write_outputs(config, result, outset.staging, provenance, stage)
        if config.outputs.report:  # the Word report ([outputs] report = true), in this run's output set
            from riskmap.outputs.report import write_report_files

            staged |= write_report_files(config, result, outset.staging, provenance, staged.get("figure_png"))
        run_json = manifest_doc(result, provenance, staged)
        if config.outputs.postgis:  # published before the files commit: a failure leaves both as they were
            run_json["postgis"] = _publish_postgis(config, result, run_json, started)
        run_json_path = outset.commit(run_json)
    return set_outputs(result, outset, staged, "run_json", run_json_path)


def _publish_postgis(
    config: Config, result: RunResult, run_json: dict[str, Any], started: datetime
) -> dict[str, Any]:
    """The result layers in PostGIS (``[outputs] postgis``); returns where, for run.json (no password)."""
    import secrets

    from riskmap.io.postgis import describe
    from riskmap.outputs.gpkg import layer_styles
    from riskmap.outputs.postgis import RUNS_TABLE, publish_postgis

    assert config.outputs.postgis is not None
    run_id = f"{started:%Y%m%d%H%M%S}_{secrets.token_hex(3)}"
    layers = _layers(config, result)
    doc = {**run_json, "postgis": {"schema": config.outputs.postgis_schema, "run_id": run_id}}
    rows = publish_postgis(
        config.outputs.postgis,
        config.outputs.postgis_schema,
        layers,
        layer_styles(layers, config.project.lang),
        run_id,
        doc,
    )
    return {
        "database": describe(config.outputs.postgis),
        "schema": config.outputs.postgis_schema,
        "run_id": run_id,
        "runs_table": RUNS_TABLE,
        "rows": rows,
    }


def zones_in_language(zones: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A zone layer as written in ``lang``: ``reason`` and ``drivers`` in it, the other language's reason beside.

    The stages keep ``reason`` in Chinese and ``reason_en`` in English; an English run writes ``reason`` in
    English and ``reason_zh`` after it, as the rejects do (:func:`riskmap.frames.in_language`).
    """
    if lang != "en" or "reason_en" not in zones.columns:
        return zones
    out = zones.rename(columns={"reason": "reason_zh", "reason_en": "reason"})
    if "drivers" in out.columns:
        out["drivers"] = out["drivers"].astype(str).map(drivers_in_english)
    cols = [c for c in out.columns if c != "reason_zh"]
    at = cols.index("reason") + 1
    return out[[*cols[:at], "reason_zh", *cols[at:]]]


def _layers(config: Config, result: RunResult) -> dict[str, pd.DataFrame]:
    """The GeoPackage layers: facilities, each zone kind, the plan (at its facilities), the rejects."""
    fac_layer = facility_layer(result, config)
    plan_geo = gpd.GeoDataFrame(
        result.plan.plan.merge(fac_layer[[FACILITY_ID, fac_layer.geometry.name]], on=FACILITY_ID, how="left"),
        geometry=fac_layer.geometry.name,
        crs="EPSG:4490",
    )
    layers: dict[str, pd.DataFrame] = {"facilities": fac_layer}
    for kind, z in result.zones.items():
        layers[f"zones_{kind}"] = zones_in_language(z, config.project.lang)
    layers["inspection_plan"] = plan_geo
    layers["rejects"] = in_language(result.rejects, REJECT_REASON, config.project.lang)
    if result.sensitivity is not None:  # [outputs] sensitivity = true
        from riskmap.outputs.sensitivity import sensitivity_layers

        layers |= sensitivity_layers(result.sensitivity)
    return layers


def _write_outputs(
    config: Config, result: RunResult, out: Path, provenance: dict[str, Any], say: Callable[[str], None]
) -> dict[str, Path]:
    """Write every output of a run into ``out`` (the staging folder); returns the paths by output key."""
    from riskmap.outputs.gpkg import write_geopackage

    layers = _layers(config, result)
    outputs: dict[str, Path] = {}
    outputs["geopackage"] = write_geopackage(
        out / "riskmap.gpkg",
        layers,
        metadata={
            "riskmap_version": __version__,
            "config_hash": provenance["config_hash"],
            "inputs": json.dumps(provenance["inputs"], ensure_ascii=False),
            "created": provenance["started"],
            "as_of": str(result.summary["as_of"]),
            # Which district: riskmap diff and report --previous refuse to compare runs of two districts.
            "district_code": config.project.district_code,
            "project": config.project.name,
        },
        lang=config.project.lang,
    )
    if config.outputs.geoparquet:
        from riskmap.outputs.parquet import write_geoparquet

        for name, p in write_geoparquet(layers, out / "geoparquet").items():
            outputs[f"{name}_parquet"] = p
    del layers
    outputs |= _write_tables(result, out, config.project.lang)
    outputs |= _draw_maps(config, result, out, say)
    return outputs


def _write_tables(result: RunResult, out: Path, lang: str) -> dict[str, Path]:
    """The plan, zone and rejects tables as CSV, and the plan workbook (with the zones and rejects)."""
    from riskmap.outputs.tables import write_csv

    rejects = in_language(
        result.rejects, REJECT_REASON, lang
    )  # the reason in the run's language, then the other

    outputs = {"inspection_plan_csv": write_csv(result.plan.plan, out / "inspection_plan.csv")}
    zone_tables = {
        f"zones_{k}": pd.DataFrame(zones_in_language(z, lang).drop(columns=z.geometry.name))
        for k, z in result.zones.items()
    }
    xlsx = _write_plan_xlsx(result, out / "inspection_plan.xlsx", {**zone_tables, "rejects": rejects})
    if xlsx is not None:
        outputs["inspection_plan_xlsx"] = xlsx
    for kind, z in zone_tables.items():
        outputs[f"{kind}_csv"] = write_csv(z, out / f"{kind}.csv")
    outputs["rejects_csv"] = write_csv(rejects, out / "rejects.csv")
    if result.sensitivity is not None:
        from riskmap.outputs.sensitivity import write_sensitivity_tables

        outputs |= write_sensitivity_tables(result.sensitivity, out)
    return outputs


def _draw_maps(config: Config, result: RunResult, out: Path, say: Callable[[str], None]) -> dict[str, Path]:
    """The HTML map and the static figures, as configured."""
    from riskmap.outputs.figure import render_run_figure
    from riskmap.outputs.html import render_html

    outputs: dict[str, Path] = {}
    lang = config.project.lang
    if config.outputs.html:
        say("map")
        outputs["html"] = render_html(
            result.facilities,
            result.zones,
            out / "map.html",
            title=config.project.name,
            lang=lang,
            tiles=config.outputs.tiles,
            embed=config.outputs.embed,
            kind_labels=project_kind_labels(config),
            sensitivity=_finest(result.sensitivity),
        )
    if config.outputs.figure:
        say("figure")
        for p in render_run_figure(
            config, result, [out / f"map.{fmt}" for fmt in config.outputs.figure_formats]
        ):
            outputs[f"figure_{p.suffix.lstrip('.')}"] = p
    return outputs


def _finest(sensitivity: Any) -> gpd.GeoDataFrame | None:
    """The finest zone layer's sensitivity table (marked on the map), if the run assessed variants."""
    return next(iter(sensitivity.zones.values()), None) if sensitivity is not None else None


def write_plan(
    config: Config, result: RunResult, out_dir: str | Path | None = None, force: bool = False
) -> RunResult:
    """Write the plan tables and ``plan.json`` (their manifest, last) as one set (``riskmap plan``)."""
    from riskmap.outputs.tables import write_csv

    keys = (
        "plan_year",
        "draw_seed",
        "inspections_planned",
        "enterprises_drawn_by_lot",
        "monthly_load",
        "months",
    )
    with open_output_set(_output_dir(config, out_dir), "plan.json", force) as outset:
        staged = {"inspection_plan_csv": write_csv(result.plan.plan, outset.staging / "inspection_plan.csv")}
        xlsx = _write_plan_xlsx(result, outset.staging / "inspection_plan.xlsx", {})
        if xlsx is not None:
            staged["inspection_plan_xlsx"] = xlsx
        doc = {
            "summary": {k: result.summary[k] for k in keys},
            "warnings": result.warnings,
            "provenance": run_provenance(config, input_provenance(config.base_dir, result.inputs)),
        }
        plan_json = outset.commit(doc, also_replaces=_PLAN_TABLES)
    return set_outputs(result, outset, staged, "plan_json", plan_json)
