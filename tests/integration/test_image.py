"""The image role (playbooks/image.yml): ECR repository, content tag, build/push, no-engine paths.

The emulator's ECR has no registry API, so the build/tag/push path is tested end to end against
a local registry (Debian's docker-registry on a loopback port), selected with `image_registry`;
the ECR part (repository settings, tags, the tag lookup through DescribeImages) is read back from
the emulator with boto3. "No Docker engine" is a DOCKER_HOST that answers nothing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import docker_helpers
import pytest
from docker_helpers import docker
from recording_proxy import RecordingProxy

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import build_image  # noqa: E402
import emulator as emulator_tool  # noqa: E402
from conftest import ansible_env  # noqa: E402

pytestmark = pytest.mark.integration

# Session fixtures of docker_helpers (engine, stand-in base, image, registry) used here.
docker_engine = docker_helpers.docker_engine
base_image = docker_helpers.base_image
local_registry = docker_helpers.local_registry

REPO = "mlflow-tracking"
ECR_ONLY = {"image_build": False}
NO_ENGINE = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
TAGS = {"Application": "mlflow", "ManagedBy": "mlops.mlflow_ecs", "Name": REPO}


def describe(ecr, name: str = REPO) -> dict | None:
    try:
        return ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
    except ecr.exceptions.RepositoryNotFoundException:
        return None


def shown_image_uri(stdout: str) -> str:
    line = next(line for line in stdout.splitlines() if "image_uri=" in line)
    return line.split("image_uri=", 1)[1].strip().strip('"')


@pytest.fixture(scope="module")
def ecr(emulator):
    """The emulator's ECR without the image tools/emulator.py puts there as CI would: an
    account where nothing was pushed yet."""
    client = emulator.client("ecr")
    client.delete_repository(repositoryName=REPO, force=True)
    return client


@pytest.fixture(scope="module")
def build_settings(tmp_path_factory, base_image) -> dict:
    """Role variables for a build on this machine: the stand-in base, this machine's pip."""
    work = tmp_path_factory.mktemp("pip")
    build_image.write_build_files(work, build_image.pip_settings())
    settings = {
        "image_build_base": base_image,
        "image_build_pip_config": str(work / "build-pip.conf"),
    }
    if (work / "build-ca.pem").exists():
        settings["image_build_ca_bundle"] = str(work / "build-ca.pem")
    return settings


def test_check_mode_creates_nothing(playbook, emulator, ecr):
    result = playbook("image", emulator=emulator, extra_vars=ECR_ONLY, check=True)
    assert result.rc == 0, result.tail()
    assert describe(ecr) is None


def test_repository_settings_tags_and_content_tag(playbook, emulator, ecr):
    result = playbook("image", emulator=emulator, extra_vars=ECR_ONLY)
    assert result.rc == 0, result.tail()
    assert result.changed > 0

    repo = describe(ecr)
    assert repo is not None
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo["imageTagMutability"] == "IMMUTABLE"
    tags = ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"]
    assert {t["Key"]: t["Value"] for t in tags} == TAGS  # shared: no Environment tag

    policy = json.loads(ecr.get_lifecycle_policy(repositoryName=REPO)["lifecyclePolicyText"])
    assert policy["rules"][0]["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 20,
    }
    assert policy["rules"][0]["action"] == {"type": "expire"}
    # Not pushed (no build asked): the content tag, the same hash tools/build_image.py computes.
    assert shown_image_uri(result.stdout) == f"{repo['repositoryUri']}:{build_image.content_tag()}"


