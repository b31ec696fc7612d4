#!/usr/bin/env python3
"""The MLflow server's throughput and latency by Fargate task size and worker count (issue 12).

    python tests/benchmarks/bench_task_size.py [--sizes 256/512,512/1024,1024/2048]
        [--workers 1,2] [--clients 1,4,16] [--warmup 10] [--window 30]
        [--json] [--output-dir DIR] [--png PATH | --no-plot]
    python tests/benchmarks/bench_task_size.py --report DIR/results.json   (Markdown table)
    make bench-task-size                  (BENCH_TASK_SIZE_ARGS="--window 10 ...")
    .venv-mlflow/bin/python tests/benchmarks/bench_task_size.py --plot DIR/results.json

Not part of pytest: it prints figures (docs/task-size.md quotes them). Needs a Docker engine,
the stand-in base and PostgreSQL (tools/test-deps.sh, as root).

Server: the project's image (docker/, built or found by tools/build_image.py, the image
test_container.py runs), `docker run --cpus <CPU units / 1024> --memory <MiB>m --memory-swap
<MiB>m` (Fargate's hard limits; no swap), read-only root file system with tmpfs on /tmp and
/mlflow/data (the task's writable paths), host networking on 127.0.0.1, MLFLOW_WORKERS=1 or 2.
Its environment is the production task's, built the way roles/ecs builds it: PostgreSQL backend
over TLS (MLFLOW_DB_* parts, MLFLOW_DB_SSLMODE=require), MLflow's login on (basic auth, an admin
password and Flask secret key of the bench's own), MLFLOW_SQLALCHEMYSTORE_POOL_SIZE/_MAX_OVERFLOW
read from roles/ecs/defaults/main.yml. Only the database endpoint and the artifact destination
differ: the load logs no artifact, so artifacts stay at the image's default (/mlflow/data).

Database: one real PostgreSQL server with TLS (tests/integration/postgres_helpers.py, as
test_container.py runs it), and a new empty database per configuration (task size x workers),
migrated by the container at start like a first deploy, so configurations never see each other's
data. The three client levels of one configuration run one after the other on the same container
and database.

Load (bench_memory.write_mix, shared with `make bench`): N concurrent clients (threads of this
process, urllib, HTTP/1.1 without keep-alive, Basic auth as admin), each looping: one
experiments/create when it starts, then per run: runs/create, 10 x runs/log-batch (50 metrics
each, plus one param in each of the first five), runs/update (FINISHED), runs/get, runs/search
(the experiment's 10 newest). 14 tracking-API requests per run, 10 of them writes of metrics;
12 of 14 write. A client that gets an error (HTTP or connection) counts it and starts a new
experiment. Each level: --warmup seconds unmeasured, then a --window of measurement; a request
counts when it ends inside the window (throughput = those / window; latencies are theirs).

Per point (task size, workers, clients): requests/s; p50/p95/p99 latency over all requests (ms);
errors (in the whole level, warm-up included); peak memory of the container (usage minus
inactive page cache, as `docker stats` counts it, sampled every 0.2 s over warm-up and window)
and its share of the task's memory; OOM kills
(the memory cgroup's oom_kill count, and `docker inspect` State.OOMKilled); CPU used in the
window by the container (cores), by PostgreSQL (cores), by this load generator (its own process,
% of one core: near 100 % means the client, not the server, was the limit) and by the whole host
(% of all cores).

Cost: prices from roles/cost/files/prices-us-east-1.yml (Fargate X86_64 vcpu_hour and gb_hour,
read, never copied): hourly task price = vCPU x vcpu_hour + GB x gb_hour (GB = MiB / 1024, as
plugins/filter/monthly_cost.py counts it); cost per million requests = hourly price /
(req/s x 3600) x 1e6, at each point's throughput. The choice: among configurations whose 16-client
point has p95 <= --p95-goal (500 ms), no error, no OOM kill, the lowest cost per million
requests at 16 clients; if none qualifies, it says so and prints the closest (lowest p95).

The chart (--png; docs/task-size.png by default only for the whole matrix) is drawn with
matplotlib from .venv-mlflow (the MLflow server's virtualenv, which has it; .venv does not):
this script re-runs itself there with --plot on the results JSON, so .venv needs no new
dependency.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
PRICES = ROOT / "roles" / "cost" / "files" / "prices-us-east-1.yml"
ECS_DEFAULTS = ROOT / "roles" / "ecs" / "defaults" / "main.yml"
MLFLOW_PYTHON = Path(os.environ.get("MLFLOW_VENV", ROOT / ".venv-mlflow")) / "bin" / "python"
DEFAULT_PNG = ROOT / "docs" / "task-size.png"
ARCHITECTURE = "X86_64"
ADMIN_USER = "admin"
BATCHES_PER_RUN = 10
METRICS_PER_BATCH = 50


# --------------------------------------------------------------------------- pure parts


def fargate_prices(path: Path = PRICES, architecture: str = ARCHITECTURE) -> dict:
    """{'vcpu_hour': USD, 'gb_hour': USD} of Fargate on-demand for `architecture`."""
    import yaml

    prices = yaml.safe_load(path.read_text())["fargate"][architecture]
    return {"vcpu_hour": float(prices["vcpu_hour"]), "gb_hour": float(prices["gb_hour"])}


def hourly_price(cpu_units: int, memory_mib: int, prices: dict) -> float:
    """USD per hour of one task: vCPU x vcpu_hour + GB x gb_hour (1024 units = 1 vCPU)."""
    return cpu_units / 1024 * prices["vcpu_hour"] + memory_mib / 1024 * prices["gb_hour"]


def cost_per_million(cpu_units: int, memory_mib: int, req_per_s: float, prices: dict) -> float:
    """USD per million requests of one task busy at `req_per_s` (inf when it served none)."""
    if req_per_s <= 0:
        return float("inf")
    return hourly_price(cpu_units, memory_mib, prices) / (req_per_s * 3600) * 1e6


def qualifies(point: dict, p95_goal_ms: float) -> bool:
    return (
        point.get("alive", True)
        and point["requests"] > 0
        and point["errors"] == 0
        and point["oom_kills"] == 0
        and point["p95_ms"] <= p95_goal_ms
    )


def choose(points: list[dict], p95_goal_ms: float = 500, clients: int = 16) -> dict:
    """The choice rule: {'choice': point or None, 'qualified': [...], 'closest': [...]}.

    Among the points with `clients` clients that qualify (p95 within the goal, no error, no
    OOM kill, container alive), the lowest cost per million requests; ties go to the smaller
    task. 'closest' lists the points at `clients` by p95 (lowest first), for when none does.
    """
    at_level = [p for p in points if p["clients"] == clients]
    qualified = sorted(
        (p for p in at_level if qualifies(p, p95_goal_ms)),
        key=lambda p: (p["cost_per_million"], p["cpu"], p["memory"], p["workers"]),
    )
    closest = sorted(at_level, key=lambda p: p["p95_ms"] if p["requests"] else float("inf"))
    return {
        "choice": qualified[0] if qualified else None,
        "qualified": qualified,
        "closest": closest[:3],
    }


def percentile(sorted_values: list[float], q: float) -> float:
    """The q-quantile (0-1) of sorted values, nearest rank."""
    if not sorted_values:
        return 0.0
    return sorted_values[min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))]


def parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for item in text.split(","):
        cpu, _, memory = item.partition("/")
        sizes.append((int(cpu), int(memory)))
    return sizes


# --------------------------------------------------------------------------- measuring


def ecs_defaults() -> dict:
    import yaml

    return yaml.safe_load(ECS_DEFAULTS.read_text())


def host_cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def postgres_cpu_seconds(server) -> float:
    """CPU time of the PostgreSQL server so far: the postmaster with the backends it reaped,
    and its live children (the backends and background processes)."""
    import bench_memory

    tick = os.sysconf("SC_CLK_TCK")
    try:
        postmaster = int((server.datadir / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")
    total = 0
    for pid, fields in bench_memory.proc_stats():
        ppid = int(fields[1])
        if pid == postmaster:
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        elif ppid == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Container:
    """One server container of one configuration; its cgroups (v1 or v2) for CPU and OOM."""

    def __init__(
        self,
        image: str,
        name: str,
        port: int,
        cpu: int,
        memory: int,
        workers: int,
        env: dict,
        workdir: Path,
    ) -> None:
        self.image, self.name, self.port = image, name, port
        self.cpu, self.memory, self.workers = cpu, memory, workers
        self.env, self.workdir = env, workdir
        self.id = ""

    def start(self) -> None:
        from docker_helpers import docker

        env_file = self.workdir / f"{self.name}.env"  # secrets: never on the command line
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.writelines(f"{k}={v}\n" for k, v in self.env.items())
        # No --rm: an OOM-killed container stays inspectable until stop() removes it.
        proc = docker(
            "run",
            "-d",
            "--name",
            self.name,
            "--network",
            "host",
            "--cpus",
            f"{self.cpu / 1024:g}",
            "--memory",
            f"{self.memory}m",
            "--memory-swap",
            f"{self.memory}m",
            "--read-only",
            "--tmpfs",
            "/tmp:mode=1777",
            "--tmpfs",
            "/mlflow/data:uid=10001,gid=10001,mode=0755",
            "--env-file",
            str(env_file),
            self.image,
        )
        env_file.unlink()
        self.id = proc.stdout.strip()

    def state(self) -> dict:
        from docker_helpers import docker

        proc = docker("inspect", self.name, check=False)
        return json.loads(proc.stdout)[0]["State"] if proc.returncode == 0 else {}

    def wait_healthy(self, timeout: float = 600) -> float:
        begin = time.monotonic()
        while time.monotonic() - begin < timeout:
            st = self.state()
            if not st.get("Running"):
                why = "OOM-killed" if st.get("OOMKilled") else f"exited {st.get('ExitCode')}"
                raise RuntimeError(f"{self.name} {why} before /health answered")
            try:
                url = f"http://127.0.0.1:{self.port}/health"
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return time.monotonic() - begin
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{self.name}: /health did not answer within {timeout:.0f} s")

    def _cgroup(self, controller: str) -> Path | None:
        for candidate in (
            Path("/sys/fs/cgroup") / controller / "docker" / self.id,
            Path("/sys/fs/cgroup/system.slice") / f"docker-{self.id}.scope",
        ):
            if candidate.exists():
                return candidate
        return None

    def cpu_seconds(self) -> float:
        """CPU time the container's processes used so far (cpuacct or cpu.stat)."""
        v1 = self._cgroup("cpuacct")
        if v1 is not None:
            return int((v1 / "cpuacct.usage").read_text()) / 1e9
        v2 = self._cgroup("unified")
        if v2 is not None:
            stat = dict(line.split() for line in (v2 / "cpu.stat").read_text().splitlines())
            return int(stat["usage_usec"]) / 1e6
        return float("nan")

    def oom_kills(self) -> int:
        """Processes the kernel OOM-killed in the container's memory cgroup so far."""
        for cgroup, name in (
            (self._cgroup("memory"), "memory.oom_control"),
            (self._cgroup("unified"), "memory.events"),
        ):
            if cgroup is not None and (cgroup / name).exists():
                for line in (cgroup / name).read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        return 0

    def logs(self) -> str:
        from docker_helpers import docker

        proc = docker("logs", self.name, check=False)
        return proc.stdout + proc.stderr

    def remove(self) -> None:
        from docker_helpers import force_remove

        force_remove(self.name)


