#!/usr/bin/env bash
# Debian packages the tests need besides Python: a PostgreSQL server (the storage tests start
# their own throw-away instance). Installs only what is missing; needs root (or sudo) to install.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
