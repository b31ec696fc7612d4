#!/usr/bin/env bash
# Run ansible-test on the collection as it ships: build the tarball, install it into a fresh
# ansible_collections tree (the checkout's collections/ link is not part of it), put the
# collections it depends on next to it, then run ansible-test there.
#
#   tools/ansible_test.sh sanity     # ansible-test sanity --python 3.11 --venv
#   tools/ansible_test.sh units      # ansible-test units --python 3.11 --venv
#   tools/ansible_test.sh all        # both (what `make ansible-test` runs)
#
# --venv: ansible-test makes one virtualenv per test with its own pinned requirements (from
# PyPI). It bootstraps pip in them with a get-pip script from a host this machine cannot reach;
# unless a real one is cached already, a stand-in that installs Python's bundled pip (ensurepip)
# and then the same pinned packages is put in its cache (the path ansible-test names for a
# manual download).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${VENV_BIN:-$ROOT/.venv/bin}
PYTHON_VERSION=${PYTHON_VERSION:-3.11}
what=${1:-all}

work=$(mktemp -d "${TMPDIR:-/tmp}/mlflow-ecs-ansible-test.XXXXXX")
trap 'rm -rf "$work"' EXIT

"$BIN/ansible-galaxy" collection build --output-path "$work/dist" "$ROOT" >/dev/null
"$BIN/ansible-galaxy" collection install --no-deps --force -p "$work" "$work"/dist/*.tar.gz >/dev/null

# Dependencies (galaxy.yml) from the pinned `ansible` package, as the playbooks use them.
bundled=$("$BIN/python" -c 'import ansible, os; print(os.path.dirname(os.path.dirname(ansible.__file__)))')/ansible_collections
for dep in amazon/aws community/aws community/docker; do
  mkdir -p "$work/ansible_collections/$(dirname "$dep")"
  cp -a "$bundled/$dep" "$work/ansible_collections/$dep"
done

cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
# The pip version ansible-test bootstraps in its virtualenvs (24.2 for ansible-core 2.19).
for version in $("$BIN/python" -c '
from types import SimpleNamespace
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(SimpleNamespace(version="'"$PYTHON_VERSION"'"))["pip"])'); do
  stand_in="$cache/get_pip_${version//./_}.py"
  [ -f "$stand_in" ] || cat >"$stand_in" <<'EOF'
"""Stand-in for ansible-test's get-pip bootstrap (its download host is out of reach here).

Installs Python's bundled pip with ensurepip, then runs pip install with the packages
ansible-test asked for (the same pinned pip version and infrastructure packages).
"""

import ensurepip
import os
import runpy
import sys

saved = dict(os.environ)
ensurepip.bootstrap(upgrade=False)  # ensurepip hides pip's configuration: restore it below
os.environ.clear()
os.environ.update(saved)
args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.argv = ["pip", "install", *args]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
EOF
done

cd "$work/ansible_collections/mlops/mlflow_ecs"
rc=0
if [ "$what" = sanity ] || [ "$what" = all ]; then
  "$BIN/ansible-test" sanity --python "$PYTHON_VERSION" --venv --color no || rc=1
fi
if [ "$what" = units ] || [ "$what" = all ]; then
  "$BIN/ansible-test" units --python "$PYTHON_VERSION" --venv --color no || rc=1
fi
exit "$rc"
