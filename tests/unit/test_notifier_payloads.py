"""Wake-ups between processes travel as ``NOTIFY`` payloads under PostgreSQL's 8000-byte
limit; a big notification is split, its membership changes first, so the receiving
process has applied them before it wakes the rooms' members."""

from __future__ import annotations

import json

from glia.services.notifier import MAX_PAYLOAD, _chunks


def test_a_big_notification_is_split_with_membership_changes_first() -> None:
    members = [[f"!room{i}:example.org", f"@user{i}:example.org", 1000 + i, i % 2]
               for i in range(300)]
    users = [f"@someone{i}:example.org" for i in range(300)]
    rooms = [f"!other{i}:example.org" for i in range(300)]
    chunks = _chunks(members, users, rooms)
    assert len(chunks) > 1
    for chunk_members, chunk_users, chunk_rooms in chunks:
        payload = json.dumps({"o": "x" * 32, "m": chunk_members, "u": chunk_users,
                              "r": chunk_rooms}, separators=(",", ":"))
        assert len(payload.encode()) < 8000
        assert len(payload.encode()) <= MAX_PAYLOAD + 100
    assert [m for c in chunks for m in c[0]] == members
    assert [u for c in chunks for u in c[1]] == users
    assert [r for c in chunks for r in c[2]] == rooms
    # No payload names a user or room to wake before every membership change was sent.
    last_with_members = max(i for i, c in enumerate(chunks) if c[0])
    first_with_wakes = min(i for i, c in enumerate(chunks) if c[1] or c[2])
    assert first_with_wakes >= last_with_members


def test_a_small_notification_is_one_payload() -> None:
    assert _chunks([["!r:x", "@u:x", 5, 1]], ["@u:x"], ["!r:x"]) == [
        ([["!r:x", "@u:x", 5, 1]], ["@u:x"], ["!r:x"])]
    assert _chunks([], [], []) == []
