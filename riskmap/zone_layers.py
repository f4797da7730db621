"""Zone layers as the stages take them: read, checked and repaired polygons, and grids made over an area.

The zoning rules themselves (assignment, aggregation) are in :mod:`riskmap.zoning`; this module turns the
configured ``[[zones]]`` into the layers they work on.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from riskmap.columns import ZONE_CODE, ZONE_NAME
from riskmap.config import Config
from riskmap.errors import InputError
from riskmap.io.postgis import is_database, read_postgis
from riskmap.io.tables import READ_WARNINGS, ROW
from riskmap.io.vector import read_vector
from riskmap.validate import require_columns
from riskmap.zoning import division_code_warnings, make_grid, zone_overlaps

__all__ = ["load_zones", "with_grids", "zone_polygons", "zone_codes"]

#: A code Excel or a DBF numeric field wrote as a number: its digits and ".0" (370321001205.0).
_POINT_ZERO = r"^(\d+)\.0+$"
#: A code Excel showed and saved in scientific notation (3.70321E+11): its last digits are lost.
_SCIENTIFIC = r"^\d(?:\.\d+)?[eE]\+?\d+$"


def zone_codes(codes: pd.Series, rows: pd.Series, source: str, kind: str, warnings: list[str]) -> pd.Series:
    """Zone codes as text, as the office wrote them, repairing what Excel and DBF numeric fields do to them.

    A code stored as a number (a DBF numeric field reads back as ``350212001001.0``, so does a code typed into
    an Excel number cell) loses its ``.0``, with a note; a code in scientific notation (``3.50212E+11``) has lost
    its last digits: one error naming the features.

    >>> w = []
    >>> zone_codes(pd.Series([350212001001.0, 350212001002.0]), pd.Series([1, 2]), "v.shp", "village", w).tolist()
    ['350212001001', '350212001002']
    """
    if pd.api.types.is_float_dtype(codes.dtype):
        shown = codes.astype(str)
        whole = (codes == codes.round()) & (codes.abs() < 2**53)  # NaN compares False
        text = shown.copy()
        text[whole] = codes[whole].astype("int64").astype(str)
    else:
        shown = codes.astype(str).str.strip()
        text = shown.str.replace(_POINT_ZERO, r"\1", regex=True)
    lost = shown.str.match(_SCIENTIFIC).fillna(False).astype(bool).to_numpy()
    if lost.any():
        features = ", ".join(map(str, rows[lost].head(5))) + (", ..." if lost.sum() > 5 else "")
        raise InputError(
            f"{source}: {int(lost.sum())} {kind} codes are in scientific notation ({shown[lost].iloc[0]}; "
            f"features {features}): Excel showed them so and saved them that way, and their last digits are "
            "lost; restore the 12-digit codes from the original data (format the code column as text first)"
        )
    repaired = (text != shown).to_numpy()
    if repaired.any():
        warnings.append(
            f"{source}: {int(repaired.sum())} {kind} codes were stored as numbers ({shown[repaired].iloc[0]}): "
            f"read as {text[repaired].iloc[0]}; store the code column as text to keep it so"
        )
    return text.astype(str)


def _polygonal(geom):
    import shapely

    if geom is None or geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.unary_union(parts) if parts else geom


def zone_polygons(gdf: gpd.GeoDataFrame, source: str, kind: str, warnings: list[str]) -> gpd.GeoDataFrame:
    """The zones as polygons: a layer of 0 features, of points or lines stops; collections keep their polygons.

    A GeometryCollection (from some GIS exports or unions) holding a polygon and stray lines is that polygon,
    with a warning; one without any polygon, like a point or line zone, cannot hold facilities.
    """
    if len(gdf) == 0:
        raise InputError(f"{source}: the {kind} layer has 0 features; give a layer with the {kind} polygons")
    types = gdf.geom_type
    collection = types == "GeometryCollection"
    if collection.any():
        gdf = gdf.copy()
        gdf.loc[collection, gdf.geometry.name] = gdf.geometry[collection].map(_polygonal)
        types = gdf.geom_type
        rows = ", ".join(map(str, gdf.loc[collection, ROW].head(5)))
        warnings.append(
            f"{source}: {int(collection.sum())} {kind} features are geometry collections (features {rows}"
            f"{', ...' if collection.sum() > 5 else ''}); only their polygons are kept"
        )
    bad = types.notna() & ~gdf.geometry.is_empty & ~types.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        rows = ", ".join(map(str, gdf.loc[bad, ROW].head(5)))
        what = ", ".join(sorted(set(types[bad])))
        raise InputError(
            f"{source}: {kind} features {rows}{', ...' if bad.sum() > 5 else ''} are {what}, not polygons: "
            f"the zones must be polygons (areas); give the {kind} boundaries, not their points or lines"
        )
    return gdf


def load_zones(config: Config, warnings: list[str] | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Read every zone layer, with ``zone_code``/``zone_name`` columns, valid geometries, in EPSG:4490.

    Repairs (make_valid) are reported in ``warnings``.
    """
    warnings = warnings if warnings is not None else []
    layers: dict[str, gpd.GeoDataFrame] = {}
    for i, zc in enumerate(config.zones):
        if zc.path is None:  # a grid, made once the other layers and the facilities are known
            continue
        path = config.resolve(zc.path)
        if is_database(zc):  # path is then pg:<schema.table>, the name the messages use
            gdf = read_postgis(zc, crs=zc.crs, where=f"zones[{i}]", warnings=warnings)
        else:
            gdf = read_vector(path, layer=zc.layer, crs=zc.crs, where=f"zones[{i}]", warnings=warnings)
        warnings += gdf.attrs.get(READ_WARNINGS, [])
        require_columns(gdf, {"code": zc.code, "name": zc.name}, path.name, f"zones[{i}]")
        gdf = zone_polygons(gdf, path.name, zc.kind, warnings)
        gdf = gdf.rename(columns={zc.code: ZONE_CODE, zc.name: ZONE_NAME})
        gdf[ZONE_CODE] = zone_codes(gdf[ZONE_CODE], gdf[ROW], path.name, zc.kind, warnings)
        empty = gdf.geometry.isna() | gdf.geometry.is_empty
        if empty.any():
            rows = ", ".join(map(str, gdf.loc[empty, ROW].head(5)))
            raise InputError(f"{path.name}: {zc.kind} features {rows} have no geometry; fix or remove them")
        dup = gdf[ZONE_CODE].duplicated(keep=False)
        if dup.any():
            first = gdf.loc[dup, ZONE_CODE].iloc[0]
            rows = ", ".join(map(str, gdf.loc[gdf[ZONE_CODE] == first, ROW]))
            raise InputError(
                f"{path.name}: {zc.kind} code {first!r} appears more than once (features {rows}, "
                f'column "{zc.code}"); zone codes must be unique'
            )
        invalid = ~gdf.geometry.is_valid
        if invalid.any():
            rows = ", ".join(map(str, gdf.loc[invalid, ROW].head(5)))
            warnings.append(
                f"{path.name}: repaired {int(invalid.sum())} invalid {zc.kind} polygons with make_valid "
                f"(features {rows}{', ...' if invalid.sum() > 5 else ''}); check them in a GIS"
            )
            fixed = gdf.geometry[invalid].make_valid()
            # make_valid may return collections with stray lines or points: keep the polygonal part.
            gdf.loc[invalid, gdf.geometry.name] = fixed.map(_polygonal)
        _check_overlaps(gdf, zc.kind, path.name, warnings)
        layers[zc.kind] = (
            gdf[[ZONE_CODE, ZONE_NAME, gdf.geometry.name]]
            .to_crs("EPSG:4490")
            .sort_values(ZONE_CODE)
            .reset_index(drop=True)
        )
    warnings += division_code_warnings({k: z[ZONE_CODE] for k, z in layers.items()})
    return layers


