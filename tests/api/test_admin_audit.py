"""The admin audit log, over HTTP: every admin write Glia serves leaves exactly one row
saying who did what to which target, with what outcome and status, and what was asked
for with its secrets removed; and the log's filters and order."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from glia.http import admin_routes
from glia.http.parsing import is_streamed
from tests.kit import Kit, User, create_room, unique
from tests.server import GliaProcess

FILL = {"userId": "@nobody-audit:localhost", "roomId": "!nope-audit:localhost"}
SECRET = "s3cret-never-logged"
REDACTED = "<redacted>"
#: Writes that create what they act on name it as their target once it exists.
CREATED_TARGET: dict[str, Callable[[dict[str, Any]], str]] = {
    "registration_tokens.create": lambda body: str(body["token"]),
}


def _writes() -> list[tuple[str, str, str, bool]]:
    """One (method, path, action, streamed body) per distinct route, preferring
    Synapse's mount over Glia's copy of it."""
    seen: dict[tuple[str, str], tuple[str, str, str, bool]] = {}
    for route in admin_routes():
        if route.audit is None:
            continue
        key = (route.method, route.path.replace("/_glia/admin/", "/_synapse/admin/"))
        if key not in seen or route.path.startswith("/_synapse/"):
            seen[key] = (route.method, route.path, route.audit, is_streamed(route.handler))
    return sorted(seen.values())


@pytest.fixture(scope="module")
def audited(new_database_url: Callable[[], str]) -> Iterator[tuple[Kit, User]]:
    server = GliaProcess(new_database_url()).start()
    kit = Kit(server.url)
    yield kit, kit.make_admin()
    kit.close()
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]


@pytest.mark.parametrize(("method", "path", "action", "streamed"), _writes())
def test_every_admin_write_is_audited(audited: tuple[Kit, User], method: str, path: str,
                                      action: str, streamed: bool) -> None:
    kit, admin = audited
    names = re.findall(r"\{([^}]+)\}", path)
    concrete = re.sub(r"\{([^}]+)\}",
                      lambda m: quote(FILL.get(m.group(1), "x"), safe=""), path)
    before = _entries(kit, admin, action=action)
    started = int(time.time() * 1000)
    r = kit.request(method, concrete, admin.access_token, json={"password": SECRET})
    finished = int(time.time() * 1000)
    assert r.status_code < 500, (r.status_code, r.text)
    entries = _entries(kit, admin, action=action)
    assert len(entries) == len(before) + 1, (concrete, r.status_code, r.text)
    newest = entries[0]
    assert newest["id"] > max((e["id"] for e in before), default=0)
    assert started <= newest["ts"] <= finished
    outcome = "ok" if r.status_code < 400 else r.json()["errcode"]
    target = FILL.get(names[0], "x") if names else None
    if outcome == "ok" and action in CREATED_TARGET:
        target = CREATED_TARGET[action](r.json())
    # Every row carries the status sent, including a success's row committed with its
    # change (before the response existed: the service states its success status first).
    assert {k: v for k, v in newest.items() if k not in ("id", "ts")} == {
        "actor": admin.user_id,
        "action": action,
        # The first path parameter names the target, decoded as the handler saw it.
        "target": target,
        "outcome": outcome,
        "status": r.status_code,
        # The JSON body, its password replaced (a streamed upload's body is not read).
        "params": {} if streamed else {"body": {"password": REDACTED}},
    }, (concrete, r.status_code, r.text)


def test_a_successful_write_records_its_outcome_and_parameters(
        audited: tuple[Kit, User]) -> None:
    kit, admin = audited
    target = f"@{unique('audited')}:localhost"
    body: dict[str, Any] = {"password": SECRET, "displayname": "Audité ✓", "admin": False,
                            "threepids": [{"medium": "email", "address": "a@example.org"}],
                            "external_ids": [], "nested": {"new_password": SECRET, "keep": 1}}
    # The token travels as a query parameter here: it must not be logged either.
    r = kit.request("PUT", f"/_synapse/admin/v2/users/{quote(target)}"
                    f"?access_token={admin.access_token}&dry=no", json=body)
    assert r.status_code == 201, r.text
    [row] = _entries(kit, admin, target=target)
    # Committed with the account it created, with the status the creation answers.
    assert {k: v for k, v in row.items() if k not in ("id", "ts")} == {
        "actor": admin.user_id, "action": "users.put", "target": target, "outcome": "ok",
        "status": 201,
        "params": {"dry": "no", "body": {
            "password": REDACTED, "displayname": "Audité ✓", "admin": False,
            "threepids": [{"medium": "email", "address": "a@example.org"}],
            "external_ids": [], "nested": {"new_password": REDACTED, "keep": 1}}},
    }
    # A second write to the same target is a second row, newest first.
    r = kit.request("PUT", f"/_synapse/admin/v1/users/{quote(target)}/admin",
                    admin.access_token, json={"admin": True})
    assert r.status_code == 200, r.text
    rows = _entries(kit, admin, target=target)
    assert [(e["action"], e["outcome"], e["status"]) for e in rows] == [
        ("users.set_admin", "ok", 200), ("users.put", "ok", 201)]
    assert rows[0]["params"] == {"body": {"admin": True}}
    # Modifying the account that now exists answers 200, and its row says so.
    r = kit.request("PUT", f"/_synapse/admin/v2/users/{quote(target)}",
                    admin.access_token, json={"displayname": "Renamed"})
    assert r.status_code == 200, r.text
    newest = _entries(kit, admin, target=target)[0]
    assert (newest["action"], newest["outcome"], newest["status"]) == ("users.put", "ok", 200)


def test_rows_committed_with_their_change_record_the_status_sent(
        audited: tuple[Kit, User]) -> None:
    """A creation answered 201 (an admin-made device) and a change made of events (an
    evacuation, its row committed with the first leave) carry the status the client
    got, not an empty one."""
    kit, admin = audited
    owner = kit.register_user()
    r = kit.request("POST", f"/_synapse/admin/v2/users/{quote(owner.user_id)}/devices",
                    admin.access_token, json={"device_id": "AUDITED"})
    assert r.status_code == 201, r.text
    [row] = _entries(kit, admin, target=owner.user_id, action="devices.create")
    assert (row["outcome"], row["status"]) == ("ok", 201)
    room_id = create_room(kit, owner)
    r = kit.request("POST", f"/_dendrite/admin/evacuateRoom/{quote(room_id)}",
                    admin.access_token, json={})
    assert r.status_code == 200 and r.json()["affected"] == [owner.user_id], r.text
    [row] = _entries(kit, admin, target=room_id, action="rooms.evacuate")
    assert (row["outcome"], row["status"]) == ("ok", 200)


def test_a_refused_write_records_the_error(audited: tuple[Kit, User]) -> None:
    kit, admin = audited
    target = f"@{unique('missing')}:localhost"
    r = kit.request("POST", f"/_synapse/admin/v1/deactivate/{quote(target)}",
                    admin.access_token, json={"erase": True})
    assert r.status_code == 404, r.text
    [row] = _entries(kit, admin, target=target)
    assert (row["actor"], row["action"], row["outcome"], row["status"], row["params"]) == (
        admin.user_id, "users.deactivate", "M_NOT_FOUND", 404, {"body": {"erase": True}})


def test_a_non_admin_attempt_is_logged_as_refused(audited: tuple[Kit, User]) -> None:
    """An attempt on an admin write by a non-admin is evidence too: one row, with who
    tried, the refusal, and no body (a refused request's body is never read)."""
    kit, admin = audited
    someone = kit.register_user()
    r = kit.request("PUT", f"/_synapse/admin/v2/users/{quote(someone.user_id)}",
                    someone.access_token, json={"admin": True})
    assert r.status_code == 403, r.text
    [row] = _entries(kit, admin, actor=someone.user_id)
    assert (row["actor"], row["action"], row["target"], row["outcome"], row["status"]) == (
        someone.user_id, "users.put", someone.user_id, "M_FORBIDDEN", 403)
    assert "body" not in row["params"]


def test_log_filters_and_order(audited: tuple[Kit, User]) -> None:
    kit, admin = audited
    other = kit.make_admin()
    target = f"@{unique('order')}:localhost"
    for who in (admin, other, admin):
        r = kit.request("PUT", f"/_synapse/admin/v1/users/{quote(target)}/admin",
                        who.access_token, json={"admin": False})
        assert r.status_code == 404, r.text
    everyone = _entries(kit, admin, target=target)
    assert [e["actor"] for e in everyone] == [admin.user_id, other.user_id, admin.user_id]
    assert [e["id"] for e in everyone] == sorted((e["id"] for e in everyone), reverse=True)
    assert [e["actor"] for e in _entries(kit, admin, target=target, actor=other.user_id)] \
        == [other.user_id]
    oldest_first = _entries(kit, admin, target=target, dir="f")
    assert oldest_first == list(reversed(everyone))
    r = kit.request("GET", "/_glia/admin/v1/audit_log", admin.access_token,
                    params={"target": target, "limit": "1", "from": "1", "dir": "f"})
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 3 and page["entries"] == [oldest_first[1]]
    assert page["next_token"] == "2"
    since = _entries(kit, admin, target=target, from_ts=str(everyone[1]["ts"]))
    assert [e["id"] for e in since] == [e["id"] for e in everyone
                                        if e["ts"] >= everyone[1]["ts"]]
    assert _entries(kit, admin, target=target, action="users.put") == []


def _entries(kit: Kit, admin: User, **query: str) -> list[dict[str, Any]]:
    r = kit.request("GET", "/_glia/admin/v1/audit_log", admin.access_token,
                    params={**query, "limit": "1000"})
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])
