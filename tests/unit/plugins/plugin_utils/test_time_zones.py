from __future__ import annotations

import datetime
import zoneinfo

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.plugin_utils import time_zones


def test_a_name_of_the_database_gives_its_zone():
    madrid = time_zones.time_zone("Europe/Madrid")
    assert madrid == zoneinfo.ZoneInfo("Europe/Madrid")
    winter = datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.UTC)
    assert winter.astimezone(madrid).hour == 13


@pytest.mark.parametrize("name", ["Europe/Madird", "europe/madrid", "CEST", "", None, 1])
def test_anything_else_gives_none(name):
    assert time_zones.time_zone(name) is None


def test_without_a_time_zone_database_only_utc_is_known(monkeypatch):
    monkeypatch.setattr(time_zones.zoneinfo, "available_timezones", set)
    assert time_zones.time_zone("UTC") is datetime.UTC
    assert time_zones.time_zone("Europe/Madrid") is None
