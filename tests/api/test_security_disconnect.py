"""A client that hangs up in the middle of its request body is not a server error.

Starlette raises ``ClientDisconnect`` while the body is read; it escaped as an unexpected
exception, so every dropped connection wrote a traceback and a ``500`` access line, which
an attacker could use to flood the log and trip error alerts.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

from tests.server import GliaProcess


def hang_up_mid_body(server: GliaProcess, path: str) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: localhost\r\n"
                     "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                     '{"type": "m.login.password", '.encode())
        time.sleep(0.2)


def test_disconnect_mid_body_is_logged_as_a_disconnect(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory()
    for path in ("/_matrix/client/v3/login", "/_synapse/admin/v1/register"):
        hang_up_mid_body(server, path)
    deadline = time.monotonic() + 10
    while server.log().count("client disconnected") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    log = server.log()
    assert log.count("client disconnected") == 2, log[-3000:]
    assert "Traceback" not in log
    assert " 500 " not in log
