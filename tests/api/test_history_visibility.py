"""History visibility applied at each event's own position, on every read path.

Spec (history visibility, server behaviour): ``world_readable`` events may be seen by
anyone; the reader's own time joined, always; ``shared`` events also if the reader
"joined the room at any point after the event was sent" (so a member who has left keeps
the history from before their join); ``invited`` events also while the reader was
invited; a ``history_visibility`` change itself if the value before *or* after it
allows. Each value is tested on both sides of a join and of a leave, on ``/messages``,
``/context``, ``/event``, ``/search``, ``/relations`` and ``/threads``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from tests.api.test_search import search, word
from tests.kit import Kit, create_room, send_event

V1, V3 = "/_matrix/client/v1", "/_matrix/client/v3"
VALUES = ["world_readable", "shared", "invited", "joined"]
#: Phases of the reader (bob): before his invite, invited, joined, after his leave.
PHASES = ["before", "invited", "joined", "left"]


def expected(history: str, phase: str) -> bool:
    if history == "world_readable" or phase == "joined":
        return True
    if phase == "left":
        return False
    if history == "shared":
        return True  # bob joined after these events
    return history == "invited" and phase == "invited"


class Room:
    def __init__(self, kit: Kit, history: str) -> None:
        self.kit = kit
        self.alice, self.bob = kit.register_user(), kit.register_user()
        self.room_id = create_room(kit, self.alice, preset="private_chat")
        r = kit.request("PUT", f"{V3}/rooms/{self.room_id}/state/m.room.history_visibility/",
                        self.alice.access_token, json={"history_visibility": history})
        assert r.status_code == 200, r.text
        self.root = send_event(kit, self.alice, self.room_id,
                               {"msgtype": "m.text", "body": "thread root"})
        self.words: dict[str, str] = {}
        self.messages: dict[str, str] = {}
        self.replies: dict[str, str] = {}

    def phase(self, name: str) -> None:
        """alice sends a message (with a word of its own) and a thread reply."""
        self.words[name] = word()
        self.messages[name] = send_event(self.kit, self.alice, self.room_id, {
            "msgtype": "m.text", "body": f"{name} {self.words[name]}"})
        self.replies[name] = send_event(self.kit, self.alice, self.room_id, {
            "msgtype": "m.text", "body": f"reply {name}",
            "m.relates_to": {"rel_type": "m.thread", "event_id": self.root}})

    def membership(self, action: str) -> None:
        who = self.alice if action == "invite" else self.bob
        path = {"invite": f"{V3}/rooms/{self.room_id}/invite",
                "join": f"{V3}/rooms/{self.room_id}/join",
                "leave": f"{V3}/rooms/{self.room_id}/leave"}[action]
        body: dict[str, Any] = {"user_id": self.bob.user_id} if action == "invite" else {}
        r = self.kit.request("POST", path, who.access_token, json=body)
        assert r.status_code == 200, r.text

    def get(self, path: str, **params: Any) -> Any:
        return self.kit.request("GET", path, self.bob.access_token, params=params)


def _check(room: Room, history: str, phases: list[str], joined_now: bool) -> None:
    kit, bob, room_id = room.kit, room.bob, room.room_id
    want = {p: expected(history, p) for p in phases}
    what = f"{history}, joined now: {joined_now}"

    r = room.get(f"{V3}/rooms/{room_id}/messages", dir="b", limit=100)
    assert r.status_code == 200, r.text
    seen = {e["event_id"] for e in r.json()["chunk"]}
    assert {p: room.messages[p] in seen for p in phases} == want, ("messages", what)

    for p in phases:
        event_id = quote(room.messages[p])
        r = room.get(f"{V3}/rooms/{room_id}/event/{event_id}")
        assert (r.status_code == 200) == want[p], ("event", p, what, r.text)
        r = room.get(f"{V3}/rooms/{room_id}/context/{event_id}", limit=100)
        assert (r.status_code == 200) == want[p], ("context", p, what, r.text)
        if r.status_code == 200:
            body = r.json()
            around = {e["event_id"] for e in body["events_before"] + body["events_after"]}
            assert {q: room.messages[q] in around for q in phases if q != p} == \
                {q: want[q] for q in phases if q != p}, ("context neighbours", p, what)
        found = search(kit, bob, room.words[p])
        assert (found["count"] == 1) == want[p], ("search", p, what)

    root_visible = expected(history, "before")
    r = room.get(f"{V1}/rooms/{room_id}/relations/{quote(room.root)}", limit=100)
    if root_visible:
        assert r.status_code == 200, r.text
        seen = {e["event_id"] for e in r.json()["chunk"]}
        assert {p: room.replies[p] in seen for p in phases} == want, ("relations", what)
    else:
        assert r.status_code == 404, r.text
    r = room.get(f"{V1}/rooms/{room_id}/threads")
    assert r.status_code == 200, r.text
    roots = [e["event_id"] for e in r.json()["chunk"]]
    assert (room.root in roots) == root_visible, ("threads", what)


@pytest.mark.parametrize("history", VALUES)
def test_history_visibility_across_join_and_leave(kit: Kit, history: str) -> None:
    room = Room(kit, history)
    room.phase("before")
    room.membership("invite")
    room.phase("invited")
    room.membership("join")
    room.phase("joined")
    _check(room, history, PHASES[:3], joined_now=True)
    room.membership("leave")
    room.phase("left")
    _check(room, history, PHASES, joined_now=False)
    # A change of history visibility after the leave: seen when the value before or
    # after it lets bob see it (here, whenever one of them is world_readable).
    new_value = "joined" if history == "world_readable" else "world_readable"
    r = room.kit.request("PUT", f"{V3}/rooms/{room.room_id}/state/"
                         "m.room.history_visibility/", room.alice.access_token,
                         json={"history_visibility": new_value})
    assert r.status_code == 200, r.text
    change = r.json()["event_id"]
    r = room.get(f"{V3}/rooms/{room.room_id}/event/{quote(change)}")
    assert r.status_code == 200, r.text
    # Sync after leaving: the leave section's timeline ends at the leave.
    r = room.kit.request("GET", f"{V3}/sync", room.bob.access_token, params={
        "filter": json.dumps({"room": {"include_leave": True, "timeline": {"limit": 50}}})})
    left = r.json()["rooms"]["leave"][room.room_id]["timeline"]["events"]
    assert room.messages["left"] not in {e["event_id"] for e in left}
