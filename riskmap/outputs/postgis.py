"""Publishing a run's layers to PostGIS, where a city's GIS server (GeoServer, QGIS Server) serves them.

Atomic for readers: the layers are written into a staging schema (``<schema>_staging_<run id>``) with
``COPY ... FROM STDIN`` (geometries as EWKB hex), primary keys, GiST indexes and comments; then ONE transaction
renames the published schema away, renames the staging schema in its place, drops the old one, points the
QGIS styles in ``public.layer_styles`` at the new tables and records the run in ``riskmap_runs.runs``. A map
server reading during a run sees the old tables or the new ones, never a half; a failed run drops its staging
schema and leaves the published one as it was (a killed run's staging schema is dropped by the next run).

Only what is riskmap's is replaced: a schema riskmap published (the tables of its last run in
``riskmap_runs.runs``, each commented with that run id, and nothing else) or an empty one; the old tables are
dropped without CASCADE, so a view of someone else on them stops the run instead of vanishing. No wait is
endless: another riskmap run publishing to the schema is waited for up to :data:`PUBLISH_LOCK_WAIT`, a map
server's open transaction on the published tables up to the session's ``lock_timeout``
(:data:`riskmap.io.postgis.LOCK_TIMEOUT`); each message names the sessions in the way.
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
from riskmap.i18n import tr

if TYPE_CHECKING:
    import psycopg

__all__ = ["PUBLISH_LOCK_WAIT", "RUNS_TABLE", "copy_frame", "publish_postgis"]

logger = logging.getLogger(__name__)

#: Schema and table of the run history: outside the published schema, so it survives every swap.
RUNS_SCHEMA = "riskmap_runs"
RUNS_TABLE = f"{RUNS_SCHEMA}.runs"
#: The primary key column of every published layer (QGIS and GeoServer want an integer key).
FID = "fid"
#: How long a run waits for another riskmap run publishing to the same schema (a PostgreSQL interval).
PUBLISH_LOCK_WAIT = "10min"
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
    *,
    lock_wait: str = PUBLISH_LOCK_WAIT,
) -> dict[str, int]:
    """Publish ``layers`` (name -> frame) to ``schema``, swapped in at once; returns the rows per layer.

    ``styles`` is the GeoPackage's ``layer_styles`` table (:func:`riskmap.outputs.gpkg.layer_styles`): its QML
    goes into ``public.layer_styles`` for the published tables. ``run_json`` (the run's provenance) is
    recorded in ``riskmap_runs.runs`` under ``run_id``. ``schema`` is replaced only when it is riskmap's (the
    tables of its last run in ``riskmap_runs.runs``, nothing else) or empty. Another riskmap run publishing to
    the same schema is waited for up to ``lock_wait`` (a PostgreSQL interval); a map server's open transaction
    on the published tables up to the session's ``lock_timeout``.

    Raises
    ------
    OutputError
        No psycopg, no connection, no PostGIS in the database, no right to create schemas, a schema holding
        objects riskmap did not publish, a lock not granted in time; the published schema is then unchanged.
    """
    from riskmap.config.conninfo import conninfo_password
    from riskmap.io.postgis import connect, describe, one_line, require_psycopg

    psycopg = require_psycopg("outputs.postgis", OutputError)
    if conninfo_password(conninfo):
        raise OutputError(
            tr(
                "--postgis/outputs.postgis: a password in the connection string is not allowed; give it through "
                "PGPASSWORD, ~/.pgpass or the service file (pg_service.conf)"
            )
        )
    where = tr("{server}, schema {schema}", server=describe(conninfo), schema=schema)
    conn = connect(conninfo, "outputs.postgis", OutputError)
    try:
        return _publish(conn, schema, layers, styles, run_id, run_json, lock_wait, where)
    except psycopg.errors.LockNotAvailable:
        raise OutputError(_lock_message(conn, schema, where)) from None
    except psycopg.Error as err:
        raise OutputError(tr("{where}: cannot publish: {why}", where=where, why=one_line(err))) from None
    finally:
        conn.close()


def _publish(
    conn: psycopg.Connection[Any],
    schema: str,
    layers: Mapping[str, pd.DataFrame],
    styles: pd.DataFrame,
    run_id: str,
    run_json: Mapping[str, Any],
    lock_wait: str,
    where: str,
) -> dict[str, int]:
    from riskmap.outputs.runfolder import hold_point

    if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None:
        raise OutputError(
            tr("{where}: the database has no PostGIS; run CREATE EXTENSION postgis there", where=where)
        )
    _take_publish_lock(conn, schema, lock_wait, where)
    _drop_stale(conn, schema)
    _check_replaceable(conn, schema, where)  # before the COPY work: refuse at once
    conn.commit()
    staging = f"{schema}_staging_{run_id}"
    try:
        counts = _stage(conn, staging, layers, run_id, hold_point)
        _swap(conn, schema, staging, styles, run_id, run_json, where)
    except BaseException:
        conn.rollback()
        _drop_schema(conn, staging)
        raise
    return counts


def _take_publish_lock(conn: psycopg.Connection[Any], schema: str, lock_wait: str, where: str) -> None:
    """One publisher per schema at a time: wait up to ``lock_wait`` for another one, saying so, then give up."""
    import psycopg

    from riskmap.io.postgis import describe_sessions

    key = f"riskmap:{schema}"
    if conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [key]).fetchone() == (True,):
        return
    holders = describe_sessions(conn, _advisory_holders(conn, key))
    logger.warning(
        tr(
            "{where}: another riskmap run is publishing to schema {schema}; waiting up to {wait} for {holders}",
            where=where,
            schema=schema,
            wait=lock_wait,
            holders=holders,
        )
    )
    conn.execute("SELECT set_config('lock_timeout', %s, true)", [lock_wait])  # this transaction only
    try:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
    except psycopg.errors.LockNotAvailable:
        conn.rollback()
        holders = describe_sessions(conn, _advisory_holders(conn, key))
        raise OutputError(
            tr(
                "{where}: another riskmap run has been publishing to schema {schema} for more than {wait}: "
                "{holders}; wait for it to finish, or end that session if it hangs (SELECT "
                "pg_terminate_backend(pid))",
                where=where,
                schema=schema,
                wait=lock_wait,
                holders=holders,
            )
        ) from None


def _advisory_holders(conn: psycopg.Connection[Any], key: str) -> list[int]:
    """The sessions holding the advisory lock ``hashtext(key)`` (a bigint key: classid high, objid low bits)."""
    rows = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND ((classid::bigint << 32) | objid::bigint) = hashtext(%s)::bigint AND pid <> pg_backend_pid()",
        [key],
    ).fetchall()
    return [r[0] for r in rows]


def _lock_message(conn: psycopg.Connection[Any], schema: str, where: str) -> str:
    """A lock wait ended by lock_timeout: how long, and the sessions holding locks on the published tables."""
    import psycopg

    from riskmap.io.postgis import LOCK_TIMEOUT, describe_sessions

    try:
        conn.rollback()
        waited = conn.execute("SHOW lock_timeout").fetchone()
        pids = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE l.granted AND l.pid <> pg_backend_pid() "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND (n.nspname = %s OR (n.nspname, c.relname) IN (('public', 'layer_styles'), (%s, 'runs'))) "
                "ORDER BY 1",
                [schema, RUNS_SCHEMA],
            ).fetchall()
        ]
        sessions = describe_sessions(conn, pids)
    except psycopg.Error:  # the connection went away meanwhile: say what is known
        waited, sessions = None, tr("sessions riskmap could not list")
    return tr(
        "{where}: waited {wait} (lock_timeout) for sessions using schema {schema}: {sessions}; the published tables "
        "are unchanged. Ask them to end their transaction (a map server or a QGIS/psql session left idle in a "
        "transaction), end it (SELECT pg_terminate_backend(pid)), or give the connection a longer one (options=-c "
        "lock_timeout=60s)",
        where=where,
        wait=waited[0] if waited else LOCK_TIMEOUT,
        schema=schema,
        sessions=sessions,
    )


def _riskmap_run(conn: psycopg.Connection[Any], schema: str) -> str | None:
    """The run that last published ``schema``, from riskmap's runs table (None: riskmap never published it)."""
    if conn.execute("SELECT to_regclass(%s)", [RUNS_TABLE]).fetchone() in (None, (None,)):
        return None
    row = conn.execute(
        f"SELECT run_id FROM {RUNS_TABLE} WHERE published_schema = %s ORDER BY published DESC LIMIT 1",
        [schema],
    ).fetchone()
    return row[0] if row else None


