#!/bin/sh
# Create or refresh .venv-mlflow: the packages of the MLflow image (docker/requirements.txt, the
# lock file with hashes the Dockerfile installs, the same way: --no-deps --require-hashes), so
# tests and tools/run_local.py run docker/entrypoint.py exactly as the container does.
#
#   tools/mlflow_venv.sh            # uses python3.11 when present, else python3
#   PYTHON=/usr/bin/python3.11 MLFLOW_VENV=/tmp/venv tools/mlflow_venv.sh
#
# The image uses Python 3.11 (docker/Dockerfile); another 3.x works for local runs but is not
# what the container runs. Re-running is cheap: nothing happens while the requirements file is
# unchanged since the last successful install.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
REQUIREMENTS="$ROOT/docker/requirements.txt"
VENV=${MLFLOW_VENV:-$ROOT/.venv-mlflow}
if [ -z "${PYTHON:-}" ]; then
    if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi

STAMP="$VENV/.requirements.sha256"
WANT=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
    echo "$VENV is up to date with docker/requirements.txt"
    exit 0
fi

echo "creating $VENV with $($PYTHON --version 2>&1) from docker/requirements.txt"
# A fresh venv (a package an earlier lock had must not linger), built beside the old one and
# swapped in when complete, so tests using the old one meanwhile keep working.
NEW="$VENV.new"
rm -rf "$NEW"
"$PYTHON" -m venv "$NEW"
"$NEW/bin/python" -m pip install --quiet --disable-pip-version-check \
    --no-deps --require-hashes --only-binary=:all: -r "$REQUIREMENTS"
rm -rf "$VENV"
# venv scripts name their interpreter by path: recreate them at the final place (no reinstall).
mv "$NEW" "$VENV"
"$PYTHON" -m venv --upgrade "$VENV" >/dev/null
grep -rl "$NEW" "$VENV/bin" 2>/dev/null | xargs -r sed -i "s#$NEW#$VENV#g"
"$VENV/bin/python" -c "import mlflow, psycopg2, boto3; print('mlflow', mlflow.__version__)"
echo "$WANT" > "$STAMP"
