"""What every engine takes and gives: the two steps (locate, score), their records, and shared helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.rejects import rejects_frame

__all__ = [
    "Engine",
    "Located",
    "Scored",
    "split_positions",
    "concat_scored",
    "concat_rejects",
    "by_row",
]


@dataclass
class Located:
    """Facilities validated and put in zones: the ids of those on the map, the zones, the rejects so far."""

    #: Ids of the facilities that passed validation and lie in a zone (the known ids of the related tables).
    known_ids: pd.Index
    #: Zone layers with parent codes (grids included), finest first.
    zones: dict[str, gpd.GeoDataFrame]
    #: Rows rejected by validation and by zone assignment, each frame in row order (memory: input order).
    facility_rejects: pd.DataFrame
    zoning_rejects: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    #: The located facilities as the engine keeps them (a frame in memory, partitions on a cluster).
    state: Any = None


@dataclass
class Scored:
    """Facilities graded by the configured methods, with the rejected rows of the related tables."""

    #: ``score_facilities`` output as a GeoDataFrame in EPSG:4490, in input-row order.
    facilities: gpd.GeoDataFrame
    #: Related-table rows rejected by validation (unknown facility, bad values), by table, in table order.
    table_rejects: dict[str, pd.DataFrame]
    #: Rows rejected while scoring.
    score_rejects: pd.DataFrame


class Engine(Protocol):
    """Where validation, zone assignment and scoring run: :class:`MemoryEngine` or :class:`DaskEngine`."""

    def locate(self, raw: pd.DataFrame, zones: dict[str, gpd.GeoDataFrame]) -> Located:
        """Validate the facility rows as read and put them in ``zones`` (grids are made over them)."""
        ...

    def score(self, located: Located, tables: dict[str, pd.DataFrame]) -> Scored:
        """Validate the related tables against the located facilities and grade them; ``tables`` is emptied."""
        ...


def split_positions(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """Row positions of each of ``n`` partitions (``keys`` in ``0..n-1``), in row order within each."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(1, n))
    return np.split(order, bounds)


def concat_scored(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Scored blocks as one frame, with the columns in the order of the widest block."""
    kept = [f for f in frames if not f.empty]
    scored = pd.concat(kept, ignore_index=True) if kept else frames[0]
    widest = max((f.columns for f in kept), key=len, default=scored.columns)
    return scored[[*widest, *(c for c in scored.columns if c not in widest)]]


def concat_rejects(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Rejects frames as one, in the order given."""
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else rejects_frame()


def by_row(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Rejects frames as one, sorted by row (partitions come back in any order)."""
    frames = [f for f in frames if not f.empty]
    if not frames:
        return rejects_frame()
    return pd.concat(frames, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)
