"""Who is exposed: the persons near each facility and the population of each zone, from a column or a raster.

GB 18218 weights a major hazard installation by the persons within its radius (α). They come from a facility
column (``methods.gb18218.persons_column``; an empty cell from the raster) or from the ``[population]`` raster.
Where the raster covers a buffer in part, the persons found are a lower bound, said in the reason; where it has no
data at all, the population is unknown, not 0, and a major hazard is rejected rather than graded too low.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.columns import (
    FOOTPRINT,
    PERSONS_COVERAGE,
    PERSONS_NOTE,
    PERSONS_NOTE_EN,
    PERSONS_PROBLEM,
    ZONE_CODE,
    ZONE_NAME,
    persons_column,
)
from riskmap.config import Config
from riskmap.errors import InputError
from riskmap.i18n import N_, Msg, per_row, tr
from riskmap.rejects import make_rejects, rejects_frame
from riskmap.validate import read_quantities
from riskmap.zone_kinds import kind_word

__all__ = ["persons_within", "add_persons", "population_coverage", "zone_population"]


def persons_within(facilities: gpd.GeoDataFrame, config: Config) -> pd.DataFrame:
    """Persons within the GB 18218 radius: from the configured column, else the population raster.

    A frame with the persons, the share of each buffer the raster covers with data (NaN where the persons come
    from the column), why a column cell cannot be used (only with a column) and a note for the GB 18218 reason
    (:data:`~riskmap.columns.PERSONS_NOTE`: an approximate number, an empty cell counted from the raster, a buffer
    the raster covers below ``[population] min_coverage``). An empty cell of the column is not 0 persons: it is
    counted from the raster when one is configured, else the persons are unknown. Checked by
    :func:`population_coverage` once every facility is scored.
    """
    params = config.methods.gb18218
    if params.persons_column:
        if params.persons_column not in facilities.columns:
            raise InputError(
                tr(
                    'facilities: no column "{column}" (methods.gb18218.persons_column)',
                    column=params.persons_column,
                )
            )
        found = _persons_from_column(facilities[params.persons_column])
        empty = found.pop(_EMPTY).to_numpy(dtype=bool)
        if empty.any() and config.population is None:
            found.loc[empty, PERSONS_PROBLEM] = np.full(int(empty.sum()), _EMPTY_WITHOUT_RASTER, dtype=object)
        elif empty.any():
            persons, covered = _from_raster(facilities[empty], config)
            found.loc[empty, _PERSONS] = persons
            found.loc[empty, PERSONS_COVERAGE] = covered
            found.loc[empty, PERSONS_NOTE] = "人数栏为空，按人口栅格计"
            found.loc[empty, PERSONS_NOTE_EN] = "persons cell empty: counted from the population raster"
    elif config.population is None:
        raise InputError(
            tr(
                "GB 18218 needs the persons within {radius} m of each facility: set methods.gb18218.persons_column "
                "or give a [population] raster",
                radius=f"{params.buffer_m:g}",
            )
        )
    else:
        persons, covered = _from_raster(facilities, config)
        found = pd.DataFrame(
            {_PERSONS: persons, PERSONS_COVERAGE: covered, PERSONS_NOTE: "", PERSONS_NOTE_EN: ""},
            index=facilities.index,
        )
    _note_partial_coverage(found, config)
    return found.rename(columns={_PERSONS: persons_column(params.buffer_m)})


def _from_raster(facilities: gpd.GeoDataFrame, config: Config) -> tuple[np.ndarray, np.ndarray]:
    """Persons the population raster holds within the radius of each facility, and the share it covers."""
    from riskmap.io.raster import zonal_sum_coverage

    assert config.population is not None
    utm = facilities.estimate_utm_crs() if len(facilities) else "EPSG:4490"
    shapes = facilities.geometry
    if FOOTPRINT in facilities.columns:  # plant boundaries: buffer the boundary, not a point inside it
        footprint = gpd.GeoSeries(facilities[FOOTPRINT], crs=facilities.crs)
        shapes = footprint.where(footprint.notna(), shapes)
    buffers = shapes.to_crs(utm).buffer(config.methods.gb18218.buffer_m, quad_segs=16)
    return zonal_sum_coverage(config.resolve(config.population.path), buffers)


def _note_partial_coverage(found: pd.DataFrame, config: Config) -> None:
    """Flag the persons of a buffer the raster covers in part (below ``min_coverage``, above 0): a lower bound.

    Outside the raster, or on its nodata cells, the population is unknown, not 0; the persons found are those of
    the covered part, so α from them can only be too low. A buffer with no data at all is left to
    :func:`population_coverage` (rejected: nothing is known).
    """
    if PERSONS_COVERAGE not in found.columns or config.population is None:
        return
    covered = found[PERSONS_COVERAGE].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        part = (covered < config.population.min_coverage) & (covered > 0)
    if not part.any():
        return
    # Rounded, but never "0%" or "100%" for a part.
    pct = np.clip(np.round(covered[part] * 100), 1, 99).astype(int)
    pct = pd.Series(pct.astype(str), index=found.index[part])
    radius = f"{config.methods.gb18218.buffer_m:g} m"
    zh = "人口栅格仅覆盖缓冲区的 " + pct + "%，α 按已覆盖部分计，为下限"
    en = (
        "the population raster covers only "
        + pct
        + f"% of the {radius} buffer: α from the covered part, a lower bound"
    )
    before_zh, before_en = found.loc[part, PERSONS_NOTE], found.loc[part, PERSONS_NOTE_EN]
    found.loc[part, PERSONS_NOTE] = before_zh.where(before_zh == "", before_zh + "，") + zh
    found.loc[part, PERSONS_NOTE_EN] = before_en.where(before_en == "", before_en + ", ") + en


#: The persons while they are found (:func:`persons_within` names the column by the radius at the end).
_PERSONS = "_persons"
#: Units a count of persons is written with (``45人``, ``45 名``); ``户`` (households) is not one.
_PERSON_UNITS = frozenset({"", "人", "名", "口", "人口"})
#: Private column of :func:`_persons_from_column`: the cell is empty.
_EMPTY = "_empty"
_EMPTY_WITHOUT_RASTER = Msg("the cell is empty and no [population] raster is configured")
#: Why a persons cell that reads as a number is no count of persons (``{cell}`` as written, ``{unit}`` its unit).
_NOT_PERSONS = (
    N_("'{cell}' is negative"),
    N_("'{cell}' is a percent, not persons"),
    N_("'{cell}' is not a count of persons ({unit})"),
)


def _persons_from_column(cells: pd.Series) -> pd.DataFrame:
    """Persons as a register gives them (``60``, ``45人``, ``约60``), why a cell cannot be used, and a note.

    A negative number, a percent, a unit that is not persons (``45户``), a bound (``100以上``), a text or
    ``1e400`` is refused: taken as 0 it would give GB 18218's lowest α without a word. An approximate number
    (``约45``) is read as the number, noted. An empty cell is marked (``_EMPTY``): the caller decides.
    """
    read = read_quantities(cells)
    problem = read["problem"].copy()
    unit = read["unit"].astype(str)
    read_ok = problem == ""
    negative = read_ok & (read["value"] < 0)
    percent = read_ok & ~negative & (unit == "%")
    other = read_ok & ~negative & ~percent & ~unit.isin(_PERSON_UNITS)
    for bad, message in zip((negative, percent, other), _NOT_PERSONS, strict=True):
        if bad.any():  # the reasons of the refused cells only
            problem[bad] = per_row(message, cell=cells[bad].astype(str).str.strip(), unit=unit[bad])
    persons = read["value"].where(problem == "")
    about = read["about"].to_numpy(dtype=bool) & (problem == "").to_numpy()
    note = pd.Series("", index=cells.index, dtype=object)
    note_en = note.copy()
    if about.any():
        n = persons[about].map("{:g}".format).astype(str)
        text = cells[about].astype(str).str.strip()
        note[about] = "人数登记为“" + text + "”，按 " + n + " 人计"
        note_en[about] = "persons written '" + text + "', read as " + n
    return pd.DataFrame(
        {
            _PERSONS: persons.to_numpy(dtype=float),
            PERSONS_COVERAGE: np.nan,
            PERSONS_PROBLEM: problem.to_numpy(),
            PERSONS_NOTE: note.to_numpy(),
            PERSONS_NOTE_EN: note_en.to_numpy(),
            _EMPTY: read["empty"].to_numpy(dtype=bool),
        },
        index=cells.index,
    ).astype({PERSONS_PROBLEM: object})  # a Msg where a cell is refused


def add_persons(facilities: gpd.GeoDataFrame, config: Config) -> None:
    """Add the persons within the GB 18218 radius (with the private columns of :func:`persons_within`)."""
    found = persons_within(facilities, config)
    for col in found.columns:
        facilities[col] = found[col].to_numpy()


def _extent(bounds: Any) -> str:
    w, s, e, n = (float(b) for b in bounds)
    return tr(
        "lon {west}..{east}, lat {south}..{north}",
        west=f"{w:.3f}",
        east=f"{e:.3f}",
        south=f"{s:.3f}",
        north=f"{n:.3f}",
    )


#: The private columns of :func:`persons_within`, dropped once the facilities are scored.
_PRIVATE = (PERSONS_COVERAGE, PERSONS_PROBLEM, PERSONS_NOTE, PERSONS_NOTE_EN)


def population_coverage(
    scored: gpd.GeoDataFrame, config: Config, source: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Reject major hazards whose persons are unknown; stop if most are out of the population raster.

    Unknown: a refused persons cell (``persons_column``; an empty one without a raster), or a 500 m buffer where
    the raster has no data at all. A buffer the raster covers in part is graded from the persons found (a lower
    bound, flagged in the GB 18218 reason by :func:`persons_within`). Only major hazard installations depend on
    α; other facilities keep their level. When the raster has no data around most facilities measured on it, it
    is the raster that is wrong (another place, a shifted transform, all nodata): one error names the two
    extents.
    """
    scored, refused = _refused_persons(scored, config, source)
    covered = (
        scored[PERSONS_COVERAGE].to_numpy(dtype=float)
        if PERSONS_COVERAGE in scored.columns
        else np.full(len(scored), np.nan)
    )
    scored = scored.drop(columns=[c for c in _PRIVATE if c in scored.columns])
    measured = ~np.isnan(covered)
    if config.population is None or not measured.any():
        return scored, refused
    from riskmap.io.raster import raster_bounds

    radius = f"{config.methods.gb18218.buffer_m:g} m"
    path = config.resolve(config.population.path)
    # Partial cover is the edge of a district (graded, flagged); no data around most facilities is another place.
    empty = measured & (covered <= 0)
    if empty.sum() * 2 > measured.sum():
        raise InputError(
            tr(
                "{file}: the population raster has no data within the {radius} buffer of {n} of {total} facilities: "
                "its extent is {raster}, the facilities' {facilities} (CGCS2000). Outside the raster and on nodata "
                "cells the population is unknown, not 0; give a raster of this district (check its CRS and "
                "transform), or the persons in methods.gb18218.persons_column",
                file=path.name,
                radius=radius,
                n=int(empty.sum()),
                total=int(measured.sum()),
                raster=_extent(raster_bounds(path)),
                facilities=_extent(scored.total_bounds),
            )
        )
    out = empty & _major(scored)
    if not out.any():
        return scored, refused
    column = config.methods.gb18218.persons_column
    if column:
        reason = Msg(
            "population raster covers {share} of the {radius} buffer (no data there): the persons within it, so GB 18218 "
            "α and the grade, are unknown; give a raster that covers it, or fill in its {column} cell",
            share="0%", radius=radius, column=column,
        )  # fmt: skip
    else:
        reason = Msg(
            "population raster covers {share} of the {radius} buffer (no data there): the persons within it, so GB 18218 "
            "α and the grade, are unknown; give a raster that covers it, or give the persons in "
            "methods.gb18218.persons_column",
            share="0%",
            radius=radius,
        )
    field = persons_column(config.methods.gb18218.buffer_m)
    rejects = make_rejects(source, scored[out], field, reason, "score")
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
    problem = scored[PERSONS_PROBLEM].fillna("")
    out = (problem != "").to_numpy() & _major(scored)
    if not out.any():
        return scored, rejects_frame()
    column = str(config.methods.gb18218.persons_column)
    empty = problem[out] == _EMPTY_WITHOUT_RASTER
    radius = f"{config.methods.gb18218.buffer_m:g}"
    reason = per_row(
        N_(
            "the persons within {radius} m ({column}) cannot be used: {problem}: GB 18218 α and the grade are "
            "unknown; correct the cell"
        ),
        problem=problem[out], radius=radius, column=column,
    ).where(
        ~empty,
        per_row(
            N_(
                "the persons within {radius} m ({column}) cannot be used: {problem}: GB 18218 α and the grade are "
                "unknown; fill in the cell, or give a [population] raster (used for empty cells)"
            ),
            problem=problem[out], radius=radius, column=column,
        ),
    )  # fmt: skip
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
            ) + (", ..." if len(low) > 5 else "")
            warnings.append(
                tr(
                    "{file}: the population raster covers less than {limit} of {n} {kind} zones ({zones}): their "
                    "population counts the covered part only and is too low (the rest is unknown, not 0)",
                    file=path.name,
                    limit=f"{limit:.0%}",
                    n=len(low),
                    kind=kind_word(kind),
                    zones=named,
                )
            )
