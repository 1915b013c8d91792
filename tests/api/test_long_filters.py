"""Filters that list tens of thousands of senders or rooms: more than either engine takes
as bind parameters in one statement (PostgreSQL 32,767, SQLite 32,766), as an attacker or
a careless client would send them. ``/search`` and ``/messages`` answer them correctly
instead of failing with a ``500``."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import quote, urlsplit

from tests.kit import Kit, User, create_room, send_event, unique

V3 = "/_matrix/client/v3"
#: Past both engines' bind-parameter limits (each listed value was one parameter).
MANY = 33_000
#: As many as fit in a URL the HTTP server accepts.
URL_MANY = 2_500


def _strangers(prefix: str) -> list[str]:
    return [f"@{prefix}{i}:localhost" for i in range(MANY)]


def _search(kit: Kit, user: User, term: str, search_filter: dict[str, Any]) -> list[str]:
    r = kit.request("POST", f"{V3}/search", user.access_token, json={"search_categories": {
        "room_events": {"search_term": term, "filter": search_filter}}})
    assert r.status_code == 200, r.text[:500]
    return [h["result"]["event_id"] for h in r.json()["search_categories"]["room_events"]
            ["results"]]


def _messages(kit: Kit, user: User, room_id: str, event_filter: dict[str, Any]) -> list[str]:
    """``/messages`` with the filter in its query string: a URL of about a megabyte, which
    the server takes but httpx refuses to send, hence the standard library's client."""
    text = json.dumps(event_filter, separators=(",", ":"))
    url = urlsplit(kit.base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
    try:
        conn.request("GET", f"{V3}/rooms/{quote(room_id)}/messages?dir=b&limit=50"
                     f"&filter={quote(text, safe='')}",
                     headers={"Authorization": f"Bearer {user.access_token}"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert response.status == 200, body[:500]
    return [e["event_id"] for e in json.loads(body)["chunk"]]


def test_search_with_tens_of_thousands_of_senders_and_rooms(kit: Kit) -> None:
    user = kit.register_user()
    room_id = create_room(kit, user)
    term = unique("needle")
    event_id = send_event(kit, user, room_id, {"msgtype": "m.text", "body": term})
    strangers = _strangers("s")
    rooms = [f"!r{i}:localhost" for i in range(MANY)]
    assert _search(kit, user, term, {"senders": [*strangers, user.user_id]}) == [event_id]
    assert _search(kit, user, term, {"senders": strangers}) == []
    assert _search(kit, user, term, {"not_senders": strangers}) == [event_id]
    assert _search(kit, user, term, {"not_senders": [*strangers, user.user_id]}) == []
    assert _search(kit, user, term, {"types": [f"t.{i}" for i in range(MANY)]}) == []
    assert _search(kit, user, term, {"rooms": [*rooms, room_id]}) == [event_id]
    assert _search(kit, user, term, {"not_rooms": [*rooms, room_id]}) == []


def test_messages_with_thousands_of_senders(kit: Kit) -> None:
    """``/messages`` takes its filter in the URL, which the HTTP server caps (at about
    80 KB), so its lists stay in the thousands; they go to the database the same way."""
    user = kit.register_user()
    room_id = create_room(kit, user)
    event_id = send_event(kit, user, room_id)
    strangers = [f"@m{i}:x" for i in range(URL_MANY)]
    assert event_id in _messages(kit, user, room_id, {"senders": [*strangers, user.user_id]})
    assert _messages(kit, user, room_id, {"senders": strangers}) == []
    assert event_id in _messages(kit, user, room_id, {"not_senders": strangers})
    assert event_id not in _messages(kit, user, room_id,
                                     {"not_senders": [*strangers, user.user_id]})
    assert _messages(kit, user, room_id, {"types": [f"t{i}" for i in range(URL_MANY)]}) == []
