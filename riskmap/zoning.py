"""Zones: facilities into the finest zone layer, roll-up along the admin-code hierarchy, zone levels.

Boundary rule: a facility is assigned with ``intersects`` so that a point exactly on a shared border is not lost
(``within`` drops it); when it touches several zones it goes to the one with the lowest code, so it is counted
exactly once and the choice is reproducible. A plant boundary (polygon facility) goes to the zone holding most
of its area. A facility outside every zone is rejected, or placed in the nearest zone within
``snap_distance_m`` and recorded as such.

Zone rules (``[zoning] rule``): ``max`` (就高, the highest facility level), ``thresholds`` (count rules per
level) and ``index`` (hazard, exposure and vulnerability, classified into four levels). Zones without facilities
take ``empty_level``. Optionally, zones near a 一级/二级 major hazard in a neighbouring zone are raised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.columns import (
    ASSIGNMENT,
    FACILITY_ID,
    FOOTPRINT,
    INDEX_COLUMNS,
    LEVEL,
    LEVEL_ZH,
    NAME,
    PARENT_CODE,
    PLACED,
    PLACED_BY,
    PLACEMENT_COLUMNS,
    POPULATION,
    RULE,
    SITES,
    SITES_NEAR,
    SWAPPED,
    ZONE_CODE,
    ZONE_NAME,
)
from riskmap.config import IndexConfig, ZoningConfig
from riskmap.i18n import N_, Msg, Written, current, per_row, rendered, tr
from riskmap.io.crs import metric_crs
from riskmap.io.shifts import SHIFT_SAMPLE, LayerOrigin, ShiftEvidence, shift_evidence, shift_warning
from riskmap.levels import LEVEL_NAMES, NOT_ASSESSED, Level, label, level_from_rank, level_rank
from riskmap.rejects import make_rejects
from riskmap.vocabulary import GRADE_NAMES_ZH
from riskmap.zone_kinds import kind_word, kind_words

#: mapclassify's schemes by their usual names.
SCHEME_NAMES: dict[str, str] = {
    "NaturalBreaks": N_("natural breaks"),
    "FisherJenks": N_("optimal natural breaks (Fisher-Jenks)"),
    "FisherJenksSampled": N_("optimal natural breaks on a sample (Fisher-Jenks)"),
    "JenksCaspall": N_("Jenks-Caspall breaks"),
    "JenksCaspallForced": N_("Jenks-Caspall breaks"),
    "JenksCaspallSampled": N_("Jenks-Caspall breaks"),
    "Quantiles": N_("quantiles"),
    "Percentiles": N_("percentiles"),
    "EqualInterval": N_("equal intervals"),
    "PrettyBreaks": N_("rounded equal intervals"),
    "StdMean": N_("standard deviations from the mean"),
    "BoxPlot": N_("box plot"),
    "HeadTailBreaks": N_("head/tail breaks"),
    "MaximumBreaks": N_("maximum breaks"),
    "MaxP": N_("max-p regions"),
    "UserDefined": N_("user-defined breaks"),
}
#: The parts of the risk index, in words.
INDEX_PART_WORDS: dict[str, str] = {
    "hazard": N_("hazard"),
    "exposure": N_("exposure"),
    "vulnerability": N_("vulnerability"),
}

__all__ = [
    "COUNT_COLUMNS",
    "SCHEME_NAMES",
    "drivers_in_english",
    "INDEX_PART_WORDS",
    "N_NONE",
    "ZoningResult",
    "assign_zones",
    "aggregate_zones",
    "apply_spillover",
    "rule_parameters",
    "count_sites",
    "zone_code_column",
    "zone_parents",
    "PLACED_PREFIX",
]

#: Facility counts per level, highest first.
COUNT_COLUMNS = [f"n_{k}" for k in LEVEL_NAMES]
#: Count of not-assessed facilities (``[scoring] unassessed = "grey"`` only).
N_NONE = f"n_{NOT_ASSESSED}"


def zone_code_column(kind: str) -> str:
    """Facility column holding the code of its zone in layer ``kind`` (e.g. ``village_code``)."""
    return f"{kind}_code"


@dataclass
class ZoningResult:
    """Facilities with their zone codes, the zone layers with parent codes, rejects and warnings."""

    facilities: gpd.GeoDataFrame
    zones: dict[str, gpd.GeoDataFrame]
    rejects: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    #: What the shift check saw (judged into a warning unless ``judge_shift=False``).
    shift: ShiftEvidence = field(default_factory=ShiftEvidence)


# ------------------------------------------------------------------------------------- hierarchy


def _significant_prefix(code: str) -> str:
    """A 12-digit division code without its trailing all-zero 3-digit groups (county 6, town 9 digits)."""
    while len(code) > 6 and code.endswith("000"):
        code = code[:-3]
    return code


#: How far a zone may lie outside its parent by code before the two layers are called misplaced: boundaries of
#: two layers generalised apart differ by up to a few hundred metres, a shifted layer by kilometres.
PARENT_TOLERANCE_M = 500.0


def _outside_code_parents(
    fine: gpd.GeoDataFrame, coarse: gpd.GeoDataFrame, parent: pd.Series, fine_kind: str, coarse_kind: str
) -> str | None:
    """A warning naming the zones whose parent by code does not contain them, or None.

    A zone is outside when a point inside it (its representative point) lies more than
    :data:`PARENT_TOLERANCE_M` outside its parent's polygon. The roll-up goes by code either way; the warning
    is for the map, populations and sites counted by the parent's polygon, which then belong elsewhere.
    """
    by_code = parent.notna().to_numpy()
    if not by_code.any():
        return None
    crs = metric_crs(fine)
    points = fine.geometry[by_code].representative_point().to_crs(crs).to_numpy()
    parents = coarse.set_index(ZONE_CODE).geometry.to_crs(crs)
    shapely.prepare(parents.to_numpy())
    shapes = parents.reindex(parent[by_code].astype(str)).to_numpy()
    off = ~shapely.dwithin(shapes, points, PARENT_TOLERANCE_M)
    if not off.any():
        return None
    gap_km = np.median(shapely.distance(shapes[off], points[off])) / 1000
    named = fine.loc[by_code].loc[off]
    shown = ", ".join(
        f"{c} {n}" for c, n in zip(named[ZONE_CODE].head(3), named[ZONE_NAME].head(3), strict=True)
    )
    digits = len(_significant_prefix(str(coarse[ZONE_CODE].iloc[0])))
    return tr(
        "{n} of {total} {fine} zones lie outside their {coarse} by code (the {coarse} whose code their first "
        "{digits} digits give) by more than {tolerance} m (median {gap} km; {zones}): the {coarse} layer is "
        "probably shifted or in another CRS than the {fine} layer (check both in a GIS, and the crs of each under "
        "[[zones]]); facilities roll up by code, but what is counted by polygon (population, sites, the map) lies "
        "elsewhere",
        n=int(off.sum()),
        total=int(by_code.sum()),
        fine=kind_word(fine_kind),
        coarse=kind_word(coarse_kind),
        digits=digits,
        tolerance=f"{PARENT_TOLERANCE_M:g}",
        gap=f"{gap_km:.1f}",
        zones=shown + (", ..." if off.sum() > 3 else ""),
    )


def _parents(
    fine: gpd.GeoDataFrame, coarse: gpd.GeoDataFrame, fine_kind: str, coarse_kind: str
) -> tuple[pd.Series, list[str], bool]:
    """Parent code in ``coarse`` of each zone of ``fine``, and whether ``fine`` nests in ``coarse``.

    By code when codes say it (12-digit division codes by prefix; grid cells coded ``<parent>-<row>-<col>``),
    else spatially. A layer nests when every zone lies (99 % of its area) in its parent; facilities are rolled
    up only through nesting layers, and placed by location in the others (a grid over villages does not nest).
    """
    warnings: list[str] = []
    fine_codes = fine[ZONE_CODE].astype(str)
    coarse_codes = coarse[ZONE_CODE].astype(str)
    parent = pd.Series(pd.NA, index=fine.index, dtype=object)
    if fine_codes.str.fullmatch(r"\d{12}").all() and coarse_codes.str.fullmatch(r"\d{12}").all():
        prefixes = coarse_codes.map(_significant_prefix)
        by_prefix = dict(zip(prefixes, coarse_codes, strict=True))
        for n in sorted(set(prefixes.str.len())):
            parent = parent.fillna(fine_codes.str[:n].map(by_prefix))
        off = _outside_code_parents(fine, coarse, parent, fine_kind, coarse_kind)
        if off:
            warnings.append(off)
        missing = parent.isna()
        if missing.any():
            sample = ", ".join(fine_codes[missing].head(5))
            warnings.append(
                tr(
                    "{n} {fine} codes have no {coarse} with their code prefix (e.g. {codes}); assigned spatially "
                    "instead",
                    n=int(missing.sum()),
                    fine=kind_word(fine_kind),
                    coarse=kind_word(coarse_kind),
                    codes=sample,
                )
            )
    elif fine_codes.str.contains("-").all():
        head = fine_codes.str.split("-", n=1).str[0]
        parent = head.where(head.isin(set(coarse_codes)), pd.NA).astype(object)
    by_code = parent.notna()
    missing = ~by_code
    nested = True
    if missing.any():
        pts = gpd.GeoDataFrame(geometry=fine.geometry[missing].representative_point(), crs=fine.crs)
        hit = gpd.sjoin(pts, coarse[[ZONE_CODE, "geometry"]], how="left", predicate="intersects")
        hit = hit.sort_values(ZONE_CODE).groupby(level=0).head(1)
        parent[missing] = hit[ZONE_CODE].reindex(pts.index)
        lost = parent.isna()
        if lost.any():
            warnings.append(
                tr(
                    "{n} {fine} zones lie in no {coarse} zone",
                    n=int(lost.sum()),
                    fine=kind_word(fine_kind),
                    coarse=kind_word(coarse_kind),
                )
            )
        # Spatial parents: check that each zone really lies in its parent.
        crs = metric_crs(fine)
        f = fine.loc[missing & parent.notna()].to_crs(crs)
        parents = coarse.set_index(ZONE_CODE).geometry.to_crs(crs).reindex(parent[f.index])
        inside = shapely.area(shapely.intersection(f.geometry.to_numpy(), parents.to_numpy()))
        share = inside / np.maximum(shapely.area(f.geometry.to_numpy()), 1e-9)
        nested = bool(len(share) == 0 or (share >= 0.99).all()) and not lost.any()
        if not nested:
            warnings.append(
                tr(
                    "the {fine} layer does not nest in {coarse} ({n} zones cross {coarse} borders): facilities are "
                    "placed in {coarse} zones by location",
                    fine=kind_word(fine_kind),
                    coarse=kind_word(coarse_kind),
                    n=int((share < 0.99).sum()),
                )
            )
    return parent, warnings, nested


def _in_finest(facilities: gpd.GeoDataFrame, hit: pd.DataFrame, kind: str) -> gpd.GeoDataFrame:
    """The facilities in a zone of the finest layer, with its code, name and how they were put there.

    The private columns of locating them are dropped.
    """
    out = facilities.loc[hit.index].copy()
    out[zone_code_column(kind)] = hit[ZONE_CODE].to_numpy()
    out[ZONE_CODE] = out[zone_code_column(kind)]
    out[ZONE_NAME] = hit[ZONE_NAME].to_numpy()
    out[ASSIGNMENT] = hit[ASSIGNMENT].to_numpy()
    if PLACED_BY in out.columns:  # placed at a point inside the zone its register names
        placed = out[PLACED_BY].fillna("").astype(str)
        out[ASSIGNMENT] = out[ASSIGNMENT].where(placed == "", placed)
    return out.drop(columns=[c for c in (*PLACEMENT_COLUMNS, SWAPPED) if c in out.columns])


#: How ``zone_assignment`` starts for a facility placed by its register's zone column (riskmap.placement).
PLACED_PREFIX = "placed by "


def zone_parents(
    fine: gpd.GeoDataFrame, coarse: gpd.GeoDataFrame, fine_kind: str, coarse_kind: str
) -> pd.Series:
    """The code of each zone's parent in ``coarse``: by 12-digit code prefix, else by location (NA for none)."""
    return _parents(fine, coarse, fine_kind, coarse_kind)[0]


