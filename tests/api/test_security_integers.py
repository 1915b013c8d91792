"""Numbers too large for a database column are refused, not passed to SQL.

SQLite and PostgreSQL store these as 64-bit integers: 2**63 overflows both (an
``OverflowError`` in the SQLite driver, an out-of-range error in PostgreSQL) and came back
as a 500. Timestamps past what JSON carries exactly (2**53 - 1) are not real times; they
are ``400 M_INVALID_PARAM``. Counts and offsets in the query string keep their meaning
("all", "past the end").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.kit import Kit, User, assert_error, create_room, send_event

S = "/_synapse/admin"
HUGE = [2**63, 2**64, -(2**63) - 1]


@pytest.fixture(scope="module")
def admin(kit: Kit) -> User:
    return kit.make_admin()


def raw_json(kit: Kit, method: str, path: str, token: str, text: str) -> Any:
    """Send a body as written: a big integer must reach the server as digits."""
    return kit.request(method, path, token, content=text.encode(),
                       headers={"Content-Type": "application/json"})


def valid_until_ms(kit: Kit, admin: User, n: int) -> Any:
    user = kit.register_user()
    return raw_json(kit, "POST", f"{S}/v1/users/{quote(user.user_id)}/login",
                    admin.access_token, f'{{"valid_until_ms": {n}}}')


def purge_up_to_ts(kit: Kit, admin: User, n: int) -> Any:
    room_id = create_room(kit, admin)
    send_event(kit, admin, room_id)
    return raw_json(kit, "POST", f"{S}/v1/purge_history/{quote(room_id)}",
                    admin.access_token, f'{{"purge_up_to_ts": {n}}}')


def expiry_time_new(kit: Kit, admin: User, n: int) -> Any:
    return raw_json(kit, "POST", f"{S}/v1/registration_tokens/new", admin.access_token,
                    f'{{"expiry_time": {n}}}')


def expiry_time_update(kit: Kit, admin: User, n: int) -> Any:
    token = kit.request("POST", f"{S}/v1/registration_tokens/new", admin.access_token,
                        json={}).json()["token"]
    return raw_json(kit, "PUT", f"{S}/v1/registration_tokens/{token}", admin.access_token,
                    f'{{"expiry_time": {n}}}')


def redact_before_ts(kit: Kit, admin: User, n: int) -> Any:
    user = kit.register_user()
    room_id = create_room(kit, user)
    return raw_json(kit, "POST", f"{S}/v1/user/{quote(user.user_id)}/redact",
                    admin.access_token, f'{{"rooms": ["{room_id}"], "before_ts": {n}}}')


def redact_limit(kit: Kit, admin: User, n: int) -> Any:
    user = kit.register_user()
    room_id = create_room(kit, user)
    return raw_json(kit, "POST", f"{S}/v1/user/{quote(user.user_id)}/redact",
                    admin.access_token, f'{{"rooms": ["{room_id}"], "limit": {n}}}')


def media_before_ts(kit: Kit, admin: User, n: int) -> Any:
    return kit.request("POST", f"{S}/v1/media/localhost/delete?before_ts={n}",
                       admin.access_token)


def timestamp_to_event(kit: Kit, admin: User, n: int) -> Any:
    room_id = create_room(kit, admin)
    return kit.request("GET", f"/_matrix/client/v1/rooms/{quote(room_id)}/timestamp_to_event"
                       f"?ts={n}&dir=f", admin.access_token)


def admin_timestamp_to_event(kit: Kit, admin: User, n: int) -> Any:
    room_id = create_room(kit, admin)
    return kit.request("GET", f"{S}/v1/rooms/{quote(room_id)}/timestamp_to_event"
                       f"?ts={n}&direction=f", admin.access_token)


TIMESTAMPS: list[Callable[[Kit, User, int], Any]] = [
    valid_until_ms, purge_up_to_ts, expiry_time_new, expiry_time_update, redact_before_ts,
    redact_limit, media_before_ts, timestamp_to_event, admin_timestamp_to_event]


@pytest.mark.parametrize("n", HUGE)
@pytest.mark.parametrize("send", TIMESTAMPS, ids=lambda f: f.__name__)
def test_timestamp_out_of_range(kit: Kit, admin: User,
                                send: Callable[[Kit, User, int], Any], n: int) -> None:
    assert_error(send(kit, admin, n), 400, "M_INVALID_PARAM")


@pytest.mark.parametrize("n", [2**63, 2**64])
@pytest.mark.parametrize("path", [
    f"{S}/v2/users?from={{n}}", f"{S}/v1/rooms?from={{n}}", f"{S}/v1/event_reports?from={{n}}",
    f"{S}/v1/registration_tokens?valid=true&from={{n}}",
    "/_matrix/client/v3/notifications?from={n}", f"{S}/v1/users/@nobody:localhost/media"
    "?from={n}", "/_matrix/client/v3/publicRooms?since={n}"])
def test_offsets_past_the_end(kit: Kit, admin: User, path: str, n: int) -> None:
    r = kit.request("GET", path.format(n=n), admin.access_token)
    assert r.status_code in (200, 400, 404), r.text
