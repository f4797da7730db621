"""The one place that chains the stages: load -> validate -> score -> zone -> supervise -> write."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap import __version__
from riskmap.config import Config, config_hash
from riskmap.errors import InputError, OutputError
from riskmap.io.tables import ROW, read_table
from riskmap.io.vector import VECTOR_SUFFIXES, read_vector
from riskmap.levels import LEVEL_NAMES
from riskmap.methods import DATA_ISSUES, LEVEL, METHODS, PERSONS, ScoringInputs, score_facilities
from riskmap.supervision import PATROLS, InspectionPlan, plan_inspections, zone_patrols
from riskmap.validate import (
    FACILITY_ID,
    FOOTPRINT,
    rejects_frame,
    require_columns,
    summarise_rejects,
    validate_facilities,
    validate_table,
)
from riskmap.zoning import ZONE_CODE, ZONE_NAME, aggregate_zones, assign_zones, zone_code_column

__all__ = ["RunResult", "run", "check", "load_zones", "Stage"]

logger = logging.getLogger(__name__)

#: Called with the name of each stage as it starts (the CLI shows progress with it).
Stage = Callable[[str], None]


@dataclass
class RunResult:
    """Everything a run produced, in memory and on disk."""

    facilities: gpd.GeoDataFrame
    zones: dict[str, gpd.GeoDataFrame]
    plan: InspectionPlan | None
    rejects: pd.DataFrame
    summary: dict[str, Any]
    outputs: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _read_any(path: Path, layer: str | None, encoding: str, crs: str | None, where: str) -> pd.DataFrame:
    if path.suffix.lower() in VECTOR_SUFFIXES:
        return read_vector(path, layer=layer, crs=crs, where=where)
    return read_table(path, sheet=layer, encoding=encoding)


def load_zones(config: Config) -> dict[str, gpd.GeoDataFrame]:
    """Read every zone layer, with ``zone_code``/``zone_name`` columns, valid geometries, in EPSG:4490."""
    layers: dict[str, gpd.GeoDataFrame] = {}
    for i, zc in enumerate(config.zones):
        path = config.resolve(zc.path)
        gdf = read_vector(path, layer=zc.layer, crs=zc.crs, where=f"zones[{i}]")
        require_columns(gdf, {"code": zc.code, "name": zc.name}, path.name, f"zones[{i}]")
        if len(gdf) == 0:
            raise InputError(f"{path.name}: the {zc.kind} layer is empty")
        gdf = gdf.rename(columns={zc.code: ZONE_CODE, zc.name: ZONE_NAME})
        gdf[ZONE_CODE] = gdf[ZONE_CODE].astype(str).str.strip()
        empty = gdf.geometry.isna() | gdf.geometry.is_empty
        if empty.any():
            rows = ", ".join(map(str, gdf.loc[empty, ROW].head(5)))
            raise InputError(f"{path.name}: {zc.kind} features {rows} have no geometry; fix or remove them")
        dup = gdf[ZONE_CODE].duplicated()
        if dup.any():
            raise InputError(
                f"{path.name}: {zc.kind} code {gdf.loc[dup, ZONE_CODE].iloc[0]!r} appears more than once "
                f'(column "{zc.code}"); zone codes must be unique'
            )
        invalid = ~gdf.geometry.is_valid
        if invalid.any():
            logger.warning(
                "%s: repaired %d invalid %s polygons with make_valid", path.name, invalid.sum(), zc.kind
            )
            gdf.loc[invalid, gdf.geometry.name] = gdf.geometry[invalid].make_valid()
        layers[zc.kind] = (
            gdf[[ZONE_CODE, ZONE_NAME, gdf.geometry.name]]
            .to_crs("EPSG:4490")
            .sort_values(ZONE_CODE)
            .reset_index(drop=True)
        )
    return layers


def _persons(facilities: gpd.GeoDataFrame, config: Config) -> pd.Series:
    """Persons within the GB 18218 radius: from the configured column, else the population raster."""
    from riskmap.io.raster import zonal_sum
    from riskmap.validate import to_number

    params = config.methods.gb18218
    if params.persons_column:
        if params.persons_column not in facilities.columns:
            raise InputError(
                f'facilities: no column "{params.persons_column}" (methods.gb18218.persons_column)'
            )
        return to_number(facilities[params.persons_column]).fillna(0.0)
    if config.population is None:
        raise InputError(
            "GB 18218 needs the persons within 500 m of each facility: set methods.gb18218.persons_column or "
            "give a [population] raster"
        )
    utm = facilities.estimate_utm_crs() if len(facilities) else "EPSG:4490"
    shapes = facilities.geometry
    if FOOTPRINT in facilities.columns:  # plant boundaries: buffer the boundary, not a point inside it
        footprint = gpd.GeoSeries(facilities[FOOTPRINT], crs=facilities.crs)
        shapes = footprint.where(footprint.notna(), shapes)
    buffers = shapes.to_crs(utm).buffer(params.buffer_m, quad_segs=16)
    return pd.Series(zonal_sum(config.resolve(config.population.path), buffers), index=facilities.index)


def _require_some(facilities: pd.DataFrame, rejects: list[pd.DataFrame], n_in: int, source: str) -> None:
    """Stop with the reasons when no facility is left: an empty map is never a result."""
    if len(facilities):
        return
    frames = [r for r in rejects if not r.empty]
    found = pd.concat(frames, ignore_index=True) if frames else rejects_frame()
    found = found[found["source"] == source]
    if n_in == 0:
        raise InputError(f"{source}: the file has no data rows")
    reasons = "; ".join(summarise_rejects(found, top=3))
    raise InputError(f"{source}: none of the {n_in} rows can be used: {reasons}")


def _stages(config: Config, stage: Stage) -> tuple[RunResult, dict[str, Path]]:
    inputs: dict[str, Path] = {}
    fc = config.facilities
    stage("load")
    fac_path = config.resolve(fc.path)
    inputs["facilities"] = fac_path
    raw = _read_any(fac_path, fc.layer, fc.encoding, fc.crs, "facilities")
    n_in = len(raw)
    zones = load_zones(config)
    for zc in config.zones:
        inputs[f"zones_{zc.kind}"] = config.resolve(zc.path)

    stage("validate")
    facilities, rejects_fac = validate_facilities(raw, config, fac_path.name)
    # Locate facilities before grading them: a facility outside every zone is reported as such, whatever
    # else may be wrong with it, and its related rows are rejected with it.
    zoning = assign_zones(facilities, zones, fac_path.name)
    facilities = zoning.facilities
    rejects = [rejects_fac, zoning.rejects]
    _require_some(facilities, rejects, n_in, fac_path.name)
    tables: dict[str, pd.DataFrame] = {}
    sources = {"facilities": fac_path.name}
    needs: dict[str, set[str]] = {}
    for name, method in METHODS.items():
        if method.table is not None and config.uses_method(name):
            needs.setdefault(method.table, set()).update(method.columns)
    for table, cols in needs.items():
        tcfg = getattr(config, table)
        if tcfg is None:
            users = ", ".join(n for n, m in METHODS.items() if m.table == table and config.uses_method(n))
            raise InputError(
                f"method {users} needs the [{table}] table; add [{table}] path = ... to the project file"
            )
        path = config.resolve(tcfg.path)
        inputs[table] = path
        traw = read_table(path, sheet=tcfg.layer, encoding=tcfg.encoding)
        clean, rej = validate_table(traw, table, tcfg, pd.Index(facilities[FACILITY_ID]), path.name, cols)
        tables[table] = clean
        sources[table] = path.name
        rejects.append(rej)
    for table in ("hidden_dangers", "accidents"):
        tcfg = getattr(config, table)
        if tcfg is not None:
            inputs[table] = config.resolve(tcfg.path)

    stage("score")
    if config.uses_method("gb18218"):
        facilities[PERSONS] = _persons(facilities, config).to_numpy()
        if config.population is not None:
            inputs["population"] = config.resolve(config.population.path)
    scored, rej = score_facilities(ScoringInputs(facilities, tables, sources), config)
    rejects.append(rej)
    _require_some(scored, rejects, n_in, fac_path.name)
    scored = gpd.GeoDataFrame(scored, geometry=facilities.geometry.name, crs=facilities.crs)

    stage("zone")
    zone_layers = aggregate_zones(scored, zoning.zones, config.zoning)
    if config.population is not None:
        from riskmap.io.raster import zonal_sum

        pop_path = config.resolve(config.population.path)
        inputs["population"] = pop_path
        for z in zone_layers.values():
            z["population"] = np.round(zonal_sum(pop_path, z.geometry), 0)

    stage("supervise")
    kinds = list(zone_layers)
    strata = zone_code_column(kinds[-1]) if len(kinds) > 1 else zone_code_column(kinds[0])
    fac_final = scored
    fac_for_plan = fac_final.assign(town_code=fac_final[strata])
    plan = plan_inspections(fac_for_plan, config.supervision, config.project.district_code)
    fac_final = fac_final.merge(
        plan.plan[[FACILITY_ID, "inspections_per_year", "months", "drawn_by_lot"]], on=FACILITY_ID, how="left"
    )
    for z in zone_layers.values():
        z[PATROLS] = zone_patrols(z[LEVEL], config.supervision).to_numpy()

    all_rejects = (
        pd.concat([r for r in rejects if not r.empty], ignore_index=True).sort_values(
            ["source", "row"], kind="stable"
        )
        if any(not r.empty for r in rejects)
        else rejects_frame()
    ).reset_index(drop=True)
    fac_rejects = all_rejects[all_rejects["source"] == fac_path.name]
    if len(fac_final) + len(fac_rejects) != n_in:
        # Accounting is the contract: every input row is either on the map or in the rejects table.
        raise AssertionError(
            f"row accounting broken: {n_in} in, {len(fac_final)} scored, {len(fac_rejects)} rejected"
        )
    summary = {
        "facilities_in": n_in,
        "facilities_scored": len(fac_final),
        "facilities_rejected": len(fac_rejects),
        "facilities_per_level": {k: int((fac_final[LEVEL] == k).sum()) for k in LEVEL_NAMES},
        "zones_per_level": {
            kind: {k: int((z[LEVEL] == k).sum()) for k in (*LEVEL_NAMES, "none")}
            for kind, z in zone_layers.items()
        },
        "rejects_by_source": {
            str(k): int(v) for k, v in all_rejects["source"].value_counts().sort_index().items()
        },
        "inspections_planned": int(plan.plan["inspections_per_year"].sum()),
        "enterprises_drawn_by_lot": int(plan.plan["drawn_by_lot"].sum()),
        "monthly_load": {int(k): int(v) for k, v in plan.monthly_load.items()},
        "draw_seed": plan.seed,
        "plan_year": plan.year,
    }
    warnings = list(zoning.warnings)
    if len(fac_rejects):
        share = len(fac_rejects) / n_in
        warnings.append(
            f"{len(fac_rejects)} of {n_in} facility rows ({share:.0%}) were rejected and are not on the map; "
            "see the rejects table"
        )
    incomplete = int((fac_final[DATA_ISSUES] > 0).sum()) if DATA_ISSUES in fac_final else 0
    if incomplete:
        warnings.append(
            f"{incomplete} facilities were graded without some of their records (rejected inventory, risk point "
            "or deduction rows): their level may be too low until those rows are fixed"
        )
    summary["top_reject_reasons"] = summarise_rejects(all_rejects)
    summary["facilities_with_rejected_records"] = incomplete
    result = RunResult(
        facilities=gpd.GeoDataFrame(fac_final, geometry=facilities.geometry.name, crs="EPSG:4490"),
        zones=zone_layers,
        plan=plan,
        rejects=all_rejects,
        summary=summary,
        warnings=warnings,
    )
    return result, inputs


def check(config: Config, stage: Stage | None = None) -> RunResult:
    """Run every stage up to the plan without writing anything (``riskmap validate``)."""
    result, _ = _stages(config, stage or (lambda _s: None))
    return result


_FACILITY_OUT = [
    FACILITY_ID,
    "name",
    "sector",
    LEVEL,
    "level_zh",
    "score",
    "method",
    "reasons",
    "reasons_en",
    "gb18218_grade",
    "gb18218_s",
    PERSONS,
    "zone_code",
    "zone_name",
    "inspections_per_year",
    "months",
    "drawn_by_lot",
]


def _facility_layer(result: RunResult, kinds: list[str]) -> gpd.GeoDataFrame:
    cols = [c for c in _FACILITY_OUT if c in result.facilities.columns]
    cols += [zone_code_column(k) for k in kinds if zone_code_column(k) in result.facilities.columns]
    out = result.facilities[[*cols, result.facilities.geometry.name]].copy()
    return out


def _output_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise OutputError(
            f"{out}: is a file, not a directory; give --out a directory (it is created if missing)"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"{out}: cannot create the output directory: {err.strerror}") from None
    return out


def _remove_stale(out: Path, written: dict[str, Path]) -> list[str]:
    """Remove maps and figures an earlier run left in ``out`` that this run did not write.

    A map beside a new GeoPackage would be taken for its picture; only riskmap's own output names are touched.
    """
    removed = []
    for name in ("map.html", "map.png", "map.svg", "map.pdf"):
        p = out / name
        if p.exists() and p not in written.values():
            p.unlink()
            removed.append(name)
    return removed


def run(config: Config, out_dir: str | Path | None = None, stage: Stage | None = None) -> RunResult:
    """Run the whole pipeline and write every output into ``out_dir`` (default: ``outputs.dir``).

    Raises
    ------
    RiskmapError
        A config, input or output problem that stops the run; row-level problems go to the rejects instead.
    """
    from riskmap.outputs.figure import render_figure
    from riskmap.outputs.gpkg import write_geopackage
    from riskmap.outputs.html import render_html
    from riskmap.outputs.tables import write_csv, write_xlsx

    say = stage or (lambda _s: None)
    started = datetime.now(UTC)
    result, inputs = _stages(config, say)
    out = _output_dir(Path(out_dir) if out_dir is not None else config.resolve(config.outputs.dir))
    kinds = list(result.zones)
    lang = config.project.lang
    assert result.plan is not None
    plan_table = result.plan.plan

    say("write")
    provenance: dict[str, Any] = {
        "riskmap_version": __version__,
        "config_hash": config_hash(config),
        "inputs": {k: {"path": str(p), "sha256": _sha256(p)} for k, p in sorted(inputs.items())},
        "started": started.isoformat(timespec="seconds"),
    }
    fac_layer = _facility_layer(result, kinds)
    plan_geo = gpd.GeoDataFrame(
        plan_table.merge(fac_layer[[FACILITY_ID, fac_layer.geometry.name]], on=FACILITY_ID, how="left"),
        geometry=fac_layer.geometry.name,
        crs="EPSG:4490",
    )
    layers: dict[str, pd.DataFrame] = {"facilities": fac_layer}
    for kind, z in result.zones.items():
        layers[f"zones_{kind}"] = z
    layers["inspection_plan"] = plan_geo
    layers["rejects"] = result.rejects
    outputs: dict[str, Path] = {}
    outputs["geopackage"] = write_geopackage(
        out / "riskmap.gpkg",
        layers,
        metadata={
            "riskmap_version": __version__,
            "config_hash": provenance["config_hash"],
            "inputs": json.dumps(provenance["inputs"], ensure_ascii=False),
            "created": provenance["started"],
        },
        lang=lang,
    )
    outputs["inspection_plan_csv"] = write_csv(plan_table, out / "inspection_plan.csv")
    zone_tables = {
        f"zones_{k}": pd.DataFrame(z.drop(columns=z.geometry.name)) for k, z in result.zones.items()
    }
    outputs["inspection_plan_xlsx"] = write_xlsx(
        {"inspection_plan": plan_table, **zone_tables, "rejects": result.rejects},
        out / "inspection_plan.xlsx",
    )
    for kind, z in zone_tables.items():
        outputs[f"{kind}_csv"] = write_csv(z, out / f"{kind}.csv")
    outputs["rejects_csv"] = write_csv(result.rejects, out / "rejects.csv")
    if config.outputs.html:
        say("map")
        outputs["html"] = render_html(
            result.facilities,
            result.zones,
            out / "map.html",
            title=config.project.name,
            lang=lang,
            tiles=config.outputs.tiles,
        )
    if config.outputs.figure:
        say("figure")
        paths = [out / f"map.{fmt}" for fmt in config.outputs.figure_formats]
        for p in render_figure(
            result.zones,
            result.facilities,
            paths,
            title=config.project.name,
            lang=lang,
            source_note=f"riskmap {__version__}",
        ):
            outputs[f"figure_{p.suffix.lstrip('.')}"] = p
    removed = _remove_stale(out, outputs)
    if removed:
        result.warnings.append(
            f"removed outputs of an earlier run that this run did not write: {', '.join(removed)}"
        )
    run_json = {
        "summary": result.summary,
        "warnings": result.warnings,
        "provenance": {**provenance, "finished": datetime.now(UTC).isoformat(timespec="seconds")},
        "outputs": {k: p.name for k, p in outputs.items()},
    }
    from riskmap.io.atomic import atomic_write_text

    outputs["run_json"] = atomic_write_text(
        out / "run.json", json.dumps(run_json, ensure_ascii=False, indent=2)
    )
    result.outputs = outputs
    return result
