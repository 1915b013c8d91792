"""``POST /search`` and Dendrite's ``fulltext/reindex`` over real HTTP, on both engines."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any
from urllib.parse import quote

import httpx

from glia.config import load_config
from glia.storage import open_storage
from tests.kit import Kit, User, assert_error, create_room, send_event, wait_for_job
from tests.server import GliaProcess

V3 = "/_matrix/client/v3"
REINDEX = "/_dendrite/admin/fulltext/reindex"


def word() -> str:
    """A word no other test uses, so searches only ever find this test's events."""
    return f"w{uuid.uuid4().hex[:12]}"


def say(kit: Kit, user: User, room_id: str, body: str, **extra: Any) -> str:
    return send_event(kit, user, room_id, {"msgtype": "m.text", "body": body, **extra})


def search(kit: Kit, user: User, term: str, next_batch: str | None = None,
           **criteria: Any) -> dict[str, Any]:
    r = _search(kit, user, {"search_term": term, **criteria}, next_batch)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["search_categories"]["room_events"]
    return body


def _search(kit: Kit, user: User, room_events: Any, next_batch: str | None = None
            ) -> httpx.Response:
    query = f"?next_batch={quote(next_batch)}" if next_batch else ""
    return kit.request("POST", f"{V3}/search{query}", user.access_token,
                       json={"search_categories": {"room_events": room_events}})


def ids(body: dict[str, Any]) -> list[str]:
    return [r["result"]["event_id"] for r in body["results"]]


def join(kit: Kit, user: User, room_id: str) -> None:
    r = kit.request("POST", f"{V3}/join/{room_id}", user.access_token, json={})
    assert r.status_code == 200, r.text


def set_state(kit: Kit, user: User, room_id: str, event_type: str,
              content: dict[str, Any]) -> str:
    r = kit.request("PUT", f"{V3}/rooms/{room_id}/state/{event_type}", user.access_token,
                    json=content)
    assert r.status_code == 200, r.text
    return str(r.json()["event_id"])


def redact(kit: Kit, user: User, room_id: str, event_id: str) -> None:
    r = kit.request("PUT", f"{V3}/rooms/{room_id}/redact/{quote(event_id, safe='')}/"
                    f"{uuid.uuid4().hex}", user.access_token, json={})
    assert r.status_code == 200, r.text


def test_search_finds_messages(kit: Kit) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    w = word()
    hit = say(kit, alice, room_id, f"Lunch: {w.upper()}, Café crème and bananas!")
    say(kit, alice, room_id, "nothing to see here")

    body = search(kit, alice, w)
    assert ids(body) == [hit]
    assert body["count"] == 1
    assert "next_batch" not in body
    [result] = body["results"]
    assert result["rank"] > 0
    assert result["context"] == {}
    event = result["result"]
    assert event["room_id"] == room_id and event["sender"] == alice.user_id
    assert event["type"] == "m.room.message" and event["content"]["body"].startswith("Lunch")
    # The words that matched, as written in the message.
    assert body["highlights"] == [w.upper()]

    # Words match as prefixes, case and diacritics aside; all words must match.
    for term in (w[:8], f"{w} cafe", f"{w} CRÈME banana"):
        assert ids(search(kit, alice, term)) == [hit], term
    assert search(kit, alice, "cafe bananas")["highlights"] == ["Café", "bananas"]
    assert search(kit, alice, f"{w} pineapple")["results"] == []
    # Phrases, exclusions and OR.
    assert ids(search(kit, alice, f'{w} "crème and bananas"')) == [hit]
    assert search(kit, alice, f'{w} "bananas and crème"')["results"] == []
    assert search(kit, alice, f"{w} -banana")["results"] == []
    assert ids(search(kit, alice, f"{w} pineapple OR banana")) == [hit]
    # Nothing searchable in the term: no results, not an error.
    for term in ("", "!!!", f"-{w}"):
        assert search(kit, alice, term) == {"results": [], "count": 0, "highlights": []}


