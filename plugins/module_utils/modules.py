# -*- coding: utf-8 -*-

# Copyright: Contributors to the mlops.mlflow_ecs collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""AnsibleAWSModule naming this collection in the AWS user agent, as community.aws does."""

from ansible_collections.amazon.aws.plugins.module_utils.common import set_collection_info
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

COLLECTION_NAME = "mlops.mlflow_ecs"
# Keep in step with galaxy.yml.
COLLECTION_VERSION = "0.1.0"


class MlflowEcsAWSModule(AnsibleAWSModule):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        set_collection_info(collection_name=COLLECTION_NAME, collection_version=COLLECTION_VERSION)


def run_state_module(
    module, service, validate_params, ensure_present, ensure_absent, error_type, failure
):
    """The main() of our present/absent modules: validate, ensure the state, exit.

    error_type is the module's own error for bad input or an impossible state (its message is
    shown as is); failure says what was being done when an AWS call failed.
    """
    import botocore

    try:
        validate_params(module.params)
        client = module.client(service)
        ensure = ensure_present if module.params["state"] == "present" else ensure_absent
        result = ensure(client, module.params, module.check_mode)
    except error_type as e:
        module.fail_json(msg=str(e))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as e:
        module.fail_json_aws(e, msg=failure)

    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)
