#!/usr/bin/env python3
"""Entrypoint of the MLflow tracking server image: environment variables in, one server out.

    python /app/entrypoint.py [serve]        validate, migrate, then exec the server (default)
    python /app/entrypoint.py migrate        validate and upgrade the database schemas only
    python /app/entrypoint.py healthcheck    GET /health on 127.0.0.1; exit 0 on 200, else 1
    python /app/entrypoint.py print-command  print the server command and the environment it
                                             gets, secrets redacted (for tests and debugging)

Every setting is read and validated before anything happens; a missing or malformed one stops
the container with one line naming the variable. The full contract (names, defaults) is in
docker/README.md. Only the standard library is imported at module level: `healthcheck` and
`print-command` stay fast and work without MLflow; `serve` and `migrate` import MLflow lazily and
the memory they use goes away with `os.execvpe`.

By default the server is uvicorn running MLflow's ASGI app, exec'd directly with the environment
`mlflow server` would hand its workers: the same app, the same Host-header and CORS middleware,
the same basic-auth app, but without the `mlflow server` CLI process that otherwise stays
resident (~170 MB) only to wait for uvicorn. With one worker uvicorn serves from a single process
that receives ECS's SIGTERM itself.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import os
import re
import shlex
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

PROG = "mlflow-entrypoint"
DEFAULT_DATA_DIR = "/mlflow/data"
DEFAULT_ARTIFACTS_URI = "mlflow-artifacts:/"
TRUE_VALUES = {"true", "1", "yes", "on"}
FALSE_VALUES = {"false", "0", "no", "off"}
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
AUTH_PERMISSIONS = ("READ", "USE", "EDIT", "MANAGE", "NO_PERMISSIONS")
LAUNCHERS = ("auto", "uvicorn", "mlflow")
ARTIFACTS_TRANSFERS = ("proxy", "direct")
# The artifact routes that hand clients presigned S3 URLs (MLflow's multipart uploads and
# presigned downloads); refused when MLFLOW_ARTIFACTS_TRANSFER=proxy.
PRESIGNED_ROUTES = ("/mlflow-artifacts/mpu/", "/mlflow-artifacts/presigned/")
SERVER_INFO_ROUTE = "/mlflow/server-info"
# The password MLflow < 3.x shipped in basic_auth.ini; MLflow refuses to bootstrap with it.
LEGACY_ADMIN_PASSWORD = "password1234"
MIN_ADMIN_PASSWORD_LENGTH = 12  # MLflow's own password policy (mlflow.utils.validation)
MIN_SECRET_KEY_LENGTH = 16
# Session-level PostgreSQL advisory lock taken around schema migrations ("mlflow" in ASCII).
MIGRATION_LOCK_KEY = 0x6D6C666C6F77
# SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; the image ships psycopg2 (binary wheels).
PG_SCHEME = "postgresql+psycopg2"
HASH_CONCURRENCY_VAR = "_MLFLOW_ENTRYPOINT_MAX_CONCURRENT_CHECKS"
# Threads serving MLflow's (synchronous) handlers in one worker; see server_app().
SERVER_THREADS_VAR = "_MLFLOW_ENTRYPOINT_SERVER_THREADS"
HOST_PATTERN = re.compile(r"^[A-Za-z0-9*?.\-_\[\]:]+$")
ORIGIN_PATTERN = re.compile(r"^https?://[A-Za-z0-9*.\-_\[\]:]+$")
# Variables holding secrets: their values are never printed, and the server does not inherit
# the two that only the entrypoint needs (the auth ini and the store URI carry them instead).
SECRET_VARS = ("MLFLOW_DB_PASSWORD", "MLFLOW_AUTH_ADMIN_PASSWORD", "MLFLOW_FLASK_SERVER_SECRET_KEY")
ENTRYPOINT_ONLY_SECRETS = ("MLFLOW_DB_PASSWORD", "MLFLOW_AUTH_ADMIN_PASSWORD")


class ConfigError(Exception):
    """A missing or malformed setting; the message names the variable."""


class StartupError(Exception):
    """Something failed while preparing the server (database, file system)."""


# --------------------------------------------------------------------------- redaction


class Redactor:
    """Replaces every known secret (and its URL-quoted form) with ***."""

    def __init__(self) -> None:
        self.secrets: set[str] = set()

    def add(self, value: str | None) -> None:
        if value:
            self.secrets.add(value)
            self.secrets.add(urllib.parse.quote(value, safe=""))
            self.secrets.add(urllib.parse.quote_plus(value, safe=""))

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


class RedactingStream:
    """A text stream wrapper that redacts secrets from everything written through it."""

    def __init__(self, stream, redactor: Redactor) -> None:
        self._stream = stream
        self._redact = redactor

    def write(self, text: str) -> int:
        self._stream.write(self._redact(text))
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def log(message: str) -> None:
    print(f"[{PROG}] {message}", file=sys.stderr, flush=True)


def redact_uri(uri: str) -> str:
    """The URI with the password of its user-info part replaced by ***."""
    parts = urllib.parse.urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def uri_password(uri: str) -> str | None:
    try:
        password = urllib.parse.urlsplit(uri).password
    except ValueError:
        return None
    return urllib.parse.unquote(password) if password else None


# --------------------------------------------------------------------------- settings


@dataclass
class AuthSettings:
    admin_username: str
    admin_password: str = field(repr=False)
    secret_key: str = field(repr=False)
    database_uri: str = field(repr=False)
    default_permission: str
    cache_ttl_seconds: int
    hash_concurrency: int

    def ini_text(self) -> str:
        # MLflow reads the file with configparser's default interpolation: escape '%' as '%%'
        # (URL-quoted passwords in database_uri contain '%').
        config = configparser.ConfigParser(interpolation=None)
        values = {
            "default_permission": self.default_permission,
            "database_uri": self.database_uri,
            "admin_username": self.admin_username,
            "admin_password": self.admin_password,
            "authorization_function": "mlflow.server.auth:authenticate_request_basic_auth",
            # Successful credential checks are cached per process: each check costs a 32 MiB
            # scrypt computation, which concurrent requests would otherwise multiply.
            "auth_cache_ttl_seconds": str(self.cache_ttl_seconds),
        }
        config["mlflow"] = {key: value.replace("%", "%%") for key, value in values.items()}
        lines: list[str] = []

        class _Sink:
            def write(self, text: str) -> None:
                lines.append(text)

        config.write(_Sink())
        return "".join(lines)


@dataclass
class Settings:
    host: str
    port: int
    workers: int
    static_prefix: str | None
    allowed_hosts: str | None
    cors_allowed_origins: str | None
    backend_store_uri: str = field(repr=False)
    backend_kind: str  # "sqlite" or "postgresql"
    artifacts_destination: str
    artifacts_transfer: str  # "proxy" (every byte through the server) or "direct" (presigned URLs)
    auth: AuthSettings | None
    launcher: str  # "uvicorn" or "mlflow"
    job_execution: bool
    keep_alive_timeout: int
    graceful_shutdown_timeout: int
    migration_timeout: int
    uvicorn_opts: list[str]
    redactor: Redactor = field(repr=False)
    # Handler threads per worker with a SQL database: one fewer than an engine's connections
    server_threads: int | None = None

    @property
    def health_path(self) -> str:
        return f"{self.static_prefix or ''}/health"


def _get(env: dict, name: str) -> str | None:
    """The variable's value with surrounding blanks removed; None when unset or empty."""
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(env: dict, name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw, 10)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _bool(env: dict, name: str, default: bool) -> bool:
    raw = _get(env, name)
    if raw is None:
        return default
    if raw.lower() in TRUE_VALUES:
        return True
    if raw.lower() in FALSE_VALUES:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _comma_list(env: dict, name: str, pattern: re.Pattern, what: str) -> str | None:
    raw = env.get(name)
    if raw is None or raw == "":
        return None
    items = raw.split(",")
    for item in items:
        if item == "":
            raise ConfigError(f"{name} has an empty item (check for stray commas): {raw!r}")
        if item != item.strip() or " " in item:
            raise ConfigError(f"{name} must be a comma-separated list without spaces: {raw!r}")
        if item == "*":
            continue
        if what == "host" and "://" in item:
            raise ConfigError(
                f"{name} lists host names (optionally with :port), not URLs: {item!r}"
            )
        if not pattern.match(item):
            raise ConfigError(f"{name} has a malformed {what}: {item!r}")
    return raw


