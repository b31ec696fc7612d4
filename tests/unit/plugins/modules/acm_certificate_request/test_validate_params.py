from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.acm_certificate_request import (
    CertificateError,
    validate_params,
    wanted_names,
)

from ._data import params


def test_valid_params_pass():
    validate_params(params())


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"name": " "}, "name must not be empty"),
        ({"domain_name": ""}, "domain_name is required"),
        ({"wait_timeout": -1}, "wait_timeout must not be negative"),
    ],
)
def test_invalid_params_are_refused(overrides, message):
    with pytest.raises(CertificateError, match=message):
        validate_params(params(**overrides))


def test_absent_needs_no_domain():
    validate_params(params(state="absent", domain_name=None))


def test_wanted_names_are_lower_case_without_final_dot():
    names = wanted_names(
        params(domain_name="MLflow.Example.com.", subject_alternative_names=["a.example.com"])
    )
    assert names == {"mlflow.example.com", "a.example.com"}
