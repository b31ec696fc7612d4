from __future__ import annotations

from datetime import UTC, datetime

from ansible_collections.mlops.mlflow_ecs.plugins.modules.acm_certificate_request import (
    certificate_to_result,
    records_complete,
    select_certificate,
)

from ._data import ARN, DOMAIN, OTHER_ARN, RECORD, certificate


def test_the_issued_certificate_is_preferred_to_a_pending_one():
    pending, issued = certificate(OTHER_ARN, status="PENDING_VALIDATION"), certificate(ARN)
    found = [(pending, {"Name": "n"}), (issued, {"Name": "n"})]
    assert select_certificate(found, {DOMAIN})[0] is issued


def test_the_newest_pending_certificate_is_chosen():
    old, new = (
        certificate(ARN, status="PENDING_VALIDATION"),
        certificate(OTHER_ARN, status="PENDING_VALIDATION"),
    )
    new["CreatedAt"] = datetime(2025, 1, 1, tzinfo=UTC)
    assert select_certificate([(old, {}), (new, {})], {DOMAIN})[0] is new


def test_failed_or_other_domain_certificates_are_not_reused():
    found = [
        (certificate(ARN, status="FAILED"), {}),
        (certificate(OTHER_ARN, domain="other.example.com"), {}),
    ]
    assert select_certificate(found, {DOMAIN}) == (None, None)


def test_alternative_names_must_match_too():
    cert = certificate(sans=[DOMAIN, "www.example.com"])
    assert select_certificate([(cert, {})], {DOMAIN}) == (None, None)
    assert select_certificate([(cert, {})], {DOMAIN, "www.example.com"})[0] is cert


def test_result_carries_the_validation_records():
    result = certificate_to_result(certificate(in_use=["arn:lb"]), {"Name": "n"})
    assert result == {
        "arn": ARN,
        "domain_name": DOMAIN,
        "subject_alternative_names": [DOMAIN],
        "status": "ISSUED",
        "validation_records": [
            {
                "domain_name": DOMAIN,
                "name": RECORD["Name"],
                "type": "CNAME",
                "value": RECORD["Value"],
                "status": "SUCCESS",
            }
        ],
        "in_use_by": ["arn:lb"],
        "tags": {"Name": "n"},
    }
    assert certificate_to_result(None, None) == {}


def test_records_are_complete_only_when_every_name_has_one():
    assert records_complete(certificate())
    assert not records_complete(certificate(record=False))
    assert not records_complete({"DomainValidationOptions": []})
