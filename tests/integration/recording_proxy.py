"""A recording HTTP proxy for the emulator: forwards every request, keeps what was sent.

The emulator accepts some request parameters without returning them later (moto does not
report an ECS service's ``capacityProviderStrategy`` or ``deploymentConfiguration``). To test
that a playbook sent them, point ``aws_endpoint_url`` at this proxy and read the requests::

    with RecordingProxy(emulator.endpoint_url) as proxy:
        run_playbook(..., extra_vars={"aws_endpoint_url": proxy.url})
    create = proxy.calls("ecs", "CreateService")[0]
    assert create["deploymentConfiguration"]["minimumHealthyPercent"] == 100

Faults: ``RecordingProxy(url, fault_share=0.1, fault_seed=7)`` answers that share of the signed
AWS calls itself, without forwarding them, with the error AWS gives a client that calls too fast
(in the call's protocol: JSON ``ThrottlingException``, query ``Throttling``, EC2
``RequestLimitExceeded``, S3 ``SlowDown``) or a bare HTTP 503. ``faults_injected`` counts them,
``calls_retried`` counts the faulted calls the client sent again (same botocore invocation id,
else same request). moto's own control API (``/moto-api/``, unsigned) is never faulted.

Readiness delays: ``RecordingProxy(url, ready_after={"rds": 60, "alb": 30, "ecs": 15})`` makes
the emulator's slow resources take as long to become ready as they do on AWS (moto makes them
ready at once): an RDS instance reports ``creating``, with no endpoint, until ``rds`` seconds
after its CreateDBInstance; an application load balancer reports ``provisioning`` until ``alb``
seconds after its CreateLoadBalancer; an ECS service runs none of its tasks (runningCount 0,
the others pending) until ``ecs`` seconds after its CreateService or UpdateService, counted from
when the load balancers then provisioning are active (targets turn healthy only behind an
active load balancer). ``readiness_waits()`` gives each resource's delay as applied.

Only the standard library is used; one thread per request (ThreadingHTTPServer).
"""

from __future__ import annotations

import http.client
import json
import random
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

# Hop-by-hop headers are not forwarded (RFC 9110, 7.6.1); Host is set for the upstream.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
}


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    # The proxy answered this call itself with an injected fault (it never reached the emulator).
    fault: str = ""

    @property
    def operation(self) -> str:
        """The API operation: from X-Amz-Target (JSON APIs) or Action= (query APIs)."""
        target = self.headers.get("x-amz-target", "")
        if target:
            return target.rsplit(".", 1)[-1]
        form = parse_qs(self.body.decode("utf-8", "replace"))
        return (form.get("Action") or [""])[0]

    @property
    def service(self) -> str:
        """The signing name from the Authorization header's credential scope (e.g. ``ecs``)."""
        auth = self.headers.get("authorization", "")
        if "Credential=" not in auth:
            return ""
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
        return scope[3] if len(scope) > 3 else ""

    def json(self) -> dict:
        return json.loads(self.body or b"{}")

    @property
    def protocol(self) -> str:
        """The AWS protocol: ``json`` (X-Amz-Target), ``query`` (Action=, EC2's included),
        ``rest-xml`` (S3) or ``rest-json`` (EFS, ...)."""
        if self.headers.get("x-amz-target"):
            return "json"
        if "Action=" in self.body.decode("utf-8", "replace")[:200] or "Action=" in self.path:
            return "query"
        if self.service == "s3":
            return "rest-xml"
        return "rest-json"

    @property
    def identity(self) -> tuple:
        """What a client's retry of this call has in common with it: botocore's invocation id
        (the same on every attempt), else the request itself."""
        invocation = self.headers.get("amz-sdk-invocation-id")
        if invocation:
            return ("invocation", invocation)
        return (self.method, self.path, self.body)

    @property
    def mutating(self) -> bool:
        """Whether the call may change AWS: an operation whose name is not a read (Describe*,
        List*, Get*, ...), or an S3-style REST call with a method other than GET/HEAD."""
        operation = self.operation
        if operation:
            return not operation.startswith(READ_PREFIXES)
        return self.method not in ("GET", "HEAD")


# Operation-name prefixes of the AWS APIs that only read (the API references' naming rule:
# every other verb - Create, Put, Delete, Update, Modify, Register, Tag, Authorize, ... - writes).
READ_PREFIXES = (
    "Describe",
    "List",
    "Get",
    "Lookup",
    "Search",
    "BatchGet",
    "Check",
    "Estimate",
    "Simulate",
    "Validate",
    "Scan",
    "Query",
)


FAULT_KINDS = ("throttling", "unavailable")


