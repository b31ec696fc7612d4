"""tools/emulator.py's readiness probe: only a moto server that answers counts as up."""

from __future__ import annotations

import socket
import threading

import emulator as emulator_tool
import pytest

pytestmark = pytest.mark.integration


def serve_once(reply: bytes) -> int:
    """A TCP server on a free port that answers its first connection with `reply`, then closes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer():
        connection, _ = server.accept()
        with connection, server:
            connection.recv(4096)
            connection.sendall(reply)

    threading.Thread(target=answer, daemon=True).start()
    return server.getsockname()[1]


def test_an_answer_that_is_not_http_is_not_up():
    """What a connection that meets itself on an ephemeral port reads back (its own request):
    http.client.BadStatusLine used to escape is_up and end `tools/emulator.py start`."""
    assert emulator_tool.is_up(serve_once(b"GET /moto-api/ HTTP/1.1\r\n\r\n")) is False


def test_a_closed_port_is_not_up_and_an_http_200_is():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    assert emulator_tool.is_up(closed) is False
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    assert emulator_tool.is_up(serve_once(ok)) is True
