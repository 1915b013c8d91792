"""Registration tokens: Synapse's admin API (and Dendrite's paths onto it), the
``m.login.registration_token`` UIA stage with its pending/completed accounting, the
validity check, Glia's per-token account list, and the audit rows admin writes leave."""

from __future__ import annotations

import asyncio
import sqlite3
import string
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from glia.storage.engine import to_numbered_placeholders
from tests.kit import PASSWORD, Kit, User, assert_error, unique
from tests.server import GliaProcess

SYNAPSE = "/_synapse/admin/v1/registration_tokens"
GLIA = "/_glia/admin/v1/registration_tokens"
DENDRITE = "/_dendrite/admin/registrationTokens"
REGISTER = "/_matrix/client/v3/register"
VALIDITY = "/_matrix/client/v1/register/m.login.registration_token/validity"
STAGE = "m.login.registration_token"
DUMMY = "m.login.dummy"
#: Synapse's flow with a token required: the token stage, then the flow without it.
FLOWS = [{"stages": [STAGE, DUMMY]}]
TOKEN_CHARS = set(string.ascii_letters + string.digits + "._~-")
FIELDS = {"token", "uses_allowed", "pending", "completed", "expiry_time"}


def now_ms() -> int:
    return int(time.time() * 1000)


# -- fixtures: a server that requires tokens --------------------------------------------


@pytest.fixture(scope="module")
def token_server(new_database_url: Callable[[], str]) -> Iterator[GliaProcess]:
    server = GliaProcess(new_database_url(),
                         {"GLIA_REGISTRATION__REQUIRE_TOKEN": "true"}).start()
    yield server
    server.stop()
    log = server.log()
    assert "Traceback" not in log, log[-5000:]


@pytest.fixture(scope="module")
def tkit(token_server: GliaProcess) -> Iterator[Kit]:
    k = Kit(token_server.url)
    yield k
    k.close()


@pytest.fixture(scope="module")
def tadmin(tkit: Kit) -> User:
    return tkit.make_admin()


def new_token(kit: Kit, admin: User, base: str = SYNAPSE, **body: Any) -> dict[str, Any]:
    r = kit.request("POST", f"{base}/new", admin.access_token, json=body)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def get_token(kit: Kit, admin: User, token: str) -> dict[str, Any]:
    r = kit.request("GET", f"{SYNAPSE}/{quote(token, safe='')}", admin.access_token)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def start_registration(kit: Kit, localpart: str) -> str:
    """The first /register round: no auth; returns the UIA session."""
    r = kit.http.post(REGISTER, json={"username": localpart, "password": PASSWORD})
    assert r.status_code == 401, r.text
    assert r.json()["flows"] == FLOWS
    return str(r.json()["session"])


def finish(kit: Kit, response: httpx.Response, session: str) -> httpx.Response:
    """After a token stage that passed (401, the stage completed), the dummy stage the
    flow lists next; any other response is returned as it is."""
    if response.status_code != 401 or STAGE not in response.json().get("completed", []):
        return response
    assert "errcode" not in response.json(), response.text
    return kit.http.post(REGISTER, json={"auth": {"type": DUMMY, "session": session}})


def register_with_token(kit: Kit, token: Any, localpart: str | None = None,
                        **extra: Any) -> httpx.Response:
    localpart = localpart or unique("tok")
    session = start_registration(kit, localpart)
    body = {"username": localpart, "password": PASSWORD,
            "auth": {"type": STAGE, "token": token, "session": session}, **extra}
    return finish(kit, kit.http.post(REGISTER, json=body), session)


def run_sql(server: GliaProcess, sql: str, *args: Any) -> None:
    """Write to the server's database directly (to stage a registration that crashed
    midway, which no HTTP request can leave behind)."""
    url = server.env["GLIA_DATABASE__URL"]
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.removeprefix("sqlite:")) as conn:
            conn.execute(sql, args)
        return

    async def run() -> None:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            await conn.execute(to_numbered_placeholders(sql), *args)
        finally:
            await conn.close()

    asyncio.run(run())


