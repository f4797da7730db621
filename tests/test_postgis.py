"""PostGIS inputs and outputs against a real PostgreSQL 15 + PostGIS 3 (the cluster of tests/pg.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

import riskmap
from riskmap.config import load_config
from riskmap.errors import InputError, OutputError
from riskmap.io.project import read_inputs
from riskmap.pipeline import check
from riskmap.pipeline import run as run_pipeline
from tests.pg import PASSWORD, Cluster, pg_cluster  # noqa: F401 - the session fixture

DEMO = riskmap.demo_dir()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo_db(pg_cluster: Cluster) -> Cluster:  # noqa: F811
    """The demo's facilities (a table with lon/lat) and zone layers (geometries) in schema ``platform``."""
    from riskmap.outputs.postgis import copy_frame

    facilities = pd.read_csv(DEMO / "facilities.csv", dtype=str, keep_default_na=False)
    with pg_cluster.connect() as conn:
        conn.execute("DROP SCHEMA IF EXISTS platform CASCADE")
        conn.execute("CREATE SCHEMA platform")
        copy_frame(conn, "platform", "enterprises", facilities)
        for kind in ("village", "town"):
            copy_frame(conn, "platform", kind, pyogrio.read_dataframe(DEMO / "boundaries.gpkg", layer=kind))
    return pg_cluster


def _pg_project(tmp: Path, url: str, *, facilities: str | None = None, zones: bool = True) -> Path:
    """The demo project with its facilities (and zones) read from the database."""
    text = (DEMO / "riskmap.toml").read_text(encoding="utf-8")
    fac = facilities or f'path = "{url}"\nlayer = "platform.enterprises"'
    text = text.replace('[facilities]\npath = "facilities.csv"', f"[facilities]\n{fac}")
    if zones:
        for kind in ("village", "town"):
            text = text.replace(
                f'path = "boundaries.gpkg"\nlayer = "{kind}"', f'path = "{url}"\nlayer = "platform.{kind}"'
            )
    for name in [p.name for p in DEMO.iterdir() if p.is_file() and p.name != "riskmap.toml"]:
        text = text.replace(f'= "{name}"', f'= "{(DEMO / name).as_posix()}"')
    project = tmp / "riskmap.toml"
    project.write_text(text, encoding="utf-8")
    return project


@pytest.fixture
def pgpassword(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", PASSWORD)


def test_demo_from_postgis_gives_the_levels_of_the_files(
    demo_db: Cluster, tmp_path: Path, pgpassword
) -> None:
    config = load_config(_pg_project(tmp_path, demo_db.url))
    inputs = read_inputs(config)
    assert inputs.source == "pg:platform.enterprises"
    assert "facilities" not in inputs.paths  # no file to hash
    from_db = check(config)
    from_files = check(load_config(DEMO / "riskmap.toml"))
    levels = from_db.facilities.set_index("facility_id")["level"].sort_index()
    assert levels.equals(from_files.facilities.set_index("facility_id")["level"].sort_index())
    for kind in ("village", "town"):
        a = from_db.zones[kind].set_index("zone_code")["level"].sort_index()
        assert a.equals(from_files.zones[kind].set_index("zone_code")["level"].sort_index())
    # The rejects name the table and its primary key (fid = position + 1 here, the CSV line - 1).
    rejected = from_db.rejects[from_db.rejects["source"] == "pg:platform.enterprises"]
    on_file = from_files.rejects[from_files.rejects["source"] == "facilities.csv"]
    assert len(rejected) == len(on_file) > 0
    assert sorted(rejected["row"].astype(int)) == sorted(on_file["row"].astype(int) - 1)


def test_sql_source_reads_read_only(demo_db: Cluster, tmp_path: Path, pgpassword) -> None:
    sql = 'sql = "SELECT * FROM platform.enterprises WHERE fid <= 50"\nkey = "fid"'
    config = load_config(_pg_project(tmp_path, demo_db.url, facilities=f'path = "{demo_db.url}"\n{sql}'))
    assert len(read_inputs(config).facilities) == 50
    writing = f'path = "{demo_db.url}"\nsql = "DELETE FROM platform.enterprises RETURNING *"'
    config = load_config(_pg_project(tmp_path, demo_db.url, facilities=writing))
    with pytest.raises(InputError, match=r"pg:sql：无法读取（facilities）：.*"):
        read_inputs(config)
    with demo_db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM platform.enterprises").fetchone()[0] > 50


def test_gcj02_table_is_converted(demo_db: Cluster, tmp_path: Path, pgpassword) -> None:
    from riskmap.io.crs import shift_geometries
    from riskmap.outputs.postgis import copy_frame

    village = pyogrio.read_dataframe(DEMO / "boundaries.gpkg", layer="village").to_crs("EPSG:4326")
    shifted = village.set_geometry(shift_geometries(village.geometry.to_numpy(), "GCJ-02"), crs="EPSG:4326")
    with demo_db.connect() as conn:
        conn.execute("DROP TABLE IF EXISTS platform.village_gcj")
        copy_frame(conn, "platform", "village_gcj", shifted)
    text = _pg_project(tmp_path, demo_db.url).read_text(encoding="utf-8")
    text = text.replace('layer = "platform.village"', 'layer = "platform.village_gcj"\ncrs = "GCJ-02"')
    (tmp_path / "riskmap.toml").write_text(text, encoding="utf-8")
    zones = read_inputs(load_config(tmp_path / "riskmap.toml")).zones["village"]
    truth = village.to_crs("EPSG:4490").sort_values("code").reset_index(drop=True)
    import shapely

    gap = shapely.distance(shapely.centroid(zones.geometry.values), shapely.centroid(truth.geometry.values))
    assert gap.max() < 1e-4  # ~10 m; the GCJ-02 shift is ~500 m


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"PGPASSWORD": "wrong"},
            r"PostgreSQL 127\.0\.0\.1:\d+/platform：无法连接（facilities）：.*password",
        ),
        ({"port": True}, r"PostgreSQL 127\.0\.0\.1:\d+/platform：无法连接（facilities）：.*"),
        (
            {"layer": "platform.nope"},
            r"没有表或视图 platform\.nope（facilities\.layer）；模式 platform 中有：",
        ),
    ],
    ids=["wrong-password", "unreachable", "missing-table"],
)
def test_connection_problems_are_one_line(demo_db: Cluster, tmp_path: Path, change, expected) -> None:
    url = demo_db.url
    if change.get("port"):
        url = url.replace(f":{demo_db.port}/", f":{_closed_port()}/")
    layer = change.get("layer", "platform.enterprises")
    project = _pg_project(tmp_path, url, facilities=f'path = "{url}"\nlayer = "{layer}"', zones=False)
    env = {**os.environ, "PGPASSWORD": change.get("PGPASSWORD", PASSWORD), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "riskmap", "validate", str(project)], capture_output=True, text=True, env=env
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "PostgreSQL" in ln or "pg:" in ln]
    assert lines and any(__import__("re").search(expected, ln) for ln in lines), proc.stdout + proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_password_in_project_file_is_refused(tmp_path: Path, pg_cluster: Cluster) -> None:  # noqa: F811
    from riskmap.errors import ConfigError

    url = pg_cluster.url.replace("riskmap@", f"riskmap:{PASSWORD}@")
    project = _pg_project(tmp_path, url, zones=False)
    with pytest.raises(ConfigError, match=r"PGPASSWORD 环境变量、~/\.pgpass 或服务文件") as err:
        load_config(project)
    assert PASSWORD not in str(err.value)
    data = {"postgis": url}
    with pytest.raises(ConfigError, match="postgis：项目文件中不允许写密码") as err:
        from riskmap.config import config_from_dict

        config_from_dict({"facilities": {"path": "f.csv"}, "zones": [], "outputs": data})
    assert PASSWORD not in str(err.value)


