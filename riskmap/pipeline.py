"""The one place that chains the stages: load -> validate -> score -> zone -> supervise -> write."""

from __future__ import annotations

import ctypes
import hashlib
import json
import logging
import sys
from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap import __version__
from riskmap.adjust import (
    ADJUSTMENTS,
    EVENT_COLUMNS,
    EVENT_TABLES,
    HD_OPEN,
    HD_STATS,
    LEVEL_METHOD,
    STANDARDISATION_GRADE,
    apply_adjustments,
    prepare_events,
    resolve_as_of,
    standardisation_grades,
)
from riskmap.config import Config, config_hash
from riskmap.distributed import required_tables, run_stages
from riskmap.errors import InputError, RiskmapError
from riskmap.io.tables import READ_WARNINGS, ROW, read_table
from riskmap.io.vector import VECTOR_SUFFIXES, read_vector
from riskmap.levels import LEVEL_NAMES
from riskmap.methods import DATA_ISSUES, LEVEL, METHODS, PERSONS, PERSONS_COVERAGE
from riskmap.supervision import (
    PATROLS,
    WORKLOAD,
    InspectionPlan,
    month_label,
    plan_inspections,
    read_history,
    zone_patrols,
    zone_workload,
)
from riskmap.validate import (
    FACILITY_ID,
    FOOTPRINT,
    id_positions,
    input_sources,
    make_rejects,
    rejects_frame,
    require_columns,
    summarise_rejects,
    validate_sites,
    validate_table,
)
from riskmap.zone_kinds import kind_label
from riskmap.zoning import (
    ASSIGNMENT,
    ZONE_CODE,
    ZONE_NAME,
    aggregate_zones,
    apply_spillover,
    count_sites,
    division_code_warnings,
    make_grid,
    rule_parameters,
    zone_code_column,
    zone_overlaps,
)

__all__ = ["RunResult", "run", "check", "plan", "preflight", "load_zones", "Stage"]

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


def _read_any(
    path: Path,
    layer: str | None,
    encoding: str,
    crs: str | None,
    where: str,
    expect: list[str] | None = None,
    warnings: list[str] | None = None,
) -> pd.DataFrame:
    if path.suffix.lower() in VECTOR_SUFFIXES:
        return read_vector(path, layer=layer, crs=crs, where=where, warnings=warnings)
    return read_table(path, sheet=layer, encoding=encoding, expect=expect)


def _polygonal(geom):
    import shapely

    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.unary_union(parts) if parts else geom


def _zone_polygons(gdf: gpd.GeoDataFrame, source: str, kind: str, warnings: list[str]) -> gpd.GeoDataFrame:
    """The zones as polygons: a layer of 0 features, of points or lines stops; collections keep their polygons.

    A GeometryCollection (from some GIS exports or unions) holding a polygon and stray lines is that polygon,
    with a warning; one without any polygon, like a point or line zone, cannot hold facilities.
    """
    if len(gdf) == 0:
        raise InputError(f"{source}: the {kind} layer has 0 features; give a layer with the {kind} polygons")
    types = gdf.geom_type
    collection = types == "GeometryCollection"
    if collection.any():
        gdf = gdf.copy()
        gdf.loc[collection, gdf.geometry.name] = gdf.geometry[collection].map(_polygonal)
        types = gdf.geom_type
        rows = ", ".join(map(str, gdf.loc[collection, ROW].head(5)))
        warnings.append(
            f"{source}: {int(collection.sum())} {kind} features are geometry collections (features {rows}"
            f"{', ...' if collection.sum() > 5 else ''}); only their polygons are kept"
        )
    bad = types.notna() & ~gdf.geometry.is_empty & ~types.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        rows = ", ".join(map(str, gdf.loc[bad, ROW].head(5)))
        what = ", ".join(sorted(set(types[bad])))
        raise InputError(
            f"{source}: {kind} features {rows}{', ...' if bad.sum() > 5 else ''} are {what}, not polygons: "
            f"the zones must be polygons (areas); give the {kind} boundaries, not their points or lines"
        )
    return gdf