def test_name_and_topic_keys(kit: Kit) -> None:
    alice = kit.register_user()
    w = word()
    room_id = create_room(kit, alice, name=f"The {w} room", topic=f"All about {w}s")
    message = say(kit, alice, room_id, f"talking about {w}")

    everything = search(kit, alice, w)
    assert len(everything["results"]) == 3
    by_type = {r["result"]["type"]: r["result"] for r in everything["results"]}
    assert set(by_type) == {"m.room.name", "m.room.topic", "m.room.message"}

    name = search(kit, alice, w, keys=["content.name"])
    assert [r["result"]["type"] for r in name["results"]] == ["m.room.name"]
    assert name["results"][0]["result"]["content"]["name"] == f"The {w} room"
    topic = search(kit, alice, w, keys=["content.topic"])
    assert [r["result"]["type"] for r in topic["results"]] == ["m.room.topic"]
    assert topic["highlights"] == [f"{w}s"]
    assert ids(search(kit, alice, w, keys=["content.body"])) == [message]
    assert len(search(kit, alice, w, keys=["content.name", "content.topic"])["results"]) == 2

    # A new name is searchable at once; the old one stays in the room's history.
    v = word()
    renamed = set_state(kit, alice, room_id, "m.room.name", {"name": f"Now {v}"})
    assert ids(search(kit, alice, v, keys=["content.name"])) == [renamed]


def test_ordering_rank_and_recent(kit: Kit) -> None:
    alice = kit.register_user()
    room_id = create_room(kit, alice)
    w = word()
    weak = say(kit, alice, room_id, f"{w} and a great many other words that dilute the match")
    strong = say(kit, alice, room_id, f"{w} {w} {w}")
    newest = say(kit, alice, room_id, f"well, {w} again in a middling sentence")

    ranked = search(kit, alice, w)  # rank is the default order
    assert ids(ranked)[0] == strong
    ranks = [r["rank"] for r in ranked["results"]]
    assert ranks == sorted(ranks, reverse=True)
    assert ids(search(kit, alice, w, order_by="rank"))[0] == strong
    assert ids(search(kit, alice, w, order_by="recent")) == [newest, strong, weak]


