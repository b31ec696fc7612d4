"""The collection as a user gets it: built, installed from its tarball, run by its FQCN.

The tarball carries the collection only (no link back to the checkout, no virtualenvs, caches,
local state or outputs, no development tooling). Installed into a fresh path, `ansible-playbook
mlops.mlflow_ecs.deploy` and `mlops.mlflow_ecs.destroy` run from an empty directory against the
emulator with an inventory of the user's, and nothing is ever written inside the installed
collection: the outputs land next to the user's inventory (or in the current directory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# What a tarball must never carry (first path component, or any component for caches).
NOT_SHIPPED_TOP = {
    ".venv",
    ".venv-mlflow",
    ".ansible",
    ".emulator",
    ".ci",
    ".git",
    ".ruff_cache",
    ".pytest_cache",
    "collections",
    "outputs",
    "tools",
    "awx",
    "extensions",
    "Makefile",
    "ansible.cfg",
    "pyproject.toml",
    "requirements-test.txt",
    "execution-environment.yml",
}
NOT_SHIPPED_ANYWHERE = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
# Any image reference: the deploy only names it in the task definition (no build, no pull).
IMAGE = "public.ecr.aws/example/mlflow-tracking:3.5.0"


def clean_env(**extra: str) -> dict[str, str]:
    """A user's shell: none of the test run's Ansible or AWS settings."""
    env = {
        "PATH": f"{BIN}{os.pathsep}/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def tarball(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (path,) = out.glob("mlops-mlflow_ecs-*.tar.gz")
    return path


def test_the_tarball_ships_the_collection_only(tarball):
    with tarfile.open(tarball) as tar:
        members = tar.getmembers()
        manifest = json.loads(tar.extractfile("MANIFEST.json").read())
    names = [m.name for m in members]
    assert not [m.name for m in members if m.issym() or m.islnk()], "links in the tarball"
    assert not [n for n in names if n.split("/")[0] in NOT_SHIPPED_TOP], sorted(
        {n.split("/")[0] for n in names}
    )
    assert not [n for n in names if set(n.split("/")) & NOT_SHIPPED_ANYWHERE]
    assert not [n for n in names if n.endswith((".pyc", ".tar.gz"))]
    assert not [
        n
        for n in names
        if n.startswith("tests/") and not n.startswith(("tests/unit", "tests/sanity"))
    ]
    for needed in (
        "COPYING",
        "README.md",
        "meta/runtime.yml",
        "playbooks/deploy.yml",
        "playbooks/destroy.yml",
        "plugins/modules/ecs_service.py",
        "roles/ecs/tasks/main.yml",
        "changelogs/changelog.yaml",
        "tests/sanity/ignore-2.19.txt",
    ):
        assert needed in names, needed
    info = manifest["collection_info"]
    assert info["license"] == ["GPL-3.0-or-later"]
    for link in ("repository", "issues", "documentation"):
        assert info[link], link


def snapshot(tree: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory of a tree with its size and modification time."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            stat = path.lstat()
            found[str(path.relative_to(tree))] = (stat.st_size, stat.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def installed(tarball, tmp_path_factory) -> Path:
    collections = tmp_path_factory.mktemp("installed")
    proc = subprocess.run(
        [
            str(BIN / "ansible-galaxy"),
            "collection",
            "install",
            "--no-deps",
            "--force",
            "-p",
            str(collections),
            str(tarball),
        ],
        # Not the checkout's settings: its ansible.cfg already holds the collection.
        cwd=collections,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (
        collections / "ansible_collections" / "mlops" / "mlflow_ecs" / "MANIFEST.json"
    ).is_file()
    return collections


def run_fqcn(playbook: str, cwd: Path, collections: Path, inventory: Path, extra: dict):
    # Python caches the bytecode of the controller-side plugins it imports (filter and test
    # plugins) next to their source; that is the interpreter's doing, not the collection's, and
    # it is skipped where the install is read-only. Sending it elsewhere leaves the snapshot
    # to measure what the playbooks themselves write.
    env = clean_env(
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_NOCOLOR="1",
        PYTHONPYCACHEPREFIX=str(collections.parent / "pycache"),
    )
    return subprocess.run(
        [
            str(BIN / "ansible-playbook"),
            f"mlops.mlflow_ecs.{playbook}",
            "-i",
            str(inventory),
            "-e",
            json.dumps(extra),
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def test_deploy_and_destroy_by_fqcn_write_nothing_inside_the_installed_collection(
    installed, emulator, tmp_path
):
    collection = installed / "ansible_collections" / "mlops" / "mlflow_ecs"
    before = snapshot(collection)
    # The user's own inventory (a copy of the local one) and an empty working directory.
    user = tmp_path / "user"
    inventory = user / "inventory"
    inventory.mkdir(parents=True)
    for name in ("hosts.yml", "group_vars/all/main.yml"):
        (inventory / name).parent.mkdir(parents=True, exist_ok=True)
        (inventory / name).write_text((ROOT / "inventories" / "local" / name).read_text())
    workdir = user / "work"
    workdir.mkdir()
    extra = {
        "aws_endpoint_url": emulator.endpoint_url,
        "image_build": False,
        "mlflow_image": IMAGE,
    }

    deploy = run_fqcn("deploy", workdir, installed, inventory, extra)
    assert deploy.returncode == 0, deploy.stdout[-5000:] + deploy.stderr[-3000:]
    ecs = emulator.client("ecs")
    (cluster,) = ecs.describe_clusters(clusters=["local-mlflow-cluster"])["clusters"]
    assert cluster["status"] == "ACTIVE"
    service = ecs.describe_services(
        cluster="local-mlflow-cluster", services=["local-mlflow-tracking"]
    )["services"][0]
    task_definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
    assert task_definition["taskDefinition"]["containerDefinitions"][0]["image"] == IMAGE
    written = sorted(str(p.relative_to(user)) for p in user.rglob("*.json"))
    assert written, (
        "deploy wrote its outputs nowhere next to the inventory or the working directory"
    )
    assert any(p.endswith("outputs/local.json") for p in written), written

    destroy = run_fqcn("destroy", workdir, installed, inventory, extra)
    assert destroy.returncode == 0, destroy.stdout[-5000:] + destroy.stderr[-3000:]
    clusters = ecs.describe_clusters(clusters=["local-mlflow-cluster"])["clusters"]
    assert [c["status"] for c in clusters if c["status"] == "ACTIVE"] == []

    assert snapshot(collection) == before, "something was written inside the installed collection"