def load_zones(config: Config, warnings: list[str] | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Read every zone layer, with ``zone_code``/``zone_name`` columns, valid geometries, in EPSG:4490.

    Repairs (make_valid) are reported in ``warnings``.
    """
    warnings = warnings if warnings is not None else []
    layers: dict[str, gpd.GeoDataFrame] = {}
    for i, zc in enumerate(config.zones):
        if zc.path is None:  # a grid, made once the other layers and the facilities are known
            continue
        path = config.resolve(zc.path)
        gdf = read_vector(path, layer=zc.layer, crs=zc.crs, where=f"zones[{i}]", warnings=warnings)
        warnings += gdf.attrs.get(READ_WARNINGS, [])
        require_columns(gdf, {"code": zc.code, "name": zc.name}, path.name, f"zones[{i}]")
        gdf = _zone_polygons(gdf, path.name, zc.kind, warnings)
        gdf = gdf.rename(columns={zc.code: ZONE_CODE, zc.name: ZONE_NAME})
        gdf[ZONE_CODE] = gdf[ZONE_CODE].astype(str).str.strip()
        empty = gdf.geometry.isna() | gdf.geometry.is_empty
        if empty.any():
            rows = ", ".join(map(str, gdf.loc[empty, ROW].head(5)))
            raise InputError(f"{path.name}: {zc.kind} features {rows} have no geometry; fix or remove them")
        dup = gdf[ZONE_CODE].duplicated(keep=False)
        if dup.any():
            first = gdf.loc[dup, ZONE_CODE].iloc[0]
            rows = ", ".join(map(str, gdf.loc[gdf[ZONE_CODE] == first, ROW]))
            raise InputError(
                f"{path.name}: {zc.kind} code {first!r} appears more than once (features {rows}, "
                f'column "{zc.code}"); zone codes must be unique'
            )
        invalid = ~gdf.geometry.is_valid
        if invalid.any():
            rows = ", ".join(map(str, gdf.loc[invalid, ROW].head(5)))
            warnings.append(
                f"{path.name}: repaired {int(invalid.sum())} invalid {zc.kind} polygons with make_valid "
                f"(features {rows}{', ...' if invalid.sum() > 5 else ''}); check them in a GIS"
            )
            fixed = gdf.geometry[invalid].make_valid()
            # make_valid may return collections with stray lines or points: keep the polygonal part.
            gdf.loc[invalid, gdf.geometry.name] = fixed.map(_polygonal)
        _check_overlaps(gdf, zc.kind, path.name, warnings)
        layers[zc.kind] = (
            gdf[[ZONE_CODE, ZONE_NAME, gdf.geometry.name]]
            .to_crs("EPSG:4490")
            .sort_values(ZONE_CODE)
            .reset_index(drop=True)
        )
    warnings += division_code_warnings({k: z[ZONE_CODE] for k, z in layers.items()})
    return layers


def _check_overlaps(zones: gpd.GeoDataFrame, kind: str, source: str, warnings: list[str]) -> None:
    overlap = zone_overlaps(zones, kind, source)
    if overlap:
        warnings.append(overlap)


def _district_code_warnings(config: Config) -> list[str]:
    """``project.district_code`` is the 6-digit county code; anything else is a typo (it seeds the draw)."""
    code = config.project.district_code
    if code == "" or (len(code) == 6 and code.isascii() and code.isdigit()):
        return []
    return [
        f'project.district_code {code!r} is not a 6-digit county code (统计用区划代码, e.g. "320115"); it is '
        "part of the published random seed of the inspection draw"
    ]


def _with_grids(
    config: Config, layers: dict[str, gpd.GeoDataFrame], facilities: gpd.GeoDataFrame
) -> dict[str, gpd.GeoDataFrame]:
    """All zone layers in the configured order (finest first), grids made over their ``within`` layer."""
    out: dict[str, gpd.GeoDataFrame] = {}
    for i, zc in enumerate(config.zones):
        if zc.grid is None:
            out[zc.kind] = layers[zc.kind]
            continue
        within = zc.grid.within
        if within is not None:
            if within not in layers:
                kinds = ", ".join(k for k in layers)
                raise InputError(
                    f"zones[{i}].grid.within: no zone layer {within!r} to cover (layers: {kinds})"
                )
            area = layers[within]
        else:
            if facilities.empty:
                raise InputError(f"zones[{i}]: a grid without `within` needs facilities to cover")
            hull = facilities.geometry.union_all().convex_hull
            area = gpd.GeoDataFrame(geometry=[hull], crs=facilities.crs)
            area = area.to_crs(area.estimate_utm_crs()).buffer(zc.grid.size_m / 2).to_frame("geometry")
            area = gpd.GeoDataFrame(area, geometry="geometry").to_crs(facilities.crs)
        out[zc.kind] = make_grid(area, zc.grid, zc.kind)
    return out


def _persons(facilities: gpd.GeoDataFrame, config: Config) -> pd.Series | pd.DataFrame:
    """Persons within the GB 18218 radius: from the configured column, else the population raster.

    From the raster, a frame with the persons and the share of each buffer the raster covers with data
    (checked by :func:`_population_coverage` once every facility is scored).
    """
    from riskmap.io.raster import zonal_sum_coverage
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
    persons, covered = zonal_sum_coverage(config.resolve(config.population.path), buffers)
    return pd.DataFrame({PERSONS: persons, PERSONS_COVERAGE: covered}, index=facilities.index)


def _extent(bounds: Any) -> str:
    w, s, e, n = (float(b) for b in bounds)
    return f"lon {w:.3f}..{e:.3f}, lat {s:.3f}..{n:.3f}"


def _population_coverage(
    scored: gpd.GeoDataFrame, config: Config, source: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Reject major hazards whose 500 m buffer the population raster does not cover; stop if most are out.

    Outside the raster, or on its nodata cells, the population is unknown, not 0: a GB 18218 α from it would
    lower the grade (一级 to 三级) without a word. Only major hazard installations depend on α; other facilities
    keep their level. When most facilities lie outside the raster it is the raster that is wrong (another
    place, a shifted transform, all nodata): one error names the two extents.
    """
    if PERSONS_COVERAGE not in scored.columns or config.population is None:
        return scored, rejects_frame()
    from riskmap.io.raster import raster_bounds

    covered = scored[PERSONS_COVERAGE].to_numpy(dtype=float)
    scored = scored.drop(columns=PERSONS_COVERAGE)
    limit = config.population.min_coverage
    low = covered < limit
    radius = f"{config.methods.gb18218.buffer_m:g} m"
    path = config.resolve(config.population.path)
    if low.sum() * 2 > len(scored):
        raise InputError(
            f"{path.name}: the population raster covers less than {limit:.0%} of the {radius} buffer of "
            f"{int(low.sum())} of {len(scored)} facilities (median {np.median(covered):.0%}): its extent is "
            f"{_extent(raster_bounds(path))}, the facilities' {_extent(scored.total_bounds)} (CGCS2000). "
            "Outside the raster and on nodata cells the population is unknown, not 0; give a raster of this "
            "district (check its CRS and transform), or the persons in methods.gb18218.persons_column"
        )
    grade = scored["gb18218_grade"] if "gb18218_grade" in scored.columns else pd.Series(0, index=scored.index)
    out = low & (pd.to_numeric(grade, errors="coerce").fillna(0).to_numpy() > 0)
    if not out.any():
        return scored, rejects_frame()
    pct = pd.Series(np.floor(covered[out] * 100).astype(int).astype(str), index=scored.index[out])
    reason = (
        "population raster covers "
        + pct
        + f"% of the {radius} buffer (population.min_coverage = {limit:.0%}): the persons within it, so GB 18218 "
        "α and the grade, are unknown; give a raster that covers it, or methods.gb18218.persons_column"
    )
    rejects = make_rejects(source, scored[out], PERSONS, reason, "score")
    return scored[~out], rejects


def _zone_population(
    zones: dict[str, gpd.GeoDataFrame], config: Config, path: Path, warnings: list[str]
) -> None:
    """Each zone's population from the raster; zones it covers less than ``min_coverage`` get a warning.

    Their population is kept (the covered part: a lower bound) and named, so that a reader does not take it
    for the whole.
    """
    from riskmap.io.raster import zonal_sum_coverage

    assert config.population is not None
    limit = config.population.min_coverage
    for kind, z in zones.items():
        persons, covered = zonal_sum_coverage(path, z.geometry)
        z["population"] = np.round(persons, 0)
        low = np.flatnonzero(covered < limit)
        if len(low):
            named = ", ".join(
                f"{z[ZONE_CODE].iloc[i]} {z[ZONE_NAME].iloc[i]} ({covered[i]:.0%})" for i in low[:5]
            )
            warnings.append(
                f"{path.name}: the population raster covers less than {limit:.0%} of {len(low)} {kind} zones "
                f"({named}{', ...' if len(low) > 5 else ''}): their population counts the covered part only "
                "and is too low (the rest is unknown, not 0)"
            )


def _require_some(facilities: Sized, rejects: list[pd.DataFrame], n_in: int, source: str) -> None:
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


def _required_tables(config: Config) -> list[str]:
    """The related tables the configured methods read; a missing one stops the run and names its users."""
    tables = required_tables(config)
    for table in tables:
        if getattr(config, table) is None:
            users = ", ".join(n for n, m in METHODS.items() if m.table == table and config.uses_method(n))
            raise InputError(
                f"method {users} needs the [{table}] table; add [{table}] path = ... to the project file"
            )
    return list(tables)


def _read_related_raw(config: Config, table: str, inputs: dict[str, Path]) -> pd.DataFrame:
    """Read a related table as text, as the engines take it."""
    tcfg = getattr(config, table)
    path = config.resolve(tcfg.path)
    inputs[table] = path
    return read_table(
        path, sheet=tcfg.layer, encoding=tcfg.encoding, expect=[tcfg.columns.get(FACILITY_ID, FACILITY_ID)]
    )


def _validate_events(
    config: Config, raw: dict[str, pd.DataFrame], known_ids: pd.Index, inputs: dict[str, Path]
) -> tuple[dict[str, pd.DataFrame], list[pd.DataFrame]]:
    """Hidden dangers, accidents and standardisation grades, parsed; their bad rows go to the rejects."""
    events: dict[str, pd.DataFrame] = {}
    rejects: list[pd.DataFrame] = []
    sources = input_sources(config)
    for table, df in raw.items():
        source = sources[table]
        clean, rej = validate_table(
            df, table, getattr(config, table), known_ids, source, EVENT_COLUMNS[table]
        )
        events[table], bad = prepare_events(table, clean, source)
        rejects += [rej, bad]
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
    config: Config, rows: dict[str, int], sources: dict[str, str], rejects: list[pd.DataFrame]
) -> list[str]:
    """Warn about related tables that give no facility any data: no rows, or none of a located facility.

    Such a table turns its methods and rules off for every facility without a word: grades fall back to other
    methods, adjustments never fire.
    """
    frames = [r for r in rejects if not r.empty]
    found = pd.concat(frames, ignore_index=True) if frames else rejects_frame()
    unmatched = found.loc[
        (found["stage"] == "validate") & (found["field"] == FACILITY_ID), "source"
    ].value_counts()
    warnings = []
    for table, n in rows.items():
        source = sources[table]
        if n == 0:
            what = "has a header and no rows"
        elif int(unmatched.get(source, 0)) >= n:
            what = f"has {n} rows and none belongs to a facility on the map (ids unknown, empty or rejected)"
        else:
            continue
        warnings.append(
            f"{source} ([{table}]) {what}: {_users(config, table)} had no data for any facility; check the file "
            "and its facility_id column"
        )
    return warnings