# -- admin API: create --------------------------------------------------------------------


def test_create_with_defaults_generates_a_token(kit: Kit) -> None:
    admin = kit.make_admin()
    data = new_token(kit, admin)
    assert set(data) == FIELDS
    assert len(data["token"]) == 16 and set(data["token"]) <= TOKEN_CHARS
    assert data == {"token": data["token"], "uses_allowed": None, "pending": 0,
                    "completed": 0, "expiry_time": None}
    assert get_token(kit, admin, data["token"]) == data


def test_create_with_every_field(kit: Kit) -> None:
    admin = kit.make_admin()
    token = unique("t") + ".~-_"
    expiry = now_ms() + 3_600_000
    data = new_token(kit, admin, base=GLIA, token=token, uses_allowed=3, expiry_time=expiry)
    assert data == {"token": token, "uses_allowed": 3, "pending": 0, "completed": 0,
                    "expiry_time": expiry}
    assert get_token(kit, admin, token) == data
    # The glia mount and the raw (unencoded) path reach the same token.
    r = kit.request("GET", f"{GLIA}/{token}", admin.access_token)
    assert r.status_code == 200 and r.json() == data


@pytest.mark.parametrize("length", [1, 7, 64])
def test_create_with_length(kit: Kit, length: int) -> None:
    admin = kit.make_admin()
    data = new_token(kit, admin, length=length, uses_allowed=0)
    assert len(data["token"]) == length and set(data["token"]) <= TOKEN_CHARS


BAD_CREATE = [
    ({"token": 5}, "token must be a string"),
    ({"token": None}, "token must be a string"),
    ({"token": ""}, "token must not be empty and must not be longer than 64 characters"),
    ({"token": "a" * 65}, "token must not be empty and must not be longer than 64 characters"),
    ({"token": "has space"},
     "token must consist only of characters matched by the regex [A-Za-z0-9-_]"),
    ({"token": "caf\u00e9"},
     "token must consist only of characters matched by the regex [A-Za-z0-9-_]"),
    ({"token": "a/b"},
     "token must consist only of characters matched by the regex [A-Za-z0-9-_]"),
    ({"length": "16"}, "length must be an integer"),
    ({"length": True}, "length must be an integer"),
    ({"length": 1.5}, "length must be an integer"),
    ({"length": None}, "length must be an integer"),
    ({"length": 0}, "length must be greater than zero and not greater than 64"),
    ({"length": 65}, "length must be greater than zero and not greater than 64"),
    ({"uses_allowed": -1}, "uses_allowed must be a non-negative integer or null"),
    ({"uses_allowed": "1"}, "uses_allowed must be a non-negative integer or null"),
    ({"uses_allowed": True}, "uses_allowed must be a non-negative integer or null"),
    ({"uses_allowed": 1.0}, "uses_allowed must be a non-negative integer or null"),
    ({"uses_allowed": 2**63}, "uses_allowed must be a non-negative integer or null"),
    ({"expiry_time": "soon"}, "expiry_time must be an integer or null"),
    ({"expiry_time": 1.5e12}, "expiry_time must be an integer or null"),
    ({"expiry_time": False}, "expiry_time must be an integer or null"),
    ({"expiry_time": 2**64}, "expiry_time must be an integer or null"),
    ({"expiry_time": 1}, "expiry_time must not be in the past"),
    # The token is checked first, as Synapse does.
    ({"token": 5, "uses_allowed": -1}, "token must be a string"),
]


@pytest.mark.parametrize(("body", "message"), BAD_CREATE)
def test_create_rejects_bad_values(kit: Kit, body: dict[str, Any], message: str) -> None:
    admin = kit.make_admin()
    r = kit.request("POST", f"{SYNAPSE}/new", admin.access_token, json=body)
    assert assert_error(r, 400, "M_INVALID_PARAM")["error"] == message


