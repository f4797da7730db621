"""How firm is each colour: levels re-graded and re-zoned under the accepted alternative conventions.

A variant (``[[sensitivity.variants]]``) sets a few keys of the project file; every variant starts from the
same located facilities, validated tables and zones (:class:`riskmap.stages.Basis`), and the stage chain
(:func:`riskmap.stages.run_stages`) runs again only from the first stage its keys affect: method parameters
re-grade (the results of the methods it leaves alone are reused), adjustment rules re-adjust, zoning keys
re-zone. Each facility and zone then has its level under the project's own settings, the lowest and the highest
over the variants, and the variants that change it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.columns import DECIDED_ON, FACILITY_ID, LEVEL, NAME, SECTOR
from riskmap.config import Config, Variant, with_overrides
from riskmap.errors import ConfigError
from riskmap.i18n import tr
from riskmap.io.project import required_tables
from riskmap.levels import level_from_rank, level_rank
from riskmap.stages import Pass, done, first_stage, run_stages
from riskmap.zoning import ZONE_CODE, ZONE_NAME, zone_code_column

__all__ = [
    "SensitivityResult",
    "assess_variants",
    "LEVEL_MIN",
    "LEVEL_MAX",
    "CHANGED_BY",
    "VARIANT_SEP",
    "DECIDED",
]

logger = logging.getLogger(__name__)

#: The lowest and highest level over the project's settings and every variant.
LEVEL_MIN = "level_min"
LEVEL_MAX = "level_max"
#: The names of the variants under which the level differs from the project's own, joined by :data:`VARIANT_SEP`.
CHANGED_BY = "changed_by"
VARIANT_SEP = "；"
#: Whether the committee decided the level (``[decisions]``): the same under every variant, so never "sensitive";
#: reported apart (only with ``[decisions]``).
DECIDED = "decided"


@dataclass
class SensitivityResult:
    """Levels under the project's settings and their range over the variants."""

    #: Per facility: id, name, sector, zone code, ``level``, ``level_min``, ``level_max``, ``changed_by``.
    facilities: gpd.GeoDataFrame
    #: Per zone layer (by kind): code, name, the same four columns, the polygon.
    zones: dict[str, gpd.GeoDataFrame]
    #: One row per variant: its name, keys, first stage re-run, facilities and zones it changes.
    variants: pd.DataFrame


def _facility_ranks(p: Pass) -> pd.Series:
    adjusted = done(p.adjusted, "adjust")
    return pd.Series(level_rank(adjusted[LEVEL]).to_numpy(), index=adjusted[FACILITY_ID].to_numpy())


def _zone_ranks(p: Pass) -> dict[str, pd.Series]:
    return {
        k: pd.Series(level_rank(z[LEVEL]).to_numpy(), index=z[ZONE_CODE].to_numpy())
        for k, z in done(p.zoned, "zone").layers.items()
    }


def _variant_configs(config: Config) -> list[tuple[Variant, Config]]:
    """Each variant's config, checked before any grading: a bad key stops the run at once."""
    assert config.sensitivity is not None
    read = set(required_tables(config))
    out = []
    for variant in config.sensitivity.variants:
        vc = with_overrides(config, variant.as_overrides(), variant.where)
        missing = set(required_tables(vc)) - read
        if missing:
            raise ConfigError(
                tr(
                    "[sensitivity] variant {name!r} grades with the {tables} table, which the project's own settings "
                    "do not read; add it to the project file",
                    name=variant.name,
                    tables=", ".join(sorted(missing)),
                )
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


def assess_variants(config: Config, located: Pass) -> SensitivityResult:
    """Levels under the project's settings and under each ``[sensitivity]`` variant, side by side.

    Parameters
    ----------
    config
        The validated project, with ``[sensitivity]`` variants.
    located
        A pass of the stages made with ``keep=True``: the located facilities, validated tables and zones every
        variant starts from.

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
    base = run_stages(config, located, start="score", until="zone", levels_only=True)
    fac_ranks: list[pd.Series] = []
    base_zones = _zone_ranks(base)
    zone_ranks: dict[str, list[pd.Series]] = {k: [] for k in base_zones}
    rows = []
    for variant, vc in variants:
        start = first_stage(config, vc)
        p = base if start is None else run_stages(vc, base, start=start, until="zone", levels_only=True)
        logger.info("variant %s: from %s", variant.name, start or "(nothing changes)")
        fac_ranks.append(_facility_ranks(p))
        for kind, ranks in _zone_ranks(p).items():
            zone_ranks[kind].append(ranks)
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
    zones_of = done(located.basis, "validate").zones
    facilities, table["facilities_changed"] = _facility_table(base, fac_ranks, names, list(zones_of))
    zones = {}
    for kind, layer in zones_of.items():
        z, table[f"zones_changed_{kind}"] = _table(
            pd.Index(layer[ZONE_CODE]), base_zones[kind], zone_ranks[kind], names
        )
        z.insert(0, ZONE_CODE, layer[ZONE_CODE].to_numpy())
        z.insert(1, ZONE_NAME, layer[ZONE_NAME].to_numpy())
        _mark_decided(z, done(base.zoned, "zone").layers[kind])
        zones[kind] = gpd.GeoDataFrame(z, geometry=layer.geometry.to_numpy(), crs=layer.crs)
    return SensitivityResult(facilities, zones, table)


def _facility_table(
    base: Pass, fac_ranks: list[pd.Series], names: list[str], kinds: list[str]
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    adj = done(base.adjusted, "adjust")
    t, counts = _table(pd.Index(adj[FACILITY_ID]), _facility_ranks(base), fac_ranks, names)
    codes = [zone_code_column(k) for k in kinds if zone_code_column(k) in adj.columns]
    head = pd.DataFrame({c: adj[c].to_numpy() for c in (FACILITY_ID, NAME, SECTOR, *codes)})
    out = pd.concat([head, t], axis=1)
    _mark_decided(out, adj)
    return gpd.GeoDataFrame(out, geometry=adj.geometry.to_numpy(), crs=adj.crs), counts


def _mark_decided(table: pd.DataFrame, levels: pd.DataFrame) -> None:
    """The :data:`DECIDED` column, from the project's own pass (row for row), when there are decisions.

    A decision applies in every variant's pass as in the project's, so a decided level never changes: it is
    reported as decided, not counted as firm under the conventions.
    """
    if DECIDED_ON in levels.columns:
        table[DECIDED] = (levels[DECIDED_ON].fillna("").astype(str) != "").to_numpy()