# -------------------------------------------------------------------------------------- assignment


def _first_hit(hit: pd.DataFrame) -> pd.DataFrame:
    """One zone per facility: the lowest code among those it touches (only border points touch several)."""
    dup = hit.index.duplicated(keep=False)
    if not dup.any():
        return hit
    border = hit[dup].sort_values(ZONE_CODE, kind="stable")
    border = border[~border.index.duplicated(keep="first")]
    border = border.assign(**{ASSIGNMENT: "border"})
    return pd.concat([hit[~dup], border]).sort_index(kind="stable")


def _largest_overlap(footprints: gpd.GeoSeries, finest: gpd.GeoDataFrame) -> pd.DataFrame:
    """For plant boundaries: the zone holding most of each polygon's area."""
    crs = metric_crs(finest)
    shapes = gpd.GeoDataFrame({"_i": footprints.index}, geometry=footprints.to_crs(crs).values, crs=crs)
    pieces = gpd.overlay(shapes, finest[[ZONE_CODE, ZONE_NAME, "geometry"]].to_crs(crs), how="intersection")
    pieces["_area"] = pieces.area
    pieces = pieces.sort_values(["_i", "_area", ZONE_CODE], ascending=[True, False, True], kind="stable")
    best = pieces.drop_duplicates("_i").set_index("_i")
    return best[[ZONE_CODE, ZONE_NAME]].assign(**{ASSIGNMENT: "largest overlap"})