def test_create_rejects_bad_bodies(kit: Kit) -> None:
    admin = kit.make_admin()
    headers = {"Authorization": f"Bearer {admin.access_token}"}
    assert_error(kit.http.post(f"{SYNAPSE}/new", headers=headers), 400, "M_NOT_JSON")
    assert_error(kit.http.post(f"{SYNAPSE}/new", headers=headers, content=b"{nope"), 400,
                 "M_NOT_JSON")
    assert_error(kit.request("POST", f"{SYNAPSE}/new", admin.access_token, json=[1]), 400,
                 "M_BAD_JSON")


def test_create_duplicate_token(kit: Kit) -> None:
    admin = kit.make_admin()
    token = unique("dup")
    new_token(kit, admin, token=token)
    r = kit.request("POST", f"{SYNAPSE}/new", admin.access_token, json={"token": token})
    assert assert_error(r, 400, "M_INVALID_PARAM")["error"] == f"Token already exists: {token}"
    r = kit.request("POST", f"{DENDRITE}/new", admin.access_token, json={"token": token})
    assert_error(r, 400, "M_INVALID_PARAM")


def test_new_is_not_a_token_path(kit: Kit) -> None:
    admin = kit.make_admin()
    assert_error(kit.request("GET", f"{SYNAPSE}/new", admin.access_token), 405,
                 "M_UNRECOGNIZED")


# -- admin API: read, list, update, delete -----------------------------------------------


def test_unknown_token_is_404(kit: Kit) -> None:
    admin = kit.make_admin()
    token = unique("nope")
    for method, body in (("GET", None), ("PUT", {"uses_allowed": 1}), ("PUT", {}),
                         ("DELETE", None)):
        r = kit.request(method, f"{SYNAPSE}/{token}", admin.access_token, json=body)
        error = assert_error(r, 404, "M_NOT_FOUND")
        assert error["error"] == f"No such registration token: {token}"


def test_list_and_valid_filter(clock_kit: Kit) -> None:
    kit = clock_kit
    admin = kit.make_admin()
    usable = new_token(kit, admin, token=unique("ok"), uses_allowed=5)
    unlimited = new_token(kit, admin, token=unique("inf"))
    used_up = new_token(kit, admin, token=unique("zero"), uses_allowed=0)
    expiring = new_token(kit, admin, token=unique("exp"),
                         expiry_time=kit.server_now() + 1500)

    def listed(query: str = "", base: str = SYNAPSE) -> dict[str, dict[str, Any]]:
        r = kit.request("GET", f"{base}{query}", admin.access_token)
        assert r.status_code == 200, r.text
        items = r.json()["registration_tokens"]
        assert all(set(t) == FIELDS for t in items)
        return {t["token"]: t for t in items}

    everything = listed()
    for token in (usable, unlimited, used_up, expiring):
        assert everything[token["token"]] == token
    valid = listed("?valid=true")
    assert {usable["token"], unlimited["token"], expiring["token"]} <= set(valid)
    assert used_up["token"] not in valid
    invalid = listed("?valid=false")
    assert used_up["token"] in invalid
    assert not {usable["token"], unlimited["token"]} & set(invalid)

    kit.advance_clock(1600)  # the expiring token expires
    assert expiring["token"] in listed("?valid=false")
    assert expiring["token"] not in listed("?valid=true")
    # Synapse tools send from/limit and other keys; they are ignored.
    assert usable["token"] in listed("?valid=true&from=0&limit=1&order_by=x")

    r = kit.request("GET", f"{SYNAPSE}?valid=yes", admin.access_token)
    error = assert_error(r, 400, "M_INVALID_PARAM")
    assert error["error"] == "Boolean query parameter 'valid' must be one of ['true', 'false']"

    # Dendrite's list: same JSON, Go's boolean spellings.
    assert used_up["token"] in listed("?valid=0", DENDRITE)
    assert used_up["token"] not in listed("?valid=t", DENDRITE)
    assert usable["token"] in listed("", DENDRITE)
    assert_error(kit.request("GET", f"{DENDRITE}?valid=maybe", admin.access_token), 400,
                 "M_INVALID_PARAM")