def _published(cluster: Cluster, schema: str = "riskmap") -> dict[str, int]:
    with cluster.connect() as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
        ).fetchall()
        return {
            t: conn.execute(f'SELECT count(*) FROM "{schema}"."{t}"').fetchone()[0] for (t,) in sorted(rows)
        }


def test_run_publishes_layers_with_keys_indexes_styles_and_provenance(
    demo_db: Cluster, tmp_path: Path, pgpassword
) -> None:
    config = load_config(DEMO / "riskmap.toml")
    config = config.model_copy(
        update={"outputs": config.outputs.model_copy(update={"postgis": demo_db.url, "html": False})}
    )
    result = run_pipeline(config, tmp_path / "out")
    counts = _published(demo_db)
    assert counts["facilities"] == len(result.facilities)
    assert counts["rejects"] == len(result.rejects)
    assert counts["inspection_plan"] == len(result.plan.plan)
    assert counts["zones_village"] == len(result.zones["village"])
    url = f"PG:host=127.0.0.1 port={demo_db.port} dbname=platform user=riskmap password={PASSWORD}"
    del url  # pyogrio's wheel has no PG driver: read back with psycopg and shapely
    with demo_db.connect() as conn:
        back = gpd.read_postgis(
            "SELECT facility_id, level, geom FROM riskmap.facilities ORDER BY fid", conn, geom_col="geom"
        )
        assert back.crs.to_epsg() == 4490
        mine = result.facilities.reset_index(drop=True)
        assert back["level"].tolist() == mine["level"].tolist()
        assert back.geometry.geom_equals_exact(mine.geometry, 1e-9).all()
        pk = conn.execute(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'riskmap' AND i.indisprimary"
        ).fetchone()[0]
        assert pk == len(counts)
        gist = conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = 'riskmap' AND indexdef LIKE '%gist%'"
        )
        assert gist.fetchone()[0] == len(counts) - 1  # every layer but the rejects table
        comment = conn.execute("SELECT obj_description('riskmap.facilities'::regclass)").fetchone()[0]
        assert comment.startswith("riskmap: scored enterprises")
        styles = conn.execute(
            "SELECT f_table_name, f_geometry_column, useasdefault, styleqml::text FROM public.layer_styles "
            "WHERE f_table_schema = 'riskmap' ORDER BY 1"
        ).fetchall()
        assert [s[0] for s in styles] == ["facilities", "inspection_plan", "zones_town", "zones_village"]
        assert all(s[1] == "geom" and s[2] and "categorizedSymbol" in s[3] for s in styles)
        run_id = (
            result.outputs
            and __import__("json").loads(result.outputs["run_json"].read_text())["postgis"]["run_id"]
        )
        doc = conn.execute("SELECT run_json FROM riskmap_runs.runs WHERE run_id = %s", [run_id]).fetchone()[0]
        assert doc["provenance"]["config_hash"] and doc["summary"]