def _snap(points: gpd.GeoDataFrame, finest: gpd.GeoDataFrame, max_m: float) -> pd.DataFrame:
    crs = metric_crs(finest)
    p = gpd.GeoDataFrame(geometry=points.geometry.to_crs(crs).values, index=points.index, crs=crs)
    near = gpd.sjoin_nearest(
        p,
        finest[[ZONE_CODE, ZONE_NAME, "geometry"]].to_crs(crs),
        how="inner",
        max_distance=max_m,
        distance_col="_d",
    )
    near = near.sort_values([ZONE_CODE]).loc[lambda d: ~d.index.duplicated(keep="first")]
    return near[[ZONE_CODE, ZONE_NAME]].assign(
        **{ASSIGNMENT: "nearest (" + near["_d"].round(0).astype(int).astype(str) + " m)"}
    )


def _outside_reason(kind: str, snap_distance_m: float) -> Msg:
    """Why a facility is in no zone of the finest kind (and none within the snap distance)."""
    if snap_distance_m > 0:
        return Msg(
            "the facility lies outside every {kind} zone; check its coordinates and their CRS (none within {m} m)",
            kind=kind_words(kind),
            m=format(snap_distance_m, "g"),
        )
    return Msg(
        "the facility lies outside every {kind} zone; check its coordinates and their CRS",
        kind=kind_words(kind),
    )