def fault_response(request: RecordedRequest, kind: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body AWS sends for a throttled (or unavailable) call of this protocol."""
    request_id = str(uuid.uuid4())
    if kind == "unavailable":
        return 503, {"x-amzn-RequestId": request_id}, b""
    protocol = request.protocol
    if protocol == "json":
        body = {"__type": "ThrottlingException", "message": "Rate exceeded"}
        return (
            400,
            {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": request_id},
            json.dumps(body).encode(),
        )
    if protocol == "query" and request.service == "ec2":
        body = (
            "<?xml version='1.0' encoding='UTF-8'?><Response><Errors><Error>"
            "<Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
            f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        return 503, {"Content-Type": "text/xml;charset=UTF-8"}, body.encode()
    if protocol == "query":
        body = (
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
            f"<Message>Rate exceeded</Message></Error><RequestId>{request_id}</RequestId>"
            "</ErrorResponse>"
        )
        return 400, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, body.encode()
    if protocol == "rest-xml":
        body = (
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>SlowDown</Code>"
            "<Message>Please reduce your request rate.</Message>"
            f"<RequestId>{request_id}</RequestId></Error>"
        )
        return (
            503,
            {"Content-Type": "application/xml", "x-amz-request-id": request_id},
            body.encode(),
        )
    body = {"message": "Rate exceeded"}
    return (
        429,
        {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": "ThrottlingException",
            "x-amzn-RequestId": request_id,
        },
        json.dumps(body).encode(),
    )


READINESS_KINDS = ("rds", "alb", "ecs")

_RDS_INSTANCE = re.compile(rb"<DBInstance>.*?</DBInstance>", re.S)
_RDS_IDENTIFIER = re.compile(rb"<DBInstanceIdentifier>([^<]*)</DBInstanceIdentifier>")
_RDS_STATUS = re.compile(rb"<DBInstanceStatus>[^<]*</DBInstanceStatus>")
_RDS_ENDPOINT = re.compile(rb"<Endpoint>.*?</Endpoint>", re.S)
# A load balancer's name, then (in the same member: no other name in between) its state code.
_ALB_STATE = re.compile(
    rb"(<LoadBalancerName>([^<]*)</LoadBalancerName>(?:(?!<LoadBalancerName>).)*?"
    rb"<State>\s*<Code>)[a-z_]+(</Code>)",
    re.S,
)


class RecordingProxy:
    """Forward HTTP requests to ``upstream`` and record them; use as a context manager.

    With ``fault_share`` > 0, that share of the signed AWS calls (drawn with ``fault_seed``) is
    answered with a fault of one of ``fault_kinds`` (``throttling``, ``unavailable``) instead.
    With ``ready_after`` ({"rds"|"alb"|"ecs": seconds}), those resources become ready that long
    after their creation (or update), as on AWS (see the module's docstring).
    """

    def __init__(
        self,
        upstream: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        fault_share: float = 0.0,
        fault_seed: int = 0,
        fault_kinds: tuple[str, ...] = FAULT_KINDS,
        ready_after: dict[str, float] | None = None,
    ):
        unknown = set(fault_kinds) - set(FAULT_KINDS)
        if unknown or not fault_kinds or not 0 <= fault_share < 1:
            raise ValueError(f"fault_share in [0, 1), fault_kinds among {FAULT_KINDS}")
        self.ready_after = dict(ready_after or {})
        if set(self.ready_after) - set(READINESS_KINDS) or any(
            v < 0 for v in self.ready_after.values()
        ):
            raise ValueError(f"ready_after: seconds of 0 or more for {READINESS_KINDS}")
        # (kind, name) -> (monotonic time it was created or updated, time it becomes ready)
        self._readiness: dict[tuple[str, str], tuple[float, float]] = {}
        self.upstream = upstream.rstrip("/")
        self.requests: list[RecordedRequest] = []
        self.fault_share = fault_share
        self.fault_kinds = tuple(fault_kinds)
        self.faults_injected = 0
        self.calls_retried = 0
        self._random = random.Random(fault_seed)
        self._faulted: dict[tuple, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def calls(self, service: str, operation: str) -> list[dict]:
        """JSON bodies of the recorded requests of one operation, in the order sent."""
        with self._lock:
            return [
                r.json() for r in self.requests if r.service == service and r.operation == operation
            ]

    def operations(self, service: str | None = None) -> list[str]:
        with self._lock:
            return [r.operation for r in self.requests if service in (None, r.service)]

    def mutating_calls(self) -> list[str]:
        """``service:Operation`` (or ``s3:METHOD path``) of every recorded call that may change
        AWS, in the order sent."""
        with self._lock:
            return [
                f"{r.service}:{r.operation or r.method + ' ' + r.path}"
                for r in self.requests
                if r.mutating
            ]

    def faults(self) -> dict[str, int]:
        """Injected faults by kind."""
        with self._lock:
            counts: dict[str, int] = {}
            for r in self.requests:
                if r.fault:
                    counts[r.fault] = counts.get(r.fault, 0) + 1
            return counts

    def readiness_waits(self) -> dict[str, float]:
        """``kind:name`` -> seconds from its creation (or update) until it was ready."""
        with self._lock:
            return {f"{k}:{n}": ready - start for (k, n), (start, ready) in self._readiness.items()}

    def _delay_readiness(self, request: RecordedRequest, status: int, body: bytes) -> bytes:
        """Note the slow resources a call creates; report those not ready yet as AWS does."""
        if not self.ready_after or not 200 <= status < 300:
            return body
        service, operation, now = request.service, request.operation, time.monotonic()
        form = (
            parse_qs(request.body.decode("utf-8", "replace")) if request.protocol == "query" else {}
        )
        with self._lock:
            if service == "rds" and operation == "CreateDBInstance" and "rds" in self.ready_after:
                name = form["DBInstanceIdentifier"][0]
                self._readiness[("rds", name)] = (now, now + self.ready_after["rds"])
            elif (
                service == "elasticloadbalancing"
                and operation == "CreateLoadBalancer"
                and "alb" in self.ready_after
            ):
                name = form["Name"][0]
                self._readiness[("alb", name)] = (now, now + self.ready_after["alb"])
            elif (
                service == "ecs"
                and operation in ("CreateService", "UpdateService")
                and "ecs" in self.ready_after
            ):
                sent = request.json()
                name = (sent.get("serviceName") or sent.get("service", "")).rsplit("/", 1)[-1]
                albs_active = max(
                    (ready for (kind, _), (_, ready) in self._readiness.items() if kind == "alb"),
                    default=now,
                )
                self._readiness[("ecs", name)] = (
                    now,
                    max(now, albs_active) + self.ready_after["ecs"],
                )
            pending = {key for key, (_, ready) in self._readiness.items() if ready > now}
        if not pending:
            return body
        if service == "rds" and operation in ("CreateDBInstance", "DescribeDBInstances"):

            def creating(match: re.Match) -> bytes:
                instance = match.group(0)
                name = _RDS_IDENTIFIER.search(instance)
                if not name or ("rds", name.group(1).decode()) not in pending:
                    return instance
                instance = _RDS_STATUS.sub(
                    b"<DBInstanceStatus>creating</DBInstanceStatus>", instance
                )
                return _RDS_ENDPOINT.sub(b"", instance)

            return _RDS_INSTANCE.sub(creating, body)
        if service == "elasticloadbalancing" and operation in (
            "CreateLoadBalancer",
            "DescribeLoadBalancers",
        ):
            return _ALB_STATE.sub(
                lambda m: (
                    m.group(1) + b"provisioning" + m.group(3)
                    if ("alb", m.group(2).decode()) in pending
                    else m.group(0)
                ),
                body,
            )
        if service == "ecs" and operation in ("DescribeServices", "CreateService", "UpdateService"):
            answer = json.loads(body or b"{}")
            services = answer.get("services") or [answer.get("service") or {}]
            for svc in services:
                if ("ecs", svc.get("serviceName", "")) not in pending:
                    continue
                svc["pendingCount"] = svc.get("desiredCount", 0)
                svc["runningCount"] = 0
                for deployment in svc.get("deployments", []):
                    deployment["pendingCount"] = deployment.get("desiredCount", 0)
                    deployment["runningCount"] = 0
                    if deployment.get("status") == "PRIMARY":
                        deployment["rolloutState"] = "IN_PROGRESS"
            return json.dumps(answer).encode()
        return body

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults_injected = 0
            self.calls_retried = 0
            self._faulted.clear()

    def _choose_fault(self, request: RecordedRequest) -> str:
        """Count a retry of an earlier faulted call; draw whether (and how) to fault this one."""
        with self._lock:
            identity = request.identity
            if self._faulted.get(identity):
                self._faulted[identity] -= 1
                self.calls_retried += 1
            if self.fault_share <= 0 or not request.service or request.path.startswith("/moto-api"):
                return ""
            if self._random.random() >= self.fault_share:
                return ""
            kind = self._random.choice(self.fault_kinds)
            self.faults_injected += 1
            self._faulted[identity] = self._faulted.get(identity, 0) + 1
            return kind

    def start(self) -> RecordingProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _handler_class(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorded = RecordedRequest(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    status=0,
                )
                recorded.fault = proxy._choose_fault(recorded)
                if recorded.fault:
                    status, fault_headers, fault_body = fault_response(recorded, recorded.fault)
                    recorded.status = status
                    proxy._record(recorded)
                    self._answer(status, fault_headers.items(), fault_body)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                # http.client, not urllib: urllib adds a form Content-Type to a body sent without
                # one (S3's PutBucketVersioning), and moto then routes the call elsewhere.
                target = urlsplit(proxy.upstream)
                conn = http.client.HTTPConnection(target.hostname, target.port, timeout=120)
                try:
                    send_body = body if body or self.command in ("POST", "PUT", "PATCH") else None
                    conn.request(
                        self.command, target.path + self.path, body=send_body, headers=headers
                    )
                    resp = conn.getresponse()
                    status, resp_headers, resp_body = resp.status, resp.getheaders(), resp.read()
                finally:
                    conn.close()
                recorded.status = status
                resp_body = proxy._delay_readiness(recorded, status, resp_body)
                proxy._record(recorded)
                self._answer(status, resp_headers, resp_body)

            def _answer(self, status, resp_headers, resp_body: bytes) -> None:
                self.send_response(status)
                for key, value in resp_headers:
                    if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(resp_body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(resp_body)
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

            def log_message(self, format, *args):  # noqa: A002 - signature of the base class
                pass

        return Handler