def _check_overlaps(zones: gpd.GeoDataFrame, kind: str, source: str, warnings: list[str]) -> None:
    overlap = zone_overlaps(zones, kind, source)
    if overlap:
        warnings.append(overlap)


def with_grids(
    config: Config, layers: dict[str, gpd.GeoDataFrame], facilities: gpd.GeoDataFrame
) -> dict[str, gpd.GeoDataFrame]:
    """All zone layers in the configured order (finest first), grids made over their ``within`` layer."""
    out: dict[str, gpd.GeoDataFrame] = {}
    for i, zc in enumerate(config.zones):
        if zc.grid is None:
            out[zc.kind] = layers[zc.kind]
            continue
        within = zc.grid.within
        if within is not None:
            if within not in layers:
                kinds = ", ".join(k for k in layers)
                raise InputError(
                    f"zones[{i}].grid.within: no zone layer {within!r} to cover (layers: {kinds})"
                )
            area = layers[within]
        else:
            if facilities.empty:
                raise InputError(f"zones[{i}]: a grid without `within` needs facilities to cover")
            hull = facilities.geometry.union_all().convex_hull
            area = gpd.GeoDataFrame(geometry=[hull], crs=facilities.crs)
            area = area.to_crs(area.estimate_utm_crs()).buffer(zc.grid.size_m / 2).to_frame("geometry")
            area = gpd.GeoDataFrame(area, geometry="geometry").to_crs(facilities.crs)
        out[zc.kind] = make_grid(area, zc.grid, zc.kind)
    return out