def test_update(kit: Kit) -> None:
    admin = kit.make_admin()
    token = new_token(kit, admin, uses_allowed=1)["token"]
    path = f"{SYNAPSE}/{token}"
    expiry = now_ms() + 86_400_000

    r = kit.request("PUT", path, admin.access_token, json={"uses_allowed": 5})
    assert r.status_code == 200, r.text
    assert r.json() == {"token": token, "uses_allowed": 5, "pending": 0, "completed": 0,
                        "expiry_time": None}
    r = kit.request("PUT", path, admin.access_token, json={"expiry_time": expiry})
    assert r.json()["uses_allowed"] == 5 and r.json()["expiry_time"] == expiry
    # {} changes nothing and answers the current object; unknown keys are ignored.
    r = kit.request("PUT", path, admin.access_token, json={"token": "other", "pending": 9})
    assert r.status_code == 200 and r.json()["uses_allowed"] == 5
    assert r.json()["token"] == token and r.json()["pending"] == 0
    # null removes a limit.
    r = kit.request("PUT", path, admin.access_token,
                    json={"uses_allowed": None, "expiry_time": None})
    assert r.json()["uses_allowed"] is None and r.json()["expiry_time"] is None
    assert get_token(kit, admin, token)["uses_allowed"] is None

    for body, message in (
        ({"uses_allowed": -2}, "uses_allowed must be a non-negative integer or null"),
        ({"uses_allowed": "3"}, "uses_allowed must be a non-negative integer or null"),
        ({"expiry_time": 5}, "expiry_time must not be in the past"),
        ({"expiry_time": [1]}, "expiry_time must be an integer or null"),
    ):
        r = kit.request("PUT", path, admin.access_token, json=body)
        assert assert_error(r, 400, "M_INVALID_PARAM")["error"] == message
    assert_error(kit.request("PUT", path, admin.access_token), 400, "M_NOT_JSON")
    assert get_token(kit, admin, token)["uses_allowed"] is None  # nothing changed

    # Dendrite's path updates the same token.
    r = kit.request("PUT", f"{DENDRITE}/{token}", admin.access_token, json={"uses_allowed": 0})
    assert r.status_code == 200 and r.json()["uses_allowed"] == 0
    r = kit.request("GET", f"{DENDRITE}/{token}", admin.access_token)
    assert r.json() == get_token(kit, admin, token)


def test_delete(kit: Kit) -> None:
    admin = kit.make_admin()
    token = new_token(kit, admin)["token"]
    r = kit.request("DELETE", f"{SYNAPSE}/{token}", admin.access_token)
    assert r.status_code == 200 and r.json() == {}
    assert_error(kit.request("GET", f"{SYNAPSE}/{token}", admin.access_token), 404,
                 "M_NOT_FOUND")
    assert_error(kit.request("DELETE", f"{SYNAPSE}/{token}", admin.access_token), 404,
                 "M_NOT_FOUND")
    other = new_token(kit, admin, base=DENDRITE)["token"]
    r = kit.request("DELETE", f"{DENDRITE}/{other}", admin.access_token)
    assert r.status_code == 200 and r.json() == {}
    assert_error(kit.request("GET", f"{DENDRITE}/{other}", admin.access_token), 404,
                 "M_NOT_FOUND")


