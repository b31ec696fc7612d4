#!/usr/bin/env python3
"""Run the deployed MLflow task on this machine, from its task definition in the emulator.

    python tools/run_local.py [--family local-mlflow-tracking] [--port 5000]
                              [--endpoint-url http://127.0.0.1:4566] [--print-env] [--docker]

Reads the latest task definition of the family, takes the `mlflow` container's command,
environment and secrets (resolved from the emulator's Secrets Manager, including the
`arn:...:secret:name-AbCdEf:jsonkey::` form, and SSM Parameter Store), and runs the image's
entrypoint (docker/entrypoint.py) in .venv-mlflow with exactly that environment plus what a
local run needs:

- MLFLOW_S3_ENDPOINT_URL and AWS credentials for the emulator (artifacts go to its S3);
- MLFLOW_HOST=127.0.0.1, MLFLOW_PORT=<port>, and 127.0.0.1:<port>, localhost:<port> added
  to MLFLOW_ALLOWED_HOSTS;
- MLFLOW_DATA_DIR=.emulator/mlflow-data when the backend is the container's SQLite file;
- for a PostgreSQL task (the emulator's RDS runs no database): `--db-endpoint HOST:PORT` of a
  PostgreSQL server that holds the task's database, user and password (MLFLOW_DB_HOST and
  MLFLOW_DB_PORT replaced, nothing else), or `--local-db` for a local SQLite file instead;
- TMPDIR=a private directory removed at exit (the auth config file is written there).

The server runs in the foreground; Ctrl-C stops it. `--docker` runs the real image instead
when a Docker engine answers. Secret values are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "docker" / "entrypoint.py"
DEFAULT_PYTHON = ROOT / ".venv-mlflow" / "bin" / "python"
DEFAULT_DATA_DIR = ROOT / ".emulator" / "mlflow-data"
CONTAINER_DATA_DIR = "/mlflow/data"
EMULATOR_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
# Variables of the caller's environment a local process needs; nothing else is inherited.
PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TERM", "USER")


class RunLocalError(Exception):
    pass


@dataclass
class TaskEnvironment:
    """The container's environment, with where each variable came from (for --print-env)."""

    values: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    command: list[str] = field(default_factory=list)
    image: str = ""
    secret_names: set[str] = field(default_factory=set)
    # What `--docker` needs to run the container in the box Fargate gives it.
    cpu_units: int = 0  # task CPU (1024 = 1 vCPU)
    memory_mib: int = 0  # task memory
    user: str | None = None
    stop_timeout: int = 30  # ECS's default
    health_check: dict = field(default_factory=dict)
    read_only: bool = False
    mounts: list[dict] = field(default_factory=list)  # [{"path", "volume", "efs", "read_only"}]
    linux: dict = field(default_factory=dict)

    def set(self, name: str, value: str, source: str) -> None:
        self.values[name] = value
        self.sources[name] = source


def parse_secret_reference(value_from: str) -> dict:
    """Split an ECS `valueFrom` into what the emulator's API needs.

    Secrets Manager: arn:aws:secretsmanager:<region>:<account>:secret:<name-AbCdEf>
    [:<json-key>:<version-stage>:<version-id>]. Anything else is an SSM parameter (ARN or name).
    """
    parts = value_from.split(":")
    if len(parts) >= 7 and parts[2] == "secretsmanager" and parts[5] == "secret":
        extra = parts[7:] + ["", "", ""]
        return {
            "service": "secretsmanager",
            "secret_id": ":".join(parts[:7]),
            "json_key": extra[0] or None,
            "version_stage": extra[1] or None,
            "version_id": extra[2] or None,
        }
    if len(parts) >= 6 and parts[2] == "ssm":
        name = parts[5].split("/", 1)[1] if "/" in parts[5] else parts[5]
        return {"service": "ssm", "name": name if name.startswith("/") else "/" + name}
    return {"service": "ssm", "name": value_from}


