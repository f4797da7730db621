"""Reading a GeoPackage that riskmap wrote earlier (``riskmap diff``, ``report --previous``), or saying plainly why not.

GDAL's and SQLite's own words for a damaged file ("sqlite3_prepare_v2(SELECT COUNT(*) FROM sqlite_master ...)
failed: database disk image is malformed", "not recognized as being in a supported file format ... '<DRIVER>:'")
tell a clerk nothing. The file's first 100 bytes (the SQLite header) say most of it: empty, not a database, a ZIP
archive, cut short, a database that is not a GeoPackage; what is left is said in one line naming the file.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio

from riskmap.errors import InputError
from riskmap.i18n import Msg, tr

__all__ = ["check_geopackage", "list_geopackage_layers", "read_geopackage_layer", "geopackage_metadata"]

_SQLITE_MAGIC = b"SQLite format 3\x00"
#: ``application_id`` (header offset 68) of GeoPackage 1.2+ (``GPKG``) and of 1.0/1.1 (``GP10``, ``GP11``).
_GPKG_IDS = {b"GPKG", b"GP10", b"GP11"}
_HEADER = 100


def check_geopackage(path: Path, what: str | Msg = "GeoPackage") -> None:
    """Raise :class:`InputError` when ``path`` cannot be a whole GeoPackage; the message says what it is instead.

    Checks, from the SQLite header: not empty, an SQLite database (not text, not a ZIP archive), as long as the
    header says (a cut copy or download is shorter), and a GeoPackage (its application id).
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(_HEADER)
    except IsADirectoryError:
        raise InputError(tr("{file}: is a folder, not a {what}", file=path, what=what)) from None
    except OSError as err:
        raise InputError(
            tr("{file}: cannot read the {what}: {why}", file=path, what=what, why=err.strerror or err)
        ) from None
    if size == 0:
        raise InputError(tr("{file}: the file is empty (0 bytes), not a {what}", file=path, what=what))
    if not head.startswith(_SQLITE_MAGIC):
        if head.startswith(b"PK\x03\x04"):
            raise InputError(
                tr("{file}: not a {what}: the file is a ZIP archive (unzip it first)", file=path, what=what)
            )
        raise InputError(tr("{file}: not a {what}: the file is not an SQLite database", file=path, what=what))
    if len(head) < _HEADER:
        raise InputError(
            tr(
                "{file}: the {what} is truncated: {size} bytes, less than its own header",
                file=path,
                what=what,
                size=f"{size:,}",
            )
        )
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    # The size in pages is valid only when its "version-valid-for" equals the change counter (SQLite >= 3.7.0).
    pages = int.from_bytes(head[28:32], "big") if head[92:96] == head[24:28] else 0
    if pages and size < page_size * pages:
        raise InputError(
            tr(
                "{file}: the {what} is truncated: {size} bytes of {full} bytes (an interrupted copy or download?); "
                "copy it again from where the run wrote it",
                file=path,
                what=what,
                size=f"{size:,}",
                full=f"{page_size * pages:,}",
            )
        )
    if head[68:72] not in _GPKG_IDS:
        raise InputError(
            tr("{file}: not a {what}: the file is an SQLite database of another kind", file=path, what=what)
        )


def _gdal_says(err: Exception) -> str:
    """The gist of a GDAL/SQLite error, without the SQL and the driver advice."""
    text = str(err)
    if "malformed" in text or "not a database" in text:
        return tr("the file is damaged (database disk image is malformed)")
    if "not recognized as being in a supported file format" in text:
        return tr("the file is not in a format GDAL reads")
    return text.split(";")[0].strip()


def _quietly(fn: Any, path: Path, what: str | Msg) -> Any:
    """``fn()`` with GDAL's warnings (bad application id ...) kept off the console; errors as one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn()
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, ValueError) as err:
        raise InputError(
            tr("{file}: cannot read the {what}: {why}", file=path, what=what, why=_gdal_says(err))
        ) from None


def list_geopackage_layers(path: Path, what: str | Msg = "GeoPackage") -> list[str]:
    """The layer names of a GeoPackage checked by :func:`check_geopackage`."""
    check_geopackage(path, what)
    return [str(n) for n, _ in _quietly(lambda: pyogrio.list_layers(path), path, what)]


def read_geopackage_layer(path: Path, layer: str, what: str | Msg = "GeoPackage") -> gpd.GeoDataFrame:
    """One layer; a layer that cannot be read (damaged pages) is one line naming the file and the layer."""
    shown = Msg("{what} (layer {layer})", what=what, layer=layer)
    return _quietly(lambda: pyogrio.read_dataframe(path, layer=layer), path, shown)


def geopackage_metadata(path: Path, layer: str) -> dict[str, str]:
    """The dataset metadata (``gpkg_metadata``, as riskmap writes it: version, config hash, district ...)."""
    info = _quietly(lambda: pyogrio.read_info(path, layer=layer), path, "GeoPackage")
    return {str(k): str(v) for k, v in (info.get("dataset_metadata") or {}).items()}
