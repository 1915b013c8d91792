"""Push rules at every URL form the spec allows, with clear errors for unknown kinds,
scopes and attributes and for server-default rules; the historical ``dont_notify``
action kept as set; and the push gateway payload with every field of the push gateway
spec plus the legacy ``id``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.test_pushers import Gateway, _pusher, _room_with, _set
from tests.kit import Kit, assert_error, send_event

R = "/_matrix/client/v3/pushrules"


@pytest.fixture
def push_gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.close()


def test_every_url_form(kit: Kit) -> None:
    user = kit.register_user()

    def get(path: str) -> Any:
        r = kit.request("GET", R + path, user.access_token)
        assert r.status_code == 200, (path, r.text)
        return r.json()

    everything = get("/")
    assert get("") == everything
    assert get("/global/") == get("/global") == everything["global"]
    assert get("/global/override/") == get("/global/override") == \
        everything["global"]["override"]
    master = get("/global/override/.m.rule.master")
    assert get("/global/override/.m.rule.master/") == master
    assert get("/global/override/.m.rule.master/enabled") == {"enabled": master["enabled"]}
    assert get("/global/override/.m.rule.master/actions") == {"actions": master["actions"]}
    # Changing a server-default rule's switch and actions is allowed.
    r = kit.request("PUT", f"{R}/global/override/.m.rule.master/enabled/", user.access_token,
                    json={"enabled": True})
    assert r.status_code == 200, r.text
    assert get("/global/override/.m.rule.master/enabled") == {"enabled": True}


def test_clear_errors(kit: Kit) -> None:
    user = kit.register_user()
    token = user.access_token
    body = assert_error(kit.request("GET", f"{R}/global/bogus/", token), 400,
                        "M_UNRECOGNIZED")
    assert "bogus" in body["error"] and "override" in body["error"]
    assert_error(kit.request("GET", f"{R}/global/bogus/rule", token), 400, "M_UNRECOGNIZED")
    body = assert_error(kit.request("PUT", f"{R}/global/bogus/rule", token,
                                    json={"actions": ["notify"]}), 400, "M_UNKNOWN")
    assert "bogus" in body["error"]
    body = assert_error(kit.request("GET", f"{R}/device/", token), 400, "M_UNRECOGNIZED")
    assert "global" in body["error"]
    body = assert_error(kit.request("GET", f"{R}/global/override/.m.rule.master/colour",
                                    token), 400, "M_UNRECOGNIZED")
    assert "enabled" in body["error"] and "actions" in body["error"]
    assert_error(kit.request("PUT", f"{R}/global/override/.m.rule.master/colour", token,
                             json={}), 400, "M_UNRECOGNIZED")
    # Server-default rules can be switched off but neither replaced nor deleted.
    body = assert_error(kit.request("PUT", f"{R}/global/override/.m.rule.master", token,
                                    json={"actions": [], "conditions": []}), 400, "M_UNKNOWN")
    body = assert_error(kit.request("DELETE", f"{R}/global/override/.m.rule.master", token),
                        404, "M_NOT_FOUND")
    assert "Server-default" in body["error"]
    assert_error(kit.request("GET", f"{R}/global/override/nothing", token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{R}/global/override/nothing/enabled", token), 404,
                 "M_NOT_FOUND")


def test_dont_notify_is_kept_as_set_and_silences(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = _room_with(kit, alice, bob)
    path = f"{R}/global/room/{quote(room, safe='')}"
    r = kit.request("PUT", path, bob.access_token, json={"actions": ["dont_notify"]})
    assert r.status_code == 200, r.text
    assert kit.request("GET", path, bob.access_token).json()["actions"] == ["dont_notify"]
    assert kit.request("GET", f"{path}/actions", bob.access_token).json() == {
        "actions": ["dont_notify"]}
    r = kit.request("PUT", f"{path}/actions", bob.access_token,
                    json={"actions": ["dont_notify", "coalesce"]})
    assert r.status_code == 200, r.text
    assert kit.request("GET", f"{path}/actions", bob.access_token).json() == {
        "actions": ["dont_notify", "coalesce"]}
    # The rule still silences the room: the message counts as no notification.
    send_event(kit, alice, room, {"msgtype": "m.text", "body": "quiet please"})
    r = kit.request("GET", "/_matrix/client/v3/sync", bob.access_token,
                    params={"timeout": "0"})
    counts = r.json()["rooms"]["join"][room]["unread_notifications"]
    assert counts["notification_count"] == 0


def test_gateway_payload_has_every_field(kit: Kit, push_gateway: Gateway) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room = _room_with(kit, alice, bob, name="Payload room")
    assert _set(kit, bob, _pusher(push_gateway.url, "fullkey")).status_code == 200
    event_id = send_event(kit, alice, room, {"msgtype": "m.text", "body": "all fields"})
    note = push_gateway.wait_for(lambda n: n.get("event_id") == event_id)
    assert note["id"] == event_id  # the legacy name gateways still read
    assert {"event_id", "room_id", "type", "sender", "content", "room_name", "prio",
            "counts", "devices"} <= set(note)
    assert note["counts"]["unread"] >= 1
    [device] = note["devices"]
    assert {"app_id", "pushkey", "pushkey_ts", "data", "tweaks"} <= set(device)
    assert device["data"] == {"custom": "kept"}
