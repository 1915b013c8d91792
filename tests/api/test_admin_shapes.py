"""Synapse 1.163's answers for the admin API's edges that tools probe: unknown sub-paths,
the lower-case ``bearer`` scheme, rooms looked up without parsing their ID."""

from __future__ import annotations

from urllib.parse import quote

from tests.kit import Kit, assert_error, create_room, send_event, unique, wait_for_job

S = "/_synapse/admin"


def _q(value: str) -> str:
    return quote(value, safe="")


def test_unknown_admin_sub_paths_are_unrecognized(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    room = create_room(kit, user)
    for path in (f"{S}/v2/users/", f"{S}/v1/rooms/{room}/", f"{S}/v1/rooms/",
                 f"{S}/v2/users/{_q(user.user_id)}/", f"{S}/v1/server_version/",
                 "/_dendrite/admin/purgeRoom/x/", f"/_glia/admin/v1/rooms/{room}/",
                 f"{S}/v2/users/{_q(user.user_id)}/extra", f"{S}/v1/rooms/{room}/state/x"):
        assert_error(kit.request("GET", path, admin.access_token), 404, "M_UNRECOGNIZED")
    # The same paths without the slash are served.
    assert kit.request("GET", f"{S}/v1/rooms/{room}", admin.access_token).status_code == 200


def test_lower_case_bearer_scheme(kit: Kit) -> None:
    admin = kit.make_admin()
    r = kit.http.get(f"{S}/v2/users?limit=1",
                     headers={"Authorization": f"bearer {admin.access_token}"})
    assert r.status_code == 200, r.text


def test_room_details_members_state_of_anything_unknown_are_404(kit: Kit) -> None:
    admin = kit.make_admin()
    for room in ("!nope:localhost", "not-a-room", "@user:localhost"):
        for tail in ("", "/members", "/state"):
            assert_error(kit.request("GET", f"{S}/v1/rooms/{_q(room)}{tail}",
                                     admin.access_token), 404, "M_NOT_FOUND")


def test_user_list_hides_the_server_notices_sender(kit: Kit) -> None:
    """Synapse's notices sender has no account row, so tools never list (nor bulk-
    deactivate) it; Glia's has one, and the list leaves it out."""
    admin, user = kit.make_admin(), kit.register_user()
    r = kit.request("POST", f"{S}/v1/send_server_notice", admin.access_token,
                    json={"user_id": user.user_id,
                          "content": {"msgtype": "m.text", "body": "hi"}})
    assert r.status_code == 200, r.text
    sender = "@server:localhost"
    r = kit.request("GET", f"{S}/v2/users/{_q(sender)}", admin.access_token)
    assert r.status_code == 200, r.text  # the account exists...
    for version in ("v2", "v3"):
        r = kit.request("GET", f"{S}/{version}/users?limit=1000&user_id=server",
                        admin.access_token)
        assert r.status_code == 200, r.text
        assert sender not in [u["name"] for u in r.json()["users"]]  # ...but is not listed
        assert r.json()["total"] == len(r.json()["users"])
    r = kit.request("GET", f"{S}/v2/users?limit=1000", admin.access_token)
    names = [u["name"] for u in r.json()["users"]]
    assert sender not in names and user.user_id in names
    assert all("approved" not in u for u in r.json()["users"])
    r = kit.request("GET", f"{S}/v2/users/{_q(user.user_id)}", admin.access_token)
    assert "approved" not in r.json()


def test_scheduled_tasks_in_synapse_terms(kit: Kit) -> None:
    """Synapse's action names and result shapes, and its filters: ``action_name``,
    ``resource_id``, ``status``/``job_status``, ``max_timestamp`` (inclusive); oldest
    first."""
    admin, user = kit.make_admin(), kit.register_user()
    room, doomed = create_room(kit, user), create_room(kit, user)
    send_event(kit, user, room)
    r = kit.request("POST", f"{S}/v1/user/{_q(user.user_id)}/redact", admin.access_token,
                    json={"rooms": [room]})
    redact_id = r.json()["redact_id"]
    wait_for_job(kit, admin, redact_id)
    r = kit.request("POST", f"{S}/v1/purge_history/{room}", admin.access_token,
                    json={"purge_up_to_ts": kit.server_now(), "delete_local_events": True})
    purge_id = r.json()["purge_id"]
    wait_for_job(kit, admin, purge_id)
    r = kit.request("DELETE", f"{S}/v2/rooms/{doomed}", admin.access_token, json={})
    delete_id = r.json()["delete_id"]
    wait_for_job(kit, admin, delete_id)

    def tasks(query: str) -> list[dict]:
        r = kit.request("GET", f"{S}/v1/scheduled_tasks?{query}", admin.access_token)
        assert r.status_code == 200, r.text
        return list(r.json()["scheduled_tasks"])

    [redact] = tasks(f"action_name=redact_all_events&resource_id={_q(user.user_id)}")
    assert redact["id"] == redact_id and redact["status"] == "complete"
    assert redact["result"] == {"failed_redactions": {}} and redact["error"] is None
    [purge] = tasks(f"action_name=purge_history&resource_id={_q(room)}")
    assert purge["id"] == purge_id and purge["result"] is None
    [shutdown] = tasks(f"action_name=shutdown_and_purge_room&resource_id={_q(doomed)}")
    assert shutdown["id"] == delete_id
    assert shutdown["result"] == {"kicked_users": [user.user_id], "failed_to_kick_users": [],
                                  "local_aliases": [], "new_room_id": None}
    assert tasks("action_name=redact_user_events&resource_id=" + _q(user.user_id)) == []

    every = tasks("job_status=complete")
    assert {redact_id, purge_id, delete_id} <= {t["id"] for t in every}
    stamps = [t["timestamp_ms"] for t in every]
    assert stamps == sorted(stamps)
    assert tasks(f"status=complete&max_timestamp={redact['timestamp_ms']}&resource_id="
                 f"{_q(user.user_id)}") == [redact]
    assert tasks(f"max_timestamp={redact['timestamp_ms'] - 1}&resource_id="
                 f"{_q(user.user_id)}") == []
    for bad in ("status=bogus", "job_status=done", "max_timestamp=-1", "max_timestamp=x"):
        assert_error(kit.request("GET", f"{S}/v1/scheduled_tasks?{bad}", admin.access_token),
                     400, "M_INVALID_PARAM")


def _is_legacy(event: dict) -> bool:
    """Synapse's legacy client format: the sender as ``user_id``, ``age``,
    ``replaces_state`` and ``prev_content`` copied up from ``unsigned``."""
    unsigned = event.get("unsigned", {})
    return event.get("user_id") == event["sender"] and all(
        event.get(key) == unsigned[key]
        for key in ("age", "replaces_state", "prev_content") if key in unsigned) and \
        "age" in event


def test_admin_room_reads_answer_the_legacy_client_format(kit: Kit) -> None:
    admin, owner = kit.make_admin(), kit.register_user()
    room = create_room(kit, owner, name="one")
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/state/m.room.name",
                    owner.access_token, json={"name": "two"})
    renamed = r.json()["event_id"]
    message = send_event(kit, owner, room)

    r = kit.request("GET", f"{S}/v1/rooms/{room}/messages?dir=b&limit=50", admin.access_token)
    chunk = r.json()["chunk"]
    assert chunk and all(_is_legacy(e) for e in chunk), chunk
    [rename] = [e for e in chunk if e["event_id"] == renamed]
    assert rename["prev_content"] == {"name": "one"} and rename["replaces_state"].startswith("$")

    r = kit.request("GET", f"{S}/v1/rooms/{room}/context/{message}", admin.access_token)
    body = r.json()
    assert _is_legacy(body["event"])
    assert all(_is_legacy(e) for part in ("events_before", "events_after", "state")
               for e in body[part])

    r = kit.request("GET", f"{S}/v1/rooms/{room}/state", admin.access_token)
    state = r.json()["state"]
    assert all(_is_legacy(e) for e in state)
    [name] = [e for e in state if e["type"] == "m.room.name"]
    assert name["prev_content"] == {"name": "one"}

    # The client API keeps the spec's format.
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room}/messages?dir=b",
                    owner.access_token)
    assert all("user_id" not in e and "age" not in e for e in r.json()["chunk"])


