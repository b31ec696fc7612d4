#!/usr/bin/env python3
"""Build the MLflow image from docker/ on this machine, with its package index settings.

    python tools/build_image.py [--base IMAGE] [--name mlflow-tracking] [--platform P] [--print-tag]

- The tag is the content tag (`content_tag()`): a hash of the build context's files (and of the
  platform, for any but linux/amd64), the same
  one roles/image computes, so the same docker/ always gives the same tag.
- pip inside the build needs this machine's index settings (index URL, extra HTTP indexes,
  trusted hosts, CA bundle). They are written to build-pip.conf and build-ca.pem in a temporary
  copy of the context; only the Dockerfile's builder stage reads them, the final image does not
  contain them (tests/integration/test_container.py checks).
- An image that already has the tag is not built again (`--force` rebuilds).
- The classic builder (DOCKER_BUILDKIT=0) with `--network host`: buildx is not packaged for
  Debian bookworm, and host networking lets the build use the host's resolver.

Prints the image reference (name:tag) on its last line.
"""

from __future__ import annotations

import argparse
import configparser
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = ROOT / "docker"
DEFAULT_NAME = "mlflow-tracking"
STANDIN_BASE = "mlflow-ecs-test/python:3.11-slim-bookworm"
TAG_LABEL = "org.mlops.mlflow-ecs.content-tag"
TAG_LENGTH = 16
CA_CANDIDATES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")


def context_files(context: Path = CONTEXT) -> list[Path]:
    """The files that make the image: everything in the context but documentation (*.md) and
    Python caches, sorted by their path (as strings, case-sensitive)."""
    files = [
        p
        for p in context.rglob("*")
        if p.is_file()
        and p.suffix not in (".md", ".pyc")
        and "__pycache__" not in p.parts
        and ".git" not in p.parts
    ]
    return sorted(files, key=lambda p: p.relative_to(context).as_posix())


def content_tag(context: Path = CONTEXT, platforms: Iterable[str] = ("linux/amd64",)) -> str:
    """sha256 over "<relative path> <sha256 of the file>\\n" lines, sorted by path; 16 hex digits.

    `platforms` are those the image is built for (Docker's os/arch names); for any set but
    linux/amd64 alone a "platforms <platform> ...\\n" line (sorted) ends the hashed text, so an
    amd64 image's tag never names an arm64 or multi-platform one. roles/image/tasks/tag.yml
    computes the same from Ansible: keep the two in step.
    """
    lines = "".join(
        f"{p.relative_to(context).as_posix()} {hashlib.sha256(p.read_bytes()).hexdigest()}\n"
        for p in context_files(context)
    )
    chosen = sorted(set(platforms)) or ["linux/amd64"]
    if chosen != ["linux/amd64"]:
        lines += f"platforms {' '.join(chosen)}\n"
    return hashlib.sha256(lines.encode()).hexdigest()[:TAG_LENGTH]


def pip_settings() -> dict[str, str]:
    """This machine's pip index settings (config files and PIP_* variables), HTTP(S) only."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    )
    found: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        found[name] = value.strip().strip("'\"")
    for name in ("index-url", "extra-index-url", "trusted-host", "cert"):
        env = os.environ.get("PIP_" + name.upper().replace("-", "_"))
        if env:
            found[name] = env
    settings = {}
    if found.get("index-url", "").startswith(("http://", "https://")):
        settings["index-url"] = found["index-url"]
    extra = [u for u in found.get("extra-index-url", "").split() if u.startswith("http")]
    if extra:
        settings["extra-index-url"] = " ".join(extra)
    if found.get("trusted-host"):
        settings["trusted-host"] = found["trusted-host"]
    cert = (
        found.get("cert") or os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
    )
    if not cert:
        cert = next((c for c in CA_CANDIDATES if os.path.exists(c)), "")
    if cert and os.path.exists(cert):
        settings["cert"] = cert
    return settings


def write_build_files(context: Path, settings: dict[str, str]) -> None:
    """build-pip.conf (+ build-ca.pem) in the context copy, for the builder stage only."""
    config = configparser.ConfigParser(interpolation=None)
    config["global"] = {}
    for key, value in settings.items():
        if key == "cert":
            shutil.copyfile(value, context / "build-ca.pem")
            value = "/tmp/build/build-ca.pem"
        config["global"][key] = value
    with open(context / "build-pip.conf", "w", encoding="utf-8") as handle:
        config.write(handle)


def image_exists(ref: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", ref], capture_output=True).returncode == 0


def build(
    name: str = DEFAULT_NAME,
    base: str | None = STANDIN_BASE,
    *,
    tag: str | None = None,
    force: bool = False,
    platform: str | None = None,
    quiet: bool = True,
) -> str:
    """Build docker/ as name:tag (the content tag for `platform` by default); return the
    reference."""
    # Named always: without --platform the builder takes this machine's architecture, which
    # the tag of linux/amd64 must not name.
    platform = platform or "linux/amd64"
    tag = tag or content_tag(platforms=[platform])
    ref = f"{name}:{tag}"
    if not force and image_exists(ref):
        return ref
    with tempfile.TemporaryDirectory(prefix="mlflow-image-context-") as tmp:
        context = Path(tmp) / "context"
        shutil.copytree(CONTEXT, context)
        write_build_files(context, pip_settings())
        cmd = ["docker", "build", "--network", "host", "-t", ref, "--label",
               f"{TAG_LABEL}={tag}"]  # fmt: skip
        if base:
            cmd += ["--build-arg", f"PYTHON_IMAGE={base}"]
        cmd += ["--platform", platform]
        if quiet:
            cmd.append("--quiet")
        cmd.append(str(context))
        proc = subprocess.run(
            cmd,
            env={**os.environ, "DOCKER_BUILDKIT": "0"},
            capture_output=quiet,
            text=True,
        )
        if proc.returncode != 0:
            output = (proc.stdout or "") + (proc.stderr or "") if quiet else ""
            raise RuntimeError(f"docker build failed ({proc.returncode}):\n{output[-6000:]}")
    return ref


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default=DEFAULT_NAME)
    parser.add_argument(
        "--base",
        default=STANDIN_BASE,
        help=f"base image (PYTHON_IMAGE build argument; default the stand-in {STANDIN_BASE}, "
        "'' for the Dockerfile's own default)",
    )
    parser.add_argument("--tag", help="image tag (default: the content tag)")
    parser.add_argument("--force", action="store_true", help="build even when the tag exists")
    parser.add_argument("--print-tag", action="store_true", help="print the content tag, exit")
    parser.add_argument(
        "--platform",
        action="append",
        help="platform built for (default linux/amd64); with --print-tag, repeat it for the tag "
        "of a multi-platform image (the image role's image_platforms)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the build's output")
    args = parser.parse_args(argv)
    platforms = args.platform or ["linux/amd64"]
    if args.print_tag:
        print(content_tag(platforms=platforms))
        return 0
    if len(platforms) > 1:
        parser.error("one --platform to build (the image role builds several: image_platforms)")
    try:
        ref = build(args.name, args.base or None, tag=args.tag, force=args.force,
                    platform=platforms[0], quiet=not args.verbose)  # fmt: skip
    except RuntimeError as err:
        print(f"build_image: {err}", file=sys.stderr)
        return 1
    print(ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
