"""PostGIS inputs and outputs against a real PostgreSQL 15 + PostGIS 3 (the cluster of tests/pg.py)."""

from __future__ import annotations

import os
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
    with pytest.raises(InputError, match=r"pg:sql: cannot read \(facilities\).*"):
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
            r"PostgreSQL 127\.0\.0\.1:\d+/platform: cannot connect \(facilities\): .*password",
        ),
        ({"port": True}, r"PostgreSQL 127\.0\.0\.1:\d+/platform: cannot connect \(facilities\): .*"),
        (
            {"layer": "platform.nope"},
            r"no table or view platform\.nope \(facilities\.layer\); schema platform",
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
    with pytest.raises(
        ConfigError, match=r"PGPASSWORD environment variable, ~/\.pgpass or the service file"
    ) as err:
        load_config(project)
    assert PASSWORD not in str(err.value)
    data = {"postgis": url}
    with pytest.raises(ConfigError, match="postgis: a password in the project file") as err:
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
    with pytest.raises(OutputError, match="a password in the connection string is not allowed"):
        publish_postgis(f"postgresql://u:{PASSWORD}@h/db", "riskmap", {}, empty, "x", {})
    with pytest.raises(
        OutputError, match=r"PostgreSQL 127\.0\.0\.1:\d+/db: cannot connect \(outputs\.postgis\)"
    ):
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
