"""Vector inputs (GeoPackage, shapefile, GeoJSON, GeoParquet) through pyogrio."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pyogrio.errors

from riskmap.errors import CRSError, InputError
from riskmap.io.crs import parse_crs
from riskmap.io.tables import READ_WARNINGS, ROW, clean_controls

__all__ = ["read_vector", "VECTOR_SUFFIXES"]

VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".fgb", ".parquet", ".geoparquet", ".zip"}


def read_vector(
    path: Path, *, layer: str | None = None, crs: str | None = None, where: str
) -> gpd.GeoDataFrame:
    """Read a vector layer; give it ``crs`` when the file declares none; add the ``_row`` feature number.

    Control characters in text attributes are cleaned as by :func:`~riskmap.io.tables.read_table`; what was
    cleaned is in ``gdf.attrs[READ_WARNINGS]``.

    Raises
    ------
    InputError
        Missing file, unknown layer, unreadable data.
    CRSError
        The file has no CRS and none is declared in the project file.
    """
    if not path.exists():
        raise InputError(f"{path}: file not found; check the path in the project file (relative to it)")
    try:
        if path.suffix.lower() in {".parquet", ".geoparquet"}:
            try:
                gdf = gpd.read_parquet(path)
            except (
                ImportError
            ) as err:  # pyarrow is a dependency; a broken install should still say so plainly
                raise InputError(
                    f"{path}: reading GeoParquet needs pyarrow ({err}); pip install pyarrow"
                ) from None
        else:
            names = [name for name, _ in pyogrio.list_layers(path)]
            if layer is not None and layer not in names:
                raise InputError(
                    f"{path}: no layer {layer!r} ({where}.layer); the file has: {', '.join(names)}"
                )
            gdf = pyogrio.read_dataframe(path, layer=layer, use_arrow=False)
    except InputError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError, OSError) as err:
        raise InputError(f"{path}: cannot read: {err}") from None
    if gdf.crs is None:
        if crs is None:
            raise CRSError(
                f'{path}: the layer has no CRS; declare it in the project file ({where}.crs = "EPSG:4490" '
                "for CGCS2000 longitude/latitude) or fix the file (.prj for shapefiles)"
            )
        parsed = parse_crs(crs, f"{where}.crs")
        if isinstance(parsed, str):
            raise CRSError(f"{where}.crs: {parsed} is for point tables; reproject the vector file instead")
        gdf = gdf.set_crs(parsed)
    gdf.insert(0, ROW, range(1, len(gdf) + 1))
    # Control characters in attributes (names) are cleaned as in tables: outputs cannot hold them.
    cleaned = clean_controls(gdf, path.name)
    gdf.attrs[READ_WARNINGS] = [cleaned] if cleaned else []
    return gdf
