"""Reporting content over real HTTP: the spec's event, room and user reports, Synapse's
``event_reports`` / ``user_reports`` admin APIs, Glia's list of every kind, and the audit
rows deleting a report leaves."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import Kit, User, assert_error, create_room, send_event, unique

C = "/_matrix/client/v3"
S = "/_synapse/admin/v1"
G = "/_glia/admin/v1"


def _q(value: str) -> str:
    return quote(value, safe="")


def _join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"{C}/rooms/{_q(room_id)}/join", user.access_token, json={})
    assert r.status_code == 200, r.text


def _report_event(kit: Kit, user: User, room_id: str, event_id: str,
                  body: Any) -> Any:
    return kit.request("POST", f"{C}/rooms/{_q(room_id)}/report/{_q(event_id)}",
                       user.access_token, json=body)


def _get(kit: Kit, admin: User, path: str) -> dict[str, Any]:
    r = kit.request("GET", path, admin.access_token)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _audit(kit: Kit, admin: User, action: str) -> list[dict[str, Any]]:
    return list(_get(kit, admin, f"{G}/audit_log?action={action}&actor={_q(admin.user_id)}")
                ["entries"])


@pytest.fixture
def room(kit: Kit) -> tuple[User, User, str, str]:
    """A named room with an alias: (owner, joined reporter, room ID, owner's message)."""
    owner, reporter = kit.register_user(), kit.register_user()
    room_id = create_room(kit, owner, preset="public_chat", name="Reported room",
                          room_alias_name=unique("alias"))
    _join(kit, reporter, room_id)
    return owner, reporter, room_id, send_event(kit, owner, room_id)


def test_event_report_round_trip(kit: Kit, room: tuple[User, User, str, str]) -> None:
    owner, reporter, room_id, event_id = room
    admin = kit.make_admin()
    r = _report_event(kit, reporter, room_id, event_id, {"reason": "spam", "score": -100})
    assert r.status_code == 200, r.text
    assert r.json() == {}

    body = _get(kit, admin, f"{S}/event_reports?room_id={_q(room_id)}")
    assert body["total"] == 1
    assert "next_token" not in body
    [item] = body["event_reports"]
    alias = _get(kit, owner, f"{C}/rooms/{_q(room_id)}/state/m.room.canonical_alias")["alias"]
    assert item == {
        "id": item["id"], "received_ts": item["received_ts"], "room_id": room_id,
        "name": "Reported room", "event_id": event_id, "user_id": reporter.user_id,
        "reason": "spam", "score": -100, "sender": owner.user_id, "canonical_alias": alias,
    }
    assert isinstance(item["id"], int) and item["received_ts"] > 10**12

    detail = _get(kit, admin, f"{S}/event_reports/{item['id']}")
    event_json = detail.pop("event_json")
    assert detail == item
    # Federation format: the stored PDU with its graph links, hashes and signatures.
    assert {"auth_events", "prev_events", "hashes", "signatures", "depth", "content",
            "sender", "room_id", "type", "origin_server_ts", "unsigned"} <= set(event_json)
    assert event_json["content"]["body"] == "hello"
    assert isinstance(event_json["unsigned"], dict)

    # Glia's own mount of the Synapse path answers the same.
    assert _get(kit, admin, f"{G}/event_reports/{item['id']}")["event_id"] == event_id

    r = kit.request("DELETE", f"{S}/event_reports/{item['id']}", admin.access_token)
    assert r.status_code == 200, r.text
    assert r.json() == {}
    assert_error(kit.request("GET", f"{S}/event_reports/{item['id']}", admin.access_token),
                 404, "M_NOT_FOUND")
    body = assert_error(kit.request("DELETE", f"{S}/event_reports/{item['id']}",
                                    admin.access_token), 404, "M_NOT_FOUND")
    assert body["error"] == "Event report not found"
    assert _get(kit, admin, f"{S}/event_reports?room_id={_q(room_id)}")["total"] == 0

    entries = _audit(kit, admin, "event_reports.delete")
    assert [(e["target"], e["outcome"]) for e in entries] == [
        (str(item["id"]), "M_NOT_FOUND"), (str(item["id"]), "ok")]
    assert entries[0]["status"] == 404


def test_event_report_optional_fields(kit: Kit, room: tuple[User, User, str, str]) -> None:
    _, reporter, room_id, event_id = room
    admin = kit.make_admin()
    assert _report_event(kit, reporter, room_id, event_id, {}).status_code == 200
    assert _report_event(kit, reporter, room_id, event_id,
                         {"reason": "", "score": 0, "extra": True}).status_code == 200
    items = _get(kit, admin, f"{S}/event_reports?room_id={_q(room_id)}&dir=f")["event_reports"]
    assert [(i["reason"], i["score"]) for i in items] == [(None, None), ("", 0)]


def test_event_report_body_validation(kit: Kit, room: tuple[User, User, str, str]) -> None:
    _, reporter, room_id, event_id = room
    for body, status, errcode in [
        ({"reason": 5}, 400, "M_BAD_JSON"),
        ({"reason": None}, 400, "M_BAD_JSON"),
        ({"reason": ["x"]}, 400, "M_BAD_JSON"),
        ({"score": "-5"}, 400, "M_BAD_JSON"),
        ({"score": True}, 400, "M_BAD_JSON"),
        ({"score": -1.5}, 400, "M_BAD_JSON"),
        ({"score": None}, 400, "M_BAD_JSON"),
        ({"score": 1}, 400, "M_INVALID_PARAM"),
        ({"score": -101}, 400, "M_INVALID_PARAM"),
        ({"score": -10**30}, 400, "M_INVALID_PARAM"),
        ({"reason": "nul\u0000byte"}, 400, "M_INVALID_PARAM"),
        ([], 400, "M_BAD_JSON"),
    ]:
        assert_error(_report_event(kit, reporter, room_id, event_id, body), status, errcode)
    r = kit.request("POST", f"{C}/rooms/{_q(room_id)}/report/{_q(event_id)}",
                    reporter.access_token, content=b"")
    assert_error(r, 400, "M_NOT_JSON")
    r = kit.request("POST", f"{C}/rooms/{_q(room_id)}/report/{_q(event_id)}",
                    reporter.access_token, content=b"{nope")
    assert_error(r, 400, "M_NOT_JSON")
    # Bad bodies are refused before the event is looked up.
    assert_error(_report_event(kit, reporter, room_id, "$unknown", {"score": 3}), 400,
                 "M_INVALID_PARAM")


def test_event_report_needs_a_joined_member_who_can_see_it(
        kit: Kit, room: tuple[User, User, str, str]) -> None:
    owner, reporter, room_id, event_id = room
    admin = kit.make_admin()
    stranger = kit.register_user()
    message = "Unable to report event: it does not exist or you aren't able to see it."
    body = assert_error(_report_event(kit, stranger, room_id, event_id, {}), 404,
                        "M_NOT_FOUND")
    assert body["error"] == message
    for bad_room, bad_event in [(room_id, "$doesnotexist"), (room_id, "not-an-event"),
                                ("!nope:localhost", event_id), ("garbage", event_id)]:
        assert_error(_report_event(kit, reporter, bad_room, bad_event, {}), 404,
                     "M_NOT_FOUND")
    # The event exists, but in another room.
    other_room = create_room(kit, reporter)
    assert_error(_report_event(kit, reporter, other_room, event_id, {}), 404, "M_NOT_FOUND")

    # A member who left can no longer report (spec 1.8: currently joined).
    leaver = kit.register_user()
    _join(kit, leaver, room_id)
    assert _report_event(kit, leaver, room_id, event_id, {}).status_code == 200
    r = kit.request("POST", f"{C}/rooms/{_q(room_id)}/leave", leaver.access_token, json={})
    assert r.status_code == 200, r.text
    assert_error(_report_event(kit, leaver, room_id, event_id, {}), 404, "M_NOT_FOUND")

    # A redacted event has nothing left to report.
    doomed = send_event(kit, owner, room_id)
    r = kit.request("PUT", f"{C}/rooms/{_q(room_id)}/redact/{_q(doomed)}/{unique('t')}",
                    owner.access_token, json={})
    assert r.status_code == 200, r.text
    assert_error(_report_event(kit, reporter, room_id, doomed, {}), 404, "M_NOT_FOUND")

    # History visibility: a member who joined later cannot see (or report) older events.
    private = create_room(kit, owner, preset="public_chat", initial_state=[{
        "type": "m.room.history_visibility", "state_key": "",
        "content": {"history_visibility": "joined"}}])
    before = send_event(kit, owner, private)
    latecomer = kit.register_user()
    _join(kit, latecomer, private)
    assert_error(_report_event(kit, latecomer, private, before, {}), 404, "M_NOT_FOUND")
    after = send_event(kit, owner, private)
    assert _report_event(kit, latecomer, private, after, {}).status_code == 200

    listed = _get(kit, admin, f"{S}/event_reports?room_id={_q(room_id)}")
    assert [i["user_id"] for i in listed["event_reports"]] == [leaver.user_id]


def test_room_reports(kit: Kit, room: tuple[User, User, str, str]) -> None:
    _, _, room_id, _ = room
    admin = kit.make_admin()
    outsider = kit.register_user()  # rooms may be reported without joining them (1.13)
    path = f"{C}/rooms/{_q(room_id)}/report"
    r = kit.request("POST", path, outsider.access_token, json={"reason": "bad room"})
    assert r.status_code == 200, r.text
    assert r.json() == {}
    assert kit.request("POST", path, outsider.access_token,
                       json={"reason": ""}).status_code == 200
    assert_error(kit.request("POST", path, outsider.access_token, json={}), 400,
                 "M_MISSING_PARAM")
    assert_error(kit.request("POST", path, outsider.access_token, json={"reason": 1}), 400,
                 "M_BAD_JSON")
    assert_error(kit.request("POST", path, outsider.access_token, json={"reason": None}),
                 400, "M_BAD_JSON")
    body = assert_error(kit.request("POST", f"{C}/rooms/{_q('!missing:localhost')}/report",
                                    outsider.access_token, json={"reason": "x"}),
                        404, "M_NOT_FOUND")
    assert body["error"] == "Room does not exist"
    # Added in v1.13: there is no r0 form.
    assert_error(kit.request("POST", f"/_matrix/client/r0/rooms/{_q(room_id)}/report",
                             outsider.access_token, json={"reason": "x"}), 404,
                 "M_UNRECOGNIZED")

    listed = _get(kit, admin, f"{G}/reports?kind=room&room_id={_q(room_id)}&dir=f")
    assert listed["total"] == 2
    first = listed["reports"][0]
    assert first == {"kind": "room", "id": first["id"], "received_ts": first["received_ts"],
                     "room_id": room_id, "name": "Reported room",
                     "canonical_alias": first["canonical_alias"],
                     "user_id": outsider.user_id, "reason": "bad room"}
    assert first["canonical_alias"].startswith("#alias")
    # Synapse's event list shows event reports only.
    assert _get(kit, admin, f"{S}/event_reports?room_id={_q(room_id)}")["total"] == 0
    assert_error(kit.request("GET", f"{S}/event_reports/{first['id']}", admin.access_token),
                 404, "M_NOT_FOUND")
    assert_error(kit.request("DELETE", f"{S}/event_reports/{first['id']}",
                             admin.access_token), 404, "M_NOT_FOUND")
    assert _get(kit, admin, f"{G}/reports/{first['id']}") == first
    r = kit.request("DELETE", f"{G}/reports/{first['id']}", admin.access_token)
    assert r.status_code == 200 and r.json() == {}
    assert _get(kit, admin, f"{G}/reports?kind=room&room_id={_q(room_id)}")["total"] == 1
    assert_error(kit.request("GET", f"{G}/reports/{first['id']}", admin.access_token), 404,
                 "M_NOT_FOUND")
    [entry] = _audit(kit, admin, "reports.delete")
    assert (entry["target"], entry["outcome"]) == (str(first["id"]), "ok")


def test_user_reports(kit: Kit) -> None:
    admin = kit.make_admin()
    reporter, target = kit.register_user(), kit.register_user()
    path = f"{C}/users/{_q(target.user_id)}/report"
    r = kit.request("POST", path, reporter.access_token, json={"reason": "harassment"})
    assert r.status_code == 200, r.text
    assert r.json() == {}
    # Unknown and remote users get the same answer, and nothing is stored.
    for other in (f"@{unique('ghost')}:localhost", f"@{unique('x')}:elsewhere.example"):
        r = kit.request("POST", f"{C}/users/{_q(other)}/report", reporter.access_token,
                        json={"reason": "who?"})
        assert r.status_code == 200, r.text
        assert _get(kit, admin, f"{S}/user_reports?target_user_id={_q(other)}")["total"] == 0
    assert_error(kit.request("POST", path, reporter.access_token, json={}), 400,
                 "M_MISSING_PARAM")
    assert_error(kit.request("POST", path, reporter.access_token, json={"reason": 3}), 400,
                 "M_BAD_JSON")
    assert_error(kit.request("POST", path, reporter.access_token,
                             json={"reason": "x" * 1001}), 400, "M_BAD_JSON")
    assert_error(kit.request("POST", f"{C}/users/not-a-user/report", reporter.access_token,
                             json={"reason": "x"}), 400, "M_INVALID_PARAM")

    listed = _get(kit, admin, f"{S}/user_reports?target_user_id={_q(target.user_id)}")
    assert listed["total"] == 1
    [item] = listed["user_reports"]
    assert item == {"id": item["id"], "received_ts": item["received_ts"],
                    "target_user_id": target.user_id, "user_id": reporter.user_id,
                    "reason": "harassment"}
    assert _get(kit, admin, f"{S}/user_reports/{item['id']}") == item
    assert _get(kit, admin, f"{G}/reports/{item['id']}") == {"kind": "user", **item}
    glia = _get(kit, admin, f"{G}/reports?kind=user&target_user_id={_q(target.user_id)}")
    assert glia["reports"] == [{"kind": "user", **item}]
    # Not an event report.
    assert_error(kit.request("GET", f"{S}/event_reports/{item['id']}", admin.access_token),
                 404, "M_NOT_FOUND")

    r = kit.request("DELETE", f"{S}/user_reports/{item['id']}", admin.access_token)
    assert r.status_code == 200 and r.json() == {}
    body = assert_error(kit.request("GET", f"{S}/user_reports/{item['id']}",
                                    admin.access_token), 404, "M_NOT_FOUND")
    assert body["error"] == "User report not found"
    [entry] = _audit(kit, admin, "user_reports.delete")
    assert (entry["target"], entry["outcome"]) == (str(item["id"]), "ok")


def test_event_report_list_pagination_and_filters(kit: Kit) -> None:
    admin = kit.make_admin()
    owner, other = kit.register_user(), kit.register_user()
    reporters = [kit.register_user(unique("rep")) for _ in range(3)]
    room_id = create_room(kit, owner, preset="public_chat")
    for user in [other, *reporters]:
        _join(kit, user, room_id)
    by_owner = send_event(kit, owner, room_id)
    by_other = send_event(kit, other, room_id)
    made = []
    for i, user in enumerate(reporters):
        for event_id in (by_owner, by_other):
            assert _report_event(kit, user, room_id, event_id,
                                 {"reason": f"r{i}"}).status_code == 200
            made.append((user.user_id, event_id))
    base = f"{S}/event_reports?room_id={_q(room_id)}"

    newest = _get(kit, admin, base)
    assert newest["total"] == 6
    assert [(i["user_id"], i["event_id"]) for i in newest["event_reports"]] == made[::-1]
    oldest = _get(kit, admin, f"{base}&dir=f")
    assert [(i["user_id"], i["event_id"]) for i in oldest["event_reports"]] == made
    ids = [i["id"] for i in oldest["event_reports"]]
    assert ids == sorted(ids)

    # Polling as Draupnir does: dir=f, from=next_token (an integer).
    seen, token = [], 0
    while True:
        page = _get(kit, admin, f"{base}&dir=f&limit=4&from={token}")
        assert page["total"] == 6
        seen += [i["id"] for i in page["event_reports"]]
        if "next_token" not in page:
            break
        token = page["next_token"]
        assert isinstance(token, int)
    assert seen == ids
    assert _get(kit, admin, f"{base}&limit=0")["event_reports"] == []
    assert _get(kit, admin, f"{base}&from=6")["event_reports"] == []
    assert len(_get(kit, admin, f"{base}&limit=99999999999999999999999")["event_reports"]) == 6

    # user_id and room_id match substrings; event_sender_user_id matches exactly.
    rep0 = reporters[0].user_id
    by_reporter = _get(kit, admin, f"{base}&user_id={_q(rep0[1:-4])}")
    assert {i["user_id"] for i in by_reporter["event_reports"]} == {rep0}
    assert by_reporter["total"] == 2
    assert _get(kit, admin, f"{S}/event_reports?room_id={_q(room_id[2:-3])}")["total"] == 6
    by_sender = _get(kit, admin, f"{base}&event_sender_user_id={_q(other.user_id)}")
    assert by_sender["total"] == 3
    assert {i["event_id"] for i in by_sender["event_reports"]} == {by_other}
    assert {i["sender"] for i in by_sender["event_reports"]} == {other.user_id}
    assert _get(kit, admin, f"{base}&event_sender_user_id={_q(other.user_id[:-2])}"
                )["total"] == 0
    # LIKE wildcards in a filter are taken literally.
    assert _get(kit, admin, f"{S}/event_reports?room_id=%25&user_id=_")["total"] == 0
    # Empty filters are no filters.
    assert _get(kit, admin, f"{base}&user_id=&event_sender_user_id=")["total"] == 6

    for bad in ("from=-1", "limit=-1", "from=x", "dir=up"):
        assert_error(kit.request("GET", f"{base}&{bad}", admin.access_token), 400,
                     "M_INVALID_PARAM")

    # Glia's list: every kind, same pagination, ``kind`` narrows it.
    assert _get(kit, admin, f"{G}/reports?room_id={_q(room_id)}")["total"] == 6
    page = _get(kit, admin, f"{G}/reports?kind=event&room_id={_q(room_id)}&limit=5")
    assert page["next_token"] == 5 and len(page["reports"]) == 5
    assert {i["kind"] for i in page["reports"]} == {"event"}
    assert_error(kit.request("GET", f"{G}/reports?kind=message", admin.access_token), 400,
                 "M_INVALID_PARAM")


def test_report_id_validation(kit: Kit) -> None:
    admin = kit.make_admin()
    for prefix in (f"{S}/event_reports", f"{S}/user_reports", f"{G}/reports"):
        for method in ("GET", "DELETE"):
            for bad in ("abc", "-1", "1.5", "0x10", "+1", "1%0A"):
                body = assert_error(kit.request(method, f"{prefix}/{bad}", admin.access_token),
                                    400, "M_INVALID_PARAM")
                assert body["error"] == ("The report_id parameter must be a string "
                                         "representing a positive integer.")
            for missing in ("0", "99999999999", "999999999999999999999999999"):
                assert_error(kit.request(method, f"{prefix}/{missing}", admin.access_token),
                             404, "M_NOT_FOUND")


def test_event_report_of_a_redacted_event_still_opens(
        kit: Kit, room: tuple[User, User, str, str]) -> None:
    """Redaction after the report: the report stays, ``event_json`` is the pruned PDU and
    ``sender`` is still known."""
    owner, reporter, room_id, event_id = room
    admin = kit.make_admin()
    assert _report_event(kit, reporter, room_id, event_id, {"reason": "r"}).status_code == 200
    r = kit.request("PUT", f"{C}/rooms/{_q(room_id)}/redact/{_q(event_id)}/{unique('t')}",
                    owner.access_token, json={})
    assert r.status_code == 200, r.text
    [item] = _get(kit, admin, f"{S}/event_reports?room_id={_q(room_id)}")["event_reports"]
    assert item["sender"] == owner.user_id
    detail = _get(kit, admin, f"{S}/event_reports/{item['id']}")
    assert detail["event_json"]["content"] == {}
