# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a name is a time zone of the IANA database, as Application Auto Scaling takes it."""

from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.plugin_utils.time_zones import time_zone

DOCUMENTATION = r"""
---
name: iana_time_zone
short_description: Is a name a time zone of the IANA time zone database?
version_added: 0.2.0
description:
  - True when the name is a time zone of the IANA database the controller's Python knows
    (C(zoneinfo.available_timezones()), the system's or the C(tzdata) package's), such as
    C(UTC), C(Europe/Madrid) or C(America/Argentina/Buenos_Aires). Application Auto Scaling's
    scheduled actions take these names (C(Timezone)) and refuse others only when the action is
    put, after earlier resources have changed.
  - On a controller without a time zone database (neither the system's nor the C(tzdata)
    package, which the collection's requirements.txt pins), only C(UTC) passes, as no other name
    could be checked, nor could the ecs role tell office hours in it (test C(office_hours)).
options:
  _input:
    description: The time zone name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Check the time zone of the office hours
  ansible.builtin.assert:
    that: ecs_scheduled_scaling.timezone is mlops.mlflow_ecs.iana_time_zone
"""

RETURN = r"""
_value:
  description: Whether the name is an IANA time zone.
  type: bool
"""


def iana_time_zone(name):
    return time_zone(name) is not None


class TestModule:
    def tests(self):
        return {"iana_time_zone": iana_time_zone}