def test_pagination_with_next_batch(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    join(kit, bob, room_id)
    w = word()
    sent = [say(kit, alice if i % 2 else bob, room_id, f"{w} number {i}") for i in range(7)]

    for order in ("recent", "rank"):
        seen: list[str] = []
        pages = []
        token = None
        while True:
            body = search(kit, alice, w, token, order_by=order, filter={"limit": 3})
            assert body["count"] == 7
            pages.append(len(body["results"]))
            seen += ids(body)
            token = body.get("next_batch")
            if token is None:
                break
        assert pages == [3, 3, 1], order
        assert sorted(seen) == sorted(sent), order
        if order == "recent":
            assert seen == list(reversed(sent))

    # Events sent meanwhile do not shift a "recent" pagination.
    first = search(kit, alice, w, order_by="recent", filter={"limit": 3})
    say(kit, alice, room_id, f"{w} late")
    second = search(kit, alice, w, first["next_batch"], order_by="recent",
                    filter={"limit": 3})
    assert ids(second) == list(reversed(sent))[3:6]

    # Groups: by room and by sender; "recent" groups continue on their own.
    body = search(kit, alice, w, order_by="recent", filter={"limit": 4},
                  groupings={"group_by": [{"key": "room_id"}, {"key": "sender"}]})
    rooms = body["groups"]["room_id"]
    assert list(rooms) == [room_id]
    assert rooms[room_id]["results"] == ids(body)
    assert rooms[room_id]["order"] == 1
    senders = body["groups"]["sender"]
    assert set(senders) == {alice.user_id, bob.user_id}
    assert sorted(e for g in senders.values() for e in g["results"]) == sorted(ids(body))
    bobs = search(kit, alice, w, senders[bob.user_id]["next_batch"], order_by="recent",
                  filter={"limit": 4})
    assert bobs["results"]
    assert {r["result"]["sender"] for r in bobs["results"]} == {bob.user_id}
    assert not set(ids(bobs)) & set(ids(body))


def test_event_context_and_profiles(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    join(kit, bob, room_id)
    r = kit.request("PUT", f"{V3}/profile/{alice.user_id}/displayname", alice.access_token,
                    json={"displayname": "Alice A."})
    assert r.status_code == 200, r.text
    w = word()
    before = [say(kit, bob, room_id, f"before {i}") for i in range(3)]
    hit = say(kit, alice, room_id, f"the {w} message")
    after = [say(kit, bob, room_id, f"after {i}") for i in range(3)]

    body = search(kit, bob, w, event_context={"before_limit": 2, "after_limit": 1,
                                              "include_profile": True})
    [result] = body["results"]
    assert result["result"]["event_id"] == hit
    context = result["context"]
    assert [e["event_id"] for e in context["events_before"]] == [before[2], before[1]]
    assert [e["event_id"] for e in context["events_after"]] == [after[0]]
    assert context["profile_info"][alice.user_id]["displayname"] == "Alice A."
    assert set(context["profile_info"]) == {alice.user_id, bob.user_id}
    # The tokens continue in /messages from either end of the context.
    r = kit.request("GET", f"{V3}/rooms/{room_id}/messages?dir=b&limit=1&from="
                    f"{context['start']}", bob.access_token)
    assert [e["event_id"] for e in r.json()["chunk"]] == [before[0]]
    r = kit.request("GET", f"{V3}/rooms/{room_id}/messages?dir=f&limit=1&from="
                    f"{context['end']}", bob.access_token)
    assert [e["event_id"] for e in r.json()["chunk"]] == [after[1]]

    # Defaults: five either side, no profiles.
    context = search(kit, bob, w, event_context={})["results"][0]["context"]
    assert len(context["events_after"]) == 3 and len(context["events_before"]) == 5
    assert "profile_info" not in context

    state = search(kit, bob, w, include_state=True)["state"]
    assert list(state) == [room_id]
    assert {(e["type"], e.get("state_key")) for e in state[room_id]} >= {
        ("m.room.create", ""), ("m.room.member", alice.user_id),
        ("m.room.member", bob.user_id)}


def test_filter(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    w = word()
    first = create_room(kit, alice, preset="public_chat", name=f"{w} room")
    second = create_room(kit, alice, preset="public_chat")
    join(kit, bob, first)
    join(kit, bob, second)
    a1 = say(kit, alice, first, f"{w} one")
    b1 = say(kit, bob, first, f"{w} two")
    a2 = say(kit, alice, second, f"{w} three")
    image = send_event(kit, bob, second, {"msgtype": "m.image", "body": f"{w}.png",
                                          "url": "mxc://localhost/abc"})

    def found(**search_filter: Any) -> set[str]:
        return set(ids(search(kit, alice, w, keys=["content.body"], filter=search_filter)))

    assert found() == {a1, b1, a2, image}
    assert found(rooms=[first]) == {a1, b1}
    assert found(not_rooms=[first]) == {a2, image}
    assert found(rooms=[first, second], not_rooms=[second]) == {a1, b1}
    assert found(senders=[bob.user_id]) == {b1, image}
    assert found(not_senders=[bob.user_id]) == {a1, a2}
    assert found(contains_url=True) == {image}
    assert found(contains_url=False) == {a1, b1, a2}
    assert found(rooms=["!nowhere:localhost"]) == set()
    assert len(ids(search(kit, alice, w, filter={"limit": 2}))) == 2
    # Types filter the three indexed types, with * wildcards.
    name_hits = search(kit, alice, w, filter={"types": ["m.room.n*"]})
    assert [r["result"]["type"] for r in name_hits["results"]] == ["m.room.name"]
    assert len(search(kit, alice, w, filter={"not_types": ["m.room.message"]})["results"]) == 1
    assert search(kit, alice, w, filter={"types": ["m.reaction"]})["results"] == []

    # A room searched by ID brings the rooms it was upgraded from.
    r = kit.request("POST", f"{V3}/rooms/{first}/upgrade", alice.access_token,
                    json={"new_version": "12"})
    assert r.status_code == 200, r.text
    upgraded = r.json()["replacement_room"]
    assert found(rooms=[upgraded]) == {a1, b1}


def test_no_leaks_across_rooms_or_history(kit: Kit) -> None:
    alice, bob, carol = kit.register_user(), kit.register_user(), kit.register_user()
    w = word()
    private = create_room(kit, alice)
    say(kit, alice, private, f"{w} secret")
    assert search(kit, bob, w) == {"results": [], "count": 0, "highlights": []}
    # Naming another user's room in the filter changes nothing.
    assert search(kit, bob, w, filter={"rooms": [private]})["results"] == []

    # "joined": a newcomer finds only what was said while they were in the room.
    room_id = create_room(kit, alice, preset="public_chat")
    set_state(kit, alice, room_id, "m.room.history_visibility",
              {"history_visibility": "joined"})
    say(kit, alice, room_id, f"{w} before carol")
    join(kit, carol, room_id)
    during = say(kit, alice, room_id, f"{w} while carol is here")
    r = kit.request("POST", f"{V3}/rooms/{room_id}/leave", carol.access_token, json={})
    assert r.status_code == 200, r.text
    say(kit, alice, room_id, f"{w} after carol left")

    body = search(kit, carol, w)
    assert ids(body) == [during]
    assert body["count"] == 1
    assert ids(search(kit, carol, w, order_by="recent")) == [during]
    # The same as /messages shows her.
    r = kit.request("GET", f"{V3}/rooms/{room_id}/messages?dir=b&limit=50",
                    carol.access_token)
    shown = [e["event_id"] for e in r.json()["chunk"] if e["type"] == "m.room.message"]
    assert shown == [during]
    # Her context stops where her view of the room does.
    context = search(kit, carol, w, event_context={"before_limit": 10,
                                                   "after_limit": 10})["results"][0]["context"]
    seen = [e["event_id"] for e in context["events_before"] + context["events_after"]]
    bodies = [e["content"].get("body") for e in context["events_before"]
              + context["events_after"]]
    assert not any(isinstance(b, str) and w in b for b in bodies), seen
    # Once she forgets the room, it is not searched at all.
    r = kit.request("POST", f"{V3}/rooms/{room_id}/forget", carol.access_token, json={})
    assert r.status_code == 200, r.text
    assert search(kit, carol, w)["results"] == []

    # "shared": a member sees the room's whole history, from before they joined.
    shared = create_room(kit, alice, preset="public_chat")
    early = say(kit, alice, shared, f"{w} early shared")
    join(kit, bob, shared)
    assert ids(search(kit, bob, w)) == [early]


def test_redaction_removes_the_hit(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    room_id = create_room(kit, alice, preset="public_chat")
    join(kit, bob, room_id)
    w = word()
    keep = say(kit, bob, room_id, f"{w} stays")
    gone = say(kit, bob, room_id, f"{w} goes")
    assert set(ids(search(kit, alice, w))) == {keep, gone}
    redact(kit, alice, room_id, gone)
    for user in (alice, bob):
        body = search(kit, user, w)
        assert ids(body) == [keep]
        assert body["count"] == 1
    # A redaction of an event in another room is refused and removes nothing.
    other = create_room(kit, bob)
    r = kit.request("PUT", f"{V3}/rooms/{other}/redact/{quote(keep, safe='')}/x",
                    bob.access_token, json={})
    assert r.status_code == 400, r.text
    assert ids(search(kit, alice, w)) == [keep]


def test_bad_input(kit: Kit) -> None:
    alice = kit.register_user()
    create_room(kit, alice)

    def post(body: Any, query: str = "") -> httpx.Response:
        return kit.request("POST", f"{V3}/search{query}", alice.access_token, json=body)

    assert_error(kit.request("POST", f"{V3}/search", alice.access_token, content=b"nope",
                             headers={"Content-Type": "application/json"}), 400, "M_NOT_JSON")
    assert_error(post([]), 400, "M_BAD_JSON")
    assert_error(post({}), 400, "M_MISSING_PARAM")
    assert_error(post({"search_categories": []}), 400, "M_BAD_JSON")
    assert_error(post({"search_categories": {"room_events": {}}}), 400, "M_MISSING_PARAM")
    # No room_events category: nothing to search, nothing to answer.
    r = post({"search_categories": {}})
    assert r.status_code == 200 and r.json() == {"search_categories": {}}

    bad_json = [
        {"search_term": 5},
        {"search_term": "x", "keys": "content.body"},
        {"search_term": "x", "keys": [1]},
        {"search_term": "x", "filter": []},
        {"search_term": "x", "filter": {"limit": "3"}},
        {"search_term": "x", "filter": {"limit": 2.5}},
        {"search_term": "x", "filter": {"rooms": "!a:b"}},
        {"search_term": "x", "filter": {"senders": [None]}},
        {"search_term": "x", "filter": {"contains_url": "yes"}},
        {"search_term": "x", "order_by": 1},
        {"search_term": "x", "event_context": {"before_limit": "5"}},
        {"search_term": "x", "event_context": {"include_profile": 1}},
        {"search_term": "x", "include_state": "true"},
        {"search_term": "x", "groupings": {"group_by": {"key": "room_id"}}},
        {"search_term": "x", "groupings": {"group_by": ["room_id"]}},
    ]
    for criteria in bad_json:
        assert_error(_search(kit, alice, criteria), 400, "M_BAD_JSON")
    invalid = [
        {"search_term": "x", "keys": ["content.url"]},
        {"search_term": "x", "order_by": "oldest"},
        {"search_term": "x", "filter": {"limit": 0}},
        {"search_term": "x", "event_context": {"after_limit": -1}},
        {"search_term": "x", "groupings": {"group_by": [{"key": "type"}]}},
        {"search_term": " ".join(f"w{i}" for i in range(100))},
    ]
    for criteria in invalid:
        assert_error(_search(kit, alice, criteria), 400, "M_INVALID_PARAM")

    for token in ("garbage!", "bm90IGEgdG9rZW4", "cmFua3x8LTF8", "cmFua3xyb29tX2lkfDN8"):
        assert_error(_search(kit, alice, {"search_term": "x"}, token), 400, "M_INVALID_PARAM")
    # A token from one ordering is refused by the other.
    room_id = create_room(kit, alice)
    w = word()
    for _ in range(3):
        say(kit, alice, room_id, w)
    token = search(kit, alice, w, order_by="recent", filter={"limit": 1})["next_batch"]
    assert_error(_search(kit, alice, {"search_term": w, "order_by": "rank"}, token), 400,
                 "M_INVALID_PARAM")
    assert_error(kit.request("POST", f"{V3}/search", json={"search_categories": {}}), 401,
                 "M_MISSING_TOKEN")


async def _forget_room(server: GliaProcess, room_id: str) -> int:
    """Drop a room's index rows straight through the store (what a room purge does)."""
    storage = await open_storage(load_config(None, server.env), run_migrations=False)
    try:
        async with storage.transaction() as tx:
            return await tx.search.delete_room(room_id)
    finally:
        await storage.close()


def test_reindex_rebuilds_the_index(glia_factory: Any) -> None:
    server: GliaProcess = glia_factory()
    kit = Kit(server.url)
    try:
        admin, alice = kit.make_admin(), kit.register_user()
        w = word()
        room_id = create_room(kit, alice, name=f"{w} name", topic=f"{w} topic")
        messages = [say(kit, alice, room_id, f"{w} message {i}") for i in range(5)]
        redacted = say(kit, alice, room_id, f"{w} redacted")
        redact(kit, alice, room_id, redacted)
        say(kit, alice, room_id, "   ")  # no text: never indexed
        assert len(search(kit, alice, w)["results"]) == 7

        assert asyncio.run(_forget_room(server, room_id)) == 7
        assert search(kit, alice, w)["results"] == []

        # A dry run counts what a rebuild would read and changes nothing.
        for method, kwargs in (("GET", {"params": {"dry_run": "true"}}),
                               ("POST", {"json": {"dry_run": True}})):
            r = kit.request(method, REINDEX, admin.access_token, **kwargs)
            assert r.status_code == 200, r.text
            # 6 messages (the redacted one is not read), the name and the topic.
            assert r.json() == {"dry_run": True, "count": 8}
        assert search(kit, alice, w)["results"] == []

        r = kit.request("POST", REINDEX, admin.access_token, json={})
        assert r.status_code == 200, r.text
        job = wait_for_job(kit, admin, r.json()["job_id"])
        assert job["status"] == "complete", job
        assert job["kind"] == "search_reindex"
        assert job["progress"] == {"done": 8, "total": 8}
        assert job["result"]["indexed"] == 7
        body = search(kit, alice, w, order_by="recent")
        assert ids(body)[:5] == list(reversed(messages))
        assert len(body["results"]) == 7 and redacted not in ids(body)
        assert re.search(r"Indexed 7 events in \d+\.\d+s", server.log()), server.log()[-2000:]

        # Dendrite's GET starts one too; both landed in the audit log.
        r = kit.request("GET", REINDEX, admin.access_token)
        assert r.status_code == 200, r.text
        assert wait_for_job(kit, admin, r.json()["job_id"])["status"] == "complete"
        assert len(search(kit, alice, w)["results"]) == 7
        r = kit.request("GET", "/_glia/admin/v1/audit_log?action=search.reindex",
                        admin.access_token)
        entries = r.json()["entries"]
        assert len(entries) == 4 and {e["outcome"] for e in entries} == {"ok"}
        assert {e["actor"] for e in entries} == {admin.user_id}

        assert_error(kit.request("POST", REINDEX, admin.access_token,
                                 json={"dry_run": "yes"}), 400, "M_BAD_JSON")
        assert_error(kit.request("GET", f"{REINDEX}?dry_run=maybe", admin.access_token),
                     400, "M_INVALID_PARAM")
        assert_error(kit.request("POST", REINDEX, alice.access_token, json={}), 403,
                     "M_FORBIDDEN")
    finally:
        kit.close()