def assign_zones(
    facilities: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame],
    source: str,
    snap_distance_m: float = 0.0,
    origins: tuple[LayerOrigin | None, LayerOrigin | None] = (None, None),
    *,
    shift_rows: int | None = None,
    shift_zones: gpd.GeoDataFrame | None = None,
    judge_shift: bool = True,
) -> ZoningResult:
    """Put each facility in the finest zone layer and carry the codes of every coarser layer.

    ``layers`` are ordered finest first, with ``zone_code``/``zone_name`` columns, all in the facilities' CRS.
    ``origins`` (facilities, finest zones), from :func:`riskmap.io.shifts.layer_origins`, name the layers in
    the warning about a shifted layer (:mod:`riskmap.io.shifts`). The shift check's evidence is in the result;
    ``judge_shift=False`` leaves its warning out (a partition's evidence is judged with the others'), its sample is
    drawn from ``shift_rows`` rows (default: these facilities) and it looks at ``shift_zones`` (default: the
    finest layer; a partition passes the whole layer, its window of it being too small for a shifted point).
    """
    kinds = list(layers)
    finest = layers[kinds[0]]
    warnings: list[str] = []
    zones = {k: layers[k].copy() for k in kinds}
    nests: dict[str, bool] = {}
    for fine_kind, coarse_kind in zip(kinds, kinds[1:], strict=False):
        parent, w, nests[coarse_kind] = _parents(zones[fine_kind], zones[coarse_kind], fine_kind, coarse_kind)
        zones[fine_kind][PARENT_CODE] = parent if nests[coarse_kind] else pd.NA
        warnings += w

    pts = facilities[[facilities.geometry.name]]
    hit = gpd.sjoin(pts, finest[[ZONE_CODE, ZONE_NAME, "geometry"]], how="inner", predicate="intersects")
    hit = _first_hit(hit.assign(**{ASSIGNMENT: "within"}))[[ZONE_CODE, ZONE_NAME, ASSIGNMENT]]
    if FOOTPRINT in facilities.columns and facilities[FOOTPRINT].notna().any():
        fp = gpd.GeoSeries(facilities[FOOTPRINT], crs=facilities.crs).dropna()
        best = _largest_overlap(fp, finest)
        hit = pd.concat([hit.drop(index=best.index, errors="ignore"), best]).sort_index()
    outside = facilities.index.difference(hit.index)
    # Before snapping: a shifted layer is what the snap would hide.
    share = SHIFT_SAMPLE / max(shift_rows or len(facilities), 1)
    evidence = shift_evidence(
        facilities, hit[ZONE_CODE], finest if shift_zones is None else shift_zones, share
    )
    hint = shift_warning(evidence, kinds[0], origins) if judge_shift else None
    warnings += [hint] if hint else []
    if snap_distance_m > 0 and len(outside):
        snapped = _snap(facilities.loc[outside], finest, snap_distance_m)
        hit = pd.concat([hit, snapped]).sort_index()
        if len(snapped):
            warnings.append(_snapped_warning(len(snapped), kinds[0], snap_distance_m))
        outside = facilities.index.difference(hit.index)
    rejects = make_rejects(
        source,
        facilities.loc[outside],
        "geometry",
        _outside_reason(kinds[0], snap_distance_m),
        "zone",
    )
    out = _in_finest(facilities, hit, kinds[0])
    for fine_kind, coarse_kind in zip(kinds, kinds[1:], strict=False):
        if nests[coarse_kind]:
            lookup = zones[fine_kind].set_index(ZONE_CODE)[PARENT_CODE]
            out[zone_code_column(coarse_kind)] = out[zone_code_column(fine_kind)].map(lookup)
        else:
            layer = zones[coarse_kind][[ZONE_CODE, "geometry"]]
            direct = gpd.sjoin(out[[out.geometry.name]], layer, how="left", predicate="intersects")
            direct = direct.sort_values(ZONE_CODE, kind="stable")
            direct = direct[~direct.index.duplicated(keep="first")].reindex(out.index)
            out[zone_code_column(coarse_kind)] = direct[ZONE_CODE].to_numpy()
    return ZoningResult(
        facilities=out.reset_index(drop=True), zones=zones, rejects=rejects, warnings=warnings, shift=evidence
    )


