"""Admin writes and their audit rows, through the unit of work: one row per request, with
the right actor, action, target and outcome; the row of an operation made of room events
commits with the first of them; failures leave a row and no change; a non-admin's
attempt is recorded as refused; a body too deep to record is refused, not a crash."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, assert_error, create_room, unique

S = "/_synapse/admin"
C = "/_matrix/client/v3"


def _q(value: str) -> str:
    return quote(value, safe="")


def _rows(kit: Kit, admin: User, **filters: str) -> list[dict[str, Any]]:
    query = "&".join(f"{k}={_q(v)}" for k, v in filters.items())
    r = kit.request("GET", f"/_glia/admin/v1/audit_log?{query}&limit=1000",
                    admin.access_token)
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


def _one_row(kit: Kit, admin: User, action: str, target: str | None,
             outcome: str = "ok", actor: str | None = None) -> dict[str, Any]:
    filters = {"action": action, "actor": actor or admin.user_id}
    if target is not None:
        filters["target"] = target
    rows = _rows(kit, admin, **filters)
    assert len(rows) == 1, rows
    assert rows[0]["actor"] == (actor or admin.user_id)
    assert rows[0]["target"] == target and rows[0]["outcome"] == outcome, rows[0]
    return rows[0]


def _join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"{C}/join/{_q(room_id)}", user.access_token, json={})
    assert r.status_code == 200, r.text


def _membership(kit: Kit, admin: User, room_id: str, user_id: str) -> dict[str, Any] | None:
    r = kit.request("GET", f"{S}/v1/rooms/{_q(room_id)}/state", admin.access_token)
    assert r.status_code == 200, r.text
    for event in r.json()["state"]:
        if event["type"] == "m.room.member" and event["state_key"] == user_id:
            return dict(event)
    return None


# -- operations made of room events ---------------------------------------------------------

def test_evacuate_user_commits_its_row_with_the_first_leave(kit: Kit) -> None:
    """The row is written in the first leave's transaction, so its time is no later
    than the second leave's (written after the whole evacuation, it was later than all)."""
    admin, alice, bob = kit.make_admin(), kit.register_user(), kit.register_user()
    rooms = [create_room(kit, alice, preset="public_chat") for _ in range(5)]
    for room_id in rooms:
        _join(kit, bob, room_id)
    r = kit.request("POST", f"/_dendrite/admin/evacuateUser/{_q(bob.user_id)}",
                    admin.access_token)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["affected"]) == sorted(rooms)
    row = _one_row(kit, admin, "users.evacuate", bob.user_id)
    leaves = []
    for room_id in rooms:
        member = _membership(kit, admin, room_id, bob.user_id)
        assert member is not None and member["content"]["membership"] == "leave"
        leaves.append(member["origin_server_ts"])
    leaves.sort()
    assert leaves[0] <= row["ts"] <= leaves[1], (row["ts"], leaves)


def test_evacuate_room_leaves_one_row(kit: Kit) -> None:
    admin, alice, bob = kit.make_admin(), kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    _join(kit, bob, room_id)
    r = kit.request("POST", f"/_dendrite/admin/evacuateRoom/{_q(room_id)}", admin.access_token)
    assert r.status_code == 200, r.text
    assert sorted(r.json()["affected"]) == sorted([alice.user_id, bob.user_id])
    _one_row(kit, admin, "rooms.evacuate", room_id)
    # A dry run writes nothing and is recorded as such, in its own row.
    r = kit.request("POST", f"/_dendrite/admin/evacuateRoom/{_q(room_id)}", admin.access_token,
                    json={"dry_run": True})
    assert r.status_code == 200 and r.json()["dry_run"] is True
    rows = _rows(kit, admin, action="rooms.evacuate", target=room_id)
    assert [(e["outcome"], e["status"]) for e in rows] == [("ok", 200), ("ok", 200)]


