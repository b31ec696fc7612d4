"""The repository's tags (community.aws.ecs_ecr cannot set them): check mode, purge, idempotence."""

from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecr_repository_metadata import (
    ensure_tags,
    run,
)
from botocore.stub import ANY

from ._data import ARN, NAME, TAGS, params, queue_repository, queue_tags

STALE = {"Application": "mlflow", "Owner": "someone", "Name": "old-name"}


def test_check_mode_reads_only_and_reports_the_tags_a_run_would_set(stubbed):
    client, stubber = stubbed("ecr")
    queue_tags(stubber, STALE)
    changed, before, after = ensure_tags(client, ARN, TAGS, True, check_mode=True)
    assert (changed, before, after) == (True, STALE, TAGS)


def test_sets_the_missing_and_changed_tags_and_removes_the_others(stubbed):
    client, stubber = stubbed("ecr")
    queue_tags(stubber, STALE)
    stubber.add_response("untag_resource", {}, {"resourceArn": ARN, "tagKeys": ["Owner"]})
    stubber.add_response("tag_resource", {}, {"resourceArn": ARN, "tags": ANY})
    changed, before, after = ensure_tags(client, ARN, TAGS, True, check_mode=False)
    assert (changed, before, after) == (True, STALE, TAGS)


def test_the_tags_sent_are_only_the_ones_that_differ(stubbed):
    client, stubber = stubbed("ecr")
    sent = []
    # The tag list's order is not defined (compare_aws_tags works on sets): record it instead.
    client.meta.events.register(
        "before-parameter-build.ecr.TagResource",
        lambda params, **kwargs: sent.extend(params["tags"]),
    )
    queue_tags(stubber, STALE)
    stubber.add_response("tag_resource", {}, {"resourceArn": ARN, "tags": ANY})
    changed, _before, after = ensure_tags(client, ARN, TAGS, False, check_mode=False)
    assert changed is True
    assert sorted(sent, key=lambda t: t["Key"]) == [
        {"Key": "ManagedBy", "Value": "mlops.mlflow_ecs"},
        {"Key": "Name", "Value": NAME},
    ]
    # purge_tags=false keeps the tag set by hand (no UntagResource queued).
    assert after == {**TAGS, "Owner": "someone"}


def test_tags_already_right_are_no_change_and_no_call(stubbed):
    client, stubber = stubbed("ecr")
    queue_tags(stubber, TAGS)
    assert ensure_tags(client, ARN, dict(TAGS), True, check_mode=False) == (False, TAGS, TAGS)


def test_run_reports_the_change_with_a_diff(stubbed):
    client, stubber = stubbed("ecr")
    queue_repository(stubber)
    queue_tags(stubber, {})
    stubber.add_response("tag_resource", {}, {"resourceArn": ARN, "tags": ANY})
    result = run(client, params(tags=TAGS), check_mode=False)
    assert (result["changed"], result["tags"]) == (True, TAGS)
    assert result["diff"] == {"before": {"tags": {}}, "after": {"tags": TAGS}}


def test_run_without_tags_leaves_them_alone(stubbed):
    # tags not set (None): no ListTagsForResource, no change, whatever the repository carries.
    client, stubber = stubbed("ecr")
    queue_repository(stubber)
    result = run(client, params(tags=None), check_mode=False)
    assert (result["changed"], result["tags"]) == (False, {})
