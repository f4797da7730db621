"""``[engine]``: where validation, zone assignment and scoring run."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from riskmap.config.base import ConfigModel

__all__ = ["EngineConfig"]


class EngineConfig(ConfigModel):
    """Where validation, zone assignment and scoring run: in memory, or partitioned on a dask cluster."""

    name: Literal["memory", "dask"] = Field(
        "memory",
        description="memory (one process) or dask (GeoDataFrame partitions on dask.distributed; "
        "pip install 'riskmap[dask]'). Same results.",
    )
    scheduler: str | None = Field(
        None,
        description="Dask scheduler address (tcp://host:8786); default: $DASK_SCHEDULER_ADDRESS, else a local "
        "cluster on this machine.",
    )
    partition_rows: int = Field(
        250_000,
        ge=1_000,
        description="Facilities per dask partition (at least one partition per worker thread).",
    )
    processes: bool = Field(
        False,
        description="Local cluster of processes instead of threads (each partition is pickled; slower on few cores).",
    )