def _foreign_objects(conn: psycopg.Connection[Any], namespace: int, run_id: str | None) -> list[str]:
    """The objects of a schema that are not tables of riskmap's run ``run_id`` (their comment ends with it)."""
    rows = conn.execute(
        "SELECT (SELECT i.type || ' ' || i.identity FROM pg_identify_object(d.classid, d.objid, d.objsubid) i), "
        "c.relkind, obj_description(c.oid, 'pg_class') FROM pg_depend d "
        "LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid "
        "WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = %s AND d.deptype = 'n' ORDER BY 1",
        [namespace],
    ).fetchall()
    mark = f"; run {run_id}" if run_id else None
    return [
        what for what, kind, comment in rows if not (mark and kind == "r" and (comment or "").endswith(mark))
    ]


def _dependents(conn: psycopg.Connection[Any], schema: str) -> list[tuple[str, str]]:
    """Objects outside ``schema`` that depend on its tables (a view, a foreign key, a function taking a row).

    Dropping the tables would drop them too: (what, table) pairs, for the message.
    """
    rows = conn.execute(
        "SELECT DISTINCT i.type || ' ' || i.identity, c.relname FROM pg_depend d "
        "JOIN pg_class c ON c.oid = CASE d.refclassid WHEN 'pg_class'::regclass THEN d.refobjid "
        "WHEN 'pg_type'::regclass THEN (SELECT t.typrelid FROM pg_type t WHERE t.oid = d.refobjid) END "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid "
        "CROSS JOIN LATERAL pg_identify_object(CASE WHEN r.oid IS NULL THEN d.classid "
        "ELSE 'pg_class'::regclass END, coalesce(r.ev_class, d.objid), 0) i "
        "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND d.deptype = 'n' "
        "AND i.schema IS DISTINCT FROM n.nspname ORDER BY 1, 2",
        [schema],
    ).fetchall()
    return [(what, table) for what, table in rows]


