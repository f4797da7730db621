"""The in-memory engine: validate, put in zones and score the whole district in one process.

Scoring runs on blocks of ``[engine] partition_rows`` facilities, one after another, which bounds the peak
memory of the reason texts at province size; the result is the same as in one pass.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.columns import FACILITY_ID, PERSONS_NOTE
from riskmap.config import Config
from riskmap.engines.base import Located, Scored, concat_rejects, concat_scored, split_positions
from riskmap.exposure import add_persons
from riskmap.frames import id_positions
from riskmap.io.project import required_tables
from riskmap.io.shifts import layer_origins
from riskmap.methods import ScoringInputs, score_facilities
from riskmap.placement import located_warnings, note_placements, place_facilities, zone_index
from riskmap.rejects import input_sources
from riskmap.validate import validate_facilities, validate_table
from riskmap.zone_layers import with_grids
from riskmap.zoning import assign_zones

__all__ = ["MemoryEngine", "table_sources"]


def table_sources(config: Config, source: str, tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    """How the facilities and each related table are named in the rejects."""
    names = input_sources(config)  # file and sheet: two sheets of one workbook are two sources
    out = {"facilities": source}
    for table in tables:
        out[table] = names[table]
    return out


class MemoryEngine:
    """Validate, locate and score in this process (see :class:`~riskmap.engines.base.Engine`)."""

    def __init__(self, config: Config, source: str) -> None:
        self.config = config
        self.source = source

    def locate(self, raw: pd.DataFrame, zones: dict[str, gpd.GeoDataFrame]) -> Located:
        """Validate the facility rows and put them in the zones (grids made over them)."""
        config, source = self.config, self.source
        n_rows = len(raw)
        facilities, rej_fac = validate_facilities(raw, config, source)
        # The inputs as read are not needed once validated: at province size they are hundreds of MB of text,
        # freed here unless the caller keeps its own references (the pipeline does not).
        del raw
        facilities, rej_place, notes = place_facilities(facilities, zone_index(zones, config), source)
        layers = with_grids(config, zones, facilities)
        zoning = assign_zones(
            facilities,
            layers,
            source,
            config.zoning.snap_distance_m,
            origins=layer_origins(config, source),
            shift_rows=n_rows,
        )
        return Located(
            known_ids=pd.Index(zoning.facilities[FACILITY_ID]),
            zones=zoning.zones,
            facility_rejects=concat_rejects([rej_fac, rej_place]),
            zoning_rejects=zoning.rejects,
            warnings=[*located_warnings(notes, config, n_rows), *zoning.warnings],
            state=zoning.facilities,
        )

    def score(self, located: Located, tables: dict[str, pd.DataFrame]) -> Scored:
        """Validate the related tables against the located facilities, then grade them block by block."""
        config = self.config
        needs = required_tables(config)
        sources = table_sources(config, self.source, tables)
        clean, table_rejects = {}, {}
        for table in list(tables):
            clean[table], table_rejects[table] = validate_table(
                tables.pop(table), table, getattr(config, table), located.known_ids, sources[table],
                needs.get(table, ()),
            )  # fmt: skip
        facilities, located.state = located.state, None
        # Counted once: a pass that keeps its basis for re-grading counted them on the located table already.
        if config.uses_method("gb18218") and PERSONS_NOTE not in facilities.columns:
            add_persons(facilities, config)
        scored, rej = _score_in_blocks(facilities, clean, sources, config, config.engine.partition_rows)
        scored = note_placements(scored)
        return Scored(
            facilities=gpd.GeoDataFrame(scored, geometry=facilities.geometry.name, crs=facilities.crs),
            table_rejects=table_rejects,
            score_rejects=rej,
        )


def _score_in_blocks(
    facilities: gpd.GeoDataFrame,
    tables: dict[str, pd.DataFrame],
    sources: dict[str, str],
    config: Config,
    rows: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``score_facilities`` on blocks of ``rows`` facilities with their own related rows, one after another.

    A facility's grade depends on its own rows only, so the result is the same as in one pass; the reason
    texts every method builds for every facility are held for one block at a time, which bounds the peak
    memory of scoring a province. ``tables`` is emptied as it is cut up.
    """
    n_blocks = math.ceil(len(facilities) / rows) if len(facilities) else 1
    if n_blocks <= 1:
        return score_facilities(ScoringInputs(facilities, tables, sources), config)
    pieces: list[dict[str, pd.DataFrame]] = [{} for _ in range(n_blocks)]
    for table in list(tables):
        df = tables.pop(table)
        # Validated rows all belong to a located facility: its position gives the block.
        block = id_positions(facilities[FACILITY_ID], df[FACILITY_ID]) // rows
        for i, pos in enumerate(split_positions(block.astype(np.int64), n_blocks)):
            pieces[i][table] = df.iloc[pos]
        del df
    frames, rejects = [], []
    for i in range(n_blocks):
        part = facilities.iloc[i * rows : (i + 1) * rows]
        scored, rej = score_facilities(ScoringInputs(part, pieces[i], sources), config)
        pieces[i] = {}
        frames.append(scored)
        rejects.append(rej)
    return concat_scored(frames), concat_rejects(rejects)
