"""Vector inputs (GeoPackage, shapefile, GeoJSON, GeoParquet) through pyogrio."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pyogrio
import pyogrio.errors

from riskmap.errors import CRSError, InputError
from riskmap.i18n import tr
from riskmap.io.crs import parse_crs, unshift_geometries
from riskmap.io.tables import READ_WARNINGS, ROW, clean_controls

if TYPE_CHECKING:
    from pyproj import CRS

__all__ = ["read_vector", "declare_crs", "VECTOR_SUFFIXES"]

WGS84 = "EPSG:4326"

VECTOR_SUFFIXES = {".gpkg", ".shp", ".geojson", ".json", ".fgb", ".parquet", ".geoparquet", ".zip"}


def read_vector(
    path: Path,
    *,
    layer: str | None = None,
    crs: str | None = None,
    where: str,
    warnings: list[str] | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector layer in the CRS the project file declares, else its own; add the ``_row`` feature number.

    A declared ``crs`` wins over the file's own: an EPSG code that differs from the file's is applied and
    reported in ``warnings``; ``"GCJ-02"``/``"BD-09"`` say the coordinates come from a Chinese map app (a GeoJSON
    file always declares WGS84, whatever it holds), so every vertex is converted to WGS84.

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
        raise InputError(
            tr("{file}: file not found; check the path in the project file (relative to it)", file=path)
        )
    try:
        if path.suffix.lower() in {".parquet", ".geoparquet"}:
            try:
                gdf = gpd.read_parquet(path)
            except (
                ImportError
            ) as err:  # pyarrow is a dependency; a broken install should still say so plainly
                raise InputError(
                    tr(
                        "{file}: reading GeoParquet needs pyarrow ({why}); pip install pyarrow",
                        file=path,
                        why=err,
                    )
                ) from None
        else:
            names = [name for name, _ in pyogrio.list_layers(path)]
            if layer is not None and layer not in names:
                raise InputError(
                    tr(
                        "{file}: no layer {layer} ({where}.layer); the file has: {layers}",
                        file=path,
                        layer=repr(layer),
                        where=where,
                        layers=", ".join(names),
                    )
                )
            encoding = _dbf_encoding(path, warnings)
            gdf = pyogrio.read_dataframe(path, layer=layer, use_arrow=False, encoding=encoding)
    except InputError:
        raise
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError, OSError) as err:
        raise InputError(tr("{file}: cannot read: {why}", file=path, why=err)) from None
    gdf = declare_crs(gdf, path.name, crs, where, warnings, shown=str(path))
    gdf.insert(0, ROW, range(1, len(gdf) + 1))
    # Control characters in attributes (names) are cleaned as in tables: outputs cannot hold them.
    cleaned = clean_controls(gdf, path.name)
    gdf.attrs[READ_WARNINGS] = [cleaned] if cleaned else []
    return gdf


#: dBASE language driver ids that name no code page: GDAL then reads the text as ISO-8859-1.
_NO_LANGUAGE_DRIVER = {0x00, 0x57}


def _dbf_encoding(path: Path, warnings: list[str] | None) -> str | None:
    """The text encoding of a shapefile's DBF when neither a .cpg file nor the DBF header says it, else None.

    Chinese offices' shapefiles are mostly GBK without a .cpg: GDAL then reads names as ISO-8859-1 (mojibake,
    and no zone name matches). Undeclared text that is valid UTF-8 is UTF-8; else text valid as GB18030 (a superset
    of GBK) is GB18030, with a note. Only the DBF's records are looked at (its header holds field names).
    """
    if path.suffix.lower() != ".shp" or any(path.with_suffix(s).exists() for s in (".cpg", ".CPG")):
        return None
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()), None)
    if dbf is None:
        return None
    raw = dbf.read_bytes()
    if len(raw) < 32 or raw[29] not in _NO_LANGUAGE_DRIVER:
        return None
    records = raw[int.from_bytes(raw[8:10], "little") :]
    if records.isascii():
        return None
    try:
        records.decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        records.decode("gb18030")
    except UnicodeDecodeError:
        return None
    if warnings is not None:
        warnings.append(
            tr(
                "{file}: the shapefile has no .cpg and its text is not UTF-8: read as GB18030 (GBK), as Chinese GIS "
                "exports write it; if names look wrong, add {cpg} holding the encoding (e.g. GBK or UTF-8)",
                file=path.name,
                cpg=path.with_suffix(".cpg").name,
            )
        )
    return "GB18030"


def declare_crs(
    gdf: gpd.GeoDataFrame,
    name: str,
    crs: str | None,
    where: str,
    warnings: list[str] | None,
    shown: str | None = None,
) -> gpd.GeoDataFrame:
    """``gdf`` in the CRS the project file declares (``crs``), else its own; ``name`` is the layer in messages.

    Shared by files and database tables (:mod:`riskmap.io.postgis`), so a layer's CRS works the same way
    wherever it is read from.
    """
    if crs is None:
        if gdf.crs is None:
            raise CRSError(
                tr(
                    '{layer}: the layer has no CRS; declare it in the project file ({where}.crs = "EPSG:4490" for '
                    "CGCS2000 longitude/latitude) or fix the file (.prj for shapefiles)",
                    layer=shown or name,
                    where=where,
                )
            )
        return gdf
    declared = parse_crs(crs, f"{where}.crs")
    if isinstance(declared, str):
        return _from_shifted(gdf, declared)
    if gdf.crs is not None and not _same_crs(gdf.crs, declared) and warnings is not None:
        warnings.append(
            tr(
                '{layer} declares {crs}, the project file says {where}.crs = "{declared}": the project file wins; '
                "remove {where}.crs if the file is right",
                layer=name,
                crs=_crs_name(gdf.crs),
                where=where,
                declared=crs,
            )
        )
    return gdf.set_crs(declared, allow_override=True)


def _from_shifted(gdf: gpd.GeoDataFrame, shifted: str) -> gpd.GeoDataFrame:
    """A layer whose longitude/latitude are GCJ-02 or BD-09, in WGS84."""
    if gdf.crs is None or gdf.crs.is_geographic:
        # Whatever geographic CRS the file declares, its numbers are the map app's longitude/latitude.
        gdf = gdf.set_crs(WGS84, allow_override=True)
    else:
        # A projected file (e.g. Web Mercator from a web map) holds the projection of the shifted lon/lat.
        gdf = gdf.to_crs(WGS84)
    geometry = unshift_geometries(gdf.geometry.to_numpy(), shifted)
    return gdf.set_geometry(gpd.GeoSeries(geometry, index=gdf.index, crs=WGS84), crs=WGS84)


def _same_crs(a: CRS, b: CRS) -> bool:
    """Equal, or both longitude/latitude on WGS84/CGCS2000 (decimetres apart: not worth a warning)."""
    if a.equals(b, ignore_axis_order=True):
        return True
    wgs_like = {"EPSG:4326", "EPSG:4490", "OGC:CRS84"}
    return a.is_geographic and b.is_geographic and _crs_name(a) in wgs_like and _crs_name(b) in wgs_like


def _crs_name(crs: CRS) -> str:
    auth = crs.to_authority(min_confidence=90)
    return f"{auth[0]}:{auth[1]}" if auth else crs.name
