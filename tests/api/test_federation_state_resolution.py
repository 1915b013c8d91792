"""A room forked between two Glia servers resolves to the same state on both.

The room is split by stopping one server, then the other: on B, bob (a moderator) sets
the topic, bans carol and edits the power levels; on A, meanwhile, alice demotes bob
and sets the topic, and carol talks. When both are back, each receives the other's branch,
and state resolution v2 must give both the same state: alice's power levels (the
creator's, applied first), so bob's ban and edits fail and carol is still in the room
(on B too, where her message arrives after the ban it outlived). Then hostile events:
a branch that its own auth events allow but the state before it does not is rejected,
and a backdated branch does not win.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest

from glia.protocol.events import build_event, compute_event_id
from glia.protocol.room_versions import get_room_version
from glia.protocol.signing import sign_event
from tests.api.federation_rooms_kit import (
    RoomPair,
    bodies,
    join_on_a,
    membership,
    messages,
    start_pair,
    state_ids,
    wait_federating,
)
from tests.federation import FederatingServer, signed_request
from tests.kit import Kit, User, create_room, send_event, unique, wait_until

PL = ("m.room.power_levels", "")
TOPIC = ("m.room.topic", "")


@pytest.fixture(scope="module")
def fork_pair(new_database_url: Callable[[], str]) -> Iterator[RoomPair]:
    yield from start_pair(new_database_url)


def _put_state(kit: Kit, user: User, room_id: str, event_type: str, content: Any,
               state_key: str = "") -> str:
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                    f"{event_type}/{quote(state_key)}", user.access_token, json=content)
    assert r.status_code == 200, r.text
    return str(r.json()["event_id"])


def _content(kit: Kit, user: User, room_id: str, event_type: str) -> dict[str, Any]:
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{quote(room_id)}/state/"
                    f"{event_type}/", user.access_token)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _power(kit: Kit, user: User, room_id: str, users: dict[str, int]) -> str:
    content = _content(kit, user, room_id, "m.room.power_levels")
    content["users"] = {**content.get("users", {}), **users}
    return _put_state(kit, user, room_id, "m.room.power_levels", content)


def _queued(kit: Kit, admin: User, destination: str, count: int) -> bool:
    r = kit.request("GET", f"/_glia/admin/v1/federation/queue/{quote(destination)}",
                    admin.access_token)
    q = r.json()
    return bool(q["retry_interval"]) and q["queue_length"] == count


def _reset(kit: Kit, admin: User, destination: str) -> None:
    """Let the sender try ``destination`` now (unless something already did)."""
    r = kit.request("POST", f"/_synapse/admin/v1/federation/destinations/"
                    f"{quote(destination)}/reset_connection", admin.access_token, json={})
    assert r.status_code in (200, 400), r.text


def _sync(kit: Kit, user: User, since: str | None = None) -> dict[str, Any]:
    query = "timeout=0" + (f"&since={quote(since)}" if since else "")
    r = kit.request("GET", f"/_matrix/client/v3/sync?{query}", user.access_token)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_forked_room_resolves_the_same_on_both(fork_pair: RoomPair) -> None:
    p = fork_pair
    admin_a, admin_b = p.kit_a.make_admin(), p.kit_b.make_admin()
    alice = p.kit_a.register_user(unique("alice"))
    carol = p.kit_a.register_user(unique("carol"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    assert p.kit_a.request("POST", f"/_matrix/client/v3/join/{quote(room_id)}",
                           carol.access_token, json={}).status_code == 200
    _power(p.kit_a, alice, room_id, {bob.user_id: 100})
    wait_until(lambda: state_ids(p.kit_b, bob, room_id) == state_ids(p.kit_a, alice, room_id),
               what="B to have A's state before the fork")

    # B's branch, while A is down: B queues it for A.
    p.a.process.stop()
    _put_state(p.kit_b, bob, room_id, "m.room.topic", {"topic": "from B"})
    r = p.kit_b.request("POST", f"/_matrix/client/v3/rooms/{quote(room_id)}/ban",
                        bob.access_token, json={"user_id": carol.user_id})
    assert r.status_code == 200, r.text
    bobs_power = _power(p.kit_b, bob, room_id, {carol.user_id: 10})
    wait_until(lambda: _queued(p.kit_b, admin_b, p.a.name, 3), what="B queueing for A")
    since_b = _sync(p.kit_b, bob)["next_batch"]
    assert membership(p.kit_b, bob, room_id, carol.user_id) == "ban"

    # A's branch, while B is down. (Carol talks after the demotion: had B received her
    # message first, the ban it still believed in would soft-fail it there, as the spec
    # says it must.)
    p.b.process.stop()
    p.a.process.start()
    wait_federating(p.a)
    demotion = _power(p.kit_a, alice, room_id, {bob.user_id: 0})
    _put_state(p.kit_a, alice, room_id, "m.room.topic", {"topic": "from A"})
    send_event(p.kit_a, carol, room_id, {"msgtype": "m.text", "body": "carol in the fork"})
    wait_until(lambda: _queued(p.kit_a, admin_a, p.b.name, 3), what="A queueing for B")

    # Heal: both up, each sends the other its branch.
    p.b.process.start()
    wait_federating(p.b)
    _reset(p.kit_a, admin_a, p.b.name)
    _reset(p.kit_b, admin_b, p.a.name)

    def same_state() -> bool:
        on_a = state_ids(p.kit_a, alice, room_id)
        on_b = state_ids(p.kit_b, bob, room_id)
        return on_a == on_b and on_a[PL] == demotion
    wait_until(same_state, what="both servers to resolve the fork alike")

    for kit, user in ((p.kit_a, alice), (p.kit_b, bob)):
        assert _content(kit, user, room_id, "m.room.topic")["topic"] == "from A"
        assert membership(kit, user, room_id, carol.user_id) == "join"
        levels = _content(kit, user, room_id, "m.room.power_levels")["users"]
        assert levels.get(bob.user_id) == 0 and carol.user_id not in levels
    assert state_ids(p.kit_a, alice, room_id)[PL] != bobs_power
    # Carol's message, sent on A's branch, reaches B although B had banned her.
    wait_until(lambda: "carol in the fork" in bodies(p.kit_b, bob, room_id),
               what="carol's message on B")

    # B's clients are told: carol's membership went back to her (old) join event, which
    # is in no new timeline, so /sync sends it in the room's state section.
    room = _sync(p.kit_b, bob, since_b)["rooms"]["join"][room_id]
    carol_join = state_ids(p.kit_b, bob, room_id)[("m.room.member", carol.user_id)]
    sent = {e["event_id"] for e in room["state"]["events"]} | \
        {e["event_id"] for e in room["timeline"]["events"]}
    assert carol_join in sent, room

    # After the fork, each side's next event cites both branches and the room goes on.
    extremities = {e["event_id"] for e in _forward_extremities(p.kit_b, admin_b, room_id)}
    assert len(extremities) > 1, extremities
    healed = send_event(p.kit_b, bob, room_id, {"msgtype": "m.text", "body": "healed"})
    r = signed_request(p.a.name, p.a.signing_key(), p.b, "GET",
                       f"/_matrix/federation/v1/event/{quote(healed)}")
    assert set(r.json()["pdus"][0]["prev_events"]) == extremities
    wait_until(lambda: "healed" in bodies(p.kit_a, alice, room_id), what="B → A after")
    last = messages(p.kit_a, alice, room_id)[-1]
    assert last["content"].get("body") == "healed"
    assert state_ids(p.kit_a, alice, room_id) == state_ids(p.kit_b, bob, room_id)


def _forward_extremities(kit: Kit, admin: User, room_id: str) -> list[dict[str, Any]]:
    r = kit.request("GET", f"/_synapse/admin/v1/rooms/{quote(room_id)}/forward_extremities",
                    admin.access_token)
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def _forge(p: RoomPair, room_id: str, sender: str, event_type: str, content: Any,
           prev: list[str], auth: list[str], depth: int) -> tuple[str, dict[str, Any]]:
    """A state event of B's user built and signed by B outside its event writer."""
    version = get_room_version("12")
    assert version is not None
    pdu = build_event(version, room_id=room_id, sender=sender, event_type=event_type,
                      content=content, prev_events=prev, auth_events=sorted(auth),
                      depth=depth, origin_server_ts=p.kit_a.server_now(),
                      server_name=p.b.name, state_key="")
    pdu = sign_event(pdu, version, p.b.name, p.b.signing_key())
    return compute_event_id(pdu, version), pdu