def _plan_history(history: Path | None, inputs: dict[str, Path], year: int) -> pd.DataFrame | None:
    """Earlier plans from a directory of inspection_plan*.csv/xlsx files (riskmap's own plan tables)."""
    if history is None:
        return None
    if not history.is_dir():
        raise InputError(f"{history}: --history must be a directory of earlier inspection_plan.csv files")
    files = sorted([*history.glob("*.csv"), *history.glob("*.xlsx")])
    frames = []
    for f in files:
        df = read_table(f, expect=[FACILITY_ID, "year", "inspections_per_year"])
        require_columns(
            df, {"id": FACILITY_ID, "year": "year", "count": "inspections_per_year"}, f.name, "history"
        )
        df["year"] = pd.to_numeric(df["year"], errors="coerce")
        frames.append(df[df["year"] < year])  # a plan for this year or later is not history
        inputs[f"history_{f.name}"] = f
    if not frames:
        raise InputError(f"{history}: no earlier plans (inspection_plan*.csv or .xlsx) in the directory")
    return read_history(frames)


def _roster(config: Config, inputs: dict[str, Path]) -> list[str] | None:
    if config.supervision.roster is None:
        return None
    path = config.resolve(config.supervision.roster)
    inputs["roster"] = path
    df = read_table(path, expect=["name"])
    require_columns(df, {"name": "name"}, path.name, "supervision.roster")
    names = sorted({n for n in df["name"].astype(str).str.strip() if n})
    if not names:
        raise InputError(f'{path.name}: the roster has no names; list the inspectors in a column "name"')
    return names


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