def _check_replaceable(conn: psycopg.Connection[Any], schema: str, where: str) -> None:
    """Refuse a schema that is not riskmap's to replace: objects riskmap did not publish, or dependents outside."""
    found = conn.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
    if found is None:
        return
    foreign = _foreign_objects(conn, found[0], _riskmap_run(conn, schema))
    if foreign:
        raise OutputError(
            tr(
                "{where}: schema {schema} holds objects riskmap did not publish ({objects}); riskmap replaces only "
                "a schema it published or an empty one: set postgis_schema to a new name (or move those objects "
                "out of it)",
                where=where,
                schema=schema,
                objects=", ".join(foreign[:10]) + (", ..." if len(foreign) > 10 else ""),
            )
        )
    dependents = [
        tr("{what} depends on {schema}.{table}", what=what, schema=schema, table=table)
        for what, table in _dependents(conn, schema)
    ]
    if dependents:
        raise OutputError(
            tr(
                "{where}: {dependents}; publishing replaces the tables of schema {schema} and would drop it: drop "
                "it before each run and create it again after, or point it at a copy",
                where=where,
                dependents=tr("; ").join(dependents[:10]),
                schema=schema,
            )
        )


def _drop_schema(conn: psycopg.Connection[Any], name: str) -> None:
    from psycopg import sql

    try:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
        conn.commit()
    except Exception:  # the original error matters more; the next run drops it
        logger.warning("could not drop the staging schema %s", name)


