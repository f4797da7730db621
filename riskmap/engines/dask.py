"""The dask engine: validate -> assign zones -> score, partitioned on a dask cluster.

It runs riskmap's own stage functions (:func:`~riskmap.validate.validate_facilities`,
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
points at a real cluster. This engine needs ``pip install riskmap[dask]``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from riskmap.columns import FACILITY_ID, FOOTPRINT, PARENT_CODE, ZONE_CODE
from riskmap.config import Config
from riskmap.engines.base import Located, Scored, by_row, concat_rejects, concat_scored, split_positions
from riskmap.engines.memory import table_sources
from riskmap.exposure import add_persons
from riskmap.i18n import os_reason, tr
from riskmap.io.project import required_tables
from riskmap.io.shifts import ShiftEvidence, layer_origins, shift_warning
from riskmap.io.tables import ROW
from riskmap.methods import ScoringInputs, score_facilities
from riskmap.placement import ZoneIndex, located_warnings, note_placements, place_facilities, zone_index
from riskmap.rejects import rejects_frame
from riskmap.validate import normalise_ids, validate_facilities, validate_table
from riskmap.zone_layers import with_grids
from riskmap.zoning import assign_zones, zone_code_column

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DaskEngine", "SCHEDULER_ENV", "dask_client"]

#: Environment variable with the address of a running dask scheduler (``tcp://host:8786``).
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


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
            tr("the dask engine needs dask: pip install 'riskmap[dask]' (dask[distributed])")
        ) from err
    address = scheduler or os.environ.get(SCHEDULER_ENV)
    if address:
        with _remote_client(address) as c:
            yield c
        return
    cores = os.cpu_count() or 1
    # Every listener on 127.0.0.1: the scheduler and workers (tcp with processes; threads talk in-process),
    # their HTTP servers and the dashboard, which distributed would otherwise open on all interfaces (:8787).
    local = "127.0.0.1:0"
    with (
        LocalCluster(
            n_workers=cores if processes else 1,
            threads_per_worker=1 if processes else cores,
            processes=processes,
            host="127.0.0.1" if processes else None,
            dashboard_address=local,
            worker_dashboard_address=local,
            scheduler_kwargs={"dashboard": False},
        ) as cluster,
        Client(cluster) as c,
    ):
        yield c


@contextmanager
def _remote_client(address: str) -> Iterator[Client]:
    """A client of the scheduler at ``address``, or a ConfigError within distributed's connect timeout.

    distributed's own timeout covers reaching the address, not the handshake after it: an address that
    accepts and never answers (a wrong port, a hung scheduler) would wait forever. So the address is reached
    first, then the handshake is tried under the same timeout (``distributed.comm.timeouts.connect``, 30 s
    unless dask's configuration says otherwise); a scheduler without workers is waited for as long again.
    """
    import dask
    from dask.utils import parse_timedelta
    from distributed import Client

    from riskmap.errors import ConfigError

    timeout = float(parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s") or 30)
    try:
        _reach(address, timeout)
        _handshake(address, timeout)
        remote = Client(address, timeout=timeout)
    except TimeoutError:
        raise ConfigError(
            tr(
                "the dask scheduler at {address} accepted the connection but did not answer within {seconds} s (is "
                "a dask scheduler listening there, and is it alive?); check --scheduler, [engine] scheduler or "
                "$DASK_SCHEDULER_ADDRESS, or leave them unset for a local cluster; "
                "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=60s waits longer",
                address=address,
                seconds=f"{timeout:g}",
            )
        ) from None
    except OSError as err:
        raise ConfigError(
            tr(
                "cannot reach the dask scheduler at {address} ({why}); check --scheduler, [engine] scheduler or "
                "$DASK_SCHEDULER_ADDRESS, or leave them unset for a local cluster",
                address=address,
                why=os_reason(err),
            )
        ) from None
    with remote as c:
        try:
            c.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise ConfigError(
                tr(
                    "the dask scheduler at {address} has no workers (none joined within {seconds} s): start dask "
                    "workers for it, or leave the scheduler unset for a local cluster; "
                    "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT=60s waits longer",
                    address=address,
                    seconds=f"{timeout:g}",
                )
            ) from None
        yield c


def _reach(address: str, timeout: float) -> None:
    """Open and close a TCP connection to a tcp:// or tls:// address (OSError: refused, unreachable, no such host)."""
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme in ("tcp", "tls"):
        try:
            socket.create_connection(parse_host_port(location), timeout=timeout).close()
        except TimeoutError as err:  # no answer to the TCP handshake at all: unreachable, not silent
            raise OSError(tr("no TCP connection within {seconds} s", seconds=f"{timeout:g}")) from err


def _handshake(address: str, timeout: float) -> None:
    """Connect to ``address`` as a dask client does, handshake included, within ``timeout`` seconds.

    In a thread of its own: the caller may be inside a running event loop (a notebook).
    """
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect

    async def shake() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=timeout), timeout)
        await comm.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, shake()).result()