def _publish_cli(project: Path, out: Path, url: str, env: dict[str, str], **popen) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "riskmap", "run", str(project), "--out", str(out), "--postgis", url],
        env={**os.environ, "PYTHONPATH": str(REPO), "PGPASSWORD": PASSWORD, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def _tiny_pg(tiny_project: Path, url: str) -> Path:
    text = tiny_project.read_text(encoding="utf-8").replace("[outputs]", "[outputs]\nhtml = false", 1)
    if "[outputs]" not in text:
        text += "\n[outputs]\nhtml = false\nfigure = false\n"
    tiny_project.write_text(text, encoding="utf-8")
    return tiny_project


def test_killed_run_leaves_the_published_tables(demo_db: Cluster, tiny_project: Path, tmp_path: Path) -> None:
    project = _tiny_pg(tiny_project, demo_db.url)
    first = _publish_cli(project, tmp_path / "a", demo_db.url, {})
    assert first.wait(timeout=300) == 0, first.stderr.read()
    before = _published(demo_db)
    hold = tmp_path / "hold"
    hold.write_text("")
    env = {"RISKMAP_TEST_HOLD_AT": "postgis-staging", "RISKMAP_TEST_HOLD_FILE": str(hold)}
    proc = _publish_cli(DEMO / "riskmap.toml", tmp_path / "b", demo_db.url, env)
    deadline = time.monotonic() + 300
    while not Path(f"{hold}.reached").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert Path(f"{hold}.reached").exists(), proc.stderr.read() if proc.poll() is not None else "timeout"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _published(demo_db) == before  # the tiny district, not half of the demo
    with demo_db.connect() as conn:
        staging = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'riskmap\\_staging\\_%'")
        assert staging.fetchone()[0] == 1  # left by the killed run ...
    again = _publish_cli(project, tmp_path / "c", demo_db.url, {})
    assert again.wait(timeout=300) == 0
    with demo_db.connect() as conn:
        staging = conn.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'riskmap\\_staging\\_%'")
        assert staging.fetchone()[0] == 0  # ... and dropped by the next one


def test_reader_never_sees_half_a_schema(demo_db: Cluster, tiny_project: Path, tmp_path: Path) -> None:
    project = _tiny_pg(tiny_project, demo_db.url)
    assert _publish_cli(project, tmp_path / "a", demo_db.url, {}).wait(timeout=300) == 0
    tiny = _published(demo_db)
    seen: list[tuple[int, int] | str] = []
    stop = threading.Event()

    def read() -> None:
        with demo_db.connect() as conn:
            while not stop.is_set():
                try:
                    with conn.transaction():
                        f = conn.execute("SELECT count(*) FROM riskmap.facilities").fetchone()[0]
                        r = conn.execute("SELECT count(*) FROM riskmap.rejects").fetchone()[0]
                    seen.append((f, r))
                except Exception as err:  # noqa: BLE001 - any error is a failure, reported below
                    seen.append(repr(err))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        demo = _publish_cli(DEMO / "riskmap.toml", tmp_path / "b", demo_db.url, {})
        assert demo.wait(timeout=600) == 0, demo.stderr.read()
        time.sleep(0.2)
    finally:
        stop.set()
        reader.join()
    full = _published(demo_db)
    allowed = {(tiny["facilities"], tiny["rejects"]), (full["facilities"], full["rejects"])}
    errors = [s for s in seen if isinstance(s, str)]
    assert not errors, errors[:3]
    assert set(seen) <= allowed and (full["facilities"], full["rejects"]) in set(seen)


def test_publish_refuses_password_and_reports_unreachable(tmp_path: Path, pg_cluster: Cluster) -> None:  # noqa: F811
    import geopandas as gpd

    from riskmap.outputs.postgis import publish_postgis

    empty = gpd.GeoDataFrame()
    with pytest.raises(OutputError, match="连接字符串中不允许写密码"):
        publish_postgis(f"postgresql://u:{PASSWORD}@h/db", "riskmap", {}, empty, "x", {})
    with pytest.raises(OutputError, match=r"PostgreSQL 127\.0\.0\.1:\d+/db：无法连接（outputs\.postgis）"):
        publish_postgis(f"postgresql://u@127.0.0.1:{_closed_port()}/db", "riskmap", {}, empty, "x", {})


def test_password_never_appears_anywhere(demo_db: Cluster, tmp_path: Path) -> None:
    project = _pg_project(tmp_path, demo_db.url)
    out = tmp_path / "out"
    proc = _publish_cli(project, out, demo_db.url, {})
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert any(p.name == "run.json" for p in files) and any(p.suffix == ".gpkg" for p in files)
    for p in [*files, *tmp_path.rglob("riskmap-crash*")]:
        assert PASSWORD.encode() not in p.read_bytes(), p
    assert PASSWORD not in stdout + stderr
    with demo_db.connect() as conn:
        rows = conn.execute("SELECT run_json::text FROM riskmap_runs.runs").fetchall()
        assert rows and all(PASSWORD not in r[0] for r in rows)
        styles = conn.execute("SELECT string_agg(styleqml::text, '') FROM public.layer_styles").fetchone()[0]
        assert PASSWORD not in styles


def test_postgis_option_works_with_sensitivity_variants(
    pg_cluster: Cluster,  # noqa: F811
    tiny_project: Path,
    tmp_path: Path,
    pgpassword,
) -> None:
    """--postgis is a command-line override: a project with [[sensitivity.variants]] takes it too."""
    from typer.testing import CliRunner

    from riskmap.cli import app

    project = _tiny_pg(tiny_project, pg_cluster.url)
    project.write_text(
        project.read_text(encoding="utf-8")
        + '\n[[sensitivity.variants]]\nname = "LS variant"\nset = { "methods.ls_matrix.preset" = "variant" }\n',
        encoding="utf-8",
    )
    schema = "riskmap_variants"
    with pg_cluster.connect() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    text = project.read_text(encoding="utf-8").replace(
        "[outputs]\n", f'[outputs]\npostgis_schema = "{schema}"\n', 1
    )
    project.write_text(text, encoding="utf-8")
    r = CliRunner().invoke(
        app, ["run", str(project), "--out", str(tmp_path / "o"), "--postgis", pg_cluster.url]
    )
    assert r.exit_code == 0, r.output
    assert _published(pg_cluster, schema)["facilities"] == 6


# ---------------------------------------------------------------------------------------------------------------
# Issue 23: a `sql` cannot end its read-only transaction; publishing replaces only what is riskmap's and never
# waits forever; no password is ever shown. Issue 24: no psycopg, a wrong password once per connection.

#: Closes the wrapping parenthesis, commits the READ ONLY transaction and deletes rows (issue 23's payload).
COMMIT_PAYLOAD = "SELECT 1 AS x) AS x; COMMIT; DELETE FROM platform.enterprises; SELECT * FROM (SELECT * FROM platform.enterprises"


def _count(cluster: Cluster, table: str) -> int:
    with cluster.connect() as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def _cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "riskmap", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(REPO), "PGPASSWORD": PASSWORD, **(env or {})},
    )


