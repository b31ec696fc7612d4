from __future__ import annotations

from ansible_collections.mlops.mlflow_ecs.plugins.modules.ecs_task_definition import (
    build_request,
    ensure_present,
)

from ._data import ARN, TAGS, described, params, queue_describe, queue_list, tag_list


def test_check_mode_on_a_new_family_predicts_revision_1_and_registers_nothing(stubbed):
    client, stubber = stubbed("ecs")
    queue_list(stubber, "ACTIVE", [])
    queue_list(stubber, "ACTIVE", [])
    queue_list(stubber, "INACTIVE", [])
    result = ensure_present(client, params(), check_mode=True)
    assert result["changed"] is True
    assert result["task_definition"]["revision"] == 1
    assert result["task_definition"]["task_definition_arn"] == ""


def test_a_matching_latest_revision_registers_nothing(stubbed):
    client, stubber = stubbed("ecs")
    queue_list(stubber, "ACTIVE", [f"{ARN}:1", f"{ARN}:2"])
    queue_describe(stubber, described(revision=2))
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is False
    assert result["task_definition"]["task_definition_arn"] == f"{ARN}:2"
    assert result["task_definition"]["tags"] == TAGS
    assert result["diff"]["before"] == result["diff"]["after"]


def test_a_change_registers_a_revision_with_tags_and_storage(stubbed):
    client, stubber = stubbed("ecs")
    queue_list(stubber, "ACTIVE", [f"{ARN}:1"])
    queue_describe(stubber, described(revision=1))
    wanted = params(memory="1024", ephemeral_storage_gib=30)
    request = build_request(wanted)
    assert request["ephemeralStorage"] == {"sizeInGiB": 30}
    stubber.add_response(
        "register_task_definition",
        {"taskDefinition": described(revision=2, memory="1024")},
        {**request, "tags": tag_list(TAGS)},
    )
    result = ensure_present(client, wanted, check_mode=False)
    assert result["changed"] is True
    assert result["task_definition"]["revision"] == 2
    assert result["diff"]["after"]["memory"] == "1024"


def test_a_change_in_check_mode_predicts_the_next_revision(stubbed):
    client, stubber = stubbed("ecs")
    queue_list(stubber, "ACTIVE", [f"{ARN}:2"])
    queue_describe(stubber, described(revision=2))
    queue_list(stubber, "ACTIVE", [f"{ARN}:2"])
    queue_list(stubber, "INACTIVE", [f"{ARN}:1", f"{ARN}:3"])
    result = ensure_present(client, params(memory="1024"), check_mode=True)
    assert result["changed"] is True
    assert result["task_definition"]["revision"] == 4


def test_only_tags_differ_retags_the_latest_revision(stubbed):
    client, stubber = stubbed("ecs")
    queue_list(stubber, "ACTIVE", [f"{ARN}:1"])
    queue_describe(stubber, described(revision=1), tags={**TAGS, "Old": "x"})
    stubber.add_response("untag_resource", {}, {"resourceArn": f"{ARN}:1", "tagKeys": ["Old"]})
    result = ensure_present(client, params(), check_mode=False)
    assert result["changed"] is True
    assert result["task_definition"]["tags"] == TAGS
