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
    C(mitogen_host_pinned), C(mitogen)) quicker; with any other strategy it does nothing. It
    changes no result.
  - Under mitogen (0.3.54), every task that runs a collection's module lists all installed
    collections (C(ansible_mitogen.planner._load_collections)) in the worker process Ansible
    forks for that task and host. The first listing in a process imports each collection's
    package and parses its C(meta/runtime.yml); the worker exits after its task, so every such
    task paid that again, about 0.1 s with the collections the C(ansible) package installs
    (figures in the collection's C(docs/speed.md)).
  - When the first play with a mitogen strategy starts, this callback lists the collections once
    in the controller's own process. The workers forked after it inherit the imported packages;
    mitogen still lists the collections in each of them, but no longer imports or parses
    anything (about 0.02 s instead of 0.12 s).
  - A collection that cannot be listed (for example a C(meta/runtime.yml) that is not YAML) is
    left to mitogen, which fails the tasks that run modules, as without this callback; the
    callback itself only reports the error at verbosity C(-vvv) and does not try again.
  - At verbosity C(-vvv) the listing prints a line per collection after the play's banner, as
    mitogen's own listing does in each task.
requirements:
  - Named in C(callbacks_enabled). A checkout of the collection names it in its C(ansible.cfg);
    the built collection ships none, so add it to yours.
"""

EXAMPLES = r"""
# ansible.cfg: add it to the callbacks already enabled
# [defaults]
# callbacks_enabled = ansible.builtin.profile_tasks, mlops.mlflow_ecs.preload_collections
"""

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
        # TaskQueueManager.run sends this before it loads the play's strategy and forks any
        # worker; play.strategy is final then (post-validated), except for a play that matched
        # no host, which forks nothing anyway.
        if self.preloaded or not uses_mitogen(play.strategy):
            return
        self.preloaded = True
        # Imported here: ansible.collections.list brings ansible-galaxy's modules with it (about
        # 0.1 s), which a run with another strategy should not pay. mitogen imports it anyway.
        from ansible.collections.list import list_collection_dirs

        try:
            list(list_collection_dirs())
        except Exception as err:  # pylint: disable=broad-exception-caught
            # mitogen's own listing meets the same error in the task and fails it there.
            self._display.vvv(f"preload_collections: collections not listed: {err}")
