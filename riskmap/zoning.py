"""Zones: facilities into the finest zone layer, roll-up along the admin-code hierarchy, zone levels.

Boundary rule: a facility is assigned with ``intersects`` so that a point exactly on a shared border is not lost
(``within`` drops it); when it touches several zones it goes to the one with the lowest code, so it is counted
exactly once and the choice is reproducible. A facility outside every zone is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.config import ZoningConfig
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, Level, label, level_from_rank, level_rank
from riskmap.methods import LEVEL, LEVEL_ZH
from riskmap.validate import FACILITY_ID, NAME, make_rejects

__all__ = [
    "ZONE_CODE",
    "ZONE_NAME",
    "ZONE_LEVEL",
    "PARENT_CODE",
    "RULE",
    "COUNT_COLUMNS",
    "ZoningResult",
    "assign_zones",
    "aggregate_zones",
    "zone_code_column",
]

ZONE_CODE = "zone_code"
ZONE_NAME = "zone_name"
ZONE_LEVEL = LEVEL
PARENT_CODE = "parent_code"
RULE = "rule"
#: Facility counts per level, highest first.
COUNT_COLUMNS = [f"n_{k}" for k in LEVEL_NAMES]


def zone_code_column(kind: str) -> str:
    """Facility column holding the code of its zone in layer ``kind`` (e.g. ``village_code``)."""
    return f"{kind}_code"


@dataclass
class ZoningResult:
    """Facilities with their zone codes, the zone layers with levels, rejects and warnings."""

    facilities: gpd.GeoDataFrame
    zones: dict[str, gpd.GeoDataFrame]
    rejects: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def _significant_prefix(code: str) -> str:
    """A 12-digit division code without its trailing all-zero 3-digit groups (county 6, town 9 digits)."""
    while len(code) > 6 and code.endswith("000"):
        code = code[:-3]
    return code


def _parents(
    fine: gpd.GeoDataFrame, coarse: gpd.GeoDataFrame, fine_kind: str, coarse_kind: str
) -> tuple[pd.Series, list[str]]:
    """Parent code in ``coarse`` of each zone of ``fine``: by code prefix when codes are 12 digits, else spatially."""
    warnings: list[str] = []
    fine_codes = fine[ZONE_CODE].astype(str)
    coarse_codes = coarse[ZONE_CODE].astype(str)
    parent = pd.Series(pd.NA, index=fine.index, dtype=object)
    if fine_codes.str.fullmatch(r"\d{12}").all() and coarse_codes.str.fullmatch(r"\d{12}").all():
        prefixes = coarse_codes.map(_significant_prefix)
        by_prefix = dict(zip(prefixes, coarse_codes, strict=True))
        lengths = sorted(set(prefixes.str.len()))
        for n in lengths:
            guess = fine_codes.str[:n].map(by_prefix)
            parent = parent.fillna(guess)
        missing = parent.isna()
        if missing.any():
            sample = ", ".join(fine_codes[missing].head(5))
            warnings.append(
                f"{int(missing.sum())} {fine_kind} codes have no {coarse_kind} with their code prefix "
                f"(e.g. {sample}); assigned spatially instead"
            )
    missing = parent.isna()
    if missing.any():
        pts = gpd.GeoDataFrame(geometry=fine.geometry[missing].representative_point(), crs=fine.crs)
        hit = gpd.sjoin(pts, coarse[[ZONE_CODE, "geometry"]], how="left", predicate="intersects")
        hit = hit.sort_values(ZONE_CODE).groupby(level=0).head(1)
        parent[missing] = hit[ZONE_CODE].reindex(pts.index)
        lost = parent.isna()
        if lost.any():
            warnings.append(f"{int(lost.sum())} {fine_kind} zones lie in no {coarse_kind} zone")
    return parent, warnings


def assign_zones(
    facilities: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame], source: str
) -> ZoningResult:
    """Put each facility in the finest zone layer and carry the codes of every coarser layer.

    ``layers`` are ordered finest first, with ``zone_code``/``zone_name`` columns, all in the facilities' CRS.
    """
    kinds = list(layers)
    finest = layers[kinds[0]]
    warnings: list[str] = []
    zones = {k: layers[k].copy() for k in kinds}
    for fine_kind, coarse_kind in zip(kinds, kinds[1:], strict=False):
        parent, w = _parents(zones[fine_kind], zones[coarse_kind], fine_kind, coarse_kind)
        zones[fine_kind][PARENT_CODE] = parent
        warnings += w

    pts = facilities[[FACILITY_ID, facilities.geometry.name]]
    hit = gpd.sjoin(pts, finest[[ZONE_CODE, ZONE_NAME, "geometry"]], how="left", predicate="intersects")
    hit = hit.sort_values(ZONE_CODE, kind="stable").groupby(level=0).head(1).sort_index()
    outside = hit[ZONE_CODE].isna()
    rejects = make_rejects(
        source,
        facilities[outside.to_numpy()],
        "geometry",
        f"the facility lies outside every {kinds[0]} zone; check its coordinates and their CRS",
        "zone",
    )
    out = facilities[~outside.to_numpy()].copy()
    out[zone_code_column(kinds[0])] = hit.loc[~outside, ZONE_CODE].to_numpy()
    out[ZONE_CODE] = out[zone_code_column(kinds[0])]
    out[ZONE_NAME] = hit.loc[~outside, ZONE_NAME].to_numpy()
    for fine_kind, coarse_kind in zip(kinds, kinds[1:], strict=False):
        lookup = zones[fine_kind].set_index(ZONE_CODE)[PARENT_CODE]
        out[zone_code_column(coarse_kind)] = out[zone_code_column(fine_kind)].map(lookup)
    return ZoningResult(
        facilities=out.reset_index(drop=True), zones=zones, rejects=rejects, warnings=warnings
    )


def aggregate_zones(
    facilities: pd.DataFrame, zones: dict[str, gpd.GeoDataFrame], config: ZoningConfig
) -> dict[str, gpd.GeoDataFrame]:
    """Level of every zone of every layer under the configured rule, with counts per level.

    Under ``max`` (就高) a zone takes the highest level among its facilities; a zone with none takes
    ``empty_level``. Each row names the rule and the facilities that set the level.
    """
    out: dict[str, gpd.GeoDataFrame] = {}
    ranks = level_rank(facilities[LEVEL])
    for kind, layer in zones.items():
        code_col = zone_code_column(kind)
        counts = (
            pd.crosstab(facilities[code_col], facilities[LEVEL])
            .reindex(columns=list(LEVEL_NAMES), fill_value=0)
            .rename(columns=lambda k: f"n_{k}")
        )
        top_rank = ranks.groupby(facilities[code_col]).max()
        drivers = _drivers(facilities, ranks, top_rank, code_col)
        z = layer.copy()
        z[COUNT_COLUMNS] = counts.reindex(z[ZONE_CODE]).fillna(0).astype(int).to_numpy()
        z["n_facilities"] = z[COUNT_COLUMNS].sum(axis=1)
        rank = top_rank.reindex(z[ZONE_CODE]).fillna(0).astype(int)
        level = level_from_rank(rank).to_numpy()
        level = np.where(rank.to_numpy() == 0, config.empty_level, level)
        z[ZONE_LEVEL] = level
        z[LEVEL_ZH] = [label(k, "zh") for k in level]
        z[RULE] = config.rule
        z["drivers"] = drivers.reindex(z[ZONE_CODE]).fillna("").to_numpy()
        z["reason"] = _zone_reasons(z, config)
        out[kind] = z
    return out


def _drivers(facilities: pd.DataFrame, ranks: pd.Series, top_rank: pd.Series, code_col: str) -> pd.Series:
    """Names of up to three facilities at their zone's top level."""
    at_top = ranks.to_numpy() == facilities[code_col].map(top_rank).to_numpy()
    top = facilities[at_top].sort_values([code_col, FACILITY_ID])
    return top.groupby(code_col)[NAME].agg(
        lambda names: "、".join(names.head(3)) + ("等" if len(names) > 3 else "")
    )


def _zone_reasons(z: pd.DataFrame, config: ZoningConfig) -> list[str]:
    reasons = []
    for level, n, drivers, total in zip(
        z[ZONE_LEVEL], _top_counts(z), z["drivers"], z["n_facilities"], strict=True
    ):
        if total == 0:
            shown = label(config.empty_level, "zh") if config.empty_level != NOT_ASSESSED else "未评估"
            reasons.append(f"区内无企业, 按配置定为{shown}")
        else:
            reasons.append(f"就高: 区内 {n} 家{Level.parse(level).zh}企业 ({drivers})")
    return reasons


def _top_counts(z: pd.DataFrame) -> list[int]:
    """The count of facilities at each zone's own level."""
    counts = z[COUNT_COLUMNS].to_numpy()
    pos = pd.Series(z[ZONE_LEVEL]).map({k: i for i, k in enumerate(LEVEL_NAMES)})
    picked = counts[np.arange(len(z)), pos.fillna(0).astype(int).to_numpy()]
    return np.where(pos.notna().to_numpy(), picked, 0).tolist()
