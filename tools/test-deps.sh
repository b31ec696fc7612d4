#!/usr/bin/env bash
# Everything the tests need besides Python, installed only when missing (needs root or sudo):
# - a PostgreSQL server (the storage tests start their own throw-away instance);
# - a Docker engine (Debian's docker.io), started in the background when `docker info` does not
#   answer, and what the image tests use next to it: debootstrap (the stand-in base image),
#   docker-registry (a local registry for the push tests), buildah + qemu-user-static (arm64).
# Then builds the stand-in base image once (tools/base_image.sh; cached by name and label).
#
#   tools/test-deps.sh            # install, start dockerd, build the base image when missing
#   SKIP_BASE_IMAGE=1 tools/test-deps.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
command -v buildah >/dev/null 2>&1 || missing+=(buildah)
[ -x /usr/bin/qemu-aarch64-static ] || missing+=(qemu-user-static)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "test-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  # --no-install-recommends: docker.io would otherwise pull in a build toolchain.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
  # The Debian package starts a registry service on :5000 where systemd runs; tests start
  # their own on a free loopback port instead.
fi

"$ROOT/tools/docker_engine.sh"

if [ -z "${SKIP_BASE_IMAGE:-}" ]; then
  "$ROOT/tools/base_image.sh"
fi
