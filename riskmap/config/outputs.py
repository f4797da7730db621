"""``[outputs]``: which outputs to write, and where."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from riskmap.config.base import ConfigModel

__all__ = ["OutputsConfig"]


class OutputsConfig(ConfigModel):
    """Which outputs to write."""

    dir: Path = Field(Path("riskmap-out"), description="Output directory, relative to the project file.")
    html: bool = True
    embed: bool = Field(
        False,
        description="HTML map of fixed size without full-page styling, for an <iframe> or a report page.",
    )
    geoparquet: bool = Field(
        False,
        description="Also write the facility, zone and plan layers as GeoParquet (facilities.parquet, "
        "zones_<kind>.parquet, inspection_plan.parquet): how large results move to other tools.",
    )
    cluster_above: int = Field(
        5000,
        ge=0,
        description="Above this many facilities the HTML map clusters the markers per level (drawn on canvas), "
        "so a province-size map still opens; 0 always clusters.",
    )
    figure: bool = True
    figure_formats: list[Literal["png", "svg", "pdf"]] = Field(default=["png"])
    tiles: Literal["none", "openstreetmap", "tianditu", "gaode"] = Field(
        "none",
        description="Base tiles of the HTML map: none works offline; tianditu reads its key from the TIANDITU_KEY "
        "environment variable (never put it in the project file); gaode shows the data shifted to GCJ-02.",
    )
