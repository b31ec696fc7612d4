# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load the installed collections once, before a mitogen play forks its first task."""

from __future__ import annotations

DOCUMENTATION = r"""
---
name: preload_collections
type: aggregate
short_description: Load the installed collections once, before a mitogen play forks its first task
version_added: 0.2.0
description:
  - Makes playbooks run with mitogen's strategy plugins (C(mitogen_linear), C(mitogen_free),
    C(mitogen_host_pinned)) quicker; with any other strategy it does nothing. It prints nothing
    and changes no result.
  - Under mitogen, every task that runs a collection's module lists all installed collections
    (C(ansible_mitogen.planner._load_collections), mitogen 0.3.x), in the worker process
    Ansible forks for that task. Listing them imports each collection's package and parses its
    C(meta/runtime.yml); the worker keeps its result only until it exits, so each such task pays
    again, about 0.1 s with the collections the C(ansible) package installs (figures in
    the collection's C(docs/speed.md)).
  - When the first play with a mitogen strategy starts, this callback lists the collections once
    in the controller's own process, so that every worker forked after it inherits the loaded
    packages.
requirements:
  - Enabled in C(callbacks_enabled) (the collection's C(ansible.cfg) enables it).
"""

EXAMPLES = r"""
# ansible.cfg
# [defaults]
# callbacks_enabled = mlops.mlflow_ecs.preload_collections
"""

from ansible.collections.list import list_collection_dirs
from ansible.plugins.callback import CallbackBase

# Strategy plugin names of mitogen (ansible_mitogen/plugins/strategy/*.py).
_MITOGEN_STRATEGIES = frozenset(
    ("mitogen", "mitogen_linear", "mitogen_free", "mitogen_host_pinned")
)


def uses_mitogen(strategy):
    """Whether a play's strategy (a plugin name, short or fully qualified) is one of mitogen's."""
    return bool(strategy) and strategy.rpartition(".")[2] in _MITOGEN_STRATEGIES


class CallbackModule(CallbackBase):
    """Lists the installed collections at the start of the first mitogen play of a run."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mlops.mlflow_ecs.preload_collections"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display=None):
        super().__init__(display=display)
        self.preloaded = False

    def v2_playbook_on_play_start(self, play):
        # Ansible sends this after the play's attributes are final and before it loads the
        # play's strategy and forks any worker (TaskQueueManager.run).
        if self.preloaded or not uses_mitogen(play.strategy):
            return
        list(list_collection_dirs())
        self.preloaded = True
