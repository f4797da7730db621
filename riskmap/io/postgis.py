"""Tables and layers from PostgreSQL/PostGIS (a city platform's database), read as files are read.

A configured table with ``path = "postgresql://user@host/db"`` (or ``service = "name"``) and ``layer =
"schema.table"`` or ``sql = "SELECT ..."`` is read here through psycopg (pyogrio's wheels carry no PostgreSQL
driver): attributes as text (as :func:`~riskmap.io.tables.read_table` reads a CSV), the geometry from WKB, the
CRS from its SRID or the project file (:func:`~riskmap.io.vector.declare_crs`, GCJ-02 included). The rows are
read in one READ ONLY transaction, ordered by the primary key, and ``_row`` is that key when it is an integer,
so that a rejects row names the record a user can look up in the platform.

The password never comes from the project file (it is refused there) but from libpq's own places: PGPASSWORD,
~/.pgpass, the service file. Connection problems are one line: host, database and libpq's message.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from riskmap.errors import InputError
from riskmap.io.tables import READ_WARNINGS, ROW, clean_controls

if TYPE_CHECKING:
    import geopandas as gpd
    import psycopg

    from riskmap.config.inputs import DatabaseSource

__all__ = ["connect", "describe", "one_line", "read_postgis", "is_database"]


def is_database(cfg: object) -> bool:
    """Whether a configured input (``[facilities]``, a table, a zone layer ...) comes from a database."""
    return getattr(cfg, "conninfo", None) is not None


def describe(conninfo: str) -> str:
    """The server and database of a connection string, for messages (never the password)."""
    import psycopg.conninfo

    try:
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "PostgreSQL (unparsable connection string)"
    if "service" in params and "host" not in params:
        return f"PostgreSQL service {params['service']}"
    host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
    port = params.get("port") or os.environ.get("PGPORT")
    db = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or ""
    return f"PostgreSQL {host}{f':{port}' if port else ''}/{db}"


def one_line(err: BaseException) -> str:
    """The libpq message on one line, without any password it might echo."""
    text = re.sub(r"\s+", " ", str(err)).strip()
    secret = os.environ.get("PGPASSWORD")
    return text.replace(secret, "***") if secret else text


def connect(conninfo: str, what: str, error: type[Exception] = InputError) -> psycopg.Connection[Any]:
    """Open a connection; a failure is ``error`` in one line naming the server, the database and why."""
    try:
        import psycopg
    except ImportError:  # an optional dependency: say how to get it
        raise error(f"{what}: reading PostgreSQL needs psycopg; pip install 'psycopg[binary]'") from None
    try:
        return psycopg.connect(conninfo, connect_timeout=10, application_name="riskmap")
    except psycopg.Error as err:
        raise error(f"{describe(conninfo)}: cannot connect ({what}): {one_line(err)}") from None


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
    import psycopg

    conninfo = cfg.conninfo
    assert conninfo is not None
    layer: str | None = getattr(cfg, "layer", None)
    name = f"pg:{layer}" if layer is not None else "pg:sql"
    where_db = f"{describe(conninfo)}, {name}"
    with connect(conninfo, where) as conn:
        conn.read_only = True  # a configured sql cannot change the platform's data
        try:
            with conn.transaction():
                frame = _read(conn, cfg, name, where)
        except psycopg.Error as err:
            raise InputError(f"{where_db}: cannot read ({where}): {one_line(err)}") from None
    if isinstance(frame, tuple):
        gdf, srid = frame
        return _finish_layer(gdf, srid, name, crs, where, warnings)
    cleaned = clean_controls(frame, name)
    frame.attrs[READ_WARNINGS] = [cleaned] if cleaned else []
    return frame


def _read(conn: psycopg.Connection[Any], cfg: DatabaseSource, name: str, where: str) -> Any:
    from psycopg import sql

    key = cfg.key
    if cfg.sql is not None:
        source: sql.Composable = sql.SQL("({}) AS riskmap_q").format(sql.SQL(cfg.sql.rstrip().rstrip(";")))
    else:
        layer: str | None = getattr(cfg, "layer", None)
        assert layer is not None
        schema, table = _split_layer(layer)
        found = conn.execute("SELECT to_regclass(%s)::oid", [f'"{schema}"."{table}"']).fetchone()
        if found is None or found[0] is None:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = %s ORDER BY 1",
                    [schema],
                )
            ]
            has = (
                f"schema {schema} has: {', '.join(tables[:20])}"
                if tables
                else f"no tables in schema {schema}"
            )
            raise InputError(
                f"{describe(conn.info.dsn)}: no table or view {schema}.{table} ({where}.layer); {has}"
            )
        source = sql.Identifier(schema, table)
        if key is None:
            key = _primary_key(conn, found[0])
    cur = conn.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(source))
    assert cur.description is not None
    columns = [(d.name, d.type_code) for d in cur.description]
    names = [c for c, _ in columns]
    if key is not None and key not in names:
        raise InputError(f"{name}: no column {key!r} ({where}.key); the columns are: {', '.join(names)}")
    geometry_oid = conn.execute("SELECT to_regtype('geometry')::oid").fetchone()
    geom = next((c for c, t in columns if geometry_oid and t == geometry_oid[0]), None)
    select = [
        sql.SQL("ST_AsBinary({})").format(sql.Identifier(c))
        if c == geom
        else sql.SQL("{}::text").format(sql.Identifier(c))
        for c in names
    ]
    order = sql.SQL(" ORDER BY {}").format(sql.Identifier(key)) if key is not None else sql.SQL("")
    query = sql.SQL("SELECT {} FROM {}{}").format(sql.SQL(", ").join(select), source, order)
    rows = conn.execute(query).fetchall()
    df = pd.DataFrame(rows, columns=names, dtype=object)
    text = [c for c in names if c != geom]
    df[text] = df[text].fillna("").astype(str).apply(lambda col: col.str.strip())
    df.insert(0, ROW, _row_numbers(df[key] if key is not None else None, len(df)))
    if geom is None:
        return df
    srid = conn.execute(
        sql.SQL("SELECT ST_SRID({g}) FROM {s} WHERE {g} IS NOT NULL LIMIT 1").format(
            g=sql.Identifier(geom), s=source
        )
    ).fetchone()
    return df.rename(columns={geom: "geometry"}), (srid[0] if srid else 0)


def _primary_key(conn: psycopg.Connection[Any], oid: int) -> str | None:
    """The table's one-column primary key, from the catalog (None for views and composite keys)."""
    rows = conn.execute(
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
