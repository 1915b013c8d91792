"""The rest of Synapse's user admin API over real HTTP: joined rooms and memberships,
suspension (and what a suspended user may still do), shadow-bans, the admin device API,
impersonation tokens, username availability, 3PID and SSO lookups, account data, and the
user-redaction job; with the audit row each write leaves."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.kit import Kit, User, assert_error, create_room, send_event, unique, wait_for_job

S = "/_synapse/admin"
C = "/_matrix/client/v3"
REMOTE = "@someone:remote.example"


def _q(value: str) -> str:
    return quote(value, safe="")


def _audit(kit: Kit, admin: User, action: str, target: str) -> list[dict[str, Any]]:
    r = kit.request("GET", f"/_glia/admin/v1/audit_log?action={action}&target={_q(target)}",
                    admin.access_token)
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


def _ghost() -> str:
    return f"@{unique('ghost')}:localhost"


def _join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"{C}/join/{room_id}", user.access_token, json={})
    assert r.status_code == 200, r.text


def _event(kit: Kit, admin: User, event_id: str) -> dict[str, Any]:
    r = kit.request("GET", f"{S}/v1/fetch_event/{_q(event_id)}", admin.access_token)
    assert r.status_code == 200, r.text
    return dict(r.json()["event"])


def _redacted(kit: Kit, admin: User, event_id: str) -> bool:
    """fetch_event shows a redacted event's original content, so ask its unsigned."""
    return "redacted_because" in _event(kit, admin, event_id)["unsigned"]


def test_joined_rooms_and_memberships(kit: Kit) -> None:
    admin, alice, bob = kit.make_admin(), kit.register_user(), kit.register_user()
    joined = create_room(kit, alice, preset="public_chat")
    _join(kit, bob, joined)
    invited = create_room(kit, alice, invite=[bob.user_id])
    left = create_room(kit, alice, preset="public_chat")
    _join(kit, bob, left)
    assert kit.request("POST", f"{C}/rooms/{left}/leave", bob.access_token,
                       json={}).status_code == 200

    r = kit.request("GET", f"{S}/v1/users/{_q(bob.user_id)}/joined_rooms", admin.access_token)
    assert r.status_code == 200, r.text
    assert r.json() == {"joined_rooms": [joined], "total": 1}
    r = kit.request("GET", f"{S}/v1/users/{_q(bob.user_id)}/memberships", admin.access_token)
    assert r.status_code == 200, r.text
    assert r.json() == {"memberships": {joined: "join", invited: "invite", left: "leave"}}
    r = kit.request("GET", f"/_glia/admin/v1/users/{_q(alice.user_id)}/joined_rooms",
                    admin.access_token)
    assert sorted(r.json()["joined_rooms"]) == sorted([joined, invited, left])

    # Remote and unknown users are answered from this server's rooms: nothing here.
    for user_id in (REMOTE, _ghost()):
        r = kit.request("GET", f"{S}/v1/users/{_q(user_id)}/joined_rooms", admin.access_token)
        assert r.json() == {"joined_rooms": [], "total": 0}
        r = kit.request("GET", f"{S}/v1/users/{_q(user_id)}/memberships", admin.access_token)
        assert r.json() == {"memberships": {}}
    for path in ("joined_rooms", "memberships"):
        assert_error(kit.request("GET", f"{S}/v1/users/not-a-user/{path}", admin.access_token),
                     400, "M_INVALID_PARAM")


