"""Engines for the validate -> assign zones -> score stages: in memory, or partitioned on a dask cluster.

The dask engine runs riskmap's own stage functions (:func:`~riskmap.validate.validate_facilities`,
:func:`~riskmap.zoning.assign_zones`, :func:`~riskmap.validate.validate_table`,
:func:`~riskmap.methods.score_facilities`) on partitions, so the logic is the same code and the results are the
same rows, levels and reasons as in memory:

1. facility rows are split by a hash of their normalised id, so that every copy of an id lands in one
   partition and the duplicate rule ("first seen at row N") sees all of them; each partition is validated;
2. the valid points are partitioned spatially (by Hilbert distance, as ``dask_geopandas.spatial_shuffle`` does) and
   each partition is put in the zones that intersect its bounds (parent codes are computed once, globally);
3. related-table rows are routed to the partition of their facility and validated and scored there.

Partitions are concatenated in input-row order at the end. A local cluster of threads is the default (processes
pickle every partition: about 10x slower on a 2-core machine); ``scheduler`` or ``DASK_SCHEDULER_ADDRESS``
points at a real cluster. Only the dask engine needs ``pip install riskmap[dask]``.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.config import Config
from riskmap.io.tables import ROW
from riskmap.methods import METHODS, PERSONS, ScoringInputs, score_facilities
from riskmap.validate import (
    FACILITY_ID,
    FOOTPRINT,
    id_positions,
    input_sources,
    layer_origins,
    normalise_ids,
    rejects_frame,
    validate_facilities,
    validate_table,
)
from riskmap.zoning import PARENT_CODE, ZONE_CODE, assign_zones, zone_code_column

if TYPE_CHECKING:
    from distributed import Client

__all__ = [
    "Engine",
    "EngineResult",
    "SCHEDULER_ENV",
    "required_tables",
    "read_inputs",
    "run_stages",
    "run_stages_dask",
    "dask_client",
]

logger = logging.getLogger(__name__)

Engine = Literal["memory", "dask"]
#: Environment variable with the address of a running dask scheduler (``tcp://host:8786``).
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


@dataclass
class EngineResult:
    """What validate -> assign zones -> score produce, the same from either engine.

    ``rejects`` holds, in order, the facility rejects, the zoning rejects, one frame per related table (rows
    whose facility is unknown) and the scoring rejects, each sorted by row.
    """

    #: Scored facilities (``score_facilities`` output) as a GeoDataFrame in EPSG:4490, in input-row order.
    facilities: gpd.GeoDataFrame
    #: Zone layers with parent codes (grids included), finest first.
    zones: dict[str, gpd.GeoDataFrame]
    #: Ids of the facilities that passed validation and lie in a zone (the known ids of the event tables).
    known_ids: pd.Index
    rejects: list[pd.DataFrame]
    warnings: list[str] = field(default_factory=list)
    #: Related tables after validation, by table name (in memory only; empty from the dask engine).
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


#: Persons within the GB 18218 radius per facility: a Series, or a frame of ``persons_500m`` and the raster's
#: coverage of each buffer (``_persons_coverage``), whose columns are added to the facilities as they are.
Persons = Callable[[gpd.GeoDataFrame], pd.Series | pd.DataFrame]
WithGrids = Callable[[dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame], dict[str, gpd.GeoDataFrame]]
OnLocated = Callable[[pd.Index, list[pd.DataFrame]], None]


def required_tables(config: Config) -> dict[str, set[str]]:
    """The related tables the configured methods read, with the canonical columns each needs."""
    needs: dict[str, set[str]] = {}
    for name, method in METHODS.items():
        if method.table is not None and config.uses_method(name):
            needs.setdefault(method.table, set()).update(method.columns)
    return needs


def read_inputs(
    config: Config,
) -> tuple[pd.DataFrame, dict[str, gpd.GeoDataFrame], dict[str, pd.DataFrame]]:
    """Facility rows, zone layers and the related tables the methods need, read as the pipeline reads them."""
    from riskmap.errors import InputError
    from riskmap.io.tables import read_table
    from riskmap.io.vector import VECTOR_SUFFIXES, read_vector
    from riskmap.pipeline import load_zones

    fc = config.facilities
    path = config.resolve(fc.path)
    if path.suffix.lower() in VECTOR_SUFFIXES:
        raw: pd.DataFrame = read_vector(path, layer=fc.layer, crs=fc.crs, where="facilities")
    else:
        raw = read_table(path, sheet=fc.layer, encoding=fc.encoding)
    tables = {}
    for table in required_tables(config):
        tcfg = getattr(config, table)
        if tcfg is None:
            raise InputError(f"the configured methods need the [{table}] table; add [{table}] path = ...")
        tables[table] = read_table(config.resolve(tcfg.path), sheet=tcfg.layer, encoding=tcfg.encoding)
    return raw, load_zones(config), tables


def _default_persons(config: Config) -> Persons:
    from riskmap import pipeline

    return lambda facilities: pipeline._persons(facilities, config)  # noqa: SLF001 - the pipeline's own rule


def _default_grids(config: Config) -> WithGrids:
    from riskmap import pipeline

    return lambda zones, facilities: pipeline._with_grids(config, zones, facilities)  # noqa: SLF001


def _add_persons(facilities: gpd.GeoDataFrame, persons: Persons) -> None:
    """Add the persons within the GB 18218 radius (and the raster's coverage, when given) to ``facilities``."""
    found = persons(facilities)
    if isinstance(found, pd.Series):
        found = found.to_frame(PERSONS)
    for col in found.columns:
        facilities[col] = found[col].to_numpy()


def _sources(config: Config, source: str, tables: dict[str, pd.DataFrame]) -> dict[str, str]:
    names = input_sources(config)  # file and sheet: two sheets of one workbook are two sources
    out = {"facilities": source}
    for table in tables:
        out[table] = names[table]
    return out


def run_stages(
    config: Config,
    raw: pd.DataFrame,
    zones: dict[str, gpd.GeoDataFrame],
    tables: dict[str, pd.DataFrame],
    *,
    source: str | None = None,
    engine: Engine | None = None,
    persons: Persons | None = None,
    with_grids: WithGrids | None = None,
    on_located: OnLocated | None = None,
    stage: Callable[[str], None] | None = None,
    scheduler: str | None = None,
    processes: bool | None = None,
    npartitions: int | None = None,
    client: Client | None = None,
) -> EngineResult:
    """Validate facilities, put them in zones, validate the related tables and score, with either engine.

    Parameters
    ----------
    config
        The validated project.
    raw
        Facility rows as read (``read_table`` text or ``read_vector`` features, with ``_row``).
    zones
        Zone layers from :func:`riskmap.pipeline.load_zones` (grids are made here, over the facilities).
    tables
        The related tables as read, by table name (``inventory``, ``risk_points``, ``deductions``); see
        :func:`required_tables`.
    source
        The facility file's name in rejects (default: from the config).
    engine
        ``"memory"`` or ``"dask"`` (default: ``[engine] name``).
    persons, with_grids
        The pipeline's rules for GB 18218 persons and for grid layers (default: those of
        :mod:`riskmap.pipeline`).
    on_located
        Called with the located facility ids and the rejects so far, before the tables are read: the pipeline
        stops there when no facility is left.
    stage
        Called with ``"score"`` when scoring starts (the caller announced ``"validate"``).
    scheduler, processes, npartitions, client
        Dask only: a scheduler address (default ``[engine] scheduler``, else ``$DASK_SCHEDULER_ADDRESS``, else
        a local cluster of threads, or of processes with ``processes=True``), the partition count (default: one
        per ``[engine] partition_rows`` rows, at least one per worker thread), or a client to reuse.

    Examples
    --------
    >>> import riskmap
    >>> from riskmap.config import load_config
    >>> config = load_config(riskmap.demo_dir() / "riskmap.toml")
    >>> raw, zones, tables = read_inputs(config)
    >>> res = run_stages(config, raw, zones, tables)
    >>> len(res.facilities) + sum(len(r[r["source"] == "facilities.csv"]) for r in res.rejects) == len(raw)
    True
    """
    source = source or input_sources(config)["facilities"]
    persons = persons or _default_persons(config)
    with_grids = with_grids or _default_grids(config)
    say = stage or (lambda _s: None)
    engine = engine or config.engine.name
    if engine == "dask":
        scheduler = scheduler or config.engine.scheduler
        processes = config.engine.processes if processes is None else processes
        with dask_client(scheduler, processes, client) as c:
            return run_stages_dask(
                config,
                raw,
                zones,
                tables,
                client=c,
                source=source,
                persons=persons,
                with_grids=with_grids,
                on_located=on_located,
                stage=say,
                npartitions=npartitions,
            )
    if engine != "memory":
        raise ValueError(f"unknown engine {engine!r}; choose memory or dask")
    needs = required_tables(config)
    sources = _sources(config, source, tables)
    facilities, rej_fac = validate_facilities(raw, config, source)
    # The inputs as read are not needed once validated: at province size they are hundreds of MB of text,
    # freed here unless the caller keeps its own references (the pipeline does not).
    del raw
    tables = dict(tables)
    layers = with_grids(zones, facilities)
    zoning = assign_zones(
        facilities, layers, source, config.zoning.snap_distance_m, origins=layer_origins(config, source)
    )
    facilities = zoning.facilities
    rejects = [rej_fac, zoning.rejects]
    known = pd.Index(facilities[FACILITY_ID])
    if on_located is not None:
        on_located(known, rejects)
    clean = {}
    for table in list(tables):
        clean[table], rej = validate_table(
            tables.pop(table), table, getattr(config, table), known, sources[table], needs.get(table, ())
        )
        rejects.append(rej)
    say("score")
    if config.uses_method("gb18218"):
        _add_persons(facilities, persons)
    scored, rej = _score_in_blocks(facilities, clean, sources, config, config.engine.partition_rows)
    rejects.append(rej)
    return EngineResult(
        facilities=gpd.GeoDataFrame(scored, geometry=facilities.geometry.name, crs=facilities.crs),
        zones=zoning.zones,
        known_ids=known,
        rejects=rejects,
        warnings=list(zoning.warnings),
        tables=clean,
    )


def _score_in_blocks(
    facilities: gpd.GeoDataFrame,
    tables: dict[str, pd.DataFrame],
    sources: dict[str, str],
    config: Config,
    rows: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``score_facilities`` on blocks of ``rows`` facilities with their own related rows, one after another.

    A facility's grade depends on its own rows only, so the result is the same as in one pass; the reason
    texts every method builds for every facility are held for one block at a time, which bounds the peak
    memory of scoring a province. ``tables`` is emptied as it is cut up.
    """
    n_blocks = math.ceil(len(facilities) / rows) if len(facilities) else 1
    if n_blocks <= 1:
        return score_facilities(ScoringInputs(facilities, tables, sources), config)
    pieces: list[dict[str, pd.DataFrame]] = [{} for _ in range(n_blocks)]
    for table in list(tables):
        df = tables.pop(table)
        # Validated rows all belong to a located facility: its position gives the block.
        block = id_positions(facilities[FACILITY_ID], df[FACILITY_ID]) // rows
        for i, pos in enumerate(_split(block.astype(np.int64), n_blocks)):
            pieces[i][table] = df.iloc[pos]
        del df
    frames, rejects = [], []
    for i in range(n_blocks):
        part = facilities.iloc[i * rows : (i + 1) * rows]
        scored, rej = score_facilities(ScoringInputs(part, pieces[i], sources), config)
        pieces[i] = {}
        frames.append(scored)
        rejects.append(rej)
    return _concat_scored(frames), _concat_rejects(rejects)


def _concat_scored(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Scored blocks as one frame, with the columns in the order of the widest block."""
    kept = [f for f in frames if not f.empty]
    scored = pd.concat(kept, ignore_index=True) if kept else frames[0]
    widest = max((f.columns for f in kept), key=len, default=scored.columns)
    return scored[[*widest, *(c for c in scored.columns if c not in widest)]]


def _concat_rejects(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else rejects_frame()


# ---------------------------------------------------------------------------------------------- dask


@contextmanager
def dask_client(
    scheduler: str | None = None, processes: bool = False, client: Client | None = None
) -> Iterator[Client]:
    """A dask client: ``client`` as given, else one to ``scheduler``/``$DASK_SCHEDULER_ADDRESS``, else local.

    The local cluster has one worker with a thread per core, or with ``processes=True`` one single-threaded
    worker process per core (scripts starting it need an ``if __name__ == "__main__":`` guard).
    """
    if client is not None:
        yield client
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - depends on the installation
        from riskmap.errors import ConfigError

        raise ConfigError(
            "the dask engine needs dask: pip install 'riskmap[dask]' (dask[distributed])"
        ) from err
    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        from riskmap.errors import ConfigError

        try:
            remote = Client(address, timeout="20s")
        except OSError as err:
            raise ConfigError(
                f"cannot reach the dask scheduler at {address} ({err}); check --scheduler, [engine] scheduler "
                f"or ${SCHEDULER_ENV}, or leave them unset for a local cluster"
            ) from None
        with remote as c:
            yield c
        return
    cores = os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=cores if processes else 1,
            threads_per_worker=1 if processes else cores,
            processes=processes,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


def _validate_part(part: pd.DataFrame, config: Config, source: str) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    return validate_facilities(part, config, source)


def _hull(part: gpd.GeoDataFrame) -> Any:
    return part.geometry.union_all().convex_hull if len(part) else None


def _zone_window(part: gpd.GeoDataFrame, finest: gpd.GeoDataFrame, snap_m: float) -> gpd.GeoDataFrame:
    """The zones a partition can fall in: those meeting its bounds (footprints and snap distance included)."""
    import shapely

    bounds = [part.total_bounds]
    if FOOTPRINT in part.columns and part[FOOTPRINT].notna().any():
        bounds.append(gpd.GeoSeries(part[FOOTPRINT], crs=part.crs).dropna().total_bounds)
    b = np.array(bounds)
    x0, y0, x1, y1 = b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()
    if (
        snap_m > 0
    ):  # degrees of latitude are the shortest: 1 degree >= 110.5 km; longitude shrinks by cos(lat)
        lat = max(abs(y0), abs(y1))
        pad_y = snap_m / 110_500 * 1.01
        pad_x = snap_m / (111_320 * max(math.cos(math.radians(min(lat + pad_y, 89.0))), 1e-6)) * 1.01
        x0, y0, x1, y1 = x0 - pad_x, y0 - pad_y, x1 + pad_x, y1 + pad_y
    idx = np.sort(finest.sindex.query(shapely.box(x0, y0, x1, y1)))
    return finest.iloc[idx]


def _assign_part(
    part: gpd.GeoDataFrame,
    finest: gpd.GeoDataFrame,
    parents: dict[str, pd.Series],
    kinds: list[str],
    source: str,
    snap_m: float,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    part = part.reset_index(drop=True)
    if part.empty:
        return part, rejects_frame()
    window = _zone_window(part, finest, snap_m)
    res = assign_zones(part, {kinds[0]: window}, source, snap_m)
    out = res.facilities
    for fine, coarse in zip(kinds, kinds[1:], strict=False):
        out[zone_code_column(coarse)] = out[zone_code_column(fine)].map(parents[fine])
    return out, res.rejects


def _score_part(
    located: gpd.GeoDataFrame,
    pieces: dict[str, pd.DataFrame],
    config: Config,
    sources: dict[str, str],
    needs: dict[str, set[str]],
    persons: Persons,
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame]:
    known = pd.Index(located[FACILITY_ID])
    clean, table_rejects = {}, {}
    for table, traw in pieces.items():
        clean[table], table_rejects[table] = validate_table(
            traw, table, getattr(config, table), known, sources[table], needs.get(table, ())
        )
    if config.uses_method("gb18218"):
        _add_persons(located, persons)
    scored, rej = score_facilities(ScoringInputs(located, clean, sources), config)
    return scored, table_rejects, rej


def _by_row(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return rejects_frame()
    return pd.concat(frames, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)


def _split(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """Row positions of each of ``n`` partitions, in row order within each."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(1, n))
    return np.split(order, bounds)


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def _ids(part: pd.DataFrame) -> np.ndarray:
    return part[FACILITY_ID].to_numpy()


def _bounds(part: gpd.GeoDataFrame) -> np.ndarray:
    return part.total_bounds if len(part) else np.full(4, np.nan)


def _hilbert(part: gpd.GeoDataFrame, bounds: np.ndarray) -> np.ndarray:
    return part.geometry.hilbert_distance(total_bounds=tuple(bounds), level=16).to_numpy()


def _cut(part: gpd.GeoDataFrame, bounds: np.ndarray, edges: np.ndarray) -> list[gpd.GeoDataFrame]:
    dest = np.searchsorted(edges, _hilbert(part, bounds), side="right")
    return [part.iloc[pos] for pos in _split(dest, len(edges) + 1)]


def _gather_pieces(*pieces: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return pd.concat(pieces) if len(pieces) > 1 else pieces[0]


def _hilbert_shuffle(client: Client, parts: list[Any], n: int) -> list[Any]:
    """Repartition point partitions into ``n`` spatially compact ones: ranges of the Hilbert distance.

    The same partitioning as ``dask_geopandas``' ``spatial_shuffle(by="hilbert")``, done with futures
    (its dask-expr path fails on frames built from delayed partitions in dask 2026.8).
    """
    boxes = np.array(client.gather(client.map(_bounds, parts, pure=False)))
    if np.isnan(boxes).all():
        return parts
    bounds = np.array(
        [np.nanmin(boxes[:, 0]), np.nanmin(boxes[:, 1]), np.nanmax(boxes[:, 2]), np.nanmax(boxes[:, 3])]
    )
    distances = np.concatenate(client.gather([client.submit(_hilbert, p, bounds, pure=False) for p in parts]))
    edges = np.unique(np.quantile(distances, np.arange(1, n) / n).astype(distances.dtype))
    cut = [client.submit(_cut, p, bounds, edges, pure=False) for p in parts]
    m = len(edges) + 1
    pieces = [[client.submit(_pick_piece, c, j, pure=False) for c in cut] for j in range(m)]
    return [client.submit(_gather_pieces, *row, pure=False) for row in pieces]


def _pick_piece(pieces: list[gpd.GeoDataFrame], j: int) -> gpd.GeoDataFrame:
    return pieces[j]


def run_stages_dask(
    config: Config,
    raw: pd.DataFrame,
    zones: dict[str, gpd.GeoDataFrame],
    tables: dict[str, pd.DataFrame],
    *,
    client: Client,
    source: str,
    persons: Persons,
    with_grids: WithGrids,
    on_located: OnLocated | None = None,
    stage: Callable[[str], None] = lambda _s: None,
    npartitions: int | None = None,
) -> EngineResult:
    """The dask engine of :func:`run_stages` (which see), on ``client``; the same outputs as in memory."""
    fc = config.facilities
    needs = required_tables(config)
    sources = _sources(config, source, tables)
    threads = sum(client.nthreads().values()) or 1
    n = npartitions or max(threads, math.ceil(len(raw) / config.engine.partition_rows))
    n = max(1, min(n, len(raw) or 1))

    # 1. Validation, partitioned by a hash of the normalised id: duplicates meet in one partition.
    if fc.id in raw.columns:
        ids = normalise_ids(raw[fc.id].fillna("")).to_numpy()
        keys = (pd.util.hash_array(ids.astype(object)) % np.uint64(n)).astype(np.int64)
    else:
        keys = np.zeros(len(raw), dtype=np.int64)  # validate_facilities names the missing column
    meta, _ = validate_facilities(raw.iloc[:0], config, source)
    parts = [raw.iloc[pos] for pos in _split(keys, n)]
    validated = [client.submit(_validate_part, p, config, source, pure=False) for p in client.scatter(parts)]
    points = client.map(_first, validated, pure=False)
    rej_fac = _by_row(client.gather(client.map(_second, validated, pure=False)))

    # Grids over the facilities need their hull: the hull of the partitions' hulls is the same polygon.
    hulls = [h for h in client.gather(client.map(_hull, points, pure=False)) if h is not None]
    outline = gpd.GeoDataFrame(geometry=hulls, crs=meta.crs if meta.crs is not None else "EPSG:4490")
    layers = with_grids(zones, outline)
    kinds = list(layers)
    # Parent codes once for all partitions (an empty assignment computes them and their warnings).
    frame = assign_zones(meta, layers, source, config.zoning.snap_distance_m)
    parents = {
        k: frame.zones[k].set_index(ZONE_CODE)[PARENT_CODE]
        for k in kinds[:-1]
        if PARENT_CODE in frame.zones[k]
    }

    # 2. Zone assignment on spatial partitions: the points in Hilbert order, cut into n ranges.
    spatial = _hilbert_shuffle(client, points, n)
    finest = layers[kinds[0]]
    finest.sindex  # noqa: B018 - built once here, shared by the worker threads
    [finest_f] = client.scatter([finest], broadcast=True)
    snap_m = config.zoning.snap_distance_m
    assigned = [
        client.submit(_assign_part, p, finest_f, parents, kinds, source, snap_m, pure=False) for p in spatial
    ]
    located = client.map(_first, assigned, pure=False)
    rej_zone = _by_row(client.gather(client.map(_second, assigned, pure=False)))
    part_ids = client.gather(client.map(_ids, located, pure=False))
    known = pd.Index(np.concatenate(part_ids) if part_ids else np.array([], dtype=object))
    rejects = [rej_fac, rej_zone]
    if on_located is not None:
        on_located(known, rejects)

    # 3. Related rows go to their facility's partition; rows of unknown facilities are rejected here.
    stage("score")
    owner = pd.Series(np.repeat(np.arange(len(part_ids)), [len(p) for p in part_ids]), index=known)
    pieces: list[dict[str, pd.DataFrame]] = [{} for _ in part_ids]
    table_rejects: dict[str, list[pd.DataFrame]] = {}
    for table, traw in tables.items():
        tcfg = getattr(config, table)
        cols = needs.get(table, ())
        # Missing columns fail here, on the client, with the in-memory message.
        validate_table(traw.iloc[:0], table, tcfg, known, sources[table], cols)
        dest = (
            normalise_ids(traw[tcfg.columns.get(FACILITY_ID, FACILITY_ID)]).map(owner).to_numpy(dtype=float)
        )
        lost = np.isnan(dest)
        _, unknown = validate_table(traw[lost], table, tcfg, pd.Index([]), sources[table], cols)
        table_rejects[table] = [unknown]
        routed = np.where(lost, 0, np.nan_to_num(dest, nan=-1.0) + 1).astype(np.int64)
        for i, pos in enumerate(_split(routed, len(part_ids) + 1)[1:]):
            pieces[i][table] = traw.iloc[pos]
    scored_f = [
        client.submit(_score_part, loc, piece, config, sources, needs, persons, pure=False)
        for loc, piece in zip(located, pieces, strict=True)
    ]
    results = client.gather(scored_f)
    for table in tables:
        rejects.append(_by_row([*table_rejects[table], *(r[1][table] for r in results)]))
    rejects.append(_by_row([r[2] for r in results]))
    scored = _concat_scored([r[0] for r in results]).sort_values(ROW, kind="stable").reset_index(drop=True)
    return EngineResult(
        facilities=gpd.GeoDataFrame(scored, geometry=meta.geometry.name, crs=meta.crs),
        zones=frame.zones,
        known_ids=known,
        rejects=rejects,
        warnings=list(frame.warnings),
    )