def test_make_room_admin_and_force_join_leave_one_row(kit: Kit) -> None:
    admin, alice, bob = kit.make_admin(), kit.register_user(), kit.register_user()
    private = create_room(kit, alice)
    r = kit.request("POST", f"{S}/v1/rooms/{_q(private)}/make_room_admin", admin.access_token,
                    json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    row = _one_row(kit, admin, "rooms.make_room_admin", private)
    assert row["params"]["body"] == {"user_id": bob.user_id}
    member = _membership(kit, admin, private, bob.user_id)
    assert member is not None and member["content"]["membership"] == "invite"

    public = create_room(kit, alice, preset="public_chat")
    r = kit.request("POST", f"{S}/v1/join/{_q(public)}", admin.access_token,
                    json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    _one_row(kit, admin, "rooms.join", public)
    member = _membership(kit, admin, public, bob.user_id)
    assert member is not None and member["content"]["membership"] == "join"


def test_server_notices_leave_one_row_per_request(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    before = len(_rows(kit, admin, action="server_notices.send", actor=admin.user_id))
    body = {"user_id": user.user_id, "content": {"msgtype": "m.text", "body": "hello"}}
    r = kit.request("POST", f"{S}/v1/send_server_notice", admin.access_token, json=body)
    assert r.status_code == 200, r.text
    rows = _rows(kit, admin, action="server_notices.send", actor=admin.user_id)
    assert len(rows) == before + 1 and rows[0]["outcome"] == "ok"
    txn = unique("txn")
    first = kit.request("PUT", f"{S}/v1/send_server_notice/{txn}", admin.access_token,
                        json=body)
    assert first.status_code == 200, first.text
    _one_row(kit, admin, "server_notices.send", txn)


def test_user_put_writes_profile_with_its_row(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    room_id = create_room(kit, user)
    r = kit.request("PUT", f"{S}/v2/users/{_q(user.user_id)}", admin.access_token,
                    json={"displayname": "Renamed", "user_type": "bot"})
    assert r.status_code == 200, r.text
    assert r.json()["displayname"] == "Renamed" and r.json()["user_type"] == "bot"
    _one_row(kit, admin, "users.put", user.user_id)
    member = _membership(kit, admin, room_id, user.user_id)
    assert member is not None and member["content"]["displayname"] == "Renamed"


# -- failures and refusals ------------------------------------------------------------------

def test_failed_writes_leave_a_failure_row_and_no_change(kit: Kit) -> None:
    admin = kit.make_admin()
    token = unique("tok")
    r = kit.request("POST", f"{S}/v1/registration_tokens/new", admin.access_token,
                    json={"token": token, "uses_allowed": 3})
    assert r.status_code == 200, r.text
    assert_error(kit.request("POST", f"{S}/v1/registration_tokens/new", admin.access_token,
                             json={"token": token, "uses_allowed": 9}), 400, "M_INVALID_PARAM")
    rows = _rows(kit, admin, action="registration_tokens.create", target=token)
    assert [(e["outcome"], e["status"]) for e in rows] == [("M_INVALID_PARAM", 400),
                                                           ("ok", 200)]
    r = kit.request("GET", f"{S}/v1/registration_tokens/{token}", admin.access_token)
    assert r.json()["uses_allowed"] == 3

    # An external ID already in use: 409, and the account is not created.
    owner = f"@{unique('owner')}:localhost"
    ext = {"auth_provider": "oidc", "external_id": unique("ext")}
    r = kit.request("PUT", f"{S}/v2/users/{_q(owner)}", admin.access_token,
                    json={"external_ids": [ext]})
    assert r.status_code == 201, r.text
    taker = f"@{unique('taker')}:localhost"
    assert_error(kit.request("PUT", f"{S}/v2/users/{_q(taker)}", admin.access_token,
                             json={"external_ids": [ext]}), 409, "M_UNKNOWN")
    row = _one_row(kit, admin, "users.put", taker, outcome="M_UNKNOWN")
    assert row["status"] == 409
    assert_error(kit.request("GET", f"{S}/v2/users/{_q(taker)}", admin.access_token), 404,
                 "M_NOT_FOUND")

    # A forced join the room refuses: recorded with its error, and nobody joined.
    alice, bob = kit.register_user(), kit.register_user()
    private = create_room(kit, alice)
    r = kit.request("POST", f"{S}/v1/join/{_q(private)}", admin.access_token,
                    json={"user_id": bob.user_id})
    assert r.status_code == 403, r.text
    row = _one_row(kit, admin, "rooms.join", private, outcome=r.json()["errcode"])
    assert row["status"] == 403
    assert _membership(kit, admin, private, bob.user_id) is None


def test_non_admin_attempts_are_recorded_as_refused(kit: Kit) -> None:
    admin, mallory = kit.make_admin(), kit.register_user()
    victim = kit.register_user()
    path = f"{S}/v1/users/{_q(victim.user_id)}/admin"
    assert_error(kit.request("PUT", path, mallory.access_token, json={"admin": True}), 403,
                 "M_FORBIDDEN")
    row = _one_row(kit, admin, "users.set_admin", victim.user_id, outcome="M_FORBIDDEN",
                   actor=mallory.user_id)
    assert row["status"] == 403
    assert "access_token" not in str(row["params"])
    r = kit.request("GET", path, admin.access_token)
    assert r.json() == {"admin": False}
    # Reads are not audited, refused or not.
    assert_error(kit.request("GET", path, mallory.access_token), 403, "M_FORBIDDEN")
    assert len(_rows(kit, admin, actor=mallory.user_id)) == 1


def test_deep_json_on_an_admin_write_is_refused_and_recorded(kit: Kit) -> None:
    admin = kit.make_admin()
    target = f"@{unique('deep')}:localhost"
    deep = b'{"displayname": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    r = kit.request("PUT", f"{S}/v2/users/{_q(target)}", admin.access_token, content=deep,
                    headers={"Content-Type": "application/json"})
    assert_error(r, 400, "M_BAD_JSON")
    row = _one_row(kit, admin, "users.put", target, outcome="M_BAD_JSON")
    assert row["status"] == 400 and "body" not in row["params"]
    assert_error(kit.request("GET", f"{S}/v2/users/{_q(target)}", admin.access_token), 404,
                 "M_NOT_FOUND")
