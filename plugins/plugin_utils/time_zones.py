# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time zones of the IANA database, as Application Auto Scaling's scheduled actions name them.

Shared by the controller-side test plugins iana_time_zone (is a name known?) and office_hours
(what time is it there?), so that both know the same zones.
"""

from __future__ import annotations

import datetime
import zoneinfo


def time_zone(name):
    """The time zone an IANA name stands for, or None when the name is not one.

    :param name: a time zone name such as ``UTC`` or ``Europe/Madrid`` (str; case matters, as in
        Application Auto Scaling's ``Timezone``). Anything else gives None.
    :returns: ``datetime.UTC`` for ``UTC``, a ``zoneinfo.ZoneInfo`` for another name of the
        database the controller's Python knows (``zoneinfo.available_timezones()``: the system's
        or the ``tzdata`` package's), else None. Without any time zone database only ``UTC`` is
        known: no other name can be checked, nor the time told in it.
    """
    if not isinstance(name, str):
        return None
    if name == "UTC":
        return datetime.UTC
    if name not in zoneinfo.available_timezones():
        return None
    return zoneinfo.ZoneInfo(name)