def _validate_part(
    part: pd.DataFrame, config: Config, source: str, index: ZoneIndex | None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    """Validate a partition and place its facilities without coordinates by their zone column."""
    valid, rejects = validate_facilities(part, config, source)
    placed, unplaced, notes = place_facilities(valid, index, source)
    return placed, concat_rejects([rejects, unplaced]), notes


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
    n_rows: int,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, ShiftEvidence]:
    """Put a partition in the zones of its window; the shift check's evidence against the whole layer."""
    part = part.reset_index(drop=True)
    if part.empty:
        return part, rejects_frame(), ShiftEvidence()
    window = _zone_window(part, finest, snap_m)
    res = assign_zones(
        part, {kinds[0]: window}, source, snap_m, shift_rows=n_rows, shift_zones=finest, judge_shift=False
    )
    out = res.facilities
    for fine, coarse in zip(kinds, kinds[1:], strict=False):
        out[zone_code_column(coarse)] = out[zone_code_column(fine)].map(parents[fine])
    return out, res.rejects, res.shift


def _score_part(
    located: gpd.GeoDataFrame,
    pieces: dict[str, pd.DataFrame],
    config: Config,
    sources: dict[str, str],
    needs: dict[str, set[str]],
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame], pd.DataFrame]:
    known = pd.Index(located[FACILITY_ID])
    clean, table_rejects = {}, {}
    for table, traw in pieces.items():
        clean[table], table_rejects[table] = validate_table(
            traw, table, getattr(config, table), known, sources[table], needs.get(table, ())
        )
    if config.uses_method("gb18218"):
        add_persons(located, config)
    scored, rej = score_facilities(ScoringInputs(located, clean, sources), config)
    return note_placements(scored), table_rejects, rej


def _first(pair: tuple[Any, Any]) -> Any:
    return pair[0]


def _second(pair: tuple[Any, Any]) -> Any:
    return pair[1]


def _third(triple: tuple[Any, Any, Any]) -> Any:
    return triple[2]


def _ids(part: pd.DataFrame) -> np.ndarray:
    return part[FACILITY_ID].to_numpy()


def _bounds(part: gpd.GeoDataFrame) -> np.ndarray:
    return part.total_bounds if len(part) else np.full(4, np.nan)


def _hilbert(part: gpd.GeoDataFrame, bounds: np.ndarray) -> np.ndarray:
    return part.geometry.hilbert_distance(total_bounds=tuple(bounds), level=16).to_numpy()


def _cut(part: gpd.GeoDataFrame, bounds: np.ndarray, edges: np.ndarray) -> list[gpd.GeoDataFrame]:
    dest = np.searchsorted(edges, _hilbert(part, bounds), side="right")
    return [part.iloc[pos] for pos in split_positions(dest, len(edges) + 1)]


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