def test_shadow_ban_covers_typing_and_profile_propagation(kit: Kit) -> None:
    """As Synapse: a shadow-banned user's typing and profile changes answer as usual, but
    nobody in their rooms sees them (their own profile does change)."""
    C = "/_matrix/client/v3"
    admin, eve, bob, carol = (kit.make_admin(), kit.register_user(), kit.register_user(),
                              kit.register_user())
    room, elsewhere = create_room(kit, bob, preset="public_chat"), create_room(kit, bob)
    for user in (eve, carol):
        assert kit.request("POST", f"{C}/join/{room}", user.access_token,
                           json={}).status_code == 200
    assert kit.request("POST", f"{S}/v1/users/{_q(eve.user_id)}/shadow_ban",
                       admin.access_token, json={}).status_code == 200

    for user, target in ((eve, room), (carol, room), (eve, elsewhere)):
        r = kit.request("PUT", f"{C}/rooms/{target}/typing/{_q(user.user_id)}",
                        user.access_token, json={"typing": True, "timeout": 30000})
        assert r.status_code == 200 and r.json() == {}, r.text
    sync = kit.request("GET", f"{C}/sync", bob.access_token).json()
    ephemeral = sync["rooms"]["join"][room]["ephemeral"]["events"]
    [typing] = [e for e in ephemeral if e["type"] == "m.typing"]
    assert typing["content"]["user_ids"] == [carol.user_id]

    r = kit.request("PUT", f"{C}/profile/{_q(eve.user_id)}/displayname", eve.access_token,
                    json={"displayname": "Buy Now"})
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{C}/profile/{_q(eve.user_id)}/displayname", eve.access_token)
    assert r.json() == {"displayname": "Buy Now"}
    r = kit.request("GET", f"{C}/rooms/{room}/state/m.room.member/{_q(eve.user_id)}",
                    bob.access_token)
    assert r.json().get("displayname") != "Buy Now"


