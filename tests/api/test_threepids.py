"""3PIDs (client-server spec, "Adding Account Administrative Contact Information" and
the ``requestToken`` endpoints): email validation by a mailed token, sent through a real
SMTP server on loopback (aiosmtpd) whose mail the tests read; adding, listing and deleting
an address; phone numbers refused (``M_THREEPID_DENIED``, as Synapse without an SMS
sender); the admin lookup by 3PID finding the address added."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.api.mail import SmtpServer, link_of
from tests.kit import Kit, User, assert_error, unique, wait_until
from tests.server import GliaProcess

V3 = "/_matrix/client/v3"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mail_kit(new_database_url: Callable[[], str], smtp: SmtpServer) -> Iterator[Kit]:
    server = GliaProcess(new_database_url(), smtp.env()).start()
    kit = Kit(server.url)
    yield kit
    kit.close()
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-5000:]


def new_address() -> str:
    return f"{unique('mail')}@Example.ORG"


def secret() -> str:
    return uuid.uuid4().hex


def request_token(kit: Kit, path: str, address: str, client_secret: str,
                  attempt: int = 1, **extra: Any) -> Any:
    return kit.request("POST", f"{V3}{path}", json={
        "client_secret": client_secret, "email": address, "send_attempt": attempt, **extra})


def follow_mailed_link(kit: Kit, smtp: SmtpServer, address: str, count: int = 1
                       ) -> dict[str, str]:
    """Wait for the ``count``-th mail to ``address``, follow its link; its parameters."""
    mails = wait_until(lambda: (m := smtp.mailbox.to(address.lower())) and
                       len(m) >= count and m, what="the validation mail")
    path, params = link_of(mails[count - 1])
    r = kit.request("GET", path, params=params)
    assert r.status_code == 200, r.text
    assert "validated" in r.text
    return params


def add_email(kit: Kit, smtp: SmtpServer, user: User, address: str) -> None:
    client_secret = secret()
    r = request_token(kit, "/account/3pid/email/requestToken", address, client_secret)
    assert r.status_code == 200, r.text
    sid = r.json()["sid"]
    params = follow_mailed_link(kit, smtp, address)
    assert params["sid"] == sid and params["client_secret"] == client_secret
    body: dict[str, Any] = {"sid": sid, "client_secret": client_secret}
    # Adding needs the password (user-interactive auth).
    r = kit.request("POST", f"{V3}/account/3pid/add", user.access_token, json=body)
    assert r.status_code == 401, r.text
    body["auth"] = {"type": "m.login.password", "session": r.json()["session"],
                    "identifier": {"type": "m.id.user", "user": user.user_id},
                    "password": user.password}
    r = kit.request("POST", f"{V3}/account/3pid/add", user.access_token, json=body)
    assert r.status_code == 200 and r.json() == {}, r.text


def threepids(kit: Kit, user: User) -> list[dict[str, Any]]:
    r = kit.request("GET", f"{V3}/account/3pid", user.access_token)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["threepids"]
    return found


def test_add_list_look_up_and_delete_an_email(mail_kit: Kit, smtp: SmtpServer) -> None:
    kit = mail_kit
    user, admin = kit.register_user(), kit.make_admin()
    address = new_address()
    assert threepids(kit, user) == []
    # With mail set up, clients may offer adding addresses (off without: test_discovery).
    r = kit.request("GET", f"{V3}/capabilities", user.access_token)
    assert r.json()["capabilities"]["m.3pid_changes"] == {"enabled": True}
    add_email(kit, smtp, user, address)

    mail = smtp.mailbox.to(address.lower())[0]
    assert mail["From"] == "Glia <noreply@glia.test>"
    assert "GliaTest" in mail["Subject"]
    [entry] = threepids(kit, user)
    assert entry["medium"] == "email" and entry["address"] == address.lower()
    assert entry["validated_at"] > 0 and entry["added_at"] >= entry["validated_at"]

    # The admin API finds the account by it.
    r = kit.request("GET", f"/_synapse/admin/v1/threepid/email/users/{address.lower()}",
                    admin.access_token)
    assert r.status_code == 200 and r.json()["user_id"] == user.user_id, r.text
    # Nobody else can start validating it for their account, nor register with it.
    for path in ("/account/3pid/email/requestToken", "/register/email/requestToken"):
        assert_error(request_token(kit, path, address, secret()), 400, "M_THREEPID_IN_USE")

    r = kit.request("POST", f"{V3}/account/3pid/delete", user.access_token,
                    json={"medium": "email", "address": address})
    assert r.status_code == 200, r.text
    # Never bound at an identity server through us: nothing to unbind.
    assert r.json() == {"id_server_unbind_result": "no-support"}
    assert threepids(kit, user) == []
    assert_error(kit.request("POST", f"{V3}/account/3pid/delete", user.access_token,
                             json={"medium": "email", "address": address}), 404,
                 "M_NOT_FOUND")


def test_request_token_is_idempotent_per_send_attempt(mail_kit: Kit,
                                                      smtp: SmtpServer) -> None:
    kit = mail_kit
    address, client_secret = new_address(), secret()
    path = "/account/3pid/email/requestToken"
    first = request_token(kit, path, address, client_secret).json()["sid"]
    wait_until(lambda: smtp.mailbox.to(address.lower()), what="the first mail")
    # The same attempt again: the same session, no second mail.
    assert request_token(kit, path, address, client_secret).json()["sid"] == first
    # A new attempt: the same session, a new mail with a new token.
    assert request_token(kit, path, address, client_secret, 2).json()["sid"] == first
    mails = wait_until(lambda: len(m := smtp.mailbox.to(address.lower())) >= 2 and m,
                       what="the second mail")
    assert len(mails) == 2
    assert link_of(mails[0])[1]["token"] != link_of(mails[1])[1]["token"]
    # Only the newest token validates the session.
    path_, params = link_of(mails[0])
    r = kit.request("GET", path_, params=params)
    assert r.status_code == 400 and "not found" in r.text
    follow_mailed_link(kit, smtp, address, count=2)


def test_unvalidated_or_foreign_sessions_cannot_add(mail_kit: Kit, smtp: SmtpServer) -> None:
    kit = mail_kit
    user = kit.register_user()
    address, client_secret = new_address(), secret()
    sid = request_token(kit, "/account/3pid/email/requestToken", address,
                        client_secret).json()["sid"]
    auth = {"type": "m.login.password", "password": user.password,
            "identifier": {"type": "m.id.user", "user": user.user_id}}
    r = kit.request("POST", f"{V3}/account/3pid/add", user.access_token,
                    json={"sid": sid, "client_secret": client_secret, "auth": auth})
    assert_error(r, 400, "M_THREEPID_AUTH_FAILED")
    # The token submitted by the client (the add flow's submit_url form).
    mails = wait_until(lambda: smtp.mailbox.to(address.lower()), what="the mail")
    token = link_of(mails[0])[1]["token"]
    submit = "/_matrix/client/unstable/add_threepid/email/submit_token"
    r = kit.request("POST", submit, json={"sid": sid, "client_secret": client_secret,
                                          "token": "wrong"})
    assert r.status_code == 200 and r.json() == {"success": False}, r.text
    r = kit.request("POST", submit, json={"sid": sid, "client_secret": "other",
                                          "token": token})
    assert r.json() == {"success": False}
    r = kit.request("POST", submit, json={"sid": sid, "client_secret": client_secret,
                                          "token": token})
    assert r.json() == {"success": True}
    # A wrong client secret never adds it.
    r = kit.request("POST", f"{V3}/account/3pid/add", user.access_token,
                    json={"sid": sid, "client_secret": "other", "auth": auth})
    assert_error(r, 400, "M_THREEPID_AUTH_FAILED")
    assert threepids(kit, user) == []


def test_request_token_refusals(mail_kit: Kit, kit: Kit) -> None:
    address = new_address()
    assert_error(request_token(mail_kit, "/account/password/email/requestToken", address,
                               secret()), 400, "M_THREEPID_NOT_FOUND")
    assert_error(request_token(mail_kit, "/register/email/requestToken", address, "no spaces"),
                 400, "M_INVALID_PARAM")
    assert_error(request_token(mail_kit, "/register/email/requestToken", "not-an-address",
                               secret()), 400, "M_INVALID_PARAM")
    assert_error(request_token(mail_kit, "/register/email/requestToken", address, secret(),
                               next_link="javascript:alert(1)"), 400, "M_INVALID_PARAM")
    assert_error(mail_kit.request("POST", f"{V3}/register/email/requestToken",
                                  json={"client_secret": secret(), "email": address}),
                 400, "M_MISSING_PARAM")
    # Without an email section, email validation is off (Synapse's 400).
    assert_error(request_token(kit, "/register/email/requestToken", address, secret()), 400,
                 "M_UNKNOWN")
    # Phone numbers: no SMS sender, on any server.
    for server in (mail_kit, kit):
        for path in ("/register/msisdn/requestToken", "/account/3pid/msisdn/requestToken",
                     "/account/password/msisdn/requestToken"):
            r = server.request("POST", f"{V3}{path}", json={
                "client_secret": secret(), "country": "GB", "phone_number": "07700900001",
                "send_attempt": 1})
            assert_error(r, 400, "M_THREEPID_DENIED")


def email_auth(sid: str, client_secret: str, session: str) -> dict[str, Any]:
    return {"type": "m.login.email.identity", "session": session,
            "threepid_creds": {"sid": sid, "client_secret": client_secret}}


def test_register_with_a_validated_email(mail_kit: Kit, smtp: SmtpServer) -> None:
    kit = mail_kit
    address, client_secret = new_address(), secret()
    r = request_token(kit, "/register/email/requestToken", address, client_secret)
    assert r.status_code == 200, r.text
    sid = r.json()["sid"]
    body: dict[str, Any] = {"username": unique("reg"), "password": "a good password 1"}
    r = kit.request("POST", f"{V3}/register", json=body)
    assert r.status_code == 401, r.text
    assert {"stages": ["m.login.email.identity"]} in r.json()["flows"]
    session = r.json()["session"]
    # Before the link is followed the stage fails, and the session goes on.
    body["auth"] = email_auth(sid, client_secret, session)
    r = kit.request("POST", f"{V3}/register", json=body)
    assert r.status_code == 401 and r.json()["errcode"] == "M_THREEPID_AUTH_FAILED", r.text
    follow_mailed_link(kit, smtp, address)
    r = kit.request("POST", f"{V3}/register", json=body)
    assert r.status_code == 200, r.text
    user = User(r.json()["user_id"], r.json()["access_token"], r.json()["device_id"],
                body["password"])
    assert [t["address"] for t in threepids(kit, user)] == [address.lower()]


def test_reset_a_forgotten_password_by_email(mail_kit: Kit, smtp: SmtpServer) -> None:
    kit = mail_kit
    user, address = kit.register_user(), new_address()
    add_email(kit, smtp, user, address)
    client_secret = secret()
    r = request_token(kit, "/account/password/email/requestToken", address, client_secret)
    assert r.status_code == 200, r.text
    sid = r.json()["sid"]
    body: dict[str, Any] = {"new_password": "a brand new password"}
    r = kit.request("POST", f"{V3}/account/password", json=body)
    assert r.status_code == 401, r.text
    assert r.json()["flows"] == [{"stages": ["m.login.email.identity"]}]
    body["auth"] = email_auth(sid, client_secret, r.json()["session"])
    r = kit.request("POST", f"{V3}/account/password", json=body)
    assert r.status_code == 401 and r.json()["errcode"] == "M_THREEPID_AUTH_FAILED", r.text
    params = follow_mailed_link(kit, smtp, address, count=2)
    assert params["sid"] == sid
    r = kit.request("POST", f"{V3}/account/password", json=body)
    assert r.status_code == 200, r.text
    # The new password logs in, the old one does not, and old sessions ended.
    kit.login(user.user_id, "a brand new password")
    r = kit.http.post(f"{V3}/login", json={
        "type": "m.login.password", "password": user.password,
        "identifier": {"type": "m.id.user", "user": user.user_id}})
    assert_error(r, 403, "M_FORBIDDEN")
    assert_error(kit.request("GET", f"{V3}/account/whoami", user.access_token), 401,
                 "M_UNKNOWN_TOKEN")


def thirdparty(address: str) -> dict[str, str]:
    return {"type": "m.id.thirdparty", "medium": "email", "address": address}


def test_log_in_by_email(mail_kit: Kit, smtp: SmtpServer) -> None:
    """The spec's ``m.id.thirdparty`` identifier (and the legacy top-level ``medium`` and
    ``address``) names the account that has the 3PID."""
    kit = mail_kit
    user, address = kit.register_user(), new_address()
    add_email(kit, smtp, user, address)

    def login(**body: Any) -> Any:
        return kit.http.post(f"{V3}/login", json={"type": "m.login.password", **body})

    # The address as the user typed it is canonicalised (it was stored lower-cased).
    for body in ({"identifier": thirdparty(address)},
                 {"medium": "email", "address": address.lower()}):
        r = login(password=user.password, **body)
        assert r.status_code == 200 and r.json()["user_id"] == user.user_id, r.text
        r = kit.request("GET", f"{V3}/account/whoami", r.json()["access_token"])
        assert r.json()["user_id"] == user.user_id
    # A wrong password and an address nobody has are refused alike (the spec's 403).
    wrong = assert_error(login(password="wrong", identifier=thirdparty(address)), 403,
                         "M_FORBIDDEN")
    unknown = assert_error(login(password=user.password, identifier=thirdparty(
        new_address())), 403, "M_FORBIDDEN")
    assert wrong["error"] == unknown["error"]
    assert_error(login(password=user.password,
                       identifier={"type": "m.id.thirdparty", "medium": "email"}),
                 400, "M_MISSING_PARAM")
    assert_error(login(password=user.password, identifier=thirdparty("not an address")),
                 400, "M_INVALID_PARAM")
    # The password stage of user-interactive auth takes the same identifier.
    r = kit.request("POST", f"{V3}/account/password", user.access_token, json={
        "new_password": "another good password", "logout_devices": False,
        "auth": {"type": "m.login.password", "identifier": thirdparty(address),
                 "password": user.password}})
    assert r.status_code == 200, r.text
    assert login(password="another good password",
                 identifier=thirdparty(address)).status_code == 200
