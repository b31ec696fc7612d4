#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: efs_file_system_info
version_added: 0.1.0
short_description: Find an Amazon EFS file system by its creation token
description:
  - Returns the file system created with a creation token (the O(name) given to
    M(mlops.mlflow_ecs.efs_file_system)), with its tags and mount targets, or nothing when there
    is none.
  - Only reads; it never reports a change.
options:
  name:
    description:
      - Creation token of the file system.
    type: str
    required: true
notes:
  - Needs C(elasticfilesystem:DescribeFileSystems), C(elasticfilesystem:DescribeMountTargets) and
    C(elasticfilesystem:DescribeMountTargetSecurityGroups).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MLOps platform team (!UNKNOWN)
"""

EXAMPLES = r"""
# Note: These examples do not set authentication details, see the AWS Guide for details.

- name: Look for the MLflow data file system
  mlops.mlflow_ecs.efs_file_system_info:
    name: production-mlflow-data
  register: data_fs

- name: Show its id
  ansible.builtin.debug:
    msg: "{{ data_fs.file_system.file_system_id | default('none') }}"
"""

RETURN = r"""
file_system:
  description:
    - The file system, as M(mlops.mlflow_ecs.efs_file_system) returns it; empty when there is none.
  returned: always
  type: dict
  sample:
    file_system_id: fs-0123456789abcdef0
    file_system_arn: arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789ab
    creation_token: production-mlflow-data
    name: production-mlflow-data
    encrypted: true
    kms_key_id: arn:aws:kms:us-east-1:123456789012:key/0000
    performance_mode: general_purpose
    throughput_mode: bursting
    provisioned_throughput_in_mibps: null
    life_cycle_state: available
    tags: {"Name": "production-mlflow-data"}
    mount_targets:
      - mount_target_id: fsmt-0123456789abcdef0
        subnet_id: subnet-0123456789abcdef0
        availability_zone_name: us-east-1a
        ip_address: 10.0.1.25
        network_interface_id: eni-0123456789abcdef0
        security_groups: [sg-0123456789abcdef0]
        life_cycle_state: available
"""

try:  # noqa: SIM105 - the usual guard of AWS modules
    import botocore
except ImportError:
    pass  # Handled by AnsibleAWSModule

from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.efs import (
    describe_mount_targets,
    file_system_to_result,
    find_file_system,
)
from ansible_collections.mlops.mlflow_ecs.plugins.module_utils.modules import MlflowEcsAWSModule


def main():
    module = MlflowEcsAWSModule(
        argument_spec=dict(name=dict(type="str", required=True)), supports_check_mode=True
    )
    try:
        client = module.client("efs")
        file_system = find_file_system(client, module.params["name"])
        targets = describe_mount_targets(client, file_system["FileSystemId"]) if file_system else []
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=f"Failed to look up file system {module.params['name']}")
    module.exit_json(changed=False, file_system=file_system_to_result(file_system, targets))


if __name__ == "__main__":
    main()