def _snapped_warning(n: int, kind: str, distance_m: float) -> str:
    """The warning of the facilities placed in the nearest zone (``snap_distance_m``)."""
    return tr(
        "{n} facilities outside every {kind} zone were placed in the nearest one (within {distance} m; see column "
        "{column})",
        n=n,
        kind=kind_word(kind),
        distance=f"{distance_m:g}",
        column=ASSIGNMENT,
    )


# --------------------------------------------------------------------------------- sensitive sites


def count_sites(
    zones: dict[str, gpd.GeoDataFrame],
    sites: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    distance_m: float,
) -> dict[str, pd.DataFrame]:
    """Per zone: sensitive sites inside it, and those within ``distance_m`` of a red or orange facility."""
    crs = metric_crs(sites)
    s = sites.to_crs(crs)
    hazards = facilities[facilities[LEVEL].isin(["red", "orange"])]
    near = pd.Series(False, index=s.index)
    if len(hazards) and len(s):
        buf = gpd.GeoDataFrame(geometry=hazards.geometry.to_crs(crs).buffer(distance_m), crs=crs)
        hits = gpd.sjoin(s[[s.geometry.name]], buf, how="inner", predicate="intersects")
        near[hits.index.unique()] = True
    out = {}
    for kind, z in zones.items():
        inside = gpd.sjoin(
            s[[s.geometry.name]].assign(_near=near),
            z[[ZONE_CODE, "geometry"]].to_crs(crs),
            how="inner",
            predicate="intersects",
        )
        inside = inside[~inside.index.duplicated(keep="first")]
        out[kind] = pd.DataFrame(
            {
                SITES: inside.groupby(ZONE_CODE).size(),
                SITES_NEAR: inside.groupby(ZONE_CODE)["_near"].sum(),
            }
        )
    return out


# ------------------------------------------------------------------------------------------- rules


def _rule_text(config: ZoningConfig, bins: list[float] | None = None) -> str:
    """The zone rule in a few words in the current language, for the ``rule`` column (the report explains it)."""

    def num(v: float) -> str:  # an index from 0 to 1 as a reader writes it: 0.6, 0.427
        return f"{round(v, 3):g}"

    if config.rule == "max":
        return tr("highest level")
    if config.rule == "thresholds":
        parts = []
        for lvl in ("red", "orange", "yellow"):
            clauses = config.thresholds.get(lvl, [])
            ands = [tr(" and ").join(f"{k}≥{v}" for k, v in c.items()) for c in clauses]
            if ands:
                parts.append(
                    tr("{level} if {clauses}", level=label(lvl, current()), clauses=tr(" or ").join(ands))
                )
        return tr("counts: {bands}", bands=tr("; ").join(parts))
    ix = config.index
    weights = tr("、").join(
        tr("{part} {weight}", part=tr(INDEX_PART_WORDS[k]) if k in INDEX_PART_WORDS else k, weight=num(v))
        for k, v in ix.weights.items()
    )
    if bins is None or ix.classify == "fixed":
        b = ix.breaks
        return tr(
            "risk index: {red} from {r}, {orange} from {o}, {yellow} from {y}; weights {weights}",
            red=label("red", current()), orange=label("orange", current()), yellow=label("yellow", current()),
            r=num(b["red"]), o=num(b["orange"]), y=num(b["yellow"]), weights=weights,
        )  # fmt: skip
    scheme = SCHEME_NAMES.get(ix.classify)
    return tr(
        "risk index by {scheme}: {blue} up to {b}, {yellow} up to {y}, {orange} up to {o}; weights {weights}",
        scheme=tr(scheme) if scheme else ix.classify, blue=label("blue", current()),
        yellow=label("yellow", current()), orange=label("orange", current()),
        b=num(bins[0]), y=num(bins[1]), o=num(bins[2]), weights=weights,
    )  # fmt: skip


def _threshold_ranks(counts: pd.DataFrame, config: ZoningConfig) -> np.ndarray:
    # Blue at least, when some facility is assessed (not-assessed ones alone leave the zone grey).
    rank = np.where(counts[COUNT_COLUMNS].to_numpy().sum(axis=1) > 0, 1, 0)
    for lvl in ("yellow", "orange", "red"):  # ascending, so the highest level that holds wins
        clauses = config.thresholds.get(lvl, [])
        holds = np.zeros(len(counts), dtype=bool)
        for clause in clauses:
            ok = np.ones(len(counts), dtype=bool)
            for col, need in clause.items():
                ok &= counts[col].to_numpy() >= need
            holds |= ok
        rank = np.where(holds, int(Level.parse(lvl)), rank)
    return rank


def _scaled(values: pd.Series) -> pd.Series:
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else values * 0.0


