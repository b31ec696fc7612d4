#!/usr/bin/env python3
"""Memory of the MLflow server process tree: stock `mlflow server` next to our entrypoint.

    python tests/benchmarks/bench_memory.py [--clients 8] [--runs 5] [--batches 10]
                                            [--configs stock,stock-tuned,ours,ours-auth]

Not part of pytest: it prints figures. Every configuration runs on this machine, SQLite in a
fresh temporary directory, 127.0.0.1 only, the same load: N concurrent clients, each creating
runs and logging batches of metrics through the REST API (bounded by count and by --max-seconds).
The whole process tree (the server's session) is sampled from /proc/<pid>/smaps_rollup: PSS,
so pages shared between the uvicorn supervisor and its workers are counted once. Idle is measured
after startup settles; peak is the highest sample under load.

Configurations:
  stock        `mlflow server` with its defaults (4 workers, job runner, huey consumers)
  stock-tuned  `mlflow server --workers 1` with MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false
  ours         docker/entrypoint.py with its defaults (uvicorn exec'd directly, 1 worker)
  ours-2w      the same with MLFLOW_WORKERS=2
  ours-auth    the same with the basic-auth app
  ours-cli     the entrypoint with MLFLOW_LAUNCHER=mlflow (mlflow server CLI stays resident)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(os.environ.get("MLFLOW_VENV", ROOT / ".venv-mlflow")) / "bin" / "python"
TASK_MIB = 512
LIMIT_FRACTION = 0.70
ADMIN = ("admin", "bench-Admin-password-1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proc_stats():
    """(pid, fields of /proc/<pid>/stat after the command name) of each process still there:
    fields[0] is the state, [1] the parent pid, [3] the session id, [11:15] utime stime cutime
    cstime in clock ticks (proc(5))."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        yield int(entry.name), fields


def session_pids(sid: int) -> list[int]:
    return [pid for pid, fields in proc_stats() if int(fields[3]) == sid and fields[0] != "Z"]


def tree_pss_kib(sid: int) -> tuple[int, int]:
    """(PSS in KiB summed over the session's processes, number of processes)."""
    total = 0
    pids = session_pids(sid)
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total, len(pids)


