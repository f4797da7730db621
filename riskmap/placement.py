"""Placing facilities by the zone their register names: no enterprise vanishes for want of coordinates.

Registers carry each enterprise's village (所属村, 所属社区) beside its coordinates, and some enterprises have no
usable coordinates (never picked, ``待补``, a typo far out of range). With ``[facilities] zone_column`` such an
enterprise is placed at a point inside the zone its register names (the zone's representative point), flagged
``placed by <column>`` in its zone assignment and reasons, counted in that zone and listed in its popup; it is
rejected only when the column does not name exactly one zone, and the reason says why.

The column is matched against the first zone layer read from a file (the finest, usually the villages): by its
12-digit code (also as Excel leaves it, ``350212001001.0``), else by name (committee suffixes such as 村委会 or
居委会 aside). A name two towns share is told apart by ``town_column`` (the town's name or code) or the code's
prefix; without one it is rejected naming the candidates. Matching is done once per distinct pair of texts.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.columns import (
    ASSIGNMENT,
    CLAIMED_ZONE,
    NO_XY,
    NO_XY_FIELD,
    PLACED_BY,
    REASON_SEP_EN,
    REASON_SEP_ZH,
    REASONS,
    REASONS_EN,
    SWAPPED,
    TOWN_WRITTEN,
    ZONE_CODE,
    ZONE_NAME,
    ZONE_WRITTEN,
)
from riskmap.config import Config
from riskmap.errors import ConfigError
from riskmap.frames import distinct_rows
from riskmap.i18n import N_, Msg, per_row, tr
from riskmap.io.tables import ROW
from riskmap.rejects import make_rejects, rejects_frame
from riskmap.zone_kinds import kind_words
from riskmap.zoning import PLACED_PREFIX, zone_parents

__all__ = [
    "ZoneIndex",
    "zone_index",
    "place_facilities",
    "located_warnings",
    "note_placements",
    "PLACED_PREFIX",
]

#: Suffixes a register adds to a village's or town's name (its committee, its government), longest first; a name
#: is also compared without them (北村村委会 and 北村 are one village).
_VILLAGE_SUFFIXES = (
    "社区居民委员会",
    "村民委员会",
    "居民委员会",
    "社区居委会",
    "村委会",
    "居委会",
    "委员会",
    "社区",
    "居委",
    "村",
)
_TOWN_SUFFIXES = ("街道办事处", "人民政府", "办事处", "政府", "街道", "镇", "乡")


def _core(name: str, suffixes: tuple[str, ...]) -> str:
    """``name`` without its trailing suffixes (repeatedly, never to nothing): 新村村委会 -> 新, 新村 -> 新."""
    while True:
        cut = next((s for s in suffixes if name.endswith(s) and len(name) > len(s)), None)
        if cut is None:
            return name
        name = name[: -len(cut)]


def _lookup(names: list[str], suffixes: tuple[str, ...]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    exact: dict[str, list[int]] = {}
    core: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        exact.setdefault(name, []).append(i)
        core.setdefault(_core(name, suffixes), []).append(i)
    return exact, core


def _as_code(text: str) -> str:
    """A code as Excel may leave it (350212001001.0) as its digits."""
    return re.sub(r"^(\d+)\.0+$", r"\1", text)


@dataclass(frozen=True)
class ZoneIndex:
    """The zones a register's zone column can name: codes, names, towns and a point inside each."""

    kind: str
    column: str
    town_column: str | None
    codes: list[str]
    names: list[str]
    #: The town code of each zone ("" where it has none, or there is no town layer).
    parents: list[str]
    points: np.ndarray
    town_kind: str | None = None
    town_names: dict[str, str] = field(default_factory=dict)
    #: The x/y columns of a table, dropped once the facilities are placed (their values name the rejects).
    xy_columns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        exact, core = _lookup([_key(n) for n in self.names], _VILLAGE_SUFFIXES)
        t_exact, t_core = _lookup([_key(n) for n in self.town_names.values()], _TOWN_SUFFIXES)
        towns = list(self.town_names)
        object.__setattr__(self, "_by_code", {c: i for i, c in enumerate(self.codes)})
        object.__setattr__(self, "_by_name", (exact, core))
        object.__setattr__(self, "_towns", (towns, t_exact, t_core))

    def match(self, zone: str, town: str) -> tuple[int, Msg | str]:
        """The position of the zone ``zone`` (of town ``town``, "" if not given) names, or -1 and why not."""
        shown = {"column": self.column, "zone": zone, "kind": kind_words(self.kind)}
        if zone == "":
            return -1, Msg("{column} is empty", column=self.column)
        code = _as_code(zone)
        if re.fullmatch(r"\d(?:\.\d+)?[eE]\+?\d+", code):
            return -1, Msg(
                "{column} {zone!r} is a code in scientific notation (Excel lost its last digits)", **shown
            )
        if code.isdigit() and len(code) == 12:
            at = self._by_code.get(code)  # type: ignore[attr-defined]
            return (
                (at, "")
                if at is not None
                else (-1, Msg("{column} {zone!r} is not a code of the {kind} layer", **shown))
            )
        exact, core = self._by_name  # type: ignore[attr-defined]
        found = exact.get(_key(zone)) or core.get(_core(_key(zone), _VILLAGE_SUFFIXES), [])
        if town:
            inside, why = self._in_town(town)
            if why:
                return -1, why
            named = found
            found = [i for i in named if inside(i)]
            if named and not found:
                where = "、".join(dict.fromkeys(self._town_of(i) for i in named))
                return -1, Msg(
                    "{column} {zone!r} is not a {kind} of {town} (its {kind} zones of that name: {where})",
                    town=town, where=where, **shown,
                )  # fmt: skip
        if len(found) == 1:
            return found[0], ""
        if not found:
            close = difflib.get_close_matches(_key(zone), [_key(n) for n in self.names], n=1, cutoff=0.5)
            if close:
                return -1, Msg(
                    "{column} {zone!r} matches no {kind} zone (did you mean {close}?)",
                    close=close[0],
                    **shown,
                )
            return -1, Msg("{column} {zone!r} matches no {kind} zone", **shown)
        listed = ", ".join(f"{self.codes[i]} {self.names[i]} ({self._town_of(i)})" for i in found[:5])
        if self.town_column:
            return -1, Msg(
                "{column} {zone!r} matches {n} {kind} zones: {listed}: give its town in {town_column} or the "
                "12-digit code",
                n=len(found), listed=listed, town_column=self.town_column, **shown,
            )  # fmt: skip
        return -1, Msg(
            "{column} {zone!r} matches {n} {kind} zones: {listed}: give [facilities] town_column or the 12-digit "
            "code",
            n=len(found), listed=listed, **shown,
        )  # fmt: skip

    def _town_of(self, i: int) -> str:
        return self.town_names.get(self.parents[i], self.parents[i]) or "?"

    def _in_town(self, town: str):
        """A test of zone positions for being in ``town`` (a name or a code), or why the town is not known."""
        code = _as_code(town)
        shown = {"town": town, "column": self.town_column, "kind": kind_words(self.kind)}
        if code.isdigit() and 6 <= len(code) <= 12:
            prefix = code
            while len(prefix) > 6 and prefix.endswith("000"):
                prefix = prefix[:-3]
            if not any(c.startswith(prefix) for c in self.codes):
                return None, Msg(
                    "town {town!r} ({column}) matches no town zone (no {kind} code starts with {prefix})",
                    prefix=prefix, **shown,
                )  # fmt: skip
            return (lambda i: self.codes[i].startswith(prefix)), ""
        towns, exact, core = self._towns  # type: ignore[attr-defined]
        if not towns:
            return None, Msg(
                "town {town!r} ({column}): there is no town layer to find it in (a [[zones]] layer after the {kind} "
                "layer)",
                **shown,
            )
        found = exact.get(_key(town)) or core.get(_core(_key(town), _TOWN_SUFFIXES), [])
        if not found:
            return None, Msg("town {town!r} ({column}) matches no town zone", **shown)
        codes = {towns[i] for i in found}
        return (lambda i: self.parents[i] in codes), ""