def test_dendrite_reset_password_answers_dendrites_errors(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    path = f"/_dendrite/admin/resetPassword/{_q(user.user_id)}"
    cases = [
        (None, 400, "M_UNKNOWN"),                                   # no body
        ("not json", 400, "M_UNKNOWN"),
        ([], 400, "M_UNKNOWN"),
        ({"password": 12345678}, 400, "M_UNKNOWN"),
        ({"password": "long enough", "logout_devices": "yes"}, 400, "M_UNKNOWN"),
        ({}, 400, "M_MISSING_PARAM"),
        ({"password": ""}, 400, "M_MISSING_PARAM"),
        ({"password": "short"}, 400, "M_WEAK_PASSWORD"),
        ({"password": "x" * 513}, 400, "M_BAD_JSON"),
    ]
    for body, status, errcode in cases:
        if isinstance(body, str):
            r = kit.request("POST", path, admin.access_token, content=body)
        else:
            r = kit.request("POST", path, admin.access_token, json=body)
        assert_error(r, status, errcode)
    good = {"password": "long enough"}
    for target, status, errcode in (
            ("@" + "nobody" + user.user_id[2:], 404, "M_UNKNOWN"),
            ("@someone:elsewhere.example", 400, "M_INVALID_PARAM"),
            ("not-a-user", 400, "M_INVALID_PARAM")):
        assert_error(kit.request("POST", f"/_dendrite/admin/resetPassword/{_q(target)}",
                                 admin.access_token, json=good), status, errcode)
    r = kit.request("POST", path, admin.access_token, json=good)
    assert r.status_code == 200 and r.json() == {"password_updated": True}


def test_bad_input_families_as_synapse(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    room = create_room(kit, user)
    # Creating an account whose localpart Synapse's registration refuses.
    for localpart in ("a b", "é", ""):
        assert_error(kit.request("PUT", f"{S}/v2/users/{_q('@' + localpart + ':localhost')}",
                                 admin.access_token, json={}), 400, "M_INVALID_USERNAME")
    # ...but a malformed or remote ID stays what it was.
    assert_error(kit.request("PUT", f"{S}/v2/users/nobody", admin.access_token, json={}),
                 400, "M_INVALID_PARAM")
    assert_error(kit.request("PUT", f"{S}/v2/users/{_q('@a b:elsewhere.example')}",
                             admin.access_token, json={}), 400, "M_INVALID_PARAM")
    for body, errcode in (({"password": "long enough", "logout_devices": "no"}, "M_UNKNOWN"),
                          ({"threepids": [{"medium": "email"}]}, "M_MISSING_PARAM")):
        assert_error(kit.request("PUT", f"{S}/v2/users/{_q(user.user_id)}",
                                 admin.access_token, json=body), 400, errcode)
    # Non-boolean flags and non-list bodies.
    assert_error(kit.request("POST", f"{S}/v1/purge_history/{room}", admin.access_token,
                             json={"purge_up_to_ts": 1, "delete_local_events": "yes"}),
                 400, "M_BAD_JSON")
    assert_error(kit.request("POST", f"{S}/v2/users/{_q(user.user_id)}/delete_devices",
                             admin.access_token, json={"devices": "abc"}), 400, "M_BAD_JSON")
    # Device PUT: Synapse's too-long name.
    assert_error(kit.request("PUT", f"{S}/v2/users/{_q(user.user_id)}/devices/"
                             f"{user.device_id}", admin.access_token,
                             json={"display_name": "x" * 101}), 400, "M_TOO_LARGE")
    # Room identifiers resolved as Synapse: malformed → 400 M_UNKNOWN.
    for method, tail in (("GET", "forward_extremities"), ("DELETE", "forward_extremities"),
                         ("POST", "make_room_admin")):
        assert_error(kit.request(method, f"{S}/v1/rooms/not-a-room/{tail}",
                                 admin.access_token, json={}), 400, "M_UNKNOWN")
    assert_error(kit.request("POST", f"{S}/v1/join/not-a-room", admin.access_token,
                             json={"user_id": user.user_id}), 400, "M_UNKNOWN")
    # make_room_admin of a room the server is not in: Synapse's "Server not in room".
    assert_error(kit.request("POST", f"{S}/v1/rooms/{_q('!nope:localhost')}/make_room_admin",
                             admin.access_token, json={}), 400, "M_UNKNOWN")
    # Override ratelimit and server notices.
    assert_error(kit.request("POST", f"{S}/v1/users/{_q(user.user_id)}/override_ratelimit",
                             admin.access_token, json={"messages_per_second": -1}),
                 400, "M_INVALID_PARAM")
    for body, status, errcode in (({"user_id": user.user_id}, 400, "M_MISSING_PARAM"),
                                  ({"content": {}}, 400, "M_MISSING_PARAM"),
                                  ({"user_id": "bad", "content": {}}, 400, "M_INVALID_PARAM"),
                                  ({"user_id": "@nobody:localhost", "content": {}}, 404,
                                   "M_NOT_FOUND")):
        assert_error(kit.request("POST", f"{S}/v1/send_server_notice", admin.access_token,
                                 json=body), status, errcode)


def test_force_join_into_an_invite_only_room_the_admin_is_not_in(kit: Kit) -> None:
    """Synapse refuses (403): the admin must be able to invite; Glia does the same."""
    admin, owner, outsider = kit.make_admin(), kit.register_user(), kit.register_user()
    room = create_room(kit, owner, preset="private_chat")
    assert_error(kit.request("POST", f"{S}/v1/join/{room}", admin.access_token,
                             json={"user_id": outsider.user_id}), 403, "M_FORBIDDEN")
    r = kit.request("GET", f"{S}/v1/rooms/{room}/members", admin.access_token)
    assert outsider.user_id not in r.json()["members"]


def test_forward_extremities_state_group_is_an_integer(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    room = create_room(kit, user)
    r = kit.request("GET", f"{S}/v1/rooms/{room}/forward_extremities", admin.access_token)
    [extremity] = r.json()["results"]
    assert isinstance(extremity["state_group"], int)
    assert set(extremity) == {"event_id", "state_group", "depth", "received_ts"}


def test_memberships_drop_rooms_the_server_left(kit: Kit) -> None:
    """Synapse forgets a room's current state once no local user is in it, so a room
    everyone here left is in no one's ``memberships`` (nor ``joined_rooms``)."""
    C = "/_matrix/client/v3"
    admin, alice, bob = kit.make_admin(), kit.register_user(), kit.register_user()
    kept, abandoned = (create_room(kit, alice, preset="public_chat") for _ in range(2))
    for room in (kept, abandoned):
        assert kit.request("POST", f"{C}/join/{room}", bob.access_token,
                           json={}).status_code == 200
    for user, room in ((bob, kept), (bob, abandoned), (alice, abandoned)):
        assert kit.request("POST", f"{C}/rooms/{room}/leave", user.access_token,
                           json={}).status_code == 200
    r = kit.request("GET", f"{S}/v1/users/{_q(bob.user_id)}/memberships", admin.access_token)
    assert r.json() == {"memberships": {kept: "leave"}}
    r = kit.request("GET", f"{S}/v1/users/{_q(alice.user_id)}/memberships",
                    admin.access_token)
    assert r.json()["memberships"].get(kept) == "join" and abandoned not in \
        r.json()["memberships"]
    r = kit.request("GET", f"{S}/v1/users/{_q(bob.user_id)}/joined_rooms", admin.access_token)
    assert r.json() == {"joined_rooms": [], "total": 0}


def test_legacy_search_users(kit: Kit) -> None:
    admin = kit.make_admin()
    tag = unique("srch")
    users = sorted(kit.register_user(f"{tag}{i}").user_id for i in range(2))
    r = kit.request("GET", f"{S}/v1/search_users/{_q(admin.user_id)}?term={tag}",
                    admin.access_token)
    assert r.status_code == 200, r.text
    assert r.json() == [{"name": u, "password_hash": None, "is_guest": False, "admin": False,
                         "user_type": None} for u in users]
    assert kit.request("GET", f"{S}/v1/search_users/{_q(admin.user_id)}?term=zz{tag}",
                       admin.access_token).json() == []
    assert_error(kit.request("GET", f"{S}/v1/search_users/{_q(admin.user_id)}",
                             admin.access_token), 400, "M_MISSING_PARAM")
    assert_error(kit.request("GET", f"{S}/v1/search_users/{_q('@x:elsewhere.example')}"
                             f"?term={tag}", admin.access_token), 400, "M_UNKNOWN")
    assert_error(kit.request("GET", f"{S}/v1/search_users/nobody?term={tag}",
                             admin.access_token), 400, "M_INVALID_PARAM")
    user = kit.register_user()
    assert_error(kit.request("GET", f"{S}/v1/search_users/{_q(user.user_id)}?term={tag}",
                             user.access_token), 403, "M_FORBIDDEN")


def test_a_purged_events_report_keeps_its_sender(kit: Kit) -> None:
    """The event goes with the history purge; its report still names the sender."""
    import time

    C = "/_matrix/client/v3"
    admin, owner, reporter = kit.make_admin(), kit.register_user(), kit.register_user()
    room = create_room(kit, owner, preset="public_chat")
    assert kit.request("POST", f"{C}/join/{room}", reporter.access_token,
                       json={}).status_code == 200
    event_id = send_event(kit, owner, room)
    send_event(kit, owner, room)
    assert kit.request("POST", f"{C}/rooms/{room}/report/{_q(event_id)}",
                       reporter.access_token, json={"reason": "spam"}).status_code == 200
    cutoff = int(time.time() * 1000) + 1
    while time.time() * 1000 <= cutoff:  # event times are the system clock's
        time.sleep(0.001)
    r = kit.request("POST", f"{S}/v1/purge_history/{room}", admin.access_token,
                    json={"purge_up_to_ts": cutoff, "delete_local_events": True})
    assert wait_for_job(kit, admin, r.json()["purge_id"])["status"] == "complete"
    assert kit.request("GET", f"{S}/v1/fetch_event/{_q(event_id)}",
                       admin.access_token).status_code == 404
    [report] = kit.request("GET", f"{S}/v1/event_reports?room_id={_q(room)}",
                           admin.access_token).json()["event_reports"]
    assert report["sender"] == owner.user_id and report["event_id"] == event_id
    detail = kit.request("GET", f"/_glia/admin/v1/reports/{report['id']}",
                         admin.access_token).json()
    assert detail["sender"] == owner.user_id and detail["event_json"] is None


def test_unknown_rooms_and_bad_hierarchy_limits(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    room = create_room(kit, user)
    unknown = _q("!unknown:localhost")
    for path in (f"{S}/v1/rooms/{unknown}/messages", f"{S}/v1/rooms/{unknown}/context/"
                 f"{_q('$nope')}", f"{S}/v1/rooms/{unknown}/forward_extremities",
                 f"{S}/v2/rooms/{unknown}/delete_status"):
        assert_error(kit.request("GET", path, admin.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{S}/v1/rooms/{room}/hierarchy?limit=0",
                             admin.access_token), 400, "M_INVALID_PARAM")
    assert kit.request("GET", f"{S}/v1/rooms/{room}/hierarchy?limit=1",
                       admin.access_token).status_code == 200


def test_guest_access_is_null_without_the_event(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    public = create_room(kit, user, preset="public_chat")
    private = create_room(kit, user, preset="private_chat")
    for room, expected in ((public, None), (private, "can_join")):
        r = kit.request("GET", f"{S}/v1/rooms/{room}", admin.access_token)
        assert r.json()["guest_access"] == expected, r.text
        r = kit.request("GET", f"{S}/v1/rooms?search_term={_q(room)}", admin.access_token)
        [item] = r.json()["rooms"]
        assert item["guest_access"] == expected
    # Absent means forbidden: a guest may not join the public room.
    r = kit.http.post("/_matrix/client/v3/register?kind=guest", json={})
    if r.status_code == 200:
        guest = r.json()["access_token"]
        r = kit.request("POST", f"/_matrix/client/v3/join/{public}", guest, json={})
        assert r.status_code == 403, r.text


def test_room_state_as_synapse_stores_it(kit: Kit) -> None:
    """The creator's join carries their profile and the power levels are Synapse's
    defaults key for key (admin tools show and compare them as stored)."""
    admin, user = kit.make_admin(), kit.register_user()
    r = kit.request("PUT", f"/_matrix/client/v3/profile/{_q(user.user_id)}/avatar_url",
                    user.access_token, json={"avatar_url": "mxc://localhost/face"})
    assert r.status_code == 200, r.text
    for preset, invite in (("public_chat", 50), ("private_chat", 0)):
        room = create_room(kit, user, preset=preset)
        state = kit.request("GET", f"{S}/v1/rooms/{room}/state", admin.access_token).json()
        [member] = [e for e in state["state"] if e["type"] == "m.room.member"]
        assert member["content"] == {"membership": "join",
                                     "displayname": user.user_id[1:].split(":")[0],
                                     "avatar_url": "mxc://localhost/face"}
        [levels] = [e["content"] for e in state["state"] if e["type"] == "m.room.power_levels"]
        events = {"m.room.name": 50, "m.room.power_levels": 100,
                  "m.room.history_visibility": 100, "m.room.canonical_alias": 50,
                  "m.room.avatar": 50, "m.room.tombstone": 150, "m.room.server_acl": 100,
                  "m.room.encryption": 100}
        if preset == "public_chat":
            events["m.call.invite"] = 50
        assert levels == {"users": {}, "users_default": 0, "events": events,
                          "events_default": 0, "state_default": 50, "ban": 50, "kick": 50,
                          "redact": 50, "invite": invite, "historical": 100}
