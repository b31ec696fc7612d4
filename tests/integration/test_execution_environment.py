"""The execution environment (execution-environment.yml, ansible-builder 3) that AWX runs jobs in.

`ansible-builder create` makes the build context; `docker build` builds it on the stand-in base
(tests/integration/docker_helpers.py `base_image`: Debian's Python 3.11, registries being out of
reach here), with this machine's pip settings handed in for the build only. The deploy then runs
inside the EE container, as an AWX job does (the project mounted as /runner/project, the AWS
credential as environment variables, the survey's answers as extra vars), against the emulator
(--network host).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EE_FILE = ROOT / "execution-environment.yml"
EE_NAME = "mlflow-ecs-ee"
RECIPE_LABEL = "org.mlops.mlflow-ecs.ee-recipe"
sys.path.insert(0, str(ROOT / "tools"))


def builder_create(context: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(BIN / "ansible-builder"),
            "create",
            "-f",
            str(EE_FILE),
            "-c",
            str(context),
            "--output-filename",
            "Containerfile",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_ee_asks_for_ranges_not_pins():
    ee = yaml.safe_load(EE_FILE.read_text())
    assert ee["version"] == 3
    deps = ee["dependencies"]
    requirements = [deps["ansible_core"]["package_pip"], deps["ansible_runner"]["package_pip"]]
    requirements += deps["python"]
    for requirement in requirements:
        assert "==" not in requirement and re.search(r">=.*,<", requirement), requirement
    names = {re.split(r"[<>=]", r)[0] for r in requirements}
    # What the playbooks import: the collections (bundled by `ansible`) and the AWS SDK.
    assert {"ansible-core", "ansible-runner", "ansible", "boto3", "botocore"} <= names


def test_ansible_builder_create_makes_the_build_context(tmp_path):
    proc = builder_create(tmp_path / "context")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    containerfile = (tmp_path / "context" / "Containerfile").read_text()
    assert 'ARG EE_BASE_IMAGE="docker.io/library/python:3.11-slim-bookworm"' in containerfile
    assert "RUN python3 -m venv /opt/ee" in containerfile
    requirements = (tmp_path / "context" / "_build" / "requirements.txt").read_text()
    assert "ansible>=12.3,<13" in requirements and "boto3" in requirements


def recipe_hash() -> str:
    """The EE's recipe: the file, the builder version and this test's build changes."""
    from importlib.metadata import version

    digest = hashlib.sha256(EE_FILE.read_bytes())
    digest.update(version("ansible-builder").encode())
    digest.update(inspect.getsource(offline_build_context).encode())
    return digest.hexdigest()[:16]


def offline_build_context(context: Path) -> None:
    """Hand this machine's pip settings to the build (and remove them from the image's end)."""
    import build_image

    build_image.write_build_files(context, build_image.pip_settings())
    containerfile = context / "Containerfile"
    text = containerfile.read_text()
    marker = "FROM $EE_BASE_IMAGE AS base\nUSER root\n"
    assert marker in text, "ansible-builder's Containerfile changed: update this test"
    files = ["build-pip.conf"] + (["build-ca.pem"] if (context / "build-ca.pem").exists() else [])
    text = text.replace(
        marker,
        marker
        + f"COPY {' '.join(files)} /tmp/build/\n"
        + "ENV PIP_CONFIG_FILE=/tmp/build/build-pip.conf\n",
    )
    text = text.replace(
        "\nUSER 1000\n", "\nRUN rm -rf /tmp/build\nENV PIP_CONFIG_FILE=\nUSER 1000\n"
    )
    containerfile.write_text(text)


@pytest.fixture(scope="module")
def ee_image(base_image, tmp_path_factory) -> str:
    """The EE built on the stand-in base; reused while its recipe is unchanged."""
    ref = f"{EE_NAME}:test-{recipe_hash()}"
    if subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0:
        return ref
    context = tmp_path_factory.mktemp("ee") / "context"
    proc = builder_create(context)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    offline_build_context(context)
    build = subprocess.run(
        [
            "docker",
            "build",
            "--network",
            "host",
            "--build-arg",
            f"EE_BASE_IMAGE={base_image}",
            "--label",
            f"{RECIPE_LABEL}={recipe_hash()}",
            "-f",
            str(context / "Containerfile"),
            "-t",
            ref,
            str(context),
        ],
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
        capture_output=True,
        text=True,
        timeout=1500,
    )
    if build.returncode != 0:
        pytest.fail(f"the EE did not build:\n{build.stdout[-4000:]}\n{build.stderr[-3000:]}")
    # EEs of older recipes are of no further use: remove them.
    listed = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", EE_NAME],
        capture_output=True,
        text=True,
    ).stdout.split()
    stale = [r for r in listed if r.startswith(f"{EE_NAME}:test-") and r != ref]
    if stale:
        subprocess.run(["docker", "image", "rm", *stale], capture_output=True)
    return ref


def in_ee(image: str, *args: str, mounts=(), env=None, workdir=None, timeout=600):
    cmd = ["docker", "run", "--rm", "--network", "host"]
    for src, dest in mounts:
        cmd += ["-v", f"{src}:{dest}"]
    for key, value in (env or {}).items():
        cmd += ["-e", f"{key}={value}"]
    if workdir:
        cmd += ["-w", workdir]
    cmd += [image, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def test_the_ee_holds_ansible_the_collections_and_the_aws_sdk(ee_image):
    proc = in_ee(ee_image, "ansible-galaxy", "collection", "list", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    found = {}
    for collections in json.loads(proc.stdout).values():
        found.update({name: info["version"] for name, info in collections.items()})
    assert found["amazon.aws"].startswith("10."), found.get("amazon.aws")
    assert found["community.aws"].startswith("10."), found.get("community.aws")
    sdk = in_ee(ee_image, "python3", "-c", "import boto3, botocore; print(boto3.__version__)")
    assert sdk.returncode == 0, sdk.stderr
    runner = in_ee(ee_image, "ansible-runner", "--version")
    assert runner.returncode == 0, runner.stderr
    # the build's pip settings did not stay in the image
    leftovers = in_ee(ee_image, "sh", "-c", "ls /tmp/build 2>/dev/null; echo $PIP_CONFIG_FILE")
    assert leftovers.stdout.strip() == ""


def test_the_deploy_runs_inside_the_ee_against_the_emulator(ee_image, emulator, tmp_path):
    # The project as AWX hands it to the job: the repository's files without .git.
    project = tmp_path / "project"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        src = ROOT / raw.decode()
        target = project / raw.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            target.symlink_to(os.readlink(src))
        elif src.is_file():
            shutil.copy2(src, target)
    # The job runs as the EE's user (1000), as in AWX: it owns the project copy (not world
    # writable, or Ansible would ignore the project's ansible.cfg) and writes outputs in it.
    subprocess.run(["chown", "-R", "1000:0", str(project)], check=True)
    extra = {
        "aws_endpoint_url": emulator.endpoint_url,
        "image_build": False,
        "mlflow_image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mlflow-tracking:ee-test",
    }
    proc = in_ee(
        ee_image,
        "ansible-playbook",
        "playbooks/deploy.yml",
        "-i",
        "inventories/local",
        "-e",
        json.dumps(extra),
        mounts=[(project, "/runner/project")],
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        workdir="/runner/project",
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-5000:] + proc.stderr[-3000:]
    assert re.search(r"localhost\s+: ok=\d+\s+changed=[1-9]", proc.stdout), proc.stdout[-2000:]
    (cluster,) = emulator.client("ecs").describe_clusters(clusters=["local-mlflow-cluster"])[
        "clusters"
    ]
    assert cluster["status"] == "ACTIVE"
    service = emulator.client("ecs").describe_services(
        cluster="local-mlflow-cluster", services=["local-mlflow-tracking"]
    )["services"][0]
    assert service["taskDefinition"].split("/")[-1].startswith("local-mlflow-tracking:")