def test_admin_writes_are_audited(kit: Kit) -> None:
    admin = kit.make_admin()
    generated = new_token(kit, admin, uses_allowed=2)["token"]
    token = unique("aud")
    new_token(kit, admin, token=token)
    kit.request("PUT", f"{SYNAPSE}/{token}", admin.access_token, json={"uses_allowed": 4})
    kit.request("PUT", f"{SYNAPSE}/{token}", admin.access_token, json={"uses_allowed": -4})
    kit.request("DELETE", f"{DENDRITE}/{token}", admin.access_token)

    r = kit.request("GET", f"/_glia/admin/v1/audit_log?actor={quote(admin.user_id)}&dir=f",
                    admin.access_token)
    entries = [(e["action"], e["target"], e["outcome"]) for e in r.json()["entries"]]
    assert entries == [
        ("registration_tokens.create", generated, "ok"),
        ("registration_tokens.create", token, "ok"),
        ("registration_tokens.update", token, "ok"),
        ("registration_tokens.update", token, "M_INVALID_PARAM"),
        ("registration_tokens.delete", token, "ok"),
    ]
    assert r.json()["entries"][3]["status"] == 400
    created = r.json()["entries"][0]
    assert created["params"]["body"] == {"uses_allowed": 2}


# -- registering with a token --------------------------------------------------------------


def test_flows_offer_the_token_stage(tkit: Kit) -> None:
    session = start_registration(tkit, unique("flow"))
    assert session
    # Without require_token the shared server keeps the dummy flow.


def test_register_with_token_counts_and_records(tkit: Kit, tadmin: User) -> None:
    token = new_token(tkit, tadmin, uses_allowed=2)["token"]
    before = now_ms()
    localpart = unique("reg")
    r = register_with_token(tkit, token, localpart)
    assert r.status_code == 200, r.text
    user_id = r.json()["user_id"]
    assert user_id == f"@{localpart}:localhost" and r.json()["access_token"]
    whoami = tkit.request("GET", "/_matrix/client/v3/account/whoami", r.json()["access_token"])
    assert whoami.json()["user_id"] == user_id
    assert get_token(tkit, tadmin, token) == {"token": token, "uses_allowed": 2,
                                              "pending": 0, "completed": 1,
                                              "expiry_time": None}

    r = tkit.request("GET", f"{GLIA}/{token}/users", tadmin.access_token)
    assert r.status_code == 200, r.text
    [entry] = r.json()["users"]
    assert entry["user_id"] == user_id and before <= entry["ts"] <= now_ms()
    assert r.json()["total"] == 1 and "next_token" not in r.json()

    # The second use; then the token is used up.
    assert register_with_token(tkit, token).status_code == 200
    assert get_token(tkit, tadmin, token)["completed"] == 2
    assert tkit.http.get(VALIDITY, params={"token": token}).json() == {"valid": False}
    r = register_with_token(tkit, token)
    body = assert_error(r, 401, "M_UNAUTHORIZED")
    assert body["error"] == "Invalid registration token"
    assert body["flows"] == FLOWS and body["session"]
    assert get_token(tkit, tadmin, token)["completed"] == 2


def test_inhibit_login_still_completes_the_use(tkit: Kit, tadmin: User) -> None:
    token = new_token(tkit, tadmin, uses_allowed=1)["token"]
    r = register_with_token(tkit, token, inhibit_login=True)
    assert r.status_code == 200 and "access_token" not in r.json()
    assert get_token(tkit, tadmin, token)["completed"] == 1


def test_bad_tokens_fail_the_stage(tkit: Kit, tadmin: User) -> None:
    unknown = unique("unknown")
    expired = new_token(tkit, tadmin, expiry_time=tkit.server_now() + 1000)["token"]
    zero = new_token(tkit, tadmin, uses_allowed=0)["token"]
    tkit.advance_clock(1200)
    for token in (unknown, expired, zero, ""):
        localpart = unique("bad")
        r = register_with_token(tkit, token, localpart)
        body = assert_error(r, 401, "M_UNAUTHORIZED")
        assert body["flows"] == FLOWS and "completed" not in body
        assert tkit.http.get("/_matrix/client/v3/register/available",
                             params={"username": localpart}).status_code == 200
    for token in (expired, zero):
        assert get_token(tkit, tadmin, token)["pending"] == 0
        assert get_token(tkit, tadmin, token)["completed"] == 0