def _send_as(sender: FederatingServer, target: FederatingServer, kit: Kit,
             pdus: list[dict[str, Any]]) -> dict[str, Any]:
    r = signed_request(sender.name, sender.signing_key(), target, "PUT",
                       f"/_matrix/federation/v1/send/{unique('txn')}",
                       {"origin": sender.name, "origin_server_ts": kit.server_now(),
                        "pdus": pdus, "edus": []})
    assert r.status_code == 200, r.text
    return dict(r.json()["pdus"])


def test_a_forged_branch_does_not_win(fork_pair: RoomPair) -> None:
    p = fork_pair
    alice = p.kit_a.register_user(unique("alice"))
    bob = p.kit_b.register_user(unique("bob"))
    room_id = create_room(p.kit_a, alice, preset="public_chat")
    join_on_a(p, alice, bob, room_id)
    powerful = _power(p.kit_a, alice, room_id, {bob.user_id: 100})
    before_demotion = messages(p.kit_a, alice, room_id)[-1]
    bob_member = state_ids(p.kit_a, alice, room_id)[("m.room.member", bob.user_id)]
    demotion = _power(p.kit_a, alice, room_id, {bob.user_id: 0})
    tip = messages(p.kit_a, alice, room_id)[-1]
    assert tip["event_id"] == demotion
    content = _content(p.kit_a, alice, room_id, "m.room.power_levels")
    content["users"][bob.user_id] = 100
    depth = 100

    # On top of the demotion, citing the power levels from before it: its own auth
    # events allow it, the state before it does not. Rejected, not just soft-failed.
    forged_id, forged = _forge(p, room_id, bob.user_id, "m.room.power_levels", content,
                               [demotion], [powerful, bob_member], depth)
    answer = _send_as(p.b, p.a, p.kit_a, [forged])
    assert "not allowed by the state before it" in answer[forged_id].get("error", ""), answer

    # A branch from before the demotion: a fork the spec lets in, but alice's demotion
    # is applied first in the resolution and bob's edit then fails.
    backdated_id, backdated = _forge(p, room_id, bob.user_id, "m.room.power_levels",
                                     content, [before_demotion["event_id"]],
                                     [powerful, bob_member], depth)
    topic_id, topic = _forge(p, room_id, bob.user_id, "m.room.topic", {"topic": "mine"},
                             [backdated_id], [powerful, bob_member], depth + 1)
    answer = _send_as(p.b, p.a, p.kit_a, [backdated, topic])
    assert answer == {backdated_id: {}, topic_id: {}}, answer
    state = state_ids(p.kit_a, alice, room_id)
    assert state[PL] == demotion
    assert TOPIC not in state
    assert _content(p.kit_a, alice, room_id, "m.room.power_levels")["users"][
        bob.user_id] == 0
