# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a moment falls in the office hours of a scale-to-zero schedule."""

from __future__ import annotations

import datetime
import time

from ansible_collections.mlops.mlflow_ecs.plugins.plugin_utils.time_zones import time_zone

DOCUMENTATION = r"""
---
name: office_hours
short_description: Does a moment fall in the office hours of a scale-to-zero schedule?
version_added: 0.2.0
description:
  - True when the moment (now, unless O(at) is given) is on one of the schedule's C(days), at or
    after C(start_hour) and before C(stop_hour), on the clock of its C(timezone).
  - That is the state the two Application Auto Scaling scheduled actions of the ecs role's
    C(ecs_scheduled_scaling) hold at that moment (C(cron(0 start_hour ? * days *)) sets the
    range, C(cron(0 stop_hour ? * days *)) sets 0, in C(Timezone)), so a deploy can register the
    same range as the last action that ran instead of starting tasks until the next stop.
options:
  _input:
    description:
      - The schedule, as C(ecs_scheduled_scaling) holds it after its defaults.
      - C(timezone) (str, an IANA time zone name), C(days) (list of C(MON) ... C(SUN)),
        C(start_hour) and C(stop_hour) (int, 0-23, start before stop).
    type: dict
    required: true
  at:
    description:
      - The moment, in seconds since the Unix epoch (UTC). Default now.
    type: float
notes:
  - A time zone the controller does not know raises C(ValueError); the ecs role checks the name
    with C(mlops.mlflow_ecs.iana_time_zone) first, which knows the same zones. The time zone
    database is the system's or the C(tzdata) package's (in the collection's requirements.txt
    and execution environment).
"""

EXAMPLES = r"""
- name: Note whether the schedule holds the service at zero now
  ansible.builtin.set_fact:
    out_of_office_hours: >-
      {{ ecs_scheduled_scaling_settings is not mlops.mlflow_ecs.office_hours }}
"""

RETURN = r"""
_value:
  description: Whether the moment is in office hours.
  type: bool
"""

# datetime.weekday(): Monday is 0. The day names of cron expressions (Application Auto Scaling).
_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


def office_hours(schedule, at=None):
    moment = datetime.datetime.fromtimestamp(time.time() if at is None else float(at), datetime.UTC)
    zone = time_zone(schedule["timezone"])
    if zone is None:
        raise ValueError(f"{schedule['timezone']!r} is not an IANA time zone the controller knows")
    local = moment.astimezone(zone)
    start, stop = int(schedule["start_hour"]), int(schedule["stop_hour"])
    return _DAYS[local.weekday()] in schedule["days"] and start <= local.hour < stop


class TestModule:
    def tests(self):
        return {"office_hours": office_hours}
