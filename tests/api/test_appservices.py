"""Application services against a real Glia: a mautrix-python bridge, delivery through
outages and a kill -9, and the refusals (wrong token, foreign users, reserved names)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.appservice_kit import FakeAppService, MautrixBridge, Registration, new_registration
from tests.kit import Kit, assert_error, create_room, send_event, unique, wait_until
from tests.server import GliaProcess

Start = Callable[..., GliaProcess]


def _env(*registrations: Registration, **extra: str) -> dict[str, str]:
    directory = Path(tempfile.mkdtemp(prefix="glia-as-"))
    files = [str(r.write(directory)) for r in registrations]
    return {"GLIA_APP_SERVICE_CONFIG_FILES": ",".join(files), **extra}


@pytest.fixture
def bridge_server(glia_factory: Start) -> Iterator[tuple[GliaProcess, Registration, Kit]]:
    # Like real bridges (telegram_…), a prefix a normal user could otherwise register.
    reg = new_registration("bridge")
    reg.prefix = "bridge_"
    server = glia_factory(_env(reg))
    kit = Kit(server.url)
    yield server, reg, kit
    kit.close()


def _messages(kit: Kit, token: str, room: str) -> list[dict]:
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{quote(room)}/messages?dir=b&limit=50",
                    token)
    assert r.status_code == 200, r.text
    return [e for e in r.json()["chunk"] if e["type"] == "m.room.message"]


def _health(kit: Kit, admin_token: str, service_id: str) -> dict:
    r = kit.request("GET", f"/_glia/admin/v1/appservices/{service_id}", admin_token)
    assert r.status_code == 200, r.text
    return r.json()


def test_mautrix_bridge_portal_chat_and_outage(
        bridge_server: tuple[GliaProcess, Registration, Kit]) -> None:
    server, reg, kit = bridge_server
    bridge = MautrixBridge(reg, server.url)
    try:
        bridge.start()
        # What mautrix bridges do at start-up: Glia pings the bridge back.
        assert bridge.run(bridge.az.ping_self) >= 0
        alice = kit.register_user()
        admin = kit.make_admin()
        room = create_room(kit, alice, name="portal")
        bob = bridge.intent("bob")
        bridge.run(bob.ensure_registered)
        r = kit.request("POST", f"/_matrix/client/v3/rooms/{quote(room)}/invite",
                        alice.access_token, json={"user_id": reg.user("bob")})
        assert r.status_code == 200, r.text
        bridge.run(lambda: bob.ensure_joined(room))
        send_event(kit, alice, room, {"msgtype": "m.text", "body": "hello bob"})
        wait_until(lambda: "hello bob" in bridge.texts(), what="the bridge got the message")
        bridged_ts = 1_600_000_000_000
        bridge.run(lambda: bob.send_text(room, "hi alice", timestamp=bridged_ts))
        reply = [e for e in _messages(kit, alice.access_token, room)
                 if e["sender"] == reg.user("bob")]
        assert reply[0]["content"]["body"] == "hi alice"
        assert reply[0]["origin_server_ts"] == bridged_ts

        # The bridge goes away; what is said meanwhile waits for it, in order.
        bridge.stop()
        missed = [f"missed {i}" for i in range(5)]
        for text in missed:
            send_event(kit, alice, room, {"msgtype": "m.text", "body": text})
        health = wait_until(lambda: (h := _health(kit, admin.access_token, "bridge"))
                            ["failing_since_ts"] and h, what="the failure to show")
        assert health["backlog"] >= 5 and "cannot connect" in health["last_error"]
        bridge.start()
        r = kit.request("POST", "/_glia/admin/v1/appservices/bridge/retry",
                        admin.access_token)
        assert r.status_code == 200, r.text
        wait_until(lambda: all(t in bridge.texts() for t in missed), what="missed events")
        got = [t for t in bridge.texts() if t.startswith("missed")]
        assert got == missed
        health = wait_until(lambda: (h := _health(kit, admin.access_token, "bridge"))
                            ["backlog"] == 0 and h, what="the backlog to drain")
        assert health["failing_since_ts"] is None and health["last_error"] is None
        assert health["last_success_ts"] is not None
        audit = kit.request("GET", "/_glia/admin/v1/audit_log?action=appservices.retry",
                            admin.access_token).json()
        assert audit["total"] >= 1 if "total" in audit else audit
    finally:
        bridge.close()


def test_exclusive_namespace_and_masquerading(
        bridge_server: tuple[GliaProcess, Registration, Kit]) -> None:
    _, reg, kit = bridge_server
    # A normal registration of a name in the exclusive namespace is refused.
    r = kit.http.post("/_matrix/client/v3/register", json={
        "username": f"bridge_{unique()}", "password": "a long password",
        "auth": {"type": "m.login.dummy"}})
    assert_error(r, 400, "M_EXCLUSIVE")
    # The service registers it without UIA or password.
    puppet = f"bridge_{unique()}"
    r = kit.request("POST", "/_matrix/client/v3/register", reg.as_token,
                    json={"type": "m.login.application_service", "username": puppet,
                          "inhibit_login": True})
    assert r.status_code == 200, r.text
    user_id = f"@{puppet}:localhost"
    assert r.json()["user_id"] == user_id
    # ... acts as it, via the header or the legacy query parameter.
    r = kit.request("GET", f"/_matrix/client/v3/account/whoami?user_id={quote(user_id)}",
                    reg.as_token)
    assert r.json()["user_id"] == user_id, r.text
    r = kit.http.get("/_matrix/client/v3/account/whoami",
                     params={"access_token": reg.as_token})
    assert r.json()["user_id"] == f"@{reg.sender_localpart}:localhost", r.text
    # ... and logs in as it.
    r = kit.request("POST", "/_matrix/client/v3/login", reg.as_token, json={
        "type": "m.login.application_service",
        "identifier": {"type": "m.id.user", "user": puppet}})
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == user_id
    # Refusals: a wrong as_token, a user outside the namespace, an unregistered one, a
    # device that is not the user's, a service type without a service token.
    assert_error(kit.request("GET", "/_matrix/client/v3/account/whoami", "not-a-token"),
                 401, "M_UNKNOWN_TOKEN")
    outsider = kit.register_user()
    assert_error(kit.request("GET", "/_matrix/client/v3/account/whoami?user_id="
                             + quote(outsider.user_id), reg.as_token), 403, "M_FORBIDDEN")
    assert_error(kit.request("GET", "/_matrix/client/v3/account/whoami?user_id="
                             + quote(reg.user(unique())), reg.as_token), 403, "M_FORBIDDEN")
    assert_error(kit.request("GET", f"/_matrix/client/v3/account/whoami?user_id="
                             f"{quote(user_id)}&device_id=NOPE", reg.as_token),
                 400, "M_UNKNOWN_DEVICE")
    assert_error(kit.http.post("/_matrix/client/v3/register", json={
        "type": "m.login.application_service", "username": puppet}), 401, "M_MISSING_TOKEN")
    assert_error(kit.request("POST", "/_matrix/client/v3/register", reg.as_token, json={
        "type": "m.login.application_service", "username": unique()}), 400, "M_EXCLUSIVE")
    # Aliases in the exclusive namespace are the service's.
    room = create_room(kit, outsider)
    assert_error(kit.request("PUT", f"/_matrix/client/v3/directory/room/"
                             f"{quote('#bridge_x:localhost')}", outsider.access_token,
                             json={"room_id": room}), 400, "M_EXCLUSIVE")
    # An out-of-range ts is refused.
    assert_error(kit.request("PUT", f"/_matrix/client/v3/rooms/{quote(room)}/send/m.room."
                             f"message/t1?ts=-5", reg.as_token, json={}), 400,
                 "M_INVALID_PARAM")
    # Third-party lookups with no protocol anywhere are empty.
    r = kit.request("GET", "/_matrix/client/v3/thirdparty/protocols", outsider.access_token)
    assert r.status_code == 200 and r.json() == {}, r.text
    r = kit.request("GET", "/_matrix/client/v3/thirdparty/location?alias=x",
                    outsider.access_token)
    assert r.status_code == 200 and r.json() == [], r.text


def test_failing_and_hanging_services_do_not_hold_up_others(glia_factory: Start) -> None:
    failing, hanging, healthy = (new_registration(n) for n in ("failing", "hanging", "ok"))
    fakes = [FakeAppService(r) for r in (failing, hanging, healthy)]
    fakes[0].status = 500
    fakes[1].status = None
    server = glia_factory(_env(failing, hanging, healthy, GLIA_APP_SERVICE_TIMEOUT="2"))
    kit = Kit(server.url)
    try:
        admin = kit.make_admin()
        alice = kit.register_user()
        room = create_room(kit, alice)
        for reg in (failing, hanging, healthy):
            puppet = reg.user("p")
            r = kit.request("POST", "/_matrix/client/v3/register", reg.as_token, json={
                "type": "m.login.application_service", "username": puppet[1:].split(":")[0],
                "inhibit_login": True})
            assert r.status_code == 200, r.text
            kit.request("POST", f"/_matrix/client/v3/rooms/{quote(room)}/invite",
                        alice.access_token, json={"user_id": puppet})
        texts = [f"m{i}" for i in range(4)]
        for text in texts:
            send_event(kit, alice, room, {"msgtype": "m.text", "body": text})

        def bodies(fake: FakeAppService) -> list[str]:
            return [e["content"].get("body") for e in fake.delivered()
                    if e["type"] == "m.room.message"]

        wait_until(lambda: bodies(fakes[2]) == texts, what="the healthy service")
        health = wait_until(lambda: (h := _health(kit, admin.access_token, "failing"))
                            ["last_error"] and h, what="the 500 to show")
        assert health["last_error"].startswith("HTTP 500")
        health = wait_until(lambda: (h := _health(kit, admin.access_token, "hanging"))
                            ["last_error"] and h, what="the timeout to show")
        assert "no answer" in health["last_error"]
        # Fixed, they get everything, in order, the failed transactions under their txnIds.
        fakes[0].status = 200
        fakes[1].status = 200
        fakes[1].release()
        for sid in ("failing", "hanging"):
            kit.request("POST", f"/_glia/admin/v1/appservices/{sid}/retry", admin.access_token)
        for fake in fakes[:2]:
            wait_until(lambda f=fake: bodies(f) == texts, what="the recovered service")
        failed_ids = {t.removeprefix("failed:") for t, _ in fakes[0].transactions
                      if t.startswith("failed:")}
        assert failed_ids <= {t for t, _ in fakes[0].transactions}
        # A non-service token cannot ping; the healthy service can; an error is reported.
        r = kit.request("POST", "/_matrix/client/v1/appservice/ok/ping", healthy.as_token,
                        json={"transaction_id": "t"})
        assert_error(r, 502, "M_BAD_STATUS")
        assert r.json()["status"] == 404
        fakes[2].answers["/_matrix/app/v1/ping"] = (200, {})
        assert_error(kit.request("POST", "/_matrix/client/v1/appservice/ok/ping",
                                 alice.access_token, json={}), 403, "M_FORBIDDEN")
        r = kit.request("POST", "/_matrix/client/v1/appservice/ok/ping", healthy.as_token,
                        json={"transaction_id": "t"})
        assert r.status_code == 200 and "duration_ms" in r.json(), r.text
    finally:
        kit.close()
        for fake in fakes:
            fake.close()


def test_queued_transactions_survive_kill9(glia_factory: Start) -> None:
    reg = new_registration("crash")
    fake = FakeAppService(reg)
    fake.status = 500
    server = glia_factory(_env(reg))
    kit = Kit(server.url)
    try:
        alice = kit.register_user()
        room = create_room(kit, alice)
        r = kit.request("POST", "/_matrix/client/v3/register", reg.as_token, json={
            "type": "m.login.application_service", "username": "_crash_p",
            "inhibit_login": True})
        assert r.status_code == 200, r.text
        kit.request("POST", f"/_matrix/client/v3/rooms/{quote(room)}/invite",
                    alice.access_token, json={"user_id": reg.user("p")})
        texts = [f"before crash {i}" for i in range(5)]
        for text in texts:
            send_event(kit, alice, room, {"msgtype": "m.text", "body": text})
        wait_until(lambda: fake.transactions, what="a first attempt")
        first = fake.transactions[0][0].removeprefix("failed:")
        server.kill9()
        kit.http.close()
        fake.status = 200
        server.start()
        kit = Kit(server.url)
        wait_until(lambda: [e["content"]["body"] for e in fake.delivered()
                            if e["type"] == "m.room.message"] == texts,
                   what="delivery after the restart")
        delivered_ids = [t for t, _ in fake.transactions if not t.startswith("failed:")]
        assert delivered_ids[0] == first  # the redelivered transaction kept its txnId
    finally:
        kit.close()
        fake.close()


def test_malformed_registration_file_stops_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nurl: ftp://nowhere\nas_token: a\nhs_token: a\n"
                   "sender_localpart: bot\nnamespaces: {users: [{regex: '((', "
                   "exclusive: true}]}\n")
    config = tmp_path / "glia.yaml"
    config.write_text(f"data_dir: {tmp_path}\napp_service_config_files: [bad.yaml]\n")
    done = subprocess.run([sys.executable, "-m", "glia", "serve", "-c", str(config)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "bad.yaml: url: must be an http(s) URL" in done.stderr
    assert "bad.yaml: hs_token: must differ from as_token" in done.stderr
    assert "bad.yaml: namespaces.users[0].regex: not a valid regular expression" \
        in done.stderr


def test_rate_limits_only_where_the_registration_asks(glia_factory: Start) -> None:
    free, limited = new_registration("free"), new_registration("limited", rate_limited=True)
    server = glia_factory(_env(free, limited, GLIA_RATELIMIT__ENABLED="true",
                               GLIA_RATELIMIT__MESSAGE__PER_SECOND="0.01",
                               GLIA_RATELIMIT__MESSAGE__BURST="2"))
    kit = Kit(server.url)
    try:
        alice = kit.register_user()
        room = create_room(kit, alice, preset="public_chat")

        def sends(reg: Registration, user_id: str | None) -> list[int]:
            query = f"?user_id={quote(user_id)}" if user_id else ""
            r = kit.request("POST", f"/_matrix/client/v3/join/{quote(room)}{query}",
                            reg.as_token)
            assert r.status_code == 200, r.text
            return [kit.request("PUT", f"/_matrix/client/v3/rooms/{quote(room)}/send/"
                                f"m.room.message/{unique()}{query}", reg.as_token,
                                json={"body": "x", "msgtype": "m.text"}).status_code
                    for _ in range(5)]

        for reg in (free, limited):
            kit.request("POST", "/_matrix/client/v3/register", reg.as_token, json={
                "type": "m.login.application_service", "username": f"_{reg.id}_p",
                "inhibit_login": True})
        assert sends(free, free.user("p")) == [200] * 5
        assert 429 in sends(limited, limited.user("p"))
        # The sender itself is never limited.
        assert sends(limited, None) == [200] * 5
    finally:
        kit.close()


def test_two_processes_deliver_each_event_once_in_order(
        db_kind: str, new_database_url: Callable[[], str]) -> None:
    if db_kind != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    reg = new_registration("shared")
    fake = FakeAppService(reg)
    url = new_database_url()
    env = _env(reg, GLIA_DATABASE__SEVERAL_PROCESSES="true")
    servers = [GliaProcess(url, env).start(), GliaProcess(url, env).start()]
    kits = [Kit(s.url) for s in servers]
    try:
        alice = kits[0].register_user()
        room = create_room(kits[0], alice)
        r = kits[1].request("POST", "/_matrix/client/v3/register", reg.as_token, json={
            "type": "m.login.application_service", "username": "_shared_p",
            "inhibit_login": True})
        assert r.status_code == 200, r.text
        kits[0].request("POST", f"/_matrix/client/v3/rooms/{quote(room)}/invite",
                        alice.access_token, json={"user_id": reg.user("p")})
        texts = [f"via {i % 2} #{i}" for i in range(10)]
        for i, text in enumerate(texts):
            send_event(kits[i % 2], alice, room, {"msgtype": "m.text", "body": text})

        def bodies() -> list[str]:
            return [e["content"]["body"] for e in fake.delivered()
                    if e["type"] == "m.room.message"]

        wait_until(lambda: len(bodies()) >= len(texts), what="delivery")
        time.sleep(1.5)  # a second process sending again would show by now
        assert bodies() == texts
        txn_ids = [t for t, _ in fake.transactions]
        assert len(txn_ids) == len(set(txn_ids))
    finally:
        for kit in kits:
            kit.close()
        for server in servers:
            server.stop()
            assert "Traceback" not in server.log(), server.log()[-3000:]
        fake.close()