def test_a_failed_stage_can_be_retried_in_the_same_session(tkit: Kit, tadmin: User) -> None:
    token = new_token(tkit, tadmin, uses_allowed=1)["token"]
    localpart = unique("retry")
    session = start_registration(tkit, localpart)
    body: dict[str, Any] = {"username": localpart, "password": PASSWORD,
                            "auth": {"type": STAGE, "token": "wrong", "session": session}}
    r = tkit.http.post(REGISTER, json=body)
    assert assert_error(r, 401, "M_UNAUTHORIZED")["session"] == session
    body["auth"]["token"] = token
    r = finish(tkit, tkit.http.post(REGISTER, json=body), session)
    assert r.status_code == 200, r.text
    assert get_token(tkit, tadmin, token)["completed"] == 1


@pytest.mark.parametrize(("auth", "errcode", "message"), [
    ({"type": STAGE}, "M_MISSING_PARAM", "Missing registration token"),
    ({"type": STAGE, "token": 7}, "M_INVALID_PARAM", "Registration token must be a string"),
    ({"type": STAGE, "token": None}, "M_INVALID_PARAM", "Registration token must be a string"),
])
def test_malformed_stage(tkit: Kit, auth: dict[str, Any], errcode: str, message: str) -> None:
    localpart = unique("mal")
    session = start_registration(tkit, localpart)
    r = tkit.http.post(REGISTER, json={"username": localpart, "password": PASSWORD,
                                       "auth": {**auth, "session": session}})
    body = assert_error(r, 401, errcode)
    assert body["error"] == message and body["session"] == session


def test_stage_needs_a_session(tkit: Kit, tadmin: User) -> None:
    token = new_token(tkit, tadmin, uses_allowed=1)["token"]
    r = tkit.http.post(REGISTER, json={"username": unique("nos"), "password": PASSWORD,
                                       "auth": {"type": STAGE, "token": token}})
    body = assert_error(r, 401, "M_MISSING_PARAM")
    assert body["error"] == "Missing UIA session"
    assert get_token(tkit, tadmin, token)["pending"] == 0


def test_dummy_stage_is_not_enough(tkit: Kit) -> None:
    localpart = unique("dum")
    session = start_registration(tkit, localpart)
    r = tkit.http.post(REGISTER, json={"username": localpart, "password": PASSWORD,
                                       "auth": {"type": DUMMY, "session": session}})
    assert r.status_code == 401, r.text
    assert r.json()["completed"] == [DUMMY] and r.json()["flows"] == FLOWS
    assert tkit.http.get("/_matrix/client/v3/register/available",
                         params={"username": localpart}).status_code == 200


def test_failed_registration_gives_the_use_back(tkit: Kit, tadmin: User) -> None:
    token = new_token(tkit, tadmin, uses_allowed=1)["token"]
    localpart = unique("nopw")
    r = tkit.http.post(REGISTER, json={"username": localpart})
    assert r.status_code == 401, r.text
    session = r.json()["session"]
    # The stages pass, but no request of the session had a password: no account, so no
    # use is kept.
    r = tkit.http.post(REGISTER, json={"auth": {"type": STAGE, "token": token,
                                                "session": session}})
    assert_error(finish(tkit, r, session), 400, "M_MISSING_PARAM")
    assert get_token(tkit, tadmin, token) == {"token": token, "uses_allowed": 1,
                                              "pending": 0, "completed": 0,
                                              "expiry_time": None}
    assert tkit.http.get(VALIDITY, params={"token": token}).json() == {"valid": True}
    assert register_with_token(tkit, token).status_code == 200


