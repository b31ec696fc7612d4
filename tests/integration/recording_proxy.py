"""A recording HTTP proxy for the emulator: forwards every request, keeps what was sent.

The emulator accepts some request parameters without returning them later (moto does not
report an ECS service's ``capacityProviderStrategy`` or ``deploymentConfiguration``). To test
that a playbook sent them, point ``aws_endpoint_url`` at this proxy and read the requests::

    with RecordingProxy(emulator.endpoint_url) as proxy:
        run_playbook(..., extra_vars={"aws_endpoint_url": proxy.url})
    create = proxy.calls("ecs", "CreateService")[0]
    assert create["deploymentConfiguration"]["minimumHealthyPercent"] == 100

Only the standard library is used; one thread per request (ThreadingHTTPServer).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

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


class RecordingProxy:
    """Forward HTTP requests to ``upstream`` and record them; use as a context manager."""

    def __init__(self, upstream: str, host: str = "127.0.0.1", port: int = 0):
        self.upstream = upstream.rstrip("/")
        self.requests: list[RecordedRequest] = []
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

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

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
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream = urllib.request.Request(
                    proxy.upstream + self.path,
                    data=body if body or self.command in ("POST", "PUT", "PATCH") else None,
                    headers=headers,
                    method=self.command,
                )
                try:
                    with urllib.request.urlopen(upstream, timeout=120) as resp:
                        status, resp_headers, resp_body = resp.status, resp.headers, resp.read()
                except urllib.error.HTTPError as err:
                    status, resp_headers, resp_body = err.code, err.headers, err.read()
                proxy._record(
                    RecordedRequest(
                        method=self.command,
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        status=status,
                    )
                )
                self.send_response(status)
                for key, value in resp_headers.items():
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
