"""Zone layers as the stages take them: read, checked and repaired polygons, and grids made over an area.

The checks of a layer are here too: zones that overlap, codes that break the nesting by division code.

The zoning rules themselves (assignment, aggregation) are in :mod:`riskmap.zoning`; this module turns the
configured ``[[zones]]`` into the layers they work on.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.columns import ZONE_CODE, ZONE_NAME
from riskmap.config import Config, GridConfig
from riskmap.errors import InputError
from riskmap.i18n import tr
from riskmap.io.crs import metric_crs
from riskmap.io.postgis import is_database, read_postgis
from riskmap.io.tables import READ_WARNINGS, ROW
from riskmap.io.vector import read_vector
from riskmap.validate import require_columns
from riskmap.zone_kinds import kind_word

__all__ = [
    "load_zones",
    "with_grids",
    "zone_polygons",
    "zone_codes",
    "zone_overlaps",
    "division_code_warnings",
    "make_grid",
]

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
            tr(
                "{source}: {n} {kind} codes are in scientific notation ({code}; features {features}): Excel showed "
                "them so and saved them that way, and their last digits are lost; restore the 12-digit codes from "
                "the original data (format the code column as text first)",
                source=source,
                n=int(lost.sum()),
                kind=kind_word(kind),
                code=shown[lost].iloc[0],
                features=features,
            )
        )
    repaired = (text != shown).to_numpy()
    if repaired.any():
        warnings.append(
            tr(
                "{source}: {n} {kind} codes were stored as numbers ({stored}): read as {code}; store the code "
                "column as text to keep it so",
                source=source,
                n=int(repaired.sum()),
                kind=kind_word(kind),
                stored=shown[repaired].iloc[0],
                code=text[repaired].iloc[0],
            )
        )
    return text.astype(str)


def _polygonal(geom):
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
        raise InputError(
            tr(
                "{source}: the {kind} layer has 0 features; give a layer with the {kind} polygons",
                source=source,
                kind=kind_word(kind),
            )
        )
    types = gdf.geom_type
    collection = types == "GeometryCollection"
    if collection.any():
        gdf = gdf.copy()
        gdf.loc[collection, gdf.geometry.name] = gdf.geometry[collection].map(_polygonal)
        types = gdf.geom_type
        rows = ", ".join(map(str, gdf.loc[collection, ROW].head(5))) + (
            ", ..." if collection.sum() > 5 else ""
        )
        warnings.append(
            tr(
                "{source}: {n} {kind} features are geometry collections (features {rows}); only their polygons are "
                "kept",
                source=source,
                n=int(collection.sum()),
                kind=kind_word(kind),
                rows=rows,
            )
        )
    bad = types.notna() & ~gdf.geometry.is_empty & ~types.isin(["Polygon", "MultiPolygon"])
    if bad.any():
        rows = ", ".join(map(str, gdf.loc[bad, ROW].head(5))) + (", ..." if bad.sum() > 5 else "")
        what = ", ".join(sorted(set(types[bad])))
        raise InputError(
            tr(
                "{source}: {kind} features {rows} are {types}, not polygons: the zones must be polygons (areas); "
                "give the {kind} boundaries, not their points or lines",
                source=source,
                kind=kind_word(kind),
                rows=rows,
                types=what,
            )
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
            raise InputError(
                tr(
                    "{source}: {kind} features {rows} have no geometry; fix or remove them",
                    source=path.name,
                    kind=kind_word(zc.kind),
                    rows=rows,
                )
            )
        dup = gdf[ZONE_CODE].duplicated(keep=False)
        if dup.any():
            first = gdf.loc[dup, ZONE_CODE].iloc[0]
            rows = ", ".join(map(str, gdf.loc[gdf[ZONE_CODE] == first, ROW]))
            raise InputError(
                tr(
                    '{source}: {kind} code {code} appears more than once (features {rows}, column "{column}"); zone '
                    "codes must be unique",
                    source=path.name,
                    kind=kind_word(zc.kind),
                    code=repr(first),
                    rows=rows,
                    column=zc.code,
                )
            )
        invalid = ~gdf.geometry.is_valid
        if invalid.any():
            rows = ", ".join(map(str, gdf.loc[invalid, ROW].head(5))) + (", ..." if invalid.sum() > 5 else "")
            warnings.append(
                tr(
                    "{source}: repaired {n} invalid {kind} polygons with make_valid (features {rows}); check them "
                    "in a GIS",
                    source=path.name,
                    n=int(invalid.sum()),
                    kind=kind_word(zc.kind),
                    rows=rows,
                )
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
                    tr(
                        "zones[{i}].grid.within: no zone layer {within} to cover (layers: {kinds})",
                        i=i,
                        within=repr(within),
                        kinds=kinds,
                    )
                )
            area = layers[within]
        else:
            if facilities.empty:
                raise InputError(tr("zones[{i}]: a grid without `within` needs facilities to cover", i=i))
            hull = facilities.geometry.union_all().convex_hull
            area = gpd.GeoDataFrame(geometry=[hull], crs=facilities.crs)
            area = area.to_crs(area.estimate_utm_crs()).buffer(zc.grid.size_m / 2).to_frame("geometry")
            area = gpd.GeoDataFrame(area, geometry="geometry").to_crs(facilities.crs)
        out[zc.kind] = make_grid(area, zc.grid, zc.kind)
    return out


# ------------------------------------------------------------------------------------- layer checks


def zone_overlaps(zones: gpd.GeoDataFrame, kind: str, source: str, min_area_m2: float = 1.0) -> str | None:
    """A warning naming zones that overlap (the same ground in two zones), or None.

    Shared borders are not overlaps, nor are the slivers digitising leaves along them: each zone is first
    shrunk by about a metre, and only zones that still meet (found with a spatial index, not by comparing
    every pair) are measured; pairs sharing more than ``min_area_m2`` are named. That costs one buffer per
    zone (about 2 s for 40,000 villages) instead of an intersection per pair of neighbours.

    >>> from shapely.geometry import box
    >>> z = gpd.GeoDataFrame({"zone_code": ["a", "b", "c"]},
    ...                      geometry=[box(0, 0, 10, 10), box(10, 0, 20, 10), box(15, 0, 25, 10)], crs=3857)
    >>> zone_overlaps(z, "village", "v.gpkg")
    'v.gpkg: 1 pairs of village zones overlap (b and c: 50 m²); a place in two zones is counted twice: fix the boundaries in a GIS'
    """
    geoms = zones.geometry.to_numpy()
    metre = 1 / 110_000 if zones.crs is None or zones.crs.is_geographic else 1.0
    shrunk = shapely.buffer(geoms, -metre, quad_segs=2)
    left, right = shapely.STRtree(shrunk).query(shrunk, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    if not len(left):
        return None
    metric = zones.geometry.iloc[np.unique(np.concatenate([left, right]))].to_crs(metric_crs(zones))
    at = pd.Series(np.arange(len(metric)), index=metric.index)
    shapes = _valid_in_metres(metric.to_numpy())
    area = shapely.area(
        shapely.intersection(
            shapes[at[zones.index[left]].to_numpy()], shapes[at[zones.index[right]].to_numpy()]
        )
    )
    big = area > min_area_m2
    if not big.any():
        return None
    codes = zones[ZONE_CODE].astype(str).to_numpy()
    order = np.argsort(-area[big], kind="stable")
    pairs = [
        tr("{a} and {b}: {area} m²", a=codes[i], b=codes[j], area=f"{a:,.0f}")
        for i, j, a in zip(left[big][order][:5], right[big][order][:5], area[big][order][:5], strict=True)
    ]
    more = ", ..." if big.sum() > 5 else ""
    return tr(
        "{source}: {n} pairs of {kind} zones overlap ({pairs}); a place in two zones is counted twice: fix the "
        "boundaries in a GIS",
        source=source,
        n=int(big.sum()),
        kind=kind_word(kind),
        pairs="; ".join(pairs) + more,
    )


def _valid_in_metres(shapes: np.ndarray) -> np.ndarray:
    """Projected zones repaired where the projection broke them (GEOS refuses to intersect invalid shapes).

    A zone valid in degrees can self-intersect in a UTM zone far from its meridian: a long straight edge bows
    there by kilometres while a densely noded border next to it follows the curve.
    """
    broken = ~shapely.is_valid(shapes)
    if broken.any():
        shapes = shapes.copy()
        shapes[broken] = shapely.buffer(shapes[broken], 0)
    return shapes


def division_code_warnings(codes: dict[str, pd.Series]) -> list[str]:
    """Warnings for zone codes that break the nesting by 12-digit division code (统计用区划代码).

    Layers nest by code prefix only when every code of both layers has 12 digits; one 9-digit town code or
    a code Excel turned into ``3.29901E+11`` silently switches the roll-up to location. ``codes`` maps each
    layer kind to its codes; nothing is said unless two layers or more are given and one of them uses
    12-digit codes.

    The example of a town code is the project's own: the first 12-digit code's town (its first 9 digits and 000).

    >>> from riskmap.i18n import language
    >>> with language("en"):
    ...     division_code_warnings({"village": pd.Series(["350212001001"]), "town": pd.Series(["350212001"])})
    ['town: 1 of 1 zone codes are not 12-digit division codes (e.g. 350212001): the layers nest by code only when every code has 12 digits (town 350212001000); they are nested by location instead']
    """
    twelve = {k: c.astype(str).str.fullmatch(r"\d{12}").fillna(False).astype(bool) for k, c in codes.items()}
    if len(codes) < 2 or not any(t.any() for t in twelve.values()):
        return []
    first = next(str(codes[k][t].iloc[0]) for k, t in twelve.items() if t.any())
    town = first[:9] + "000"
    out = []
    for kind, ok in twelve.items():
        if ok.all():
            continue
        bad = codes[kind].astype(str)[~ok]
        out.append(
            tr(
                "{kind}: {n} of {total} zone codes are not 12-digit division codes (e.g. {codes}): the layers nest "
                "by code only when every code has 12 digits (town {town}); they are nested by location instead",
                kind=kind_word(kind),
                n=int((~ok).sum()),
                total=len(ok),
                codes=", ".join(bad.head(3)),
                town=town,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------- grids


def make_grid(area: gpd.GeoDataFrame, grid: GridConfig, kind: str) -> gpd.GeoDataFrame:
    """Square or hexagonal cells of ``grid.size_m`` covering ``area`` (zones with codes, or one outline).

    Cells are built in the local UTM zone and clipped to ``area``; a cell split by a border of ``area`` becomes
    one zone per piece, coded ``<area code>-<row>-<col>`` so that each piece rolls up to exactly one parent.
    """
    crs = metric_crs(area)
    a = area.to_crs(crs)
    x0, y0, x1, y1 = a.total_bounds
    s = grid.size_m
    cells = []
    if grid.shape == "square":
        for r, y in enumerate(np.arange(y0, y1, s)):
            for c, x in enumerate(np.arange(x0, x1, s)):
                cells.append((r, c, shapely.box(x, y, x + s, y + s)))
    else:
        # Flat-topped hexagons, flat-to-flat width s: columns s*sqrt(3)/2 apart... use pointy layout on a
        # regular lattice: width w = s, height h = 2 s / sqrt(3); rows h*3/4 apart, odd rows shifted w/2.
        w, h = s, 2 * s / np.sqrt(3)
        angles = np.radians(np.arange(30, 390, 60))
        unit = np.c_[np.cos(angles), np.sin(angles)] * (h / 2)
        for r, y in enumerate(np.arange(y0 - h, y1 + h, 0.75 * h)):
            shift = w / 2 if r % 2 else 0.0
            for c, x in enumerate(np.arange(x0 - w + shift, x1 + w, w)):
                cells.append((r, c, shapely.Polygon(unit + (x, y))))
    g = gpd.GeoDataFrame(
        {"row": [r for r, _, _ in cells], "col": [c for _, c, _ in cells]},
        geometry=[p for _, _, p in cells],
        crs=crs,
    )
    if ZONE_CODE not in a.columns:
        a = a.assign(**{ZONE_CODE: "G"})
    if ZONE_NAME not in a.columns:
        a = a.assign(**{ZONE_NAME: ""})
    pieces = gpd.overlay(
        g, a[[ZONE_CODE, ZONE_NAME, a.geometry.name]], how="intersection", keep_geom_type=True
    )
    pieces = pieces[pieces.area > 1e-6 * s * s].copy()
    pieces[ZONE_CODE] = (
        pieces[ZONE_CODE].astype(str)
        + "-"
        + pieces["row"].map("{:04d}".format)
        + "-"
        + pieces["col"].map("{:04d}".format)
    )
    pieces = pieces.dissolve(by=ZONE_CODE, as_index=False)  # a cell cut in two by a hole stays one zone
    label_zh = "网格" if kind in ("grid", "网格") else kind
    # Named after the zone it lies in, so names are unique across towns: 新港镇 网格 9-9.
    pieces[ZONE_NAME] = (
        (pieces[ZONE_NAME].astype(str) + " ").str.lstrip()
        + label_zh + " " + pieces["row"].astype(str) + "-" + pieces["col"].astype(str)
    )  # fmt: skip
    return (
        pieces[[ZONE_CODE, ZONE_NAME, "geometry"]]
        .to_crs(area.crs)
        .sort_values(ZONE_CODE)
        .reset_index(drop=True)
    )
