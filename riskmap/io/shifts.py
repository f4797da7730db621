"""Which layer is in a map app's shifted system: facilities and zones that disagree by a GCJ-02 or BD-09 shift.

Map-app coordinates sit ~0.3–0.7 km (GCJ-02) or ~1–1.5 km (BD-09) off the true ones. Two kinds of evidence say
a layer is read in the wrong system, whatever the project file declares for it (one ``crs``, or each row's own
through ``[facilities] crs_column``):

- **facilities outside every zone** of the finest layer, within 2 km of one, that fall inside when read another
  way: the facilities' coordinates (as written) read as GCJ-02, BD-09 or true coordinates instead of their
  declared system, or moved forward into GCJ-02/BD-09 (the same as moving the zones back: as if the *zones* were
  shifted). Nobody publishes data "un-shifted" by the inverse, so the direction tells which layer is shifted;
- **facilities in another zone than their register names** (``[facilities] zone_column``): a row that lands in
  its own village only when read as BD-09 (and in no other way) is a BD-09 row. This finds a register that
  mixes systems, whose rows no single ``crs`` can place.

The evidence is counted per partition (:func:`shift_evidence`, added up with ``+``) and judged once
(:func:`shift_warning`), so the in-memory and the dask engine say the same. The warning names each layer by its
:class:`LayerOrigin` (its file and the project-file section that declares its CRS). A sample of all facilities (chosen by
row number, the same in every engine) checks that a conversion keeps the others inside.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from riskmap.columns import CLAIMED_ZONE, PLACED_BY, RAW_X, RAW_Y, ROW_CRS, ZONE_CODE
from riskmap.config import Config
from riskmap.i18n import N_, Msg, tr
from riskmap.io.crs import parse_crs, to_geographic, wgs84_to_bd09, wgs84_to_gcj02
from riskmap.io.tables import ROW
from riskmap.zone_kinds import kind_word

__all__ = ["SHIFT_SAMPLE", "LayerOrigin", "layer_origins", "ShiftEvidence", "shift_evidence", "shift_warning"]

#: Facilities in the sample that checks a conversion keeps the others inside.
SHIFT_SAMPLE = 2000
#: Outside points farther than this from every zone are not taken as shifted (BD-09 is ~1–1.5 km off).
_REACH_M = 2000.0
TRUE = "EPSG:4490"
#: Readings of a row's coordinates, the smallest shift from the others first (GCJ-02 ~0.5 km from both).
_READINGS = ("GCJ-02", TRUE, "BD-09")
_FORWARD = {"GCJ-02": wgs84_to_gcj02, "BD-09": wgs84_to_bd09}
_APPS = {"GCJ-02": N_("Gaode/Tencent"), "BD-09": N_("Baidu")}
_EXAMPLES = 5


@dataclass(frozen=True)
class LayerOrigin:
    """Where a layer came from, so that a warning can name it and the project-file key that sets its CRS.

    ``name`` is how messages call it (``zones[0] (village, boundaries.json)``), ``section`` the project-file
    table holding its ``crs`` (``[[zones]]``), ``crs`` the CRS declared there (None when the file's own is used).
    """

    name: str | Msg
    section: str
    crs: str | None = None
    #: The facilities' columns saying each row's system and its zone (``crs_column``, ``zone_column``).
    crs_column: str | None = None
    zone_column: str | None = None

    @property
    def shifted(self) -> str | None:
        """``"GCJ-02"``/``"BD-09"`` when the project file declares the layer in a map app's system."""
        shifted = parse_crs(self.crs, self.section) if self.crs is not None else None
        return shifted if isinstance(shifted, str) else None


def layer_origins(config: Config, source: str) -> tuple[LayerOrigin, LayerOrigin | None]:
    """The origins of the facilities (read from ``source``) and of the finest zone layer (None for a grid)."""
    fc = config.facilities
    facilities = LayerOrigin(
        Msg("facilities ({source})", source=source), "[facilities]", fc.crs, fc.crs_column, fc.zone_column
    )
    finest = config.zones[0]
    if finest.path is None:
        return facilities, None
    zones = LayerOrigin(
        Msg("zones[0] ({kind}, {file})", kind=kind_word(finest.kind), file=Path(finest.path).name),
        "[[zones]]",
        finest.crs,
    )
    return facilities, zones


@dataclass
class ShiftEvidence:
    """What the check saw, counted so that the counts of partitions add up (``a + b``)."""

    #: Sample rows, and per reading (``declared``, ``facilities GCJ-02``, ``zones BD-09``, ...) those inside.
    sample: int = 0
    inside: Counter[str] = field(default_factory=Counter)
    #: Facilities outside every zone; those within 2 km of one; per reading, those of them it brings inside
    #: (the facilities' readings: the first that does, smallest shift first); their gaps in metres.
    outside: int = 0
    near: int = 0
    recovered: Counter[str] = field(default_factory=Counter)
    gaps: list[float] = field(default_factory=list)
    near_declared: Counter[str] = field(default_factory=Counter)
    #: Rows in another zone than their register names; per system, those in it only when read in that system;
    #: rows in it under two readings; the declared systems of the fitting rows; the first rows per system.
    misfits: int = 0
    fits: Counter[str] = field(default_factory=Counter)
    either: int = 0
    declared: Counter[str] = field(default_factory=Counter)
    rows: dict[str, list[int]] = field(default_factory=dict)

    def __add__(self, other: ShiftEvidence) -> ShiftEvidence:
        rows = {
            k: sorted({*self.rows.get(k, []), *other.rows.get(k, [])})[:_EXAMPLES]
            for k in {*self.rows, *other.rows}
        }
        return ShiftEvidence(
            sample=self.sample + other.sample,
            inside=self.inside + other.inside,
            outside=self.outside + other.outside,
            near=self.near + other.near,
            recovered=self.recovered + other.recovered,
            gaps=[*self.gaps, *other.gaps],
            near_declared=self.near_declared + other.near_declared,
            misfits=self.misfits + other.misfits,
            fits=self.fits + other.fits,
            either=self.either + other.either,
            declared=self.declared + other.declared,
            rows=rows,
        )


def _family(systems: pd.Series) -> np.ndarray:
    """Each row's system as a reading: ``GCJ-02``, ``BD-09``, ``EPSG:4490`` or None, once per system.

    ``EPSG:4490`` stands for true longitude/latitude (CGCS2000, WGS84 and their kin are decimetres apart); None
    for a projected system (no other reading).
    """
    codes, names = pd.factorize(systems, use_na_sentinel=True)
    found = []
    for name in names:
        crs = parse_crs(str(name), "facilities.crs")
        found.append(crs if isinstance(crs, str) else (TRUE if crs.is_geographic else None))
    return np.array([*found, None], dtype=object)[codes]  # -1 (no system): None


def _raw(fac: gpd.GeoDataFrame, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The coordinates as written and the system each is declared in (rows ``keep``).

    Vector features have no coordinates as written: their points, as true.
    """
    if RAW_X not in fac.columns:
        points = fac.geometry.to_numpy()[keep]
        return shapely.get_x(points), shapely.get_y(points), np.full(len(points), TRUE, dtype=object)
    x, y = fac[RAW_X].to_numpy(dtype=float)[keep], fac[RAW_Y].to_numpy(dtype=float)[keep]
    return x, y, _family(fac[ROW_CRS].iloc[np.flatnonzero(keep)])


@dataclass
class _Readings:
    """A layer's coordinates as written, their declared systems and current points, read another way on demand.

    Only for the few rows the check looks at: converting a million rows three ways would cost seconds.
    """

    x: np.ndarray
    y: np.ndarray
    family: np.ndarray
    current: np.ndarray

    def at(self, rows: np.ndarray, system: str) -> tuple[np.ndarray, np.ndarray]:
        """The points at positions ``rows`` read as ``system``, and which of them moved.

        Rows declared in ``system``, or projected, keep theirs.
        """
        family = self.family[rows]
        moved = (family != system) & pd.notna(family)
        out = self.current[rows].copy()
        if moved.any():
            lon, lat = to_geographic(
                self.x[rows][moved], self.y[rows][moved], parse_crs(system, "facilities.crs")
            )
            out[moved] = shapely.points(lon, lat)
        return out, moved


def _forward(current: np.ndarray, system: str) -> np.ndarray:
    """The points moved into ``system``: the same as moving the zones back out of it."""
    return shapely.points(*_FORWARD[system](shapely.get_x(current), shapely.get_y(current)))


def _inside(tree: shapely.STRtree, points: np.ndarray) -> np.ndarray:
    hit = np.zeros(len(points), dtype=bool)
    hit[np.unique(tree.query(points, predicate="intersects")[0])] = True
    return hit


def _sampled(rows: np.ndarray, share: float) -> np.ndarray:
    """Which of the rows (their numbers) make the sample.

    Chosen by a hash of the row number, so that every partitioning picks the same.
    """
    if share >= 1:
        return np.ones(len(rows), dtype=bool)
    with np.errstate(over="ignore"):
        mixed = rows.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return (mixed >> np.uint64(11)).astype(np.float64) / float(1 << 53) < share


def shift_evidence(
    facilities: gpd.GeoDataFrame, located: pd.Series, zones: gpd.GeoDataFrame, share: float
) -> ShiftEvidence:
    """The evidence of ``facilities`` against the finest layer ``zones``.

    ``located`` is the code of the zone of the finest layer each facility lies in (NaN outside); ``share`` of
    them make the sample. Facilities placed by their zone column are left out (their point is not theirs).
    """
    ev = ShiftEvidence()
    fac = facilities
    # Rows as positions, not copies of the frame (a million rows): with a point of their own.
    keep = np.array(fac.geometry.notna(), dtype=bool)
    if PLACED_BY in fac.columns:
        keep &= fac[PLACED_BY].fillna("").astype(str).to_numpy() == ""
    if not keep.any() or zones.empty or fac.crs is None or not fac.crs.is_geographic:
        return ev
    zones = zones.to_crs(fac.crs) if zones.crs != fac.crs else zones
    tree = zones.sindex
    readings = _Readings(*_raw(fac, keep), fac.geometry.to_numpy()[keep])
    rows = fac[ROW].to_numpy()[keep] if ROW in fac.columns else np.flatnonzero(keep) + 1
    where = located.reindex(fac.index[keep])
    _count_sample(ev, tree, readings, np.flatnonzero(_sampled(rows, share)))
    _count_outside(ev, tree, zones, readings, np.flatnonzero(where.isna().to_numpy()))
    if CLAIMED_ZONE in fac.columns:
        _count_claimed(ev, zones, fac[CLAIMED_ZONE][keep], where, readings, rows)
    return ev


def _count_sample(ev: ShiftEvidence, tree, readings: _Readings, sample: np.ndarray) -> None:
    ev.sample = len(sample)
    if not ev.sample:
        return
    current = readings.current[sample]
    ev.inside["declared"] = int(_inside(tree, current).sum())
    for system in _READINGS:
        ev.inside[f"facilities {system}"] = int(_inside(tree, readings.at(sample, system)[0]).sum())
    for system in _FORWARD:
        ev.inside[f"zones {system}"] = int(_inside(tree, _forward(current, system)).sum())


def _count_outside(
    ev: ShiftEvidence, tree, zones: gpd.GeoDataFrame, readings: _Readings, at: np.ndarray
) -> None:
    """Outside facilities (positions ``at``) within 2 km of a zone, and which readings bring them inside."""
    ev.outside = len(at)
    if not ev.outside:
        return
    current = readings.current
    lat = float(np.nanmean(shapely.get_y(current[at])))
    reach = _REACH_M / (111_320.0 * max(np.cos(np.radians(lat)), 0.1))
    near = at[np.unique(tree.query(current[at], predicate="dwithin", distance=reach)[0])]
    ev.near = len(near)
    if not ev.near:
        return
    ev.gaps = _gaps_m(current[near], zones, tree, lat).tolist()
    ev.near_declared.update(pd.Series(readings.family[near]).fillna("projected").tolist())
    taken = np.zeros(len(near), dtype=bool)
    for system in _READINGS:  # the first reading that brings a facility inside is its reading
        points, moved = readings.at(near, system)
        hit = moved & _inside(tree, points) & ~taken
        ev.recovered[f"facilities {system}"] = int(hit.sum())
        taken |= hit
    for system in _FORWARD:
        ev.recovered[f"zones {system}"] = int(_inside(tree, _forward(current[near], system)).sum())


def _count_claimed(
    ev: ShiftEvidence, zones: gpd.GeoDataFrame, claimed: pd.Series, where: pd.Series, readings: _Readings,
    rows: np.ndarray,
) -> None:  # fmt: skip
    """Facilities in another zone than their register names: the readings that put them in theirs."""
    code = claimed.where(claimed.notna(), None).astype(object)
    shapes = zones.set_index(ZONE_CODE).geometry
    known = code.isin(shapes.index).to_numpy()
    misfit = known & (code.to_numpy() != where.astype(object).to_numpy())
    ev.misfits = int(misfit.sum())
    if not ev.misfits:
        return
    at = np.flatnonzero(misfit)
    own = shapes.reindex(code.to_numpy()[at]).to_numpy()
    fit = {}
    for system in _READINGS:
        points, moved = readings.at(at, system)
        fit[system] = moved & shapely.intersects(own, points)
    n_fit = sum(f.astype(int) for f in fit.values())
    ev.either = int((n_fit >= 2).sum())
    for system, f in fit.items():
        only = f & (n_fit == 1)
        if only.any():
            ev.fits[system] = int(only.sum())
            ev.rows[system] = sorted(rows[at][only].tolist())[:_EXAMPLES]
            ev.declared.update(pd.Series(readings.family[at][only]).fillna("projected").tolist())


def _gaps_m(out: np.ndarray, zones: gpd.GeoDataFrame, tree, lat: float) -> pd.Series:
    """Distance in metres from each point to its nearest zone."""
    # Metres on a local equirectangular approximation: plenty for a median in a message.
    gap = shapely.get_coordinates(
        shapely.shortest_line(out, zones.geometry.to_numpy()[tree.nearest(out, return_all=False)[1]])
    )
    dx, dy = (gap[1::2] - gap[::2]).T
    return pd.Series(np.hypot(dx * np.cos(np.radians(lat)), dy) * 111_320.0)


# ------------------------------------------------------------------------------------------- judgement


def _plural(kind: str) -> str:
    if re.fullmatch(r"[a-z]+", kind) and not kind.endswith("s"):
        return tr("{kind}s", kind=kind_word(kind))
    return tr("{kind} zones", kind=kind_word(kind))


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(map(str, rows))
    return tr("row {rows}", rows=shown) if len(rows) == 1 else tr("rows {rows}", rows=shown)


def shift_warning(
    ev: ShiftEvidence,
    kind: str = "zone",
    origins: tuple[LayerOrigin | None, LayerOrigin | None] = (None, None),
) -> str | None:
    """The warning the evidence calls for, naming the layer (and the project-file key) to fix; None if none.

    By the zone column first: at least 3 rows in their own zone only in another system. Then by the facilities
    outside every zone: one reading that brings 80 % of those within 2 km inside while keeping the sample inside
    names the layer (the facilities, or the zones when moving the facilities forward does it); two readings of
    the facilities that do it together, each for a fifth of them at least, name a register that mixes systems.
    """
    fac = origins[0] or LayerOrigin(Msg("the facilities"), "[facilities]")
    zone = origins[1] or LayerOrigin(Msg("the {kind} zones", kind=kind_word(kind)), "[[zones]]")
    return _by_claimed_zone(ev, kind, fac) or _by_outside(ev, kind, fac, zone)


def _declared_text(ev_declared: Counter[str], fac: LayerOrigin) -> str:
    if fac.crs_column:
        return tr("than as their {column} says", column=fac.crs_column)
    systems = [s for s, _ in ev_declared.most_common()]
    shown = fac.crs or (systems[0] if systems else TRUE)
    return tr("than as declared ({crs})", crs=shown)


def _counts_text(counts: Counter[str], systems: list[str], kind: str) -> str:
    first, *rest = systems
    return tr(
        "{n} rows fit their {zones} better as {crs}",
        n=f"{counts[first]:,}",
        zones=_plural(kind),
        crs=first,
    ) + "".join(tr(", {n} as {crs}", n=f"{counts[s]:,}", crs=s) for s in rest)


def _mixed_advice(fac: LayerOrigin) -> str:
    if fac.crs_column:
        return tr(
            "check {column} in those rows (or map its values with crs_values under {section})",
            column=fac.crs_column,
            section=fac.section,
        )
    return tr(
        "the register mixes coordinate systems: set crs_column under {section} to its column saying each row's "
        "system (百度/高德/腾讯/GPS/2000; an empty cell keeps crs), so that each row is converted from its own",
        section=fac.section,
    )


def _single_advice(system: str, fac: LayerOrigin, zone: LayerOrigin | None = None) -> str:
    if fac.crs_column:
        return _mixed_advice(fac)
    if system == TRUE:
        return tr(
            '{layer} look like true coordinates (CGCS2000/WGS84, not shifted): set crs = "{crs}" under {section}',
            layer=fac.name,
            crs=TRUE,
            section=fac.section,
        )
    advice = tr(
        '{layer} look like {crs} (picked in {apps} maps): set crs = "{crs}" under {section}',
        layer=fac.name,
        crs=system,
        apps=tr(_APPS[system]),
        section=fac.section,
    )
    if zone is not None and zone.shifted:
        advice += tr(
            '; or, if {zones} is not in {shifted} after all, remove its crs = "{shifted}" under {section}',
            zones=zone.name,
            shifted=zone.shifted,
            section=zone.section,
        )
    if fac.shifted and fac.shifted != system:
        advice += tr(
            " (if only some rows are {crs}, the file mixes systems: set crs_column instead)", crs=system
        )
    return advice


def _by_claimed_zone(ev: ShiftEvidence, kind: str, fac: LayerOrigin) -> str | None:
    total = sum(ev.fits.values())
    if total < 3:
        return None
    systems = [s for s, n in ev.fits.most_common() if n >= max(2, 0.1 * total)]
    if not systems:
        return None
    examples = ", ".join(tr("{crs}: {rows}", crs=s, rows=_rows_text(ev.rows.get(s, [])[:3])) for s in systems)
    if ev.either:
        examples += tr("; {n} more rows fit it in more than one reading", n=f"{ev.either:,}")
    if fac.zone_column:
        basis = tr("{column} names their {kind}", column=fac.zone_column, kind=kind_word(kind))
    else:
        basis = tr("the register names their {kind}", kind=kind_word(kind))
    advice = _mixed_advice(fac) if len(systems) > 1 else _single_advice(systems[0], fac)
    return tr(
        "{counts} {declared} ({basis}; e.g. {examples}): {advice}",
        counts=_counts_text(ev.fits, systems, kind),
        declared=_declared_text(ev.declared, fac),
        basis=basis,
        examples=examples,
        advice=advice,
    )


def _by_outside(ev: ShiftEvidence, kind: str, fac: LayerOrigin, zone: LayerOrigin) -> str | None:
    if ev.outside < 3 or ev.near < 3 or not ev.sample:
        return None
    before = ev.inside["declared"] / ev.sample
    found = []
    tests = [("facilities", "GCJ-02"), ("facilities", "BD-09"), ("zones", "GCJ-02"), ("zones", "BD-09")]
    for culprit, system in tests:
        key = f"{culprit} {system}"
        recovered, kept = ev.recovered[key] / ev.near, ev.inside[key] / ev.sample
        if recovered >= 0.8 and kept >= before - 0.01:
            found.append((round(recovered * 20), kept, system == "GCJ-02", recovered, culprit, system))
    gaps = float(np.median(ev.gaps)) if ev.gaps else 0.0
    share = ev.near / ev.outside
    where = tr(
        "{n} facilities lie outside every {kind} zone, {share} of them within 2 km of one (median {gap} m)",
        n=ev.outside,
        kind=kind_word(kind),
        share=f"{share:.0%}",
        gap=f"{gaps:.0f}",
    )
    if found:
        *_, recovered, culprit, system = max(found)
        advice = (
            _single_advice(system, fac, zone) if culprit == "facilities" else _zone_advice(system, fac, zone)
        )
        params = {"where": where, "share": f"{recovered:.0%}", "crs": system, "advice": advice}
        if culprit == "facilities":
            return tr(
                "{where}, and {share} of those fall inside when the facilities are read as {crs} coordinates: "
                "{advice}",
                **params,
            )
        return tr(
            "{where}, and {share} of those fall inside when the zones are read as {crs} coordinates: {advice}",
            **params,
        )
    counts = Counter({s: ev.recovered[f"facilities {s}"] for s in _READINGS})
    systems = [s for s, n in counts.most_common(2) if n >= max(3, 0.2 * ev.near)]
    if len(systems) == 2 and sum(counts[s] for s in systems) >= 0.8 * ev.near:
        return tr(
            "{counts} {declared} ({where}): {advice}",
            counts=_counts_text(counts, systems, kind),
            declared=_declared_text(ev.near_declared, fac),
            where=where,
            advice=_mixed_advice(fac),
        )
    return None


def _zone_advice(system: str, fac: LayerOrigin, zone: LayerOrigin) -> str:
    advice = tr(
        "{zones} looks like {crs} (boundaries drawn for web maps, such as DataV/echarts GeoJSON, usually are, "
        'though the file says WGS84): set crs = "{crs}" under {section} for that layer (and for any other layer '
        "from the same source)",
        zones=zone.name,
        crs=system,
        section=zone.section,
    )
    if fac.shifted:
        advice += tr(
            '; or, if the facility coordinates are not {shifted} after all, remove crs = "{shifted}" under {section}',
            shifted=fac.shifted,
            section=fac.section,
        )
    return advice