def _kind_labels(config: Config) -> dict[str, dict[str, str]]:
    """The project's own labels of its zone kinds (``[[zones]] label``/``label_en``), for the outputs."""
    own = {z.kind: {"zh": z.label, "en": z.label_en} for z in config.zones}
    return {kind: {lang: t for lang, t in by.items() if t} for kind, by in own.items()}


def _stages(
    config: Config, stage: Stage, as_of: date | str | None = None, history: Path | None = None
) -> tuple[RunResult, dict[str, Path]]:
    inputs: dict[str, Path] = {}
    fc = config.facilities
    stage = _returning_memory(stage)
    stage("load")
    fac_path = config.resolve(fc.path)
    inputs["facilities"] = fac_path
    sources = input_sources(config)
    fac_source = sources["facilities"]  # file name, and sheet when a related table shares the workbook
    load_warnings: list[str] = []
    raw = _read_any(
        fac_path, fc.layer, fc.encoding, fc.crs, "facilities", [fc.id, fc.name, fc.sector], load_warnings
    )
    n_in = len(raw)
    load_warnings += raw.attrs.get(READ_WARNINGS, [])
    zones = load_zones(config, load_warnings)
    load_warnings += _district_code_warnings(config)
    for zc in config.zones:
        if zc.path is not None:
            inputs[f"zones_{zc.kind}"] = config.resolve(zc.path)

    stage("validate")
    tables = {table: _read_related_raw(config, table, inputs) for table in _required_tables(config)}
    event_raw = {
        t: _read_related_raw(config, t, inputs) for t in EVENT_TABLES if getattr(config, t) is not None
    }

    for df in (*tables.values(), *event_raw.values()):
        load_warnings += df.attrs.get(READ_WARNINGS, [])
    table_rows = {t: len(df) for t, df in (*tables.items(), *event_raw.items())}
    table_sources = {t: sources[t] for t in table_rows}

    events: dict[str, pd.DataFrame] = {}
    event_rejects: list[pd.DataFrame] = []

    def located(known: pd.Index, so_far: list[pd.DataFrame]) -> None:
        _require_some(known, so_far, n_in, fac_source)
        # The events are validated against the located facilities here, in the validate stage.
        found, rej = _validate_events(config, event_raw, known, inputs)
        events.update(found)
        event_rejects.extend(rej)
        event_raw.clear()

    # Facilities are located before they are graded: a facility outside every zone is reported as such,
    # whatever else may be wrong with it, and its related rows are rejected with it.
    # Handed over, not kept: run_stages frees the text as read once it is validated (hundreds of MB at
    # province size).
    handover = {"facilities": raw, "tables": tables}
    del raw, tables
    engine = run_stages(
        config,
        handover.pop("facilities"),
        zones,
        handover.pop("tables"),
        source=fac_source,
        persons=lambda f: _persons(f, config),
        with_grids=lambda layers, f: _with_grids(config, layers, f),
        on_located=located,
        stage=stage,
    )
    if config.uses_method("gb18218") and config.population is not None:
        inputs["population"] = config.resolve(config.population.path)
    # In the order of the stages: event rows were validated before scoring (the engine's last frame).
    rejects = [*engine.rejects[:-1], *event_rejects, engine.rejects[-1]]
    scored, assigned_zones, engine_warnings = engine.facilities, engine.zones, engine.warnings
    scored, uncovered = _population_coverage(scored, config, fac_path.name)
    rejects.insert(len(rejects) - 1, uncovered)
    crs = scored.crs
    del engine  # once adjusted, the graded table before adjustment (its reason texts) can go
    _require_some(scored, rejects, n_in, fac_source)
    geometry = scored.geometry.name

    stage("adjust")
    rejected_events = [r for r in event_rejects if not r.empty]
    adjusted = apply_adjustments(
        scored,
        events,
        config.adjustment,
        resolve_as_of(as_of, config.adjustment),
        rejected=pd.concat(rejected_events)["record_id"].value_counts() if rejected_events else None,
    )
    scored = gpd.GeoDataFrame(adjusted.facilities, geometry=geometry, crs=crs)

    stage("zone")
    zone_warnings: list[str] = []
    if config.population is not None:
        pop_path = config.resolve(config.population.path)
        inputs["population"] = pop_path
        _zone_population(assigned_zones, config, pop_path, zone_warnings)
    sites = None
    if config.sensitive_sites is not None:
        sites_path = config.resolve(config.sensitive_sites.path)
        inputs["sensitive_sites"] = sites_path
        sc = config.sensitive_sites
        sites_raw = _read_any(
            sites_path, sc.layer, sc.encoding, sc.crs, "sensitive_sites", [sc.kind], load_warnings
        )
        load_warnings += sites_raw.attrs.get(READ_WARNINGS, [])
        site_points, rej = validate_sites(sites_raw, sc, sources["sensitive_sites"])
        rejects.append(rej)
        sites = count_sites(assigned_zones, site_points, scored, config.zoning.index.vulnerability_distance_m)
    grey = config.scoring.unassessed == "grey"
    zone_layers = aggregate_zones(scored, assigned_zones, config.zoning, sites, unassessed=grey)
    zone_layers = apply_spillover(zone_layers, scored, config.zoning)
    if HD_OPEN in scored.columns:
        for kind, z in zone_layers.items():
            sums = scored.groupby(zone_code_column(kind))[HD_STATS].sum()
            z[HD_STATS] = sums.reindex(z[ZONE_CODE]).fillna(0).astype(int).to_numpy()

    stage("supervise")
    kinds = list(zone_layers)
    strata = zone_code_column(kinds[-1]) if len(kinds) > 1 else zone_code_column(kinds[0])
    fac_final = scored
    fac_final[STANDARDISATION_GRADE] = standardisation_grades(
        events.get("standardisation"), fac_final[FACILITY_ID], adjusted.as_of
    ).to_numpy()
    plan = plan_inspections(
        fac_final.assign(town_code=fac_final[strata]),
        config.supervision,
        config.project.district_code,
        history=_plan_history(history, inputs, config.supervision.year),
        roster=_roster(config, inputs),
        lang=config.project.lang,
    )
    # Every facility has one plan row: its columns are taken over by position, not merged (a merge copies
    # the whole facility table, a gigabyte at province size).
    plan_at = _positions(plan.plan[FACILITY_ID], fac_final[FACILITY_ID])
    fac_final = fac_final.reset_index(drop=True)
    for col in ("inspections_per_year", "months", "dates", "drawn_by_lot"):
        fac_final[col] = plan.plan[col].array.take(plan_at)
    fac_of_plan = _positions(fac_final[FACILITY_ID], plan.plan[FACILITY_ID])
    for kind, z in zone_layers.items():
        z[PATROLS] = zone_patrols(z[LEVEL], config.supervision).to_numpy()
        codes = fac_final[zone_code_column(kind)]
        z[WORKLOAD] = zone_workload(plan.plan, z[ZONE_CODE], pd.Series(codes.array.take(fac_of_plan)))

    all_rejects = (
        pd.concat([r for r in rejects if not r.empty], ignore_index=True).sort_values(
            ["source", "row"], kind="stable"
        )
        if any(not r.empty for r in rejects)
        else rejects_frame()
    ).reset_index(drop=True)
    # Row numbers as integers (missing for a whole-file problem), whatever mix of frames was concatenated.
    all_rejects["row"] = pd.to_numeric(all_rejects["row"], errors="coerce").astype("Int64")
    fac_rejects = all_rejects[all_rejects["source"] == fac_source]
    if len(fac_final) + len(fac_rejects) != n_in:
        # Accounting is the contract: every input row is either on the map or in the rejects table.
        raise AssertionError(
            f"row accounting broken: {n_in} in, {len(fac_final)} scored, {len(fac_rejects)} rejected"
        )
    summary = {
        "facilities_in": n_in,
        "facilities_scored": len(fac_final),
        "facilities_rejected": len(fac_rejects),
        "facilities_per_level": {
            k: int((fac_final[LEVEL] == k).sum()) for k in (*LEVEL_NAMES, *(["none"] if grey else []))
        },
        "zones_per_level": {
            kind: {k: int((z[LEVEL] == k).sum()) for k in (*LEVEL_NAMES, "none")}
            for kind, z in zone_layers.items()
        },
        "zone_labels": {kind: kind_label(kind, "zh", _kind_labels(config)) for kind in zone_layers},
        "rejects_by_source": {
            str(k): int(v) for k, v in all_rejects["source"].value_counts().sort_index().items()
        },
        "inspections_planned": int(plan.plan["inspections_per_year"].sum()),
        "enterprises_drawn_by_lot": int(plan.plan["drawn_by_lot"].sum()),
        "monthly_load": {int(k): int(v) for k, v in plan.monthly_load.items()},
        "months": plan.months.replace({np.nan: None}).to_dict("records"),
        "draw_seed": plan.seed,
        "plan_year": plan.year,
        "as_of": adjusted.as_of.isoformat(),
        "adjustment": {"up": adjusted.up, "down": adjusted.down, "rules": adjusted.rules},
    }
    warnings = load_warnings + list(engine_warnings) + zone_warnings + plan.warnings
    warnings += _lost_tables(config, table_rows, table_sources, rejects)
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
    n_events = sum(len(r) for r in rejected_events)
    if n_events:
        warnings.append(
            f"{n_events} hidden-danger, accident or standardisation rows were rejected: the facilities they "
            "belong to may be adjusted too little (or too much) until those rows are fixed; see the rejects table"
        )
    summary["top_reject_reasons"] = summarise_rejects(all_rejects)
    summary["zoning_rule"] = json.loads(rule_parameters(config.zoning))
    summary["facilities_with_rejected_records"] = incomplete
    if grey:
        # Kept on the map as "not assessed": counted in facilities_scored (rows in = scored + rejected).
        n_none = summary["facilities_per_level"]["none"]
        summary["facilities_unassessed"] = n_none
        if n_none:
            warnings.append(
                f"{n_none} facilities could not be graded by their sector's methods and are shown grey as "
                "not assessed (未评估), planned for an assessment visit (supervision.frequency.none)"
            )
    result = RunResult(
        facilities=gpd.GeoDataFrame(fac_final, geometry=geometry, crs="EPSG:4490"),
        zones=zone_layers,
        plan=plan,
        rejects=all_rejects,
        summary=summary,
        warnings=warnings,
    )
    return result, inputs