def _index_ranks(z: pd.DataFrame, ix: IndexConfig) -> tuple[pd.DataFrame, np.ndarray, list[float]]:
    hazard = sum(z[f"n_{k}"] * w for k, w in ix.hazard_weights.items())
    parts = pd.DataFrame(
        {
            "idx_hazard": _scaled(hazard.astype(float)),
            "idx_exposure": _scaled(z[POPULATION].astype(float)) if POPULATION in z else 0.0,
            "idx_vulnerability": _scaled(z[SITES_NEAR].astype(float)) if SITES_NEAR in z else 0.0,
        },
        index=z.index,
    )
    total = sum(ix.weights.values()) or 1.0
    parts["index"] = sum(parts[f"idx_{k}"] * (w / total) for k, w in ix.weights.items())
    values = parts["index"].to_numpy()
    if ix.classify == "fixed":
        bins = [ix.breaks["yellow"], ix.breaks["orange"], ix.breaks["red"]]
        ranks = 1 + np.searchsorted(np.array(bins), values, side="right")
    else:
        import mapclassify

        scheme = getattr(mapclassify, ix.classify)(values, k=4)
        ranks = 1 + np.asarray(scheme.yb)
        bins = [float(b) for b in scheme.bins[:-1]]
    return parts, ranks.astype(int), bins


def aggregate_zones(
    facilities: pd.DataFrame,
    zones: dict[str, gpd.GeoDataFrame],
    config: ZoningConfig,
    sites: dict[str, pd.DataFrame] | None = None,
    unassessed: bool = False,
    reasons: bool = True,
) -> dict[str, gpd.GeoDataFrame]:
    """Level of every zone of every layer under the configured rule, with counts per level.

    Zones may carry ``population`` (from the raster) before this call; ``sites`` (from :func:`count_sites`)
    adds sensitive-site counts. Each row names the rule with its parameters, the facilities that set the
    level, and a reason. ``unassessed`` (facilities may be level ``none``): zones get an ``n_none`` count,
    included in ``n_facilities``; a not-assessed facility never raises a zone, and a zone whose facilities
    are all not assessed is ``none`` (grey), whatever the rule. ``reasons=False`` leaves out the drivers and
    reasons (levels only: what a sensitivity variant needs, at a fraction of the time).
    """
    out: dict[str, gpd.GeoDataFrame] = {}
    ranks = level_rank(facilities[LEVEL])
    base = config
    rank_arr = ranks.to_numpy().astype(np.int64)
    for kind, layer in zones.items():
        config = base.for_layer(kind)
        code_col = zone_code_column(kind)
        # One factorisation per layer; counts and maxima with numpy scatter ops, no per-zone Python.
        codes, uniques = pd.factorize(facilities[code_col], sort=False)
        ok = codes >= 0
        tally = np.zeros((len(uniques), 5), dtype=np.int64)
        np.add.at(tally, (codes[ok], rank_arr[ok]), 1)
        top = np.zeros(len(uniques), dtype=np.int64)
        np.maximum.at(top, codes[ok], rank_arr[ok])
        counts = pd.DataFrame(tally[:, [4, 3, 2, 1]], index=uniques, columns=COUNT_COLUMNS)
        z = layer.copy()
        z[COUNT_COLUMNS] = counts.reindex(z[ZONE_CODE]).fillna(0).astype(int).to_numpy()
        z["n_facilities"] = z[COUNT_COLUMNS].sum(axis=1)
        assessed = z["n_facilities"].to_numpy().copy()  # the four levels only
        if unassessed:
            n_none = pd.Series(tally[:, 0], index=uniques).reindex(z[ZONE_CODE]).fillna(0).astype(int)
            z.insert(z.columns.get_loc("n_facilities"), N_NONE, n_none.to_numpy())
            z["n_facilities"] += z[N_NONE]
        if sites is not None and kind in sites:
            z[[SITES, SITES_NEAR]] = sites[kind].reindex(z[ZONE_CODE]).fillna(0).astype(int).to_numpy()
        placed = _placed_names(facilities, codes, uniques) if reasons and ASSIGNMENT in facilities else None
        if placed is not None and len(placed):  # only when some facility was placed by its zone column
            z[PLACED] = placed.reindex(z[ZONE_CODE]).fillna("").to_numpy()
        top_rank = pd.Series(top, index=uniques).reindex(z[ZONE_CODE]).fillna(0).astype(int).to_numpy()
        drivers = _drivers(facilities, codes, rank_arr, top, uniques) if reasons else None
        bins = None
        if config.rule == "max":
            rank = top_rank
        elif config.rule == "thresholds":
            rank = _threshold_ranks(z, config)
        else:
            parts, rank, bins = _index_ranks(z, config.index)
            z[INDEX_COLUMNS] = parts.round(4).to_numpy()
        rank = np.where(assessed > 0, rank, 0)  # only not-assessed facilities: none (grey)
        empty = z["n_facilities"].to_numpy() == 0
        level = np.where(empty, config.empty_level, level_from_rank(rank).to_numpy())
        z[LEVEL] = level
        if drivers is None:
            out[kind] = z
            continue
        z[LEVEL_ZH] = [label(k, "zh") for k in level]
        z[RULE] = _rule_text(config, bins)
        z["drivers"] = drivers.reindex(z[ZONE_CODE]).fillna("").to_numpy()
        z["reason"] = _zone_reasons(z, config)
        z["reason_en"] = _zone_reasons(z, config, "en")  # the English outputs (report --lang en)
        out[kind] = z
    return out


