"""What changed between two runs: facilities and zones whose level went up or down, new and removed facilities.

The library side of the ``riskmap diff`` command; :mod:`riskmap.outputs.changes` writes the result.

Planners publish the map quarterly; this explains what moved and why. Two GeoPackages written by
:func:`riskmap.run` are compared layer by layer (``facilities`` by ``facility_id``, ``zones_*`` by ``zone_code``);
a change carries both levels and the reasons that appeared and disappeared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.columns import (
    DECIDED_ON,
    FACILITY_ID,
    LEVEL,
    LEVEL_COMPUTED,
    NAME,
    REASON_SEP_ZH,
    SECTOR,
    ZONE_CODE,
    ZONE_NAME,
)
from riskmap.errors import InputError
from riskmap.i18n import N_, tr
from riskmap.levels import Level, level_keys, level_rank

__all__ = [
    "CHANGE",
    "CHANGE_KINDS",
    "CHANGE_COLUMNS",
    "BY_DECISION",
    "RunDiff",
    "SavedRun",
    "MIN_SHARED_IDS",
    "open_run",
    "read_run",
    "known_levels",
    "district_mismatch",
    "check_same_district",
    "compare_layer",
    "compare_runs",
    "diff_runs",
]

#: Column with the kind of change: ``up``, ``down``, ``new`` or ``removed``.
CHANGE = "change"
CHANGE_KINDS = ("up", "down", "new", "removed")
#: Columns of a changes table (each layer's changes also keep a geometry).
CHANGE_COLUMNS = [
    "layer",
    CHANGE,
    "id",
    "name",
    "sector",
    "level_old",
    "level_new",
    "level_old_zh",
    "level_new_zh",
    "steps",
    "decision",
    "reasons_added",
    "reasons_removed",
    "reasons_old",
    "reasons_new",
    LEVEL,
]


#: The ``decision`` column of a change an expert decision made, in either run (translated where it is made).
BY_DECISION = N_("changed by a decision")

#: Below this share of the smaller run's facility ids found in the other, two runs look like different districts.
MIN_SHARED_IDS = 0.1


@dataclass
class RunDiff:
    """Changes per layer (``facilities``, ``zones_village`` ...) and their counts."""

    changes: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    #: Layer -> ``{"up", "down", "new", "removed", "unchanged"}`` counts.
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def table(self) -> pd.DataFrame:
        """Every change of every layer in one table, without geometry."""
        frames = [pd.DataFrame(g.drop(columns=g.geometry.name)) for g in self.changes.values() if len(g)]
        if not frames:
            return pd.DataFrame(columns=CHANGE_COLUMNS)
        return pd.concat(frames, ignore_index=True)[CHANGE_COLUMNS]


@dataclass
class SavedRun:
    """The ``facilities`` and ``zones_*`` layers of a riskmap.gpkg (levels as keys) and the run's district."""

    path: Path
    layers: dict[str, gpd.GeoDataFrame]
    #: ``project.district_code`` and ``project.name`` of the run, from the GeoPackage metadata ("" when the
    #: run predates them).
    district_code: str = ""
    project: str = ""

    def facility_ids(self) -> pd.Series:
        """The facility ids of the run, as text."""
        return self.layers["facilities"][FACILITY_ID].astype(str)


def _key_of(layer: str) -> str:
    return FACILITY_ID if layer == "facilities" else ZONE_CODE


def known_levels(df: pd.DataFrame, key: str, where: str) -> pd.Series:
    """The ``level`` column as level keys; Chinese labels and colour words (an edit in QGIS) are read as levels.

    Raises
    ------
    InputError
        Some level is none of them (``purple``, an empty cell): the message names ``where``, the values, how
        many rows hold each and the first of them.
    """
    keys = level_keys(df[LEVEL])
    bad = keys.isna().to_numpy()
    if not bad.any():
        return keys
    values = df[LEVEL].astype("string").fillna("").to_numpy()[bad]
    ids = df[key].astype(str).to_numpy()[bad]
    seen = (
        pd.DataFrame({"value": values, "id": ids}).groupby("value", sort=False)["id"].agg(["size", "first"])
    )
    shown = [
        tr("{value!r} ({rows} rows, the first {first})", value=v, rows=n, first=first)
        for v, (n, first) in seen.head(5).iterrows()
    ]
    if len(seen) > 5:
        shown.append(tr("and {count} more values", count=len(seen) - 5))
    raise InputError(
        tr(
            "{where}: {rows} rows have a level riskmap does not know: {values}. A level is red, orange, yellow, "
            "blue or none (重大风险/较大风险/一般风险/低风险/未评估 and 红/橙/黄/蓝 are read too): correct them, or "
            "use the file as riskmap wrote it",
            where=where,
            rows=int(bad.sum()),
            values=tr("; ").join(shown),
        )
    )


