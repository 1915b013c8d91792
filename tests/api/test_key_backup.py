"""Server-side key backups over raw HTTP: version create/get/update/delete, keys at the
three levels (all, room, session), the spec's rules for which copy of a session is kept,
``etag``/``count``, and the version errors (403 M_WRONG_ROOM_KEYS_VERSION, 404)."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit, User, assert_error

V3 = "/_matrix/client/v3"
VERSION = f"{V3}/room_keys/version"
KEYS = f"{V3}/room_keys/keys"
ALGORITHM = "m.megolm_backup.v1.curve25519-aes-sha2"
ROOM_A, ROOM_B = "!aaaa:localhost", "!bbbb:localhost"


def create(kit: Kit, user: User, public_key: str = "pk1") -> str:
    r = kit.request("POST", VERSION, user.access_token,
                    json={"algorithm": ALGORITHM, "auth_data": {"public_key": public_key}})
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    assert isinstance(version, str)
    return str(version)


def session(first: int = 0, forwarded: int = 0, verified: bool = False,
            tag: str = "data") -> dict[str, Any]:
    return {"first_message_index": first, "forwarded_count": forwarded,
            "is_verified": verified,
            "session_data": {"ephemeral": "e", "ciphertext": tag, "mac": "m"}}


def put(kit: Kit, user: User, path: str, version: str, body: Any) -> dict[str, Any]:
    r = kit.request("PUT", path, user.access_token, params={"version": version}, json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def get(kit: Kit, user: User, path: str, version: str) -> Any:
    r = kit.request("GET", path, user.access_token, params={"version": version})
    assert r.status_code == 200, r.text
    return r.json()


def test_versions_lifecycle(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    assert_error(kit.request("GET", VERSION, alice.access_token), 404, "M_NOT_FOUND")
    v1 = create(kit, alice)
    info = kit.request("GET", VERSION, alice.access_token).json()
    assert info == {"algorithm": ALGORITHM, "auth_data": {"public_key": "pk1"}, "count": 0,
                    "etag": "0", "version": v1}
    assert kit.request("GET", f"{VERSION}/{v1}", alice.access_token).json() == info
    # Backups are per user.
    assert_error(kit.request("GET", VERSION, bob.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{VERSION}/{v1}", bob.access_token), 404, "M_NOT_FOUND")

    v2 = create(kit, alice, "pk2")
    assert int(v2) > int(v1)
    assert kit.request("GET", VERSION, alice.access_token).json()["version"] == v2
    assert kit.request("GET", f"{VERSION}/{v1}", alice.access_token).json()["version"] == v1

    # Update: only auth_data changes; the algorithm and a body version must match.
    r = kit.request("PUT", f"{VERSION}/{v2}", alice.access_token,
                    json={"algorithm": ALGORITHM, "auth_data": {"public_key": "pk2",
                                                                "signatures": {}},
                          "version": v2})
    assert r.status_code == 200 and r.json() == {}, r.text
    assert kit.request("GET", f"{VERSION}/{v2}", alice.access_token).json()["auth_data"] == {
        "public_key": "pk2", "signatures": {}}
    r = kit.request("PUT", f"{VERSION}/{v2}", alice.access_token,
                    json={"algorithm": "other.algorithm", "auth_data": {}})
    assert_error(r, 400, "M_INVALID_PARAM")
    r = kit.request("PUT", f"{VERSION}/{v2}", alice.access_token,
                    json={"algorithm": ALGORITHM, "auth_data": {"public_key": "pk2"},
                          "version": v1})
    assert_error(r, 400, "M_INVALID_PARAM")
    r = kit.request("PUT", f"{VERSION}/999", alice.access_token,
                    json={"algorithm": ALGORITHM, "auth_data": {"public_key": "pk2"}})
    assert_error(r, 404, "M_NOT_FOUND")

    # Delete: gone, deleting again succeeds, an unknown version is 404.
    assert kit.request("DELETE", f"{VERSION}/{v2}", alice.access_token).status_code == 200
    assert_error(kit.request("GET", f"{VERSION}/{v2}", alice.access_token), 404, "M_NOT_FOUND")
    assert kit.request("DELETE", f"{VERSION}/{v2}", alice.access_token).status_code == 200
    for unknown in ("999", "abc", "-1", "1.5"):
        assert_error(kit.request("DELETE", f"{VERSION}/{unknown}", alice.access_token), 404,
                     "M_NOT_FOUND")
        assert_error(kit.request("GET", f"{VERSION}/{unknown}", alice.access_token), 404,
                     "M_NOT_FOUND")
    # The older version is current again; a new one never reuses a number.
    assert kit.request("GET", VERSION, alice.access_token).json()["version"] == v1
    assert int(create(kit, alice)) > int(v2)


def test_keys_at_three_levels(kit: Kit) -> None:
    alice = kit.register_user()
    version = create(kit, alice)
    result = put(kit, alice, KEYS, version, {"rooms": {
        ROOM_A: {"sessions": {"s1": session(tag="a1"), "s2": session(tag="a2")}},
        ROOM_B: {"sessions": {"s3": session(tag="b3")}}}})
    assert result["count"] == 3
    etag = result["etag"]
    result = put(kit, alice, f"{KEYS}/{ROOM_B}", version,
                 {"sessions": {"s4": session(tag="b4")}})
    assert result["count"] == 4 and result["etag"] != etag
    result = put(kit, alice, f"{KEYS}/{ROOM_B}/s5", version, session(tag="b5"))
    assert result["count"] == 5

    everything = get(kit, alice, KEYS, version)
    assert set(everything["rooms"]) == {ROOM_A, ROOM_B}
    assert set(everything["rooms"][ROOM_B]["sessions"]) == {"s3", "s4", "s5"}
    assert get(kit, alice, f"{KEYS}/{ROOM_A}", version) == {
        "sessions": {"s1": session(tag="a1"), "s2": session(tag="a2")}}
    assert get(kit, alice, f"{KEYS}/{ROOM_A}/s2", version) == session(tag="a2")
    assert get(kit, alice, f"{KEYS}/!none:localhost", version) == {"sessions": {}}
    r = kit.request("GET", f"{KEYS}/{ROOM_A}/nosuch", alice.access_token,
                    params={"version": version})
    assert_error(r, 404, "M_NOT_FOUND")
    info = kit.request("GET", VERSION, alice.access_token).json()
    assert info["count"] == 5

    r = kit.request("DELETE", f"{KEYS}/{ROOM_A}/s1", alice.access_token,
                    params={"version": version})
    assert r.status_code == 200 and r.json()["count"] == 4
    r = kit.request("DELETE", f"{KEYS}/{ROOM_B}", alice.access_token,
                    params={"version": version})
    assert r.json()["count"] == 1
    r = kit.request("DELETE", KEYS, alice.access_token, params={"version": version})
    assert r.json()["count"] == 0
    assert get(kit, alice, KEYS, version) == {"rooms": {}}
    # Deleting a version deletes its keys.
    put(kit, alice, KEYS, version, {"rooms": {ROOM_A: {"sessions": {"s1": session()}}}})
    assert kit.request("DELETE", f"{VERSION}/{version}", alice.access_token).status_code == 200
    r = kit.request("GET", KEYS, alice.access_token, params={"version": version})
    assert_error(r, 404, "M_NOT_FOUND")


def test_replacement_rules(kit: Kit) -> None:
    alice = kit.register_user()
    version = create(kit, alice)
    path = f"{KEYS}/{ROOM_A}/s1"

    def stored() -> dict[str, Any]:
        return dict(get(kit, alice, path, version))

    first = put(kit, alice, path, version, session(first=5, forwarded=2, tag="orig"))
    # A worse key (higher index) is ignored: etag unchanged.
    same = put(kit, alice, path, version, session(first=9, forwarded=0, tag="worse"))
    assert same == first and stored()["session_data"]["ciphertext"] == "orig"
    # Lower first_message_index wins.
    put(kit, alice, path, version, session(first=3, forwarded=4, tag="lower-index"))
    assert stored()["session_data"]["ciphertext"] == "lower-index"
    # Same index: lower forwarded_count wins; equal keeps the old one.
    put(kit, alice, path, version, session(first=3, forwarded=1, tag="less-forwarded"))
    assert stored()["session_data"]["ciphertext"] == "less-forwarded"
    put(kit, alice, path, version, session(first=3, forwarded=1, tag="equal"))
    assert stored()["session_data"]["ciphertext"] == "less-forwarded"
    # Verified beats unverified whatever the index; unverified never replaces verified.
    put(kit, alice, path, version, session(first=50, forwarded=9, verified=True, tag="v"))
    assert stored()["session_data"]["ciphertext"] == "v"
    put(kit, alice, path, version, session(first=0, forwarded=0, tag="unverified"))
    assert stored()["session_data"]["ciphertext"] == "v"
    put(kit, alice, path, version, session(first=10, forwarded=9, verified=True, tag="v2"))
    assert stored()["session_data"]["ciphertext"] == "v2"


def test_wrong_version(kit: Kit) -> None:
    alice = kit.register_user()
    r = kit.request("PUT", KEYS, alice.access_token, params={"version": "1"},
                    json={"rooms": {}})
    assert_error(r, 404, "M_NOT_FOUND")  # no backup at all
    old = create(kit, alice)
    current = create(kit, alice)
    body = {"rooms": {ROOM_A: {"sessions": {"s1": session()}}}}
    for path, payload in ((KEYS, body), (f"{KEYS}/{ROOM_A}", body["rooms"][ROOM_A]),
                          (f"{KEYS}/{ROOM_A}/s1", session())):
        r = kit.request("PUT", path, alice.access_token, params={"version": old},
                        json=payload)
        error = assert_error(r, 403, "M_WRONG_ROOM_KEYS_VERSION")
        assert error["current_version"] == current
    r = kit.request("PUT", KEYS, alice.access_token, params={"version": "12345"}, json=body)
    assert_error(r, 404, "M_NOT_FOUND")
    # A deleted version is not current either.
    assert kit.request("DELETE", f"{VERSION}/{current}", alice.access_token).status_code == 200
    r = kit.request("PUT", KEYS, alice.access_token, params={"version": current}, json=body)
    assert assert_error(r, 403, "M_WRONG_ROOM_KEYS_VERSION")["current_version"] == old
    # Reading and deleting keys of an older (not deleted) version is allowed.
    assert get(kit, alice, KEYS, old) == {"rooms": {}}
    # The version query parameter is required.
    for method in ("GET", "PUT", "DELETE"):
        r = kit.request(method, KEYS, alice.access_token,
                        json=body if method == "PUT" else None)
        assert_error(r, 400, "M_MISSING_PARAM")


def test_bad_input(kit: Kit) -> None:
    alice = kit.register_user()
    version = create(kit, alice)
    for body, errcode in (({}, "M_MISSING_PARAM"),
                          ({"algorithm": ALGORITHM}, "M_MISSING_PARAM"),
                          ({"algorithm": 1, "auth_data": {}}, "M_BAD_JSON"),
                          ({"algorithm": ALGORITHM, "auth_data": "x"}, "M_BAD_JSON")):
        assert_error(kit.request("POST", VERSION, alice.access_token, json=body), 400, errcode)
    cases: list[tuple[str, Any, str]] = [
        (KEYS, {}, "M_MISSING_PARAM"),
        (KEYS, {"rooms": []}, "M_BAD_JSON"),
        (KEYS, {"rooms": {ROOM_A: {}}}, "M_MISSING_PARAM"),
        (KEYS, {"rooms": {ROOM_A: {"sessions": {"s": "x"}}}}, "M_BAD_JSON"),
        (f"{KEYS}/{ROOM_A}", {"sessions": []}, "M_BAD_JSON"),
        (f"{KEYS}/{ROOM_A}/s", {k: v for k, v in session().items()
                                if k != "session_data"}, "M_MISSING_PARAM"),
        (f"{KEYS}/{ROOM_A}/s", dict(session(), first_message_index="1"), "M_BAD_JSON"),
        (f"{KEYS}/{ROOM_A}/s", dict(session(), first_message_index=True), "M_BAD_JSON"),
        (f"{KEYS}/{ROOM_A}/s", dict(session(), forwarded_count=-1), "M_INVALID_PARAM"),
        (f"{KEYS}/{ROOM_A}/s", dict(session(), is_verified="yes"), "M_BAD_JSON"),
        (f"{KEYS}/{ROOM_A}/s", dict(session(), session_data="opaque"), "M_BAD_JSON"),
    ]
    for path, body, errcode in cases:
        r = kit.request("PUT", path, alice.access_token, params={"version": version},
                        json=body)
        assert_error(r, 400, errcode)
    assert get(kit, alice, KEYS, version) == {"rooms": {}}
