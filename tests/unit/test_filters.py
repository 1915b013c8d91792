"""The filter language: validation and matching (pure, no server)."""

from __future__ import annotations

import pytest

from glia.protocol.filters import FilterError, parse_filter, select_fields


def test_wildcards_and_negations() -> None:
    f = parse_filter({"room": {"timeline": {"types": ["m.room.*"], "not_types":
                                            ["m.room.member"], "not_senders": ["@bad:x"]}}})
    timeline = f.room.timeline
    assert timeline.allows({"type": "m.room.message", "sender": "@a:x"})
    assert not timeline.allows({"type": "m.room.member", "sender": "@a:x"})
    assert not timeline.allows({"type": "m.room.message", "sender": "@bad:x"})
    assert not timeline.allows({"type": "m.reaction", "sender": "@a:x"})
    # '*' matches any run of characters, including dots; other regex characters are literal.
    star = parse_filter({"account_data": {"types": ["a.*.c", "x+y"]}}).account_data
    assert star.allows({"type": "a.b.b.c"}) and star.allows({"type": "x+y"})
    assert not star.allows({"type": "xxy"}) and not star.allows({"type": "a.b.cd"})


def test_rooms_contains_url_and_limit() -> None:
    f = parse_filter({"room": {"rooms": ["!a:x", "!b:x"], "not_rooms": ["!b:x"],
                               "timeline": {"contains_url": True, "limit": 5000}}})
    assert f.room.allows_room("!a:x") and not f.room.allows_room("!b:x")
    assert not f.room.allows_room("!c:x")
    assert f.room.timeline.limit_or(10) == 1000
    assert f.room.timeline.allows({"type": "m.room.message", "content": {"url": "mxc://a/b"}})
    assert not f.room.timeline.allows({"type": "m.room.message", "content": {"body": "x"}})


@pytest.mark.parametrize("bad", [
    [], {"room": {"timeline": {"limit": -1}}}, {"room": {"timeline": {"limit": True}}},
    {"room": {"rooms": ["not-a-room"]}}, {"presence": {"senders": "@a:x"}},
    {"event_format": "raw"}, {"room": {"include_leave": "yes"}}, {"event_fields": [1]},
])
def test_invalid_filters(bad: object) -> None:
    with pytest.raises(FilterError):
        parse_filter(bad)


def test_event_fields() -> None:
    event = {"type": "t", "content": {"body": "b", "m.x": {"y": 1}, "other": 2}, "sender": "s"}
    assert select_fields(event, ("type", "content.body", "content.m\\.x.y", "nope.z")) == {
        "type": "t", "content": {"body": "b", "m.x": {"y": 1}}}