def resolve_secret(clients, value_from: str) -> str:
    ref = parse_secret_reference(value_from)
    if ref["service"] == "secretsmanager":
        kwargs = {"SecretId": ref["secret_id"]}
        if ref["version_stage"]:
            kwargs["VersionStage"] = ref["version_stage"]
        if ref["version_id"]:
            kwargs["VersionId"] = ref["version_id"]
        secret = clients("secretsmanager").get_secret_value(**kwargs)
        text = secret.get("SecretString")
        if text is None:
            raise RunLocalError(f"{ref['secret_id']} holds binary data, not a string")
        if ref["json_key"] is None:
            return text
        try:
            document = json.loads(text)
        except ValueError:
            raise RunLocalError(
                f"{ref['secret_id']} is not JSON, but the task asks for its key {ref['json_key']!r}"
            ) from None
        if ref["json_key"] not in document:
            raise RunLocalError(f"{ref['secret_id']} has no JSON key {ref['json_key']!r}")
        return str(document[ref["json_key"]])
    try:
        answer = clients("ssm").get_parameter(Name=ref["name"], WithDecryption=True)
    except Exception as err:  # noqa: BLE001 - boto3 error types come from the client
        if ref["name"].startswith("/") and "ParameterNotFound" in str(err):
            answer = clients("ssm").get_parameter(Name=ref["name"][1:], WithDecryption=True)
        else:
            raise
    return answer["Parameter"]["Value"]


def read_task(clients, family: str, container: str) -> TaskEnvironment:
    ecs = clients("ecs")
    try:
        taskdef = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    except Exception as err:  # noqa: BLE001
        raise RunLocalError(
            f"no task definition {family!r} in the emulator ({err}); deploy first "
            "(ansible-playbook playbooks/deploy.yml) or pass --family"
        ) from None
    containers = taskdef.get("containerDefinitions", [])
    chosen = [c for c in containers if c["name"] == container]
    if not chosen:
        names = ", ".join(c["name"] for c in containers) or "none"
        raise RunLocalError(f"{family} has no container {container!r} (containers: {names})")
    spec = chosen[0]
    task = TaskEnvironment(command=list(spec.get("command") or ["serve"]), image=spec["image"])
    task.cpu_units = int(taskdef.get("cpu") or spec.get("cpu") or 0)
    task.memory_mib = int(taskdef.get("memory") or spec.get("memory") or 0)
    task.user = spec.get("user") or None
    task.stop_timeout = int(spec.get("stopTimeout") or 30)
    task.health_check = dict(spec.get("healthCheck") or {})
    task.read_only = bool(spec.get("readonlyRootFilesystem"))
    task.linux = dict(spec.get("linuxParameters") or {})
    volumes = {v["name"]: v for v in taskdef.get("volumes", [])}
    for point in spec.get("mountPoints", []):
        volume = volumes.get(point["sourceVolume"], {})
        task.mounts.append(
            {
                "path": point["containerPath"],
                "volume": point["sourceVolume"],
                "efs": "efsVolumeConfiguration" in volume,
                "read_only": bool(point.get("readOnly")),
            }
        )
    for item in spec.get("environment", []):
        task.set(item["name"], item["value"], "environment")
    for item in spec.get("secrets", []):
        service = parse_secret_reference(item["valueFrom"])["service"]
        try:
            value = resolve_secret(clients, item["valueFrom"])
        except RunLocalError:
            raise
        except Exception as err:  # noqa: BLE001
            raise RunLocalError(f"cannot resolve secret {item['name']}: {err}") from None
        label = "Secrets Manager" if service == "secretsmanager" else "SSM Parameter Store"
        task.set(item["name"], value, f"secret from {label}")
        task.secret_names.add(item["name"])
    return task