def test_suspension(kit: Kit) -> None:
    admin, mallory, bob = kit.make_admin(), kit.register_user(), kit.register_user()
    own_room = create_room(kit, mallory, preset="public_chat")
    _join(kit, bob, own_room)
    bobs_message = send_event(kit, bob, own_room)
    own_message = send_event(kit, mallory, own_room)
    public = create_room(kit, bob, preset="public_chat")
    invited = create_room(kit, bob, invite=[mallory.user_id])

    r = kit.request("PUT", f"{S}/v1/suspend/{_q(mallory.user_id)}", admin.access_token,
                    json={"suspend": True})
    assert r.status_code == 200, r.text
    assert r.json() == {f"user_{mallory.user_id}_suspended": True}
    user = kit.request("GET", f"{S}/v2/users/{_q(mallory.user_id)}", admin.access_token).json()
    assert user["suspended"] is True
    assert len(_audit(kit, admin, "users.suspend", mallory.user_id)) == 1

    token = mallory.access_token
    refused = [
        ("PUT", f"{C}/rooms/{own_room}/send/m.room.message/{unique('t')}",
         {"msgtype": "m.text", "body": "spam"}),
        ("PUT", f"{C}/rooms/{own_room}/state/m.room.topic", {"topic": "spam"}),
        ("POST", f"{C}/rooms/{own_room}/invite", {"user_id": admin.user_id}),
        ("POST", f"{C}/join/{public}", {}),
        ("POST", f"{C}/rooms/{invited}/join", {}),
        ("PUT", f"{C}/rooms/{own_room}/redact/{_q(bobs_message)}/{unique('t')}", {}),
        ("PUT", f"{C}/profile/{_q(mallory.user_id)}/displayname", {"displayname": "Spam"}),
        ("PUT", f"{C}/profile/{_q(mallory.user_id)}/avatar_url", {"avatar_url": "mxc://x/y"}),
        ("POST", f"{C}/createRoom", {}),
    ]
    for method, path, body in refused:
        assert_error(kit.request(method, path, token, json=body), 403, "M_USER_SUSPENDED")
    # Still allowed: reading, syncing, redacting their own events, leaving.
    assert kit.request("GET", f"{C}/sync?timeout=0", token).status_code == 200
    assert kit.request("GET", f"{C}/rooms/{own_room}/messages?dir=b", token).status_code == 200
    r = kit.request("PUT", f"{C}/rooms/{own_room}/redact/{_q(own_message)}/{unique('t')}", token,
                    json={"reason": "oops"})
    assert r.status_code == 200, r.text
    assert kit.request("POST", f"{C}/rooms/{invited}/leave", token, json={}).status_code == 200
    # An admin may still change a suspended user's profile, in their rooms too.
    r = kit.request("PUT", f"{S}/v2/users/{_q(mallory.user_id)}", admin.access_token,
                    json={"displayname": "Renamed by admin"})
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{C}/rooms/{own_room}/state/m.room.member/{_q(mallory.user_id)}",
                    bob.access_token)
    assert r.json()["displayname"] == "Renamed by admin"

    r = kit.request("PUT", f"{S}/v1/suspend/{_q(mallory.user_id)}", admin.access_token,
                    json={"suspend": False})
    assert r.json() == {f"user_{mallory.user_id}_suspended": False}
    send_event(kit, mallory, own_room)
    _join(kit, mallory, public)

    path = f"{S}/v1/suspend/{_q(mallory.user_id)}"
    assert_error(kit.request("PUT", path, admin.access_token), 400, "M_NOT_JSON")
    assert_error(kit.request("PUT", path, admin.access_token, json=[]), 400, "M_BAD_JSON")
    assert_error(kit.request("PUT", path, admin.access_token, json={}), 400, "M_MISSING_PARAM")
    assert_error(kit.request("PUT", path, admin.access_token, json={"suspend": "yes"}), 400,
                 "M_BAD_JSON")
    assert_error(kit.request("PUT", f"{S}/v1/suspend/{_q(REMOTE)}", admin.access_token,
                             json={"suspend": True}), 400, "M_UNKNOWN")
    assert_error(kit.request("PUT", f"{S}/v1/suspend/{_q(_ghost())}", admin.access_token,
                             json={"suspend": True}), 404, "M_NOT_FOUND")
    assert_error(kit.request("PUT", f"{S}/v1/suspend/nobody", admin.access_token,
                             json={"suspend": True}), 400, "M_INVALID_PARAM")


