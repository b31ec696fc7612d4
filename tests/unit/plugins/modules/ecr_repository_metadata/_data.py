"""ECR answers as boto3 returns them, and the module's parameters (the image role's calls)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

NAME = "mlflow-tracking"
ARN = f"arn:aws:ecr:us-east-1:123456789012:repository/{NAME}"
TAG = "3f2a9c0d1e4b5a67"
DIGEST = "sha256:" + "ab" * 32
TAGS = {"Application": "mlflow", "ManagedBy": "mlops.mlflow_ecs", "Name": NAME}


def params(**overrides):
    result = {
        "repository_name": NAME,
        "image_tag": "",
        "tags": None,
        "purge_tags": True,
        "login": False,
    }
    result.update(overrides)
    return result


def queue_repository(stubber, exists=True):
    if exists:
        repository = {
            "repositoryArn": ARN,
            "registryId": "123456789012",
            "repositoryName": NAME,
            "repositoryUri": f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{NAME}",
        }
        stubber.add_response(
            "describe_repositories", {"repositories": [repository]}, {"repositoryNames": [NAME]}
        )
    else:
        stubber.add_client_error(
            "describe_repositories",
            "RepositoryNotFoundException",
            f"The repository with name '{NAME}' does not exist",
            http_status_code=400,
            expected_params={"repositoryNames": [NAME]},
        )


def queue_image(stubber, tag=TAG, digest=DIGEST):
    expected = {"repositoryName": NAME, "imageIds": [{"imageTag": tag}]}
    if digest:
        detail = {"registryId": "123456789012", "repositoryName": NAME, "imageDigest": digest,
                  "imageTags": [tag]}  # fmt: skip
        stubber.add_response("describe_images", {"imageDetails": [detail]}, expected)
    else:
        stubber.add_client_error(
            "describe_images",
            "ImageNotFoundException",
            f"The image with imageId {{imageTag:'{tag}'}} does not exist",
            http_status_code=400,
            expected_params=expected,
        )


def queue_tags(stubber, tags):
    stubber.add_response(
        "list_tags_for_resource",
        {"tags": [{"Key": k, "Value": v} for k, v in tags.items()]},
        {"resourceArn": ARN},
    )


def queue_token(stubber, password):
    token = base64.b64encode(f"AWS:{password}".encode()).decode()
    data = {
        "authorizationToken": token,
        "proxyEndpoint": "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
        "expiresAt": datetime(2027, 1, 15, 20, 0, tzinfo=UTC),
    }
    stubber.add_response("get_authorization_token", {"authorizationData": [data]}, {})
