"""Tables and layers from PostgreSQL/PostGIS (a city platform's database), read as files are read.

A configured table with ``path = "postgresql://user@host/db"`` (or ``service = "name"``) and ``layer =
"schema.table"`` or ``sql = "SELECT ..."`` is read here through psycopg (pyogrio's wheels carry no PostgreSQL
driver): attributes as text (as :func:`~riskmap.io.tables.read_table` reads a CSV), the geometry from WKB, the
CRS from its SRID or the project file (:func:`~riskmap.io.vector.declare_crs`, GCJ-02 included). The rows are
read in one READ ONLY transaction, ordered by the primary key, and ``_row`` is that key when it is an integer,
so that a rejects row names the record a user can look up in the platform.

A ``sql`` is data, not a script: it is sent with the extended query protocol (one statement, or PostgreSQL
refuses it), inside ``SELECT * FROM (...)``, in a READ ONLY transaction, on a session whose
``default_transaction_read_only`` is on, so that a ``COMMIT`` in it can neither run nor help. Every session
riskmap opens has a ``lock_timeout`` (:data:`LOCK_TIMEOUT`, unless the connection sets its own) and TCP
keepalives: no wait is endless.

The password never comes from the project file (it is refused there) but from libpq's own places: PGPASSWORD,
~/.pgpass, the service file. Connection problems are one line: host, database and libpq's message, with any
password masked (:func:`~riskmap.config.conninfo.mask_secrets`).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from riskmap.config.conninfo import ConninfoSyntaxError, mask_secrets, parse_conninfo
from riskmap.errors import InputError
from riskmap.i18n import tr
from riskmap.io.tables import READ_WARNINGS, ROW, clean_controls

if TYPE_CHECKING:
    from types import ModuleType

    import geopandas as gpd
    import psycopg

    from riskmap.config.inputs import DatabaseSource

__all__ = [
    "CONNECT_TIMEOUT_S",
    "LOCK_TIMEOUT",
    "connect",
    "describe",
    "describe_sessions",
    "is_database",
    "one_line",
    "read_postgis",
    "require_psycopg",
]

#: Seconds libpq waits to establish a connection (TCP, TLS, authentication) before giving up.
CONNECT_TIMEOUT_S = 10
#: How long a statement waits for a lock another session holds (a map server idle in a transaction, an ALTER
#: TABLE on the platform) before it fails naming that session; a connection's own ``lock_timeout`` (``options=-c
#: lock_timeout=60s`` in it, PGOPTIONS, or the role's or database's setting) wins.
LOCK_TIMEOUT = "10s"
#: TCP keepalives: a server that vanishes mid-query is noticed in about a minute, not after the OS's two hours.
_KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10, "keepalives_count": 3}


def is_database(cfg: object) -> bool:
    """Whether a configured input (``[facilities]``, a table, a zone layer ...) comes from a database."""
    return getattr(cfg, "conninfo", None) is not None


def require_psycopg(what: str, error: type[Exception] = InputError) -> ModuleType:
    """psycopg, or ``error`` saying how to install it (it is an optional dependency)."""
    try:
        import psycopg
    except ImportError:
        raise error(
            tr(
                '{what}: PostgreSQL needs psycopg, which is not installed: pip install "riskmap[postgis]" (or pip '
                'install "psycopg[binary]")',
                what=what,
            )
        ) from None
    return psycopg


def describe(conninfo: str) -> str:
    """The server and database of a connection string, for messages (never the password)."""
    try:
        params = parse_conninfo(conninfo)
    except ConninfoSyntaxError:
        return tr("PostgreSQL (unparsable connection string)")
    if "service" in params and "host" not in params:
        return tr("PostgreSQL service {service}", service=params["service"])
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
    port = params.get("port") or os.environ.get("PGPORT")
    db = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or ""
    return f"PostgreSQL {host}{f':{port}' if port else ''}/{db}"


def one_line(err: BaseException) -> str:
    """The libpq message on one line, without any password it might echo (masked by token)."""
    return mask_secrets(re.sub(r"\s+", " ", str(err)).strip())


def connect(
    conninfo: str, what: str, error: type[Exception] = InputError, *, read_only: bool = False
) -> psycopg.Connection[Any]:
    """Open a connection; a failure is ``error`` in one line naming the server, the database and why.

    The session gets :data:`LOCK_TIMEOUT` unless it has a lock_timeout already; ``read_only`` makes every
    transaction of the session READ ONLY (``default_transaction_read_only``), the next one included.
    """
    psycopg = require_psycopg(what, error)
    try:
        conn = psycopg.connect(
            conninfo, connect_timeout=CONNECT_TIMEOUT_S, application_name="riskmap", **_KEEPALIVES
        )
    except psycopg.Error as err:
        raise error(
            tr(
                "{server}: cannot connect ({what}): {why}",
                server=describe(conninfo),
                what=what,
                why=one_line(err),
            )
        ) from None
    try:
        conn.execute(
            "SELECT set_config('lock_timeout', %s, false) WHERE current_setting('lock_timeout') = '0'",
            [LOCK_TIMEOUT],
        )
        if read_only:
            conn.execute("SELECT set_config('default_transaction_read_only', 'on', false)")
        conn.commit()  # session settings made inside psycopg's implicit transaction: keep them
        conn.read_only = read_only or None
    except psycopg.Error as err:
        conn.close()
        raise error(
            tr(
                "{server}: cannot set up the session ({what}): {why}",
                server=describe(conninfo),
                what=what,
                why=one_line(err),
            )
        ) from None
    return conn


def describe_sessions(conn: psycopg.Connection[Any], pids: list[int]) -> str:
    """Who the sessions ``pids`` are, from pg_stat_activity: pid, user, application, address, state."""
    rows = conn.execute(
        "SELECT pid, usename, application_name, host(client_addr), state, "
        "round(extract(epoch FROM now() - coalesce(state_change, backend_start)))::int "
        "FROM pg_stat_activity WHERE pid = ANY(%s) ORDER BY pid",
        [pids],
    ).fetchall()
    described = []
    for pid, user, app, addr, state, seconds in rows:
        app = app or "-"
        if state is None:  # another role's session: PostgreSQL shows its address only to pg_read_all_stats
            described.append(
                tr(
                    "pid {pid} (user {user}, application {app}, address hidden (grant pg_read_all_stats to see it))",
                    pid=pid,
                    user=user,
                    app=app,
                )
            )
        elif addr:
            described.append(
                tr(
                    "pid {pid} (user {user}, application {app}, from {address}, {state} for {seconds} s)",
                    pid=pid,
                    user=user,
                    app=app,
                    address=addr,
                    state=state,
                    seconds=seconds,
                )
            )
        else:
            described.append(
                tr(
                    "pid {pid} (user {user}, application {app}, from a local socket, {state} for {seconds} s)",
                    pid=pid,
                    user=user,
                    app=app,
                    state=state,
                    seconds=seconds,
                )
            )
    return tr("; ").join(described) or tr("a session that has ended since")


def _split_layer(layer: str) -> tuple[str, str]:
    schema, _, table = layer.rpartition(".")
    return schema or "public", table


def read_postgis(
    cfg: DatabaseSource, *, crs: str | None, where: str, warnings: list[str] | None = None
) -> pd.DataFrame:
    """Read a configured database table (or ``sql``) as a file would be read.

    A table without a geometry column is a :class:`pandas.DataFrame` of text (``""`` for NULL), as a CSV; one
    with a geometry column a :class:`geopandas.GeoDataFrame` in the declared CRS, else its SRID's.

    Raises
    ------
    InputError
        No connection, no such table, a query PostgreSQL refuses (writing in ``sql`` included).
    CRSError
        The geometry has no SRID and the project file declares no CRS.
    """
    psycopg = require_psycopg(where)
    conninfo = cfg.conninfo
    assert conninfo is not None
    layer: str | None = getattr(cfg, "layer", None)
    name = f"pg:{layer}" if layer is not None else "pg:sql"
    where_db = f"{describe(conninfo)}, {name}"
    with connect(conninfo, where, read_only=True) as conn:  # a configured sql cannot change the data
        try:
            with conn.transaction():
                frame = _read(conn, cfg, name, where)
        except psycopg.Error as err:
            raise InputError(_read_error(conn, err, cfg, where, where_db)) from None
    if isinstance(frame, tuple):
        gdf, srid = frame
        return _finish_layer(gdf, srid, name, crs, where, warnings)
    cleaned = clean_controls(frame, name)
    frame.attrs[READ_WARNINGS] = [cleaned] if cleaned else []
    return frame


def _read_error(
    conn: psycopg.Connection[Any], err: Exception, cfg: DatabaseSource, where: str, where_db: str
) -> str:
    """One line for a read PostgreSQL refused: several statements in ``sql``, a lock wait, anything else."""
    from psycopg import errors

    primary = getattr(getattr(err, "diag", None), "message_primary", None) or ""
    several = "multiple commands" in primary or primary == 'syntax error at or near ";"'
    if cfg.sql is not None and isinstance(err, errors.SyntaxError) and several:
        return tr(
            "{source}: sql must be one SELECT statement ({where}.sql); riskmap reads it as SELECT * FROM (<sql>) in "
            "a read-only transaction and PostgreSQL says: {why}",
            source=where_db,
            where=where,
            why=mask_secrets(primary),
        )
    if isinstance(err, errors.LockNotAvailable):
        waited = conn.execute("SHOW lock_timeout").fetchone()
        # A read waits only for an ACCESS EXCLUSIVE lock (ALTER/DROP/TRUNCATE/VACUUM FULL, LOCK TABLE).
        pids = conn.execute(
            "SELECT DISTINCT pid FROM pg_locks WHERE granted AND mode = 'AccessExclusiveLock' "
            "AND locktype = 'relation' AND pid <> pg_backend_pid() "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) ORDER BY 1"
        ).fetchall()
        return tr(
            "{source}: cannot read ({where}): waited {wait} (lock_timeout) for a table another session has locked: "
            "{sessions}; try again when it is done, or give the connection a longer wait: options=-c "
            "lock_timeout=60s",
            source=where_db,
            where=where,
            wait=waited[0] if waited else LOCK_TIMEOUT,
            sessions=describe_sessions(conn, [p for (p,) in pids]),
        )
    return tr("{source}: cannot read ({where}): {why}", source=where_db, where=where, why=one_line(err))


def _run(conn: psycopg.Connection[Any], query: Any, params: Any = None) -> psycopg.Cursor[Any]:
    """Execute with the extended query protocol (prepared): one statement only, whatever the text holds.

    psycopg sends a query without parameters as a simple query, which runs every statement in it.
    """
    return conn.execute(query, params, prepare=True)


def _table_oid(conn: psycopg.Connection[Any], schema: str, table: str, where: str) -> int:
    """The oid of ``schema.table`` (names as data, exactly as written), or an error listing the schema's tables."""
    found = _run(
        conn,
        "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'v', 'm', 'p', 'f')",
        [schema, table],
    ).fetchone()
    if found is not None:
        return int(found[0])
    tables = [
        r[0]
        for r in _run(
            conn,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
            [schema],
        )
    ]
    server = describe(conn.info.dsn)
    if tables:
        raise InputError(
            tr(
                "{server}: no table or view {schema}.{table} ({where}.layer); schema {schema} has: {tables}",
                server=server,
                schema=schema,
                table=table,
                where=where,
                tables=", ".join(tables[:20]),
            )
        )
    raise InputError(
        tr(
            "{server}: no table or view {schema}.{table} ({where}.layer); no tables in schema {schema}",
            server=server,
            schema=schema,
            table=table,
            where=where,
        )
    )


