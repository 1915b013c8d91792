"""The remaining Synapse admin endpoints over real HTTP: media statistics per user, the
largest rooms, a user's sent invites and joined rooms since a time, rate-limit overrides
(and that the rate limiter obeys them), experimental-feature flags, the quarantine change
feed, and the spec's suspension endpoint; with the audit row each write leaves."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, assert_error, create_room, send_event, unique
from tests.server import GliaProcess

S = "/_synapse/admin/v1"
G = "/_glia/admin/v1"
C = "/_matrix/client/v3"
SPEC_SUSPEND = "/_matrix/client/v1/admin/suspend"
REMOTE = "@someone:remote.example"


def _q(value: str) -> str:
    return quote(value, safe="")


def ok(kit: Kit, method: str, path: str, user: User, **kwargs: Any) -> dict[str, Any]:
    r = kit.request(method, path, user.access_token, **kwargs)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def upload(kit: Kit, user: User, content: bytes) -> str:
    r = kit.request("POST", "/_matrix/media/v3/upload", user.access_token, content=content,
                    headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 200, r.text
    return str(r.json()["content_uri"]).rsplit("/", 1)[1]


def audit(kit: Kit, admin: User, action: str, target: str) -> list[dict[str, Any]]:
    return list(ok(kit, "GET", f"{G}/audit_log?action={action}&target={_q(target)}",
                   admin)["entries"])


def join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"{C}/join/{_q(room_id)}", user.access_token, json={})
    assert r.status_code == 200, r.text


def now_ms() -> int:
    return int(time.time() * 1000)


# -- statistics/users/media -------------------------------------------------------------------

def test_users_media_statistics(kit: Kit) -> None:
    admin = kit.make_admin()
    prefix = unique("stat")
    big, small = kit.register_user(f"{prefix}big"), kit.register_user(f"{prefix}small")
    before = now_ms()
    for content in (b"a" * 1000, b"b" * 500, unique().encode()):
        upload(kit, big, content)
    upload(kit, small, b"c" * 10)
    # An ID reserved by /create with nothing uploaded is not media yet.
    assert kit.request("POST", "/_matrix/media/v1/create",
                       small.access_token).status_code == 200
    after = now_ms()

    body = ok(kit, "GET", f"{S}/statistics/users/media?search_term={prefix}", admin)
    assert body["total"] == 2 and "next_token" not in body
    by_user = {u["user_id"]: u for u in body["users"]}
    assert by_user[big.user_id] == {"user_id": big.user_id, "displayname": f"{prefix}big",
                                    "media_count": 3, "media_length": 1500 + 11}
    assert by_user[small.user_id]["media_count"] == 1
    assert by_user[small.user_id]["media_length"] == 10
    # Default order: user ID ascending.
    assert [u["user_id"] for u in body["users"]] == sorted(by_user)

    body = ok(kit, "GET", f"{S}/statistics/users/media?search_term={prefix}"
              "&order_by=media_length&dir=b&limit=1", admin)
    assert [u["user_id"] for u in body["users"]] == [big.user_id]
    assert body["total"] == 2 and body["next_token"] == 1
    body = ok(kit, "GET", f"{G}/statistics/users/media?search_term={prefix}"
              "&order_by=media_count&from=1&limit=1", admin)
    assert [u["user_id"] for u in body["users"]] == [big.user_id]
    assert "next_token" not in body

    # The time range: before the uploads there is nothing; the range covering them has all.
    body = ok(kit, "GET", f"{S}/statistics/users/media?search_term={prefix}"
              f"&until_ts={before - 1}", admin)
    assert body == {"users": [], "total": 0}
    body = ok(kit, "GET", f"{S}/statistics/users/media?search_term={prefix}"
              f"&from_ts={before}&until_ts={after}", admin)
    assert body["total"] == 2
    body = ok(kit, "GET", f"{S}/statistics/users/media?search_term={prefix}"
              f"&from_ts={after + 1}", admin)
    assert body["total"] == 0

    # The search matches display names too (case-insensitively).
    name = unique("Shown")
    r = kit.request("PUT", f"{C}/profile/{_q(small.user_id)}/displayname", small.access_token,
                    json={"displayname": name})
    assert r.status_code == 200, r.text
    body = ok(kit, "GET", f"{S}/statistics/users/media?search_term={name.lower()}", admin)
    assert [(u["user_id"], u["displayname"]) for u in body["users"]] == [
        (small.user_id, name)]
    body = ok(kit, "GET", f"{S}/statistics/users/media?search_term={prefix}"
              "&order_by=displayname", admin)
    assert body["total"] == 2


def test_users_media_statistics_errors(kit: Kit) -> None:
    admin = kit.make_admin()
    path = f"{S}/statistics/users/media"
    body = assert_error(kit.request("GET", f"{path}?from_ts=10&until_ts=10",
                                    admin.access_token), 400, "M_INVALID_PARAM")
    assert body["error"] == "Query parameter until_ts must be greater than from_ts."
    body = assert_error(kit.request("GET", f"{path}?search_term=", admin.access_token), 400,
                        "M_INVALID_PARAM")
    assert body["error"] == "Query parameter search_term cannot be an empty string."
    body = assert_error(kit.request("GET", f"{path}?order_by=size", admin.access_token), 400,
                        "M_INVALID_PARAM")
    assert body["error"] == ("Query parameter 'order_by' must be one of ['media_length', "
                             "'media_count', 'user_id', 'displayname']")
    for query in ("dir=x", "from=-1", "limit=abc", "from_ts=-5", "until_ts=x"):
        assert_error(kit.request("GET", f"{path}?{query}", admin.access_token), 400,
                     "M_INVALID_PARAM")


# -- statistics/database/rooms ----------------------------------------------------------------

def test_database_rooms(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory()
    kit = Kit(server.url)
    try:
        admin, user = kit.make_admin(), kit.register_user()
        small = create_room(kit, user)
        big = create_room(kit, user)
        for i in range(20):
            send_event(kit, user, big, {"msgtype": "m.text", "body": f"message {i} " * 20})
        others = [create_room(kit, user) for _ in range(10)]
        body = ok(kit, "GET", f"{S}/statistics/database/rooms?from=0&limit=3", admin)
        rooms = body["rooms"]
        assert set(body) == {"rooms"} and len(rooms) == 10
        assert rooms[0]["room_id"] == big
        sizes = [r["estimated_size"] for r in rooms]
        assert all(isinstance(s, int) and s > 0 for s in sizes)
        assert sizes == sorted(sizes, reverse=True)
        assert {r["room_id"] for r in rooms} <= {small, big, *others}
        # Sending more grows the figure.
        send_event(kit, user, small, {"msgtype": "m.text", "body": "x" * 5000})
        rooms = ok(kit, "GET", f"{S}/statistics/database/rooms", admin)["rooms"]
        by_id = {r["room_id"]: r["estimated_size"] for r in rooms}
        assert by_id[small] > 5000
    finally:
        kit.close()


# -- sent_invite_count / cumulative_joined_room_count -----------------------------------------

def test_sent_invites_and_joined_rooms(kit: Kit) -> None:
    admin, alice, bob, carol = (kit.make_admin(), kit.register_user(), kit.register_user(),
                                kit.register_user())
    start = now_ms()
    first = create_room(kit, alice, preset="public_chat", invite=[bob.user_id])
    second = create_room(kit, alice, preset="public_chat")
    for who in (bob, carol):
        r = kit.request("POST", f"{C}/rooms/{_q(second)}/invite", alice.access_token,
                        json={"user_id": who.user_id})
        assert r.status_code == 200, r.text
    join(kit, bob, first)
    join(kit, bob, second)
    assert kit.request("POST", f"{C}/rooms/{_q(second)}/leave", bob.access_token,
                       json={}).status_code == 200
    # A profile change is another join event in the same room: still one room.
    r = kit.request("PUT", f"{C}/profile/{_q(bob.user_id)}/displayname", bob.access_token,
                    json={"displayname": "Bob"})
    assert r.status_code == 200, r.text

    def invites(user: User, from_ts: int) -> int:
        body = ok(kit, "GET", f"{S}/users/{_q(user.user_id)}/sent_invite_count"
                  f"?from_ts={from_ts}", admin)
        assert set(body) == {"invite_count"}
        return int(body["invite_count"])

    def joined(user: User, from_ts: int) -> int:
        body = ok(kit, "GET", f"{S}/users/{_q(user.user_id)}/cumulative_joined_room_count"
                  f"?from_ts={from_ts}", admin)
        assert set(body) == {"cumulative_joined_room_count"}
        return int(body["cumulative_joined_room_count"])

    assert invites(alice, 0) == 3
    assert invites(alice, start) == 3
    assert invites(alice, now_ms() + 60_000) == 0
    assert invites(bob, 0) == 0
    # Bob joined two rooms (and left one); Alice joined the two she created.
    assert joined(bob, start) == 2
    assert joined(alice, 0) == 2
    assert joined(carol, 0) == 0
    assert joined(bob, now_ms() + 60_000) == 0

    # Remote users are accepted and simply have nothing here.
    for path in ("sent_invite_count", "cumulative_joined_room_count"):
        body = ok(kit, "GET", f"{S}/users/{_q(REMOTE)}/{path}?from_ts=0", admin)
        assert list(body.values()) == [0]
        body = assert_error(kit.request("GET", f"{S}/users/{_q(alice.user_id)}/{path}",
                                        admin.access_token), 400, "M_MISSING_PARAM")
        assert body["error"] == "Missing required integer query parameter from_ts"
        assert_error(kit.request("GET", f"{S}/users/{_q(alice.user_id)}/{path}?from_ts=-1",
                                 admin.access_token), 400, "M_INVALID_PARAM")
        assert_error(kit.request("GET", f"{S}/users/not-a-user/{path}?from_ts=0",
                                 admin.access_token), 400, "M_INVALID_PARAM")


# -- override_ratelimit -----------------------------------------------------------------------

def test_override_ratelimit_api(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    path = f"{S}/users/{_q(user.user_id)}/override_ratelimit"
    assert ok(kit, "GET", path, admin) == {}
    # An empty body means 0/0: exempt.
    r = kit.request("POST", path, admin.access_token)
    assert r.status_code == 200, r.text
    assert r.json() == {"messages_per_second": 0, "burst_count": 0}
    assert ok(kit, "POST", path, admin, json={"messages_per_second": 10,
                                              "burst_count": 30}) == {
        "messages_per_second": 10, "burst_count": 30}
    assert ok(kit, "GET", f"{G}/users/{_q(user.user_id)}/override_ratelimit", admin) == {
        "messages_per_second": 10, "burst_count": 30}
    # One key alone: the other is 0.
    assert ok(kit, "POST", path, admin, json={"burst_count": 5}) == {
        "messages_per_second": 0, "burst_count": 5}

    for bad, shown in ((-1, "-1"), ("5", "'5'"), (True, "True"), (1.5, "1.5"),
                       (2**60, str(2**60))):
        for key in ("messages_per_second", "burst_count"):
            body = assert_error(kit.request("POST", path, admin.access_token,
                                            json={key: bad}), 400, "M_INVALID_PARAM")
            assert body["error"] == f"{shown} parameter must be a positive int"
    assert_error(kit.request("POST", path, admin.access_token, content=b"[1]"), 400,
                 "M_BAD_JSON")
    assert ok(kit, "GET", path, admin) == {"messages_per_second": 0, "burst_count": 5}

    remote = f"{S}/users/{_q(REMOTE)}/override_ratelimit"
    body = assert_error(kit.request("GET", remote, admin.access_token), 400, "M_UNKNOWN")
    assert body["error"] == "Can only look up local users"
    for method in ("POST", "DELETE"):
        body = assert_error(kit.request(method, remote, admin.access_token, json={}), 400,
                            "M_UNKNOWN")
        assert body["error"] == "Only local users can be ratelimited"
    ghost = f"{S}/users/{_q('@' + unique('ghost') + ':localhost')}/override_ratelimit"
    for method in ("GET", "POST", "DELETE"):
        body = assert_error(kit.request(method, ghost, admin.access_token, json={}), 404,
                            "M_NOT_FOUND")
        assert body["error"] == "User not found"

    assert ok(kit, "DELETE", path, admin) == {}
    assert ok(kit, "GET", path, admin) == {}
    assert ok(kit, "DELETE", path, admin) == {}

    sets = [e for e in audit(kit, admin, "users.override_ratelimit", user.user_id)
            if e["outcome"] == "ok"]
    assert len(sets) == 3
    assert sets[0]["params"]["body"] == {"burst_count": 5}
    deletes = audit(kit, admin, "users.delete_ratelimit_override", user.user_id)
    assert [e["outcome"] for e in deletes] == ["ok", "ok"]


def _send_until_limited(kit: Kit, user: User, room_id: str, attempts: int) -> int:
    """How many messages go through before the first 429 (``attempts`` if none)."""
    for sent in range(attempts):
        r = kit.request("PUT", f"{C}/rooms/{_q(room_id)}/send/m.room.message/{unique('t')}",
                        user.access_token, json={"msgtype": "m.text", "body": "hi"})
        if r.status_code == 429:
            assert r.json()["errcode"] == "M_LIMIT_EXCEEDED"
            return sent
        assert r.status_code == 200, r.text
    return attempts


def test_override_ratelimit_is_enforced(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_RATELIMIT__ENABLED": "true",
                           "GLIA_RATELIMIT__MESSAGE__PER_SECOND": "0.001",
                           "GLIA_RATELIMIT__MESSAGE__BURST": "3"})
    kit = Kit(server.url)
    try:
        admin, bot, other = kit.make_admin(), kit.register_user(), kit.register_user()
        # createRoom is itself a "message"-class request.
        room_id = create_room(kit, bot, preset="public_chat")
        assert _send_until_limited(kit, bot, room_id, 10) == 2
        path = f"{S}/users/{_q(bot.user_id)}/override_ratelimit"

        # 0/0: exempt from every per-user limit, at once (this process drops its cache).
        ok(kit, "POST", path, admin, json={"messages_per_second": 0, "burst_count": 0})
        assert _send_until_limited(kit, bot, room_id, 25) == 25
        # Other users keep the configured limit.
        other_room = create_room(kit, other)
        assert _send_until_limited(kit, other, other_room, 10) == 2

        # Own rate and burst: a burst of 8 at 1/s, where the configuration allows 3.
        chatty = kit.register_user()
        chatty_path = f"{S}/users/{_q(chatty.user_id)}/override_ratelimit"
        ok(kit, "POST", chatty_path, admin, json={"messages_per_second": 1, "burst_count": 8})
        join(kit, chatty, room_id)
        sent = _send_until_limited(kit, chatty, room_id, 40)
        assert 7 <= sent < 40

        # Removed: back to the configured limit, whose bucket is empty.
        ok(kit, "DELETE", chatty_path, admin)
        assert _send_until_limited(kit, chatty, room_id, 5) == 0
        ok(kit, "DELETE", path, admin)
        assert _send_until_limited(kit, bot, room_id, 5) == 0
    finally:
        kit.close()


# -- experimental_features --------------------------------------------------------------------

def test_experimental_features(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    path = f"{S}/experimental_features/{_q(user.user_id)}"
    none_on = {"msc3881": False, "msc3575": False, "msc4222": False}
    assert ok(kit, "GET", path, admin) == {"features": none_on}
    assert ok(kit, "PUT", path, admin, json={"features": {"msc3881": True,
                                                           "msc4222": True}}) == {}
    assert ok(kit, "GET", path, admin) == {"features": {**none_on, "msc3881": True,
                                                        "msc4222": True}}
    # Features not named keep their value.
    assert ok(kit, "PUT", path, admin, json={"features": {"msc4222": False}}) == {}
    assert ok(kit, "GET", f"{G}/experimental_features/{_q(user.user_id)}", admin) == {
        "features": {**none_on, "msc3881": True}}

    body = assert_error(kit.request("PUT", path, admin.access_token,
                                    json={"features": {"msc9999": True}}), 400, "M_UNKNOWN")
    assert body["error"] == "'msc9999' is not recognised as a valid experimental feature."
    for bad in ({}, {"features": {}}, {"features": None}):
        body = assert_error(kit.request("PUT", path, admin.access_token, json=bad), 400,
                            "M_UNKNOWN")
        assert body["error"] == "You must provide features to set."
    assert_error(kit.request("PUT", path, admin.access_token,
                             json={"features": {"msc3881": "yes"}}), 400, "M_BAD_JSON")
    assert_error(kit.request("PUT", path, admin.access_token, json={"features": [1]}), 400,
                 "M_BAD_JSON")
    assert_error(kit.request("PUT", path, admin.access_token), 400, "M_NOT_JSON")

    remote = f"{S}/experimental_features/{_q(REMOTE)}"
    body = assert_error(kit.request("GET", remote, admin.access_token), 400, "M_UNKNOWN")
    assert body["error"] == ("User must be local to check what experimental features are "
                             "enabled.")
    body = assert_error(kit.request("PUT", remote, admin.access_token,
                                    json={"features": {"msc3881": True}}), 400, "M_UNKNOWN")
    assert body["error"] == "User must be local to enable experimental features."
    ghost = f"{S}/experimental_features/{_q('@' + unique('ghost') + ':localhost')}"
    assert ok(kit, "GET", ghost, admin) == {"features": none_on}
    assert_error(kit.request("PUT", ghost, admin.access_token,
                             json={"features": {"msc3881": True}}), 404, "M_NOT_FOUND")
    assert ok(kit, "GET", path, admin) == {"features": {**none_on, "msc3881": True}}

    rows = audit(kit, admin, "users.set_experimental_features", user.user_id)
    assert [e["outcome"] for e in rows].count("ok") == 2


# -- media/quarantine_changes -----------------------------------------------------------------

def _feed_head(kit: Kit, admin: User) -> int:
    """The feed's newest position (pages through whatever other tests left)."""
    position = 0
    while True:
        body = ok(kit, "GET", f"{S}/media/quarantine_changes?from={position}", admin)
        if not body["changes"]:
            return int(body["next_batch"])
        position = int(body["next_batch"])


