"""Power level parsing, defaults and the v12 creator rules."""

from __future__ import annotations

import math

import pytest

from glia.protocol.power_levels import (
    action_level,
    default_power_levels_content,
    event_level,
    notification_level,
    parse_level,
    power_levels_content_error,
    room_creators,
    user_level,
)
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS

V1, V5, V6, V9, V10, V11, V12 = (
    KNOWN_ROOM_VERSIONS[n] for n in ("1", "5", "6", "9", "10", "11", "12")
)


@pytest.mark.parametrize(
    ("value", "v1", "v6", "v10"),
    [
        (50, 50, 50, 50),
        ("100", 100, 100, None),
        ("000100", 100, 100, None),
        (" +100 ", 100, 100, None),
        ("-100", -100, -100, None),
        ("1_000", None, None, None),
        ("1.5", None, None, None),
        ("", None, None, None),
        (50.57, 50, None, None),
        (5.114698e4, 51146, None, None),
        (-3.9, -3, None, None),
        (math.inf, None, None, None),
        (math.nan, None, None, None),
        (True, None, None, None),
        (None, None, None, None),
    ],
)
def test_parse_level(value: object, v1: int | None, v6: int | None, v10: int | None) -> None:
    assert parse_level(value, V1) == v1
    assert parse_level(value, V6) == v6
    assert parse_level(value, V10) == v10


def test_room_creators_by_version() -> None:
    create = {
        "sender": "@a:x",
        "content": {"creator": "@old:x", "additional_creators": ["@b:x", "@c:x"]},
    }
    assert room_creators(create, V10) == {"@old:x"}
    assert room_creators(create, V11) == {"@a:x"}
    assert room_creators(create, V12) == {"@a:x", "@b:x", "@c:x"}
    assert room_creators(None, V12) == frozenset()


def test_user_level() -> None:
    pl = {"users": {"@a:x": 100, "@b:x": "50"}, "users_default": 5}
    assert user_level(pl, "@a:x", {"@a:x"}, V9) == 100
    assert user_level(pl, "@b:x", set(), V9) == 50
    assert user_level(pl, "@b:x", set(), V10) == 5  # strings are invalid from v10
    assert user_level(pl, "@z:x", set(), V9) == 5
    # Without power levels: the creator has 100, everybody else 0.
    assert user_level(None, "@a:x", {"@a:x"}, V11) == 100
    assert user_level(None, "@z:x", {"@a:x"}, V11) == 0
    # v12 creators are infinite, with or without power levels.
    assert user_level(None, "@a:x", {"@a:x"}, V12) == math.inf
    assert user_level({"users_default": 10**9}, "@a:x", {"@a:x"}, V12) > 10**9


def test_event_and_action_levels_and_defaults() -> None:
    pl = {"events": {"m.room.name": 20}, "events_default": 1, "state_default": 40, "kick": 7}
    assert event_level(pl, "m.room.name", True, V11) == 20
    assert event_level(pl, "m.room.topic", True, V11) == 40
    assert event_level(pl, "m.room.message", False, V11) == 1
    assert event_level(None, "m.room.topic", True, V11) == 50
    assert event_level(None, "m.room.message", False, V11) == 0
    assert action_level(pl, "kick", V11) == 7
    assert [action_level(None, a, V11) for a in ("invite", "kick", "ban", "redact")] == [
        0, 50, 50, 50,
    ]
    assert notification_level(None, "room", V11) == 50
    assert notification_level({"notifications": {"room": 10}}, "room", V11) == 10


def test_content_validation() -> None:
    assert power_levels_content_error({"users": {"@a:x": 100}}, V10) is None
    assert power_levels_content_error({"ban": "50"}, V9) is None
    assert power_levels_content_error({"ban": "50"}, V10) == "'ban' is not a valid power level"
    assert "events" in str(power_levels_content_error({"events": []}, V10))
    assert "notifications.room" in str(
        power_levels_content_error({"notifications": {"room": "x"}}, V5)
    )
    assert "valid user ID" in str(power_levels_content_error({"users": {"a": 1}}, V1))
    assert "creator" in str(power_levels_content_error({"users": {"@a:x": 1}}, V12, {"@a:x"}))
    assert power_levels_content_error({"users": {"@a:x": 1}}, V11, {"@a:x"}) is None


def test_default_content() -> None:
    v11 = default_power_levels_content("@a:x", V11, extra_users={"@b:x": 100})
    assert v11["users"] == {"@a:x": 100, "@b:x": 100}
    assert v11["events"]["m.room.tombstone"] == 100
    v12 = default_power_levels_content("@a:x", V12)
    assert v12["users"] == {}
    assert v12["events"]["m.room.tombstone"] > v12["state_default"]
    for content in (v11, v12):
        assert power_levels_content_error(content, V12 if content is v12 else V11, {"@a:x"}) is None