def check(
    config: Config, stage: Stage | None = None, as_of: date | str | None = None, history: Path | None = None
) -> RunResult:
    """Run every stage up to the plan without writing anything (``riskmap validate``).

    ``as_of`` is the date dynamic adjustment is evaluated on (default ``adjustment.as_of``, else today).
    """
    result, _ = _stages(config, stage or (lambda _s: None), as_of, history)
    return result


_FACILITY_OUT = [
    FACILITY_ID,
    "name",
    "sector",
    LEVEL,
    "level_zh",
    LEVEL_METHOD,
    "score",
    "method",
    "reasons",
    "reasons_en",
    ADJUSTMENTS,
    *HD_STATS,
    "gb18218_grade",
    "gb18218_s",
    PERSONS,
    "zone_code",
    "zone_name",
    ASSIGNMENT,
    STANDARDISATION_GRADE,
    "inspections_per_year",
    "months",
    "dates",
    "drawn_by_lot",
]


def _facility_layer(result: RunResult, kinds: list[str]) -> gpd.GeoDataFrame:
    cols = [c for c in _FACILITY_OUT if c in result.facilities.columns]
    cols += [zone_code_column(k) for k in kinds if zone_code_column(k) in result.facilities.columns]
    return result.facilities[[*cols, result.facilities.geometry.name]]