def _checked_layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    from riskmap.io.geopackage import read_geopackage_layer

    df = read_geopackage_layer(path, layer, "riskmap GeoPackage")
    key = _key_of(layer)
    missing = [c for c in (key, LEVEL) if c not in df.columns]
    if missing:
        raise InputError(
            tr(
                "{file}: layer {layer} has no column {missing} (a riskmap.gpkg layer has {key} and {level}; was it "
                "edited or exported by another tool?); use the file as riskmap wrote it",
                file=path,
                layer=layer,
                missing=", ".join(missing),
                key=key,
                level=LEVEL,
            )
        )
    return df.assign(**{LEVEL: known_levels(df, key, tr("{file}: layer {layer}", file=path, layer=layer))})


def open_run(path: str | Path) -> SavedRun:
    """Read a run's riskmap.gpkg (or the output folder holding it): its layers, levels checked, and district.

    Raises
    ------
    InputError
        No such file; not a GeoPackage, empty, truncated or damaged; no ``facilities`` layer; a layer without its
        id or level column, or with levels riskmap does not know. One line naming the file and what is wrong.
    """
    from riskmap.io.geopackage import geopackage_metadata, list_geopackage_layers

    p = Path(path)
    if p.is_dir():
        if not (p / "riskmap.gpkg").exists():
            raise InputError(
                tr(
                    "{file}: no riskmap.gpkg in the folder; give a run's riskmap.gpkg or its output folder",
                    file=p,
                )
            )
        p = p / "riskmap.gpkg"
    if not p.exists():
        raise InputError(tr("{file}: file not found; give the riskmap.gpkg of each run", file=p))
    names = list_geopackage_layers(p, "riskmap GeoPackage")
    if "facilities" not in names:
        raise InputError(
            tr(
                "{file}: no facilities layer (layers: {layers}); is this a riskmap.gpkg? Give the riskmap.gpkg a "
                "run wrote",
                file=p,
                layers=", ".join(names) or tr("none"),
            )
        )
    layers = {n: _checked_layer(p, n) for n in names if n == "facilities" or n.startswith("zones_")}
    meta = geopackage_metadata(p, "facilities")
    return SavedRun(p, layers, meta.get("district_code", ""), meta.get("project", ""))


