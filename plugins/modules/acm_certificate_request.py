#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: acm_certificate_request
version_added: 0.1.0
short_description: Request a public ACM certificate validated by DNS, or delete it
description:
  - Requests a public certificate from AWS Certificate Manager (ACM) for O(domain_name) (and
    O(subject_alternative_names)) with DNS validation, and returns the CNAME records that prove
    control of the domain (RV(certificate.validation_records)). Creating those records, for
    example with M(amazon.aws.route53), is left to the caller.
  - The certificate is found by its C(Name) tag (O(name)), so running the module again never
    requests a second one. A certificate with that tag whose domain names differ, or that can no
    longer be issued (failed, timed out, revoked, expired), is not reused; a new one is
    requested and the old one is left alone (O(state=absent) deletes every certificate with the
    tag).
  - With O(wait=true), waits until ACM has issued the certificate, and fails with ACM's reason
    when the validation fails or O(wait_timeout) passes.
  - M(community.aws.acm_certificate) imports certificates; it does not request them.
options:
  name:
    description:
      - Value of the C(Name) tag that identifies the certificate.
    type: str
    required: true
  domain_name:
    description:
      - Fully qualified domain name of the certificate, for example V(mlflow.example.com).
      - Required with O(state=present). With O(state=absent), when set, only certificates of
        this domain are deleted.
    type: str
  subject_alternative_names:
    description:
      - More domain names the certificate covers.
    type: list
    elements: str
    default: []
  tags:
    description:
      - Tags of the certificate. The C(Name) tag is always O(name).
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description:
      - Remove tags of the certificate that are not in O(tags).
    type: bool
    default: true
  state:
    description:
      - Whether the certificate should exist.
      - V(absent) deletes every certificate with the C(Name) tag O(name). ACM refuses to delete
        a certificate a load balancer still uses; the module retries for O(wait_timeout)
        seconds, because a deleted load balancer releases its certificates with a delay.
    type: str
    choices: [present, absent]
    default: present
  wait:
    description:
      - With O(state=present), wait until the certificate is issued.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the certificate to be issued (O(wait=true)), or to be released by the
        services that use it (O(state=absent)).
    type: int
    default: 600
notes:
  - Supports check mode; it reports the change it would make and makes none.
  - ACM fills in the validation records of a new certificate a few seconds after the request;
    the module polls until they are there.
  - Needs C(acm:ListCertificates), C(acm:DescribeCertificate), C(acm:ListTagsForCertificate),
    C(acm:RequestCertificate), C(acm:AddTagsToCertificate), C(acm:RemoveTagsFromCertificate) and
    C(acm:DeleteCertificate).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Request a certificate for mlflow.example.com
  mlops.mlflow_ecs.acm_certificate_request:
    name: production-mlflow-certificate
    domain_name: mlflow.example.com
    tags:
      Environment: production
  register: certificate

- name: Create its DNS validation records
  amazon.aws.route53:
    state: present
    hosted_zone_id: Z0123456789ABCDEFGHIJ
    record: "{{ item.name }}"
    type: "{{ item.type }}"
    value: "{{ item.value }}"
    ttl: 300
    overwrite: true
  loop: "{{ certificate.certificate.validation_records }}"

- name: Wait until ACM has issued it
  mlops.mlflow_ecs.acm_certificate_request:
    name: production-mlflow-certificate
    domain_name: mlflow.example.com
    tags:
      Environment: production
    wait: true
    wait_timeout: 900

- name: Delete it
  mlops.mlflow_ecs.acm_certificate_request:
    name: production-mlflow-certificate
    state: absent
"""

RETURN = r"""
certificate:
  description:
    - The certificate.
    - Empty after O(state=absent), and in check mode when a certificate would be requested.
  returned: always
  type: dict
  contains:
    arn:
      description: ARN of the certificate.
      type: str
      returned: when the certificate exists
      sample: arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-0123456789ab
    domain_name:
      description: Its domain name.
      type: str
      returned: when the certificate exists
      sample: mlflow.example.com
    subject_alternative_names:
      description: Every domain name it covers, O(domain_name) included.
      type: list
      elements: str
      returned: when the certificate exists
      sample: [mlflow.example.com]
    status:
      description: ACM status, for example V(PENDING_VALIDATION) or V(ISSUED).
      type: str
      returned: when the certificate exists
      sample: ISSUED
    validation_records:
      description: The DNS records that validate the certificate, one per domain name.
      type: list
      elements: dict
      returned: when the certificate exists
      contains:
        domain_name:
          description: Domain name the record validates.
          type: str
        name:
          description: Name of the record.
          type: str
          sample: _0123456789abcdef.mlflow.example.com.
        type:
          description: Record type (always V(CNAME)).
          type: str
          sample: CNAME
        value:
          description: Value of the record.
          type: str
          sample: _fedcba9876543210.abcdefghij.acm-validations.aws.
        status:
          description: Validation status of the domain name.
          type: str
          sample: SUCCESS
    in_use_by:
      description: ARNs of the resources (load balancers) that use the certificate.
      type: list
      elements: str
      returned: when the certificate exists
    tags:
      description: Tags of the certificate.
      type: dict
      returned: when the certificate exists