#: Above this many enterprises the XLSX workbook is not written (CSV and GeoPackage carry the plan).
XLSX_MAX_ROWS = 200_000


def _plan_sheets(plan: InspectionPlan) -> dict[str, pd.DataFrame]:
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

    assert result.plan is not None
    n = len(result.plan.plan)
    if n <= XLSX_MAX_ROWS:
        return write_xlsx({"inspection_plan": result.plan.plan, **_plan_sheets(result.plan), **sheets}, path)
    result.warnings.append(
        f"the plan has {n:,} rows: {path.name} is not written above {XLSX_MAX_ROWS:,} "
        "(a workbook of styled cells that size takes minutes and gigabytes, and a sheet holds at most "
        "1,048,576 rows); use inspection_plan.csv or the GeoPackage"
    )
    # An older, smaller plan's workbook would mislead: the output set removes it (if riskmap wrote it).
    return None


def _provenance_inputs(config: Config, inputs: dict[str, Path]) -> dict[str, dict[str, str]]:
    """Input files with their SHA-256 and their paths relative to the project file.

    Published files should not reveal a server's directory layout.
    """
    out = {}
    base = config.base_dir.resolve()
    for key, p in sorted(inputs.items()):
        try:
            shown = str(p.resolve().relative_to(base))
        except ValueError:
            shown = p.name
        out[key] = {"path": shown, "sha256": _sha256(p)}
    return out


