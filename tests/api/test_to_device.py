"""Send-to-device messaging over raw HTTP: delivery through /sync (one device, ``*``),
idempotent transaction IDs, the 100-message cap per sync with nothing lost on retries,
deletion once acknowledged, bad input and the request size limit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.kit import Kit, User, assert_error, unique

V3 = "/_matrix/client/v3"


def send(kit: Kit, sender: User, messages: Any, event_type: str = "m.test",
         txn_id: str | None = None) -> dict[str, Any]:
    r = kit.request("PUT", f"{V3}/sendToDevice/{event_type}/{txn_id or unique('txn')}",
                    sender.access_token, json={"messages": messages})
    assert r.status_code == 200, r.text
    assert r.json() == {}
    return dict(r.json())


def sync(kit: Kit, user: User, since: str | None = None, timeout: int = 0) -> dict[str, Any]:
    params = {"timeout": str(timeout)}
    if since is not None:
        params["since"] = since
    r = kit.request("GET", f"{V3}/sync", user.access_token, params=params)
    if r.status_code == 404:
        pytest.skip("/sync is not served yet")
    assert r.status_code == 200, r.text
    return dict(r.json())


def to_device(body: dict[str, Any]) -> list[dict[str, Any]]:
    return list(body.get("to_device", {}).get("events", []))


def test_send_to_one_device_and_all(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    bob2 = kit.login(bob.user_id)
    first = sync(kit, bob)
    send(kit, alice, {bob.user_id: {bob.device_id: {"n": 1}}}, "m.one")
    send(kit, alice, {bob.user_id: {"*": {"n": 2}}}, "m.all")
    got = to_device(sync(kit, bob, first["next_batch"]))
    assert got == [{"sender": alice.user_id, "type": "m.one", "content": {"n": 1}},
                   {"sender": alice.user_id, "type": "m.all", "content": {"n": 2}}]
    assert [e["content"] for e in to_device(sync(kit, bob2))] == [{"n": 2}]
    # A device named beside "*" gets its own content, once.
    send(kit, alice, {bob.user_id: {"*": {"n": "all"}, bob2.device_id: {"n": "mine"}}})
    assert [e["content"] for e in to_device(sync(kit, bob2))] == [{"n": 2}, {"n": "mine"}]


def test_delivered_until_acknowledged(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    send(kit, alice, {bob.user_id: {bob.device_id: {"hello": True}}})
    initial = sync(kit, bob)
    assert len(to_device(initial)) == 1
    # The same since again (the response was lost): delivered again.
    assert len(to_device(sync(kit, bob))) == 1
    # Coming back with next_batch acknowledges it: gone for good.
    later = sync(kit, bob, initial["next_batch"])
    assert to_device(later) == []
    assert to_device(sync(kit, bob)) == []
    assert to_device(sync(kit, bob, initial["next_batch"])) == []


def test_txn_ids_are_idempotent_per_device(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    alice2 = kit.login(alice.user_id)
    txn = unique("txn")
    for _ in range(3):
        send(kit, alice, {bob.user_id: {bob.device_id: {"try": 1}}}, txn_id=txn)
    # The same transaction ID from another device of the same user is another request.
    send(kit, alice2, {bob.user_id: {bob.device_id: {"try": 2}}}, txn_id=txn)
    assert [e["content"] for e in to_device(sync(kit, bob))] == [{"try": 1}, {"try": 2}]


def test_hundred_per_sync_and_nothing_lost(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    for i in range(130):
        send(kit, alice, {bob.user_id: {bob.device_id: {"i": i}}})
    first = sync(kit, bob)
    assert [e["content"]["i"] for e in to_device(first)] == list(range(100))
    second = sync(kit, bob, first["next_batch"])
    assert [e["content"]["i"] for e in to_device(second)] == list(range(100, 130))
    # Retrying the first token again (second response lost) loses nothing.
    retry = sync(kit, bob, first["next_batch"])
    assert [e["content"]["i"] for e in to_device(retry)] == list(range(100, 130))
    assert to_device(sync(kit, bob, retry["next_batch"])) == []


def test_long_poll_wakes_on_to_device(kit: Kit) -> None:
    import threading
    import time

    alice, bob = kit.register_user(), kit.register_user()
    since = sync(kit, bob)["next_batch"]

    def send_later() -> None:
        # Lets the long-poll start waiting first (what is under test: the wake-up).
        time.sleep(0.5)
        send(kit, alice, {bob.user_id: {bob.device_id: {"wake": "up"}}})

    thread = threading.Thread(target=send_later)
    thread.start()
    started = time.monotonic()
    body = sync(kit, bob, since, timeout=10_000)
    thread.join()
    assert [e["content"] for e in to_device(body)] == [{"wake": "up"}]
    assert time.monotonic() - started < 8


def test_unknown_and_remote_targets_are_skipped(kit: Kit) -> None:
    alice = kit.register_user()
    send(kit, alice, {"@nobody:localhost": {"DEV": {"x": 1}},
                      "@someone:remote.example": {"DEV": {"x": 1}},
                      alice.user_id: {"NOSUCHDEVICE": {"x": 1}}})
    assert to_device(sync(kit, alice)) == []


def test_bad_input(kit: Kit) -> None:
    alice = kit.register_user()
    path = f"{V3}/sendToDevice/m.test/{unique('txn')}"
    cases: list[tuple[Any, int, str]] = [
        ({}, 400, "M_MISSING_PARAM"),
        ({"messages": []}, 400, "M_BAD_JSON"),
        ({"messages": {alice.user_id: []}}, 400, "M_BAD_JSON"),
        ({"messages": {alice.user_id: {alice.device_id: "text"}}}, 400, "M_BAD_JSON"),
        ({"messages": {"not-a-user": {"DEV": {}}}}, 400, "M_INVALID_PARAM"),
    ]
    for body, status, errcode in cases:
        assert_error(kit.request("PUT", path, alice.access_token, json=body), status, errcode)
    assert_error(kit.request("PUT", path, alice.access_token, content=b"nope"), 400,
                 "M_NOT_JSON")
    # A refused request did not use up its transaction ID.
    send(kit, alice, {alice.user_id: {alice.device_id: {"ok": 1}}},
         txn_id=path.rsplit("/", 1)[1])
    assert [e["content"] for e in to_device(sync(kit, alice))] == [{"ok": 1}]


def test_oversized_payload(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    huge = {"messages": {bob.user_id: {bob.device_id: {"blob": "x" * (1024 * 1024 + 10)}}}}
    r = kit.request("PUT", f"{V3}/sendToDevice/m.test/{unique('txn')}", alice.access_token,
                    json=huge)
    assert_error(r, 413, "M_TOO_LARGE")
    assert to_device(sync(kit, bob)) == []