def spillover_hits(
    zones: dict[str, gpd.GeoDataFrame], facilities: gpd.GeoDataFrame, config: ZoningConfig
) -> dict[str, pd.DataFrame] | None:
    """Per zone layer, each zone (by row label) with the 一级/二级 major hazards of other zones near it.

    ``None`` when spillover is off or there is no such hazard. Depends on the hazards and the distance, not on
    the levels: a sensitivity run computes it once for the variants that share them.
    """
    sp = config.spillover
    if sp is None or "gb18218_grade" not in facilities.columns:
        return None
    big = facilities[facilities["gb18218_grade"].fillna(0).astype(int).isin(sp.grades)]
    if big.empty:
        return None
    crs = metric_crs(big)
    code_cols = [zone_code_column(k) for k in zones if zone_code_column(k) in big.columns]
    buf = gpd.GeoDataFrame(
        big[[NAME, "gb18218_grade", *code_cols]],
        geometry=big.geometry.to_crs(crs).buffer(sp.distance_m),
        crs=crs,
    )
    out = {}
    for kind, z in zones.items():
        own = z[[ZONE_CODE, "geometry"]].rename(columns={ZONE_CODE: "_zone"}).to_crs(crs)
        hits = gpd.sjoin(own, buf, how="inner", predicate="intersects")
        out[kind] = hits[hits["_zone"] != hits[zone_code_column(kind)]]  # only hazards of neighbouring zones
    return out