def test_last_use_goes_to_exactly_one_of_concurrent_registrations(
        tkit: Kit, tadmin: User) -> None:
    token = new_token(tkit, tadmin, uses_allowed=1)["token"]
    sessions = []
    for _ in range(8):
        localpart = unique("race")
        sessions.append((localpart, start_registration(tkit, localpart)))

    def attempt(item: tuple[str, str]) -> int:
        localpart, session = item
        with httpx.Client(base_url=tkit.base_url, timeout=30) as http:
            r = http.post(REGISTER, json={
                "username": localpart, "password": PASSWORD,
                "auth": {"type": STAGE, "token": token, "session": session}})
        return finish(tkit, r, session).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(attempt, sessions))
    assert sorted(statuses) == [200] + [401] * 7, statuses
    assert get_token(tkit, tadmin, token)["completed"] == 1
    assert get_token(tkit, tadmin, token)["pending"] == 0


def test_pending_counts_unfinished_registrations(token_server: GliaProcess, tkit: Kit,
                                                 tadmin: User) -> None:
    """A registration that passed the stage holds a use (``pending``) until it finishes;
    one whose UIA session can no longer finish (a crash) gives it back."""
    token = new_token(tkit, tadmin, uses_allowed=1)["token"]
    now = now_ms()
    run_sql(token_server, "UPDATE registration_tokens SET pending = 1 WHERE token = ?", token)
    run_sql(token_server, "INSERT INTO registration_token_reservations (session_id, token,"
            " created_ts) VALUES (?, ?, ?)", unique("sess"), token, now)
    assert get_token(tkit, tadmin, token)["pending"] == 1
    assert tkit.http.get(VALIDITY, params={"token": token}).json() == {"valid": False}
    r = tkit.request("GET", f"{SYNAPSE}?valid=false", tadmin.access_token)
    assert token in {t["token"] for t in r.json()["registration_tokens"]}
    assert_error(register_with_token(tkit, token), 401, "M_UNAUTHORIZED")

    # The same use, held by a session older than any UIA session lives: released.
    run_sql(token_server, "UPDATE registration_token_reservations SET created_ts = ?"
            " WHERE token = ?", now - 31 * 60 * 1000, token)
    assert tkit.http.get(VALIDITY, params={"token": token}).json() == {"valid": True}
    assert get_token(tkit, tadmin, token)["pending"] == 0
    assert register_with_token(tkit, token).status_code == 200
    assert get_token(tkit, tadmin, token)["completed"] == 1


def test_deleting_a_token_stops_registrations_in_flight(
        token_server: GliaProcess, tkit: Kit, tadmin: User) -> None:
    token = new_token(tkit, tadmin)["token"]
    session = unique("sess")
    run_sql(token_server, "UPDATE registration_tokens SET pending = 1 WHERE token = ?", token)
    run_sql(token_server, "INSERT INTO registration_token_reservations (session_id, token,"
            " created_ts) VALUES (?, ?, ?)", session, token, now_ms())
    r = tkit.request("DELETE", f"{SYNAPSE}/{token}", tadmin.access_token)
    assert r.status_code == 200
    # The deleted token's reservations went with it.
    token = new_token(tkit, tadmin, token=token, uses_allowed=1)["token"]
    assert get_token(tkit, tadmin, token)["pending"] == 0
    assert register_with_token(tkit, token).status_code == 200


# -- validity --------------------------------------------------------------------------------


def test_validity(tkit: Kit, tadmin: User) -> None:
    token = new_token(tkit, tadmin, uses_allowed=1)["token"]
    assert tkit.http.get(VALIDITY, params={"token": token}).json() == {"valid": True}
    # Checking takes nothing.
    assert get_token(tkit, tadmin, token)["pending"] == 0
    assert tkit.http.get(VALIDITY, params={"token": unique("x")}).json() == {"valid": False}
    assert tkit.http.get(VALIDITY, params={"token": ""}).json() == {"valid": False}
    r = tkit.http.get(VALIDITY)
    assert assert_error(r, 400, "M_MISSING_PARAM")["error"] == (
        "Missing string query parameter 'token'")
    # Only v1 exists.
    assert_error(tkit.http.get(VALIDITY.replace("/v1/", "/v3/"), params={"token": token}),
                 404, "M_UNRECOGNIZED")


