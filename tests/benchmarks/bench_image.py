#!/usr/bin/env python3
"""The MLflow image next to stock `mlflow server`, both in containers under the task's limits.

    python tests/benchmarks/bench_image.py [--memory 512] [--load-cpus 0.25] [--seconds 20]
    make bench-image

Not part of pytest: it prints figures (docker/README.md quotes them). Needs a Docker engine and
the stand-in base (tools/test-deps.sh). Both configurations run the image built from docker/:

  ours   the image's entrypoint with its defaults (uvicorn exec'd, 1 worker), SQLite in
         /mlflow/data, read-only root file system with tmpfs volumes on /tmp and /mlflow/data;
  stock  `mlflow server --backend-store-uri sqlite:////mlflow/data/mlflow.db` with MLflow's
         defaults otherwise (4 workers, job runner, huey consumers), as the old stack ran it
         (the file store it would default to is refused by MLflow 3.17).

For each: the image size; start-to-healthy (`docker run` to /health 200) at 0.25 and 1 vCPU;
then, at --load-cpus and --memory, 1, 4 and 16 concurrent clients each creating a run and
logging batches of 50 metrics through the REST API for --seconds: log-batch requests per second,
p50 and p95 latency, errors; and the peak memory of the container (usage minus inactive page
cache, as `docker stats` counts it, sampled every 0.2 s). A container the kernel OOM-kills is
reported as such.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import build_image  # noqa: E402
from docker_helpers import MemorySampler, docker, image_size  # noqa: E402

CLIENT_LEVELS = (1, 4, 16)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(image: str, config: str, port: int, cpus: float, memory: int) -> str:
    name = f"bench-{config}-{port}"
    # No --rm: an OOM-killed container stays inspectable until stop() removes it.
    common = ["docker", "run", "-d", "--name", name, "--network", "host",
              "--cpus", f"{cpus:g}", "--memory", f"{memory}m", "--memory-swap", f"{memory}m",
              "--tmpfs", "/tmp:mode=1777",
              "--tmpfs", "/mlflow/data:uid=10001,gid=10001,mode=0755",
              "-e", "MLFLOW_DISABLE_TELEMETRY=true"]  # fmt: skip
    if config == "ours":
        cmd = [*common, "--read-only", "-e", "MLFLOW_HOST=127.0.0.1", "-e", f"MLFLOW_PORT={port}",
               image]  # fmt: skip
    else:
        store = "sqlite:////mlflow/data/mlflow.db"
        cmd = [*common, "--entrypoint", "mlflow", image, "server", "--host", "127.0.0.1",
               "--port", str(port), "--backend-store-uri", store]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return name


def state(name: str) -> dict:
    proc = docker("inspect", name, check=False)
    return json.loads(proc.stdout)[0]["State"] if proc.returncode == 0 else {}


def stop(name: str) -> None:
    docker("rm", "-f", name, check=False)


def wait_healthy(name: str, port: int, timeout: float = 180) -> tuple[float | None, str]:
    begin = time.monotonic()
    while time.monotonic() - begin < timeout:
        st = state(name)
        if not st or not st.get("Running"):
            return None, "OOM-killed" if st.get("OOMKilled") else f"exited {st.get('ExitCode')}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                if resp.status == 200:
                    return time.monotonic() - begin, "ok"
        except OSError:
            pass
        time.sleep(0.1)
    return None, "timeout"


def post(base: str, path: str, payload: dict, timeout: float = 60) -> dict:
    req = urllib.request.Request(
        base + path,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read() or b"{}")


def load(base: str, clients: int, seconds: float) -> dict:
    experiment = post(base, "/api/2.0/mlflow/experiments/create",
                      {"name": f"bench-{clients}-{time.time_ns()}"})["experiment_id"]  # fmt: skip
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        try:
            run_id = post(base, "/api/2.0/mlflow/runs/create",
                          {"experiment_id": experiment})["run"]["info"]["run_id"]  # fmt: skip
        except (OSError, KeyError, ValueError):
            with lock:
                errors[0] += 1
            return
        step = 0
        while time.monotonic() < deadline:
            now = int(time.time() * 1000)
            metrics = [{"key": f"m{i}", "value": n + i / 100, "timestamp": now, "step": step}
                       for i in range(50)]  # fmt: skip
            begin = time.monotonic()
            try:
                post(base, "/api/2.0/mlflow/runs/log-batch", {"run_id": run_id, "metrics": metrics})
                with lock:
                    latencies.append(time.monotonic() - begin)
            except (OSError, ValueError):
                with lock:
                    errors[0] += 1
            step += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    begin = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - begin
    latencies.sort()
    pick = (
        (lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))])
        if latencies
        else None
    )
    return {
        "rps": len(latencies) / elapsed,
        "p50": pick(0.5) if pick else None,
        "p95": pick(0.95) if pick else None,
        "errors": errors[0],
    }


def measure(image: str, config: str, args) -> dict:
    out: dict = {"start": {}}
    for cpus in (0.25, 1.0):
        port = free_port()
        name = start(image, config, port, cpus, args.memory)
        try:
            seconds, status = wait_healthy(name, port)
            out["start"][cpus] = f"{seconds:.1f} s" if seconds is not None else status
        finally:
            stop(name)
    port = free_port()
    name = start(image, config, port, args.load_cpus, args.memory)
    try:
        seconds, status = wait_healthy(name, port)
        if seconds is None:
            out["load"] = status
            return out
        container_id = docker("inspect", "-f", "{{.Id}}", name).stdout.strip()
        time.sleep(3)  # let background threads (job runner, huey) settle
        out["levels"] = {}
        with MemorySampler(container_id) as sampler:
            for clients in CLIENT_LEVELS:
                if not state(name).get("Running"):
                    break
                out["levels"][clients] = load(f"http://127.0.0.1:{port}", clients, args.seconds)
        st = state(name)
        out["peak_mib"] = sampler.peak / 2**20
        out["load"] = "OOM-killed" if st.get("OOMKilled") else (
            "ok" if st.get("Running") else f"exited {st.get('ExitCode')}")  # fmt: skip
    finally:
        stop(name)
    return out


def fmt_level(level: dict | None) -> str:
    if not level:
        return "-"
    if level["p50"] is None:
        return f"0 req/s, {level['errors']} errors"
    text = (
        f"{level['rps']:.1f} req/s, p50 {level['p50'] * 1000:.0f} ms, "
        f"p95 {level['p95'] * 1000:.0f} ms"
    )
    return text + (f", {level['errors']} errors" if level["errors"] else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", type=int, default=512, help="MiB, like the task (512)")
    parser.add_argument("--load-cpus", type=float, default=0.25, help="vCPU under load (0.25)")
    parser.add_argument("--seconds", type=float, default=20, help="per client level (20)")
    parser.add_argument("--configs", default="ours,stock")
    args = parser.parse_args(argv)
    base = subprocess.run([str(ROOT / "tools" / "base_image.sh")], capture_output=True, text=True,
                          check=True).stdout.strip().splitlines()[-1]  # fmt: skip
    image = build_image.build("mlflow-tracking", base)
    size = image_size(image)
    results = {}
    for config in args.configs.split(","):
        print(f"measuring {config} ...", file=sys.stderr, flush=True)
        results[config] = measure(image, config, args)
    configs = list(results)
    rows = [("image size", *[f"{size / 1e6:.0f} MB (same image)" for _ in configs])]
    for cpus in (0.25, 1.0):
        rows.append((f"start to healthy, {cpus:g} vCPU / {args.memory} MiB",
                     *[results[c]["start"][cpus] for c in configs]))  # fmt: skip
    rows.append((f"under load ({args.load_cpus:g} vCPU / {args.memory} MiB)",
                 *[results[c]["load"] for c in configs]))  # fmt: skip
    rows.append(("peak memory under load",
                 *[f"{results[c]['peak_mib']:.0f} MiB ({results[c]['peak_mib'] / args.memory:.0%})"
                   if "peak_mib" in results[c] else "-" for c in configs]))  # fmt: skip
    for clients in CLIENT_LEVELS:
        label = f"{clients} client{'s' if clients > 1 else ''}, log-batch of 50 metrics"
        rows.append((label, *[fmt_level(results[c].get("levels", {}).get(clients))
                              for c in configs]))  # fmt: skip
    header = ("", *configs)
    print(f"\nimage {image}; load {args.seconds:g} s per level\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