def run_level(
    api, container: Container, server, clients: int, warmup: float, window: float
) -> dict:
    """One point: `clients` clients for warmup + window seconds; figures of the window."""
    import bench_memory
    from docker_helpers import MemorySampler

    records: list[tuple[str, float, float]] = []
    errors: list[tuple[float, str]] = []
    lock = threading.Lock()
    begin = time.monotonic()
    t0, t1 = begin + warmup, begin + warmup + window

    def record(kind: str, start: float, end: float) -> None:
        with lock:
            records.append((kind, start, end))

    def client(index: int) -> None:
        while time.monotonic() < t1:
            try:
                bench_memory.write_mix(
                    api,
                    index,
                    runs=10**9,
                    batches=BATCHES_PER_RUN,
                    metrics=METRICS_PER_BATCH,
                    deadline=t1,
                    record=record,
                    search=True,
                )
            except (urllib.error.URLError, OSError, KeyError, ValueError) as err:
                with lock:
                    errors.append((time.monotonic(), repr(err)[:300]))
                time.sleep(0.1)

    oom_before, flagged_before = container.oom_kills(), container.state().get("OOMKilled")
    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    with MemorySampler(container.id) as sampler:
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, t0 - time.monotonic()))
        cpu0, own0, host0 = container.cpu_seconds(), own_cpu_seconds(), host_cpu_ticks()
        pg0 = postgres_cpu_seconds(server)
        time.sleep(max(0.0, t1 - time.monotonic()))
        cpu1, own1, host1 = container.cpu_seconds(), own_cpu_seconds(), host_cpu_ticks()
        pg1 = postgres_cpu_seconds(server)
        for thread in threads:
            thread.join(timeout=120)
    state = container.state()
    in_window = sorted(end - start for _, start, end in records if t0 <= end <= t1)
    oom_kills = container.oom_kills() - oom_before
    if not oom_kills and state.get("OOMKilled") and not flagged_before:
        oom_kills = 1  # docker saw it, the cgroup counter did not (or is missing)
    kinds: dict[str, list[float]] = {}
    for kind, start, end in records:
        if t0 <= end <= t1:
            kinds.setdefault(kind, []).append(end - start)
    return {
        "clients": clients,
        "requests": len(in_window),
        "req_per_s": len(in_window) / window,
        "p50_ms": percentile(in_window, 0.50) * 1000,
        "p95_ms": percentile(in_window, 0.95) * 1000,
        "p99_ms": percentile(in_window, 0.99) * 1000,
        "mean_ms": statistics.fmean(in_window) * 1000 if in_window else 0.0,
        "by_request": {
            k: {"count": len(v), "p95_ms": percentile(sorted(v), 0.95) * 1000}
            for k, v in sorted(kinds.items())
        },
        "errors": len(errors),  # in warm-up, window and the requests ending after it
        "errors_in_window": sum(1 for when, _ in errors if t0 <= when <= t1),
        "first_error": errors[0][1] if errors else "",
        "peak_mib": sampler.peak / 2**20,
        "oom_kills": oom_kills,
        "alive": bool(state.get("Running")),
        "server_cpu_cores": (cpu1 - cpu0) / window,
        "postgres_cpu_cores": (pg1 - pg0) / window,
        "server_cpu_ms_per_request": (cpu1 - cpu0) / len(in_window) * 1000 if in_window else 0.0,
        "client_cpu_pct": (own1 - own0) / window * 100,
        "host_cpu_pct": (host1[0] - host0[0]) / max(1, host1[1] - host0[1]) * 100,
        "raw": records,
        "t0": t0,
    }


