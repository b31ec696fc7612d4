"""Run one task of one of our modules through ansible-playbook against an emulator.

The endpoint is set the way playbooks set it, through the collection's action group
(`module_defaults: group/mlops.mlflow_ecs.aws`), so the test also proves the module is in it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_module(emulator, tmp_path: Path, module: str, args: dict, *, check: bool = False) -> dict:
    """Run mlops.mlflow_ecs.<module> with args on localhost; return its registered result."""
    result_file = tmp_path / f"result-{uuid.uuid4().hex}.json"
    play = {
        "name": f"Run mlops.mlflow_ecs.{module}",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "vars": {"ansible_python_interpreter": sys.executable},
        "module_defaults": {"group/mlops.mlflow_ecs.aws": {"endpoint_url": emulator.endpoint_url}},
        "tasks": [
            {
                "name": "Call the module",
                f"mlops.mlflow_ecs.{module}": args,
                "register": "module_result",
                "ignore_errors": True,
            },
            {
                "name": "Save its result",
                "ansible.builtin.copy": {
                    "content": "{{ module_result | to_json }}",
                    "dest": str(result_file),
                    "mode": "0600",
                },
                "check_mode": False,
            },
        ],
    }
    playbook = tmp_path / f"play-{result_file.stem}.yml"
    playbook.write_text(json.dumps([play]))  # JSON is YAML
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), "-i", "localhost,"]
    if check:
        cmd.append("--check")
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
    )
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result_file.exists(), (
        f"rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    return json.loads(result_file.read_text())