def _key(text: str) -> str:
    return "".join(str(text).split())


def zone_index(layers: dict[str, gpd.GeoDataFrame], config: Config) -> ZoneIndex | None:
    """What ``[facilities] zone_column`` is matched against; None without a zone column.

    The first zone layer read from a file, with the towns of the next one. ``layers`` are as
    :func:`riskmap.zone_layers.load_zones` reads them (EPSG:4490).
    """
    fc = config.facilities
    if fc.zone_column is None:
        return None
    kinds = [zc.kind for zc in config.zones if zc.path is not None and zc.kind in layers]
    if not kinds:
        raise ConfigError(
            tr(
                "facilities.zone_column ({column}) names zones of a layer read from a file, and every [[zones]] "
                "layer here is a grid: add the village (or town) layer it names, or remove zone_column",
                column=repr(fc.zone_column),
            )
        )
    fine = layers[kinds[0]]
    town_names: dict[str, str] = {}
    parents = pd.Series("", index=fine.index, dtype=object)
    if len(kinds) > 1:
        coarse = layers[kinds[1]]
        parents = zone_parents(fine, coarse, kinds[0], kinds[1]).fillna("").astype(str)
        town_names = dict(zip(coarse[ZONE_CODE].astype(str), coarse[ZONE_NAME].astype(str), strict=True))
    return ZoneIndex(
        kind=kinds[0],
        column=fc.zone_column,
        town_column=fc.town_column,
        codes=fine[ZONE_CODE].astype(str).tolist(),
        names=fine[ZONE_NAME].fillna("").astype(str).tolist(),
        parents=parents.tolist(),
        points=fine.geometry.representative_point().to_numpy(),
        town_kind=kinds[1] if len(kinds) > 1 else None,
        town_names=town_names,
        xy_columns=tuple(dict.fromkeys((fc.x, fc.y))),
    )


