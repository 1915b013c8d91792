"""Relations, threads, bundled aggregations and ``timestamp_to_event`` over real HTTP."""

from __future__ import annotations

from typing import Any

from tests.kit import Kit, User, assert_error, create_room, send_event, wait_until

V1 = "/_matrix/client/v1"


def _reply(kit: Kit, user: User, room_id: str, parent: str, rel_type: str,
           body: str = "reply", **extra: Any) -> str:
    content = {"msgtype": "m.text", "body": body,
               "m.relates_to": {"rel_type": rel_type, "event_id": parent, **extra}}
    return send_event(kit, user, room_id, content)


def _room_with_two(kit: Kit) -> tuple[User, User, str]:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    r = kit.request("POST", f"/_matrix/client/v3/join/{room_id}", bob.access_token, json={})
    assert r.status_code == 200, r.text
    return alice, bob, room_id


def test_relations_paginate_and_filter(kit: Kit) -> None:
    alice, bob, room_id = _room_with_two(kit)
    root = send_event(kit, alice, room_id)
    replies = [_reply(kit, bob if i % 2 else alice, room_id, root, "m.thread", f"r{i}")
               for i in range(7)]
    note = _reply(kit, alice, room_id, root, "org.example.note")
    unrelated = send_event(kit, alice, room_id)

    seen: list[str] = []
    token = None
    while True:
        query = "?limit=3" + (f"&from={token}" if token else "")
        r = kit.request("GET", f"{V1}/rooms/{room_id}/relations/{root}{query}",
                        alice.access_token)
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [e["event_id"] for e in body["chunk"]]
        assert "recursion_depth" not in body
        if token:
            assert body["prev_batch"] == token
        token = body.get("next_batch")
        if not token:
            break
    # Newest first by default; every relation exactly once, nothing unrelated.
    assert seen == [note, *reversed(replies)]
    assert unrelated not in seen

    r = kit.request("GET", f"{V1}/rooms/{room_id}/relations/{root}/m.thread?dir=f&limit=50",
                    bob.access_token)
    assert [e["event_id"] for e in r.json()["chunk"]] == replies
    r = kit.request("GET", f"{V1}/rooms/{room_id}/relations/{root}/m.thread/m.reaction",
                    bob.access_token)
    assert r.json()["chunk"] == []


def test_relations_recurse(kit: Kit) -> None:
    alice, _, room_id = _room_with_two(kit)
    root = send_event(kit, alice, room_id)
    child = _reply(kit, alice, room_id, root, "m.thread")
    edit = _reply(kit, alice, room_id, child, "m.replace", **{})
    r = kit.request("GET", f"{V1}/rooms/{room_id}/relations/{root}?recurse=true&dir=f",
                    alice.access_token)
    body = r.json()
    assert [e["event_id"] for e in body["chunk"]] == [child, edit]
    assert body["recursion_depth"] == 3
    r = kit.request("GET", f"{V1}/rooms/{room_id}/relations/{root}?recurse=false",
                    alice.access_token)
    assert [e["event_id"] for e in r.json()["chunk"]] == [child]
    assert_error(kit.request("GET", f"{V1}/rooms/{room_id}/relations/{root}?recurse=yes",
                             alice.access_token), 400, "M_INVALID_PARAM")


def test_relations_errors(kit: Kit) -> None:
    alice, _, room_id = _room_with_two(kit)
    root = send_event(kit, alice, room_id)
    outsider = kit.register_user()
    private = create_room(kit, alice)
    secret = send_event(kit, alice, private)
    path = f"{V1}/rooms/{room_id}/relations"
    assert_error(kit.request("GET", f"{path}/$nope", alice.access_token), 404, "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{path}/not-an-id", alice.access_token), 400,
                 "M_INVALID_PARAM")
    # An event of another room is not found through this one.
    assert_error(kit.request("GET", f"{path}/{secret}", alice.access_token), 404,
                 "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{V1}/rooms/{private}/relations/{secret}",
                             outsider.access_token), 403, "M_FORBIDDEN")
    assert_error(kit.request("GET", f"{path}/{root}?dir=x", alice.access_token), 400,
                 "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{path}/{root}?from=garbage", alice.access_token), 400,
                 "M_INVALID_PARAM")
    assert_error(kit.request("GET", f"{path}/{root}"), 401, "M_MISSING_TOKEN")


