"""A crafted filter must not freeze the server.

Filter ``types`` take ``*`` wildcards. Compiled to a backtracking regex, the pattern
``*a*a*a*a*a*a*a*a*a*a*b`` against an event type of 250 ``a``s explores about 250**10
paths; one such ``/messages`` call used to hold the event loop for as long as it ran.
The server gets its own process here so that a stall cannot take the shared one down.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from tests.kit import Kit, create_room, send_event
from tests.server import GliaProcess

HOSTILE = "*a*a*a*a*a*a*a*a*a*a*b"


@pytest.fixture
def kit(glia_factory: Callable[..., GliaProcess]) -> Kit:
    return Kit(glia_factory().url)


def test_hostile_type_filter_answers(kit: Kit) -> None:
    user = kit.register_user()
    room_id = create_room(kit, user)
    send_event(kit, user, room_id, {"body": "x"}, event_type="a" * 250)
    send_event(kit, user, room_id, {"body": "y"}, event_type="a" * 249 + "b")
    sync_filter = json.dumps({"room": {"timeline": {"types": [HOSTILE],
                                                    "not_types": [HOSTILE + "*c"]}}})
    with httpx.Client(base_url=kit.base_url, timeout=20) as other:
        r = kit.request("GET", "/_matrix/client/v3/sync", user.access_token,
                        params={"filter": sync_filter, "timeout": "0"}, timeout=20)
        assert r.status_code == 200, r.text
        timeline = r.json()["rooms"]["join"][room_id]["timeline"]["events"]
        assert [e["type"] for e in timeline] == ["a" * 249 + "b"]
        assert other.get("/_matrix/client/versions").status_code == 200