#: Columns of the notes :func:`place_facilities` returns (what the run's warnings count).
_NOTES = [ROW, "note", "detail"]


def place_facilities(
    facilities: gpd.GeoDataFrame, index: ZoneIndex | None, source: str
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Facilities without usable coordinates placed in the zone their register names; the rest as they are.

    Returns the facilities (those placed with a point inside their zone and ``PLACED_BY``; every facility with
    the code of the zone its register names in ``CLAIMED_ZONE``), the rejects (no usable coordinates and no
    zone to place it in: the coordinate's reason, then why the zone column names none) and notes for the
    warnings (rows placed, rows read with x and y swapped back).
    """
    notes = [_notes(facilities, facilities.get(SWAPPED), "swapped", "")]
    if index is None or ZONE_WRITTEN not in facilities.columns:
        return *_without_zones(facilities, source), pd.concat(notes, ignore_index=True)
    zone = facilities[ZONE_WRITTEN].astype(str)
    town = (
        facilities[TOWN_WRITTEN].astype(str)
        if TOWN_WRITTEN in facilities
        else pd.Series("", index=zone.index)
    )
    codes, first = distinct_rows(zone, town)
    matched = [index.match(z, t) for z, t in zip(zone.iloc[first], town.iloc[first], strict=True)]
    at = np.array([m[0] for m in matched], dtype=np.intp)[codes] if len(codes) else np.zeros(0, dtype=np.intp)
    why = np.array([m[1] for m in matched], dtype=object)[codes] if len(codes) else np.zeros(0, dtype=object)
    out = facilities.copy()
    claimed = np.asarray(index.codes + [None], dtype=object)
    out[CLAIMED_ZONE] = claimed[at]  # -1 takes the None
    unplaced = out.get(NO_XY, pd.Series("", index=out.index)).fillna("") != ""  # a Msg where unusable
    place = unplaced.to_numpy() & (at >= 0)
    out[PLACED_BY] = np.where(place, PLACED_PREFIX + index.column, "")
    if place.any():
        out.loc[place, out.geometry.name] = index.points[at[place]]
    lost = unplaced.to_numpy() & (at < 0)
    rejects = _unplaced_rejects(out[lost], why[lost], index, source)
    notes.append(_notes(out, pd.Series(place, index=out.index), "placed", out.get(NO_XY)))
    out = out[~lost].drop(columns=[c for c in (ZONE_WRITTEN, TOWN_WRITTEN, NO_XY, NO_XY_FIELD) if c in out])
    out = out.drop(columns=[c for c in index.xy_columns if c in out.columns])
    return out, rejects, pd.concat(notes, ignore_index=True)


def _without_zones(facilities: gpd.GeoDataFrame, source: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Facilities kept without usable coordinates when no zone can place them: rejected with their reason."""
    if NO_XY not in facilities.columns:
        return facilities, rejects_frame()
    lost = facilities[NO_XY].fillna("").to_numpy() != ""
    rows = facilities[lost]
    found = [
        make_rejects(
            source, rows[rows[NO_XY_FIELD] == col], col, rows.loc[rows[NO_XY_FIELD] == col, NO_XY], "validate"
        )
        for col in pd.unique(rows[NO_XY_FIELD].astype(str))
    ]
    kept = facilities[~lost].drop(columns=[NO_XY, NO_XY_FIELD])
    return kept, (pd.concat(found, ignore_index=True) if found else rejects_frame())


def _unplaced_rejects(rows: pd.DataFrame, why: np.ndarray, index: ZoneIndex, source: str) -> pd.DataFrame:
    """Rejects of facilities neither their coordinates nor their zone column place, one per coordinate field."""
    found = []
    fields = rows[NO_XY_FIELD].astype(str)
    for col in pd.unique(fields):
        at = (fields == col).to_numpy()
        reason = per_row(
            N_("{problem}, and not placed by {column}: {why}"),
            problem=rows[NO_XY][at],
            why=pd.Series(why[at], index=rows.index[at]),
            column=index.column,
        )
        found.append(make_rejects(source, rows[at], col, reason, "validate"))
    return pd.concat(found, ignore_index=True) if found else rejects_frame()


def _notes(
    df: pd.DataFrame, flagged: pd.Series | None, note: str, detail: pd.Series | str | None
) -> pd.DataFrame:
    if flagged is None or ROW not in df.columns or not flagged.any():
        return pd.DataFrame(columns=_NOTES)
    mask = flagged.fillna(False).astype(bool).to_numpy()
    shown = detail[mask].astype(str).to_numpy() if isinstance(detail, pd.Series) else detail or ""
    return pd.DataFrame({ROW: df[ROW].to_numpy()[mask], "note": note, "detail": shown})


def located_warnings(notes: pd.DataFrame, config: Config, n_rows: int) -> list[str]:
    """The warnings of placing the facilities: rows read with x and y swapped back, rows placed by their zone.

    ``notes`` are those of :func:`place_facilities` (of all partitions, in any order); ``n_rows`` the rows read.
    """
    fc = config.facilities
    out = []
    notes = notes.sort_values(ROW, kind="stable")
    swapped = notes[notes["note"] == "swapped"]
    if len(swapped):
        rows = _rows(swapped)
        fix = (
            tr(
                'x and y are the other way round in every row: set x = "{y}" and y = "{x}" under [facilities]',
                x=fc.x,
                y=fc.y,
            )
            if len(swapped) == n_rows and fc.x != fc.y
            else tr("swap them in the file")
        )
        n = len(swapped)
        if n == 1:
            line = tr(
                "1 facility row had longitude and latitude swapped (x in China's latitudes 3..54, y in its "
                "longitudes 73..136, or marked N and E) and was read swapped back ({rows}): {fix}",
                rows=rows,
                fix=fix,
            )
        else:
            line = tr(
                "{n} facility rows had longitude and latitude swapped (x in China's latitudes 3..54, y in its "
                "longitudes 73..136, or marked N and E) and were read swapped back ({rows}): {fix}",
                n=n,
                rows=rows,
                fix=fix,
            )
        out.append(line)
    placed = notes[notes["note"] == "placed"]
    if len(placed):
        problems = placed["detail"].value_counts(sort=True)
        why = ", ".join(f"{p} ({n})" for p, n in problems.head(3).items()) + (
            ", ..." if len(problems) > 3 else ""
        )
        params = {"column": fc.zone_column, "rows": _rows(placed), "why": why, "assignment": ASSIGNMENT}
        if len(placed) == 1:
            line = tr(
                "1 facility without usable coordinates was placed by {column} at a point inside the zone that "
                "column names ({rows}; {why}): fix their coordinates to place them exactly; see column {assignment}",
                **params,
            )
        else:
            line = tr(
                "{n} facilities without usable coordinates were placed by {column} at a point inside the zone that "
                "column names ({rows}; {why}): fix their coordinates to place them exactly; see column "
                "{assignment}",
                n=len(placed),
                **params,
            )
        out.append(line)
    return out


def _rows(notes: pd.DataFrame) -> str:
    rows = notes[ROW].astype(int).tolist()
    shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
    return tr("row {rows}", rows=shown) if len(rows) == 1 else tr("rows {rows}", rows=shown)


def note_placements(scored: pd.DataFrame) -> pd.DataFrame:
    """The reasons of facilities placed by their register's zone column say so (zh and en), after the methods'."""
    if ASSIGNMENT not in scored.columns:
        return scored
    how = scored[ASSIGNMENT].astype(str)
    placed = how.str.startswith(PLACED_PREFIX).to_numpy()
    if not placed.any():
        return scored
    column = how[placed].str.slice(len(PLACED_PREFIX))
    zh = "坐标不可用, 按" + column + "落位 (区域内代表点)"
    en = "no usable coordinates: placed by " + column + " at a point inside its zone"
    out = scored.copy()
    for col, note, sep in ((REASONS, zh, REASON_SEP_ZH), (REASONS_EN, en, REASON_SEP_EN)):
        if col in out.columns:
            old = out.loc[placed, col].fillna("").astype(str)
            out.loc[placed, col] = (old + sep).where(old != "", "") + note.to_numpy()
    return out