def test_shadow_ban(kit: Kit) -> None:
    admin, eve, bob, carol = (kit.make_admin(), kit.register_user(), kit.register_user(),
                              kit.register_user())
    room = create_room(kit, bob, preset="public_chat")
    _join(kit, eve, room)

    r = kit.request("POST", f"{S}/v1/users/{_q(eve.user_id)}/shadow_ban", admin.access_token)
    assert r.status_code == 200 and r.json() == {}, r.text
    user = kit.request("GET", f"{S}/v2/users/{_q(eve.user_id)}", admin.access_token).json()
    assert user["shadow_banned"] is True
    assert len(_audit(kit, admin, "users.shadow_ban", eve.user_id)) == 1

    # Sends look successful, but nothing is stored or delivered.
    fake = send_event(kit, eve, room, {"msgtype": "m.text", "body": "buy now"})
    assert fake.startswith("$")
    assert_error(kit.request("GET", f"{C}/rooms/{room}/event/{_q(fake)}", bob.access_token),
                 404, "M_NOT_FOUND")
    r = kit.request("PUT", f"{C}/rooms/{room}/state/m.room.topic", eve.access_token,
                    json={"topic": "spam"})
    assert r.status_code == 200 and r.json()["event_id"].startswith("$")
    r = kit.request("POST", f"{C}/rooms/{room}/invite", eve.access_token,
                    json={"user_id": carol.user_id})
    assert r.status_code == 200, r.text
    spam_room = create_room(kit, eve, invite=[carol.user_id])
    memberships = kit.request("GET", f"{S}/v1/users/{_q(carol.user_id)}/memberships",
                              admin.access_token).json()["memberships"]
    assert memberships == {}
    bodies = [e["content"].get("body") for e in kit.request(
        "GET", f"{C}/rooms/{room}/messages?dir=b&limit=50", bob.access_token).json()["chunk"]]
    assert "buy now" not in bodies
    topic = kit.request("GET", f"{C}/rooms/{room}/state/m.room.topic", bob.access_token)
    assert topic.status_code == 404
    # Joining and leaving are not hidden (as on Synapse).
    assert kit.request("POST", f"{C}/rooms/{room}/leave", eve.access_token,
                       json={}).status_code == 200
    _join(kit, eve, room)
    joined = kit.request("GET", f"{C}/rooms/{room}/joined_members", bob.access_token).json()
    assert eve.user_id in joined["joined"]
    assert spam_room in kit.request("GET", f"{S}/v1/users/{_q(eve.user_id)}/joined_rooms",
                                    admin.access_token).json()["joined_rooms"]

    r = kit.request("DELETE", f"{S}/v1/users/{_q(eve.user_id)}/shadow_ban", admin.access_token)
    assert r.status_code == 200 and r.json() == {}
    real = send_event(kit, eve, room, {"msgtype": "m.text", "body": "sorry"})
    assert kit.request("GET", f"{C}/rooms/{room}/event/{_q(real)}",
                       bob.access_token).status_code == 200
    assert len(_audit(kit, admin, "users.unshadow_ban", eve.user_id)) == 1

    assert_error(kit.request("POST", f"{S}/v1/users/{_q(REMOTE)}/shadow_ban",
                             admin.access_token, json={}), 400, "M_UNKNOWN")
    assert_error(kit.request("DELETE", f"{S}/v1/users/{_q(REMOTE)}/shadow_ban",
                             admin.access_token), 400, "M_UNKNOWN")
    # An unknown local user is Synapse 1.163's failed row update: 404 M_UNKNOWN.
    for method in ("POST", "DELETE"):
        assert_error(kit.request(method, f"{S}/v1/users/{_q(_ghost())}/shadow_ban",
                                 admin.access_token, json={}), 404, "M_UNKNOWN")


