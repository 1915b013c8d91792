"""``POST /register`` with user-interactive auth across several requests: the session
remembers what its first request asked for (username, password, device, inhibit_login),
as Synapse keeps a session's client dict, and a registration without a username gets a
generated one even when it takes several requests."""

from __future__ import annotations

from tests.kit import PASSWORD, Kit, assert_error, unique

REGISTER = "/_matrix/client/v3/register"
DUMMY = "m.login.dummy"


def first_request(kit: Kit, **body: object) -> str:
    r = kit.http.post(REGISTER, json=body)
    assert r.status_code == 401, r.text
    return str(r.json()["session"])


def test_later_stages_may_leave_the_parameters_out(kit: Kit) -> None:
    localpart = unique("later")
    session = first_request(kit, username=localpart, password=PASSWORD, device_id="FIRSTDEV",
                            initial_device_display_name="Phone")
    r = kit.http.post(REGISTER, json={"auth": {"type": DUMMY, "session": session}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_id"] == f"@{localpart}:localhost"
    assert body["device_id"] == "FIRSTDEV"
    device = kit.request("GET", "/_matrix/client/v3/devices/FIRSTDEV", body["access_token"])
    assert device.json()["display_name"] == "Phone"
    # The remembered password is the account's.
    assert kit.login(body["user_id"]).user_id == body["user_id"]


def test_inhibit_login_is_remembered(kit: Kit) -> None:
    localpart = unique("inhibit")
    session = first_request(kit, username=localpart, password=PASSWORD, inhibit_login=True)
    r = kit.http.post(REGISTER, json={"username": localpart,
                                      "auth": {"type": DUMMY, "session": session}})
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": f"@{localpart}:localhost", "home_server": "localhost"}


def test_the_username_cannot_change_within_a_session(kit: Kit) -> None:
    session = first_request(kit, username=unique("one"), password=PASSWORD)
    other = unique("two")
    r = kit.http.post(REGISTER, json={"username": other,
                                      "auth": {"type": DUMMY, "session": session}})
    assert_error(r, 403, "M_FORBIDDEN")


def test_no_username_over_two_requests_generates_one(kit: Kit) -> None:
    session = first_request(kit, password=PASSWORD)
    r = kit.http.post(REGISTER, json={"auth": {"type": DUMMY, "session": session}})
    assert r.status_code == 200, r.text
    user_id = r.json()["user_id"]
    assert user_id.endswith(":localhost") and r.json()["access_token"]
    assert kit.login(user_id).user_id == user_id


def test_no_password_in_any_request(kit: Kit) -> None:
    session = first_request(kit, username=unique("nopw"))
    r = kit.http.post(REGISTER, json={"auth": {"type": DUMMY, "session": session}})
    assert_error(r, 400, "M_MISSING_PARAM")
