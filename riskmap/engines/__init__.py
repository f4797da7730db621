"""Engines for the validate -> assign zones -> score stages: in memory, or partitioned on a dask cluster.

Both do the same two steps (:class:`~riskmap.engines.base.Engine`): ``locate`` validates the facility rows and
puts them in zones, ``score`` validates the related tables against the located facilities and grades them.
The stage chain (:func:`riskmap.stages.run_stages`) calls them in turn; between the two it validates the event
tables and stops when no facility is left. Engines sit below the chain: they import the stage modules (validate,
zoning, exposure, methods), never the chain or the pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Literal

from riskmap.config import Config
from riskmap.engines.base import Engine, Located, Scored
from riskmap.engines.memory import MemoryEngine
from riskmap.rejects import input_sources

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["Engine", "EngineName", "Located", "Scored", "open_engine"]

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
