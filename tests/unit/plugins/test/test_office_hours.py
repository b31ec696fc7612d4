from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.plugin_utils import time_zones
from ansible_collections.mlops.mlflow_ecs.plugins.test import office_hours as plugin

# The ecs role's default schedule, in Madrid (UTC+1 in winter, UTC+2 in summer).
MADRID = {
    "timezone": "Europe/Madrid",
    "days": ["MON", "TUE", "WED", "THU", "FRI"],
    "start_hour": 8,
    "stop_hour": 20,
}


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        ("2026-12-01T06:59:59", False),  # Tuesday 07:59 in Madrid: before the start action
        ("2026-12-01T07:00:00", True),  # 08:00: the start action's hour
        ("2026-12-01T18:59:59", True),  # 19:59
        ("2026-12-01T19:00:00", False),  # 20:00: the stop action's hour
        ("2026-12-05T12:00:00", False),  # Saturday: not a listed day
        ("2026-07-01T06:30:00", True),  # summer time: 08:30 in Madrid, 06:30 UTC
        ("2026-12-01T06:30:00", False),  # winter time: 07:30 in Madrid
    ],
)
def test_the_hours_and_days_are_those_of_the_schedules_time_zone(utc, expected):
    assert plugin.office_hours(MADRID, at=at(utc)) is expected


def test_the_day_is_the_local_day():
    # Friday 12:00 UTC is Saturday 01:00 in Auckland (UTC+13 in December).
    auckland = {"timezone": "Pacific/Auckland", "start_hour": 0, "stop_hour": 23}
    moment = at("2026-12-04T12:00:00")
    assert plugin.office_hours({**auckland, "days": ["SAT"]}, at=moment)
    assert not plugin.office_hours({**auckland, "days": ["FRI"]}, at=moment)


def test_without_a_moment_it_is_now():
    """Office hours of this very UTC hour are now; those of the hour before are not."""
    for _attempt in range(3):  # again if the hour turned meanwhile
        hour = datetime.now(UTC).hour
        this_hour = {
            "timezone": "UTC",
            "days": plugin._DAYS,
            "start_hour": hour,
            "stop_hour": hour + 1,
        }
        hour_before = {**this_hour, "start_hour": (hour - 1) % 24, "stop_hour": (hour - 1) % 24 + 1}
        found = (plugin.office_hours(this_hour), plugin.office_hours(hour_before))
        if datetime.now(UTC).hour == hour:
            break
    assert found == (True, False)


def test_utc_needs_no_time_zone_database(monkeypatch):
    monkeypatch.setattr(time_zones.zoneinfo, "available_timezones", set)
    utc = {"timezone": "UTC", "days": ["TUE"], "start_hour": 8, "stop_hour": 20}
    assert plugin.office_hours(utc, at=at("2026-12-01T08:00:00"))
    with pytest.raises(ValueError, match="'Europe/Madrid' is not an IANA time zone"):
        plugin.office_hours(MADRID, at=at("2026-12-01T08:00:00"))


def test_the_test_is_registered_under_its_name():
    assert plugin.TestModule().tests() == {"office_hours": plugin.office_hours}