def _sqlite_path(uri: str) -> str | None:
    """The file path of a sqlite:/// URI (None for in-memory databases)."""
    path = uri[len("sqlite:///") :].split("?", 1)[0] if uri.startswith("sqlite:///") else ""
    return path if path and path != ":memory:" else None


def _check_store_uri(name: str, uri: str) -> str:
    """Validate a SQLAlchemy store URI; return its kind (sqlite or postgresql)."""
    scheme = uri.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][A-Za-z0-9+.\-]*:", uri) else ""
    if scheme in ("", "file") or (len(scheme) == 1 and uri[1:3] in (":\\", ":/")):
        raise ConfigError(
            f"{name} names a file store ({redact_uri(uri)}); MLflow 3.17 keeps the file store in "
            "maintenance mode and refuses to start on it. Use sqlite:////path/mlflow.db or "
            "postgresql://..., or leave it unset for the default SQLite database"
        )
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        if not uri.startswith("sqlite:///") or _sqlite_path(uri) is None:
            raise ConfigError(
                f"{name} must name a SQLite file (sqlite:////absolute/path.db); an in-memory "
                f"database loses every run at restart: {uri!r}"
            )
        if not os.path.isabs(_sqlite_path(uri)):
            raise ConfigError(
                f"{name} must name a SQLite file by absolute path (four slashes: "
                f"sqlite:////mlflow/data/mlflow.db), got {uri!r}"
            )
        return "sqlite"
    if base == "postgres":
        raise ConfigError(f"{name} must start with postgresql://, not postgres://")
    if base == "postgresql":
        if scheme not in ("postgresql", "postgresql+psycopg2"):
            raise ConfigError(
                f"{name}: the image has the psycopg2 driver only; use postgresql:// "
                f"or postgresql+psycopg2://, not {scheme}://"
            )
        try:
            parts = urllib.parse.urlsplit(uri)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError as err:
            raise ConfigError(f"{name} is not a valid URI ({err}): {redact_uri(uri)}") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise ConfigError(
                f"{name} must name a host and a database (postgresql://user:password@host:5432/"
                f"dbname): {redact_uri(uri)}"
            )
        return "postgresql"
    raise ConfigError(
        f"{name} uses {scheme}://, but the image has drivers for sqlite and postgresql only"
    )


