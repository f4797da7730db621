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

from riskmap.columns import FACILITY_ID, LEVEL, NAME, REASON_SEP_ZH, SECTOR, ZONE_CODE, ZONE_NAME
from riskmap.errors import InputError
from riskmap.levels import Level, level_rank

__all__ = [
    "CHANGE",
    "CHANGE_KINDS",
    "CHANGE_COLUMNS",
    "RunDiff",
    "read_run",
    "run_layers",
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
    "reasons_added",
    "reasons_removed",
    "reasons_old",
    "reasons_new",
    LEVEL,
]


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


def _layers_of(path: Path) -> list[str]:
    import pyogrio

    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
    except (pyogrio.errors.DataSourceError, OSError) as err:
        raise InputError(f"{path}: cannot read the GeoPackage: {err}") from None
    return [n for n in names if n == "facilities" or n.startswith("zones_")]


def read_run(path: str | Path) -> dict[str, gpd.GeoDataFrame]:
    """The ``facilities`` and ``zones_*`` layers of a GeoPackage written by riskmap."""
    from riskmap.io.vector import read_vector

    p = Path(path)
    return {n: read_vector(p, layer=n, where=n) for n in run_layers(p)}


def run_layers(path: Path) -> list[str]:
    """The ``facilities`` and ``zones_*`` layers of a riskmap.gpkg (read without reading their features).

    Raises
    ------
    InputError
        No such file, not a GeoPackage, or none of those layers.
    """
    if not path.exists():
        raise InputError(f"{path}: file not found; give the riskmap.gpkg of each run")
    names = _layers_of(path)
    if not names:
        raise InputError(f"{path}: no facilities or zones_* layer; is this a riskmap.gpkg?")
    return names


def _reason_items(text: object) -> list[str]:
    if not isinstance(text, str) or not text:
        return []
    return [t.strip() for t in text.split(REASON_SEP_ZH) if t.strip()]


def compare_layer(old: gpd.GeoDataFrame | None, new: gpd.GeoDataFrame | None, layer: str) -> gpd.GeoDataFrame:
    """The changes between two versions of one layer; either may be ``None`` (layer missing in that run).

    Facilities match on ``facility_id``, zones on ``zone_code``. Rows whose level is unchanged are left out.
    """
    is_fac = layer == "facilities"
    key = FACILITY_ID if is_fac else ZONE_CODE
    name = NAME if is_fac else ZONE_NAME
    reasons = "reasons" if is_fac else "reason"
    wanted = [key, name, SECTOR, LEVEL, reasons]
    present = new if new is not None else old
    crs = present.crs if present is not None else "EPSG:4490"

    def prep(df: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
        if df is None:
            return gpd.GeoDataFrame({c: pd.Series(dtype=object) for c in wanted}, geometry=[], crs=crs)
        if key not in df.columns or LEVEL not in df.columns:
            raise InputError(f"layer {layer}: needs the columns {key} and {LEVEL}; is this a riskmap.gpkg?")
        out = df.copy()
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
        before = o[reasons].reindex(ids)
        after = n[reasons].reindex(ids)
        part["reasons_old"] = before.fillna("").astype(str)
        part["reasons_new"] = after.fillna("").astype(str)
        part["reasons_added"] = [
            REASON_SEP_ZH.join(i for i in _reason_items(a) if i not in set(_reason_items(b)))
            for a, b in zip(after, before, strict=True)
        ]
        part["reasons_removed"] = [
            REASON_SEP_ZH.join(i for i in _reason_items(b) if i not in set(_reason_items(a)))
            for a, b in zip(after, before, strict=True)
        ]
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


def diff_runs(old: str | Path, new: str | Path) -> RunDiff:
    """Read two riskmap GeoPackages and compare them (:func:`compare_runs`)."""
    return compare_runs(read_run(old), read_run(new))