def create_database(server, name: str) -> None:
    """A new, empty database on the PostgreSQL server (name: lower-case letters, digits, _)."""
    assert name.replace("_", "").isalnum() and name.islower(), name
    server.create_database(name)


def measure_config(
    image: str, server, cpu: int, memory: int, workers: int, args, workdir: Path, secrets: dict
) -> list[dict]:
    import bench_memory

    defaults = ecs_defaults()
    database = f"bench_{cpu}_{memory}_{workers}w_{os.getpid()}"
    create_database(server, database)
    port = bench_memory.free_port()
    env = {
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(port),
        "MLFLOW_WORKERS": str(workers),
        "MLFLOW_KEEP_ALIVE_TIMEOUT": "65",
        "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE": str(defaults["ecs_sqlalchemy_pool_size"]),
        "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW": str(defaults["ecs_sqlalchemy_max_overflow"]),
        "MLFLOW_DB_HOST": "127.0.0.1",
        "MLFLOW_DB_PORT": str(server.port),
        "MLFLOW_DB_NAME": database,
        "MLFLOW_DB_USERNAME": server.user,
        "MLFLOW_DB_PASSWORD": server.password,
        "MLFLOW_DB_SSLMODE": "require",
        "MLFLOW_AUTH_ENABLED": "true",
        "MLFLOW_AUTH_ADMIN_USERNAME": ADMIN_USER,
        "MLFLOW_AUTH_ADMIN_PASSWORD": secrets["admin_password"],
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets["secret_key"],
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    name = f"bench-task-size-{cpu}-{memory}-{workers}w-{port}"
    container = Container(image, name, port, cpu, memory, workers, env, workdir)
    label = f"{cpu}/{memory} {workers}w"
    points = []
    container.start()
    try:
        startup = container.wait_healthy()
        print(f"#   {label}: healthy after {startup:.1f} s", file=sys.stderr, flush=True)
        api = bench_memory.Api(port, (ADMIN_USER, secrets["admin_password"]))
        for clients in args.client_levels:
            point = {"cpu": cpu, "memory": memory, "workers": workers, "startup_s": startup}
            if not container.state().get("Running"):
                point.update(
                    clients=clients,
                    requests=0,
                    req_per_s=0.0,
                    p50_ms=0.0,
                    p95_ms=0.0,
                    p99_ms=0.0,
                    errors=0,
                    oom_kills=0,
                    alive=False,
                    peak_mib=0.0,
                    note="container not running",
                )
                points.append(point)
                continue
            point.update(run_level(api, container, server, clients, args.warmup, args.window))
            raw = point.pop("raw")
            t0 = point.pop("t0")
            if args.output_dir:
                path = args.output_dir / f"{cpu}-{memory}-{workers}w-{clients}c.jsonl"
                with path.open("w") as handle:
                    for kind, start, end in raw:
                        handle.write(
                            json.dumps([kind, round(start - t0, 4), round(end - start, 4)]) + "\n"
                        )
            print(
                f"#   {label} {clients:>2} clients: {point['req_per_s']:.1f} req/s, "
                f"p95 {point['p95_ms']:.0f} ms, {point['errors']} errors, "
                f"peak {point['peak_mib']:.0f} MiB",
                file=sys.stderr,
                flush=True,
            )
            points.append(point)
    finally:
        if args.output_dir:
            (args.output_dir / f"{cpu}-{memory}-{workers}w.log").write_text(container.logs())
        container.remove()
    return points


# --------------------------------------------------------------------------- report


def add_costs(points: list[dict], prices: dict) -> None:
    for p in points:
        p["hourly_usd"] = hourly_price(p["cpu"], p["memory"], prices)
        p["cost_per_million"] = cost_per_million(p["cpu"], p["memory"], p["req_per_s"], prices)


def table(points: list[dict]) -> str:
    header = (
        f"{'CPU/MiB':>9} {'wk':>2} {'cl':>3} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'err':>4} {'peak MiB':>8} {'peak %':>6} {'OOM':>3} "
        f"{'srv CPU':>7} {'ms/req':>6} {'pg CPU':>6} {'client':>6} {'host':>5} {'USD/h':>7} "
        f"{'USD/1M req':>10}"
    )
    lines = [header, "-" * len(header)]
    for p in points:
        if not p.get("alive", True) and not p["requests"]:
            lines.append(
                f"{p['cpu']:>4}/{p['memory']:<4} {p['workers']:>2} {p['clients']:>3} "
                f"{p.get('note', 'no request served')}"
            )
            continue
        lines.append(
            f"{p['cpu']:>4}/{p['memory']:<4} {p['workers']:>2} {p['clients']:>3} "
            f"{p['req_per_s']:>6.1f} {p['p50_ms']:>7.0f} {p['p95_ms']:>7.0f} {p['p99_ms']:>7.0f} "
            f"{p['errors']:>4} {p['peak_mib']:>8.0f} {p['peak_mib'] / p['memory']:>6.0%} "
            f"{p['oom_kills']:>3} {p['server_cpu_cores']:>7.2f} "
            f"{p['server_cpu_ms_per_request']:>6.0f} {p['postgres_cpu_cores']:>6.2f} "
            f"{p['client_cpu_pct']:>5.0f}% "
            f"{p['host_cpu_pct']:>4.0f}% {p['hourly_usd']:>7.4f} {p['cost_per_million']:>10.3f}"
        )
    return "\n".join(lines)


def describe(p: dict) -> str:
    return (
        f"{p['cpu']} CPU units / {p['memory']} MiB, {p['workers']} worker"
        f"{'s' if p['workers'] > 1 else ''}: {p['req_per_s']:.1f} req/s, p95 "
        f"{p['p95_ms']:.0f} ms, {p['errors']} errors, {p['oom_kills']} OOM kills, "
        f"USD {p['cost_per_million']:.3f} per million requests "
        f"(USD {p['hourly_usd']:.4f}/h)"
    )


def choice_text(points: list[dict], p95_goal_ms: float, clients: int) -> str:
    picked = choose(points, p95_goal_ms, clients)
    rule = (
        f"lowest cost per million requests among the configurations with p95 <= "
        f"{p95_goal_ms:g} ms at {clients} clients, no error and no OOM kill"
    )
    if picked["choice"]:
        lines = [f"choice ({rule}):", "  " + describe(picked["choice"])]
        for other in picked["qualified"][1:]:
            lines.append("  also qualified: " + describe(other))
    else:
        lines = [f"choice ({rule}): NONE qualifies; closest (lowest p95 at {clients} clients):"]
        lines += ["  " + describe(p) for p in picked["closest"]]
    return "\n".join(lines)


def report(results: dict, markdown: bool = False) -> None:
    """Print the run's context, the table of every point and the choice (Markdown: the table
    as docs/task-size.md shows it)."""
    points, prices = results["points"], results["prices"]
    before, after = results["load_average_before"], results["load_average_after"]
    print(
        f"{results['date']}, {results['machine']}, image {results['image']} (MLflow "
        f"{results['mlflow']}), PostgreSQL {results['postgresql']}, Docker {results['docker']}; "
        f"{results['warmup_s']:g} s warm-up + {results['window_s']:g} s window per point; load "
        f"average {before[0]:.2f} before, {after[0]:.2f} after"
    )
    print(
        f"Fargate {prices['architecture']} prices ({prices['file']}): vCPU-hour "
        f"{prices['vcpu_hour']}, GB-hour {prices['gb_hour']} USD\n"
    )
    print(markdown_table(points) if markdown else table(points))
    print(
        "\nsrv CPU: cores the container used; ms/req: its CPU ms per request; pg CPU: cores "
        "PostgreSQL used; client: this load generator, % of one core (near 100 % = "
        "client-bound); host: all cores busy\n"
    )
    top = max(p["clients"] for p in points)
    print(choice_text(points, results["p95_goal_ms"], top))


def markdown_table(points: list[dict]) -> str:
    lines = [
        "| CPU / MiB | workers | clients | req/s | p50 ms | p95 ms | p99 ms | errors | peak MiB "
        "(% of task) | OOM kills | server CPU (cores) | server CPU ms/request | PostgreSQL CPU "
        "(cores) | client CPU (% of a core) | host busy | USD/hour | USD per 1M requests |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in points:
        if not p["requests"]:
            lines.append(
                f"| {p['cpu']} / {p['memory']} | {p['workers']} | {p['clients']} | "
                f"{p.get('note', 'no request served')} |" + " |" * 13
            )
            continue
        lines.append(
            f"| {p['cpu']} / {p['memory']} | {p['workers']} | {p['clients']} | "
            f"{p['req_per_s']:.1f} | {p['p50_ms']:.0f} | {p['p95_ms']:.0f} | {p['p99_ms']:.0f} | "
            f"{p['errors']} | {p['peak_mib']:.0f} ({p['peak_mib'] / p['memory']:.0%}) | "
            f"{p['oom_kills']} | {p['server_cpu_cores']:.2f} | "
            f"{p['server_cpu_ms_per_request']:.0f} | {p['postgres_cpu_cores']:.2f} | "
            f"{p['client_cpu_pct']:.0f} % | {p['host_cpu_pct']:.0f} % | {p['hourly_usd']:.4f} | "
            f"{p['cost_per_million']:.3f} |"
        )
    return "\n".join(lines)


def plot(results: dict, png: Path) -> None:
    """p95 and throughput by clients per configuration, and cost per million at 16 clients."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = results["points"]
    goal = results["p95_goal_ms"]
    configs = sorted({(p["cpu"], p["memory"], p["workers"]) for p in points})
    fig, (ax_p95, ax_rps, ax_cost) = plt.subplots(1, 3, figsize=(16, 5.2))
    for cpu, memory, workers in configs:
        series = sorted(
            (
                p
                for p in points
                if (p["cpu"], p["memory"], p["workers"]) == (cpu, memory, workers) and p["requests"]
            ),
            key=lambda p: p["clients"],
        )
        label = f"{cpu}/{memory}, {workers} worker{'s' if workers > 1 else ''}"
        style = "-" if workers == 1 else "--"
        xs = [p["clients"] for p in series]
        ax_p95.plot(xs, [p["p95_ms"] for p in series], style, marker="o", label=label)
        ax_rps.plot(xs, [p["req_per_s"] for p in series], style, marker="o", label=label)
    ax_p95.axhline(goal, color="red", linewidth=1)
    ax_p95.text(1, goal * 1.08, f"goal: p95 {goal:g} ms", color="red", fontsize=8)
    for ax, title, unit in ((ax_p95, "p95 latency", "ms"), (ax_rps, "throughput", "requests/s")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({p["clients"] for p in points}))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel("concurrent clients")
        ax.set_ylabel(unit)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    ax_p95.set_yscale("log")
    ax_rps.legend(fontsize=8)
    top = max(p["clients"] for p in points)
    at_top = [p for p in points if p["clients"] == top and p["requests"]]
    labels = [f"{p['cpu']}/{p['memory']}\n{p['workers']}w" for p in at_top]
    colors = [
        "tab:green"
        if p["p95_ms"] <= goal and not p["errors"] and not p["oom_kills"]
        else "tab:gray"
        for p in at_top
    ]
    ax_cost.bar(labels, [p["cost_per_million"] for p in at_top], color=colors)
    ax_cost.set_ylabel("USD per million requests")
    ax_cost.set_title(f"cost at {top} clients (green: p95 <= {goal:g} ms, no error/OOM)")
    ax_cost.grid(True, axis="y", alpha=0.3)
    fig.suptitle(
        f"MLflow server by Fargate task size (CPU units / MiB), PostgreSQL backend; "
        f"{results['machine']}, {results['date']}",
        fontsize=10,
    )
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=100)


# --------------------------------------------------------------------------- main


def machine() -> str:
    return f"{os.cpu_count()}-core {platform.machine()} host"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default="256/512,512/1024,1024/2048",
        help="task sizes, CPU units/MiB (default: %(default)s)",
    )
    parser.add_argument("--workers", default="1,2", help="MLFLOW_WORKERS values (1,2)")
    parser.add_argument("--clients", default="1,4,16", help="client levels (1,4,16)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds per level (10)")
    parser.add_argument("--window", type=float, default=30, help="measured seconds per level (30)")
    parser.add_argument("--p95-goal", type=float, default=500, help="ms (500)")
    parser.add_argument("--json", action="store_true", help="print the measures as JSON too")
    parser.add_argument("--output-dir", type=Path, help="keep raw results (requests, logs) here")
    parser.add_argument(
        "--png",
        type=Path,
        help="chart (default: docs/task-size.png for the whole matrix with the default window, "
        "else task-size.png in --output-dir, else none: a partial run never replaces the "
        "published chart)",
    )
    parser.add_argument("--no-plot", action="store_true", help="no chart")
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="RESULTS_JSON",
        help="only draw the chart of a results.json (run with .venv-mlflow)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        metavar="RESULTS_JSON",
        help="only print the table (Markdown) and the choice of a results.json",
    )
    args = parser.parse_args(argv)

    if args.plot:
        args.png = args.png or DEFAULT_PNG
        plot(json.loads(args.plot.read_text()), args.png)
        print(f"chart: {args.png}")
        return 0
    if args.report:
        report(json.loads(args.report.read_text()), markdown=True)
        return 0

    if args.png is None and not args.no_plot:
        whole = all(
            getattr(args, name) == parser.get_default(name)
            for name in ("sizes", "workers", "clients", "warmup", "window")
        )
        if whole:
            args.png = DEFAULT_PNG
        elif args.output_dir:
            args.png = args.output_dir / "task-size.png"
        else:
            args.no_plot = True
    if not args.no_plot and not MLFLOW_PYTHON.exists():
        parser.error(
            f"the chart is drawn with {MLFLOW_PYTHON} (matplotlib), which does not exist: "
            "run `make mlflow-venv` (or set MLFLOW_VENV), or pass --no-plot"
        )

    sys.path.insert(0, str(ROOT / "tools"))
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    import build_image
    from docker_helpers import docker, engine_answers
    from postgres_helpers import PostgresServer

    args.client_levels = [int(c) for c in args.clients.split(",")]
    prices = fargate_prices()
    if args.output_dir:
        args.output_dir.mkdir(parents=True, exist_ok=True)
    if not engine_answers():
        subprocess.run([str(ROOT / "tools" / "docker_engine.sh")], check=True)
    base = (
        subprocess.run(
            [str(ROOT / "tools" / "base_image.sh")], capture_output=True, text=True, check=True
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    image = build_image.build("mlflow-tracking", base)
    mlflow_version = docker(
        "run",
        "--rm",
        "--entrypoint",
        "python",
        image,
        "-c",
        "import mlflow; print(mlflow.__version__)",
    ).stdout.strip()
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(
        f"# image {image} (MLflow {mlflow_version}); load average {load_before[0]:.2f}",
        file=sys.stderr,
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="bench-task-size-"))
    workdir.chmod(0o700)
    secrets = {
        "admin_password": f"Bench-{os.urandom(12).hex()}",
        "secret_key": os.urandom(24).hex(),
    }
    server = PostgresServer(ssl=True).start()
    pg_version = server.query("postgres", "SHOW server_version")[0][0]
    points: list[dict] = []
    try:
        for cpu, memory in parse_sizes(args.sizes):
            for workers in (int(w) for w in args.workers.split(",")):
                print(f"# {cpu}/{memory}, {workers} worker(s)", file=sys.stderr, flush=True)
                try:
                    points += measure_config(
                        image, server, cpu, memory, workers, args, workdir, secrets
                    )
                except RuntimeError as err:
                    print(f"#   failed: {err}", file=sys.stderr, flush=True)
                    for clients in args.client_levels:
                        points.append(
                            {
                                "cpu": cpu,
                                "memory": memory,
                                "workers": workers,
                                "clients": clients,
                                "requests": 0,
                                "req_per_s": 0.0,
                                "p50_ms": 0.0,
                                "p95_ms": 0.0,
                                "p99_ms": 0.0,
                                "errors": 0,
                                "oom_kills": 0,
                                "alive": False,
                                "peak_mib": 0.0,
                                "note": str(err),
                            }
                        )
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    load_after = os.getloadavg()
    add_costs(points, prices)
    top = max(args.client_levels)
    results = {
        "date": started,
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "image": image,
        "mlflow": mlflow_version,
        "postgresql": pg_version,
        "docker": docker("version", "--format", "{{.Server.Version}}").stdout.strip(),
        "warmup_s": args.warmup,
        "window_s": args.window,
        "p95_goal_ms": args.p95_goal,
        "prices": {**prices, "architecture": ARCHITECTURE, "file": str(PRICES.relative_to(ROOT))},
        "points": points,
        "choice": choose(points, args.p95_goal, top)["choice"],
    }
    print()
    report(results)
    if args.output_dir:
        (args.output_dir / "results.json").write_text(json.dumps(results, indent=2))
    if args.json:
        print(json.dumps(results, indent=2))
    if not args.no_plot:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
            json.dump(results, handle)
        try:
            subprocess.run(
                [str(MLFLOW_PYTHON), __file__, "--plot", handle.name, "--png", str(args.png)],
                check=True,
            )
        finally:
            with contextlib.suppress(OSError):
                os.unlink(handle.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
