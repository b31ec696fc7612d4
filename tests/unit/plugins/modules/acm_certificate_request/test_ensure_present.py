from __future__ import annotations

import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.acm_certificate_request import (
    CertificateError,
    ensure_present,
    wait_until_issued,
)

from ._data import (
    ARN,
    DOMAIN,
    NAME,
    certificate,
    no_sleep,
    params,
    queue_describe,
    queue_found,
    queue_list,
    queue_tags,
)

TAGS = {"Environment": "production", "Name": NAME}


def test_check_mode_reports_a_request_and_makes_none(stubbed):
    client, stubber = stubbed("acm")
    queue_list(stubber, [])
    assert ensure_present(client, params(), check_mode=True) == {"changed": True, "certificate": {}}


def test_requests_a_certificate_and_waits_for_its_validation_record(stubbed):
    client, stubber = stubbed("acm")
    queue_list(stubber, [])
    stubber.add_response(
        "request_certificate",
        {"CertificateArn": ARN},
        {
            "DomainName": DOMAIN,
            "ValidationMethod": "DNS",
            "Tags": [
                {"Key": "Environment", "Value": "production"},
                {"Key": "Name", "Value": NAME},
            ],
        },
    )
    queue_describe(stubber, certificate(status="PENDING_VALIDATION", record=False))
    queue_describe(stubber, certificate(status="PENDING_VALIDATION"))
    result = ensure_present(client, params(), check_mode=False, sleep=no_sleep)
    assert result["changed"] is True
    assert result["certificate"]["status"] == "PENDING_VALIDATION"
    assert result["certificate"]["validation_records"][0]["type"] == "CNAME"
    assert result["certificate"]["tags"] == TAGS


def test_an_other_tagged_certificate_is_not_taken(stubbed):
    client, stubber = stubbed("acm")
    queue_list(stubber, [ARN])
    queue_tags(stubber, {"Name": "someone-else"})
    assert ensure_present(client, params(), check_mode=True)["changed"] is True


def test_existing_certificate_with_its_tags_is_no_change(stubbed):
    client, stubber = stubbed("acm")
    queue_found(stubber, certificate(), TAGS)
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is False
    assert result["certificate"]["arn"] == ARN


def test_tags_are_brought_in_line(stubbed):
    client, stubber = stubbed("acm")
    queue_found(stubber, certificate(), {"Name": NAME, "Old": "x"})
    stubber.add_response(
        "remove_tags_from_certificate", {}, {"CertificateArn": ARN, "Tags": [{"Key": "Old"}]}
    )
    stubber.add_response(
        "add_tags_to_certificate",
        {},
        {"CertificateArn": ARN, "Tags": [{"Key": "Environment", "Value": "production"}]},
    )
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is True
    assert result["certificate"]["tags"] == TAGS


def test_wait_polls_until_issued(stubbed):
    client, stubber = stubbed("acm")
    queue_found(stubber, certificate(status="PENDING_VALIDATION"), TAGS)
    queue_describe(stubber, certificate(status="PENDING_VALIDATION"))
    queue_describe(stubber, certificate(status="ISSUED"))
    result = ensure_present(client, params(wait=True), check_mode=False, sleep=no_sleep)
    assert result == {"changed": False, "certificate": result["certificate"]}
    assert result["certificate"]["status"] == "ISSUED"


def test_wait_in_check_mode_does_not_wait(stubbed):
    client, stubber = stubbed("acm")
    queue_found(stubber, certificate(status="PENDING_VALIDATION"), TAGS)
    result = ensure_present(client, params(wait=True), check_mode=True, sleep=no_sleep)
    assert result["certificate"]["status"] == "PENDING_VALIDATION"


def test_a_failed_validation_fails_with_the_reason(stubbed):
    client, stubber = stubbed("acm")
    failed = certificate(status="FAILED")
    failed["FailureReason"] = "CAA_ERROR"
    queue_describe(stubber, failed)
    with pytest.raises(CertificateError, match="FAILED \\(CAA_ERROR\\)"):
        wait_until_issued(client, ARN, 60, sleep=no_sleep)


def test_a_timeout_names_the_pending_record(stubbed):
    client, stubber = stubbed("acm")
    queue_describe(stubber, certificate(status="PENDING_VALIDATION"))
    with pytest.raises(
        CertificateError, match="still PENDING_VALIDATION after 0s.*_0123456789abcdef"
    ):
        wait_until_issued(client, ARN, 0, sleep=no_sleep)