deleted:
  description:
    - The certificates deleted by O(state=absent) (or that would be, in check mode), each with the
      keys of RV(certificate), so the caller can remove their validation records.
  returned: when O(state=absent)
  type: list
  elements: dict
"""

import time

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.modules import (
    MlflowEcsAWSModule,
    run_state_module,
)

# Certificates that are, or may become, usable: reused when their domain names match.
USABLE_STATUSES = ("PENDING_VALIDATION", "ISSUED")
# Every status a certificate may have: ListCertificates filters by status, and the Name tag must
# find every certificate of the module, for deletion too.
ALL_STATUSES = (
    "PENDING_VALIDATION",
    "ISSUED",
    "INACTIVE",
    "EXPIRED",
    "VALIDATION_TIMED_OUT",
    "REVOKED",
    "FAILED",
)
FAILED_STATUSES = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE")
RECORDS_TIMEOUT = 120  # seconds ACM may take to publish the validation records of a new request


class CertificateError(Exception):
    """The certificate cannot be brought to the requested state; the message says why."""


def validate_params(params):
    """Check the options before any AWS call."""
    if not (params.get("name") or "").strip():
        raise CertificateError("name must not be empty")
    present = params.get("state", "present") == "present"
    if present and not (params.get("domain_name") or "").strip():
        raise CertificateError("domain_name is required with state=present")
    if (params.get("wait_timeout") or 0) < 0:
        raise CertificateError("wait_timeout must not be negative")


def wanted_names(params):
    """The set of domain names the certificate must cover (lower case)."""
    names = [params["domain_name"]] + list(params.get("subject_alternative_names") or [])
    return {n.strip().lower().rstrip(".") for n in names if n and n.strip()}


@AWSRetry.jittered_backoff()
def list_certificate_arns(client):
    paginator = client.get_paginator("list_certificates")
    pages = paginator.paginate(CertificateStatuses=list(ALL_STATUSES)).build_full_result()
    return [c["CertificateArn"] for c in pages.get("CertificateSummaryList", [])]


@AWSRetry.jittered_backoff()
def get_tags(client, arn):
    return boto3_tag_list_to_ansible_dict(
        client.list_tags_for_certificate(CertificateArn=arn).get("Tags") or []
    )


@AWSRetry.jittered_backoff()
def describe_certificate(client, arn):
    return client.describe_certificate(CertificateArn=arn)["Certificate"]


@AWSRetry.jittered_backoff()
def request_certificate(client, domain_name, alternative_names, tags):
    params = {
        "DomainName": domain_name,
        "ValidationMethod": "DNS",
        "Tags": ansible_dict_to_boto3_tag_list(tags),
    }
    if alternative_names:
        params["SubjectAlternativeNames"] = alternative_names
    return client.request_certificate(**params)["CertificateArn"]


@AWSRetry.jittered_backoff()
def add_tags(client, arn, tags):
    client.add_tags_to_certificate(CertificateArn=arn, Tags=ansible_dict_to_boto3_tag_list(tags))


@AWSRetry.jittered_backoff()
def remove_tags(client, arn, keys):
    client.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": k} for k in keys])


@AWSRetry.jittered_backoff()
def delete_certificate(client, arn):
    client.delete_certificate(CertificateArn=arn)


def find_certificates(client, name, domain_name=None):
    """Every certificate tagged Name=name (of domain_name when given): [(description, tags)]."""
    found = []
    for arn in list_certificate_arns(client):
        try:
            tags = get_tags(client, arn)
            if tags.get("Name") != name:
                continue
            description = describe_certificate(client, arn)
        except is_boto3_error_code("ResourceNotFoundException"):
            continue  # deleted meanwhile
        if domain_name and description.get("DomainName", "").lower() != domain_name.lower():
            continue
        found.append((description, tags))
    return found


def covered_names(description):
    names = description.get("SubjectAlternativeNames") or []
    names = list(names) + [description.get("DomainName", "")]
    return {n.lower().rstrip(".") for n in names if n}


def select_certificate(found, names):
    """The reusable certificate among found: same names, usable status; the issued one first."""
    usable = [
        (description, tags)
        for description, tags in found
        if description.get("Status") in USABLE_STATUSES and covered_names(description) == names
    ]
    usable.sort(
        key=lambda item: (
            item[0].get("Status") == "ISSUED",
            str(item[0].get("CreatedAt") or ""),
        ),
        reverse=True,
    )
    return usable[0] if usable else (None, None)


def validation_records(description):
    records = []
    for option in description.get("DomainValidationOptions") or []:
        record = option.get("ResourceRecord")
        if not record:
            continue
        records.append(
            {
                "domain_name": option.get("DomainName", ""),
                "name": record["Name"],
                "type": record["Type"],
                "value": record["Value"],
                "status": option.get("ValidationStatus", ""),
            }
        )
    return records


def records_complete(description):
    """Whether ACM has published a validation record for every domain name (DNS validation)."""
    options = description.get("DomainValidationOptions") or []
    return bool(options) and all(o.get("ResourceRecord") for o in options)


def certificate_to_result(description, tags):
    if not description:
        return {}
    domain = description.get("DomainName", "")
    names = [domain] + [n for n in description.get("SubjectAlternativeNames") or [] if n != domain]
    return {
        "arn": description["CertificateArn"],
        "domain_name": description.get("DomainName", ""),
        "subject_alternative_names": names,
        "status": description.get("Status", ""),
        "validation_records": validation_records(description),
        "in_use_by": list(description.get("InUseBy") or []),
        "tags": dict(tags or {}),
    }


def poll(client, arn, done, timeout, delay, sleep):
    """Describe the certificate until done(description) or timeout; return the last description."""
    deadline = time.monotonic() + timeout
    while True:
        description = describe_certificate(client, arn)
        if done(description) or time.monotonic() >= deadline:
            return description
        sleep(delay)


def wait_until_issued(client, arn, timeout, delay=10, sleep=time.sleep):
    def settled(description):
        return description.get("Status") == "ISSUED" or description.get("Status") in FAILED_STATUSES

    description = poll(client, arn, settled, timeout, delay, sleep)
    status = description.get("Status")
    if status == "ISSUED":
        return description
    if status in FAILED_STATUSES:
        reason = description.get("FailureReason") or "no reason given"
        raise CertificateError(
            f"ACM did not issue certificate {arn} for {description.get('DomainName')}: it is"
            f" {status} ({reason})"
        )
    pending = [r["name"] for r in validation_records(description) if r["status"] != "SUCCESS"] or [
        "(none published yet)"
    ]
    raise CertificateError(
        f"certificate {arn} for {description.get('DomainName')} is still {status} after"
        f" {timeout}s: check that the validation records {', '.join(pending)} exist in the"
        " domain's public hosted zone and that the zone is delegated to Route 53"
    )


def ensure_present(client, params, check_mode, sleep=time.sleep):
    name = params["name"]
    names = wanted_names(params)
    tags = dict(params.get("tags") or {})
    tags["Name"] = name
    description, current_tags = select_certificate(find_certificates(client, name), names)
    changed = False

    if description is None:
        if check_mode:
            return {"changed": True, "certificate": {}}
        domain = params["domain_name"].strip().rstrip(".")
        alternatives = sorted(names - {domain.lower()})
        sans = [domain] + alternatives if alternatives else []
        arn = request_certificate(client, domain, sans, tags)
        description = poll(client, arn, records_complete, RECORDS_TIMEOUT, 2, sleep)
        current_tags, changed = tags, True
    else:
        to_set, to_remove = compare_aws_tags(current_tags, tags, params.get("purge_tags", True))
        if to_set or to_remove:
            changed = True
            if not check_mode:
                if to_remove:
                    remove_tags(client, description["CertificateArn"], to_remove)
                if to_set:
                    add_tags(client, description["CertificateArn"], to_set)
            current_tags = {k: v for k, v in current_tags.items() if k not in to_remove}
            current_tags.update(to_set)
        if not records_complete(description) and description.get("Status") != "ISSUED":
            description = poll(
                client, description["CertificateArn"], records_complete, RECORDS_TIMEOUT, 2, sleep
            )

    if params.get("wait") and description.get("Status") != "ISSUED" and not check_mode:
        description = wait_until_issued(
            client, description["CertificateArn"], params.get("wait_timeout") or 0, sleep=sleep
        )
    return {"changed": changed, "certificate": certificate_to_result(description, current_tags)}


def delete_when_released(client, arn, timeout, delay=10, sleep=time.sleep):
    """Delete the certificate, retrying while a (deleted) load balancer still holds it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            delete_certificate(client, arn)
            return
        except is_boto3_error_code("ResourceNotFoundException"):
            return
        except is_boto3_error_code("ResourceInUseException"):
            if time.monotonic() >= deadline:
                users = ", ".join(describe_certificate(client, arn).get("InUseBy") or []) or "?"
                raise CertificateError(
                    f"certificate {arn} is still in use after {timeout}s (by {users}); remove"
                    " it from those listeners first"
                ) from None
            sleep(delay)


def ensure_absent(client, params, check_mode, sleep=time.sleep):
    found = find_certificates(client, params["name"], params.get("domain_name"))
    deleted = [certificate_to_result(description, tags) for description, tags in found]
    if not check_mode:
        for description, _tags in found:
            delete_when_released(
                client, description["CertificateArn"], params.get("wait_timeout") or 0, sleep=sleep
            )
    return {"changed": bool(found), "certificate": {}, "deleted": deleted}


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        domain_name=dict(type="str"),
        subject_alternative_names=dict(type="list", elements="str", default=[]),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=600),
    )
    module = MlflowEcsAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["domain_name"])],
        supports_check_mode=True,
    )
    what = module.params.get("domain_name") or module.params["name"]

    run_state_module(
        module,
        "acm",
        validate_params,
        ensure_present,
        ensure_absent,
        CertificateError,
        failure=f"Failed to make the ACM certificate of {what} {module.params['state']}",
    )


if __name__ == "__main__":
    main()