def localize(task: TaskEnvironment, args) -> None:
    """Adjust the container environment for a run on this machine (emulator, local ports)."""
    env = task.values
    task.set("MLFLOW_S3_ENDPOINT_URL", args.endpoint_url, "local: the emulator's S3")
    for name, value in EMULATOR_CREDENTIALS.items():
        task.set(name, value, "local: emulator credentials")
    task.set("AWS_DEFAULT_REGION", args.region, "local")
    task.set("MLFLOW_HOST", args.host, "local")
    task.set("MLFLOW_PORT", str(args.port), "local")
    hosts = [h for h in (env.get("MLFLOW_ALLOWED_HOSTS") or "").split(",") if h]
    for extra in (f"127.0.0.1:{args.port}", f"localhost:{args.port}"):
        if extra not in hosts:
            hosts.append(extra)
    task.set("MLFLOW_ALLOWED_HOSTS", ",".join(hosts), "environment + local hosts")

    uri = env.get("MLFLOW_BACKEND_STORE_URI", "")
    uses_postgres = bool(env.get("MLFLOW_DB_HOST")) or uri.startswith("postgresql")
    data_dir = str(Path(args.data_dir).resolve())
    if uses_postgres and args.db_endpoint:
        # The task's database, its name, user, password (the secret) and sslmode unchanged;
        # only where it is: a PostgreSQL server this machine reaches instead of the RDS endpoint.
        if not env.get("MLFLOW_DB_HOST"):
            raise RunLocalError(
                "--db-endpoint replaces MLFLOW_DB_HOST and MLFLOW_DB_PORT, which the task does "
                "not set (its MLFLOW_BACKEND_STORE_URI names the database)"
            )
        host, _, port = args.db_endpoint.rpartition(":")
        if not host or not port.isdigit():
            raise RunLocalError(f"--db-endpoint must be HOST:PORT, got {args.db_endpoint!r}")
        task.set("MLFLOW_DB_HOST", host, "local: --db-endpoint")
        task.set("MLFLOW_DB_PORT", port, "local: --db-endpoint")
        task.set("MLFLOW_DATA_DIR", data_dir, "local")
    elif uses_postgres:
        if not args.local_db:
            raise RunLocalError(
                "the task uses a PostgreSQL backend, which the emulator does not run; pass "
                "--db-endpoint HOST:PORT of a PostgreSQL server holding the task's database, "
                "user and password, or --local-db to use a local SQLite file instead"
            )
        for name in [n for n in env if n.startswith("MLFLOW_DB_")]:
            del env[name]
            task.sources.pop(name, None)
        env.pop("MLFLOW_BACKEND_STORE_URI", None)
        task.sources.pop("MLFLOW_BACKEND_STORE_URI", None)
        auth_uri = env.get("MLFLOW_AUTH_DATABASE_URI", "")
        if auth_uri.startswith("postgresql"):
            del env["MLFLOW_AUTH_DATABASE_URI"]
            task.sources.pop("MLFLOW_AUTH_DATABASE_URI", None)
        task.set("MLFLOW_DATA_DIR", data_dir, "local: --local-db")
    elif not uri:
        task.set("MLFLOW_DATA_DIR", data_dir, "local: container default SQLite")
    elif uri.startswith(f"sqlite:///{CONTAINER_DATA_DIR}/"):
        local_uri = f"sqlite:///{data_dir}/" + uri[len(f"sqlite:///{CONTAINER_DATA_DIR}/") :]
        task.set("MLFLOW_BACKEND_STORE_URI", local_uri, "local: container SQLite path")
        task.set("MLFLOW_DATA_DIR", data_dir, "local")
    dest = env.get("MLFLOW_ARTIFACTS_DESTINATION", "")
    if dest.startswith(CONTAINER_DATA_DIR + "/"):
        local_dest = data_dir + dest[len(CONTAINER_DATA_DIR) :]
        task.set("MLFLOW_ARTIFACTS_DESTINATION", local_dest, "local: container path")


def print_env(task: TaskEnvironment) -> None:
    print(f"# image {task.image}; command {' '.join(task.command)}")
    for name in sorted(task.values):
        print(f"{name}\t({task.sources.get(name, 'environment')})")


def make_clients(endpoint_url: str, region: str):
    import boto3

    cache: dict = {}

    def get(service: str):
        if service not in cache:
            cache[service] = boto3.client(
                service,
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=EMULATOR_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=EMULATOR_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        return cache[service]

    return get


def _run_foreground(cmd: list[str], env: dict, cwd: Path) -> int:
    """Run cmd in its own session; SIGINT (Ctrl-C), SIGTERM and SIGHUP are forwarded once."""
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, start_new_session=True)

    def forward(signum, _frame):
        if proc.poll() is None:
            proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGHUP, forward)
    while True:
        try:
            rc = proc.wait()
        except KeyboardInterrupt:  # pragma: no cover - handled by the forwarder
            continue
        return 128 - rc if rc < 0 else rc  # killed by a signal: the shell's 128 + signal


