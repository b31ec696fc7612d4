"""Shapes of the ACM answers the module reads (as boto3 returns them)."""

from __future__ import annotations

from datetime import UTC, datetime

ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-0123456789ab"
OTHER_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-0123456789ff"
DOMAIN = "mlflow.example.com"
NAME = "production-mlflow-certificate"
STATUSES = [
    "PENDING_VALIDATION",
    "ISSUED",
    "INACTIVE",
    "EXPIRED",
    "VALIDATION_TIMED_OUT",
    "REVOKED",
    "FAILED",
]
RECORD = {
    "Name": f"_0123456789abcdef.{DOMAIN}.",
    "Type": "CNAME",
    "Value": "_fedcba9876543210.abcdefghij.acm-validations.aws.",
}


def certificate(arn=ARN, domain=DOMAIN, status="ISSUED", sans=None, record=True, in_use=()):
    option = {
        "DomainName": domain,
        "ValidationDomain": domain,
        "ValidationStatus": "SUCCESS" if status == "ISSUED" else status,
        "ValidationMethod": "DNS",
    }
    if record:
        option["ResourceRecord"] = dict(RECORD)
    return {
        "CertificateArn": arn,
        "DomainName": domain,
        "SubjectAlternativeNames": sans or [domain],
        "Status": status,
        "Type": "AMAZON_ISSUED",
        "InUseBy": list(in_use),
        "CreatedAt": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        "DomainValidationOptions": [option],
    }


def params(**overrides):
    result = {
        "name": NAME,
        "domain_name": DOMAIN,
        "subject_alternative_names": [],
        "tags": {"Environment": "production"},
        "purge_tags": True,
        "state": "present",
        "wait": False,
        "wait_timeout": 600,
    }
    result.update(overrides)
    return result


def queue_list(stubber, arns):
    stubber.add_response(
        "list_certificates",
        {"CertificateSummaryList": [{"CertificateArn": a, "DomainName": DOMAIN} for a in arns]},
        {"CertificateStatuses": STATUSES},
    )


def queue_tags(stubber, tags, arn=ARN):
    stubber.add_response(
        "list_tags_for_certificate",
        {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]},
        {"CertificateArn": arn},
    )


def queue_describe(stubber, cert):
    stubber.add_response(
        "describe_certificate", {"Certificate": cert}, {"CertificateArn": cert["CertificateArn"]}
    )


def queue_found(stubber, cert, tags):
    """One certificate in the account, tagged `tags`."""
    queue_list(stubber, [cert["CertificateArn"]])
    queue_tags(stubber, tags, cert["CertificateArn"])
    queue_describe(stubber, cert)


def no_sleep(_seconds):
    return None