def configs(workdir: Path, port: int) -> dict[str, tuple[list[str], dict]]:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    ours_env = {
        **base,
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(port),
        "MLFLOW_DATA_DIR": str(workdir / "data"),
    }
    entrypoint = [str(PYTHON), str(ROOT / "docker" / "entrypoint.py"), "serve"]
    mlflow = [str(PYTHON), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    return {
        "stock": (mlflow, base),
        "stock-tuned": (
            [*mlflow, "--workers", "1"],
            {**base, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        ),
        "ours": (entrypoint, ours_env),
        "ours-2w": (entrypoint, {**ours_env, "MLFLOW_WORKERS": "2"}),
        "ours-auth": (
            entrypoint,
            {
                **ours_env,
                "MLFLOW_AUTH_ENABLED": "true",
                "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN[1],
                "MLFLOW_FLASK_SERVER_SECRET_KEY": "bench-flask-secret-key-0123456789",
            },
        ),
        "ours-cli": (entrypoint, {**ours_env, "MLFLOW_LAUNCHER": "mlflow"}),
    }


class Api:
    def __init__(self, port: int, auth: tuple[str, str] | None) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.headers = {"Content-Type": "application/json"}
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def call(self, path: str, payload: dict | None = None) -> dict:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(
            self.base + path, data=data, headers=self.headers, method="POST" if data else "GET"
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"{}")


def write_mix(
    api: Api,
    index: int,
    *,
    runs: int,
    batches: int,
    metrics: int,
    deadline: float,
    record=None,
    search: bool = False,
) -> None:
    """One client's requests through the REST API, until `runs` runs are done or `deadline`.

    Creates an experiment, then for each run: runs/create, `batches` runs/log-batch calls of
    `metrics` metrics (plus one param in each of the first five), runs/update (FINISHED),
    runs/get, and with `search` a runs/search of the experiment (10 newest). `record(kind,
    start, end)` gets every request's monotonic start and end (kind: the path after
    /api/2.0/mlflow/). An error (HTTP or connection) propagates to the caller.
    bench_task_size.py uses it too.
    """

    def call(kind: str, payload: dict | None = None, query: str = "") -> dict:
        start = time.monotonic()
        answer = api.call(f"/api/2.0/mlflow/{kind}{query}", payload)
        if record is not None:
            record(kind, start, time.monotonic())
        return answer

    exp = call("experiments/create", {"name": f"bench-{index}-{time.time_ns()}"})["experiment_id"]
    for run_index in range(runs):
        run_id = call("runs/create", {"experiment_id": exp, "start_time": int(time.time() * 1000)})[
            "run"
        ]["info"]["run_id"]
        for step in range(batches):
            if time.monotonic() > deadline:
                return
            now = int(time.time() * 1000)
            batch = [
                {"key": f"m{k}", "value": k * 0.1 + step, "timestamp": now, "step": step}
                for k in range(metrics)
            ]
            params = [{"key": f"p{step}", "value": str(run_index)}] if step < 5 else []
            call("runs/log-batch", {"run_id": run_id, "metrics": batch, "params": params})
        call(
            "runs/update",
            {"run_id": run_id, "status": "FINISHED", "end_time": int(time.time() * 1000)},
        )
        call("runs/get", query=f"?run_id={run_id}")
        if search:
            call(
                "runs/search",
                {
                    "experiment_ids": [exp],
                    "max_results": 10,
                    "order_by": ["attributes.start_time DESC"],
                },
            )


def client(api: Api, index: int, args, latencies: list, errors: list, deadline: float) -> None:
    """bench_memory's client: the write mix, timing only the log-batch calls."""

    def record(kind: str, start: float, end: float) -> None:
        if kind == "runs/log-batch":
            latencies.append(end - start)

    try:
        write_mix(
            api,
            index,
            runs=args.runs,
            batches=args.batches,
            metrics=args.metrics,
            deadline=deadline,
            record=record,
        )
    except (urllib.error.URLError, OSError, KeyError) as err:
        errors.append(repr(err))


def measure(name: str, cmd: list[str], env: dict, port: int, args) -> dict:
    workdir = Path(env["HOME"])
    log = open(workdir / f"{name}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        cmd, env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    result = {"name": name}
    try:
        start = time.monotonic()
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - start > 120:
                raise RuntimeError(f"{name} did not answer /health within 120 s")
            time.sleep(0.25)
        result["startup_s"] = time.monotonic() - start
        time.sleep(args.settle)  # job runner and huey consumers start after the server
        idle = []
        for _ in range(8):
            idle.append(tree_pss_kib(proc.pid))
            time.sleep(0.25)
        result["idle_kib"] = max(p for p, _ in idle)
        result["processes"] = max(n for _, n in idle)

        api = Api(port, ADMIN if name == "ours-auth" else None)
        latencies: list[float] = []
        errors: list[str] = []
        deadline = time.monotonic() + args.max_seconds
        threads = [
            threading.Thread(target=client, args=(api, i, args, latencies, errors, deadline))
            for i in range(args.clients)
        ]
        samples = []
        stop = threading.Event()

        def sampler() -> None:
            while not stop.is_set():
                samples.append(tree_pss_kib(proc.pid)[0])
                stop.wait(0.2)

        sampling = threading.Thread(target=sampler)
        sampling.start()
        load_start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        load_seconds = time.monotonic() - load_start
        time.sleep(1)
        stop.set()
        sampling.join()
        result["peak_kib"] = max(samples)
        result["requests"] = len(latencies)
        result["req_per_s"] = len(latencies) / load_seconds if load_seconds else 0.0
        result["p95_ms"] = (
            statistics.quantiles(latencies, n=20)[-1] * 1000 if len(latencies) > 20 else 0.0
        )
        result["errors"] = len(errors)
        if errors:
            result["first_error"] = errors[0]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for pid in session_pids(proc.pid):  # job runner children that outlived the server
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.close()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="stock,stock-tuned,ours,ours-2w,ours-auth,ours-cli")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--metrics", type=int, default=50)
    parser.add_argument("--max-seconds", type=float, default=120)
    parser.add_argument("--settle", type=float, default=5, help="seconds before idle sampling")
    parser.add_argument("--json", action="store_true", help="print results as JSON too")
    parser.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the `ours*` configurations (repeatable)",
    )
    args = parser.parse_args()
    if not PYTHON.exists():
        parser.error(f"{PYTHON} missing: create it with tools/mlflow_venv.sh")

    results = []
    for name in args.configs.split(","):
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        port = free_port()
        cmd, env = configs(workdir, port)[name]
        if name.startswith("ours"):
            env = {**env, **dict(item.split("=", 1) for item in args.server_env)}
        print(f"# {name}: {' '.join(cmd[1:])}", flush=True)
        try:
            results.append(measure(name, cmd, env, port, args))
        except RuntimeError as err:
            print(f"#   failed: {err}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    limit = TASK_MIB * LIMIT_FRACTION
    print()
    print(
        f"load: {args.clients} clients x {args.runs} runs x {args.batches} log-batch calls of "
        f"{args.metrics} metrics; PSS of the whole process tree; task memory {TASK_MIB} MiB, "
        f"limit {LIMIT_FRACTION:.0%} = {limit:.0f} MiB"
    )
    header = (
        f"{'config':<12} {'procs':>5} {'start s':>7} {'idle MiB':>9} {'peak MiB':>9} "
        f"{'peak %512':>9} {'req/s':>7} {'p95 ms':>7} {'errors':>6}  fits"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        idle, peak = r["idle_kib"] / 1024, r["peak_kib"] / 1024
        print(
            f"{r['name']:<12} {r['processes']:>5} {r['startup_s']:>7.1f} {idle:>9.0f} "
            f"{peak:>9.0f} {peak / TASK_MIB:>9.0%} {r['req_per_s']:>7.1f} {r['p95_ms']:>7.0f} "
            f"{r['errors']:>6}  {'yes' if peak < limit else 'NO'}"
        )
    if args.json:
        print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