def apply_spillover(
    zones: dict[str, gpd.GeoDataFrame],
    facilities: gpd.GeoDataFrame,
    config: ZoningConfig,
    hits: dict[str, pd.DataFrame] | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Raise zones within ``spillover.distance_m`` of a 一级/二级 major hazard in another zone.

    The raise is recorded in the zone's reason; a zone already at or above ``min_level`` is unchanged.
    ``hits`` (from :func:`spillover_hits` on these zones and facilities) saves computing them again.
    """
    sp = config.spillover
    near = hits if hits is not None else spillover_hits(zones, facilities, config)
    if sp is None or near is None:
        return zones
    floor = int(Level.parse(sp.min_level))
    out = {}
    for kind, z in zones.items():
        zz = z.copy()
        hits_ = near[kind]
        current = level_rank(zz[LEVEL])
        raise_idx = hits_.index[current.loc[hits_.index].to_numpy() < floor].unique()
        if len(raise_idx):
            first = hits_.loc[raise_idx].groupby(level=0).head(1)
            zz.loc[raise_idx, LEVEL] = sp.min_level
            if "reason" not in zz.columns:  # levels only (aggregate_zones(reasons=False))
                out[kind] = zz
                continue
            zz.loc[raise_idx, LEVEL_ZH] = label(sp.min_level, "zh")
            note = per_row(
                N_(
                    "spillover: grade {grade} major hazard {name} of a neighbouring zone within {m} m -> at least {level}"
                ),
                grade=pd.Series(
                    [Written(str(g), GRADE_NAMES_ZH[g]) for g in first["gb18218_grade"].astype(int)],
                    index=first.index,
                ),
                name=first[NAME].astype(str),
                m=format(sp.distance_m, "g"),
                level=Written(label(sp.min_level, "en"), label(sp.min_level, "zh")),
            ).reindex(raise_idx)
            zz.loc[raise_idx, "reason"] = zz.loc[raise_idx, "reason"] + ("；" + rendered(note, "zh"))
            if "reason_en" in zz.columns:
                zz.loc[raise_idx, "reason_en"] = zz.loc[raise_idx, "reason_en"] + (
                    "; " + rendered(note, "en")
                )
            zz.loc[raise_idx, RULE] = zz.loc[raise_idx, RULE].map(
                lambda rule: tr("{rule} + spillover {distance} m", rule=rule, distance=f"{sp.distance_m:g}")
            )
        out[kind] = zz
    return out


def _placed_names(facilities: pd.DataFrame, codes: np.ndarray, uniques: pd.Index) -> pd.Series:
    """Per zone (by code), the names of its facilities placed by the register's zone column, joined by 、."""
    placed = (codes >= 0) & facilities[ASSIGNMENT].astype(str).str.startswith(PLACED_PREFIX).to_numpy()
    if not placed.any():
        return pd.Series(dtype=object)
    names = pd.Series(facilities[NAME].astype(str).to_numpy()[placed])
    joined = names.groupby(codes[placed], sort=False).agg("、".join)
    return pd.Series(joined.to_numpy(), index=uniques[joined.index.to_numpy()])


def _drivers(
    facilities: pd.DataFrame, codes: np.ndarray, ranks: np.ndarray, top: np.ndarray, uniques: pd.Index
) -> pd.Series:
    """Names of up to three facilities at their zone's top level (by id), "等" when there are more."""
    at_top = (codes >= 0) & (ranks == top[np.maximum(codes, 0)])
    sel = pd.DataFrame(
        {
            "zone": codes[at_top],
            "id": facilities[FACILITY_ID].to_numpy()[at_top],
            "name": facilities[NAME].astype(str).to_numpy()[at_top],
        }
    )
    sel = sel.sort_values(["zone", "id"], kind="stable")
    sel["pos"] = sel.groupby("zone").cumcount()
    n = sel.groupby("zone").size()
    wide = sel[sel["pos"] < 3].pivot(index="zone", columns="pos", values="name")
    names = wide[0]
    for p in (1, 2):
        if p in wide.columns:
            names = names.where(wide[p].isna(), names + "、" + wide[p])
    names = names.where(n.reindex(names.index) <= 3, names + "等")
    names.index = uniques[names.index.to_numpy()]
    return names


#: The parts of the index rule as its reasons name them.
_INDEX_PARTS = {
    "idx_hazard": N_("hazard"),
    "idx_exposure": N_("exposure"),
    "idx_vulnerability": N_("vulnerability"),
}


def drivers_in_english(drivers: str) -> str:
    """A zone's drivers (names joined as :func:`_drivers` joins them: A、B、C等) in English punctuation."""
    drivers = drivers.replace("、", ", ")
    return drivers[:-1] + " etc." if drivers.endswith("等") else drivers


def _zone_reasons(z: pd.DataFrame, config: ZoningConfig, lang: str = "zh") -> list[str]:
    """Why each zone has its level, in ``lang`` (``zh`` or ``en``; facility names stay as they are)."""
    en = lang == "en"
    empty_txt = label(config.empty_level, lang)
    counts = z[COUNT_COLUMNS].to_numpy()
    reasons = []
    for i, (level, drivers, total) in enumerate(zip(z[LEVEL], z["drivers"], z["n_facilities"], strict=True)):
        if en:
            drivers = drivers_in_english(drivers)
        if total == 0:
            reasons.append(
                tr(
                    "no enterprises in the zone; set to {level} by the configuration",
                    level=empty_txt,
                    lang=lang,
                )
            )
            continue
        if level == NOT_ASSESSED:
            reasons.append(tr("all {n} enterprises in the zone are not assessed", n=total, lang=lang))
            continue
        name = label(level, lang)
        red, orange, yellow, blue = counts[i][:4]
        tally = tr(
            "red {red}/orange {orange}/yellow {yellow}/blue {blue}",
            red=red,
            orange=orange,
            yellow=yellow,
            blue=blue,
            lang=lang,
        )
        if N_NONE in z.columns and z[N_NONE].iloc[i]:
            tally += "/" + tr("not assessed {n}", n=z[N_NONE].iloc[i], lang=lang)
        if config.rule == "max":
            n = counts[i][LEVEL_NAMES.index(level)]
            reasons.append(
                tr(
                    "highest level: {n} {level} enterprises in the zone ({drivers})",
                    n=n,
                    level=name,
                    drivers=drivers,
                    lang=lang,
                )
            )
        elif config.rule == "thresholds":
            reasons.append(
                tr(
                    "count rule: enterprises {tally} -> {level} (top-level enterprises: {drivers})",
                    tally=tally,
                    level=name,
                    drivers=drivers,
                    lang=lang,
                )
            )
        else:
            parts = tr(", ", lang=lang).join(
                f"{tr(word, lang=lang)} {z[c].iloc[i]:.2f}" for c, word in _INDEX_PARTS.items()
            )
            reasons.append(
                tr(
                    "composite index {index} ({parts}, each scaled by the layer's maximum; enterprises {tally}) -> {level}",
                    index=format(z["index"].iloc[i], ".4f")
                    .rstrip("0")
                    .rstrip("."),  # 0.687, as a reader writes it
                    parts=parts,
                    tally=tally,
                    level=name,
                    lang=lang,
                )
            )
    return reasons


def rule_parameters(config: ZoningConfig) -> str:
    """The zoning rule and its parameters as JSON, for provenance."""
    data = {"rule": config.rule, "empty_level": config.empty_level}
    if config.rule == "thresholds":
        data["thresholds"] = config.thresholds  # type: ignore[assignment]
    if config.rule == "index":
        data["index"] = config.index.model_dump()  # type: ignore[assignment]
    if config.spillover is not None:
        data["spillover"] = config.spillover.model_dump()  # type: ignore[assignment]
    return json.dumps(data, ensure_ascii=False, sort_keys=True)
