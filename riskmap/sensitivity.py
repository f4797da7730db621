"""How firm is each colour: levels re-graded and re-zoned under the accepted alternative conventions.

A variant (``[[sensitivity.variants]]``) sets a few keys of the project file; every variant starts from the
same located facilities, validated tables and zones (:class:`Basis`), and re-runs only from the first stage its
keys affect: method parameters re-grade (the results of the methods it leaves alone are reused), adjustment
rules re-adjust, zoning keys re-zone. Each facility and zone then has its level under the project's own
settings, the lowest and the highest over the variants, and the variants that change it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.adjust import apply_adjustments, resolve_as_of
from riskmap.columns import FACILITY_ID, LEVEL, NAME, SECTOR
from riskmap.config import Config, Variant, apply_variant
from riskmap.errors import ConfigError
from riskmap.exposure import population_coverage
from riskmap.io.project import required_tables
from riskmap.levels import level_from_rank, level_rank
from riskmap.methods import METHODS, ScoringInputs, score_facilities
from riskmap.methods.base import MethodResult
from riskmap.zoning import (
    ZONE_CODE,
    ZONE_NAME,
    aggregate_zones,
    apply_spillover,
    count_sites,
    spillover_hits,
    zone_code_column,
)

__all__ = [
    "Basis",
    "SensitivityResult",
    "assess_variants",
    "first_stage",
    "LEVEL_MIN",
    "LEVEL_MAX",
    "CHANGED_BY",
    "VARIANT_SEP",
]

logger = logging.getLogger(__name__)

#: The lowest and highest level over the project's settings and every variant.
LEVEL_MIN = "level_min"
LEVEL_MAX = "level_max"
#: The names of the variants under which the level differs from the project's own, joined by :data:`VARIANT_SEP`.
CHANGED_BY = "changed_by"
VARIANT_SEP = "；"

Stage = Literal["score", "adjust", "zone"]


@dataclass
class Basis:
    """What every variant starts from: read once, validated once."""

    #: Located, validated facilities (with the persons within the GB 18218 radius when that method is used).
    facilities: gpd.GeoDataFrame
    #: The related tables (inventory, risk points, deductions) validated against the facilities.
    tables: dict[str, pd.DataFrame]
    #: How the facilities and each table are named in rejects.
    sources: dict[str, str]
    #: Parsed event tables (hidden dangers, accidents, standardisation) and the rejected rows per facility.
    events: dict[str, pd.DataFrame]
    rejected_events: pd.Series | None
    #: Zone layers (with their population when a raster is given), finest first.
    zones: dict[str, gpd.GeoDataFrame]
    #: Validated sensitive sites, when configured.
    sites: gpd.GeoDataFrame | None = None
    #: The as-of date given on the command line (default: each variant's ``adjustment.as_of``).
    as_of: date | str | None = None
    #: Zones near big major hazards, by spillover settings and hazards: shared by the variants that share them.
    spillover: dict[tuple[str, tuple[str, ...]], Any] = field(default_factory=dict)


@dataclass
class _Pass:
    """One grading and zoning pass: what a later variant may start from, and the levels."""

    graded: gpd.GeoDataFrame
    cache: dict[str, MethodResult]
    adjusted: gpd.GeoDataFrame
    facility_ranks: pd.Series
    zone_ranks: dict[str, pd.Series] = field(default_factory=dict)


@dataclass
class SensitivityResult:
    """Levels under the project's settings and their range over the variants."""

    #: Per facility: id, name, sector, zone code, ``level``, ``level_min``, ``level_max``, ``changed_by``.
    facilities: gpd.GeoDataFrame
    #: Per zone layer (by kind): code, name, the same four columns, the polygon.
    zones: dict[str, gpd.GeoDataFrame]
    #: One row per variant: its name, keys, first stage re-run, facilities and zones it changes.
    variants: pd.DataFrame


def first_stage(base: Config, variant: Config) -> Stage | None:
    """The first stage whose settings differ between the project and a variant (``None``: no difference)."""
    if base.scoring != variant.scoring or base.methods != variant.methods:
        return "score"
    if base.adjustment != variant.adjustment:
        return "adjust"
    if base.zoning != variant.zoning:
        return "zone"
    return None


