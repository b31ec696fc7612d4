"""A throw-away PostgreSQL server (Debian's package, installed by tools/test-deps.sh) for the
tests that run the MLflow server against PostgreSQL (test_entrypoint.py, test_persistence.py,
test_db_connections.py).

initdb + pg_ctl on a free port in a temporary directory, password (scram-sha-256) over TCP on
127.0.0.1, stopped and removed at the end. With `ssl=True` it also takes TLS connections, with a
self-signed certificate (what `sslmode=require`, the task's setting with RDS, needs).
PostgreSQL refuses to run as root, so as root the cluster runs as `nobody`. Queries go through
psycopg2 of .venv-mlflow (what the image has).

The fixtures are registered in tests/conftest.py: `postgres` (one server per test module) and
`postgres_factory` (servers with settings of their own, e.g. max_connections, or TLS).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MLFLOW_PYTHON = Path(os.environ.get("MLFLOW_VENV", ROOT / ".venv-mlflow")) / "bin" / "python"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster; `user` is its superuser, with `password`."""

    user = "mlflow"

    def __init__(
        self, password: str | None = None, settings: dict | None = None, ssl: bool = False
    ) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
        if not found:
            pytest.fail("PostgreSQL server binaries missing: run tools/test-deps.sh (make test)")
        self.bindir = Path(found[0])
        self.port = _free_port()
        self.password = password or uuid.uuid4().hex
        self.settings = dict(settings or {})
        self.ssl = ssl
        # Not under pytest's tmp_path: as root, that tree is closed to the `nobody` user.
        self.root = Path(tempfile.mkdtemp(prefix="mlflow-pg-"))
        self.datadir = self.root / "data"
        self.as_user = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "nobody")

    def __getitem__(self, key: str):
        """postgres["port"], postgres["password"]: the shape older tests used."""
        return {"port": self.port, "password": self.password}[key]

    def _run(self, *cmd: str, timeout: float = 120) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [*self.as_user, *cmd], capture_output=True, text=True, timeout=timeout, cwd=self.root
        )
        assert proc.returncode == 0, f"{cmd[0]} failed:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def start(self) -> PostgresServer:
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_user:
            shutil.chown(pwfile, "nobody")
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "--auth=scram-sha-256",
            "--encoding=UTF8",
            "--no-sync",
        )
        pwfile.unlink()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} -c fsync=off"
        if self.ssl:
            options += self._make_certificate()
        for name, value in self.settings.items():
            options += f" -c {name}={value}"
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.root / "server.log"),
            "-o",
            options,
            "-w",
            "start",
        )
        return self

    def _make_certificate(self) -> str:
        """A self-signed certificate and key in the data directory; the server options for TLS."""
        cert, key = self.datadir / "server.crt", self.datadir / "server.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        key.chmod(0o600)  # PostgreSQL refuses a key others can read
        if self.as_user:
            for path in (cert, key):
                shutil.chown(path, "nobody")
        return f" -c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key}"

    def _python(self, code: str, *args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [str(MLFLOW_PYTHON), "-c", code, str(self.port), self.user, self.password, *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return proc

    def create_database(self, name: str) -> None:
        self._python(
            "import psycopg2, sys\n"
            "conn = psycopg2.connect(host='127.0.0.1', port=int(sys.argv[1]), user=sys.argv[2],"
            " password=sys.argv[3], dbname='postgres')\n"
            "conn.autocommit = True\n"
            "conn.cursor().execute('CREATE DATABASE ' + sys.argv[4])\n",
            name,
        )

    def query(self, database: str, sql: str) -> list:
        proc = self._python(
            "import json, psycopg2, sys\n"
            "conn = psycopg2.connect(host='127.0.0.1', port=int(sys.argv[1]), user=sys.argv[2],"
            " password=sys.argv[3], dbname=sys.argv[4])\n"
            "cur = conn.cursor(); cur.execute(sys.argv[5]); print(json.dumps(cur.fetchall()))\n",
            database,
            sql,
        )
        return json.loads(proc.stdout)

    @property
    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.datadir.exists():
            with contextlib.suppress(Exception):
                pg_ctl = str(self.bindir / "pg_ctl")
                self._run(pg_ctl, "-D", str(self.datadir), "-m", "fast", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def environment(self, database: str) -> dict[str, str]:
        """The entrypoint's MLFLOW_DB_* parts, as the ECS task gets them (password as a secret)."""
        return {
            "MLFLOW_DB_HOST": "127.0.0.1",
            "MLFLOW_DB_PORT": str(self.port),
            "MLFLOW_DB_NAME": database,
            "MLFLOW_DB_USERNAME": self.user,
            "MLFLOW_DB_PASSWORD": self.password,
            "MLFLOW_DB_SSLMODE": "disable",
        }


@pytest.fixture(scope="module")
def postgres_factory():
    """Start PostgreSQL servers (PostgresServer arguments); stop them after the module."""
    started: list[PostgresServer] = []

    def start(
        password: str | None = None, settings: dict | None = None, ssl: bool = False
    ) -> PostgresServer:
        server = PostgresServer(password, settings, ssl)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def postgres(postgres_factory) -> PostgresServer:
    """One PostgreSQL server for the module (superuser `mlflow`, a random password)."""
    return postgres_factory()
