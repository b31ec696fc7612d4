from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_service_autoscaling import (
    AutoscalingError,
    validate_params,
)

from ._data import params


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"min_capacity": None}, "min_capacity is required"),
        ({"min_capacity": 3, "max_capacity": 2}, "min_capacity <= max_capacity"),
        ({"target_value": 0}, "target_value must be positive"),
        ({"metric": "requests"}, "metric=requests needs resource_label"),
    ],
)
def test_invalid_settings_are_refused(overrides, message):
    with pytest.raises(AutoscalingError, match=message):
        validate_params(params(**overrides))


def test_absent_needs_no_settings():
    validate_params(params(state="absent", min_capacity=None, target_value=None))
