from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.plugin_utils import time_zones
from ansible_collections.mlops.mlflow_ecs.plugins.test import iana_time_zone as plugin


@pytest.mark.parametrize(
    "name", ["UTC", "Europe/Madrid", "America/Argentina/Buenos_Aires", "Etc/GMT+9"]
)
def test_time_zones_of_the_iana_database_pass(name):
    assert plugin.iana_time_zone(name)


@pytest.mark.parametrize("name", ["Europe/Madird", "europe/madrid", "CEST", "", None, 1])
def test_misspelt_or_made_up_names_fail(name):
    assert not plugin.iana_time_zone(name)


def test_without_a_time_zone_database_only_utc_passes(monkeypatch):
    monkeypatch.setattr(time_zones.zoneinfo, "available_timezones", set)
    assert plugin.iana_time_zone("UTC")
    # Not even a real name: office hours could not be told in it (plugins/test/office_hours.py).
    assert not plugin.iana_time_zone("Europe/Madrid")