def test_validity_without_require_token(kit: Kit) -> None:
    """Synapse answers the check whenever registration is open."""
    admin = kit.make_admin()
    token = new_token(kit, admin)["token"]
    assert kit.http.get(VALIDITY, params={"token": token}).json() == {"valid": True}
    # Open registration without require_token keeps the dummy flow.
    r = kit.http.post(REGISTER, json={"username": unique("d"), "password": PASSWORD})
    assert r.json()["flows"] == [{"stages": ["m.login.dummy"]}]


def test_validity_when_registration_is_disabled(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_REGISTRATION__ENABLED": "false",
                           "GLIA_REGISTRATION__REQUIRE_TOKEN": "true"})
    k = Kit(server.url)
    try:
        admin = k.make_admin()
        token = new_token(k, admin)["token"]
        r = k.http.get(VALIDITY, params={"token": token})
        assert assert_error(r, 403, "M_FORBIDDEN")["error"] == "Registration has been disabled"
        assert_error(k.http.get(VALIDITY), 403, "M_FORBIDDEN")
        r = k.http.post(REGISTER, json={"username": unique("off"), "password": PASSWORD,
                                        "auth": {"type": STAGE, "token": token}})
        assert_error(r, 403, "M_FORBIDDEN")
    finally:
        k.close()


# -- who registered with a token --------------------------------------------------------------


def test_token_users_pagination_and_deleted_tokens(tkit: Kit, tadmin: User) -> None:
    token = new_token(tkit, tadmin)["token"]
    registered = []
    for _ in range(3):
        r = register_with_token(tkit, token)
        assert r.status_code == 200, r.text
        registered.append(r.json()["user_id"])
    path = f"{GLIA}/{token}/users"

    r = tkit.request("GET", f"{path}?limit=2", tadmin.access_token)
    assert r.status_code == 200, r.text
    assert [u["user_id"] for u in r.json()["users"]] == registered[:2]
    assert r.json()["total"] == 3 and r.json()["next_token"] == 2
    r = tkit.request("GET", f"{path}?from=2", tadmin.access_token)
    assert [u["user_id"] for u in r.json()["users"]] == registered[2:]
    assert "next_token" not in r.json()
    r = tkit.request("GET", f"{path}?dir=b", tadmin.access_token)
    assert [u["user_id"] for u in r.json()["users"]] == registered[::-1]
    assert_error(tkit.request("GET", f"{path}?dir=x", tadmin.access_token), 400,
                 "M_INVALID_PARAM")
    assert_error(tkit.request("GET", f"{path}?limit=-1", tadmin.access_token), 400,
                 "M_INVALID_PARAM")

    # Deleting the token keeps the record of whom it let in.
    assert tkit.request("DELETE", f"{SYNAPSE}/{token}", tadmin.access_token).status_code == 200
    r = tkit.request("GET", path, tadmin.access_token)
    assert r.status_code == 200 and r.json()["total"] == 3

    unused = new_token(tkit, tadmin)["token"]
    r = tkit.request("GET", f"{GLIA}/{unused}/users", tadmin.access_token)
    assert r.status_code == 200 and r.json() == {"users": [], "total": 0}
    r = tkit.request("GET", f"{GLIA}/{unique('never')}/users", tadmin.access_token)
    assert_error(r, 404, "M_NOT_FOUND")
    # Glia-only: not under the Synapse mount.
    assert_error(tkit.request("GET", f"{SYNAPSE}/{unused}/users", tadmin.access_token), 404,
                 "M_UNRECOGNIZED")
