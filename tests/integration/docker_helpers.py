"""A Docker engine, the stand-in base image, the MLflow image and a local registry, for tests.

Session fixtures (a test module imports the ones it uses; the builds are cached by name and
content, so a second module using them finds them ready):

- `docker_engine`: `docker info` answers (tools/docker_engine.sh starts dockerd when it can);
- `base_image`: the stand-in for python:3.11-slim-bookworm (tools/base_image.sh), built once
  and cached by name and recipe label;
- `mlflow_image`: docker/ built on it with this machine's pip settings (tools/build_image.py),
  tagged with the content tag, so it is built once per content (and per session at most);
- `local_registry`: Debian's docker-registry on a free loopback port, for push tests.

A missing prerequisite fails the test with what to run; nothing here skips.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import build_image  # noqa: E402

REGISTRY_BINARY = Path("/usr/bin/docker-registry")


def docker(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return docker("info", timeout=30, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture(scope="session")
def docker_engine() -> str:
    """A Docker engine that answers; started with tools/docker_engine.sh when not running."""
    if not engine_answers():
        proc = subprocess.run(
            [str(ROOT / "tools" / "docker_engine.sh")], capture_output=True, text=True
        )
        if proc.returncode != 0 or not engine_answers():
            pytest.fail(
                "no Docker engine answers and none could be started "
                f"({proc.stderr.strip() or proc.stdout.strip()}): run tools/test-deps.sh as root "
                "(make test does), which installs Debian's docker.io and starts dockerd"
            )
    return docker("info", "--format", "{{.ServerVersion}}").stdout.strip()


@pytest.fixture(scope="session")
def base_image(docker_engine) -> str:
    """The stand-in base image, built from Debian packages once (tools/base_image.sh)."""
    proc = subprocess.run(
        [str(ROOT / "tools" / "base_image.sh")], capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        pytest.fail(
            "the stand-in base image could not be built (tools/base_image.sh needs root and "
            f"debootstrap, see tools/test-deps.sh):\n{proc.stderr[-3000:]}"
        )
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def mlflow_image(base_image) -> str:
    """docker/ built on the stand-in base, tagged with its content tag (built once)."""
    try:
        return build_image.build("mlflow-tracking", base_image)
    except RuntimeError as err:
        pytest.fail(str(err))


def tiny_base(arch: str) -> str:
    """A one-file base image for `arch` (amd64, arm64), made without any build or emulation.

    For tests of multi-platform builds whose Dockerfile only copies files: the classic builder
    gives an image the base's architecture, so each platform needs a base of its own. The
    image is written in `docker save`'s layout with the architecture in its config, and loaded
    (Docker 20.10 ignores `docker import --platform`).
    """
    ref = f"mlflow-ecs-tiny/base:{arch}"
    found = docker("image", "inspect", "-f", "{{.Architecture}}", ref, check=False)
    if found.returncode == 0 and found.stdout.strip() == arch:
        return ref

    def add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))

    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as archive:
        add(archive, "base-architecture", f"{arch}\n".encode())
    layer_bytes = layer.getvalue()
    config = {
        "architecture": arch,
        "os": "linux",
        **({"variant": "v8"} if arch == "arm64" else {}),
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
        "rootfs": {
            "type": "layers",
            "diff_ids": [f"sha256:{hashlib.sha256(layer_bytes).hexdigest()}"],
        },
        "history": [{"created_by": "tests/integration/docker_helpers.py tiny_base"}],
    }
    config_bytes = json.dumps(config).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": [ref], "Layers": ["layer/layer.tar"]}]
    with tempfile.NamedTemporaryFile(suffix=".tar") as image:
        with tarfile.open(fileobj=image, mode="w") as archive:
            add(archive, "layer/layer.tar", layer_bytes)
            add(archive, config_name, config_bytes)
            add(archive, "manifest.json", json.dumps(manifest).encode())
        image.flush()
        docker("load", "-i", image.name)
    return ref


def image_size(ref: str) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", ref).stdout.strip())


def image_config(ref: str) -> dict:
    return json.loads(docker("image", "inspect", ref).stdout)[0]["Config"]


@dataclass
class Registry:
    host: str  # host:port, what image names start with

    def manifest(self, repository: str, reference: str) -> tuple[int, str]:
        """(status, Docker-Content-Digest) of a manifest, as the registry API answers."""
        req = urllib.request.Request(
            f"http://{self.host}/v2/{repository}/manifests/{reference}",
            method="HEAD",
            headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, resp.headers.get("Docker-Content-Digest", "")
        except urllib.error.HTTPError as err:
            return err.code, ""

    def tags(self, repository: str) -> list[str]:
        try:
            with urllib.request.urlopen(f"http://{self.host}/v2/{repository}/tags/list") as resp:
                return json.load(resp).get("tags") or []
        except urllib.error.HTTPError:
            return []


@pytest.fixture(scope="session")
def local_registry(docker_engine, tmp_path_factory) -> Registry:
    """Debian's docker-registry on a free loopback port (Docker trusts 127.0.0.0/8 over HTTP)."""
    if not REGISTRY_BINARY.exists():
        pytest.fail(
            f"{REGISTRY_BINARY} missing: install Debian's docker-registry (tools/test-deps.sh)"
        )
    from conftest import free_port

    port = free_port()
    workdir = tmp_path_factory.mktemp("registry")
    config = workdir / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log:\n  level: warn\n"
        f"storage:\n  filesystem:\n    rootdirectory: {workdir / 'data'}\n"
        "  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    log = open(workdir / "registry.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(REGISTRY_BINARY), "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    registry = Registry(f"127.0.0.1:{port}")
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://{registry.host}/v2/", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail(
                    f"docker-registry did not start:\n{(workdir / 'registry.log').read_text()}"
                )
            time.sleep(0.2)
    yield registry
    proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)
    if proc.poll() is None:
        proc.kill()
    log.close()