class DaskEngine:
    """Validate, locate and score on partitions of a dask cluster (see :class:`~riskmap.engines.base.Engine`).

    The same rows, levels, reasons and rejects as :class:`~riskmap.engines.memory.MemoryEngine`.
    """

    def __init__(self, config: Config, source: str, client: Client, npartitions: int | None = None) -> None:
        self.config = config
        self.source = source
        self.client = client
        self.npartitions = npartitions

    def locate(self, raw: pd.DataFrame, zones: dict[str, gpd.GeoDataFrame]) -> Located:
        """Validate on partitions by id hash, then put in zones on partitions by Hilbert distance."""
        threads = sum(self.client.nthreads().values()) or 1
        n = self.npartitions or max(threads, math.ceil(len(raw) / self.config.engine.partition_rows))
        n = max(1, min(n, len(raw) or 1))
        n_rows = len(raw)
        meta, points, rej_fac, notes = self._validate(raw, n, zone_index(zones, self.config))
        del raw
        # Grids over the facilities need their hull: the hull of the partitions' hulls is the same polygon.
        client = self.client
        hulls = [h for h in client.gather(client.map(_hull, points, pure=False)) if h is not None]
        outline = gpd.GeoDataFrame(geometry=hulls, crs=meta.crs if meta.crs is not None else "EPSG:4490")
        layers = with_grids(self.config, zones, outline)
        # Parent codes once for all partitions (an empty assignment computes them and their warnings).
        frame = assign_zones(meta, layers, self.source, self.config.zoning.snap_distance_m)
        located, rej_zone, evidence = self._assign(points, layers, frame.zones, n, n_rows)
        shifted = shift_warning(evidence, list(layers)[0], layer_origins(self.config, self.source))
        part_ids = client.gather(client.map(_ids, located, pure=False))
        known = pd.Index(np.concatenate(part_ids) if part_ids else np.array([], dtype=object))
        return Located(
            known_ids=known,
            zones=frame.zones,
            facility_rejects=rej_fac,
            zoning_rejects=rej_zone,
            warnings=[
                *located_warnings(notes, self.config, n_rows),
                *frame.warnings,
                *([shifted] if shifted else []),
            ],
            state=(meta, located, part_ids),
        )

    def _validate(
        self, raw: pd.DataFrame, n: int, index: ZoneIndex | None
    ) -> tuple[gpd.GeoDataFrame, list[Any], pd.DataFrame, pd.DataFrame]:
        """1. Validation (and placement by zone column), partitioned by a hash of the normalised id.

        Copies of an id meet in one partition, where the duplicate rule sees them all.
        """
        config, source, client = self.config, self.source, self.client
        fc = config.facilities
        if fc.id in raw.columns:
            ids = normalise_ids(raw[fc.id].fillna("")).to_numpy()
            keys = (pd.util.hash_array(ids.astype(object)) % np.uint64(n)).astype(np.int64)
        else:
            keys = np.zeros(len(raw), dtype=np.int64)  # validate_facilities names the missing column
        meta = place_facilities(validate_facilities(raw.iloc[:0], config, source)[0], index, source)[0]
        parts = [raw.iloc[pos] for pos in split_positions(keys, n)]
        [index_f] = client.scatter([index], broadcast=True)
        validated = [
            client.submit(_validate_part, p, config, source, index_f, pure=False)
            for p in client.scatter(parts)
        ]
        points = client.map(_first, validated, pure=False)
        rejects = by_row(client.gather(client.map(_second, validated, pure=False)))
        notes = pd.concat(client.gather(client.map(_third, validated, pure=False)), ignore_index=True)
        return meta, points, rejects, notes

    def _assign(
        self,
        points: list[Any],
        layers: dict[str, gpd.GeoDataFrame],
        zones: dict[str, gpd.GeoDataFrame],
        n: int,
        n_rows: int,
    ) -> tuple[list[Any], pd.DataFrame, ShiftEvidence]:
        """2. Zone assignment on spatial partitions: the points in Hilbert order, cut into ``n`` ranges."""
        client = self.client
        kinds = list(layers)
        parents = {
            k: zones[k].set_index(ZONE_CODE)[PARENT_CODE] for k in kinds[:-1] if PARENT_CODE in zones[k]
        }
        spatial = _hilbert_shuffle(client, points, n)
        finest = layers[kinds[0]]
        finest.sindex  # noqa: B018 - built once here, shared by the worker threads
        [finest_f] = client.scatter([finest], broadcast=True)
        snap_m = self.config.zoning.snap_distance_m
        assigned = [
            client.submit(_assign_part, p, finest_f, parents, kinds, self.source, snap_m, n_rows, pure=False)
            for p in spatial
        ]
        located = client.map(_first, assigned, pure=False)
        evidence = sum(client.gather(client.map(_third, assigned, pure=False)), ShiftEvidence())
        return located, by_row(client.gather(client.map(_second, assigned, pure=False))), evidence

    def score(self, located: Located, tables: dict[str, pd.DataFrame]) -> Scored:
        """3. Related rows go to their facility's partition; rows of unknown facilities are rejected here."""
        config, client = self.config, self.client
        (meta, parts, part_ids), located.state = located.state, None
        needs = required_tables(config)
        sources = table_sources(config, self.source, tables)
        pieces, table_rejects = self._route(tables, located.known_ids, part_ids, sources)
        scored_f = [
            client.submit(_score_part, loc, piece, config, sources, needs, pure=False)
            for loc, piece in zip(parts, pieces, strict=True)
        ]
        results = client.gather(scored_f)
        rejects = {t: by_row([*table_rejects[t], *(r[1][t] for r in results)]) for t in table_rejects}
        scored = concat_scored([r[0] for r in results]).sort_values(ROW, kind="stable").reset_index(drop=True)
        return Scored(
            facilities=gpd.GeoDataFrame(scored, geometry=meta.geometry.name, crs=meta.crs),
            table_rejects=rejects,
            score_rejects=by_row([r[2] for r in results]),
        )

    def _route(
        self,
        tables: dict[str, pd.DataFrame],
        known: pd.Index,
        part_ids: list[np.ndarray],
        sources: dict[str, str],
    ) -> tuple[list[dict[str, pd.DataFrame]], dict[str, list[pd.DataFrame]]]:
        """Cut each related table into the rows of each partition's facilities; ``tables`` is emptied."""
        needs = required_tables(self.config)
        owner = pd.Series(np.repeat(np.arange(len(part_ids)), [len(p) for p in part_ids]), index=known)
        pieces: list[dict[str, pd.DataFrame]] = [{} for _ in part_ids]
        table_rejects: dict[str, list[pd.DataFrame]] = {}
        for table in list(tables):
            traw = tables.pop(table)
            tcfg = getattr(self.config, table)
            cols = needs.get(table, ())
            # Missing columns fail here, on the client, with the in-memory message.
            validate_table(traw.iloc[:0], table, tcfg, known, sources[table], cols)
            dest = (
                normalise_ids(traw[tcfg.columns.get(FACILITY_ID, FACILITY_ID)])
                .map(owner)
                .to_numpy(dtype=float)
            )
            lost = np.isnan(dest)
            _, unknown = validate_table(traw[lost], table, tcfg, pd.Index([]), sources[table], cols)
            table_rejects[table] = [unknown]
            routed = np.where(lost, 0, np.nan_to_num(dest, nan=-1.0) + 1).astype(np.int64)
            for i, pos in enumerate(split_positions(routed, len(part_ids) + 1)[1:]):
                pieces[i][table] = traw.iloc[pos]
        return pieces, table_rejects