def _drop_stale(conn: psycopg.Connection[Any], schema: str) -> None:
    """Staging schemas of killed runs (``<schema>_staging_<run id>``, holding only that run's tables)."""
    rows = conn.execute(
        "SELECT oid, nspname FROM pg_namespace WHERE nspname ~ %s",
        [f"^{schema}_staging_([0-9]{{14}}_[0-9a-f]{{6}})$"],
    ).fetchall()
    for oid, name in rows:
        run_id = name.removeprefix(f"{schema}_staging_")
        if _foreign_objects(conn, oid, run_id):
            logger.warning(
                "%s looks like a staging schema of riskmap but holds other objects: left alone", name
            )
            continue
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
    where: str,
) -> None:
    from psycopg import sql

    conn.execute(_LAYER_STYLES_DDL)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(RUNS_SCHEMA)))
    conn.execute(_RUNS_DDL)
    conn.commit()
    old = f"{schema}_old_{run_id}"
    # One transaction: readers see the old schema or the new one (DDL is transactional in PostgreSQL).
    _check_replaceable(conn, schema, where)  # again: a table may have been added while the layers were copied
    exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()
    if exists:
        _copy_grants(conn, schema, staging)
        conn.execute(
            sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(schema), sql.Identifier(old))
        )
    conn.execute(
        sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(sql.Identifier(staging), sql.Identifier(schema))
    )
    if exists:
        _drop_old(conn, old)
    # Only riskmap's own styles of the schema: a style a user saved for a published table stays.
    descriptions = sorted(set(styles["description"])) if "description" in styles else []
    if descriptions:
        conn.execute(
            "DELETE FROM public.layer_styles WHERE f_table_schema = %s AND description = ANY(%s::text[])",
            [schema, descriptions],
        )
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


def _drop_old(conn: psycopg.Connection[Any], old: str) -> None:
    """Drop the replaced tables and their schema without CASCADE: anything else in the way fails the swap."""
    from psycopg import sql

    tables = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind = 'r' ORDER BY 1",
        [old],
    ).fetchall()
    if tables:
        names = sql.SQL(", ").join(sql.Identifier(old, t) for (t,) in tables)
        conn.execute(sql.SQL("DROP TABLE {}").format(names))
    conn.execute(sql.SQL("DROP SCHEMA {}").format(sql.Identifier(old)))


#: What a schema's or a table's grant may be (aclexplode's privilege_type): checked, never pasted as found.
_PRIVILEGES = frozenset(
    {"USAGE", "CREATE", "SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"}
)


def _grantee(name: str | None) -> Any:
    from psycopg import sql

    return sql.SQL("PUBLIC") if name is None else sql.Identifier(name)


def _copy_grants(conn: psycopg.Connection[Any], schema: str, staging: str) -> None:
    """The published schema's and tables' grants (a map server's role) carried to the new ones."""
    from psycopg import sql

    for grantee, privilege in conn.execute(
        "SELECT r.rolname, a.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) a "
        "LEFT JOIN pg_roles r ON r.oid = a.grantee WHERE n.nspname = %s AND a.grantee <> n.nspowner",
        [schema],
    ).fetchall():
        if privilege in _PRIVILEGES:
            conn.execute(
                sql.SQL("GRANT {} ON SCHEMA {} TO {}").format(
                    sql.SQL(privilege), sql.Identifier(staging), _grantee(grantee)
                )
            )
    for table, grantee, privilege in conn.execute(
        "SELECT c.relname, r.rolname, a.privilege_type FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace CROSS JOIN LATERAL aclexplode(c.relacl) a "
        "LEFT JOIN pg_roles r ON r.oid = a.grantee "
        "WHERE n.nspname = %s AND a.grantee <> c.relowner "
        "AND c.relname IN (SELECT t.relname FROM pg_class t JOIN pg_namespace s ON s.oid = t.relnamespace "
        "WHERE s.nspname = %s)",
        [schema, staging],
    ).fetchall():
        if privilege in _PRIVILEGES:
            conn.execute(
                sql.SQL("GRANT {} ON {} TO {}").format(
                    sql.SQL(privilege), sql.Identifier(staging, table), _grantee(grantee)
                )
            )
