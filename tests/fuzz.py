"""Shared by the tests generated over every route: a server of their own with an admin
who carries on when a write ends its session, and concrete paths for route templates."""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx

from tests.appservice_kit import new_registration
from tests.kit import Kit
from tests.server import GliaProcess

#: Path parameters that must look like what they name; others get a placeholder.
FILL = {"userId": "@nobody-fuzz:localhost", "roomId": "!nope-fuzz:localhost",
        "eventId": "$nope-fuzz", "serverName": "localhost"}


def concrete_path(template: str) -> str:
    """``/rooms/{roomId}/…`` with every parameter filled in, percent-encoded."""
    return re.sub(r"\{([^}]+)\}", lambda m: quote(FILL.get(m.group(1), "fuzz"), safe=""),
                  template)


class FuzzAdmin:
    """Sends requests as an admin. Some writes end the caller's session (logout,
    deactivation): the next request then goes as a new admin."""

    def __init__(self, kit: Kit, as_token: str) -> None:
        self.kit = kit
        self._token = kit.make_admin().access_token
        self._as_token = as_token

    def send(self, method: str, path: str, content: bytes,
             appservice: bool = False) -> httpx.Response:
        """As the admin, or (``appservice``) as the server's application service."""
        token = self._as_token if appservice else self._token
        r = self.kit.request(method, path, token, content=content,
                             headers={"Content-Type": "application/json"})
        if self.kit.request("GET", "/_matrix/client/v3/account/whoami",
                            self._token).status_code != 200:
            self._token = self.kit.make_admin().access_token
        return r


@contextmanager
def fuzz_server(new_database_url: Callable[[], str]) -> Iterator[FuzzAdmin]:
    """A server for one generated test module; it must log no traceback."""
    # An application service (that nothing listens for), for its routes' turn.
    registration = new_registration("fuzz")
    path = registration.write(Path(tempfile.mkdtemp(prefix="glia-fuzz-as-")))
    server = GliaProcess(new_database_url(),
                         {"GLIA_APP_SERVICE_CONFIG_FILES": str(path)}).start()
    kit = Kit(server.url)
    try:
        yield FuzzAdmin(kit, registration.as_token)
    finally:
        kit.close()
        server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]
