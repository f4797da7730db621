"""A real PostgreSQL 15 + PostGIS 3 for the tests: a throw-away cluster in a temporary directory.

The cluster runs as the ``postgres`` user (initdb and pg_ctl refuse root, and CI runs as root), listens on
127.0.0.1 at a free port, and has a role ``riskmap`` with a password (so password checks are real) and the
PostGIS extension. Tests skip, saying why, only when the binaries are not installed (Debian
``postgresql-15-postgis-3``, installed by scripts/test.sh).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path("/usr/lib/postgresql/15/bin")
#: The test role's password: the tests grep every output for it.
PASSWORD = "Sekr3t-pw-9d1f"
ROLE = "riskmap"
DB = "platform"


@dataclass
class Cluster:
    """A running test cluster: connect with :attr:`url` and PGPASSWORD = :data:`PASSWORD`."""

    port: int
    admin_socket: str

    @property
    def url(self) -> str:
        return f"postgresql://{ROLE}@127.0.0.1:{self.port}/{DB}"

    def connect(self, **kwargs: object):  # noqa: ANN201 - psycopg is optional at import time
        import psycopg

        return psycopg.connect(self.url, password=PASSWORD, **{"autocommit": True, **kwargs})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [*args] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True)


def missing_reason() -> str | None:
    """Why the tests cannot start a cluster here, or None."""
    if not (BIN / "initdb").exists():
        return "PostgreSQL 15 not installed (apt-get install postgresql-15 postgresql-15-postgis-3)"
    if not list(Path("/usr/share/postgresql/15/extension").glob("postgis--*.sql")):
        return "PostGIS not installed (apt-get install postgresql-15-postgis-3)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg not installed (pip install 'psycopg[binary]')"
    return None


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """Start the cluster once per session; stop and remove it at the end."""
    reason = missing_reason()
    if reason:
        pytest.skip(reason)
    root = Path(tempfile.mkdtemp(prefix="riskmap-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in (root, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)
    port = _free_port()
    _as_postgres(str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8")
    # Local socket: trust for the fixture's admin; TCP: passwords (scram), as a real server.
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n", encoding="utf-8"
    )
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    _as_postgres(str(BIN / "pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start")
    cluster = Cluster(port, str(sock))
    try:
        admin = ["psql", "-h", str(sock), "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]
        _as_postgres(
            str(BIN / "psql"),
            *admin[1:],
            "-c",
            f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'",
            "-c",
            f"CREATE DATABASE {DB} OWNER {ROLE}",
        )
        _as_postgres(str(BIN / "psql"), *admin[1:], "-d", DB, "-c", "CREATE EXTENSION postgis")
        yield cluster
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--"] * (os.geteuid() == 0)
            + [str(BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
