"""The server starts and answers discovery endpoints."""

from tests.kit import Kit, assert_error


def test_versions(kit: Kit) -> None:
    r = kit.http.get("/_matrix/client/versions")
    assert r.status_code == 200
    assert "v1.1" in r.json()["versions"]
    assert r.headers["access-control-allow-origin"] == "*"


def test_unknown_path_is_unrecognized(kit: Kit) -> None:
    assert_error(kit.http.get("/_matrix/client/v3/nonexistent"), 404, "M_UNRECOGNIZED")


def test_wrong_method_is_405(kit: Kit) -> None:
    assert_error(kit.http.delete("/_matrix/client/versions"), 405, "M_UNRECOGNIZED")


def test_whoami_roundtrip(kit: Kit) -> None:
    user = kit.register_user()
    r = kit.request("GET", "/_matrix/client/v3/account/whoami", user.access_token)
    assert r.json() == {"user_id": user.user_id, "device_id": user.device_id, "is_guest": False}
