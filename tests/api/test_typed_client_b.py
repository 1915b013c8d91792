"""The typed request models of accounts, UIA, keys, key backup and pushers: a missing field
is ``M_MISSING_PARAM`` naming it, a mistyped one ``M_BAD_JSON`` naming it, an integer out
of range ``M_INVALID_PARAM``, a key backup must use a known algorithm with well-formed
``auth_data`` — and none of it is ever a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit import PASSWORD, Kit, User, assert_error, unique

V3 = "/_matrix/client/v3"
ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2"


@pytest.fixture(scope="module")
def caller(kit: Kit) -> User:
    return kit.register_user()


def post(kit: Kit, user: User | None, path: str, body: Any) -> Any:
    return kit.request("POST", f"{V3}{path}", user.access_token if user else None, json=body)


# -- key backup: algorithm and auth_data -----------------------------------------------------


@pytest.mark.parametrize(("body", "errcode", "names"), [
    ({"algorithm": "m.unknown.algorithm", "auth_data": {"public_key": "pk"}},
     "M_INVALID_PARAM", "m.unknown.algorithm"),
    ({"algorithm": ALGORITHM, "auth_data": {}}, "M_MISSING_PARAM", "auth_data.public_key"),
    ({"algorithm": ALGORITHM, "auth_data": {"public_key": 5}}, "M_BAD_JSON",
     "auth_data.public_key"),
    ({"algorithm": ALGORITHM, "auth_data": {"public_key": "pk", "signatures": {"@a:b": 1}}},
     "M_BAD_JSON", "auth_data.signatures"),
], ids=["unknown-algorithm", "no-public-key", "public-key-not-a-string", "bad-signatures"])
def test_backup_version_is_checked_by_algorithm(kit: Kit, caller: User, body: dict[str, Any],
                                                errcode: str, names: str) -> None:
    error = assert_error(post(kit, caller, "/room_keys/version", body), 400, errcode)
    assert names in error["error"]
    # Nothing was created.
    assert_error(kit.request("GET", f"{V3}/room_keys/version", caller.access_token), 404,
                 "M_NOT_FOUND")


def test_backup_auth_data_is_kept_whole(kit: Kit) -> None:
    user = kit.register_user()
    auth_data = {"public_key": "pk", "signatures": {user.user_id: {"ed25519:DEV": "sig"}},
                 "org.example.extra": [1, 2]}
    r = post(kit, user, "/room_keys/version", {"algorithm": ALGORITHM, "auth_data": auth_data})
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    r = kit.request("PUT", f"{V3}/room_keys/version/{version}", user.access_token,
                    json={"algorithm": "m.megolm_backup.v1", "auth_data": auth_data})
    assert_error(r, 400, "M_INVALID_PARAM")
    got = kit.request("GET", f"{V3}/room_keys/version", user.access_token).json()
    assert got["auth_data"] == auth_data and got["algorithm"] == ALGORITHM


def test_backup_session_counts_are_json_safe(kit: Kit) -> None:
    user = kit.register_user()
    version = post(kit, user, "/room_keys/version",
                   {"algorithm": ALGORITHM, "auth_data": {"public_key": "pk"}}).json()["version"]
    session = {"first_message_index": 2**53, "forwarded_count": 0, "is_verified": False,
               "session_data": {}}
    r = kit.request("PUT", f"{V3}/room_keys/keys/!r:localhost/s", user.access_token,
                    params={"version": version}, json=session)
    assert "first_message_index" in assert_error(r, 400, "M_INVALID_PARAM")["error"]


# -- keys ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "body", "errcode"), [
    ("/keys/upload", {"one_time_keys": "not an object"}, "M_BAD_JSON"),
    ("/keys/upload", {"one_time_keys": [1, 2]}, "M_BAD_JSON"),
    ("/keys/upload", {"fallback_keys": {"signed_curve25519:a": 5}}, "M_BAD_JSON"),
    ("/keys/upload", {"device_keys": []}, "M_BAD_JSON"),
    ("/keys/query", {"device_keys": {}, "timeout": -1}, "M_INVALID_PARAM"),
    ("/keys/query", {"device_keys": {}, "timeout": 2**53}, "M_INVALID_PARAM"),
    ("/keys/query", {"device_keys": {}, "timeout": "10s"}, "M_BAD_JSON"),
    ("/keys/claim", {"one_time_keys": {}, "timeout": "soon"}, "M_BAD_JSON"),
    ("/keys/claim", {"one_time_keys": {}, "timeout": 1.5}, "M_BAD_JSON"),
], ids=["otk-string", "otk-array", "fallback-number", "device-keys-array", "query-timeout-neg",
        "query-timeout-huge", "query-timeout-string", "claim-timeout-string",
        "claim-timeout-float"])
def test_key_bodies(kit: Kit, caller: User, path: str, body: dict[str, Any],
                    errcode: str) -> None:
    assert_error(post(kit, caller, path, body), 400, errcode)


def test_key_query_with_a_timeout(kit: Kit, caller: User) -> None:
    r = post(kit, caller, "/keys/query", {"device_keys": {caller.user_id: []}, "timeout": 10})
    assert r.status_code == 200, r.text
    assert r.json()["device_keys"] == {caller.user_id: {}}


# -- login -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "errcode", "names"), [
    ({"type": "m.login.password", "user": "{user}", "password": 5}, "M_BAD_JSON", "password"),
    ({"type": "m.login.password", "user": "{user}", "password": PASSWORD,
      "refresh_token": "yes"}, "M_BAD_JSON", "refresh_token"),
    ({"type": "m.login.password", "identifier": {"type": 5, "user": "{user}"},
      "password": PASSWORD}, "M_BAD_JSON", "identifier.type"),
    ({"type": "m.login.password", "identifier": {"user": "{user}"}, "password": PASSWORD},
     "M_MISSING_PARAM", "identifier.type"),
    ({"type": ["m.login.password"]}, "M_BAD_JSON", "type"),
], ids=["password-number", "refresh-token-string", "identifier-type-number",
        "identifier-without-type", "type-array"])
def test_login_fields(kit: Kit, caller: User, body: dict[str, Any], errcode: str,
                      names: str) -> None:
    filled = {k: (caller.user_id if v == "{user}" else v) for k, v in body.items()}
    if "identifier" in body:
        filled["identifier"] = {k: (caller.user_id if v == "{user}" else v)
                                for k, v in body["identifier"].items()}
    assert names in assert_error(post(kit, None, "/login", filled), 400, errcode)["error"]


def test_login_asking_for_a_refresh_token(kit: Kit, caller: User) -> None:
    r = post(kit, None, "/login", {"type": "m.login.password", "password": PASSWORD,
                                   "identifier": {"type": "m.id.user", "user": caller.user_id},
                                   "refresh_token": True})
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == caller.user_id


# -- registration and UIA ------------------------------------------------------------------


@pytest.mark.parametrize(("auth", "extra", "names"), [
    ({"type": 5}, {}, "auth.type"),
    ({"type": "m.login.dummy", "session": ["s"]}, {}, "auth.session"),
    ({"type": "m.login.dummy"}, {"refresh_token": "yes"}, "refresh_token"),
], ids=["stage-type-number", "session-array", "refresh-token-string"])
def test_register_fields(kit: Kit, auth: dict[str, Any], extra: dict[str, Any],
                         names: str) -> None:
    body = {"username": unique("typed"), "password": PASSWORD, "auth": auth, **extra}
    assert names in assert_error(post(kit, None, "/register", body), 400,
                                 "M_BAD_JSON")["error"]


def test_uia_session_can_be_continued_without_a_stage(kit: Kit) -> None:
    """An ``auth`` dict with only the session asks where the flow stands (a 401 with the
    same session), as clients do after fallback authentication."""
    localpart = unique("cont")
    body: dict[str, Any] = {"username": localpart, "password": PASSWORD}
    r = post(kit, None, "/register", body)
    assert r.status_code == 401, r.text
    session = r.json()["session"]
    r = post(kit, None, "/register", {**body, "auth": {"session": session}})
    assert r.status_code == 401, r.text
    assert r.json()["session"] == session and r.json()["flows"]
    assert "errcode" not in r.json()
    r = post(kit, None, "/register", {**body, "auth": {"type": "m.login.dummy",
                                                        "session": session}})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("path", "body", "errcode", "names"), [
    ("/account/password", {"new_password": "a new password",
                           "auth": {"type": "m.login.password", "password": 5}},
     "M_BAD_JSON", "auth.password"),
    ("/account/password", {"new_password": "a new password",
                           "auth": {"type": "m.login.password", "identifier": {"user": "x"},
                                    "password": PASSWORD}},
     "M_MISSING_PARAM", "auth.identifier.type"),
    ("/account/deactivate", {"id_server": 5}, "M_BAD_JSON", "id_server"),
    ("/delete_devices", {"devices": None}, "M_BAD_JSON", "devices"),
    ("/delete_devices", {"auth": {}}, "M_MISSING_PARAM", "devices"),
], ids=["stage-password-number", "identifier-without-type", "id-server-number",
        "devices-null", "devices-missing"])
def test_uia_protected_fields(kit: Kit, caller: User, path: str, body: dict[str, Any],
                              errcode: str, names: str) -> None:
    assert names in assert_error(post(kit, caller, path, body), 400, errcode)["error"]
    assert kit.request("GET", f"{V3}/account/whoami", caller.access_token).status_code == 200


# -- pushers -----------------------------------------------------------------------------


def test_pusher_profile_tag_and_append_are_typed(kit: Kit, caller: User) -> None:
    good = {"kind": "http", "app_id": "a", "pushkey": "k", "app_display_name": "A",
            "device_display_name": "D", "lang": "en",
            "data": {"url": "https://push.example.org/_matrix/push/v1/notify"}}
    for field, value in (("profile_tag", 5), ("append", "yes"), ("data", [])):
        r = post(kit, caller, "/pushers/set", {**good, field: value})
        assert field in assert_error(r, 400, "M_BAD_JSON")["error"]
    assert post(kit, caller, "/pushers/set", {**good, "profile_tag": "t"}).status_code == 200
    pushers = kit.request("GET", f"{V3}/pushers", caller.access_token).json()["pushers"]
    assert [p["profile_tag"] for p in pushers] == ["t"]
