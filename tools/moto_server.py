"""Run moto's server with AWS behaviours that moto 5.2 lacks, so the emulator answers as AWS does.

Started by tools/emulator.py; each patch makes moto closer to AWS, never more lenient:
- an application load balancer reports AWS's default attributes (idle timeout 60 s, HTTP/2 on,
  ...) even when none was set, as DescribeLoadBalancerAttributes does on AWS;
- an OIDC authenticate action never returns its client secret, as on AWS;
- a gp3 RDS instance reports its baseline throughput (125 MiB/s) and IOPS (3000) when none was
  asked, as DescribeDBInstances does on AWS (amazon.aws.rds_instance reads both);
- an ECS service created with a capacity provider strategy keeps it and reports it, with no
  launch type, as DescribeServices does on AWS (moto drops it and reports launch type EC2); one
  updated to a strategy reports no launch type either (moto keeps reporting both);
- a new ECS service never runs more tasks than it desires: created with a desired count of 0, it
  reports 0 running (moto reports MOTO_ECS_SERVICE_RUNNING, which tools/emulator.py sets to 1, and
  -1 pending);
- registering an ECS service's scalable target moves the service's desired count into the new
  range when it lies outside, as RegisterScalableTarget does on AWS ("it changes the resource's
  current capacity to a value that is inside of this range"; moto leaves the service as it was).
"""

import sys

from moto.applicationautoscaling import models as aas_models
from moto.ecs import models as ecs_models
from moto.ecs import responses as ecs_responses
from moto.elbv2 import models
from moto.rds import models as rds_models

AWS_ALB_DEFAULT_ATTRIBUTES = {
    "idle_timeout.timeout_seconds": "60",
    "routing.http2.enabled": "true",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "waf.fail_open.enabled": "false",
    "access_logs.s3.enabled": "false",
}
SECRET_OIDC_KEYS = ("ClientSecret", "UseExistingClientSecret")

GP3_BASELINE = {"storage_throughput": 125, "iops": 3000}

_load_balancer_init = models.FakeLoadBalancer.__init__
_action_init = models.FakeAction.__init__
_db_instance_init = rds_models.DBInstance.__init__
_ecs_service_init = ecs_models.Service.__init__
_ecs_create_service = ecs_responses.EC2ContainerServiceResponse.create_service
_ecs_update_service = ecs_responses.EC2ContainerServiceResponse.update_service
_register_scalable_target = aas_models.ApplicationAutoscalingBackend.register_scalable_target


def load_balancer_init(self, *args, **kwargs):
    _load_balancer_init(self, *args, **kwargs)
    if self.type == "application":
        for key, value in AWS_ALB_DEFAULT_ATTRIBUTES.items():
            self.attrs.setdefault(key, value)


def action_init(self, data):
    config = data.get("AuthenticateOidcConfig")
    if config:
        kept = {k: v for k, v in config.items() if k not in SECRET_OIDC_KEYS}
        data = {**data, "AuthenticateOidcConfig": kept}
    _action_init(self, data)


def db_instance_init(self, *args, **kwargs):
    _db_instance_init(self, *args, **kwargs)
    if self.storage_type == "gp3":
        for attribute, baseline in GP3_BASELINE.items():
            if not getattr(self, attribute, None):
                setattr(self, attribute, baseline)


def ecs_service_init(self, *args, **kwargs):
    _ecs_service_init(self, *args, **kwargs)
    if self.running_count > self.desired_count:
        self.running_count, self.pending_count = self.desired_count, 0
        for deployment in self.deployments:
            deployment.update(runningCount=self.running_count, pendingCount=0)


def ecs_create_service(self):
    result = _ecs_create_service(self)
    strategy = self._get_param("capacityProviderStrategy")
    if strategy:
        [service] = self.ecs_backend.describe_services(
            self._get_param("cluster", "default"), [self._get_param("serviceName")]
        )[0]
        service.capacity_provider_strategy = [
            {
                "capacityProvider": s["capacityProvider"],
                "weight": s.get("weight", 0),
                "base": s.get("base", 0),
            }
            for s in strategy
        ]
        service.launch_type = None
    return result


def ecs_update_service(self):
    result = _ecs_update_service(self)
    if self._get_param("capacityProviderStrategy"):
        [service] = self.ecs_backend.describe_services(
            self._get_param("cluster", "default"), [self._get_param("service")]
        )[0]
        service.launch_type = None
    return result


def register_scalable_target(self, namespace, r_id, dimension, *args, **kwargs):
    target = _register_scalable_target(self, namespace, r_id, dimension, *args, **kwargs)
    if namespace == "ecs" and dimension == "ecs:service:DesiredCount":
        _, cluster, name = r_id.split("/")
        [service], _ = self.ecs_backend.describe_services(cluster, [name])
        low, high = target.min_capacity, target.max_capacity
        if service.status == "ACTIVE" and low is not None and high is not None:
            inside = min(max(service.desired_count, low), high)
            if inside != service.desired_count:
                self.ecs_backend.update_service(
                    {"cluster": cluster, "service": name, "desired_count": inside}
                )
                for deployment in service.deployments:  # moto updates the service's counts only
                    deployment.update(desiredCount=inside, runningCount=inside, pendingCount=0)
    return target


models.FakeLoadBalancer.__init__ = load_balancer_init
models.FakeAction.__init__ = action_init
rds_models.DBInstance.__init__ = db_instance_init
ecs_models.Service.__init__ = ecs_service_init
ecs_responses.EC2ContainerServiceResponse.create_service = ecs_create_service
ecs_responses.EC2ContainerServiceResponse.update_service = ecs_update_service
aas_models.ApplicationAutoscalingBackend.register_scalable_target = register_scalable_target

if __name__ == "__main__":
    from moto.server import main

    sys.exit(main())