def container_memory_cgroup(container_id: str) -> Path:
    """The container's memory cgroup directory (v1, as dockerd with cgroupfs makes it)."""
    for candidate in (
        Path("/sys/fs/cgroup/memory/docker") / container_id,
        Path("/sys/fs/cgroup/docker") / container_id,
        Path("/sys/fs/cgroup/system.slice") / f"docker-{container_id}.scope",
    ):
        if candidate.exists():
            return candidate
    raise AssertionError(f"no memory cgroup found for container {container_id}")


def memory_in_use(cgroup: Path) -> int:
    """Bytes in use, as `docker stats` counts them: usage minus reclaimable page cache."""
    if (cgroup / "memory.usage_in_bytes").exists():
        usage = int((cgroup / "memory.usage_in_bytes").read_text())
        stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
        return usage - int(stat.get("total_inactive_file", stat.get("inactive_file", 0)))
    usage = int((cgroup / "memory.current").read_text())
    stat = dict(line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
    return usage - int(stat.get("inactive_file", 0))


class MemorySampler:
    """Samples a container's memory in use every `interval` seconds in a thread; keeps the peak."""

    def __init__(self, container_id: str, interval: float = 0.2) -> None:
        import threading

        self.cgroup = container_memory_cgroup(container_id)
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, ValueError):
                self.peak = max(self.peak, memory_in_use(self.cgroup))
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)
        return False


def wait_health(name: str, timeout: float = 120) -> tuple[str, float]:
    """Wait for `docker inspect`'s health status to leave "starting"; (status, seconds)."""
    start = time.monotonic()
    status = "?"
    while time.monotonic() - start < timeout:
        proc = docker("inspect", "-f", "{{.State.Status}} {{.State.Health.Status}}", name,
                      check=False)  # fmt: skip
        if proc.returncode == 0:
            state, status = proc.stdout.split()
            if state != "running":
                return state, time.monotonic() - start
            if status != "starting":
                return status, time.monotonic() - start
        time.sleep(0.5)
    return status, time.monotonic() - start


def force_remove(name: str) -> None:
    docker("rm", "-f", name, check=False)


__all__ = [
    "Registry",
    "MemorySampler",
    "base_image",
    "docker",
    "docker_engine",
    "force_remove",
    "image_config",
    "image_size",
    "local_registry",
    "mlflow_image",
    "tiny_base",
    "wait_health",
]
# Kept for callers that pass the variable through.
os.environ.setdefault("DOCKER_BUILDKIT", "0")