def _reusable(base: Config, variant: Config, cache: dict[str, MethodResult]) -> dict[str, MethodResult]:
    """Results of the methods a variant grades exactly as the project does."""
    if base.scoring != variant.scoring:  # which sectors a method grades changes its results
        return {}
    changed = {n for n in METHODS if getattr(base.methods, n, None) != getattr(variant.methods, n, None)}
    if "gb18218" in changed:
        changed.add("chem2018")  # its major-hazard item reads the GB 18218 grades
    return {n: r for n, r in cache.items() if n not in changed}


def _grade(config: Config, basis: Basis, cache: dict[str, MethodResult]) -> gpd.GeoDataFrame:
    fac = basis.facilities
    scored, _ = score_facilities(ScoringInputs(fac, dict(basis.tables), basis.sources, cache), config)
    scored, _ = population_coverage(
        gpd.GeoDataFrame(scored, geometry=fac.geometry.name, crs=fac.crs), config, basis.sources["facilities"]
    )
    return scored


def _adjust(config: Config, basis: Basis, graded: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    as_of = resolve_as_of(basis.as_of, config.adjustment)
    out = apply_adjustments(graded, basis.events, config.adjustment, as_of, rejected=basis.rejected_events)
    return gpd.GeoDataFrame(out.facilities, geometry=graded.geometry.name, crs=graded.crs)


def _zone_ranks(
    config: Config, basis: Basis, adjusted: gpd.GeoDataFrame, reasons: bool = False
) -> dict[str, pd.Series]:
    sites = None
    if basis.sites is not None:
        sites = count_sites(basis.zones, basis.sites, adjusted, config.zoning.index.vulnerability_distance_m)
    grey = config.scoring.unassessed == "grey"
    # Levels only: the zones' reason texts are most of a zoning pass, and the variants need none.
    layers = aggregate_zones(adjusted, basis.zones, config.zoning, sites, unassessed=grey, reasons=reasons)
    layers = apply_spillover(
        layers, adjusted, config.zoning, _spillover_hits(config, basis, layers, adjusted)
    )
    return {
        k: pd.Series(level_rank(z[LEVEL]).to_numpy(), index=z[ZONE_CODE].to_numpy())
        for k, z in layers.items()
    }


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


def _pass(
    config: Config,
    basis: Basis,
    start: Stage,
    base: tuple[Config, _Pass] | None = None,
    reasons: bool = False,
) -> _Pass:
    """Grade, adjust and zone under ``config``, from ``start`` on; the earlier stages come from ``base``.

    ``base`` is the project's own config and pass; without it every stage runs. ``reasons``: zone as a run does,
    with the reason texts (scripts/bench_sensitivity.py measures a run's pass so).
    """
    if start == "score" or base is None:
        cache = _reusable(base[0], config, base[1].cache) if base is not None else {}
        graded = _grade(config, basis, cache)
    else:
        graded, cache = base[1].graded, base[1].cache
    if start == "zone" and base is not None:
        adjusted = base[1].adjusted
    else:
        adjusted = _adjust(config, basis, graded)
    ranks = pd.Series(level_rank(adjusted[LEVEL]).to_numpy(), index=adjusted[FACILITY_ID].to_numpy())
    return _Pass(graded, cache, adjusted, ranks, _zone_ranks(config, basis, adjusted, reasons))


def _variant_configs(config: Config) -> list[tuple[Variant, Config]]:
    """Each variant's config, checked before any grading: a bad key stops the run at once."""
    assert config.sensitivity is not None
    read = set(required_tables(config))
    out = []
    for variant in config.sensitivity.variants:
        vc = apply_variant(config, variant)
        missing = set(required_tables(vc)) - read
        if missing:
            raise ConfigError(
                f"[sensitivity] variant {variant.name!r} grades with the {', '.join(sorted(missing))} "
                "table, which the project's own settings do not read; add it to the project file"
            )
        out.append((variant, vc))
    return out


def _spread(
    ranks: np.ndarray, base: np.ndarray, names: list[str]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lowest and highest rank over the columns of ``ranks`` (with the base), and which variants change them.

    Returns the lowest and highest ranks, the names of the variants that change each row and the number of
    rows each variant changes.
    ``ranks`` is rows × variants with -1 where a variant gives no level (the row is not counted for it).
    """
    known = ranks >= 0
    lo = np.minimum(base, np.where(known, ranks, 99).min(axis=1, initial=99))
    hi = np.maximum(base, np.where(known, ranks, -1).max(axis=1, initial=-1))
    changed = known & (ranks != base[:, None])
    text = np.full(len(base), "", dtype=object)
    for j, name in enumerate(names):
        hit = changed[:, j]
        text[hit] = np.where(text[hit] == "", name, text[hit] + VARIANT_SEP + name)
    return lo, hi, text, changed.sum(axis=0)


def _table(
    ids: pd.Index, base: pd.Series, per_variant: list[pd.Series], names: list[str]
) -> tuple[pd.DataFrame, np.ndarray]:
    """Level, lowest, highest and changing variants of each of ``ids``; how many rows each variant changes."""
    b = base.reindex(ids).fillna(0).to_numpy(dtype=np.int64)
    if per_variant:
        m = np.column_stack([v.reindex(ids).fillna(-1).to_numpy(dtype=np.int64) for v in per_variant])
    else:
        m = np.empty((len(ids), 0), dtype=np.int64)
    lo, hi, text, counts = _spread(m, b, names)
    frame = pd.DataFrame(
        {
            LEVEL: level_from_rank(b).to_numpy(),
            LEVEL_MIN: level_from_rank(lo).to_numpy(),
            LEVEL_MAX: level_from_rank(hi).to_numpy(),
            CHANGED_BY: text,
        }
    )
    return frame, counts


def assess_variants(config: Config, basis: Basis) -> SensitivityResult:
    """Levels under the project's settings and under each ``[sensitivity]`` variant, side by side.

    Parameters
    ----------
    config
        The validated project, with ``[sensitivity]`` variants.
    basis
        The located facilities, validated tables and zones every variant starts from.

    Returns
    -------
    SensitivityResult
        Per facility and per zone the level, its lowest and highest value over the variants, and the
        variants that change it; a row per variant with what it changes.

    Raises
    ------
    ConfigError
        A variant sets a key the project file does not have, or a value the key does not accept.
    """
    variants = _variant_configs(config)
    base = _pass(config, basis, "score")
    fac_ranks: list[pd.Series] = []
    zone_ranks: dict[str, list[pd.Series]] = {k: [] for k in base.zone_ranks}
    rows = []
    for variant, vc in variants:
        start = first_stage(config, vc)
        p = base if start is None else _pass(vc, basis, start, (config, base))
        logger.info("variant %s: from %s", variant.name, start or "(nothing changes)")
        fac_ranks.append(p.facility_ranks)
        for kind in zone_ranks:
            zone_ranks[kind].append(p.zone_ranks[kind])
        rows.append(
            {
                "variant": variant.name,
                # default=str: a TOML date or time among the values is written as text, not an internal error.
                "set": json.dumps(variant.overrides, ensure_ascii=False, default=str),
                "first_stage": start or "",
            }
        )
    names = [v.name for v, _ in variants]
    table = pd.DataFrame(rows, columns=["variant", "set", "first_stage"])
    facilities, table["facilities_changed"] = _facility_table(base, fac_ranks, names, list(basis.zones))
    zones = {}
    for kind, layer in basis.zones.items():
        z, table[f"zones_changed_{kind}"] = _table(
            pd.Index(layer[ZONE_CODE]), base.zone_ranks[kind], zone_ranks[kind], names
        )
        z.insert(0, ZONE_CODE, layer[ZONE_CODE].to_numpy())
        z.insert(1, ZONE_NAME, layer[ZONE_NAME].to_numpy())
        zones[kind] = gpd.GeoDataFrame(z, geometry=layer.geometry.to_numpy(), crs=layer.crs)
    return SensitivityResult(facilities, zones, table)


def _facility_table(
    base: _Pass, fac_ranks: list[pd.Series], names: list[str], kinds: list[str]
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    adj = base.adjusted
    t, counts = _table(pd.Index(adj[FACILITY_ID]), base.facility_ranks, fac_ranks, names)
    codes = [zone_code_column(k) for k in kinds if zone_code_column(k) in adj.columns]
    head = pd.DataFrame({c: adj[c].to_numpy() for c in (FACILITY_ID, NAME, SECTOR, *codes)})
    out = pd.concat([head, t], axis=1)
    return gpd.GeoDataFrame(out, geometry=adj.geometry.to_numpy(), crs=adj.crs), counts
