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
  description: The repository's tags after the run.
  returned: always
  type: dict
registry_password:
  description: Password for user C(AWS) at the repository's registry (12 hours valid).
  returned: when O(login=true)
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.botocore import (  # noqa: E402
    is_boto3_error_code,
)
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry  # noqa: E402
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (  # noqa: E402
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
    compare_aws_tags,
)


def repository_arn(client, module, name):
    try:
        repos = client.describe_repositories(repositoryNames=[name], aws_retry=True)
    except is_boto3_error_code("RepositoryNotFoundException"):
        return ""
    except Exception as err:  # pylint: disable=broad-except
        module.fail_json_aws(err, msg=f"Could not describe the ECR repository {name}")
    return repos["repositories"][0]["repositoryArn"]


def image_digest(client, module, name, tag):
    if not tag:
        return ""
    try:
        images = client.describe_images(
            repositoryName=name, imageIds=[{"imageTag": tag}], aws_retry=True
        )
    except is_boto3_error_code(["ImageNotFoundException", "RepositoryNotFoundException"]):
        return ""
    except Exception as err:  # pylint: disable=broad-except
        module.fail_json_aws(err, msg=f"Could not look up {name}:{tag}")
    details = images.get("imageDetails") or [{}]
    return details[0].get("imageDigest", "")


def ensure_tags(client, module, arn, tags, purge):
    try:
        current = boto3_tag_list_to_ansible_dict(
            client.list_tags_for_resource(resourceArn=arn, aws_retry=True).get("tags", []),
            "Key",
            "Value",
        )
    except Exception as err:  # pylint: disable=broad-except
        module.fail_json_aws(err, msg=f"Could not read the tags of {arn}")
    to_set, to_remove = compare_aws_tags(current, tags, purge_tags=purge)
    wanted = {k: v for k, v in current.items() if k not in to_remove}
    wanted.update(to_set)
    if not (to_set or to_remove):
        return False, current, current
    if not module.check_mode:
        try:
            if to_remove:
                client.untag_resource(resourceArn=arn, tagKeys=to_remove, aws_retry=True)
            if to_set:
                client.tag_resource(
                    resourceArn=arn,
                    tags=ansible_dict_to_boto3_tag_list(to_set, "Key", "Value"),
                    aws_retry=True,
                )
        except Exception as err:  # pylint: disable=broad-except
            module.fail_json_aws(err, msg=f"Could not tag {arn}")
    return True, current, wanted


def main():
    module = AnsibleAWSModule(
        argument_spec=dict(
            repository_name=dict(type="str", required=True),
            image_tag=dict(type="str", default=""),
            tags=dict(type="dict"),
            purge_tags=dict(type="bool", default=True),
            login=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    client = module.client("ecr", retry_decorator=AWSRetry.jittered_backoff())
    name = module.params["repository_name"]
    arn = repository_arn(client, module, name)
    changed, before, after = False, {}, {}
    if arn and module.params["tags"] is not None:
        changed, before, after = ensure_tags(
            client, module, arn, module.params["tags"], module.params["purge_tags"]
        )
    extra = {}
    if module.params["login"]:
        import base64

        try:
            data = client.get_authorization_token(aws_retry=True)["authorizationData"][0]
        except Exception as err:  # pylint: disable=broad-except
            module.fail_json_aws(err, msg="Could not get an ECR authorization token")
        token = base64.b64decode(data["authorizationToken"]).decode()
        extra["registry_password"] = token.split(":", 1)[1]
        module.no_log_values.add(extra["registry_password"])
    module.exit_json(
        **extra,
        changed=changed,
        digest=image_digest(client, module, name, module.params["image_tag"]) if arn else "",
        repository_arn=arn,
        tags=after,
        diff={"before": {"tags": before}, "after": {"tags": after}},
    )


if __name__ == "__main__":
    main()