def read_run(path: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """The ``facilities`` and ``zones_*`` layers of a GeoPackage written by riskmap (:func:`open_run`)."""
    return open_run(path).layers


def district_mismatch(
    old_code: str, new_code: str, old_ids: pd.Series | None = None, new_ids: pd.Series | None = None
) -> str | None:
    """Why two runs look like runs of different districts, or ``None``.

    Their ``district_code`` differs (both known), or fewer than :data:`MIN_SHARED_IDS` of the smaller run's
    facility ids are in both (a register of another district, or ids re-keyed).

    >>> from riskmap.i18n import language
    >>> with language("en"):
    ...     district_mismatch("320102", "329901")
    'district_code 320102 there, 329901 here'
    >>> with language("en"):
    ...     district_mismatch("", "329901", pd.Series(["A", "B"]), pd.Series(["C", "D", "E"]))
    'only 0 of the 2 facility ids of the smaller run are in both'
    """
    if old_code and new_code and old_code != new_code:
        return tr("district_code {old} there, {new} here", old=old_code, new=new_code)
    if old_ids is None or new_ids is None:
        return None
    a, b = pd.Index(old_ids.astype(str)).unique(), pd.Index(new_ids.astype(str)).unique()
    smaller = min(len(a), len(b))
    common = len(a.intersection(b))
    if smaller and common < MIN_SHARED_IDS * smaller:
        return tr(
            "only {common} of the {smaller} facility ids of the smaller run are in both",
            common=f"{common:,}",
            smaller=f"{smaller:,}",
        )
    return None


def check_same_district(old: SavedRun, against: str, new_code: str, new_ids: pd.Series | None = None) -> None:
    """Refuse to compare ``old`` with a run of another district (:func:`district_mismatch`).

    ``against`` names the other run in the message (its file, or "this run").
    """
    why = district_mismatch(
        old.district_code, new_code, old.facility_ids() if new_ids is not None else None, new_ids
    )
    if why:
        raise InputError(
            tr(
                "{old} and {new} look like runs of different districts ({why}): every enterprise would be listed as "
                "new or removed; compare two runs of one district, or add --compare-anyway",
                old=old.path,
                new=against,
                why=why,
            )
        )


def _reason_items(text: object) -> list[str]:
    if not isinstance(text, str) or not text:
        return []
    return [t.strip() for t in text.split(REASON_SEP_ZH) if t.strip()]


def _reasons_only_in(texts: pd.Series, others: pd.Series) -> list[str]:
    """Per row, the reasons of ``texts`` that ``others`` lacks, joined."""
    return [
        REASON_SEP_ZH.join(i for i in _reason_items(a) if i not in set(_reason_items(b)))
        for a, b in zip(texts, others, strict=True)
    ]


def _without_key_or_level(layer: str, key: str) -> InputError:
    return InputError(
        tr(
            "layer {layer}: needs the columns {key} and {level}; is this a riskmap.gpkg?",
            layer=layer,
            key=key,
            level=LEVEL,
        )
    )


def compare_layer(old: gpd.GeoDataFrame | None, new: gpd.GeoDataFrame | None, layer: str) -> gpd.GeoDataFrame:
    """The changes between two versions of one layer; either may be ``None`` (layer missing in that run).

    Facilities match on ``facility_id``, zones on ``zone_code``. Rows whose level is unchanged are left out.
    """
    is_fac = layer == "facilities"
    key = FACILITY_ID if is_fac else ZONE_CODE
    name = NAME if is_fac else ZONE_NAME
    reasons = "reasons" if is_fac else "reason"
    wanted = [key, name, SECTOR, LEVEL, reasons, "_decided"]
    present = new if new is not None else old
    crs = present.crs if present is not None else "EPSG:4490"

    def prep(df: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
        if df is None:
            return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in wanted}, geometry=[], crs=crs)
        if key not in df.columns or LEVEL not in df.columns:
            raise _without_key_or_level(layer, key)
        out = df.copy()
        out[LEVEL] = known_levels(out, key, tr("layer {layer}", layer=layer))
        out["_decided"] = _decided(out)
        for c in wanted:
            if c not in out.columns:
                out[c] = ""
        out[key] = out[key].astype(str)
        if out.geometry.name != "geometry":
            out = out.rename_geometry("geometry")
        return out[[*wanted, "geometry"]].set_index(key)

    o, n = prep(old), prep(new)
    both = o.index.intersection(n.index)
    r_old = level_rank(o.loc[both, LEVEL]).astype(int)
    r_new = level_rank(n.loc[both, LEVEL]).astype(int)
    steps = r_new - r_old
    moved = both[steps.to_numpy() != 0]
    rows = []
    for ids, kind, src in (
        (moved, None, n),
        (n.index.difference(o.index), "new", n),
        (o.index.difference(n.index), "removed", o),
    ):
        if not len(ids):
            continue
        part = pd.DataFrame(index=pd.Index(ids, name="id"))
        part["layer"] = layer
        part[CHANGE] = kind if kind else np.where(steps.loc[ids] > 0, "up", "down")
        part["name"] = src.loc[ids, name].astype(str)
        part["sector"] = src.loc[ids, SECTOR].astype(str) if is_fac else ""
        part["level_old"] = o[LEVEL].reindex(ids).fillna("").astype(str)
        part["level_new"] = n[LEVEL].reindex(ids).fillna("").astype(str)
        part["steps"] = steps.reindex(ids)
        decided = [df["_decided"].reindex(ids).fillna(False).astype(bool).to_numpy() for df in (o, n)]
        decided = decided[0] | decided[1]
        part["decision"] = np.where(decided & (kind is None), tr(BY_DECISION), "")
        before = o[reasons].reindex(ids)
        after = n[reasons].reindex(ids)
        part["reasons_old"] = before.fillna("").astype(str)
        part["reasons_new"] = after.fillna("").astype(str)
        part["reasons_added"] = _reasons_only_in(after, before)
        part["reasons_removed"] = _reasons_only_in(before, after)
        part[LEVEL] = part["level_new"].where(part["level_new"] != "", part["level_old"])
        part["geometry"] = src.geometry.loc[ids]
        rows.append(part)
    if not rows:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in CHANGE_COLUMNS})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=crs))
    out = pd.concat(rows).reset_index()
    out["level_old_zh"] = out["level_old"].map(_zh)
    out["level_new_zh"] = out["level_new"].map(_zh)
    order = {k: i for i, k in enumerate(CHANGE_KINDS)}
    out = out.sort_values(
        by=[CHANGE, "id"], key=lambda s: s.map(order) if s.name == CHANGE else s, kind="stable"
    )
    return gpd.GeoDataFrame(out[[*CHANGE_COLUMNS, "geometry"]], geometry="geometry", crs=crs).reset_index(
        drop=True
    )