def run_venv(task: TaskEnvironment, args, runtime_dir: Path) -> int:
    python = Path(args.python)
    if not python.exists():
        raise RunLocalError(
            f"{python} does not exist: create the MLflow virtualenv with tools/mlflow_venv.sh"
        )
    env = {name: os.environ[name] for name in PASS_THROUGH if name in os.environ}
    env.update(task.values)
    env["TMPDIR"] = str(runtime_dir)
    cmd = [str(python), str(ENTRYPOINT), *task.command]
    print(
        f"run_local: {args.family} -> http://127.0.0.1:{args.port} "
        f"(entrypoint in {python.parent.parent.name}; Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )
    if task.values.get("MLFLOW_AUTH_ENABLED", "").lower() == "true":
        user = task.values.get("MLFLOW_AUTH_ADMIN_USERNAME", "admin")
        print(
            f"run_local: sign in as {user!r}; `make admin-password` (or this command with "
            "--admin-password) prints the password kept in the emulator's Secrets Manager",
            file=sys.stderr,
            flush=True,
        )
    return _run_foreground(cmd, env, ROOT)


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        proc = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def docker_limits(task: TaskEnvironment) -> list[str]:
    """The Fargate box: task CPU as --cpus, task memory as --memory (no swap)."""
    flags = []
    if task.cpu_units:
        flags += ["--cpus", f"{task.cpu_units / 1024:g}"]
    if task.memory_mib:
        flags += ["--memory", f"{task.memory_mib}m", "--memory-swap", f"{task.memory_mib}m"]
    return flags


def docker_health_flags(health: dict) -> list[str]:
    """The container definition's healthCheck as docker run flags (ECS's defaults filled in)."""
    command = list(health.get("command") or [])
    if not command:
        return []
    if command[0] == "CMD-SHELL":
        shell = " ".join(command[1:])
    elif command[0] == "CMD":
        shell = "exec " + shlex.join(command[1:])
    else:
        shell = shlex.join(command)
    return [
        "--health-cmd", shell,
        "--health-interval", f"{int(health.get('interval', 30))}s",
        "--health-timeout", f"{int(health.get('timeout', 5))}s",
        "--health-retries", str(int(health.get("retries", 3))),
        "--health-start-period", f"{int(health.get('startPeriod', 0))}s",
    ]  # fmt: skip


def docker_mount_flags(task: TaskEnvironment, data_dir: Path) -> list[str]:
    """--read-only and a mount for each mount point of the task definition.

    An EFS volume (and any volume on the data directory) becomes the local data directory, so
    the SQLite file survives like on EFS; any other volume (Fargate's task storage) becomes a
    tmpfs with the permissions of /tmp, lost when the container stops, as on Fargate.
    """
    flags = ["--read-only"] if task.read_only else []
    mounted = set()
    for mount in task.mounts:
        path = mount["path"]
        if path in mounted:
            continue
        mounted.add(path)
        if mount["efs"] or path == CONTAINER_DATA_DIR:
            spec = f"type=bind,source={data_dir},target={path}"
            flags += ["--mount", spec + (",readonly" if mount["read_only"] else "")]
        else:
            # --tmpfs, not --mount type=tmpfs: Docker 20.10 ignores --mount's tmpfs-mode.
            flags += ["--tmpfs", f"{path}:{'ro,' if mount['read_only'] else ''}mode=1777"]
    if CONTAINER_DATA_DIR not in mounted:
        flags += ["--mount", f"type=bind,source={data_dir},target={CONTAINER_DATA_DIR}"]
    return flags


def docker_linux_flags(task: TaskEnvironment) -> list[str]:
    flags = []
    if task.user:
        flags += ["--user", task.user]
    caps = task.linux.get("capabilities") or {}
    flags += [f"--cap-add={c}" for c in caps.get("add", [])]
    flags += [f"--cap-drop={c}" for c in caps.get("drop", [])]
    if task.linux.get("initProcessEnabled"):
        flags.append("--init")
    return flags


def docker_command(task: TaskEnvironment, args, runtime_dir: Path) -> tuple[list[str], str]:
    """The `docker run` command line for the task, and the container's name."""
    image = args.image or task.image
    env = dict(task.values)
    # Host networking: the container reaches the emulator on the host's loopback, and the
    # server listens on the host's port as the task does on its ENI.
    env["MLFLOW_HOST"] = args.host
    env["MLFLOW_PORT"] = str(args.port)
    data_dir = Path(env.get("MLFLOW_DATA_DIR") or args.data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:  # the container runs as uid 10001 (the image's user)
        os.chown(data_dir, 10001, 10001)
    else:
        data_dir.chmod(0o777)
    env["MLFLOW_DATA_DIR"] = CONTAINER_DATA_DIR
    for name in ("MLFLOW_BACKEND_STORE_URI", "MLFLOW_ARTIFACTS_DESTINATION"):
        if env.get(name):
            env[name] = env[name].replace(str(data_dir), CONTAINER_DATA_DIR)
    # Secrets go through a private env file, never the docker command line.
    env_file = runtime_dir / "container.env"
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for name, value in env.items():
            if "\n" in value:
                raise RunLocalError(f"{name} has a line break; docker --env-file cannot pass it")
            handle.write(f"{name}={value}\n")
    name = args.name or f"mlflow-local-{args.port}"
    cmd = [
        "docker", "run", "--rm", "--name", name,
        "--network", "host",
        "--env-file", str(env_file),
        "--stop-timeout", str(task.stop_timeout),
        *docker_limits(task),
        *docker_linux_flags(task),
        *docker_health_flags(task.health_check),
        *docker_mount_flags(task, data_dir),
        image,
        *task.command,
    ]  # fmt: skip
    return cmd, name


def run_docker(task: TaskEnvironment, args, runtime_dir: Path) -> int:
    if not docker_available():
        raise RunLocalError(
            "--docker: no Docker engine answers (`docker info` failed); run without --docker "
            "to use the local virtualenv, or start a Docker engine (tools/docker_engine.sh)"
        )
    cmd, name = docker_command(task, args, runtime_dir)
    image = args.image or task.image
    print(
        f"run_local: docker run {image} -> http://127.0.0.1:{args.port} "
        f"({' '.join(docker_limits(task)) or 'no limits'}; Ctrl-C stops it like ECS: SIGTERM, "
        f"SIGKILL after {task.stop_timeout}s)",
        file=sys.stderr,
        flush=True,
    )
    proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
    stopping = []

    def stop(_signum, _frame):
        # What ECS does: SIGTERM to the container, SIGKILL after the task's stopTimeout.
        if not stopping and proc.poll() is None:
            stopping.append(True)
            subprocess.Popen(
                ["docker", "stop", "--time", str(task.stop_timeout), name],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    while True:
        try:
            rc = proc.wait()
        except KeyboardInterrupt:  # pragma: no cover - handled by stop()
            continue
        return 128 - rc if rc < 0 else rc


def parse_args(argv: list[str] | None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", default="local-mlflow-tracking")
    parser.add_argument("--container", default="mlflow")
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:4566")
    parser.add_argument("--region", default=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR))
    parser.add_argument("--python", default=str(DEFAULT_PYTHON))
    parser.add_argument(
        "--local-db",
        action="store_true",
        help="replace a PostgreSQL backend with a local SQLite file under --data-dir",
    )
    parser.add_argument(
        "--db-endpoint",
        metavar="HOST:PORT",
        help="run a PostgreSQL task against this server instead of its RDS endpoint (same "
        "database name, user, password secret and sslmode)",
    )
    parser.add_argument(
        "--print-env",
        action="store_true",
        help="print the variable names (and where each comes from), not values, and exit",
    )
    parser.add_argument(
        "--admin-password",
        action="store_true",
        help="print the MLflow admin password the task gets from Secrets Manager, and exit",
    )
    parser.add_argument("--docker", action="store_true", help="run the real image instead")
    parser.add_argument("--image", help="with --docker: image to run (default: the task's)")
    parser.add_argument("--name", help="with --docker: container name (mlflow-local-<port>)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        clients = make_clients(args.endpoint_url, args.region)
        task = read_task(clients, args.family, args.container)
        if args.admin_password:
            # Printing a secret needs no local run: before localize(), which refuses a
            # PostgreSQL task without --local-db.
            if "MLFLOW_AUTH_ADMIN_PASSWORD" not in task.values:
                raise RunLocalError(f"{args.family} has no MLFLOW_AUTH_ADMIN_PASSWORD secret")
            print(task.values["MLFLOW_AUTH_ADMIN_PASSWORD"])
            return 0
        localize(task, args)
        if args.print_env:
            print_env(task)
            return 0
        runtime_dir = Path(tempfile.mkdtemp(prefix="mlflow-local-"))
        try:
            return (
                run_docker(task, args, runtime_dir)
                if args.docker
                else run_venv(task, args, runtime_dir)
            )
        finally:
            shutil.rmtree(runtime_dir, ignore_errors=True)
    except RunLocalError as err:
        print(f"run_local: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
