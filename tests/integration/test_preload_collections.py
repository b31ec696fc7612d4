"""The callback plugin preload_collections (plugins/callback/) where it acts: ansible-playbook
with the checkout's ansible.cfg and mitogen's strategy, and the mitogen code it works around.

Its unit tests (tests/unit/plugins/callback/) drive the callback alone; these check that the name
in ansible.cfg loads it (a wrong name only prints a warning and loses the gain) and that the gap
in mitogen is still there (when an upgrade closes it, the plugin should go).
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ansible_env
from mitogen_strategy import strategy_env

pytestmark = pytest.mark.integration

# A play without any module run: only the callback lists the collections in it.
PLAY = """
- name: A play that runs no module
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Say something
      ansible.builtin.debug:
        msg: hello
"""


def run_play(tmp_path: Path, strategy: str) -> subprocess.CompletedProcess:
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), str(playbook), "-vvv"],
        env=ansible_env(strategy_env(strategy)),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_checkout_config_lists_the_collections_when_a_mitogen_play_starts(tmp_path):
    proc = run_play(tmp_path, "mitogen_linear")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    output = proc.stdout + proc.stderr
    assert "unable to load" not in output
    assert "Found installed collection amazon.aws" in output


def test_a_play_with_ansibles_own_strategy_lists_nothing(tmp_path):
    proc = run_play(tmp_path, "linear")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Found installed collection" not in proc.stdout + proc.stderr


def test_mitogen_still_lists_the_collections_in_each_task_worker():
    from ansible_mitogen import planner

    # The listing, per module path, cached in a dict of the process that plans the task: the
    # worker Ansible forks for it. If this fails, mitogen changed how it lists collections:
    # measure again (docs/speed.md) and drop the plugin if the gap is gone.
    assert isinstance(planner._planner_by_path, dict)
    assert "_load_collections(invocation)" in inspect.getsource(planner.invoke)
    assert "list_collection_dirs()" in inspect.getsource(planner._load_collections)
