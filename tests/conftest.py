"""Shared fixtures: a real moto server per test module, and a runner for ansible-playbook.

Integration tests never mock boto3: they start the embedded emulator (tools/emulator.py) on a
free port, deploy with the real playbooks and read resources back with boto3.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import emulator as emulator_tool  # noqa: E402
from mitogen_strategy import strategy_env  # noqa: E402

# The Docker fixtures (engine, stand-in base image, local registry, the MLflow image) live in
# tests/integration/docker_helpers.py and are registered here, once. No other conftest.py may
# exist below tests/: test modules import this one as `conftest`.
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from docker_helpers import base_image, docker_engine, local_registry, mlflow_image  # noqa: E402,F401

# The throw-away PostgreSQL server of the backend tests (tests/integration/postgres_helpers.py).
from postgres_helpers import postgres, postgres_factory  # noqa: E402,F401

RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)",
    re.M,
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Emulator:
    port: int
    environment: str
    main_stack: dict = field(default_factory=dict)

    @property
    def endpoint_url(self) -> str:
        return emulator_tool.endpoint(self.port)

    def client(self, service: str):
        return emulator_tool.boto3_client(service, self.port)

    def reset(self) -> None:
        """Forget every resource (moto's reset API) and recreate the main stack."""
        import urllib.request

        req = urllib.request.Request(self.endpoint_url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(req, timeout=30).read()
        self.main_stack = emulator_tool.ensure_main_stack(self.port, self.environment)


def start_emulator(environment: str) -> Emulator:
    port = free_port()
    emulator_tool.start_server(port)
    return Emulator(port, environment, emulator_tool.ensure_main_stack(port, environment))


@pytest.fixture(scope="module")
def emulator_factory():
    """Start emulators on free ports (one per environment asked); stop them after the module."""
    started: dict[str, Emulator] = {}

    def get(environment: str = "local") -> Emulator:
        if environment not in started:
            started[environment] = start_emulator(environment)
        return started[environment]

    yield get
    for emu in started.values():
        emulator_tool.stop_server(emu.port)


@pytest.fixture(scope="module")
def emulator(emulator_factory) -> Emulator:
    """An emulator with the main stack for the `local` environment."""
    return emulator_factory("local")


@dataclass
class PlaybookResult:
    rc: int
    stdout: str
    stderr: str

    @property
    def recap(self) -> dict[str, int]:
        matches = list(RECAP.finditer(self.stdout))
        assert matches, f"no PLAY RECAP in output:\n{self.stdout[-3000:]}\n{self.stderr[-3000:]}"
        return {k: int(v) for k, v in matches[-1].groupdict().items() if k != "host"}

    @property
    def changed(self) -> int:
        return self.recap["changed"]

    def tail(self, n: int = 4000) -> str:
        return (
            f"rc={self.rc}\n--- stdout ---\n{self.stdout[-n:]}\n--- stderr ---\n{self.stderr[-n:]}"
        )


# The strategy of the playbook runs below: mitogen's (a supported option: README, "Faster runs
# with mitogen"; about a third quicker on CI's 2 cores). Ansible's default, as most users run
# it, runs the deploys and destroys of the make targets (test_make_targets.py), AWX's runner
# (test_awx.py), the installed collection (test_collection_install.py) and Molecule.
TEST_STRATEGY = "mitogen_linear"


def ansible_env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(emulator_tool.EMULATOR_ENV)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    env.update(strategy_env(TEST_STRATEGY))
    env.update(extra or {})
    return env


def run_playbook(
    playbook: str,
    *,
    inventory: str = "local",
    emulator: Emulator | None = None,
    extra_vars: dict | None = None,
    check: bool = False,
    diff: bool = False,
    verbose: int = 0,
    env: dict | None = None,
) -> PlaybookResult:
    """Run playbooks/<playbook>.yml with inventories/<inventory> against the emulator.

    An inventory with a comma is a host list, passed as it is (e.g. "localhost,").
    """
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        str(ROOT / "playbooks" / f"{playbook}.yml"),
        "-i",
        inventory if "," in inventory else str(ROOT / "inventories" / inventory),
    ]
    all_vars = dict(extra_vars or {})
    if emulator is not None:
        all_vars.setdefault("aws_endpoint_url", emulator.endpoint_url)
    if all_vars:
        cmd += ["-e", json.dumps(all_vars)]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbose:
        cmd.append("-" + "v" * verbose)
    proc = subprocess.run(
        cmd, cwd=ROOT, env=ansible_env(env), capture_output=True, text=True, timeout=1800
    )
    return PlaybookResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def playbook():
    return run_playbook


@pytest.fixture(scope="session")
def mlflow_venv() -> Path:
    """The MLflow server's virtualenv (the container's packages), made by `make setup`."""
    python = Path(os.environ.get("MLFLOW_VENV", ROOT / ".venv-mlflow")) / "bin" / "python"
    if not python.exists():
        pytest.fail(f"{python} missing: run tools/mlflow_venv.sh (make test does)")
    return python


@pytest.fixture(scope="session")
def postgres_binaries() -> Path:
    """Debian's PostgreSQL server binaries, installed by tools/test-deps.sh."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    if not found:
        pytest.fail("PostgreSQL server binaries missing: run tools/test-deps.sh (make test does)")
    return found[0].parent


# ------------------------------------------------------------------------------ printed figures
# Tests report what they measured with the standard `record_property` fixture under a name
# starting with "figure: " (e.g. record_property("figure: check runs", 3)); the values of one
# name are added up over the session, across xdist workers, and printed at the end of the run.
FIGURE_PREFIX = "figure: "


def pytest_terminal_summary(terminalreporter):
    totals: dict[str, float] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", ()):
                if isinstance(name, str) and name.startswith(FIGURE_PREFIX):
                    key = name[len(FIGURE_PREFIX) :]
                    totals[key] = totals.get(key, 0) + value
    if totals:
        terminalreporter.section("figures")
        for key in sorted(totals):
            value = totals[key]
            shown = int(value) if float(value).is_integer() else round(value, 2)
            terminalreporter.write_line(f"{key}: {shown}")


# ------------------------------------------------------------------------------ longest first
# pytest-xdist (--dist loadfile --no-loadscope-reorder, as make test runs it) hands each worker
# whole modules in collection order: the slowest modules start first, so no worker is left
# running a long module alone at the end. (Without --no-loadscope-reorder xdist orders modules by
# their number of tests instead, and a long module of four tests would start last.)
# Measured on 2 cores (README, Development); modules not listed keep their order after these.
SLOWEST_FIRST = [
    "test_settings.py",
    "test_storage.py",
    "test_interruptions.py",
    "test_security.py",
    "test_faults.py",
    "test_deploy_lock.py",
    "test_deploy.py",
    "test_container.py",
    "test_cost_options.py",
    "test_roles_network.py",
    "test_artifacts_transfer.py",
    "test_image.py",
    "test_check_mode.py",
    "test_awx.py",
    "test_make_targets.py",
    "test_ecs_role.py",
    "test_collection_install.py",
    "test_execution_environment.py",
]


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


# ------------------------------------------------------------------------------ module timeline
# One line per test module as its last test ends: wall clock, module, and the module's own time
# (modules quicker than TIMELINE_MIN_SECONDS left out).
# CI stops a run at its time limit; these lines show how far it got and what was slow. Printed by
# the process that reports (the xdist controller, or pytest itself without xdist).
TIMELINE_MIN_SECONDS = 10  # quicker modules are not listed
_timeline: dict[str, dict] = {}
_reporter: list = []  # the pytest config of the reporting process


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        _reporter.append(config)


def _count_modules(nodeids) -> None:
    if _timeline:
        return  # every xdist worker collects the same tests: count them once
    for nodeid in nodeids:
        entry = _timeline.setdefault(nodeid.split("::")[0], {"left": 0, "s": 0.0})
        entry["left"] += 1


def pytest_collection_finish(session):
    _count_modules(item.nodeid for item in session.items)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    _count_modules(ids)


def pytest_runtest_logreport(report):
    entry = _timeline.get(report.nodeid.split("::")[0])
    reporter = _reporter and _reporter[0].pluginmanager.get_plugin("terminalreporter")
    if entry is None or not reporter:
        return
    entry["s"] += report.duration
    if report.when == "teardown":
        entry["left"] -= 1
        if entry["left"] == 0 and entry["s"] >= TIMELINE_MIN_SECONDS:
            name = report.nodeid.split("::")[0]
            reporter.write("\n")
            reporter.write_line(f"[{time.strftime('%H:%M:%S')}] {name}: {entry['s']:.0f} s")
