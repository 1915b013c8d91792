"""Canonical JSON, hashes, event IDs, PDU building and limits."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from glia.protocol import events
from glia.protocol.events import (
    InvalidEvent,
    add_hashes,
    build_event,
    compute_content_hash,
    compute_event_id,
    compute_reference_hash,
    event_fits_size_limits,
    room_id_for_v12_create,
    validate_pdu,
)
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS

V1, V3, V4, V6, V11, V12 = (KNOWN_ROOM_VERSIONS[n] for n in ("1", "3", "4", "6", "11", "12"))


# The spec's event signing vector (appendices, "Event Signing"): the content hashes.
MINIMAL_EVENT: dict[str, Any] = {
    "room_id": "!x:domain",
    "sender": "@a:domain",
    "origin": "domain",
    "origin_server_ts": 1000000,
    "signatures": {},
    "hashes": {},
    "type": "X",
    "content": {},
    "prev_events": [],
    "auth_events": [],
    "depth": 3,
    "unsigned": {"age_ts": 1000000},
}


def test_content_hash_known_answers() -> None:
    assert compute_content_hash(MINIMAL_EVENT) == "5jM4wQpv6lnBo7CLIghJuHdW+s2CMBJPUOGOC89ncos"
    message = {
        "content": {"body": "Here is the message content"},
        "event_id": "$0:domain",
        "origin": "domain",
        "origin_server_ts": 1000000,
        "type": "m.room.message",
        "room_id": "!r:domain",
        "sender": "@u:domain",
        "signatures": {},
        "unsigned": {"age_ts": 1000000},
    }
    hashed = add_hashes(message)
    assert hashed["hashes"] == {"sha256": "onLKD1bGljeBWQhWZ1kaP9SorVmRQNdN5aM2JYU2n/g"}
    assert "hashes" not in message  # inputs are never modified


def test_content_hash_ignores_unsigned_signatures_and_hashes() -> None:
    other = dict(MINIMAL_EVENT, unsigned={"age": 5}, signatures={"x": {}}, hashes={"a": "b"})
    assert compute_content_hash(other) == compute_content_hash(MINIMAL_EVENT)


def _message(ts: int) -> dict[str, Any]:
    return {
        "room_id": "!r:example.org",
        "sender": "@u:example.org",
        "type": "m.room.message",
        "content": {"body": "hello", "msgtype": "m.text"},
        "depth": 5,
        "origin_server_ts": ts,
        "prev_events": ["$p"],
        "auth_events": ["$a"],
        "hashes": {"sha256": "abc"},
        "signatures": {"example.org": {"ed25519:1": "sig"}},
        "unsigned": {"age": 1},
    }


def test_reference_hash_covers_the_redacted_event_only() -> None:
    ev = _message(1)
    # Independent computation: redact by hand (v4 keeps these top-level keys, drops the
    # content), drop signatures and unsigned, hash canonical JSON.
    by_hand = {
        k: ev[k]
        for k in ("room_id", "sender", "type", "depth", "origin_server_ts", "prev_events",
                  "auth_events", "hashes")
    }
    by_hand["content"] = {}
    expected = hashlib.sha256(
        json.dumps(by_hand, sort_keys=True, separators=(",", ":")).encode()
    ).digest()
    assert compute_reference_hash(ev, V4) == expected
    # Signatures, unsigned and redactable content do not change the ID.
    changed = dict(ev, signatures={}, unsigned={}, content={"body": "other"})
    assert compute_event_id(changed, V4) == compute_event_id(ev, V4)
    assert compute_event_id(dict(ev, depth=6), V4) != compute_event_id(ev, V4)


def test_event_id_alphabet_v3_standard_v4_urlsafe() -> None:
    # Find an event whose hash needs the characters that differ between the alphabets.
    ts = 0
    while True:
        ev = _message(ts)
        std = base64.b64encode(compute_reference_hash(ev, V3)).decode().rstrip("=")
        if "+" in std or "/" in std:
            break
        ts += 1
    v3_id, v4_id = compute_event_id(ev, V3), compute_event_id(ev, V4)
    assert v3_id == "$" + std
    assert len(v3_id) == 44
    assert "-" not in v3_id and "_" not in v3_id
    assert "+" not in v4_id and "/" not in v4_id
    assert v4_id == "$" + std.replace("+", "-").replace("/", "_")


def test_event_id_is_not_computed_for_v1() -> None:
    with pytest.raises(ValueError):
        compute_event_id(_message(1), V1)
    assert events.get_event_id({"event_id": "$x:y"}, V1) == "$x:y"


def test_v12_room_id_is_the_create_event_hash() -> None:
    create = build_event(
        V12,
        room_id=None,
        sender="@alice:example.org",
        event_type="m.room.create",
        state_key="",
        content={"room_version": "12"},
        prev_events=[],
        auth_events=[],
        depth=1,
        origin_server_ts=1_700_000_000_000,
        server_name="example.org",
    )
    assert "room_id" not in create
    assert "creator" not in create["content"]
    assert "origin" not in create
    event_id = compute_event_id(create, V12)
    room_id = room_id_for_v12_create(event_id)
    digest = compute_reference_hash(create, V12)
    assert room_id == "!" + base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert len(room_id) == 44 and ":" not in room_id
    assert events.create_event_id_for_v12_room(room_id) == event_id
    with pytest.raises(ValueError):
        build_event(
            V12, room_id="!x:y", sender="@a:y", event_type="m.room.create", state_key="",
            content={}, prev_events=[], auth_events=[], depth=1, origin_server_ts=1,
            server_name="y",
        )


def test_build_event_v1_shape() -> None:
    ev = build_event(
        V1,
        room_id="!r:example.org",
        sender="@u:example.org",
        event_type="m.room.redaction",
        content={"reason": "spam"},
        prev_events=["$p:example.org"],
        auth_events=["$a:example.org", "$b:example.org"],
        depth=3,
        origin_server_ts=5,
        server_name="example.org",
        redacts="$bad:example.org",
        reference_hashes={"$p:example.org": "hashp"},
    )
    assert ev["event_id"].startswith("$") and ev["event_id"].endswith(":example.org")
    assert ev["prev_events"] == [["$p:example.org", {"sha256": "hashp"}]]
    assert ev["auth_events"] == [["$a:example.org", {}], ["$b:example.org", {}]]
    assert ev["redacts"] == "$bad:example.org"
    assert ev["origin"] == "example.org"
    assert ev["hashes"]["sha256"] == compute_content_hash(ev)
    assert events.prev_event_ids(ev) == ["$p:example.org"]
    assert events.auth_event_ids(ev) == ["$a:example.org", "$b:example.org"]


def test_build_event_v11_redacts_in_content_and_creator_only_before_v11() -> None:
    common: dict[str, Any] = dict(
        room_id="!r:example.org", sender="@u:example.org", prev_events=["$p"],
        auth_events=["$a"], depth=3, origin_server_ts=5, server_name="example.org",
    )
    red = build_event(V11, event_type="m.room.redaction", content={}, redacts="$x", **common)
    assert red["content"]["redacts"] == "$x" and "redacts" not in red
    assert events.redacts_of(red, V11) == "$x"
    assert red["prev_events"] == ["$p"] and "event_id" not in red
    create6 = build_event(V6, event_type="m.room.create", state_key="", content={}, **common)
    assert create6["content"]["creator"] == "@u:example.org"
    create11 = build_event(V11, event_type="m.room.create", state_key="", content={}, **common)
    assert "creator" not in create11["content"]


def test_size_limits() -> None:
    ev = _message(1)
    assert event_fits_size_limits(ev)
    assert not event_fits_size_limits(dict(ev, content={"body": "x" * 65536}))
    assert not event_fits_size_limits(dict(ev, type="t" * 256))
    assert event_fits_size_limits(dict(ev, type="t" * 255))
    assert not event_fits_size_limits(dict(ev, state_key="é" * 128))  # 256 bytes
    assert not event_fits_size_limits(dict(ev, sender="@" + "u" * 250 + ":example.org"))


def test_validate_pdu() -> None:
    ev = _message(1)
    validate_pdu(ev, V6)
    with pytest.raises(InvalidEvent, match="canonical"):
        validate_pdu(dict(ev, content={"n": 1.5}), V6)
    validate_pdu(dict(ev, content={"n": 1.5}), V4)  # lenient before v6
    with pytest.raises(InvalidEvent, match="room_id"):
        validate_pdu({k: v for k, v in ev.items() if k != "room_id"}, V6)
    with pytest.raises(InvalidEvent, match="event_id"):
        validate_pdu(dict(ev, event_id="$x"), V6)
    with pytest.raises(InvalidEvent, match="prev_events"):
        validate_pdu(dict(ev, prev_events=[f"$e{i}" for i in range(21)]), V6)
    with pytest.raises(InvalidEvent, match="malformed"):
        validate_pdu(dict(ev, event_id="$e:example.org"), V1)  # v1 refs are pairs
    with pytest.raises(InvalidEvent, match="depth"):
        validate_pdu(dict(ev, depth=2**53), V6)
    with pytest.raises(InvalidEvent, match="sender"):
        validate_pdu(dict(ev, sender="nobody"), V6)
    create = dict(ev, type="m.room.create", state_key="")
    with pytest.raises(InvalidEvent, match="room_id"):
        validate_pdu(create, V12)
    validate_pdu({k: v for k, v in create.items() if k != "room_id"}, V12)
