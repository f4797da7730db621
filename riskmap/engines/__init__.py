"""Engines for the validate -> assign zones -> score stages: in memory, or partitioned on a dask cluster.

Both do the same two steps (:class:`~riskmap.engines.base.Engine`): ``locate`` validates the facility rows and
puts them in zones, ``score`` validates the related tables against the located facilities and grades them.
The pipeline calls them in turn; between the two it validates the event tables and stops when no facility
is left. Engines sit below the pipeline: they import the stage modules (validate, zoning, exposure, methods),
never the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import pandas as pd

from riskmap.config import Config
from riskmap.engines.base import Engine, Located, Scored
from riskmap.engines.memory import MemoryEngine
from riskmap.rejects import input_sources

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["Engine", "EngineName", "EngineResult", "Located", "Scored", "open_engine", "run_stages"]

EngineName = Literal["memory", "dask"]


@contextmanager
def open_engine(
    config: Config,
    source: str | None = None,
    *,
    engine: EngineName | None = None,
    scheduler: str | None = None,
    processes: bool | None = None,
    npartitions: int | None = None,
    client: Client | None = None,
) -> Iterator[Engine]:
    """The configured engine, open for the two steps (a dask engine holds its client until the end).

    Parameters
    ----------
    config
        The validated project.
    source
        The facility file's name in rejects (default: from the config).
    engine
        ``"memory"`` or ``"dask"`` (default: ``[engine] name``).
    scheduler, processes, npartitions, client
        Dask only: a scheduler address (default ``[engine] scheduler``, else ``$DASK_SCHEDULER_ADDRESS``, else
        a local cluster of threads, or of processes with ``processes=True``), the partition count (default: one
        per ``[engine] partition_rows`` rows, at least one per worker thread), or a client to reuse.
    """
    source = source or input_sources(config)["facilities"]
    engine = engine or config.engine.name
    if engine == "dask":
        from riskmap.engines.dask import DaskEngine, dask_client

        scheduler = scheduler or config.engine.scheduler
        processes = config.engine.processes if processes is None else processes
        with dask_client(scheduler, processes, client) as c:
            yield DaskEngine(config, source, c, npartitions)
        return
    if engine != "memory":
        raise ValueError(f"unknown engine {engine!r}; choose memory or dask")
    yield MemoryEngine(config, source)


@dataclass
class EngineResult:
    """What validate -> assign zones -> score produce, the same from either engine."""

    #: Scored facilities (``score_facilities`` output) as a GeoDataFrame in EPSG:4490, in input-row order.
    facilities: gpd.GeoDataFrame
    #: Zone layers with parent codes (grids included), finest first.
    zones: dict[str, gpd.GeoDataFrame]
    #: Ids of the facilities that passed validation and lie in a zone (the known ids of the event tables).
    known_ids: pd.Index
    #: Rejected rows by step: ``facilities``, ``zoning``, each related table by name, ``score``.
    rejects: dict[str, pd.DataFrame]
    warnings: list[str] = field(default_factory=list)


def run_stages(
    config: Config,
    raw: pd.DataFrame,
    zones: dict[str, gpd.GeoDataFrame],
    tables: dict[str, pd.DataFrame],
    *,
    source: str | None = None,
    engine: EngineName | None = None,
    scheduler: str | None = None,
    processes: bool | None = None,
    npartitions: int | None = None,
    client: Client | None = None,
) -> EngineResult:
    """Validate facilities, put them in zones, validate the related tables and score, with either engine.

    ``raw``, ``zones`` and ``tables`` are as :func:`riskmap.io.project.read_inputs` reads them (facility rows,
    zone layers, the related tables the methods need); the other arguments are those of :func:`open_engine`.

    Examples
    --------
    >>> import riskmap
    >>> from riskmap.config import load_config
    >>> from riskmap.io.project import read_inputs
    >>> config = load_config(riskmap.demo_dir() / "riskmap.toml")
    >>> inputs = read_inputs(config)
    >>> res = run_stages(config, inputs.facilities, inputs.zones, inputs.tables)
    >>> on_map = len(res.facilities)
    >>> on_map + sum(len(r[r["source"] == "facilities.csv"]) for r in res.rejects.values()) == len(inputs.facilities)
    True
    """
    with open_engine(
        config,
        source,
        engine=engine,
        scheduler=scheduler,
        processes=processes,
        npartitions=npartitions,
        client=client,
    ) as stages:
        located = stages.locate(raw, zones)
        scored = stages.score(located, dict(tables))
    return EngineResult(
        facilities=scored.facilities,
        zones=located.zones,
        known_ids=located.known_ids,
        rejects={
            "facilities": located.facility_rejects,
            "zoning": located.zoning_rejects,
            **scored.table_rejects,
            "score": scored.score_rejects,
        },
        warnings=located.warnings,
    )