def _outcome_within(fn, seconds: float, waiting_for: str) -> object:
    """``fn()``'s result or exception, from a thread that must end within ``seconds`` (today's bug: never)."""
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(fn())
        except BaseException as err:  # noqa: BLE001 - the caller checks what it got
            outcome.append(err)

    worker = threading.Thread(target=call, daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    assert not worker.is_alive(), f"still waiting for {waiting_for} after {seconds:g} s"
    return outcome[0]


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        (COMMIT_PAYLOAD, r"pg:sql：sql 须为单条 SELECT 语句（facilities\.sql）"),
        ("SELECT 1; SELECT 2", r"pg:sql：sql 须为单条 SELECT 语句（facilities\.sql）"),
        (
            "SELECT * FROM platform.enterprises WHERE set_config('transaction_read_only', 'off', false) > ''",
            r"pg:sql：无法读取（facilities）：transaction read-write mode must be set before any query",
        ),
        (
            "SELECT *, nextval('platform.counter') FROM platform.enterprises",
            r"pg:sql：无法读取（facilities）：cannot execute nextval\(\) in a read-only transaction",
        ),
    ],
    ids=["commit-payload", "two-statements", "read-write-inside", "nextval"],
)
def test_sql_cannot_end_its_read_only_transaction(
    demo_db: Cluster, tmp_path: Path, pgpassword, sql, says
) -> None:
    with demo_db.connect() as conn:
        conn.execute("CREATE SEQUENCE IF NOT EXISTS platform.counter")
        counter = conn.execute("SELECT last_value FROM platform.counter").fetchone()[0]
    before = _count(demo_db, "platform.enterprises")
    toml_sql = sql.replace("\\", "\\\\").replace('"', '\\"')
    facilities = f'path = "{demo_db.url}"\nsql = "{toml_sql}"'
    config = load_config(_pg_project(tmp_path, demo_db.url, facilities=facilities, zones=False))
    with pytest.raises(InputError, match=says) as err:
        read_inputs(config)
    assert "\n" not in str(err.value)
    assert _count(demo_db, "platform.enterprises") == before
    with demo_db.connect() as conn:
        assert conn.execute("SELECT last_value FROM platform.counter").fetchone()[0] == counter