def test_devices(kit: Kit) -> None:
    admin, alice = kit.make_admin(), kit.register_user()
    base = f"{S}/v2/users/{_q(alice.user_id)}"
    r = kit.request("GET", f"{base}/devices", admin.access_token)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1 and [d["device_id"] for d in body["devices"]] == [alice.device_id]
    assert set(body["devices"][0]) == {"device_id", "display_name", "last_seen_ip",
                                       "last_seen_user_agent", "last_seen_ts", "user_id"}

    r = kit.request("POST", f"{base}/devices", admin.access_token, json={"device_id": "ADMINDEV"})
    assert r.status_code == 201 and r.json() == {}, r.text
    r = kit.request("GET", f"{base}/devices/ADMINDEV", admin.access_token)
    assert r.status_code == 200, r.text
    assert r.json()["device_id"] == "ADMINDEV" and r.json()["user_id"] == alice.user_id
    assert r.json()["display_name"] is None
    r = kit.request("PUT", f"{base}/devices/ADMINDEV", admin.access_token,
                    json={"display_name": "Named by admin"})
    assert r.status_code == 200 and r.json() == {}
    r = kit.request("PUT", f"/_glia/admin/v2/users/{_q(alice.user_id)}/devices/ADMINDEV",
                    admin.access_token)  # an empty body changes nothing
    assert r.status_code == 200
    assert kit.request("GET", f"{base}/devices/ADMINDEV",
                       admin.access_token).json()["display_name"] == "Named by admin"
    # The created device can be logged in to.
    kit.login(alice.user_id, device_id="ADMINDEV")
    assert kit.request("GET", f"{base}/devices", admin.access_token).json()["total"] == 2

    # Deleting a device ends its sessions.
    phone = kit.login(alice.user_id)
    r = kit.request("DELETE", f"{base}/devices/{phone.device_id}", admin.access_token)
    assert r.status_code == 200 and r.json() == {}
    assert_error(kit.request("GET", f"{C}/account/whoami", phone.access_token), 401,
                 "M_UNKNOWN_TOKEN")
    r = kit.request("DELETE", f"{base}/devices/NOSUCHDEVICE", admin.access_token)
    assert r.status_code == 200 and r.json() == {}
    r = kit.request("POST", f"{base}/delete_devices", admin.access_token,
                    json={"devices": ["ADMINDEV", "NOSUCHDEVICE"]})
    assert r.status_code == 200 and r.json() == {}
    devices = kit.request("GET", f"{base}/devices", admin.access_token).json()["devices"]
    assert [d["device_id"] for d in devices] == [alice.device_id]
    for action in ("devices.create", "devices.rename", "devices.delete", "devices.delete_many"):
        assert _audit(kit, admin, action, alice.user_id), action

    assert_error(kit.request("GET", f"{base}/devices/NOSUCHDEVICE", admin.access_token), 404,
                 "M_NOT_FOUND")
    assert_error(kit.request("PUT", f"{base}/devices/NOSUCHDEVICE", admin.access_token,
                             json={"display_name": "x"}), 404, "M_NOT_FOUND")
    assert_error(kit.request("PUT", f"{base}/devices/{alice.device_id}", admin.access_token,
                             json={"display_name": 5}), 400, "M_BAD_JSON")
    assert_error(kit.request("POST", f"{base}/devices", admin.access_token), 400, "M_NOT_JSON")
    assert_error(kit.request("POST", f"{base}/devices", admin.access_token, json={}), 400,
                 "M_UNKNOWN")
    assert_error(kit.request("POST", f"{base}/devices", admin.access_token,
                             json={"device_id": 7}), 400, "M_UNKNOWN")
    assert_error(kit.request("POST", f"{base}/delete_devices", admin.access_token), 400,
                 "M_NOT_JSON")
    assert_error(kit.request("POST", f"{base}/delete_devices", admin.access_token, json={}),
                 400, "M_MISSING_PARAM")
    assert_error(kit.request("POST", f"{base}/delete_devices", admin.access_token,
                             json={"devices": "ADMINDEV"}), 400, "M_BAD_JSON")
    for user_id, status, errcode in ((REMOTE, 400, "M_UNKNOWN"), (_ghost(), 404, "M_NOT_FOUND"),
                                     ("bad", 400, "M_INVALID_PARAM")):
        other = f"{S}/v2/users/{_q(user_id)}"
        assert_error(kit.request("GET", f"{other}/devices", admin.access_token), status, errcode)
        assert_error(kit.request("POST", f"{other}/devices", admin.access_token,
                                 json={"device_id": "X"}), status, errcode)
        assert_error(kit.request("GET", f"{other}/devices/X", admin.access_token), status,
                     errcode)
        assert_error(kit.request("PUT", f"{other}/devices/X", admin.access_token, json={}),
                     status, errcode)
        assert_error(kit.request("DELETE", f"{other}/devices/X", admin.access_token), status,
                     errcode)
        assert_error(kit.request("POST", f"{other}/delete_devices", admin.access_token,
                                 json={"devices": []}), status, errcode)


