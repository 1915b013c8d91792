"""The redaction algorithm per room version."""

from __future__ import annotations

from typing import Any

import pytest

from glia.protocol.redaction import redact
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS


def rv(n: int):  # type: ignore[no-untyped-def]
    return KNOWN_ROOM_VERSIONS[str(n)]


def _event(event_type: str, content: dict[str, Any], **extra: Any) -> dict[str, Any]:
    ev = {
        "event_id": "$e:x",
        "type": event_type,
        "room_id": "!r:x",
        "sender": "@u:x",
        "state_key": "",
        "content": content,
        "hashes": {"sha256": "h"},
        "signatures": {"x": {"ed25519:1": "s"}},
        "depth": 4,
        "prev_events": [],
        "auth_events": [],
        "origin": "x",
        "origin_server_ts": 1,
        "membership": "join",
        "prev_state": [],
        "unsigned": {"age": 10},
        "extra_top_level": True,
    }
    ev.update(extra)
    return ev


def test_top_level_keys_before_and_after_v11() -> None:
    ev = _event("m.room.message", {"body": "hi"})
    old = redact(ev, rv(10))
    assert set(old) == {
        "event_id", "type", "room_id", "sender", "state_key", "content", "hashes",
        "signatures", "depth", "prev_events", "auth_events", "origin", "origin_server_ts",
        "membership", "prev_state",
    }
    assert old["content"] == {}
    new = redact(ev, rv(11))
    assert set(old) - set(new) == {"origin", "membership", "prev_state"}
    assert "unsigned" not in new and "extra_top_level" not in new
    assert ev["content"] == {"body": "hi"}  # input untouched


MEMBER = {
    "membership": "join",
    "displayname": "U",
    "join_authorised_via_users_server": "@a:x",
    "third_party_invite": {"display_name": "d", "signed": {"mxid": "@u:x", "token": "t"}},
}


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, {"membership": "join"}),
        (8, {"membership": "join"}),
        (9, {"membership": "join", "join_authorised_via_users_server": "@a:x"}),
        (
            11,
            {
                "membership": "join",
                "join_authorised_via_users_server": "@a:x",
                "third_party_invite": {"signed": {"mxid": "@u:x", "token": "t"}},
            },
        ),
    ],
)
def test_member_content(n: int, expected: dict[str, Any]) -> None:
    assert redact(_event("m.room.member", MEMBER), rv(n))["content"] == expected


def test_create_content() -> None:
    content = {"creator": "@u:x", "room_version": "1", "m.federate": False}
    assert redact(_event("m.room.create", content), rv(10))["content"] == {"creator": "@u:x"}
    assert redact(_event("m.room.create", content), rv(11))["content"] == content


def test_join_rules_allow_from_v8() -> None:
    content = {"join_rule": "restricted", "allow": [{"type": "m.room_membership"}], "x": 1}
    assert redact(_event("m.room.join_rules", content), rv(7))["content"] == {
        "join_rule": "restricted"
    }
    assert redact(_event("m.room.join_rules", content), rv(8))["content"] == {
        "join_rule": "restricted",
        "allow": [{"type": "m.room_membership"}],
    }


def test_power_levels_invite_from_v11() -> None:
    content = {
        "ban": 50, "events": {}, "events_default": 0, "kick": 50, "redact": 50,
        "state_default": 50, "users": {"@u:x": 100}, "users_default": 0, "invite": 0,
        "notifications": {"room": 50},
    }
    kept_v1 = redact(_event("m.room.power_levels", content), rv(1))["content"]
    assert "invite" not in kept_v1 and "notifications" not in kept_v1
    assert len(kept_v1) == 8
    kept_v11 = redact(_event("m.room.power_levels", content), rv(11))["content"]
    assert kept_v11 == {k: v for k, v in content.items() if k != "notifications"}


def test_aliases_only_up_to_v5() -> None:
    content = {"aliases": ["#a:x"]}
    assert redact(_event("m.room.aliases", content), rv(5))["content"] == content
    assert redact(_event("m.room.aliases", content), rv(6))["content"] == {}


def test_history_visibility_and_redaction_content() -> None:
    hv = {"history_visibility": "shared", "other": 1}
    assert redact(_event("m.room.history_visibility", hv), rv(1))["content"] == {
        "history_visibility": "shared"
    }
    red = _event("m.room.redaction", {"redacts": "$t", "reason": "r"}, redacts="$t")
    assert redact(red, rv(10))["content"] == {}
    assert "redacts" not in redact(red, rv(10))  # top-level redacts is not protected
    assert redact(red, rv(11))["content"] == {"redacts": "$t"}