def test_sql_commit_payload_through_validate_is_one_error_line(demo_db: Cluster, tmp_path: Path) -> None:
    before = _count(demo_db, "platform.enterprises")
    facilities = f'path = "{demo_db.url}"\nsql = "{COMMIT_PAYLOAD}"'
    project = _pg_project(tmp_path, demo_db.url, facilities=facilities, zones=False)
    proc = _cli("validate", str(project))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out
    lines = [ln for ln in out.splitlines() if "pg:sql" in ln]
    assert len(lines) == 1 and "sql 须为单条 SELECT 语句" in lines[0], out
    assert _count(demo_db, "platform.enterprises") == before


def test_sql_with_a_trailing_comment_is_read(demo_db: Cluster, tmp_path: Path, pgpassword) -> None:
    sql = "SELECT * FROM platform.enterprises WHERE fid <= 5 -- the first five"
    facilities = f'path = "{demo_db.url}"\nsql = "{sql}"\nkey = "fid"'
    config = load_config(_pg_project(tmp_path, demo_db.url, facilities=facilities, zones=False))
    assert len(read_inputs(config).facilities) == 5


def test_a_layer_name_with_quotes_is_data(demo_db: Cluster, tmp_path: Path, pgpassword) -> None:
    """A table named with a double quote and a semicolon is found as a name, never read as SQL."""
    odd = 'odd"; DROP TABLE enterprises; --'
    with demo_db.connect() as conn:
        from psycopg import sql as psql

        conn.execute(psql.SQL("DROP TABLE IF EXISTS {}").format(psql.Identifier("platform", odd)))
        conn.execute(
            psql.SQL("CREATE TABLE {} AS SELECT * FROM platform.enterprises LIMIT 3").format(
                psql.Identifier("platform", odd)
            )
        )
    layer = "platform." + odd.replace('"', '\\"')
    config = load_config(
        _pg_project(
            tmp_path, demo_db.url, facilities=f'path = "{demo_db.url}"\nlayer = "{layer}"', zones=False
        )
    )
    assert len(read_inputs(config).facilities) == 3
    assert _count(demo_db, "platform.enterprises") > 3


def _publish_in_process(project: Path, out: Path, url: str, schema: str = "riskmap", **outputs: object):
    config = load_config(project)
    update = {"postgis": url, "postgis_schema": schema, "html": False, **outputs}
    config = config.model_copy(update={"outputs": config.outputs.model_copy(update=update)})
    return run_pipeline(config, out)


def _users_schema(cluster: Cluster, schema: str, table: str | None = None) -> None:
    """A schema of the writer's own, fresh, with one table of its own (or empty)."""
    with cluster.connect() as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
        if table:
            conn.execute(f"CREATE TABLE {schema}.{table} AS SELECT 1 AS id")


def test_publish_refuses_a_schema_that_is_not_riskmaps(
    demo_db: Cluster, tiny_project: Path, tmp_path: Path, pgpassword
) -> None:
    _users_schema(demo_db, "gisdata", "roads")
    with pytest.raises(
        OutputError,
        match=r"模式 gisdata 中有不是 riskmap 发布的对象（table gisdata\.roads）；riskmap 只替换自己发布的模式或空模式："
        r"请把 postgis_schema 设为新名称",
    ):
        _publish_in_process(tiny_project, tmp_path / "a", demo_db.url, "gisdata")
    assert _count(demo_db, "gisdata.roads") == 1
    assert not (tmp_path / "a" / "run.json").exists()  # the run failed as a whole


def test_publish_into_an_empty_schema_then_refuse_a_table_added_to_it(
    demo_db: Cluster, tiny_project: Path, tmp_path: Path, pgpassword
) -> None:
    _users_schema(demo_db, "maps")  # empty: riskmap may take it
    _publish_in_process(tiny_project, tmp_path / "a", demo_db.url, "maps")
    assert _published(demo_db, "maps")["facilities"] > 0
    _publish_in_process(tiny_project, tmp_path / "b", demo_db.url, "maps")  # its own: replaced
    with demo_db.connect() as conn:
        conn.execute("CREATE TABLE maps.my_notes (note text)")
        conn.execute("INSERT INTO maps.my_notes VALUES ('keep me')")
    with pytest.raises(OutputError, match=r"模式 maps 中有不是 riskmap 发布的对象（table maps\.my_notes）"):
        _publish_in_process(tiny_project, tmp_path / "c", demo_db.url, "maps")
    assert _count(demo_db, "maps.my_notes") == 1
    with demo_db.connect() as conn:
        conn.execute("DROP TABLE maps.my_notes")


def test_publish_refuses_to_drop_a_view_on_its_tables(
    demo_db: Cluster, tiny_project: Path, tmp_path: Path, pgpassword
) -> None:
    _publish_in_process(tiny_project, tmp_path / "a", demo_db.url, "riskmap_v")
    with demo_db.connect() as conn:
        conn.execute("DROP VIEW IF EXISTS public.red_enterprises")
        conn.execute(
            "CREATE VIEW public.red_enterprises AS SELECT * FROM riskmap_v.facilities WHERE level = 'red'"
        )
    with pytest.raises(
        OutputError, match=r"view public\.red_enterprises 依赖于 riskmap_v\.facilities.*从而删除它"
    ):
        _publish_in_process(tiny_project, tmp_path / "b", demo_db.url, "riskmap_v")
    with demo_db.connect() as conn:
        assert conn.execute("SELECT to_regclass('public.red_enterprises')").fetchone()[0] is not None
        conn.execute("DROP VIEW public.red_enterprises")


