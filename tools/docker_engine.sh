#!/usr/bin/env bash
# Make a Docker engine answer: nothing to do when `docker info` works; otherwise start Debian's
# dockerd in the background (as root; log in $DOCKERD_LOG) and wait until it answers.
# tools/test-deps.sh installs docker.io first; the image tests fail (never skip) without it.
#
#   tools/docker_engine.sh          # exit 0 once `docker info` answers, 1 after 60 s
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}
WAIT_SECONDS=${DOCKER_WAIT_SECONDS:-60}

answers() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

if answers; then
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker_engine: no dockerd on this machine: install Debian's docker.io (tools/test-deps.sh)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "docker_engine: dockerd is not running and only root can start it (sudo $0)" >&2
  exit 1
fi
if ! pgrep -x dockerd >/dev/null 2>&1; then
  echo "docker_engine: starting dockerd (log: $DOCKERD_LOG)"
  # Detached into its own session: it outlives this script and the test run that started it.
  setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
fi
for _ in $(seq "$WAIT_SECONDS"); do
  if answers; then
    echo "docker_engine: Docker $(docker info --format '{{.ServerVersion}}') answers"
    exit 0
  fi
  sleep 1
done
echo "docker_engine: dockerd did not answer within ${WAIT_SECONDS}s; last log lines:" >&2
tail -n 20 "$DOCKERD_LOG" >&2 || true
exit 1