def _with_driver(uri: str) -> str:
    """postgresql:// names psycopg (v3) in SQLAlchemy 2.1; the image has psycopg2."""
    if uri.lower().startswith("postgresql://"):
        return PG_SCHEME + uri[len("postgresql") :]
    return uri


def _backend(env: dict, redactor: Redactor) -> tuple[str, str]:
    """The backend store URI (with the password) and its kind, from the URI or its parts."""
    uri = _get(env, "MLFLOW_BACKEND_STORE_URI")
    parts = [
        n
        for n in (
            "MLFLOW_DB_HOST",
            "MLFLOW_DB_PORT",
            "MLFLOW_DB_NAME",
            "MLFLOW_DB_USERNAME",
            "MLFLOW_DB_PASSWORD",
            "MLFLOW_DB_SSLMODE",
        )
        if _get(env, n) is not None
    ]
    if uri and parts:
        raise ConfigError(
            "set either MLFLOW_BACKEND_STORE_URI or the MLFLOW_DB_* parts, not both "
            f"(found {', '.join(parts)})"
        )
    if uri:
        redactor.add(uri_password(uri))
        kind = _check_store_uri("MLFLOW_BACKEND_STORE_URI", uri)
        return _with_driver(uri), kind
    if parts:
        host = _get(env, "MLFLOW_DB_HOST")
        if host is None:
            raise ConfigError(f"MLFLOW_DB_HOST is required when {', '.join(parts)} is set")
        if not re.match(r"^[A-Za-z0-9.\-_]+$", host):
            raise ConfigError(f"MLFLOW_DB_HOST must be a host name or IP address, got {host!r}")
        port = _int(env, "MLFLOW_DB_PORT", 5432, 1, 65535)
        name = _get(env, "MLFLOW_DB_NAME") or "mlflow"
        if not re.match(r"^[A-Za-z0-9_\-]+$", name):
            raise ConfigError(f"MLFLOW_DB_NAME must be a plain database name, got {name!r}")
        user = _get(env, "MLFLOW_DB_USERNAME")
        if user is None:
            raise ConfigError("MLFLOW_DB_USERNAME is required with MLFLOW_DB_HOST")
        password = env.get("MLFLOW_DB_PASSWORD") or None  # not stripped: blanks may be real
        if password is None:
            raise ConfigError(
                "MLFLOW_DB_PASSWORD is required with MLFLOW_DB_HOST (ECS injects it from "
                "Secrets Manager)"
            )
        redactor.add(password)
        sslmode = _get(env, "MLFLOW_DB_SSLMODE") or "require"
        if sslmode not in SSL_MODES:
            raise ConfigError(f"MLFLOW_DB_SSLMODE must be one of {', '.join(SSL_MODES)}")
        quote = urllib.parse.quote
        uri = (
            f"{PG_SCHEME}://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/"
            f"{name}?sslmode={sslmode}"
        )
        return uri, "postgresql"
    data_dir = _data_dir(env)
    return f"sqlite:///{data_dir}/mlflow.db", "sqlite"


def _data_dir(env: dict) -> str:
    data_dir = _get(env, "MLFLOW_DATA_DIR") or DEFAULT_DATA_DIR
    if not os.path.isabs(data_dir):
        raise ConfigError(f"MLFLOW_DATA_DIR must be an absolute path, got {data_dir!r}")
    return os.path.normpath(data_dir)


