"""Stripped state from another server is kept by shape only: well-formed events, each
as its four fields, one per (type, state_key), a bounded number."""

from __future__ import annotations

from glia.protocol.stripped_state import MAX_STRIPPED_EVENTS, stripped_events


def test_only_well_formed_events_are_kept_as_their_four_fields() -> None:
    name = {"type": "m.room.name", "state_key": "", "sender": "@a:x",
            "content": {"name": "Room"}, "event_id": "$dropped", "unsigned": {"age": 1}}
    given = [name, "not an event", {"type": "m.room.topic", "state_key": "",
                                    "sender": "@a:x", "content": "not an object"},
             {"type": "m.room.avatar", "sender": "@a:x", "content": {}},
             {**name, "content": {"name": "a second name"}}, 7, None]
    assert stripped_events(given) == [{"type": "m.room.name", "state_key": "",
                                       "sender": "@a:x", "content": {"name": "Room"}}]
    assert stripped_events({"type": "m.room.name"}) == []
    assert stripped_events(None) == []


def test_their_number_is_bounded() -> None:
    many = [{"type": "m.room.member", "state_key": f"@u{i}:x", "sender": f"@u{i}:x",
             "content": {"membership": "join"}} for i in range(MAX_STRIPPED_EVENTS + 10)]
    assert stripped_events(many) == many[:MAX_STRIPPED_EVENTS]