def _read(conn: psycopg.Connection[Any], cfg: DatabaseSource, name: str, where: str) -> Any:
    from psycopg import sql

    key = cfg.key
    if cfg.sql is not None:
        # Line breaks around the text: a trailing "-- comment" in it cannot swallow the closing parenthesis.
        text = cfg.sql.rstrip().rstrip(";")
        source: sql.Composable = sql.SQL("(\n{}\n) AS riskmap_q").format(sql.SQL(text))
    else:
        layer: str | None = getattr(cfg, "layer", None)
        assert layer is not None
        schema, table = _split_layer(layer)
        oid = _table_oid(conn, schema, table, where)
        source = sql.Identifier(schema, table)
        if key is None:
            key = _primary_key(conn, oid)
    cur = _run(conn, sql.SQL("SELECT * FROM {} LIMIT 0").format(source))
    assert cur.description is not None
    columns = [(d.name, d.type_code) for d in cur.description]
    names = [c for c, _ in columns]
    if key is not None and key not in names:
        raise InputError(
            tr(
                "{source}: no column {key!r} ({where}.key); the columns are: {columns}",
                source=name,
                key=key,
                where=where,
                columns=", ".join(names),
            )
        )
    geometry_oid = _run(conn, "SELECT to_regtype('geometry')::oid").fetchone()
    geom = next((c for c, t in columns if geometry_oid and t == geometry_oid[0]), None)
    select = [
        sql.SQL("ST_AsBinary({})").format(sql.Identifier(c))
        if c == geom
        else sql.SQL("{}::text").format(sql.Identifier(c))
        for c in names
    ]
    order = sql.SQL(" ORDER BY {}").format(sql.Identifier(key)) if key is not None else sql.SQL("")
    query = sql.SQL("SELECT {} FROM {}{}").format(sql.SQL(", ").join(select), source, order)
    rows = _run(conn, query).fetchall()
    df = pd.DataFrame(rows, columns=names, dtype=object)
    text_columns = [c for c in names if c != geom]
    df[text_columns] = df[text_columns].fillna("").astype(str).apply(lambda col: col.str.strip())
    df.insert(0, ROW, _row_numbers(df[key] if key is not None else None, len(df)))
    if geom is None:
        return df
    srid = _run(
        conn,
        sql.SQL("SELECT ST_SRID({g}) FROM {s} WHERE {g} IS NOT NULL LIMIT 1").format(
            g=sql.Identifier(geom), s=source
        ),
    ).fetchone()
    return df.rename(columns={geom: "geometry"}), (srid[0] if srid else 0)