def test_login_as_user_until(clock_kit: Kit) -> None:
    """valid_until_ms: the token stops working then (soft logout)."""
    kit = clock_kit
    admin, alice = kit.make_admin(), kit.register_user()
    soon = kit.server_now() + 1500
    r = kit.request("POST", f"{S}/v1/users/{_q(alice.user_id)}/login", admin.access_token,
                    json={"valid_until_ms": soon})
    assert r.status_code == 200, r.text
    short = r.json()["access_token"]
    assert kit.request("GET", f"{C}/account/whoami", short).status_code == 200
    kit.advance_clock(1000)
    assert kit.request("GET", f"{C}/account/whoami", short).status_code == 200
    kit.advance_clock(700)
    body = assert_error(kit.request("GET", f"{C}/account/whoami", short), 401, "M_UNKNOWN_TOKEN")
    assert body["soft_logout"] is True


def test_login_as_user(kit: Kit) -> None:
    admin, alice, bob = kit.make_admin(), kit.register_user(), kit.register_user()
    room = create_room(kit, bob, preset="public_chat")
    _join(kit, alice, room)
    path = f"{S}/v1/users/{_q(alice.user_id)}/login"

    r = kit.request("POST", path, admin.access_token)
    assert r.status_code == 200, r.text
    puppet = r.json()["access_token"]
    assert set(r.json()) == {"access_token"}
    assert kit.request("GET", f"{C}/account/whoami", puppet).json()["user_id"] == alice.user_id
    # It acts as the user, but the user sees no new device and no trace in whois.
    event_id = send_event(kit, User(alice.user_id, puppet, "", ""), room)
    assert _event(kit, admin, event_id)["sender"] == alice.user_id
    devices = kit.request("GET", f"{S}/v2/users/{_q(alice.user_id)}/devices",
                          admin.access_token).json()["devices"]
    assert [d["device_id"] for d in devices] == [alice.device_id]
    # The user logging out everywhere does not end it; logging out with it does.
    assert kit.request("POST", f"{C}/logout/all", alice.access_token,
                       json={}).status_code == 200
    assert kit.request("GET", f"{C}/account/whoami", puppet).status_code == 200
    assert kit.request("POST", f"{C}/logout", puppet, json={}).status_code == 200
    assert_error(kit.request("GET", f"{C}/account/whoami", puppet), 401, "M_UNKNOWN_TOKEN")

    # The admin's own "log out everywhere" ends the tokens they hold.
    other_admin = kit.make_admin()
    held = kit.request("POST", path, other_admin.access_token, json={"valid_until_ms": None})
    held_token = held.json()["access_token"]
    assert kit.request("POST", f"{C}/logout/all", other_admin.access_token,
                       json={}).status_code == 200
    assert_error(kit.request("GET", f"{C}/account/whoami", held_token), 401, "M_UNKNOWN_TOKEN")

    entries = _audit(kit, admin, "users.login_as", alice.user_id)
    assert len(entries) == 2 and all(e["outcome"] == "ok" for e in entries)
    assert "access_token" not in str(entries)

    assert_error(kit.request("POST", f"{S}/v1/users/{_q(admin.user_id)}/login",
                             admin.access_token), 400, "M_UNKNOWN")
    assert_error(kit.request("POST", f"{S}/v1/users/{_q(REMOTE)}/login", admin.access_token),
                 400, "M_UNKNOWN")
    assert_error(kit.request("POST", f"{S}/v1/users/{_q(_ghost())}/login", admin.access_token),
                 404, "M_NOT_FOUND")
    assert_error(kit.request("POST", path, admin.access_token, json={"valid_until_ms": "x"}),
                 400, "M_UNKNOWN")
    assert_error(kit.request("POST", path, admin.access_token, json=[1]), 400, "M_BAD_JSON")


def test_username_available(kit: Kit) -> None:
    admin, alice = kit.make_admin(), kit.register_user()
    url = f"{S}/v1/username_available"
    r = kit.request("GET", f"{url}?username={unique('free')}", admin.access_token)
    assert r.status_code == 200 and r.json() == {"available": True}
    taken = alice.user_id[1:].split(":")[0]
    assert_error(kit.request("GET", f"{url}?username={taken}", admin.access_token), 400,
                 "M_USER_IN_USE")
    for bad in ("Upper", "_hidden", "12345", "sp%20ace"):
        assert_error(kit.request("GET", f"{url}?username={bad}", admin.access_token), 400,
                     "M_INVALID_USERNAME")
    assert_error(kit.request("GET", url, admin.access_token), 400, "M_MISSING_PARAM")


