"""GeoParquet copies of the result layers: how large results move to other tools (DuckDB, Spark, GeoPandas)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pyarrow import ArrowException

from riskmap.errors import OutputError
from riskmap.io.atomic import atomic_path, write_error

__all__ = ["write_geoparquet"]


def write_geoparquet(layers: Mapping[str, pd.DataFrame], directory: str | Path) -> dict[str, Path]:
    """Write each layer to ``directory/<name>.parquet`` (GeoParquet for layers with geometry), atomically.

    Layers without geometry (the rejects) become plain Parquet tables. Returns the written paths by layer name.
    """
    folder = Path(directory)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, df in layers.items():
            target = folder / f"{name}.parquet"
            with atomic_path(target) as tmp:
                if isinstance(df, gpd.GeoDataFrame):
                    df.to_parquet(tmp, index=False)
                else:
                    pd.DataFrame(df).to_parquet(tmp, index=False)
            written[name] = target
    except OSError as err:
        known = write_error(folder / "geoparquet", err)
        raise known or OutputError(f"{folder}: cannot write GeoParquet: {err.strerror}") from err
    except (TypeError, ValueError, ArrowException) as err:
        raise OutputError(f"{folder}: cannot write GeoParquet: {err}") from err
    return written
