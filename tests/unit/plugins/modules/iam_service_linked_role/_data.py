"""Shapes of the IAM answers the module reads (as boto3 returns them)."""

from __future__ import annotations

from datetime import UTC, datetime

SERVICE = "ecs.amazonaws.com"
PATH = f"/aws-service-role/{SERVICE}/"


def role(name="AWSServiceRoleForECS", path=PATH, description="Role for ECS"):
    return {
        "RoleName": name,
        "RoleId": "AROAEXAMPLEEXAMPLE12",
        "Arn": f"arn:aws:iam::123456789012:role{path}{name}",
        "Path": path,
        "Description": description,
        "CreateDate": datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
    }


def params(**overrides):
    result = {
        "aws_service_name": SERVICE,
        "description": None,
        "custom_suffix": None,
        "state": "present",
        "wait": True,
        "wait_timeout": 300,
    }
    result.update(overrides)
    return result


def queue_list_roles(stubber, roles, path=PATH):
    stubber.add_response("list_roles", {"Roles": roles}, {"PathPrefix": path})
