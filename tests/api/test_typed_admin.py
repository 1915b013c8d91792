"""Admin request bodies are decoded into typed models before the handler runs: a missing
field is M_MISSING_PARAM naming it, a mistyped one M_BAD_JSON naming it, optional bodies
may be empty, and Synapse's own errcodes stay where tools depend on them."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import Kit, assert_error, create_room

S = "/_synapse/admin"
GHOST_ROOM = "!nope-typed:localhost"


def _q(value: str) -> str:
    return quote(value, safe="")


# (method, path, body, status, errcode, field named in the error or None)
CASES: list[tuple[str, str, Any, int, str, str | None]] = [
    ("PUT", "/v1/rooms/{room}/block", {}, 400, "M_MISSING_PARAM", "block"),
    ("PUT", "/v1/rooms/{room}/block", {"block": "yes"}, 400, "M_BAD_JSON", "block"),
    ("DELETE", "/v2/rooms/{room}", {"purge": "no"}, 400, "M_BAD_JSON", "purge"),
    ("DELETE", "/v2/rooms/{room}", {"new_room_user_id": 5}, 400, "M_BAD_JSON",
     "new_room_user_id"),
    ("POST", "/v1/join/{room}", {}, 400, "M_MISSING_PARAM", "user_id"),
    ("POST", "/v1/join/{room}", {"user_id": ["@a:localhost"]}, 400, "M_BAD_JSON", "user_id"),
    ("POST", "/v1/rooms/{room}/make_room_admin", {"user_id": 7}, 400, "M_BAD_JSON", "user_id"),
    ("POST", "/v1/purge_history/{room}", {"purge_up_to_ts": "1"}, 400, "M_BAD_JSON",
     "purge_up_to_ts"),
    ("POST", "/v1/send_server_notice", {"content": {}}, 400, "M_MISSING_PARAM", "user_id"),
    ("POST", "/v1/send_server_notice", {"user_id": "@a:localhost", "content": "hi"}, 400,
     "M_BAD_JSON", "content"),
    ("PUT", "/v2/users/{user}", {"threepids": [{"medium": "email"}]}, 400,
     "M_MISSING_PARAM", "address"),
    ("PUT", "/v2/users/{user}", {"displayname": 5}, 400, "M_BAD_JSON", "displayname"),
    ("PUT", "/v2/users/{user}", {"password": 5}, 400, "M_UNKNOWN", None),
    ("POST", "/v1/deactivate/{user}", {"erase": 1}, 400, "M_BAD_JSON", "erase"),
    ("PUT", "/v1/suspend/{user}", {}, 400, "M_MISSING_PARAM", "suspend"),
    ("POST", "/v2/users/{user}/delete_devices", {"devices": [1]}, 400, "M_BAD_JSON",
     "devices"),
    ("POST", "/v1/user/{user}/redact", {"rooms": [], "after_ts": "x"}, 400, "M_BAD_JSON",
     "after_ts"),
    ("PUT", "/v1/experimental_features/{user}", {"features": {"msc3881": 1}}, 400,
     "M_BAD_JSON", "features"),
    ("POST", "/v1/registration_tokens/new", {"length": "8"}, 400, "M_INVALID_PARAM", None),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "errcode", "field"), CASES)
def test_admin_bodies_are_validated(kit: Kit, method: str, path: str, body: Any, status: int,
                                    errcode: str, field: str | None) -> None:
    admin = kit.make_admin()
    user = kit.register_user()
    concrete = path.format(room=_q(GHOST_ROOM), user=_q(user.user_id))
    error = assert_error(kit.request(method, f"{S}{concrete}", admin.access_token, json=body),
                         status, errcode)
    if field is not None:
        assert field in error["error"], error


def test_optional_admin_bodies_may_be_empty(kit: Kit) -> None:
    admin, alice = kit.make_admin(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    r = kit.request("POST", f"{S}/v1/rooms/{_q(room_id)}/make_room_admin", admin.access_token)
    assert r.status_code == 200, r.text
    r = kit.request("POST", f"/_dendrite/admin/purgeRoom/{_q(room_id)}?dry_run=true",
                    admin.access_token)
    assert r.status_code == 200 and r.json()["dry_run"] is True
    r = kit.request("POST", f"/_dendrite/admin/evacuateRoom/{_q(room_id)}", admin.access_token,
                    json={"dry_run": True})
    assert r.status_code == 200 and r.json()["dry_run"] is True
    assert_error(kit.request("POST", f"/_dendrite/admin/evacuateRoom/{_q(room_id)}",
                             admin.access_token, json={"dry_run": "yes"}), 400, "M_BAD_JSON")
    user = kit.register_user()
    r = kit.request("POST", f"{S}/v1/deactivate/{_q(user.user_id)}", admin.access_token)
    assert r.status_code == 200, r.text
