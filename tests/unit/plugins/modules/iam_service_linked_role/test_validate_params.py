from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.iam_service_linked_role import (
    ServiceLinkedRoleError,
    validate_params,
)

from ._data import params


def test_valid_params_pass():
    validate_params(params())
    validate_params(params(custom_suffix="mlflow", state="absent", wait_timeout=0))


@pytest.mark.parametrize("name", ["", " ", "ecs.amazonaws.com/", "ecs amazonaws.com"])
def test_service_name_must_be_a_principal(name):
    with pytest.raises(ServiceLinkedRoleError, match="must be a service principal"):
        validate_params(params(aws_service_name=name))


def test_empty_suffix_fails():
    with pytest.raises(ServiceLinkedRoleError, match="custom_suffix must not be empty"):
        validate_params(params(custom_suffix=""))


def test_negative_timeout_fails():
    with pytest.raises(ServiceLinkedRoleError, match="wait_timeout"):
        validate_params(params(wait_timeout=-1))
