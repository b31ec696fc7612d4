from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.acm_certificate_request import (
    CertificateError,
    delete_when_released,
    ensure_absent,
)

from ._data import ARN, NAME, certificate, no_sleep, params, queue_describe, queue_found, queue_list

TAGS = {"Name": NAME}


def test_nothing_to_delete_is_no_change(stubbed):
    client, stubber = stubbed("acm")
    queue_list(stubber, [])
    assert ensure_absent(client, params(state="absent"), False) == {
        "changed": False,
        "certificate": {},
        "deleted": [],
    }


def test_deletes_the_tagged_certificate_and_returns_its_records(stubbed):
    client, stubber = stubbed("acm")
    queue_found(stubber, certificate(), TAGS)
    stubber.add_response("delete_certificate", {}, {"CertificateArn": ARN})
    result = ensure_absent(client, params(state="absent", domain_name=None), False)
    assert result["changed"] is True
    assert [d["arn"] for d in result["deleted"]] == [ARN]
    assert result["deleted"][0]["validation_records"][0]["type"] == "CNAME"


def test_check_mode_deletes_nothing(stubbed):
    client, stubber = stubbed("acm")
    queue_found(stubber, certificate(), TAGS)
    assert ensure_absent(client, params(state="absent"), True)["changed"] is True


def test_a_certificate_of_another_domain_is_kept(stubbed):
    client, stubber = stubbed("acm")
    queue_found(stubber, certificate(domain="other.example.com"), TAGS)
    assert ensure_absent(client, params(state="absent"), False)["changed"] is False


def test_deletion_is_retried_while_the_certificate_is_in_use(stubbed):
    client, stubber = stubbed("acm")
    stubber.add_client_error("delete_certificate", service_error_code="ResourceInUseException")
    stubber.add_response("delete_certificate", {}, {"CertificateArn": ARN})
    delete_when_released(client, ARN, timeout=60, sleep=no_sleep)


def test_deletion_fails_naming_the_users_after_the_timeout(stubbed):
    client, stubber = stubbed("acm")
    stubber.add_client_error("delete_certificate", service_error_code="ResourceInUseException")
    queue_describe(stubber, certificate(in_use=["arn:aws:elasticloadbalancing:lb"]))
    with pytest.raises(CertificateError, match="still in use after 0s \\(by arn:aws:elastic"):
        delete_when_released(client, ARN, timeout=0, sleep=no_sleep)