def _output_dir(config: Config, out_dir: str | Path | None) -> Path:
    """The output folder: ``out_dir``, else ``outputs.dir`` of the project file (relative to it)."""
    return Path(out_dir) if out_dir is not None else config.resolve(config.outputs.dir)


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
    from riskmap.outputs.runfolder import open_output_set

    say = stage or (lambda _s: None)
    started = datetime.now(UTC)
    result, inputs = _stages(config, say, as_of, history)
    assert result.plan is not None

    _return_free_memory()
    say("write")
    provenance: dict[str, Any] = {
        "riskmap_version": __version__,
        "config_hash": config_hash(config),
        "engine": config.engine.name,
        "inputs": _provenance_inputs(config, inputs),
        "started": started.isoformat(timespec="seconds"),
    }
    with open_output_set(_output_dir(config, out_dir), "run.json", force) as outset:
        staged = _write_outputs(config, result, outset.staging, provenance, say)
        # -- the Word report ([outputs] report = true), in this run's output set --
        if config.outputs.report:
            from riskmap.outputs.report import write_report_files

            staged |= write_report_files(config, result, outset.staging, provenance, staged.get("figure_png"))
        # --
        run_json = {
            "summary": result.summary,
            "warnings": result.warnings,
            "provenance": {**provenance, "finished": datetime.now(UTC).isoformat(timespec="seconds")},
            "outputs": {k: p.name for k, p in staged.items()},
        }
        run_json_path = outset.commit(run_json)
    result.warnings.extend(outset.warnings)
    result.outputs = {k: outset.final(p) for k, p in staged.items()}
    result.outputs["run_json"] = run_json_path
    return result


def _write_outputs(
    config: Config, result: RunResult, out: Path, provenance: dict[str, Any], say: Stage
) -> dict[str, Path]:
    """Write every output of a run into ``out`` (the staging folder); returns the paths by output key."""
    from riskmap.outputs.figure import render_figure
    from riskmap.outputs.gpkg import write_geopackage
    from riskmap.outputs.html import render_html
    from riskmap.outputs.tables import write_csv

    kinds = list(result.zones)
    lang = config.project.lang
    assert result.plan is not None
    plan_table = result.plan.plan
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
            "as_of": str(result.summary["as_of"]),
        },
        lang=lang,
    )
    if config.outputs.geoparquet:
        from riskmap.outputs.parquet import write_geoparquet

        for name, p in write_geoparquet(layers, out / "geoparquet").items():
            outputs[f"{name}_parquet"] = p
    outputs["inspection_plan_csv"] = write_csv(plan_table, out / "inspection_plan.csv")
    zone_tables = {
        f"zones_{k}": pd.DataFrame(z.drop(columns=z.geometry.name)) for k, z in result.zones.items()
    }
    xlsx = _write_plan_xlsx(result, out / "inspection_plan.xlsx", {**zone_tables, "rejects": result.rejects})
    if xlsx is not None:
        outputs["inspection_plan_xlsx"] = xlsx
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
            embed=config.outputs.embed,
            cluster_threshold=config.outputs.cluster_above,
            kind_labels=_kind_labels(config),
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
            kind_labels=_kind_labels(config),
        ):
            outputs[f"figure_{p.suffix.lstrip('.')}"] = p
    return outputs


