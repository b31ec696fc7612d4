"""What the image role asks: is the content tag pushed, and its digest (read only)."""

from __future__ import annotations

import botocore.exceptions
import pytest
from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecr_repository_metadata import (
    EcrCallError,
    run,
)

from ._data import ARN, DIGEST, NAME, TAG, params, queue_image, queue_repository, queue_token


def test_a_pushed_tag_reports_its_digest_and_changes_nothing(stubbed):
    client, stubber = stubbed("ecr")
    queue_repository(stubber)
    queue_image(stubber)
    result = run(client, params(image_tag=TAG), check_mode=False)
    assert (result["changed"], result["digest"], result["repository_arn"]) == (False, DIGEST, ARN)
    assert "registry_password" not in result


def test_a_missing_tag_reports_an_empty_digest(stubbed):
    client, stubber = stubbed("ecr")
    queue_repository(stubber)
    queue_image(stubber, digest="")
    result = run(client, params(image_tag=TAG), check_mode=False)
    assert (result["digest"], result["repository_arn"]) == ("", ARN)


def test_a_missing_repository_reports_nothing_and_looks_up_no_image(stubbed):
    # The stubber fails on any call not queued: no DescribeImages, no tagging.
    client, stubber = stubbed("ecr")
    queue_repository(stubber, exists=False)
    result = run(client, params(image_tag=TAG, tags={"Name": NAME}), check_mode=False)
    assert result == {
        "changed": False,
        "digest": "",
        "repository_arn": "",
        "tags": {},
        "diff": {"before": {"tags": {}}, "after": {"tags": {}}},
    }


def test_no_image_tag_looks_up_no_image(stubbed):
    client, stubber = stubbed("ecr")
    queue_repository(stubber)
    assert run(client, params(image_tag=""), check_mode=False)["digest"] == ""


def test_login_returns_the_password_of_user_aws(stubbed):
    client, stubber = stubbed("ecr")
    queue_repository(stubber)
    queue_token(stubber, "eyJwYXlsb2FkIjoi:with-a-colon")
    result = run(client, params(login=True), check_mode=False)
    # Only the part after "AWS:" (the password may itself hold colons).
    assert result["registry_password"] == "eyJwYXlsb2FkIjoi:with-a-colon"


def test_a_failed_call_says_what_was_being_done_and_keeps_the_aws_error(stubbed):
    client, stubber = stubbed("ecr")
    stubber.add_client_error(
        "describe_repositories", "AccessDeniedException", "not authorized", http_status_code=400
    )
    with pytest.raises(
        EcrCallError, match=f"^Could not describe the ECR repository {NAME}$"
    ) as err:
        run(client, params(image_tag=TAG), check_mode=False)
    assert isinstance(err.value.__cause__, botocore.exceptions.ClientError)
    assert err.value.__cause__.response["Error"]["Code"] == "AccessDeniedException"


def test_a_failed_image_lookup_is_not_taken_for_a_missing_tag(stubbed):
    # Only ImageNotFoundException means "not pushed": a deploy must not build (or refuse to
    # start) because a lookup was denied.
    client, stubber = stubbed("ecr")
    queue_repository(stubber)
    stubber.add_client_error(
        "describe_images", "AccessDeniedException", "not authorized", http_status_code=400
    )
    with pytest.raises(EcrCallError, match=f"Could not look up {NAME}:{TAG}"):
        run(client, params(image_tag=TAG), check_mode=False)
