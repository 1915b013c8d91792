"""The server log never contains an access token, a password or the shared secret."""

from __future__ import annotations

from collections.abc import Callable

from tests.kit import Kit, unique
from tests.server import SHARED_SECRET, GliaProcess


def test_log_has_no_secrets(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_LOGGING__LEVEL": "DEBUG"})
    kit = Kit(server.url)
    secrets: list[str] = [SHARED_SECRET]
    try:
        # Open registration, in one request, with a password.
        reg_password = unique("RegPassword")
        r = kit.http.post("/_matrix/client/v3/register", json={
            "username": unique("logreg"), "password": reg_password,
            "auth": {"type": "m.login.dummy"},
        })
        assert r.status_code == 200, r.text
        secrets += [reg_password, r.json()["access_token"]]

        # Shared-secret registration (nonce and MAC are secrets too).
        ss_password = unique("SharedPassword")
        user = kit.register_user(password=ss_password)
        secrets += [ss_password, user.access_token]

        # Password login, a failed one, and a login with the token in the query string.
        login = kit.login(user.user_id, ss_password)
        secrets.append(login.access_token)
        wrong = unique("WrongPassword")
        r = kit.http.post("/_matrix/client/v3/login", json={
            "type": "m.login.password", "password": wrong,
            "identifier": {"type": "m.id.user", "user": user.user_id},
        })
        assert r.status_code == 403
        secrets.append(wrong)
        r = kit.http.get("/_matrix/client/v3/account/whoami",
                         params={"access_token": login.access_token, "other": "kept"})
        assert r.status_code == 200
        r = kit.http.get("/_matrix/client/v3/account/whoami",
                         params={"access_token": "glia_" + unique("bogus")})
        assert r.status_code == 401
        secrets.append(str(r.request.url.params["access_token"]))

        # Password change through UIA, with a wrong attempt first.
        new_password = unique("NewPassword")
        body = {"new_password": new_password, "logout_devices": False}
        session = kit.request("POST", "/_matrix/client/v3/account/password",
                              login.access_token, json=body).json()["session"]
        for attempt in (unique("BadUiaPassword"), ss_password):
            r = kit.request("POST", "/_matrix/client/v3/account/password", login.access_token,
                            json={**body, "auth": {
                                "type": "m.login.password", "password": attempt,
                                "session": session,
                                "identifier": {"type": "m.id.user", "user": user.user_id}}})
            secrets.append(attempt)
        assert r.status_code == 200, r.text
        secrets.append(new_password)
        assert kit.login(user.user_id, new_password)

        # A request that errors inside a handler still logs no body.
        kit.http.post("/_matrix/client/v3/login", content=b'{"password": "' +
                      reg_password.encode() + b'", broken')
    finally:
        kit.close()
        server.stop()

    log = server.log()
    assert "glia.access" in log and "/_matrix/client/v3/login" in log  # the log is there
    assert "access_token=%3Credacted%3E" in log or "access_token=<redacted>" in log
    assert "other=kept" in log
    leaked = [s for s in secrets if s in log]
    assert not leaked, f"secrets in the server log: {leaked}"
