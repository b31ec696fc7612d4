#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: ecr_repository_metadata
version_added: 0.1.0
short_description: Digest of an ECR image tag, and the tags of its repository
description:
  - Used by the C(mlops.mlflow_ecs.image) role for the two things no amazon.aws or
    community.aws module does for ECR.
  - Reads the digest of O(image_tag) in repository O(repository_name) (C(ecr:DescribeImages));
    C(digest) is empty when the repository or the tag does not exist. Read only.
  - With O(tags) set, brings the repository's tags to them (C(ecr:TagResource),
    C(ecr:UntagResource) with O(purge_tags)); M(community.aws.ecs_ecr) cannot tag.
author:
  - MLOps platform team (!UNKNOWN)
options:
  repository_name:
    description: Name of the ECR repository.
    type: str
    required: true
  image_tag:
    description: Tag whose digest is reported; empty reports none.
    type: str
    default: ""
  tags:
    description: Tags of the repository; not set leaves them alone.
    type: dict
  purge_tags:
    description: Remove tags that are not in O(tags).
    type: bool
    default: true
  login:
    description:
      - Also return C(registry_password), a registry password for user C(AWS)
        (C(ecr:GetAuthorizationToken)), for M(community.docker.docker_login) before a push.
      - The password is returned in clear, so set C(no_log) on a task with O(login=true).
    type: bool
    default: false
notes:
  - Supports check mode and diff mode.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Is the content tag already pushed?
  mlops.mlflow_ecs.ecr_repository_metadata:
    repository_name: mlflow-tracking
    image_tag: 3f2a9c0d1e4b5a67
  register: found
"""

RETURN = r"""
digest:
  description: The image digest of O(image_tag), C(sha256:...), or empty.
  returned: always
  type: str
repository_arn:
  description: ARN of the repository, empty when it does not exist.
  returned: always
  type: str
tags:
  description:
    - The repository's tags after the run, when O(tags) is set; empty otherwise (the tags are
      not read) and when the repository does not exist.
  returned: always
  type: dict
registry_password:
  description: Password for user C(AWS) at the repository's registry (12 hours valid).
  returned: when O(login=true)
  type: str
"""

import base64

try:  # noqa: SIM105 - the usual guard of AWS modules
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (
    is_boto3_error_code,
)
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.modules import (
    MlflowEcsAWSModule,
)


class EcrCallError(Exception):
    """An ECR call failed; the message says what was being done, __cause__ is botocore's error."""


def _doing(what, call, *args):
    try:
        return call(*args)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as err:
        raise EcrCallError(what) from err


@AWSRetry.jittered_backoff()
def describe_repository(client, name):
    """The repository as DescribeRepositories returns it, or None when it does not exist."""
    try:
        return client.describe_repositories(repositoryNames=[name])["repositories"][0]
    except is_boto3_error_code("RepositoryNotFoundException"):
        return None


@AWSRetry.jittered_backoff()
def describe_image(client, name, tag):
    """The image detail of name:tag, or None when the repository or the tag does not exist."""
    try:
        images = client.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])
    except is_boto3_error_code(["ImageNotFoundException", "RepositoryNotFoundException"]):
        return None
    return (images.get("imageDetails") or [None])[0]


@AWSRetry.jittered_backoff()
def list_tags(client, arn):
    tags = client.list_tags_for_resource(resourceArn=arn).get("tags", [])
    return boto3_tag_list_to_ansible_dict(tags, "Key", "Value")


@AWSRetry.jittered_backoff()
def tag_repository(client, arn, tags):
    client.tag_resource(resourceArn=arn, tags=ansible_dict_to_boto3_tag_list(tags, "Key", "Value"))


@AWSRetry.jittered_backoff()
def untag_repository(client, arn, keys):
    client.untag_resource(resourceArn=arn, tagKeys=keys)


@AWSRetry.jittered_backoff()
def registry_password(client):
    """The password of user AWS at the account's registry (GetAuthorizationToken)."""
    data = client.get_authorization_token()["authorizationData"][0]
    return base64.b64decode(data["authorizationToken"]).decode().split(":", 1)[1]


def image_digest(client, name, tag):
    """The digest (sha256:...) of name:tag; empty for no tag, no repository or no such tag."""
    if not tag:
        return ""
    detail = _doing(f"Could not look up {name}:{tag}", describe_image, client, name, tag)
    return (detail or {}).get("imageDigest", "")


def ensure_tags(client, arn, tags, purge, check_mode):
    """Bring the repository's tags to `tags`: (changed, tags before, tags after)."""
    current = _doing(f"Could not read the tags of {arn}", list_tags, client, arn)
    to_set, to_remove = compare_aws_tags(current, tags, purge_tags=purge)
    if not (to_set or to_remove):
        return False, current, current
    wanted = {k: v for k, v in current.items() if k not in to_remove}
    wanted.update(to_set)
    if not check_mode:
        if to_remove:
            _doing(f"Could not tag {arn}", untag_repository, client, arn, to_remove)
        if to_set:
            _doing(f"Could not tag {arn}", tag_repository, client, arn, to_set)
    return True, current, wanted


def run(client, params, check_mode):
    """The module's result: the tag's digest, the repository's ARN and tags, optionally a login."""
    name = params["repository_name"]
    repository = _doing(
        f"Could not describe the ECR repository {name}", describe_repository, client, name
    )
    arn = repository["repositoryArn"] if repository else ""
    changed, before, after = False, {}, {}
    if arn and params["tags"] is not None:
        changed, before, after = ensure_tags(
            client, arn, params["tags"], params["purge_tags"], check_mode
        )
    result = {
        "changed": changed,
        "digest": image_digest(client, name, params["image_tag"]) if arn else "",
        "repository_arn": arn,
        "tags": after,
        "diff": {"before": {"tags": before}, "after": {"tags": after}},
    }
    if params["login"]:
        result["registry_password"] = _doing(
            "Could not get an ECR authorization token", registry_password, client
        )
    return result


def main():
    module = MlflowEcsAWSModule(
        argument_spec=dict(
            repository_name=dict(type="str", required=True),
            image_tag=dict(type="str", default=""),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=True),
            login=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    try:
        result = run(module.client("ecr"), module.params, module.check_mode)
    except EcrCallError as err:
        module.fail_json_aws(err.__cause__, msg=str(err))
    # Not added to module.no_log_values: Ansible would then return it masked, useless to
    # docker_login. The task asking for it sets no_log (roles/image/tasks/present.yml).
    if not module._diff:
        result.pop("diff")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
