"""Presence is for those who share a room with the user (the spec: shared room or
subscription); a stranger, or someone who left, asking for it is refused."""

from __future__ import annotations

from urllib.parse import quote

import httpx

from tests.kit import Kit, User, assert_error, create_room


def _status(kit: Kit, asker: User, user: User) -> httpx.Response:
    return kit.request("GET", f"/_matrix/client/v3/presence/{quote(user.user_id)}/status",
                       asker.access_token)


def test_strangers_cannot_read_presence(kit: Kit) -> None:
    alice, friend, stranger = kit.register_user(), kit.register_user(), kit.register_user()
    r = kit.request("PUT", f"/_matrix/client/v3/presence/{quote(alice.user_id)}/status",
                    alice.access_token, json={"presence": "online", "status_msg": "at home"})
    assert r.status_code == 200, r.text
    room = create_room(kit, alice, preset="public_chat")
    assert kit.request("POST", f"/_matrix/client/v3/join/{room}", friend.access_token,
                       json={}).status_code == 200
    assert kit.request("POST", f"/_matrix/client/v3/join/{room}", stranger.access_token,
                       json={}).status_code == 200
    assert kit.request("POST", f"/_matrix/client/v3/rooms/{room}/leave",
                       stranger.access_token, json={}).status_code == 200

    assert _status(kit, alice, alice).json()["status_msg"] == "at home"
    assert _status(kit, friend, alice).json()["status_msg"] == "at home"
    body = assert_error(_status(kit, stranger, alice), 403, "M_FORBIDDEN")
    assert "at home" not in str(body)
    lonely = kit.register_user()
    assert_error(_status(kit, lonely, alice), 403, "M_FORBIDDEN")
