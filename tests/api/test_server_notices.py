"""Server notices: Synapse's send_server_notice (POST and idempotent PUT), the per-user
notices room, its tag, its one-way power levels, re-invites, and the disabled answer."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from tests.kit import Kit, assert_error, unique
from tests.server import GliaProcess

S = "/_synapse/admin/v1/send_server_notice"


def _text(body: str) -> dict[str, str]:
    return {"msgtype": "m.text", "body": body}


def test_server_notices(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    r = kit.request("POST", S, admin.access_token,
                    json={"user_id": user.user_id, "content": _text("Maintenance at 3")})
    assert r.status_code == 200, r.text
    first = r.json()["event_id"]
    sync = kit.request("GET", "/_matrix/client/v3/sync", user.access_token).json()
    [(room_id, invite)] = sync["rooms"]["invite"].items()
    names = [e["content"].get("name") for e in invite["invite_state"]["events"]
             if e["type"] == "m.room.name"]
    assert names == ["Server Notices"]
    r = kit.request("GET", f"/_matrix/client/v3/user/{quote(user.user_id)}/rooms/{room_id}/tags",
                    user.access_token)
    assert r.json() == {"tags": {"m.server_notice": {"order": 1.0}}}
    # The invite cannot be rejected; once joined, the user can read but not post.
    assert_error(kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/leave",
                             user.access_token, json={}), 403, "M_FORBIDDEN")
    assert kit.request("POST", f"/_matrix/client/v3/join/{room_id}", user.access_token,
                       json={}).status_code == 200
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/{first}",
                    user.access_token)
    assert r.json()["content"]["body"] == "Maintenance at 3"
    assert r.json()["sender"].startswith("@server:")
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room_id}/send/m.room.message/x1",
                    user.access_token, json=_text("reply"))
    assert_error(r, 403, "M_FORBIDDEN")

    # PUT with a txn ID is idempotent; a second notice lands in the same room.
    txn = unique("txn")
    ids = {kit.request("PUT", f"{S}/{txn}", admin.access_token,
                       json={"user_id": user.user_id, "content": _text("once")}).json()["event_id"]
           for _ in range(3)}
    assert len(ids) == 1
    [event_id] = ids
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/{event_id}",
                    user.access_token)
    assert r.status_code == 200 and r.json()["content"]["body"] == "once"

    # Leaving does not stop notices: the next one invites the user back.
    assert kit.request("POST", f"/_matrix/client/v3/rooms/{room_id}/leave", user.access_token,
                       json={}).status_code == 200
    r = kit.request("POST", S, admin.access_token,
                    json={"user_id": user.user_id, "content": _text("come back")})
    assert r.status_code == 200
    sync = kit.request("GET", "/_matrix/client/v3/sync", user.access_token).json()
    assert room_id in sync["rooms"]["invite"]

    r = kit.request("GET", f"/_glia/admin/v1/audit_log?action=server_notices.send"
                    f"&actor={quote(admin.user_id)}", admin.access_token)
    assert r.json()["total"] >= 5


def test_server_notice_errors(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    for body, status, errcode in (
            ({"content": _text("x")}, 400, "M_MISSING_PARAM"),
            ({"user_id": user.user_id}, 400, "M_MISSING_PARAM"),
            ({"user_id": user.user_id, "content": "x"}, 400, "M_BAD_JSON"),
            ({"user_id": "@a:elsewhere.example", "content": _text("x")}, 400, "M_UNKNOWN"),
            ({"user_id": "not-a-user", "content": _text("x")}, 400, "M_INVALID_PARAM"),
            ({"user_id": f"@{unique('none')}:localhost", "content": _text("x")}, 404,
             "M_NOT_FOUND")):
        assert_error(kit.request("POST", S, admin.access_token, json=body), status, errcode)
    assert_error(kit.request("POST", S, user.access_token,
                             json={"user_id": user.user_id, "content": _text("x")}),
                 403, "M_FORBIDDEN")


def test_server_notices_disabled(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_SERVER_NOTICES__ENABLED": "false"})
    kit = Kit(server.url)
    try:
        admin, user = kit.make_admin(), kit.register_user()
        r = kit.request("POST", S, admin.access_token,
                        json={"user_id": user.user_id, "content": _text("x")})
        body = assert_error(r, 400, "M_UNKNOWN")
        assert body["error"] == "Server notices are not enabled on this server"
    finally:
        kit.close()