def _primary_key(conn: psycopg.Connection[Any], oid: int) -> str | None:
    """The table's one-column primary key, from the catalog (None for views and composite keys)."""
    rows = _run(
        conn,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
        "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = %s AND i.indisprimary",
        [oid],
    ).fetchall()
    return rows[0][0] if len(rows) == 1 else None


def _row_numbers(keys: pd.Series | None, n: int) -> Any:
    """``_row``: the integer key (rows are read in key order), else the position in key (or table) order."""
    if keys is not None:
        numbers = pd.to_numeric(keys, errors="coerce")
        if numbers.notna().all() and (numbers % 1 == 0).all() and numbers.is_unique:
            return numbers.astype("int64").to_numpy()
    return range(1, n + 1)


def _finish_layer(
    df: pd.DataFrame, srid: int, name: str, crs: str | None, where: str, warnings: list[str] | None
) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import shapely

    from riskmap.io.vector import declare_crs

    wkb = df["geometry"].map(lambda b: bytes(b) if b is not None else None).to_numpy()
    geometry = shapely.from_wkb(wkb)
    gdf = gpd.GeoDataFrame(df.drop(columns="geometry"), geometry=geometry, crs=srid or None)
    gdf = declare_crs(gdf, name, crs, where, warnings)
    cleaned = clean_controls(gdf, name)
    gdf.attrs[READ_WARNINGS] = [cleaned] if cleaned else []
    return gdf