def test_a_users_schema_named_like_a_staging_schema_survives(
    demo_db: Cluster, tiny_project: Path, tmp_path: Path, pgpassword
) -> None:
    _users_schema(demo_db, "riskmap_staging_area", "plan")
    _publish_in_process(tiny_project, tmp_path / "a", demo_db.url)
    assert _count(demo_db, "riskmap_staging_area.plan") == 1


def _schema_project(tiny_project: Path, schema: str) -> Path:
    text = tiny_project.read_text(encoding="utf-8")
    assert text.count("[outputs]\n") == 1
    text = text.replace(
        "[outputs]\n", f'[outputs]\nhtml = false\nfigure = false\npostgis_schema = "{schema}"\n'
    )
    tiny_project.write_text(text, encoding="utf-8")
    return tiny_project


def test_publish_does_not_wait_forever_for_a_map_servers_read(
    demo_db: Cluster, tiny_project: Path, tmp_path: Path, pgpassword
) -> None:
    """A map server idle in a read transaction: the swap gives up after lock_timeout, naming that session."""
    project = _schema_project(tiny_project, "riskmap_lock")
    _publish_in_process(project, tmp_path / "a", demo_db.url, "riskmap_lock")
    reader = demo_db.connect(autocommit=False, application_name="geoserver-test")
    try:
        reader.execute("SELECT count(*) FROM riskmap_lock.facilities").fetchone()  # holds its lock, idle
        pid = reader.info.backend_pid
        started = time.monotonic()
        proc = _cli("run", str(project), "--out", str(tmp_path / "b"), "--postgis", demo_db.url, timeout=120)
        took = time.monotonic() - started
    finally:
        reader.close()
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out
    errors = [ln for ln in out.splitlines() if ln.startswith("错误：")]
    assert len(errors) == 1, out
    assert re.search(
        rf"已等待 10s（lock_timeout）使用模式 riskmap_lock 的会话：pid {pid}"
        r"（用户 riskmap，应用 geoserver-test，来自 127\.0\.0\.1，idle in transaction",
        " ".join(errors[0].split()),
    ), out
    assert took < 90
    assert not (tmp_path / "b" / "run.json").exists()
    _publish_in_process(project, tmp_path / "c", demo_db.url, "riskmap_lock")  # free again: it publishes


def test_lock_timeout_of_the_connection_is_kept(
    demo_db: Cluster, tiny_project: Path, tmp_path: Path, pgpassword
) -> None:
    """``options=-c lock_timeout=...`` (or PGOPTIONS, or the role's setting) replaces riskmap's 10 s."""
    project = _schema_project(tiny_project, "riskmap_lock2")
    _publish_in_process(project, tmp_path / "a", demo_db.url, "riskmap_lock2")
    url = f"{demo_db.url}?options=-c%20lock_timeout%3D1500ms"
    with demo_db.connect(autocommit=False, application_name="qgis-test") as reader:
        reader.execute("SELECT count(*) FROM riskmap_lock2.facilities").fetchone()
        with pytest.raises(OutputError, match=r"已等待 1500ms（lock_timeout）使用模式 riskmap_lock2 的会话"):
            _publish_in_process(project, tmp_path / "b", url, "riskmap_lock2")


def test_publish_waits_for_another_publisher_with_a_timeout(
    demo_db: Cluster, tmp_path: Path, pgpassword, caplog: pytest.LogCaptureFixture
) -> None:
    import geopandas as gpd
    from shapely.geometry import Point

    from riskmap.outputs.postgis import publish_postgis

    layer = gpd.GeoDataFrame({"level": ["red"]}, geometry=[Point(119.6, 32.0)], crs="EPSG:4490")
    with demo_db.connect(application_name="other-publisher") as holder:
        holder.execute("SELECT pg_advisory_lock(hashtext('riskmap:riskmap_adv'))")
        pid = holder.info.backend_pid
        with caplog.at_level("WARNING", logger="riskmap.outputs.postgis"):
            got = _outcome_within(
                lambda: publish_postgis(demo_db.url, "riskmap_adv", {"facilities": layer}, gpd.GeoDataFrame(),
                                        "20260101000000_abcdef", {}, lock_wait="2s"),
                60, "the advisory lock",
            )  # fmt: skip
    assert isinstance(got, OutputError), got
    assert re.search(
        rf"另一个 riskmap 运行向模式 riskmap_adv 发布已超过 2s：pid {pid}"
        r"（用户 riskmap，应用 other-publisher，来自 127\.0\.0\.1",
        str(got),
    ), got
    assert any(f"最多等待 2s：pid {pid}" in r.getMessage() for r in caplog.records), caplog.text