def test_content_tag_follows_content_not_git(playbook, emulator, tmp_path):
    context = tmp_path / "docker"
    shutil.copytree(ROOT / "docker", context)
    (context / "README.md").write_text("documentation does not change the image\n")
    # A context that is (in) a git checkout: git's own files do not change the image either.
    (context / ".git").mkdir()
    (context / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    same = playbook("image", emulator=emulator,
                    extra_vars={**ECR_ONLY, "image_build_context": str(context)})  # fmt: skip
    assert same.rc == 0, same.tail()
    assert shown_image_uri(same.stdout).endswith(":" + build_image.content_tag())
    (context / "entrypoint.py").write_text((context / "entrypoint.py").read_text() + "\n# x\n")
    changed = playbook("image", emulator=emulator,
                       extra_vars={**ECR_ONLY, "image_build_context": str(context)})  # fmt: skip
    assert changed.rc == 0, changed.tail()
    tag = shown_image_uri(changed.stdout).rsplit(":", 1)[1]
    assert tag == build_image.content_tag(context) != build_image.content_tag()


def test_second_run_and_check_mode_change_nothing(playbook, emulator):
    again = playbook("image", emulator=emulator, extra_vars=ECR_ONLY)
    assert again.rc == 0, again.tail()
    assert again.changed == 0, again.tail()
    checked = playbook("image", emulator=emulator, extra_vars=ECR_ONLY, check=True, diff=True)
    assert checked.rc == 0, checked.tail()
    assert checked.changed == 0, checked.tail()


def test_deploy_without_build_stops_before_any_change_when_the_image_is_missing(
    playbook, emulator, ecr, record_property
):
    """image_build=false and the content tag not in ECR (the repository exists, empty): the task
    definition would name an image that does not exist, so the deploy stops in its preflight."""
    assert describe(ecr) is not None
    assert ecr.list_images(repositoryName=REPO)["imageIds"] == []
    with RecordingProxy(emulator.endpoint_url) as proxy:
        result = playbook(
            "deploy", emulator=emulator,
            extra_vars={"image_build": False, "aws_endpoint_url": proxy.url},
        )  # fmt: skip
    text = " ".join(result.stdout.split())
    message = f"image_build=false, and the MLflow image for this collection's docker/ (tag {build_image.content_tag()}, for linux/amd64) is not in the ECR repository {REPO}"  # noqa: E501
    refused = result.rc != 0 and message in text and proxy.mutating_calls() == []
    record_property("figure: bad inputs tried", 1)
    record_property("figure: bad inputs refused before any change", int(refused))
    assert result.rc != 0, result.tail()
    assert message in text, result.tail()
    assert "Nothing was changed" in text
    assert "playbooks/image.yml" in text
    assert proxy.mutating_calls() == []
    assert result.recap["failed"] == 1 and result.recap["changed"] == 0


def test_pushed_ecr_tag_is_found_without_docker(playbook, emulator, ecr):
    """An image already in ECR under the content tag: a deploy without Docker names its digest."""
    tag = build_image.content_tag()
    manifest = emulator_tool.stand_in_manifest("pushed by CI")
    pushed = ecr.put_image(repositoryName=REPO, imageManifest=manifest, imageTag=tag)
    digest = pushed["image"]["imageId"]["imageDigest"]
    result = playbook("image", emulator=emulator, extra_vars={"image_build": True}, env=NO_ENGINE)
    assert result.rc == 0, result.tail()
    # rc 0 without an engine: nothing was built; the task definition gets the digest.
    assert shown_image_uri(result.stdout) == f"{describe(ecr)['repositoryUri']}@{digest}"
    assert result.changed == 0, result.tail()


def test_an_image_pushed_for_amd64_alone_is_not_taken_for_arm64_tasks(playbook, emulator, ecr):
    """The tag of docker/ built for linux/amd64 is in ECR; the environment switched to ARM64
    (Graviton) tasks: its tag differs (the platform is part of it), so a deploy without a build
    stops before any change instead of registering tasks that could not start."""
    amd64 = build_image.content_tag()
    arm64 = build_image.content_tag(platforms=["linux/arm64"])
    both = build_image.content_tag(platforms=["linux/arm64", "linux/amd64"])
    assert len({amd64, arm64, both}) == 3
    manifest = emulator_tool.stand_in_manifest("pushed by CI")
    with contextlib.suppress(ecr.exceptions.ImageAlreadyExistsException):
        ecr.put_image(repositoryName=REPO, imageManifest=manifest, imageTag=amd64)
    with RecordingProxy(emulator.endpoint_url) as proxy:
        result = playbook(
            "deploy", emulator=emulator,
            extra_vars={"image_build": False, "aws_endpoint_url": proxy.url,
                        "ecs_cpu_architecture": "ARM64"},
        )  # fmt: skip
    text = " ".join(result.stdout.split())
    assert result.rc != 0, result.tail()
    assert f"(tag {arm64}, for linux/arm64) is not in the ECR repository {REPO}" in text, (
        result.tail()
    )
    assert proxy.mutating_calls() == []
    assert result.recap["failed"] == 1 and result.recap["changed"] == 0
    # The role computes the same tags as tools/build_image.py, for one platform and for two.
    for extra, tag in (({"ecs_cpu_architecture": "ARM64"}, arm64),
                       ({"image_platforms": ["linux/arm64", "linux/amd64"]}, both)):  # fmt: skip
        shown = playbook("image", emulator=emulator, extra_vars={**ECR_ONLY, **extra}, check=True)
        assert shown.rc == 0, shown.tail()
        assert shown_image_uri(shown.stdout).endswith(":" + tag), shown.tail()


def test_no_image_and_no_engine_stops_before_creating_anything(playbook, emulator, ecr, tmp_path):
    context = tmp_path / "docker"
    shutil.copytree(ROOT / "docker", context)
    (context / "entrypoint.py").write_text((context / "entrypoint.py").read_text() + "\n# y\n")
    extra = {"image_build": True, "image_build_context": str(context),
             "image_repository_name": "never-created"}  # fmt: skip
    result = playbook("image", emulator=emulator, extra_vars=extra, env=NO_ENGINE)
    assert result.rc != 0
    assert "no Docker engine answers here" in result.stdout
    assert "Nothing was created" in result.stdout
    assert "playbooks/image.yml" in result.stdout
    assert describe(ecr, "never-created") is None
    assert result.recap["failed"] == 1 and result.recap["changed"] == 0


@pytest.mark.slow
def test_build_push_to_a_registry_and_pin_the_digest(
    playbook, emulator, local_registry, build_settings
):
    # image_build: the local inventory turns the build off; this test asks for it.
    extra = {"image_build": True, "image_registry": local_registry.host,
             "image_registry_scheme": "http", **build_settings}  # fmt: skip
    tag = build_image.content_tag()
    assert local_registry.manifest(REPO, tag)[0] == 404

    built = playbook("image", emulator=emulator, extra_vars=extra)
    assert built.rc == 0, built.tail()
    status, digest = local_registry.manifest(REPO, tag)
    assert status == 200 and digest.startswith("sha256:"), built.tail(6000)
    assert shown_image_uri(built.stdout) == f"{local_registry.host}/{REPO}@{digest}"
    # The pushed image runs: pull it by digest and ask the entrypoint for its usage.
    ref = f"{local_registry.host}/{REPO}@{digest}"
    docker("pull", ref)
    assert docker("run", "--rm", ref, "help").stdout.startswith("Entrypoint of the MLflow")

    # Pushed: the next run builds nothing, and needs no Docker engine at all.
    again = playbook("image", emulator=emulator, extra_vars=extra, env=NO_ENGINE)
    assert again.rc == 0, again.tail()
    assert again.changed == 0, again.tail()
    assert shown_image_uri(again.stdout) == f"{local_registry.host}/{REPO}@{digest}"
    assert local_registry.tags(REPO) == [tag]


MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
SINGLE_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def registry_get(registry, path: str, accept: str = "") -> tuple[dict, str]:
    """(JSON body, Docker-Content-Digest) of a GET on the registry API."""
    req = urllib.request.Request(f"http://{registry.host}/v2/{path}", headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.load(resp), resp.headers.get("Docker-Content-Digest", "")


def test_image_platforms_push_one_manifest_list_for_amd64_and_arm64(
    playbook, emulator, local_registry, docker_engine, tmp_path
):
    """image_platforms: one image per platform and a manifest list under the content tag, whose
    digest the role hands to the task definition. A context that only copies files builds for
    arm64 without emulation, on one-file bases of each architecture (docker_helpers.tiny_base);
    the real docker/ for arm64 is the arm64 test's (test_container.py, 25+ min under QEMU)."""
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text(
        "ARG PYTHON_IMAGE\nFROM ${PYTHON_IMAGE}\nCOPY app.txt /app.txt\n"
    )
    (context / "app.txt").write_text("the same content on every platform\n")
    for arch in ("amd64", "arm64"):
        docker_helpers.tiny_base(arch)
    tag = build_image.content_tag(context, platforms=["linux/amd64", "linux/arm64"])
    extra = {
        "image_build": True,
        "image_registry": local_registry.host,
        "image_registry_scheme": "http",
        "image_build_context": str(context),
        "image_platforms": ["linux/amd64", "linux/arm64"],
        # One base per platform (what a multi-architecture base gives with one name).
        "image_build_base": "mlflow-ecs-tiny/base:"
        "{{ (image_build_platform | default('linux/amd64')).split('/') | last }}",
    }

    repo = "multiarch"
    built = playbook(
        "image", emulator=emulator, extra_vars={**extra, "image_repository_name": repo}
    )
    assert built.rc == 0, built.tail()
    index, digest = registry_get(local_registry, f"{repo}/manifests/{tag}", MANIFEST_LIST)
    assert index["mediaType"] == MANIFEST_LIST, index
    platforms = {m["platform"]["architecture"]: m["digest"] for m in index["manifests"]}
    assert sorted(platforms) == ["amd64", "arm64"] and len(set(platforms.values())) == 2
    for arch, manifest_digest in platforms.items():
        manifest, _ = registry_get(
            local_registry, f"{repo}/manifests/{manifest_digest}", SINGLE_MANIFEST
        )
        config, _ = registry_get(local_registry, f"{repo}/blobs/{manifest['config']['digest']}")
        assert config["architecture"] == arch  # the image inside is the platform's
    assert sorted(local_registry.tags(repo)) == [tag, f"{tag}-amd64", f"{tag}-arm64"]
    # The task definition pins the list: one digest for X86_64 and ARM64 tasks.
    assert shown_image_uri(built.stdout) == f"{local_registry.host}/{repo}@{digest}"
    for arch in ("amd64", "arm64"):
        docker("rmi", f"{local_registry.host}/{repo}:{tag}-{arch}", check=False)


WRONG_BASE_PLAY = """
- name: The image role's per-platform build, on an amd64 base for both platforms
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Build for linux/amd64 and linux/arm64
      ansible.builtin.include_role:
        name: mlops.mlflow_ecs.image
        tasks_from: build_platforms.yml
"""


def test_image_platforms_refuse_an_image_of_the_wrong_architecture(docker_engine, tmp_path):
    """The classic builder gives the image its base's architecture whatever --platform says: an
    amd64 base for linux/arm64 must stop the run before anything is pushed (an amd64 image in
    the list as arm64 would start no Graviton task). Only the role's build tasks run: no
    registry, no AWS."""
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_text("ARG PYTHON_IMAGE\nFROM ${PYTHON_IMAGE}\nCOPY a /a\n")
    (context / "a").write_text("a\n")
    play = tmp_path / "play.yml"
    play.write_text(WRONG_BASE_PLAY)
    name = "127.0.0.1:9/multiarch-wrong-base"  # nothing listens: a push would fail otherwise
    extra = {
        "image_repository_uri": name,
        "image_content_tag": "wrongbase",
        "image_build_dir": {"path": str(context)},
        "image_platforms": ["linux/amd64", "linux/arm64"],
        "image_build_base": docker_helpers.tiny_base("amd64"),
    }
    try:
        proc = subprocess.run(
            [str(Path(sys.executable).parent / "ansible-playbook"), str(play),
             "-e", json.dumps(extra)],
            cwd=ROOT, env=ansible_env(), capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert proc.returncode != 0, proc.stdout[-3000:]
        assert "linux/amd64, linux/arm64 are for amd64, amd64" in proc.stdout, proc.stdout[-3000:]
        assert "Nothing was pushed" in proc.stdout
        assert "Push the image of each platform" not in proc.stdout
    finally:
        for arch in ("amd64", "arm64"):
            docker("rmi", f"{name}:wrongbase-{arch}", check=False)


def test_absent_keeps_the_shared_repository_unless_forced(playbook, emulator, ecr):
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