def test_threepid_and_external_id_lookups(kit: Kit) -> None:
    admin = kit.make_admin()
    user_id = f"@{unique('sso')}:localhost"
    email = f"{unique()}@example.org"
    external = f"https://idp.example/{unique()}"
    r = kit.request("PUT", f"{S}/v2/users/{_q(user_id)}", admin.access_token, json={
        "threepids": [{"medium": "email", "address": email}],
        "external_ids": [{"auth_provider": "oidc-test", "external_id": external}]})
    assert r.status_code == 201, r.text

    r = kit.request("GET", f"{S}/v1/threepid/email/users/{_q(email)}", admin.access_token)
    assert r.status_code == 200 and r.json() == {"user_id": user_id}, r.text
    r = kit.request("GET", f"{S}/v1/auth_providers/oidc-test/users/{_q(external)}",
                    admin.access_token)
    assert r.status_code == 200 and r.json() == {"user_id": user_id}, r.text
    assert_error(kit.request("GET", f"{S}/v1/threepid/msisdn/users/{_q(email)}",
                             admin.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{S}/v1/threepid/email/users/nobody%40example.org",
                             admin.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{S}/v1/auth_providers/other/users/{_q(external)}",
                             admin.access_token), 404, "M_NOT_FOUND")


def test_account_data(kit: Kit) -> None:
    admin, alice = kit.make_admin(), kit.register_user()
    room = create_room(kit, alice)
    me = _q(alice.user_id)
    assert kit.request("PUT", f"{C}/user/{me}/account_data/org.example.settings",
                       alice.access_token, json={"theme": "dark"}).status_code == 200
    assert kit.request("PUT", f"{C}/user/{me}/rooms/{room}/account_data/org.example.pin",
                       alice.access_token, json={"pinned": True}).status_code == 200

    r = kit.request("GET", f"{S}/v1/users/{me}/accountdata", admin.access_token)
    assert r.status_code == 200, r.text
    data = r.json()["account_data"]
    assert data["global"]["org.example.settings"] == {"theme": "dark"}
    assert data["rooms"] == {room: {"org.example.pin": {"pinned": True}}}
    assert_error(kit.request("GET", f"{S}/v1/users/{_q(REMOTE)}/accountdata",
                             admin.access_token), 400, "M_UNKNOWN")
    assert_error(kit.request("GET", f"{S}/v1/users/{_q(_ghost())}/accountdata",
                             admin.access_token), 404, "M_NOT_FOUND")


