#!/usr/bin/env python3
"""The embedded AWS emulator: a moto server on 127.0.0.1 with the main stack inside it.

    python tools/emulator.py start  [--port 4566] [--environment local]
    python tools/emulator.py status [--port 4566]
    python tools/emulator.py stop   [--port 4566]

`start` reuses a server already answering on the port, otherwise starts one in the
background (log and pid under .emulator/), then makes sure the CloudFormation stack
`absenteeism-infrastructure` exists with a VPC, an internet gateway and two public subnets
tagged `{environment}-public-subnet-1` and `-2` in two Availability Zones, as on AWS, and that
the ECR repository `mlflow-tracking` holds the image of docker/ (its content tag), as CI pushes it.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".emulator"
TEMPLATE = Path(__file__).resolve().parent / "main-stack.cfn.yml"
MAIN_STACK = "absenteeism-infrastructure"
DEFAULT_PORT = int(os.environ.get("MLFLOW_ECS_EMULATOR_PORT", "4566"))
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
# Credentials the emulator accepts. Long, distinctive values: Ansible masks every
# occurrence of a secret in its output, so a short fake key would star unrelated text.
EMULATOR_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


def endpoint(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def is_up(port: int) -> bool:
    """True once the moto server answers on the port. Anything else is "not up (yet)": refused
    connections, timeouts, and answers that are not HTTP (on a port of the ephemeral range a
    connection to nobody can meet itself, TCP's simultaneous open, and read back its own request:
    http.client.BadStatusLine)."""
    try:
        with urllib.request.urlopen(endpoint(port) + "/moto-api/", timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, http.client.HTTPException):
        return False


def pid_file(port: int) -> Path:
    return STATE_DIR / f"moto-{port}.pid"


def start_server(port: int, timeout: float = 60.0) -> str:
    """Start moto on the port unless it already answers. Returns 'reused' or 'started'."""
    if is_up(port):
        return "reused"
    STATE_DIR.mkdir(exist_ok=True)
    env = dict(
        os.environ,
        **EMULATOR_ENV,
        # AWS managed policies (AmazonECSTaskExecutionRolePolicy) exist only when loaded.
        MOTO_IAM_LOAD_MANAGED_POLICIES="true",
        # A new ECS service reports this many running tasks (moto's default is 0, so a
        # one-task service would never become stable); updates report the desired count.
        MOTO_ECS_SERVICE_RUNNING=os.environ.get("MOTO_ECS_SERVICE_RUNNING", "1"),
    )
    log = open(STATE_DIR / f"moto-{port}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).with_name("moto_server.py")),
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    pid_file(port).write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"moto server exited with code {proc.returncode}; see {log.name}")
        if is_up(port):
            return "started"
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"moto server did not answer on port {port} within {timeout:.0f}s")


def stop_server(port: int) -> bool:
    path = pid_file(port)
    if not path.exists():
        return False
    pid = int(path.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        path.unlink()
        return False
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(pid, signal.SIGKILL)
    path.unlink(missing_ok=True)
    return True


def boto3_client(service: str, port: int):
    import boto3

    return boto3.client(
        service,
        endpoint_url=endpoint(port),
        region_name=REGION,
        aws_access_key_id=EMULATOR_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=EMULATOR_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def ensure_main_stack(port: int, environment: str) -> dict:
    """Create the main stack unless it exists, and the pushed image; return the stack's outputs."""
    cfn = boto3_client("cloudformation", port)
    try:
        stack = cfn.describe_stacks(StackName=MAIN_STACK)["Stacks"][0]
    except cfn.exceptions.ClientError as err:
        if "does not exist" not in str(err):
            raise
        cfn.create_stack(
            StackName=MAIN_STACK,
            TemplateBody=TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": "EnvironmentName", "ParameterValue": environment}],
        )
        cfn.get_waiter("stack_create_complete").wait(
            StackName=MAIN_STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
        )
        stack = cfn.describe_stacks(StackName=MAIN_STACK)["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack.get("Parameters", [])}
    if params.get("EnvironmentName", environment) != environment:
        raise SystemExit(
            f"the emulator on port {port} already holds {MAIN_STACK} for environment "
            f"{params['EnvironmentName']!r}, not {environment!r}: use another --port"
        )
    ensure_pushed_image(port)
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def ensure_pushed_image(port: int, repository: str = "mlflow-tracking") -> str:
    """Put the image of docker/ in the emulator's ECR under its content tags for linux/amd64 and
    for linux/arm64 (ecs_cpu_architecture ARM64), as CI pushes them before a deploy
    (playbooks/image.yml): a deploy with image_build=false finds them there. The emulator has no
    registry API, so each image is a manifest alone. Returns the linux/amd64 image's digest."""
    import build_image

    ecr = boto3_client("ecr", port)
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName=repository)
    digests = []
    for platform in ("linux/amd64", "linux/arm64"):
        tag = build_image.content_tag(platforms=[platform])
        try:
            found = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])
            digests.append(found["imageDetails"][0]["imageDigest"])
        except ecr.exceptions.ImageNotFoundException:
            pushed = ecr.put_image(
                repositoryName=repository, imageManifest=stand_in_manifest(tag), imageTag=tag
            )
            digests.append(pushed["image"]["imageId"]["imageDigest"])
    return digests[0]


def stand_in_manifest(seed: str) -> str:
    """An image manifest (Docker v2 schema 2, JSON) with no layers, for the emulator's ECR
    (PutImage), which has no registry API to push a real image through; its config digest is
    the sha256 of `seed`, so different seeds give different image digests."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 7023,
                "digest": "sha256:" + hashlib.sha256(seed.encode()).hexdigest(),
            },
            "layers": [],
        }
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument(
        "--environment",
        default="local",
        help="environment name the main stack's subnets are tagged for (default: local)",
    )
    args = parser.parse_args(argv)

    if args.command == "stop":
        print("stopped" if stop_server(args.port) else f"no emulator of ours on port {args.port}")
        return 0
    if args.command == "status":
        up = is_up(args.port)
        print(f"emulator on {endpoint(args.port)}: {'up' if up else 'down'}")
        return 0 if up else 1

    how = start_server(args.port)
    outputs = ensure_main_stack(args.port, args.environment)
    print(
        json.dumps(
            {"endpoint_url": endpoint(args.port), "server": how, "main_stack": outputs},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
