"""The image role's ECR part (playbooks/image.yml) against the emulator.

The emulator has no Docker engine behind it (and this sandbox none at all), so the build and
push are covered by the role's own message when no engine answers; everything up to there,
the ECR repository and its settings, is read back with boto3.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REPO = "mlflow-tracking"
ECR_ONLY = {"image_build": False}


def git_commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short=12", "HEAD"],
        cwd=ROOT / "docker",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def describe(ecr) -> dict | None:
    try:
        return ecr.describe_repositories(repositoryNames=[REPO])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException:
        return None


@pytest.fixture(scope="module")
def ecr(emulator):
    return emulator.client("ecr")


def test_check_mode_creates_nothing(playbook, emulator, ecr):
    result = playbook("image", emulator=emulator, extra_vars=ECR_ONLY, check=True)
    assert result.rc == 0, result.tail()
    assert describe(ecr) is None


def test_repository_scan_on_push_and_lifecycle_policy(playbook, emulator, ecr):
    result = playbook("image", emulator=emulator, extra_vars=ECR_ONLY)
    assert result.rc == 0, result.tail()
    assert result.changed > 0

    repo = describe(ecr)
    assert repo is not None
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo["imageTagMutability"] == "MUTABLE"

    policy = json.loads(ecr.get_lifecycle_policy(repositoryName=REPO)["lifecyclePolicyText"])
    assert policy == {
        "rules": [
            {
                "rulePriority": 1,
                "description": "Keep the last 20 images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": 20,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    # The fact handed to deploy: the repository URI with the commit tag.
    assert f"image_uri={repo['repositoryUri']}:{git_commit()}" in result.stdout


def test_second_run_and_check_mode_change_nothing(playbook, emulator):
    again = playbook("image", emulator=emulator, extra_vars=ECR_ONLY)
    assert again.rc == 0, again.tail()
    assert again.changed == 0, again.tail()
    checked = playbook("image", emulator=emulator, extra_vars=ECR_ONLY, check=True, diff=True)
    assert checked.rc == 0, checked.tail()
    assert checked.changed == 0, checked.tail()


def test_keep_count_and_immutable_tags(playbook, emulator, ecr):
    settings = {**ECR_ONLY, "image_keep_count": 5, "image_tag_mutability": "immutable"}
    result = playbook("image", emulator=emulator, extra_vars=settings)
    assert result.rc == 0, result.tail()
    assert result.changed > 0
    assert describe(ecr)["imageTagMutability"] == "IMMUTABLE"
    policy = json.loads(ecr.get_lifecycle_policy(repositoryName=REPO)["lifecyclePolicyText"])
    assert policy["rules"][0]["selection"]["countNumber"] == 5
    assert playbook("image", emulator=emulator, extra_vars=settings).changed == 0

    # Back to the defaults for the tests that follow.
    assert playbook("image", emulator=emulator, extra_vars=ECR_ONLY).rc == 0


def test_explicit_commit_tag(playbook, emulator, ecr):
    result = playbook("image", emulator=emulator, extra_vars={**ECR_ONLY, "image_commit": "ci-42"})
    assert result.rc == 0, result.tail()
    assert f"image_uri={describe(ecr)['repositoryUri']}:ci-42" in result.stdout


@pytest.mark.skipif(docker_engine_answers(), reason="a Docker engine answers here")
def test_no_docker_engine_stops_after_ecr_with_a_clear_message(playbook, emulator, ecr):
    # inventories/local turns the build off (no engine expected there); a user asking for it:
    result = playbook("image", emulator=emulator, extra_vars={"image_build": True})
    assert result.rc != 0
    assert "No Docker engine was found" in result.stdout
    assert "image_build=false" in result.stdout
    assert describe(ecr) is not None  # the ECR part ran first
    assert result.recap["failed"] == 1


def test_absent_keeps_the_shared_repository_unless_forced(playbook, emulator, ecr):
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7023,
            "digest": "sha256:" + "a" * 64,
        },
        "layers": [],
    }
    ecr.put_image(repositoryName=REPO, imageManifest=json.dumps(manifest), imageTag="abc123")

    kept = playbook("image", emulator=emulator, extra_vars={"mlflow_state": "absent"})
    assert kept.rc == 0, kept.tail()
    assert kept.changed == 0
    assert "Kept the ECR repository mlflow-tracking" in kept.stdout
    assert describe(ecr) is not None

    forced = {"mlflow_state": "absent", "image_force_delete": True}
    checked = playbook("image", emulator=emulator, extra_vars=forced, check=True)
    assert checked.rc == 0, checked.tail()
    assert describe(ecr) is not None
    removed = playbook("image", emulator=emulator, extra_vars=forced)
    assert removed.rc == 0, removed.tail()
    assert removed.changed == 1
    assert describe(ecr) is None
    assert playbook("image", emulator=emulator, extra_vars=forced).changed == 0
