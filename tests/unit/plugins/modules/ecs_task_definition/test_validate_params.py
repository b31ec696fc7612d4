from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_task_definition import (
    TaskDefinitionError,
    validate_params,
)

from ._data import container, params


def test_valid_parameters_pass():
    validate_params(params())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"container_definitions": []}, "container_definitions is required"),
        ({"container_definitions": [{"name": "mlflow"}]}, "needs at least a name and an image"),
        (
            {"container_definitions": [container(), container()]},
            "two containers with the same name",
        ),
        (
            {
                "container_definitions": [
                    container(
                        environment=[{"name": "A", "value": "1"}, {"name": "A", "value": "2"}]
                    )
                ]
            },
            "sets environment variable(s) twice: A",
        ),
        ({"ephemeral_storage_gib": 20}, "between 21 and 200"),
    ],
)
def test_invalid_parameters_are_refused(overrides, message):
    with pytest.raises(TaskDefinitionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate_params(params(**overrides))