def test_quarantine_changes(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    head = _feed_head(kit, admin)
    assert ok(kit, "GET", f"{S}/media/quarantine_changes?from={head}", admin) == {
        "next_batch": head, "changes": []}

    same = unique("bytes").encode()
    first, twin = upload(kit, user, same), upload(kit, user, same)
    protected = upload(kit, user, unique("bytes").encode())
    ok(kit, "POST", f"{S}/media/protect/{protected}", admin, json={})
    ok(kit, "POST", f"{S}/media/quarantine/localhost/{first}", admin, json={})
    ok(kit, "POST", f"{S}/media/quarantine/localhost/{protected}", admin, json={})
    # Quarantining again changes nothing, so adds nothing.
    ok(kit, "POST", f"{S}/media/quarantine/localhost/{twin}", admin, json={})

    body = ok(kit, "GET", f"{S}/media/quarantine_changes?from={head}", admin)
    assert sorted(c["media_id"] for c in body["changes"]) == sorted([first, twin])
    assert all(c == {"origin": "localhost", "media_id": c["media_id"], "quarantined": True}
               for c in body["changes"])
    assert body["next_batch"] == head + 2
    quarantined_at = body["next_batch"]

    ok(kit, "POST", f"{S}/media/unquarantine/localhost/{twin}", admin, json={})
    body = ok(kit, "GET", f"{G}/media/quarantine_changes?from={quarantined_at}", admin)
    assert sorted((c["media_id"], c["quarantined"]) for c in body["changes"]) == sorted(
        [(first, False), (twin, False)])
    assert body["next_batch"] == head + 4

    # Glia's smaller pages: one change at a time, in order.
    seen = []
    position = head
    while True:
        page = ok(kit, "GET", f"{S}/media/quarantine_changes?from={position}&limit=1", admin)
        if not page["changes"]:
            break
        assert len(page["changes"]) == 1
        seen.append((page["changes"][0]["media_id"], page["changes"][0]["quarantined"]))
        position = page["next_batch"]
    assert position == head + 4
    assert [q for _, q in seen] == [True, True, False, False]

    # A user's media quarantined in one go is in the feed too.
    other = upload(kit, user, unique("bytes").encode())
    ok(kit, "POST", f"{S}/user/{_q(user.user_id)}/media/quarantine", admin, json={})
    body = ok(kit, "GET", f"{S}/media/quarantine_changes?from={head + 4}", admin)
    assert {c["media_id"] for c in body["changes"]} == {first, twin, other}

    body = assert_error(kit.request("GET", f"{S}/media/quarantine_changes?from={head + 10**6}",
                                    admin.access_token), 400, "M_INVALID_PARAM")
    for query in ("from=-1", "from=x", "limit=0", "limit=-3"):
        assert_error(kit.request("GET", f"{S}/media/quarantine_changes?{query}",
                                 admin.access_token), 400, "M_INVALID_PARAM")


# -- the spec's suspension endpoint -----------------------------------------------------------

def test_spec_suspend(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    room_id = create_room(kit, user)
    path = f"{SPEC_SUSPEND}/{_q(user.user_id)}"
    assert ok(kit, "GET", path, admin) == {"suspended": False}
    assert ok(kit, "PUT", path, admin, json={"suspended": True}) == {"suspended": True}
    assert ok(kit, "GET", path, admin) == {"suspended": True}
    # The same suspension as Synapse's endpoint: shown on the user, and enforced.
    assert ok(kit, "GET", f"/_synapse/admin/v2/users/{_q(user.user_id)}",
              admin)["suspended"] is True
    r = kit.request("PUT", f"{C}/rooms/{_q(room_id)}/send/m.room.message/{unique('t')}",
                    user.access_token, json={"msgtype": "m.text", "body": "hi"})
    assert_error(r, 403, "M_USER_SUSPENDED")
    assert ok(kit, "PUT", path, admin, json={"suspended": False}) == {"suspended": False}
    send_event(kit, user, room_id)
    rows = audit(kit, admin, "users.suspend", user.user_id)
    assert [e["outcome"] for e in rows] == ["ok", "ok"]

    body = assert_error(kit.request("GET", f"{SPEC_SUSPEND}/{_q(REMOTE)}", admin.access_token),
                        400, "M_INVALID_PARAM")
    assert body["error"] == "User does not belong to the local server."
    assert_error(kit.request("PUT", f"{SPEC_SUSPEND}/{_q(REMOTE)}", admin.access_token,
                             json={"suspended": True}), 400, "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{SPEC_SUSPEND}/not-a-user", admin.access_token), 400,
                 "M_INVALID_PARAM")
    ghost = f"{SPEC_SUSPEND}/{_q('@' + unique('ghost') + ':localhost')}"
    assert_error(kit.request("GET", ghost, admin.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("PUT", ghost, admin.access_token, json={"suspended": True}), 404,
                 "M_NOT_FOUND")
    # Another admin, and oneself, cannot be suspended (nor looked up) here.
    other_admin = kit.make_admin()
    for target in (other_admin, admin):
        target_path = f"{SPEC_SUSPEND}/{_q(target.user_id)}"
        assert_error(kit.request("GET", target_path, admin.access_token), 403, "M_FORBIDDEN")
        assert_error(kit.request("PUT", target_path, admin.access_token,
                                 json={"suspended": True}), 403, "M_FORBIDDEN")
    # A deactivated account is "not found".
    gone = kit.register_user()
    ok(kit, "POST", f"/_synapse/admin/v1/deactivate/{_q(gone.user_id)}", admin, json={})
    assert_error(kit.request("GET", f"{SPEC_SUSPEND}/{_q(gone.user_id)}", admin.access_token),
                 404, "M_NOT_FOUND")

    assert_error(kit.request("PUT", path, admin.access_token), 400, "M_NOT_JSON")
    assert_error(kit.request("PUT", path, admin.access_token, json={}), 400, "M_MISSING_PARAM")
    assert_error(kit.request("PUT", path, admin.access_token, json={"suspended": "yes"}), 400,
                 "M_BAD_JSON")
    assert ok(kit, "GET", path, admin) == {"suspended": False}
    # Not an admin: refused before any lookup.
    assert_error(kit.request("GET", ghost, user.access_token), 403, "M_FORBIDDEN")
    assert_error(kit.request("PUT", path, user.access_token, json={"suspended": True}), 403,
                 "M_FORBIDDEN")


def test_spec_lock_endpoint_and_capability(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    lock = f"/_matrix/client/v1/admin/lock/{quote(user.user_id, safe='')}"
    r = kit.request("GET", lock, admin.access_token)
    assert r.status_code == 200 and r.json() == {"locked": False}
    r = kit.request("PUT", lock, admin.access_token, json={"locked": True})
    assert r.status_code == 200 and r.json() == {"locked": True}
    assert_error(kit.request("GET", "/_matrix/client/v3/account/whoami", user.access_token),
                 401, "M_USER_LOCKED")
    assert kit.request("GET", lock, admin.access_token).json() == {"locked": True}
    r = kit.request("PUT", lock, admin.access_token, json={"locked": False})
    assert r.status_code == 200
    assert kit.request("GET", "/_matrix/client/v3/account/whoami",
                       user.access_token).status_code == 200
    assert_error(kit.request("PUT", lock, admin.access_token, json={}), 400, "M_MISSING_PARAM")
    assert_error(kit.request("PUT", lock, admin.access_token, json={"locked": "y"}), 400,
                 "M_BAD_JSON")
    assert_error(kit.request("PUT", lock, user.access_token, json={"locked": True}), 403,
                 "M_FORBIDDEN")
    caps = kit.request("GET", "/_matrix/client/v3/capabilities", admin.access_token).json()
    assert caps["capabilities"]["m.account_moderation"] == {"suspend": True, "lock": True}
    caps = kit.request("GET", "/_matrix/client/v3/capabilities", user.access_token).json()
    assert "m.account_moderation" not in caps["capabilities"]