@pytest.mark.parametrize(
    ("conninfo", "has_password"),
    [
        ("host=h password=secret", True),
        ("host=h password = secret", True),
        ("host=h  password =secret dbname=x", True),
        ("host=h password= 'se cret'", True),
        (r"password='a\'b' host=h", True),
        ("postgresql://u:secret@h/db", True),
        ("postgres://u@h/db?password=secret", True),
        ("postgresql://u@h/db?sslmode=require&password=secret", True),
        ("postgresql://u:@h/db", False),  # libpq keeps no empty password from a URL
        ("postgresql://u@h/db", False),
        ("host=h dbname='password=x'", False),
        ("host=h application_name=password", False),
        ("service=gis", False),
        ("", False),
    ],
)
def test_password_rule_parses_as_libpq_does(conninfo: str, has_password: bool) -> None:
    import psycopg.conninfo

    from riskmap.config.conninfo import conninfo_password

    assert conninfo_password(conninfo) is has_password
    # libpq's own parser agrees.
    assert ("password" in psycopg.conninfo.conninfo_to_dict(conninfo)) is has_password


@pytest.mark.parametrize("scheme", ["POSTGRESQL", "PostgreSQL", "POSTGRES"])
def test_password_rule_reads_any_case_of_the_url_scheme(scheme: str, tmp_path: Path) -> None:
    from riskmap.config import config_from_dict
    from riskmap.config.conninfo import conninfo_password
    from riskmap.errors import ConfigError

    url = f"{scheme}://user:{PASSWORD}@127.0.0.1:5/db"
    assert conninfo_password(url)
    for data in (
        {"facilities": {"path": url, "layer": "public.x"}, "zones": []},
        {"facilities": {"path": "f.csv"}, "zones": [], "outputs": {"postgis": url}},
    ):
        with pytest.raises(ConfigError, match="项目文件中不允许写密码") as err:
            config_from_dict(data)
        assert PASSWORD not in str(err.value)


def test_an_upper_case_url_reads_the_database(demo_db: Cluster, tmp_path: Path, pgpassword) -> None:
    url = demo_db.url.replace("postgresql://", "POSTGRESQL://")
    config = load_config(_pg_project(tmp_path, url, zones=False))
    assert len(read_inputs(config).facilities) > 0


def test_upper_case_url_with_password_is_never_echoed(tiny_project: Path, tmp_path: Path) -> None:
    url = f"POSTGRESQL://riskmap:{PASSWORD}@127.0.0.1:{_closed_port()}/platform"
    text = tiny_project.read_text(encoding="utf-8")
    text = text.replace('path = "facilities.csv"', f'path = "{url}"\nlayer = "public.x"', 1)
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    outputs = [
        _cli("validate", str(bad), env={"PGPASSWORD": ""}),
        _cli(
            "run", str(tiny_project), "--out", str(tmp_path / "o"), "--postgis", url, env={"PGPASSWORD": ""}
        ),
    ]
    for proc in outputs:
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1 and "Traceback" not in out, out
        assert PASSWORD not in out
        assert "项目文件中不允许写密码" in out, out