def test_threads_list_and_bundled_summary(kit: Kit) -> None:
    alice, bob, room_id = _room_with_two(kit)
    first = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "first"})
    second = send_event(kit, bob, room_id, {"msgtype": "m.text", "body": "second"})
    _reply(kit, bob, room_id, first, "m.thread", "a")
    _reply(kit, bob, room_id, second, "m.thread", "b")
    last = _reply(kit, alice, room_id, first, "m.thread", "c")

    r = kit.request("GET", f"{V1}/rooms/{room_id}/threads", alice.access_token)
    assert r.status_code == 200, r.text
    chunk = r.json()["chunk"]
    # Most recently active thread first.
    assert [e["event_id"] for e in chunk] == [first, second]
    summary = chunk[0]["unsigned"]["m.relations"]["m.thread"]
    assert summary["count"] == 2
    assert summary["latest_event"]["event_id"] == last
    assert summary["current_user_participated"] is True

    r = kit.request("GET", f"{V1}/rooms/{room_id}/threads?limit=1", alice.access_token)
    assert [e["event_id"] for e in r.json()["chunk"]] == [first]
    token = r.json()["next_batch"]
    r = kit.request("GET", f"{V1}/rooms/{room_id}/threads?limit=1&from={token}",
                    alice.access_token)
    assert [e["event_id"] for e in r.json()["chunk"]] == [second]

    # Alice neither started nor replied to the second thread.
    r = kit.request("GET", f"{V1}/rooms/{room_id}/threads?include=participated",
                    alice.access_token)
    assert [e["event_id"] for e in r.json()["chunk"]] == [first]
    assert_error(kit.request("GET", f"{V1}/rooms/{room_id}/threads?include=mine",
                             alice.access_token), 400, "M_INVALID_PARAM")

    # The same summary is bundled into /event and /messages.
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/{second}",
                    alice.access_token)
    assert r.json()["unsigned"]["m.relations"]["m.thread"]["count"] == 1
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=50",
                    alice.access_token)
    by_id = {e["event_id"]: e for e in r.json()["chunk"]}
    assert by_id[first]["unsigned"]["m.relations"]["m.thread"]["count"] == 2


def test_edit_is_bundled_only_from_the_original_sender(kit: Kit) -> None:
    alice, bob, room_id = _room_with_two(kit)
    original = send_event(kit, alice, room_id, {"msgtype": "m.text", "body": "helo"})
    edit = _reply(kit, alice, room_id, original, "m.replace", " * hello")
    _reply(kit, bob, room_id, original, "m.replace", " * hijacked")
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/{original}",
                    bob.access_token)
    assert r.json()["unsigned"]["m.relations"]["m.replace"]["event_id"] == edit


def test_timestamp_to_event(kit: Kit) -> None:
    alice, _, room_id = _room_with_two(kit)
    sent: list[tuple[str, int]] = []

    def send() -> tuple[str, int]:
        event_id = send_event(kit, alice, room_id)
        r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/{event_id}",
                        alice.access_token)
        sent.append((event_id, r.json()["origin_server_ts"]))
        return sent[-1]

    # Events are stamped by the server's wall clock, to the millisecond: the times come
    # from the server, and events are sent until one is stamped later than the first.
    _, first_ts = send()
    after, after_ts = wait_until(lambda: ((e := send())[1] > first_ts and e) or None,
                                 what="an event stamped after the first")
    # The events stamped last before ``after`` (almost always just the first).
    before = {e for e, ts in sent[:-1] if ts == sent[-2][1]}
    path = f"{V1}/rooms/{room_id}/timestamp_to_event"
    r = kit.request("GET", f"{path}?ts={after_ts}&dir=f", alice.access_token)
    assert r.status_code == 200, r.text
    assert r.json()["event_id"] == after
    assert r.json()["origin_server_ts"] == after_ts
    r = kit.request("GET", f"{path}?ts={after_ts - 1}&dir=b", alice.access_token)
    assert r.json()["event_id"] in before
    assert_error(kit.request("GET", f"{path}?ts=1&dir=b", alice.access_token), 404,
                 "M_NOT_FOUND")
    assert_error(kit.request("GET", f"{path}?ts=1", alice.access_token), 400,
                 "M_MISSING_PARAM")
    assert_error(kit.request("GET", f"{path}?dir=f", alice.access_token), 400,
                 "M_MISSING_PARAM")
    assert_error(kit.request("GET", f"{path}?ts=abc&dir=f", alice.access_token), 400,
                 "M_INVALID_PARAM")
    outsider = kit.register_user()
    private = create_room(kit, alice)
    assert_error(kit.request("GET", f"{V1}/rooms/{private}/timestamp_to_event?ts=1&dir=f",
                             outsider.access_token), 403, "M_FORBIDDEN")


def test_bundled_references_and_thread_summary(kit: Kit) -> None:
    """Spec (reference relations, "Server-side aggregation of m.reference"): a ``chunk``
    of the referring events' IDs, bundled with the thread summary wherever the parent
    is served."""
    alice, bob, room_id = _room_with_two(kit)
    root = send_event(kit, alice, room_id)
    first = _reply(kit, bob, room_id, root, "m.reference", "ref 1")
    in_thread = _reply(kit, bob, room_id, root, "m.thread", "threaded")
    second = _reply(kit, alice, room_id, root, "m.reference", "ref 2")

    def check(event: dict[str, Any]) -> None:
        relations = event["unsigned"]["m.relations"]
        assert relations["m.reference"] == {"chunk": [{"event_id": first},
                                                      {"event_id": second}]}
        assert relations["m.thread"]["count"] == 1
        assert relations["m.thread"]["latest_event"]["event_id"] == in_thread

    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/event/{root}",
                    bob.access_token)
    check(r.json())
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/messages?dir=b&limit=10",
                    bob.access_token)
    check(next(e for e in r.json()["chunk"] if e["event_id"] == root))
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room_id}/context/{root}",
                    bob.access_token)
    check(r.json()["event"])