def _decided(layer: pd.DataFrame) -> pd.Series:
    """Whether an expert decision set the row's level (it differs from the computed one); False in older runs."""
    if DECIDED_ON not in layer.columns or LEVEL_COMPUTED not in layer.columns:
        return pd.Series(False, index=layer.index)
    on = layer[DECIDED_ON].fillna("").astype(str) != ""
    computed = level_keys(layer[LEVEL_COMPUTED])
    return on & (computed.astype(object) != layer[LEVEL].astype(object))


def _zh(key: str) -> str:
    try:
        return Level.parse(key).zh
    except ValueError:
        return ""


def compare_runs(old: dict[str, gpd.GeoDataFrame], new: dict[str, gpd.GeoDataFrame]) -> RunDiff:
    """Compare every ``facilities``/``zones_*`` layer present in either run.

    >>> from shapely.geometry import Point
    >>> def run(levels):
    ...     return {"facilities": gpd.GeoDataFrame({"facility_id": list(levels), "level": list(levels.values())},
    ...                                            geometry=[Point(0, 0)] * len(levels), crs="EPSG:4490")}
    >>> d = compare_runs(run({"A": "blue", "B": "red", "C": "red"}), run({"A": "orange", "B": "red", "D": "blue"}))
    >>> d.counts["facilities"]
    {'up': 1, 'down': 0, 'new': 1, 'removed': 1, 'unchanged': 1}
    """
    diff = RunDiff()
    names = [n for n in ("facilities",) if n in old or n in new]
    names += sorted({n for n in [*old, *new] if n.startswith("zones_")})
    for name in names:
        changes = compare_layer(old.get(name), new.get(name), name)
        diff.changes[name] = changes
        counts = {k: int((changes[CHANGE] == k).sum()) for k in CHANGE_KINDS}
        in_both = 0
        if name in old and name in new:
            key = FACILITY_ID if name == "facilities" else ZONE_CODE
            in_both = len(set(old[name][key].astype(str)) & set(new[name][key].astype(str)))
        counts["unchanged"] = in_both - counts["up"] - counts["down"]
        diff.counts[name] = counts
    return diff


def diff_runs(old: str | Path, new: str | Path, compare_anyway: bool = False) -> RunDiff:
    """Read two riskmap GeoPackages (or output folders) and compare them (:func:`compare_runs`).

    Raises
    ------
    InputError
        A file cannot be read as a run (:func:`open_run`), or the two look like runs of different districts
        (:func:`district_mismatch`) and ``compare_anyway`` is false.
    """
    a, b = open_run(old), open_run(new)
    if not compare_anyway:
        check_same_district(a, str(b.path), b.district_code, b.facility_ids())
    return compare_runs(a.layers, b.layers)