#: The plan tables: ``riskmap plan`` replaces them whichever command wrote them last.
_PLAN_TABLES = ("inspection_plan.csv", "inspection_plan.xlsx")


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
    from riskmap.outputs.runfolder import open_output_set
    from riskmap.outputs.tables import write_csv

    if year is not None:
        config = config.model_copy(
            update={"supervision": config.supervision.model_copy(update={"year": year})}
        )
    result, inputs = _stages(config, stage or (lambda _s: None), as_of, history)
    assert result.plan is not None
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
            "provenance": {
                "riskmap_version": __version__,
                "config_hash": config_hash(config),
                "engine": config.engine.name,
                "inputs": _provenance_inputs(config, inputs),
            },
        }
        plan_json = outset.commit(doc, also_replaces=_PLAN_TABLES)
    result.warnings.extend(outset.warnings)
    result.outputs = {k: outset.final(p) for k, p in staged.items()}
    result.outputs["plan_json"] = plan_json
    return result


def preflight(config: Config) -> list[str]:
    """Every file-level problem at once: missing files, unknown layers, missing columns.

    ``riskmap validate`` runs this before the stages, so a user fixing a project sees all such problems in one
    pass instead of one per run. Row-level problems are found by :func:`check`.
    """
    problems: list[str] = []

    def attempt(fn: Callable[[], object]) -> None:
        try:
            fn()
        except RiskmapError as err:
            problems.append(str(err))

    fc = config.facilities

    def facilities() -> None:
        raw = _read_any(
            config.resolve(fc.path), fc.layer, fc.encoding, fc.crs, "facilities", [fc.id, fc.name, fc.sector]
        )
        cols = {"id": fc.id, "name": fc.name, "sector": fc.sector}
        if not isinstance(raw, gpd.GeoDataFrame):
            cols |= {"x": fc.x, "y": fc.y}
        require_columns(raw, cols, config.resolve(fc.path).name, "facilities")
        for i, rule in enumerate(config.methods.baseline.rules):  # register columns the baseline rules read
            try:
                require_columns(
                    raw,
                    {"column": rule.when.column},
                    config.resolve(fc.path).name,
                    f"methods.baseline.rules[{i}].when",
                )
            except RiskmapError as err:
                problems.append(str(err))

    attempt(facilities)
    for table in ("inventory", "risk_points", "deductions", "hidden_dangers", "accidents", "standardisation"):
        tcfg = getattr(config, table, None)
        if tcfg is None:
            continue

        def read(tcfg=tcfg, table=table) -> None:
            path = config.resolve(tcfg.path)
            df = read_table(
                path,
                sheet=tcfg.layer,
                encoding=tcfg.encoding,
                expect=[tcfg.columns.get(FACILITY_ID, FACILITY_ID)],
            )
            # Every column the configured methods and rules need, each reported (not only the first).
            needed = {FACILITY_ID} | set(EVENT_COLUMNS.get(table, ()))
            for name, method in METHODS.items():
                if method.table == table and config.uses_method(name):
                    needed |= set(method.columns)
            for canonical in sorted(needed):
                try:
                    require_columns(
                        df, {canonical: tcfg.columns.get(canonical, canonical)}, path.name, f"{table}.columns"
                    )
                except RiskmapError as err:
                    problems.append(str(err))

        attempt(read)
    for i, zc in enumerate(config.zones):
        if zc.path is None:
            continue

        def zone(zc=zc, i=i) -> None:
            path = config.resolve(zc.path)
            gdf = read_vector(path, layer=zc.layer, crs=zc.crs, where=f"zones[{i}]")
            require_columns(gdf, {"code": zc.code, "name": zc.name}, path.name, f"zones[{i}]")
            _zone_polygons(gdf, path.name, zc.kind, [])

        attempt(zone)
    for label, path in (
        ("population", config.population.path if config.population else None),
        ("sensitive_sites", config.sensitive_sites.path if config.sensitive_sites else None),
        ("supervision.roster", config.supervision.roster),
    ):
        if path is not None and not config.resolve(path).exists():
            problems.append(
                f"{config.resolve(path)}: file not found ({label}); check the path in the project file"
            )
    return problems