def test_redact_user_events(kit: Kit) -> None:
    admin, spammer, mod = kit.make_admin(), kit.register_user(), kit.register_user()
    rooms = [create_room(kit, mod, preset="public_chat") for _ in range(3)]
    for room_id in rooms:
        _join(kit, spammer, room_id)
    spam = {room_id: [send_event(kit, spammer, room_id, {"msgtype": "m.text", "body": "spam"})
                      for _ in range(2)] for room_id in rooms}
    kept = send_event(kit, spammer, rooms[0], {"x": 1}, event_type="org.example.custom")
    mods_message = send_event(kit, mod, rooms[0])
    # Banned from one room (the usual moderation order: ban, then clean up), left another.
    assert kit.request("POST", f"{C}/rooms/{rooms[1]}/ban", mod.access_token,
                       json={"user_id": spammer.user_id}).status_code == 200
    assert kit.request("POST", f"{C}/rooms/{rooms[2]}/leave", spammer.access_token,
                       json={}).status_code == 200
    # The job redacts even while the user is shadow-banned (their own sends are faked).
    assert kit.request("POST", f"{S}/v1/users/{_q(spammer.user_id)}/shadow_ban",
                       admin.access_token, json={}).status_code == 200

    r = kit.request("POST", f"{S}/v1/user/{_q(spammer.user_id)}/redact", admin.access_token,
                    json={"rooms": [], "reason": "spam"})
    assert r.status_code == 200, r.text
    redact_id = r.json()["redact_id"]
    job = wait_for_job(kit, admin, redact_id)
    assert job["status"] == "complete", job
    r = kit.request("GET", f"{S}/v1/user/redact_status/{redact_id}", admin.access_token)
    assert r.json() == {"status": "complete", "failed_redactions": {}}

    for event_id in spam[rooms[0]]:  # still joined: redacted as themselves
        event = _event(kit, admin, event_id)
        assert event["content"]["body"] == "spam"  # the evidence, for admins
        because = event["unsigned"]["redacted_because"]
        assert because["sender"] == spammer.user_id
        assert because["content"]["reason"] == "spam"
    for event_id in spam[rooms[1]]:  # banned: redacted by the room's moderator
        event = _event(kit, admin, event_id)
        assert event["unsigned"]["redacted_because"]["sender"] == mod.user_id
    for event_id in spam[rooms[2]]:  # left: not among "the rooms they are in"
        assert not _redacted(kit, admin, event_id)
    assert not _redacted(kit, admin, kept)
    assert not _redacted(kit, admin, mods_message)
    member = kit.request("GET", f"{C}/rooms/{rooms[0]}/state/m.room.member/"
                         f"{_q(spammer.user_id)}?format=event", mod.access_token).json()
    assert "redacted_because" in member.get("unsigned", {})
    assert len(_audit(kit, admin, "users.redact_events", spammer.user_id)) == 1

    # Named rooms, a limit (newest first), and use_admin with an admin who may not redact.
    r = kit.request("POST", f"/_glia/admin/v1/user/{_q(spammer.user_id)}/redact",
                    admin.access_token, json={"rooms": [rooms[2]], "limit": 1})
    assert wait_for_job(kit, admin, r.json()["redact_id"])["status"] == "complete"
    assert _redacted(kit, admin, spam[rooms[2]][1])
    assert not _redacted(kit, admin, spam[rooms[2]][0])
    _join(kit, admin, rooms[2])
    r = kit.request("POST", f"{S}/v1/user/{_q(spammer.user_id)}/redact", admin.access_token,
                    json={"rooms": [rooms[2]], "use_admin": True})
    assert wait_for_job(kit, admin, r.json()["redact_id"])["status"] == "complete"
    event = _event(kit, admin, spam[rooms[2]][0])
    assert event["unsigned"]["redacted_because"]["sender"] == mod.user_id

    # Remote users are accepted (nothing of theirs here).
    r = kit.request("POST", f"{S}/v1/user/{_q(REMOTE)}/redact", admin.access_token,
                    json={"rooms": []})
    assert r.status_code == 200, r.text
    assert wait_for_job(kit, admin, r.json()["redact_id"])["status"] == "complete"

    path = f"{S}/v1/user/{_q(spammer.user_id)}/redact"
    assert_error(kit.request("POST", path, admin.access_token), 400, "M_NOT_JSON")
    assert_error(kit.request("POST", path, admin.access_token, json={}), 400, "M_MISSING_PARAM")
    for bad in ({"rooms": "all"}, {"rooms": [1]}, {"rooms": [], "limit": "5"},
                {"rooms": [], "reason": 5}, {"rooms": [], "use_admin": "yes"},
                {"rooms": [], "before_ts": True}):
        assert_error(kit.request("POST", path, admin.access_token, json=bad), 400, "M_BAD_JSON")
    assert_error(kit.request("POST", path, admin.access_token,
                             json={"rooms": [], "limit": -3}), 400, "M_UNKNOWN")
    # As Synapse 1.163, a limit of 0 is no limit given: the default of 1000.
    r = kit.request("POST", path, admin.access_token, json={"rooms": [rooms[1]], "limit": 0})
    assert r.status_code == 200, r.text
    assert wait_for_job(kit, admin, r.json()["redact_id"])["params"]["limit"] == 1000
    assert_error(kit.request("POST", path, admin.access_token, json={"rooms": ["not-a-room"]}),
                 400, "M_INVALID_PARAM")
    assert_error(kit.request("POST", f"{S}/v1/user/{_q(_ghost())}/redact", admin.access_token,
                             json={"rooms": []}), 404, "M_NOT_FOUND")
    assert_error(kit.request("POST", f"{S}/v1/user/nobody/redact", admin.access_token,
                             json={"rooms": []}), 400, "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{S}/v1/user/redact_status/{unique()}", admin.access_token),
                 404, "M_NOT_FOUND")