def _artifacts_destination(env: dict) -> str:
    dest = _get(env, "MLFLOW_ARTIFACTS_DESTINATION")
    if dest is None:
        return os.path.join(_data_dir(env), "artifacts")
    if dest.startswith("s3://"):
        bucket = dest[len("s3://") :].split("/", 1)[0]
        if not re.match(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$", bucket):
            raise ConfigError(
                f"MLFLOW_ARTIFACTS_DESTINATION must be s3://<bucket>[/prefix] with a valid "
                f"bucket name, got {dest!r}"
            )
        return dest.rstrip("/") if dest.count("/") > 2 else dest
    if dest.startswith("file://"):
        dest = urllib.parse.urlsplit(dest).path
    if "://" in dest or ":" in dest.split("/", 1)[0]:
        raise ConfigError(
            "MLFLOW_ARTIFACTS_DESTINATION must be s3://bucket/prefix (or an absolute local path "
            f"for development); the image has no client for {dest.split(':', 1)[0]}://"
        )
    if not os.path.isabs(dest):
        raise ConfigError(f"MLFLOW_ARTIFACTS_DESTINATION must be an absolute path, got {dest!r}")
    return os.path.normpath(dest)


def _auth(env: dict, backend_uri: str, backend_kind: str, redactor: Redactor):
    if not _bool(env, "MLFLOW_AUTH_ENABLED", False):
        return None
    username = _get(env, "MLFLOW_AUTH_ADMIN_USERNAME") or "admin"
    if not re.match(r"^[A-Za-z0-9_.@\-]+$", username):
        raise ConfigError(f"MLFLOW_AUTH_ADMIN_USERNAME has unsupported characters: {username!r}")
    password = env.get("MLFLOW_AUTH_ADMIN_PASSWORD") or None
    if password is None:
        raise ConfigError("MLFLOW_AUTH_ADMIN_PASSWORD is required when MLFLOW_AUTH_ENABLED=true")
    redactor.add(password)
    if len(password) < MIN_ADMIN_PASSWORD_LENGTH:
        raise ConfigError(
            f"MLFLOW_AUTH_ADMIN_PASSWORD must be at least {MIN_ADMIN_PASSWORD_LENGTH} characters"
        )
    if password != password.strip() or "\n" in password or "\r" in password:
        raise ConfigError(
            "MLFLOW_AUTH_ADMIN_PASSWORD must not start or end with blanks or contain line breaks"
        )
    if password == LEGACY_ADMIN_PASSWORD:
        raise ConfigError(
            "MLFLOW_AUTH_ADMIN_PASSWORD is MLflow's old published default; choose another"
        )
    secret_key = env.get("MLFLOW_FLASK_SERVER_SECRET_KEY") or None
    if secret_key is None:
        raise ConfigError(
            "MLFLOW_FLASK_SERVER_SECRET_KEY is required when MLFLOW_AUTH_ENABLED=true (a static "
            "key shared by all tasks, for CSRF protection)"
        )
    redactor.add(secret_key)
    if len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(
            f"MLFLOW_FLASK_SERVER_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters"
        )
    database_uri = _get(env, "MLFLOW_AUTH_DATABASE_URI")
    if database_uri:
        redactor.add(uri_password(database_uri))
        _check_store_uri("MLFLOW_AUTH_DATABASE_URI", database_uri)
        database_uri = _with_driver(database_uri)
    elif backend_kind == "postgresql":
        database_uri = backend_uri  # same database; tables and alembic version table differ
    else:
        database_uri = f"sqlite:///{os.path.dirname(_sqlite_path(backend_uri))}/basic_auth.db"
    permission = (_get(env, "MLFLOW_AUTH_DEFAULT_PERMISSION") or "READ").upper()
    if permission not in AUTH_PERMISSIONS:
        raise ConfigError(
            f"MLFLOW_AUTH_DEFAULT_PERMISSION must be one of {', '.join(AUTH_PERMISSIONS)}"
        )
    cache_ttl = _int(env, "MLFLOW_AUTH_CACHE_TTL_SECONDS", 60, 0, 3600)
    concurrency = _int(env, "MLFLOW_AUTH_MAX_CONCURRENT_CHECKS", 2, 1, 64)
    return AuthSettings(
        username, password, secret_key, database_uri, permission, cache_ttl, concurrency
    )


def load_settings(env: dict) -> Settings:
    """Read and validate every setting; raise ConfigError naming the first bad variable."""
    redactor = Redactor()
    for name in SECRET_VARS:
        redactor.add(env.get(name))
    host = _get(env, "MLFLOW_HOST") or "0.0.0.0"
    if not re.match(r"^[A-Za-z0-9.:\-_\[\]]+$", host):
        raise ConfigError(f"MLFLOW_HOST must be an address to listen on, got {host!r}")
    port = _int(env, "MLFLOW_PORT", 5000, 1, 65535)
    workers = _int(env, "MLFLOW_WORKERS", 1, 1, 64)
    static_prefix = _get(env, "MLFLOW_STATIC_PREFIX")
    if static_prefix is not None and (
        not static_prefix.startswith("/")
        or static_prefix.endswith("/")
        or not re.match(r"^[A-Za-z0-9/_.\-~]+$", static_prefix)
    ):
        raise ConfigError(
            "MLFLOW_STATIC_PREFIX must start with '/', not end with '/', and contain only "
            f"letters, digits, '/', '_', '-', '.', '~': got {static_prefix!r}"
        )
    allowed_hosts = _comma_list(env, "MLFLOW_ALLOWED_HOSTS", HOST_PATTERN, "host")
    cors = _comma_list(env, "MLFLOW_CORS_ALLOWED_ORIGINS", ORIGIN_PATTERN, "origin (scheme://host)")
    backend_uri, backend_kind = _backend(env, redactor)
    artifacts = _artifacts_destination(env)
    auth = _auth(env, backend_uri, backend_kind, redactor)
    job_execution = _bool(env, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION", False)
    artifacts_transfer = (_get(env, "MLFLOW_ARTIFACTS_TRANSFER") or "proxy").lower()
    if artifacts_transfer not in ARTIFACTS_TRANSFERS:
        choices = ", ".join(ARTIFACTS_TRANSFERS)
        raise ConfigError(f"MLFLOW_ARTIFACTS_TRANSFER must be one of {choices}")
    launcher = (_get(env, "MLFLOW_LAUNCHER") or "auto").lower()
    if launcher not in LAUNCHERS:
        raise ConfigError(f"MLFLOW_LAUNCHER must be one of {', '.join(LAUNCHERS)}")
    if launcher == "auto":
        # Only the `mlflow server` CLI starts the job runner next to the server.
        launcher = "mlflow" if job_execution else "uvicorn"
    elif launcher == "uvicorn" and job_execution:
        raise ConfigError(
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION=true needs MLFLOW_LAUNCHER=mlflow (only the "
            "mlflow server CLI runs the job runner)"
        )
    if launcher == "mlflow" and artifacts_transfer == "proxy":
        raise ConfigError(
            "MLFLOW_ARTIFACTS_TRANSFER=proxy needs the uvicorn launcher (the mlflow server CLI "
            "lets clients fetch artifacts from S3 with presigned URLs); set "
            "MLFLOW_ARTIFACTS_TRANSFER=direct to use MLFLOW_LAUNCHER=mlflow or job execution"
        )
    for name in ("MLFLOW_GUNICORN_OPTS", "MLFLOW_WAITRESS_OPTS"):
        if _get(env, name):
            raise ConfigError(
                f"{name} is not supported: the Host-header and CORS middleware only apply under "
                "uvicorn; use MLFLOW_UVICORN_OPTS"
            )
    uvicorn_raw = _get(env, "MLFLOW_UVICORN_OPTS") or ""
    try:
        uvicorn_opts = shlex.split(uvicorn_raw)
    except ValueError as err:
        raise ConfigError(f"MLFLOW_UVICORN_OPTS cannot be parsed: {err}") from None
    for opt in uvicorn_opts:
        if opt.split("=", 1)[0] in ("--host", "--port", "--workers", "--factory", "--reload"):
            raise ConfigError(
                f"MLFLOW_UVICORN_OPTS must not set {opt.split('=', 1)[0]}; use the MLFLOW_* "
                "variable for it"
            )
    return Settings(
        host=host,
        port=port,
        workers=workers,
        static_prefix=static_prefix,
        allowed_hosts=allowed_hosts,
        cors_allowed_origins=cors,
        backend_store_uri=backend_uri,
        backend_kind=backend_kind,
        artifacts_destination=artifacts,
        artifacts_transfer=artifacts_transfer,
        auth=auth,
        launcher=launcher,
        job_execution=job_execution,
        keep_alive_timeout=_int(env, "MLFLOW_KEEP_ALIVE_TIMEOUT", 75, 1, 4000),
        graceful_shutdown_timeout=_int(env, "MLFLOW_GRACEFUL_SHUTDOWN_TIMEOUT", 20, 0, 3600),
        migration_timeout=_int(env, "MLFLOW_MIGRATION_TIMEOUT", 600, 1, 86400),
        uvicorn_opts=uvicorn_opts,
        redactor=redactor,
        # SQLite files are pooled the same way (SQLAlchemy's QueuePool), so the bound holds for
        # both backends (tests/integration/test_container.py: 16 clients on SQLite).
        server_threads=_server_threads(env),
    )


def _server_threads(env: dict) -> int:
    """pool_size + max_overflow - 1 of MLflow's engines (SQLAlchemy's 5 + 10 when unset).

    A request may hold a connection of an engine while it asks the same engine for another
    (MLflow's log_batch does), so as many concurrent handlers as the engine has connections
    can all wait for a second one until the pool times out (30 s, then an error). One handler
    fewer always leaves a connection free.
    """
    pool = _int(env, "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE", 5, 1, 1000)
    overflow = _int(env, "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW", 10, 0, 1000)
    if pool + overflow < 2:
        raise ConfigError(
            "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE + MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW must be at "
            "least 2: MLflow holds two connections of an engine at once in some requests"
        )
    return pool + overflow - 1


# --------------------------------------------------------------------------- server command


def _mlflow_package_dir() -> Path:
    spec = importlib.util.find_spec("mlflow")  # finds the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise StartupError("MLflow is not installed in this Python environment")
    return Path(next(iter(spec.submodule_search_locations)))


def build_server(settings: Settings, env: dict, auth_config_path: str | None):
    """The argv to exec and the complete environment it gets."""
    out = dict(env)
    for name in ENTRYPOINT_ONLY_SECRETS:
        out.pop(name, None)
    out["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "true" if settings.job_execution else "false"
    out.setdefault("MLFLOW_ENABLE_WORKSPACES", "false")
    out.setdefault("PYTHONUNBUFFERED", "1")
    if settings.allowed_hosts:
        out["MLFLOW_SERVER_ALLOWED_HOSTS"] = settings.allowed_hosts
    if settings.cors_allowed_origins:
        out["MLFLOW_SERVER_CORS_ALLOWED_ORIGINS"] = settings.cors_allowed_origins
    if settings.auth is not None:
        out["MLFLOW_AUTH_CONFIG_PATH"] = auth_config_path or "<private temp file>"
        out["MLFLOW_AUTH_ADMIN_USERNAME"] = settings.auth.admin_username
        out["MLFLOW_FLASK_SERVER_SECRET_KEY"] = settings.auth.secret_key

    if settings.launcher == "mlflow":
        out["MLFLOW_BACKEND_STORE_URI"] = settings.backend_store_uri  # not on argv (ps shows it)
        cmd = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            settings.host,
            "--port",
            str(settings.port),
            "--workers",
            str(settings.workers),
            "--serve-artifacts",
            "--artifacts-destination",
            settings.artifacts_destination,
        ]
        if settings.static_prefix:
            cmd += ["--static-prefix", settings.static_prefix]
        if settings.auth is not None:
            cmd += ["--app-name", "basic-auth"]
        opts = _uvicorn_tuning(settings)
        if opts:
            cmd += ["--uvicorn-opts", shlex.join(opts)]
        return cmd, out

    # What `mlflow server` (mlflow/server/__init__.py:_run_server) hands its uvicorn workers.
    out["_MLFLOW_SERVER_FILE_STORE"] = settings.backend_store_uri
    out["_MLFLOW_SERVER_REGISTRY_STORE"] = settings.backend_store_uri
    out["_MLFLOW_SERVER_ARTIFACT_ROOT"] = DEFAULT_ARTIFACTS_URI
    out["_MLFLOW_SERVER_SERVE_ARTIFACTS"] = "true"
    out["_MLFLOW_SERVER_ARTIFACT_DESTINATION"] = settings.artifacts_destination
    if settings.static_prefix:
        out["_MLFLOW_STATIC_PREFIX"] = settings.static_prefix
    out["_MLFLOW_SERVER_BOOT_ID"] = uuid.uuid4().hex
    out["_MLFLOW_IN_JOB_EXECUTOR"] = "false"
    out["_MLFLOW_SGI_NAME"] = "uvicorn"
    out["MLFLOW_ARTIFACTS_TRANSFER"] = settings.artifacts_transfer
    if settings.auth is not None:
        # The entrypoint bootstrapped the admin user before exec, as `mlflow server` does.
        out["_MLFLOW_AUTH_ADMIN_BOOTSTRAPPED"] = "true"
        out[HASH_CONCURRENCY_VAR] = str(settings.auth.hash_concurrency)
    if settings.server_threads:
        out[SERVER_THREADS_VAR] = str(settings.server_threads)
    # MLflow's app (with basic-auth, or the plain one), through this file's factory.
    app, factory = f"{Path(__file__).stem}:server_app", True
    app_dir = ["--app-dir", str(Path(__file__).resolve().parent)]
    opts = list(settings.uvicorn_opts)
    if not any(o.split("=", 1)[0] == "--log-config" for o in opts):
        opts += ["--log-config", str(_mlflow_package_dir() / "server" / "uvicorn_log_config.yaml")]
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        *opts,
        *_uvicorn_tuning(settings),
        "--host",
        settings.host,
        "--port",
        str(settings.port),
        "--workers",
        str(settings.workers),
        *app_dir,
        *(["--factory"] if factory else []),
        app,
    ]
    return cmd, out


def _uvicorn_tuning(settings: Settings) -> list[str]:
    """Keep-alive above the ALB idle timeout; graceful shutdown within ECS's stop timeout."""
    given = {o.split("=", 1)[0] for o in settings.uvicorn_opts}
    opts = []
    if "--timeout-keep-alive" not in given:
        opts += ["--timeout-keep-alive", str(settings.keep_alive_timeout)]
    if "--timeout-graceful-shutdown" not in given:
        opts += ["--timeout-graceful-shutdown", str(settings.graceful_shutdown_timeout)]
    if settings.launcher == "mlflow":
        opts = list(settings.uvicorn_opts) + opts
    return opts


def describe(settings: Settings, cmd: list[str], server_env: dict, base_env: dict) -> str:
    """Environment changes and command, as shell text, with every secret redacted."""
    lines = ["# environment set by the entrypoint"]
    for name in sorted(server_env):
        if base_env.get(name) == server_env[name]:
            continue
        value = server_env[name]
        if name in SECRET_VARS:
            value = "***"
        elif "URI" in name or "STORE" in name:
            value = redact_uri(value)
        lines.append(f"{name}={shlex.quote(value)}")
    for name in sorted(set(base_env) - set(server_env)):
        lines.append(f"unset {name}")
    lines.append("# command")
    lines.append(shlex.join(cmd))
    return settings.redactor("\n".join(lines))


def server_app():
    """uvicorn factory: MLflow's app (basic-auth when the entrypoint set it up), and with
    MLFLOW_ARTIFACTS_TRANSFER=proxy the guard that keeps every artifact byte on this server."""
    if os.environ.get("_MLFLOW_AUTH_ADMIN_BOOTSTRAPPED") == "true":
        app = basic_auth_app()
    else:
        from mlflow.server.fastapi_app import app
    if os.environ.get("MLFLOW_ARTIFACTS_TRANSFER", "proxy") == "proxy":
        app = ProxiedArtifactsOnly(app)
    if os.environ.get(SERVER_THREADS_VAR):
        app = BoundedHandlerThreads(app, int(os.environ[SERVER_THREADS_VAR]))
    return app


class BoundedHandlerThreads:
    """ASGI middleware: at most `threads` of MLflow's synchronous handlers run at once.

    MLflow's Flask app and its synchronous FastAPI routes run in anyio's default thread pool
    (40 threads per event loop). With a SQL database, 16 clients logging at once made up to 5
    log_batch calls each hold one of the tracking engine's 5 connections (pool 2 + overflow 3)
    and wait for a second: every one failed after the pool's 30 s timeout. The pool's limit
    less one handler thread keeps a connection free (tests/integration/test_db_connections.py).
    """

    def __init__(self, app, threads: int) -> None:
        self.app = app
        self.threads = threads

    async def __call__(self, scope, receive, send):
        import anyio.to_thread

        limiter = anyio.to_thread.current_default_thread_limiter()  # one per event loop
        if limiter.total_tokens != self.threads:
            limiter.total_tokens = self.threads
        await self.app(scope, receive, send)


class ProxiedArtifactsOnly:
    """ASGI middleware: clients upload and download artifacts through the server only.

    MLflow (3.x) advertises multipart uploads and downloads in /server-info whenever the
    artifact store is S3, and its clients then fetch every artifact (and upload large ones)
    from S3 with presigned URLs: a client that reaches the server but not S3 cannot download.
    Here /server-info says neither is available, and the presigned routes answer 501 (MLflow's
    clients fall back to the proxied route on 501).
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if any(route in path for route in PRESIGNED_ROUTES):
            body = json.dumps(
                {
                    "error_code": "NOT_IMPLEMENTED",
                    # MLflow's clients fall back to the proxied upload only on this sentence
                    # (mlflow.exceptions._UnsupportedMultipartUploadException.MESSAGE).
                    "message": "Multipart upload is not supported for the current artifact "
                    "repository: this server proxies artifacts (MLFLOW_ARTIFACTS_TRANSFER=proxy) "
                    "and offers no presigned URLs",
                }
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 501,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if not path.endswith(SERVER_INFO_ROUTE):
            await self.app(scope, receive, send)
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message):
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    body = b"".join(chunks)
                    if start.get("status") == 200:
                        info = json.loads(body)
                        info["multipart_uploads_enabled"] = False
                        info["multipart_downloads_enabled"] = False
                        body = json.dumps(info).encode()
                    headers = [
                        (key, value)
                        for key, value in start.get("headers", [])
                        if key.lower() != b"content-length"
                    ]
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({**start, "headers": headers})
                    await send({"type": "http.response.body", "body": body})
            else:
                await send(message)

        await self.app(scope, receive, capture)


def basic_auth_app():
    """uvicorn factory: MLflow's basic-auth app with a bound on concurrent password checks.

    Every uncached password check is a scrypt computation that allocates 32 MiB (werkzeug's
    scrypt:32768:8:1); eight clients authenticating at once add 256 MiB to a 512 MiB task, and
    a burst of wrong passwords could push it over. At most MLFLOW_AUTH_MAX_CONCURRENT_CHECKS
    checks run at a time (the task's CPU share is the bottleneck for them anyway); the rest
    wait their turn. Everything else is MLflow's own create_app.
    """
    import threading

    from mlflow.server import auth
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    checks = threading.BoundedSemaphore(int(os.environ.get(HASH_CONCURRENCY_VAR, "2")))
    authenticate_user = SqlAlchemyStore.authenticate_user

    def bounded_authenticate_user(self, username, password, *, use_primary=False):
        with checks:
            return authenticate_user(self, username, password, use_primary=use_primary)

    SqlAlchemyStore.authenticate_user = bounded_authenticate_user
    return auth.create_app()


# --------------------------------------------------------------------------- preparation


def prepare_filesystem(settings: Settings) -> None:
    """Create the SQLite and local artifact directories; fail clearly when not writable."""
    paths: list[tuple[str, str]] = []
    for uri, name in (
        (settings.backend_store_uri, "MLFLOW_BACKEND_STORE_URI / MLFLOW_DATA_DIR"),
        (settings.auth.database_uri if settings.auth else "", "MLFLOW_AUTH_DATABASE_URI"),
    ):
        if uri.startswith("sqlite:///"):
            paths.append((os.path.dirname(os.path.abspath(_sqlite_path(uri))), name))
    if not settings.artifacts_destination.startswith("s3://"):
        paths.append((settings.artifacts_destination, "MLFLOW_ARTIFACTS_DESTINATION"))
    for path, name in paths:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as err:
            raise StartupError(f"cannot create {path} ({name}): {err.strerror}") from None
        if not os.access(path, os.W_OK | os.X_OK):
            raise StartupError(f"{path} ({name}) is not writable by uid {os.getuid()}")


def write_auth_config(auth: AuthSettings) -> str:
    """Write the basic-auth ini to a private file (0600 in a 0700 directory); return its path."""
    directory = tempfile.mkdtemp(prefix="mlflow-auth-")
    fd, path = tempfile.mkstemp(prefix="basic_auth-", suffix=".ini", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(auth.ini_text())
    os.chmod(path, 0o600)
    return path


class _MigrationLock:
    """A PostgreSQL session-level advisory lock: one task migrates, the others wait."""

    def __init__(self, uri: str, timeout: int) -> None:
        self.uri = uri
        self.timeout = timeout
        self.engine = None
        self.conn = None

    def __enter__(self):
        from mlflow.store.db.utils import create_sqlalchemy_engine_with_retry
        from sqlalchemy import text

        self.engine = create_sqlalchemy_engine_with_retry(self.uri)
        self.conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        deadline = time.monotonic() + self.timeout
        waiting = False
        while True:
            got = self.conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            ).scalar()
            if got:
                break
            if not waiting:
                log("another task is migrating the database; waiting for it")
                waiting = True
            if time.monotonic() > deadline:
                raise StartupError(
                    f"the migration lock was not released within {self.timeout}s "
                    "(MLFLOW_MIGRATION_TIMEOUT)"
                )
            time.sleep(2)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import text

        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        finally:
            self.conn.close()
            self.engine.dispose()
        return False


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def upgrade_tracking_schema(uri: str) -> str:
    """`mlflow db upgrade <uri>`, skipped when the schema is already at MLflow's head revision."""
    import sqlalchemy
    from mlflow.store.db import utils as dbutils

    engine = dbutils.create_sqlalchemy_engine_with_retry(uri)
    try:
        current = dbutils._get_schema_version(engine)
        head = dbutils._get_latest_schema_revision()
        if current == head:
            return f"tracking schema is current ({head})"
        tables = set(sqlalchemy.inspect(engine).get_table_names())
        if current is None and "experiments" not in tables:
            dbutils._initialize_tables(engine)
            return f"tracking schema created ({head})"
        dbutils._upgrade_db(engine)
        return f"tracking schema upgraded from {current} to {head}"
    finally:
        engine.dispose()


def bootstrap_auth(auth: AuthSettings) -> str:
    """Migrate the auth database, create the admin user, and make its password the configured one.

    MLflow itself only sets the admin password when it creates the user; afterwards the ini value
    is ignored. The secret is the source of truth here: when the stored password differs, the
    admin's password is updated (that is how a rotation of the secret reaches the database).
    """
    from mlflow.server import auth as mlflow_auth

    mlflow_auth.get_flask_server_secret_key()
    mlflow_auth.bootstrap_admin_user()  # init_db: migrates the auth schema; creates the admin
    store = mlflow_auth.store
    notes = []
    if not store.authenticate_user(auth.admin_username, auth.admin_password, use_primary=True):
        store.update_user(auth.admin_username, password=auth.admin_password)
        notes.append("admin password updated from MLFLOW_AUTH_ADMIN_PASSWORD")
    if not store.get_user(auth.admin_username).is_admin:
        store.update_user(auth.admin_username, is_admin=True)
        notes.append(f"user {auth.admin_username!r} made admin again")
    return "auth database ready" + (": " + "; ".join(notes) if notes else "")


def run_migrations(settings: Settings) -> None:
    lock = (
        _MigrationLock(settings.backend_store_uri, settings.migration_timeout)
        if settings.backend_kind == "postgresql"
        else _NoLock()
    )
    with lock:
        log(upgrade_tracking_schema(settings.backend_store_uri))
        if settings.auth is not None:
            log(bootstrap_auth(settings.auth))


def _install_redaction(settings: Settings) -> None:
    sys.stdout = RedactingStream(sys.stdout, settings.redactor)
    sys.stderr = RedactingStream(sys.stderr, settings.redactor)


def _prepare(settings: Settings, env: dict) -> str | None:
    """Everything before exec: directories, auth ini, schema migrations. Returns the ini path."""
    prepare_filesystem(settings)
    auth_path = None
    if settings.auth is not None:
        auth_path = write_auth_config(settings.auth)
        # MLflow reads these at import time (mlflow.server.auth) in this process too.
        os.environ["MLFLOW_AUTH_CONFIG_PATH"] = auth_path
        os.environ["MLFLOW_FLASK_SERVER_SECRET_KEY"] = settings.auth.secret_key
        os.environ["MLFLOW_AUTH_ADMIN_USERNAME"] = settings.auth.admin_username
        os.environ["MLFLOW_AUTH_ADMIN_PASSWORD"] = settings.auth.admin_password
    try:
        run_migrations(settings)
    except StartupError:
        raise
    except Exception as err:  # database unreachable, bad credentials, failed migration
        raise StartupError(f"database preparation failed: {type(err).__name__}: {err}") from err
    return auth_path


# --------------------------------------------------------------------------- subcommands


def cmd_print_command(env: dict) -> int:
    settings = load_settings(env)
    cmd, server_env = build_server(settings, env, None)
    print(describe(settings, cmd, server_env, env))
    return 0


def cmd_migrate(env: dict) -> int:
    settings = load_settings(env)
    _install_redaction(settings)
    _prepare(settings, env)
    log("migration done")
    return 0


def cmd_serve(env: dict) -> int:
    settings = load_settings(env)
    _install_redaction(settings)
    if settings.allowed_hosts is None and settings.host not in ("127.0.0.1", "localhost"):
        log(
            "MLFLOW_ALLOWED_HOSTS is not set: MLflow answers only Host headers naming localhost "
            "or a private IP; requests through a load balancer's DNS name get 403"
        )
    if settings.backend_kind == "sqlite":
        log(f"backend store is SQLite ({settings.backend_store_uri}): for one task only")
    auth_path = _prepare(settings, env)
    cmd, server_env = build_server(settings, env, auth_path)
    log("starting: " + describe(settings, cmd, server_env, env).splitlines()[-1])
    sys.stdout.flush()
    sys.stderr.flush()
    os.execvpe(cmd[0], cmd, server_env)
    return 1  # not reached


def cmd_healthcheck(env: dict) -> int:
    try:
        port = _int(env, "MLFLOW_PORT", 5000, 1, 65535)
        prefix = _get(env, "MLFLOW_STATIC_PREFIX") or ""
    except ConfigError as err:
        print(f"unhealthy: {err}", file=sys.stderr)
        return 1
    url = f"http://127.0.0.1:{port}{prefix}/health"
    try:
        with urllib.request.urlopen(url, timeout=4) as resp:
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    except (urllib.error.URLError, OSError) as err:
        print(f"unhealthy: {url}: {err}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"unhealthy: {url} answered {status}", file=sys.stderr)
        return 1
    return 0


COMMANDS = {
    "serve": cmd_serve,
    "migrate": cmd_migrate,
    "healthcheck": cmd_healthcheck,
    "print-command": cmd_print_command,
}


def main(argv: list[str] | None = None, env: dict | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    env = dict(os.environ) if env is None else env
    command = argv[0] if argv else "serve"
    if command in ("-h", "--help", "help"):
        print(__doc__)
        return 0
    if command not in COMMANDS or len(argv) > 1:
        print(
            f"{PROG}: usage: entrypoint.py [{'|'.join(COMMANDS)}] (got {' '.join(argv)!r})",
            file=sys.stderr,
        )
        return 2
    try:
        return COMMANDS[command](env)
    except ConfigError as err:
        # Messages name variables and redact URIs; redact known secrets once more regardless.
        redactor = Redactor()
        for name in SECRET_VARS:
            redactor.add(env.get(name))
        for name in ("MLFLOW_BACKEND_STORE_URI", "MLFLOW_AUTH_DATABASE_URI"):
            redactor.add(uri_password(env.get(name) or ""))
        print(redactor(f"{PROG}: configuration error: {err}"), file=sys.stderr)
        return 2
    except StartupError as err:
        print(f"{PROG}: startup failed: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
