"""Who is exposed: the persons near each facility and the population of each zone, from a column or a raster.

GB 18218 weights a major hazard installation by the persons within its radius (α). They come from a facility
column (``methods.gb18218.persons_column``) or from the ``[population]`` raster; where the raster does not
cover a buffer the population is unknown, not 0, and the facility is rejected rather than graded too low.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.columns import FOOTPRINT, PERSONS, PERSONS_COVERAGE, PERSONS_PROBLEM, ZONE_CODE, ZONE_NAME
from riskmap.config import Config
from riskmap.errors import InputError
from riskmap.validate import make_rejects, read_quantities, rejects_frame

__all__ = ["persons_within", "add_persons", "population_coverage", "zone_population"]


def persons_within(facilities: gpd.GeoDataFrame, config: Config) -> pd.Series | pd.DataFrame:
    """Persons within the GB 18218 radius: from the configured column, else the population raster.

    From the raster, a frame with the persons and the share of each buffer the raster covers with data; from
    the column, a frame with the persons and why a cell could not be used. Both are checked by
    :func:`population_coverage` once every facility is scored.
    """
    from riskmap.io.raster import zonal_sum_coverage

    params = config.methods.gb18218
    if params.persons_column:
        if params.persons_column not in facilities.columns:
            raise InputError(
                f'facilities: no column "{params.persons_column}" (methods.gb18218.persons_column)'
            )
        return _persons_from_column(facilities[params.persons_column])
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


def _persons_from_column(cells: pd.Series) -> pd.DataFrame:
    """Persons as a register gives them (``60``, ``约60人``), and why a cell cannot be used.

    An empty cell is 0 persons, as it always was; a negative number, a percent, a bound (``100以上``), a text
    or ``1e400`` is refused: taken as 0 it would give GB 18218's lowest α without a word.
    """
    read = read_quantities(cells)
    shown = "'" + cells.astype(str).str.strip() + "'"
    problem = read["problem"].mask((read["problem"] == "") & (read["value"] < 0), shown + " is negative")
    problem = problem.mask((problem == "") & (read["unit"] == "%"), shown + " is a percent, not persons")
    persons = read["value"].where(problem == "").fillna(0.0)
    return pd.DataFrame({PERSONS: persons.to_numpy(), PERSONS_PROBLEM: problem.to_numpy()}, index=cells.index)


def add_persons(facilities: gpd.GeoDataFrame, config: Config) -> None:
    """Add the persons within the GB 18218 radius (and the raster's coverage, when used) to ``facilities``."""
    found = persons_within(facilities, config)
    if isinstance(found, pd.Series):
        found = found.to_frame(PERSONS)
    for col in found.columns:
        facilities[col] = found[col].to_numpy()


def _extent(bounds: Any) -> str:
    w, s, e, n = (float(b) for b in bounds)
    return f"lon {w:.3f}..{e:.3f}, lat {s:.3f}..{n:.3f}"


def population_coverage(
    scored: gpd.GeoDataFrame, config: Config, source: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Reject major hazards whose persons are unknown; stop if most are out of the population raster.

    Unknown: a refused persons cell (``persons_column``), or a 500 m buffer the raster does not cover. Outside the
    raster, or on its nodata cells, the population is unknown, not 0: a GB 18218 α from it would
    lower the grade (一级 to 三级) without a word. Only major hazard installations depend on α; other facilities
    keep their level. When most facilities lie outside the raster it is the raster that is wrong (another
    place, a shifted transform, all nodata): one error names the two extents.
    """
    scored, refused = _refused_persons(scored, config, source)
    if PERSONS_COVERAGE not in scored.columns or config.population is None:
        return scored, refused
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
    out = low & _major(scored)
    if not out.any():
        return scored, refused
    pct = pd.Series(np.floor(covered[out] * 100).astype(int).astype(str), index=scored.index[out])
    reason = (
        "population raster covers "
        + pct
        + f"% of the {radius} buffer (population.min_coverage = {limit:.0%}): the persons within it, so GB 18218 "
        "α and the grade, are unknown; give a raster that covers it, or methods.gb18218.persons_column"
    )
    rejects = make_rejects(source, scored[out], PERSONS, reason, "score")
    return scored[~out], pd.concat([r for r in (refused, rejects) if not r.empty], ignore_index=True)


def _major(scored: pd.DataFrame) -> np.ndarray:
    """Whether each scored facility is a GB 18218 major hazard installation (its grade depends on α)."""
    grade = scored["gb18218_grade"] if "gb18218_grade" in scored.columns else pd.Series(0, index=scored.index)
    return pd.to_numeric(grade, errors="coerce").fillna(0).to_numpy() > 0


def _refused_persons(
    scored: gpd.GeoDataFrame, config: Config, source: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Reject the major hazards whose persons cell (``methods.gb18218.persons_column``) could not be used.

    As with a raster that does not cover them: α, and so the grade, are unknown. Other facilities keep their
    level (α does not enter it).
    """
    if PERSONS_PROBLEM not in scored.columns:
        return scored, rejects_frame()
    problem = scored[PERSONS_PROBLEM].fillna("").astype(str)
    scored = scored.drop(columns=PERSONS_PROBLEM)
    out = (problem != "").to_numpy() & _major(scored)
    if not out.any():
        return scored, rejects_frame()
    column = str(config.methods.gb18218.persons_column)
    reason = (
        "the persons within "
        + f"{config.methods.gb18218.buffer_m:g} m ({column}) cannot be used: "
        + problem[out]
        + ": GB 18218 α and the grade are unknown; correct the cell"
    )
    return scored[~out], make_rejects(source, scored[out], column, reason, "score")


def zone_population(
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
