"""Publishing a run's layers to PostGIS, where a city's GIS server (GeoServer, QGIS Server) serves them.

Atomic for readers: the layers are written into a staging schema (``<schema>_staging_<run id>``) with
``COPY ... FROM STDIN`` (geometries as EWKB hex), primary keys, GiST indexes and comments; then ONE transaction
renames the published schema away, renames the staging schema in its place, drops the old one, points the
QGIS styles in ``public.layer_styles`` at the new tables and records the run in ``riskmap_runs.runs``. A map
server reading during a run sees the old tables or the new ones, never a half; a failed run drops its staging
schema and leaves the published one as it was (a killed run's staging schema is dropped by the next run).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from riskmap.errors import OutputError

if TYPE_CHECKING:
    import psycopg

__all__ = ["RUNS_TABLE", "copy_frame", "publish_postgis"]

logger = logging.getLogger(__name__)

#: Schema and table of the run history: outside the published schema, so it survives every swap.
RUNS_SCHEMA = "riskmap_runs"
RUNS_TABLE = f"{RUNS_SCHEMA}.runs"
#: The primary key column of every published layer (QGIS and GeoServer want an integer key).
FID = "fid"
#: Rows per COPY chunk: bounds the text buffer at province size.
_CHUNK = 200_000

#: QGIS's own table of layer styles (as QGIS creates it): a PostGIS layer opens with its default style.
_LAYER_STYLES_DDL = """
CREATE TABLE IF NOT EXISTS public.layer_styles (
    id serial PRIMARY KEY, f_table_catalog varchar, f_table_schema varchar, f_table_name varchar,
    f_geometry_column varchar, stylename text, styleqml xml, stylesld xml, useasdefault boolean,
    description text, owner varchar(63) DEFAULT CURRENT_USER, ui xml,
    update_time timestamp DEFAULT CURRENT_TIMESTAMP, type varchar
)"""

_RUNS_DDL = f"""
CREATE TABLE IF NOT EXISTS {RUNS_TABLE} (
    run_id text PRIMARY KEY, published_schema text NOT NULL, published timestamptz NOT NULL DEFAULT now(),
    riskmap_version text, config_hash text, run_json jsonb NOT NULL
)"""

#: Table comments (what a GIS user sees in the database browser).
_COMMENTS = {
    "facilities": "riskmap: scored enterprises, level red/orange/yellow/blue (红橙黄蓝) with reasons",
    "inspection_plan": "riskmap: the inspection plan (frequency, months, random draw) at each enterprise",
    "rejects": "riskmap: input rows not scored, with source, row (or primary key), field and reason",
}


def _sql_type(s: pd.Series) -> str:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return "timestamptz"
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return "timestamp"
    if pd.api.types.is_bool_dtype(s.dtype):
        return "boolean"
    if pd.api.types.is_integer_dtype(s.dtype):
        return "bigint"
    if pd.api.types.is_float_dtype(s.dtype):
        return "double precision"
    return "text"


def _geometry_type(gdf: gpd.GeoDataFrame) -> str:
    types = set(gdf.geom_type.dropna())
    return types.pop() if len(types) == 1 else "Geometry"


def _copy_text(df: pd.DataFrame, geometry: str | None, srid: int) -> str:
    """One chunk of rows as COPY CSV text: the geometry as EWKB hex, NULL as an empty field."""
    import shapely

    out = pd.DataFrame(df.drop(columns=geometry) if geometry else df, copy=False)
    objects = [c for c in out.columns if out[c].dtype == object]
    if objects:  # lists and other Python values as their text, as the GeoPackage writes them
        out = out.copy()
        for c in objects:
            out[c] = out[c].map(lambda v: v if v is None or isinstance(v, str) else str(v))
    if geometry:
        geoms = shapely.set_srid(df[geometry].to_numpy(), srid)
        out = out.assign(**{geometry: shapely.to_wkb(geoms, hex=True, include_srid=True)})
    buf = io.StringIO()
    out.to_csv(buf, header=False, index=False)
    return buf.getvalue()


def copy_frame(
    conn: psycopg.Connection[Any], schema: str, table: str, df: pd.DataFrame, comment: str | None = None
) -> int:
    """Create ``schema.table`` for ``df`` and fill it with COPY; add the ``fid`` key, a GiST index, comments.

    A GeoDataFrame's geometry becomes a ``geom`` column of its geometry type and SRID (QGIS's convention).
    Returns the number of rows written.
    """
    from psycopg import sql

    geometry = df.geometry.name if isinstance(df, gpd.GeoDataFrame) else None
    srid = 0
    if geometry is not None:
        assert isinstance(df, gpd.GeoDataFrame)
        srid = int(df.crs.to_epsg() or 0) if df.crs is not None else 0
        if geometry != "geom":
            df = df.rename_geometry("geom")
            geometry = "geom"
    attrs = [c for c in df.columns if c != geometry]
    cols = [sql.SQL("{} bigint").format(sql.Identifier(FID))]
    cols += [sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(_sql_type(df[c]))) for c in attrs]
    if geometry is not None:
        assert isinstance(df, gpd.GeoDataFrame)
        gtype = _geometry_type(df)
        cols.append(sql.SQL("geom geometry({}, {})").format(sql.SQL(gtype), srid))
    target = sql.Identifier(schema, table)
    conn.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(cols)))
    names = sql.SQL(", ").join(sql.Identifier(c) for c in [FID, *attrs, *([geometry] if geometry else [])])
    copy = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(target, names)
    frame = df[[*attrs, *([geometry] if geometry else [])]]
    with conn.cursor().copy(copy) as cp:
        for start in range(0, len(frame), _CHUNK):
            chunk = frame.iloc[start : start + _CHUNK]
            chunk = pd.concat(
                [pd.Series(range(start + 1, start + len(chunk) + 1), index=chunk.index, name=FID), chunk],
                axis=1,
            )
            cp.write(_copy_text(chunk, geometry, srid))
    conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY ({})").format(target, sql.Identifier(FID)))
    if geometry is not None:
        conn.execute(sql.SQL("CREATE INDEX ON {} USING gist (geom)").format(target))
    if comment:
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(target, sql.Literal(comment)))
    if "level" in attrs:
        conn.execute(
            sql.SQL("COMMENT ON COLUMN {}.level IS {}").format(
                target, sql.Literal("risk level: red 重大 > orange 较大 > yellow 一般 > blue 低")
            )
        )
    conn.execute(sql.SQL("ANALYZE {}").format(target))
    return len(frame)


def _comment(name: str, run_id: str) -> str:
    what = _COMMENTS.get(name) or f"riskmap: zone levels ({name.removeprefix('zones_')})"
    return f"{what}; run {run_id}"


def publish_postgis(
    conninfo: str,
    schema: str,
    layers: Mapping[str, pd.DataFrame],
    styles: pd.DataFrame,
    run_id: str,
    run_json: Mapping[str, Any],
) -> dict[str, int]:
    """Publish ``layers`` (name -> frame) to ``schema``, swapped in at once; returns the rows per layer.

    ``styles`` is the GeoPackage's ``layer_styles`` table (:func:`riskmap.outputs.gpkg.layer_styles`): its QML
    goes into ``public.layer_styles`` for the published tables. ``run_json`` (the run's provenance) is
    recorded in ``riskmap_runs.runs`` under ``run_id``.

    Raises
    ------
    OutputError
        No connection, no PostGIS in the database, no right to create schemas; the published schema is then
        unchanged.
    """
    import psycopg

    from riskmap.config.inputs import conninfo_password
    from riskmap.io.postgis import connect, describe, one_line
    from riskmap.outputs.runfolder import hold_point

    if conninfo_password(conninfo):
        raise OutputError(
            "--postgis/outputs.postgis: a password in the connection string is not allowed; give it through "
            "PGPASSWORD, ~/.pgpass or the service file (pg_service.conf)"
        )
    where = f"{describe(conninfo)}, schema {schema}"
    staging = f"{schema}_staging_{run_id}"
    conn = connect(conninfo, "outputs.postgis", OutputError)
    try:
        with conn:
            if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None:
                raise OutputError(f"{where}: the database has no PostGIS; run CREATE EXTENSION postgis there")
            # One publisher per schema at a time; its staging schemas left by killed runs are then stale.
            conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"riskmap:{schema}"])
            _drop_stale(conn, schema)
            conn.commit()
            try:
                counts = _stage(conn, staging, layers, run_id, hold_point)
                _swap(conn, schema, staging, styles, run_id, run_json)
            except BaseException:
                conn.rollback()
                _drop_schema(conn, staging)
                raise
            return counts
    except psycopg.Error as err:
        raise OutputError(f"{where}: cannot publish: {one_line(err)}") from None
    finally:
        conn.close()


def _drop_schema(conn: psycopg.Connection[Any], name: str) -> None:
    from psycopg import sql

    try:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        conn.commit()
    except Exception:  # the original error matters more; the next run drops it
        logger.warning("could not drop the staging schema %s", name)


def _drop_stale(conn: psycopg.Connection[Any], schema: str) -> None:
    rows = conn.execute(
        "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
        [schema.replace("_", r"\_") + r"\_staging\_%"],
    ).fetchall()
    for (name,) in rows:
        logger.info("dropping %s, left by a run that did not finish", name)
        _drop_schema(conn, name)


def _stage(
    conn: psycopg.Connection[Any], staging: str, layers: Mapping[str, pd.DataFrame], run_id: str, hold: Any
) -> dict[str, int]:
    from psycopg import sql

    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(staging)))
    counts = {}
    for name, df in layers.items():
        counts[name] = copy_frame(conn, staging, name, df, _comment(name, run_id))
        conn.commit()
        hold("postgis-staging")  # test hook: a run killed here must leave the published tables
    return counts


def _swap(
    conn: psycopg.Connection[Any],
    schema: str,
    staging: str,
    styles: pd.DataFrame,
    run_id: str,
    run_json: Mapping[str, Any],
) -> None:
    from psycopg import sql

    conn.execute(_LAYER_STYLES_DDL)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(RUNS_SCHEMA)))
    conn.execute(_RUNS_DDL)
    conn.commit()
    old = f"{schema}_old_{run_id}"
    exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
    # One transaction: readers see the old schema or the new one (DDL is transactional in PostgreSQL).
    if exists:
        _copy_grants(conn, schema, staging)
        conn.execute(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(schema), sql.Identifier(old))
        )
    conn.execute(
        sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(staging), sql.Identifier(schema))
    )
    if exists:
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(old)))
    conn.execute("DELETE FROM public.layer_styles WHERE f_table_schema = %s", [schema])
    for row in styles.to_dict("records"):
        conn.execute(
            "INSERT INTO public.layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
            "stylename, styleqml, stylesld, useasdefault, description, ui) "
            "VALUES (current_database(), %s, %s, %s, %s, XMLPARSE(DOCUMENT %s), NULL, %s, %s, NULL)",
            [
                schema,
                row["f_table_name"],
                row["f_geometry_column"],
                row["styleName"],
                row["styleQML"],
                bool(row["useAsDefault"]),
                row["description"],
            ],
        )
    conn.execute(
        f"INSERT INTO {RUNS_TABLE} (run_id, published_schema, riskmap_version, config_hash, run_json) "
        "VALUES (%s, %s, %s, %s, %s::jsonb)",
        [
            run_id,
            schema,
            run_json.get("provenance", {}).get("riskmap_version"),
            run_json.get("provenance", {}).get("config_hash"),
            json.dumps(run_json, ensure_ascii=False, default=str),
        ],
    )
    conn.commit()


def _copy_grants(conn: psycopg.Connection[Any], schema: str, staging: str) -> None:
    """The published schema's and tables' grants (a map server's role) carried to the new ones."""
    from psycopg import sql

    for grantee, privilege in conn.execute(
        "SELECT CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, a.privilege_type "
        "FROM pg_namespace n, aclexplode(n.nspacl) a "
        "WHERE n.nspname = %s AND a.grantee <> n.nspowner",
        [schema],
    ).fetchall():
        conn.execute(
            sql.SQL("GRANT {} ON SCHEMA {} TO {}").format(
                sql.SQL(privilege), sql.Identifier(staging), sql.SQL(grantee)
            )
        )
    for table, grantee, privilege in conn.execute(
        "SELECT c.relname, CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END, "
        "a.privilege_type FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a "
        "WHERE n.nspname = %s AND a.grantee <> c.relowner "
        "AND c.relname IN (SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace)",
        [schema, staging],
    ).fetchall():
        conn.execute(
            sql.SQL("GRANT {} ON {} TO {}").format(
                sql.SQL(privilege), sql.Identifier(staging, table), sql.SQL(grantee)
            )
        )