def test_spaced_password_is_refused_and_never_reaches_the_crash_file(
    tiny_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    import riskmap.stages as stages
    from riskmap.cli import CRASH_FILE, app

    monkeypatch.setattr(stages, "plan_inspections", lambda *a, **k: 1 / 0)  # a bug, should the run get there
    monkeypatch.chdir(tmp_path)
    conninfo = f"host=127.0.0.1 port={_closed_port()} dbname=gis password = {PASSWORD}"
    r = CliRunner().invoke(
        app, ["run", str(tiny_project), "--out", str(tmp_path / "o"), "--postgis", conninfo]
    )
    assert r.exit_code == 1, r.output
    assert "项目文件中不允许写密码" in r.output
    assert PASSWORD not in r.output
    for crash in tmp_path.rglob(CRASH_FILE):
        assert PASSWORD not in crash.read_text(encoding="utf-8")


def test_the_crash_file_masks_passwords() -> None:
    from riskmap.cli import _crash_report

    try:
        raise ValueError(f"could not use postgresql://u:{PASSWORD}@h/db nor 'host=h password = {PASSWORD}'")
    except ValueError as err:
        report = _crash_report(err, ["run", "p.toml", "--postgis", f"POSTGRESQL://u:{PASSWORD}@h/db"])
    assert PASSWORD not in report
    assert "--postgis 'POSTGRESQL://u:***@h/db'" in report
    assert "password = ***" in report


@pytest.mark.parametrize(
    ("text", "secret", "masked"),
    [
        ('password authentication failed for user "x"', "x", 'password authentication failed for user "***"'),
        ("the password has expired", "x", "the password has expired"),
        ("expired", "e", "expired"),
        (f"postgresql://u:{PASSWORD}@h/db", PASSWORD, "postgresql://u:***@h/db"),
        ("host=h password='se cret' port=5", None, "host=h password=*** port=5"),
        (
            "POSTGRES://u:pw@h/db?password=pw2&sslmode=require",
            None,
            "POSTGRES://u:***@h/db?password=***&sslmode=require",
        ),
    ],
)
def test_masking_is_by_token(
    text: str, secret: str | None, masked: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from riskmap.config.conninfo import mask_secrets
    from riskmap.io.postgis import one_line

    if secret is None:
        monkeypatch.delenv("PGPASSWORD", raising=False)
    else:
        monkeypatch.setenv("PGPASSWORD", secret)
    assert mask_secrets(text) == masked
    assert one_line(Exception(text)) == masked


def test_a_one_letter_password_does_not_garble_libpqs_message(demo_db: Cluster, tmp_path: Path) -> None:
    project = _pg_project(tmp_path, demo_db.url, zones=False)
    proc = _cli("validate", str(project), env={"PGPASSWORD": "e"})
    assert proc.returncode == 1
    assert 'password authentication failed for user "riskmap"' in proc.stdout + proc.stderr


def test_a_wrong_password_is_told_once_per_connection(demo_db: Cluster, tmp_path: Path) -> None:
    project = _pg_project(tmp_path, demo_db.url)  # facilities and both zone layers from the database
    proc = _cli("validate", str(project), env={"PGPASSWORD": "wrong"})
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "Traceback" not in out, out
    lines = [ln for ln in out.splitlines() if "无法连接" in ln]
    assert len(lines) == 1, out
    assert "（facilities, zones[0], zones[1]）" in lines[0] and "password authentication failed" in lines[0]


_WITHOUT_PSYCOPG = (
    "import sys\n"
    "sys.modules['psycopg'] = None  # as if psycopg were not installed\n"
    "from riskmap.cli import app\n"
    "sys.argv = ['riskmap', *sys.argv[1:]]\n"
    "app()\n"
)


def test_without_psycopg_the_error_says_what_to_install(tiny_project: Path, tmp_path: Path) -> None:
    text = tiny_project.read_text(encoding="utf-8")
    url = "postgresql://riskmap@127.0.0.1:5432/platform"
    db = tmp_path / "db.toml"
    db.write_text(
        text.replace('path = "facilities.csv"', f'path = "{url}"\nlayer = "public.x"', 1), encoding="utf-8"
    )
    for args in (
        ["validate", str(db)],
        ["run", str(db), "--out", str(tmp_path / "a")],
        ["run", str(tiny_project), "--out", str(tmp_path / "b"), "--postgis", url],
    ):
        proc = subprocess.run(
            [sys.executable, "-c", _WITHOUT_PSYCOPG, *args], capture_output=True, text=True, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300,
        )  # fmt: skip
        out = proc.stdout + proc.stderr
        assert proc.returncode == 1, out
        assert "内部错误" not in out and "Traceback" not in out, out
        lines = [ln for ln in out.splitlines() if 'pip install "riskmap[postgis]"' in ln]
        assert len(lines) == 1, out
    assert not (tmp_path / "b" / "run.json").exists()


def test_reading_a_locked_table_does_not_wait_forever(demo_db: Cluster, tmp_path: Path, pgpassword) -> None:
    """An ALTER TABLE left open on the platform: the read gives up after lock_timeout, naming that session."""
    config = load_config(_pg_project(tmp_path, demo_db.url, zones=False))
    with demo_db.connect(autocommit=False, application_name="platform-migration") as locker:
        locker.execute("LOCK TABLE platform.enterprises IN ACCESS EXCLUSIVE MODE")
        pid = locker.info.backend_pid
        got = _outcome_within(lambda: read_inputs(config), 60, "the locked table")
    assert isinstance(got, InputError), got
    assert re.search(
        rf"pg:platform\.enterprises：无法读取（facilities）：已等待 10s（lock_timeout）另一会话锁定的表：pid {pid}"
        r"（用户 riskmap，应用 platform-migration，来自 127\.0\.0\.1，idle in transaction",
        str(got),
    ), got


def test_grants_of_the_published_tables_carry_over(
    demo_db: Cluster, tiny_project: Path, tmp_path: Path, pgpassword
) -> None:
    """A map server's role (a name needing quotes) and PUBLIC keep their grants: names as identifiers, not SQL."""
    import psycopg

    _publish_in_process(tiny_project, tmp_path / "a", demo_db.url, "riskmap_g")
    with psycopg.connect(
        host=demo_db.admin_socket, port=demo_db.port, user="postgres", dbname="platform", autocommit=True
    ) as admin:
        admin.execute('DROP ROLE IF EXISTS "Geo Server"')
        admin.execute('CREATE ROLE "Geo Server"')
        admin.execute('GRANT USAGE ON SCHEMA riskmap_g TO "Geo Server"')
        admin.execute('GRANT SELECT ON riskmap_g.facilities TO "Geo Server"')
        admin.execute("GRANT SELECT ON riskmap_g.rejects TO PUBLIC")
    _publish_in_process(tiny_project, tmp_path / "b", demo_db.url, "riskmap_g")
    with demo_db.connect() as conn:
        can = conn.execute(
            "SELECT has_schema_privilege('Geo Server', 'riskmap_g', 'USAGE'), "
            "has_table_privilege('Geo Server', 'riskmap_g.facilities', 'SELECT'), "
            "has_table_privilege('Geo Server', 'riskmap_g.zones_village', 'SELECT'), "
            "has_table_privilege('public', 'riskmap_g.rejects', 'SELECT')"
        ).fetchone()
    assert can == (True, True, False, True)
