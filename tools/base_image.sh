#!/usr/bin/env bash
# Build the stand-in for python:3.11-slim-bookworm from Debian packages, once.
#
# Container registries are out of reach on the test machines, so `FROM python:3.11-slim-bookworm`
# cannot be pulled. This builds an image with the same contract from Debian bookworm
# (debootstrap minbase + python3, python3-venv, ca-certificates; `python` on PATH) and imports it
# as $BASE_IMAGE. It is Debian's Python 3.11, not the official image's build: good for building
# and testing docker/ here, not a substitute for users (the Dockerfile's default stays the
# official image, pinned by digest when they choose).
#
# Cached by name and by a label holding the hash of this recipe: nothing happens when an image
# with both exists. Prints the image name on its last line.
#
#   tools/base_image.sh                        # mlflow-ecs-test/python:3.11-slim-bookworm
#   BASE_IMAGE=my/python:3.11 tools/base_image.sh
#   ARCH=arm64 tools/base_image.sh             # ...-arm64, under qemu-user-static (binfmt_misc)
set -euo pipefail

HOST_ARCH=$(dpkg --print-architecture)
ARCH=${ARCH:-$HOST_ARCH}
SUFFIX=""
[ "$ARCH" = "$HOST_ARCH" ] || SUFFIX="-$ARCH"
BASE_IMAGE=${BASE_IMAGE:-mlflow-ecs-test/python:3.11-slim-bookworm$SUFFIX}
SUITE=bookworm
PACKAGES=python3,python3-venv,ca-certificates
LABEL=org.mlops.mlflow-ecs.base-recipe
RECIPE=$(sha256sum "$0" | cut -c1-16)

if [ "$(docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$BASE_IMAGE" 2>/dev/null)" = "$RECIPE" ]; then
  echo "$BASE_IMAGE"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "base_image: debootstrap missing (tools/test-deps.sh)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "base_image: debootstrap needs root" >&2; exit 1; }

# The machine's own Debian mirror (the first URI of its apt sources).
MIRROR=$(grep -hm1 '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $2}' || true)
if [ -z "$MIRROR" ]; then
  MIRROR=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
fi
MIRROR=${MIRROR:-http://deb.debian.org/debian}

ROOTFS=$(mktemp -d /var/tmp/mlflow-base.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
echo "base_image: debootstrap $SUITE ($PACKAGES) from $MIRROR" >&2
if [ "$ARCH" != "$HOST_ARCH" ]; then
  # The second stage runs the foreign binaries through qemu-user-static, registered with
  # binfmt_misc (fix-binary flag, so containers of that architecture run too).
  [ -d /proc/sys/fs/binfmt_misc ] && [ -e /proc/sys/fs/binfmt_misc/register ] \
    || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  if [ ! -e "/proc/sys/fs/binfmt_misc/qemu-$( [ "$ARCH" = arm64 ] && echo aarch64 || echo "$ARCH")" ]; then
    cat "/usr/lib/binfmt.d/qemu-$( [ "$ARCH" = arm64 ] && echo aarch64 || echo "$ARCH").conf" \
      > /proc/sys/fs/binfmt_misc/register
  fi
fi
debootstrap --arch="$ARCH" --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 \
  || { tail -n 30 "$ROOTFS.log" >&2; rm -f "$ROOTFS.log"; exit 1; }
rm -f "$ROOTFS.log"
# What the official image offers: `python` and `python3` on PATH in /usr/local/bin.
ln -sf /usr/bin/python3 "$ROOTFS/usr/local/bin/python"
ln -sf /usr/bin/python3 "$ROOTFS/usr/local/bin/python3"
# Trim like Debian's slim images (their /etc/dpkg/dpkg.cfg.d/docker): no package caches or
# lists, no documentation, man pages or translations, and none installed later either.
cat > "$ROOTFS/etc/dpkg/dpkg.cfg.d/docker-slim" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
DPKG
find "$ROOTFS/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* \
  "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/info/* "$ROOTFS"/usr/share/locale/* \
  "$ROOTFS"/usr/share/groff/* "$ROOTFS"/usr/share/lintian/* \
  "$ROOTFS"/var/log/*.log "$ROOTFS"/var/cache/debconf/*-old
tar -C "$ROOTFS" -c . | docker import --platform "linux/$ARCH" \
  --change "LABEL $LABEL=$RECIPE" \
  --change 'LABEL org.opencontainers.image.description="stand-in for python:3.11-slim-bookworm, from Debian packages"' \
  --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  - "$BASE_IMAGE" >/dev/null
if [ "$(docker image inspect -f '{{.Architecture}}' "$BASE_IMAGE")" != "$ARCH" ]; then
  # Docker 20.10 ignores `import --platform` (experimental): set the architecture in the image's
  # config by hand (save, patch, load), or builds for that platform refuse the base.
  FIX=$(mktemp -d)
  docker save "$BASE_IMAGE" | tar -x -C "$FIX"
  python3 - "$FIX" "$ARCH" <<'PY'
import hashlib, json, os, sys
root, arch = sys.argv[1], sys.argv[2]
manifest = json.load(open(os.path.join(root, "manifest.json")))
old = manifest[0]["Config"]
config = json.load(open(os.path.join(root, old)))
config["architecture"] = arch
if arch == "arm64":
    config["variant"] = "v8"
data = json.dumps(config, separators=(",", ":")).encode()
new = hashlib.sha256(data).hexdigest() + ".json"
open(os.path.join(root, new), "wb").write(data)
if new != old:
    os.remove(os.path.join(root, old))
manifest[0]["Config"] = new
json.dump(manifest, open(os.path.join(root, "manifest.json"), "w"))
PY
  tar -C "$FIX" -c . | docker load >/dev/null
  rm -rf "$FIX"
fi
echo "base_image: built $BASE_IMAGE ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE") bytes)" >&2
echo "$BASE_IMAGE"
