#!/bin/sh
# Create or refresh .venv-mlflow: the packages of the MLflow image (docker/requirements.txt),
# so tests and tools/run_local.py run docker/entrypoint.py exactly as the container does.
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
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
"$VENV/bin/python" -c "import mlflow, psycopg2, boto3; print('mlflow', mlflow.__version__)"
echo "$WANT" > "$STAMP"
