"""Building blocks for store tests on a storage shared by a module: unique IDs, users,
rooms, events and state rows made with the stores themselves."""

from __future__ import annotations

import itertools
from typing import Any

from glia.storage import Stores
from glia.storage.events import NewEvent

#: The largest integer JSON clients and both engines' BIGINT agree on (2^53 - 1).
MAX_SAFE = 2**53 - 1

_ids = itertools.count(1)
_streams = itertools.count(1_000)


def uid(prefix: str = "x") -> str:
    """A name no other test of the run uses."""
    return f"{prefix}{next(_ids)}"


def stream() -> int:
    """A stream position no other test of the run uses, larger than every earlier one."""
    return next(_streams)


async def user(db: Stores, name: str | None = None, *, server: str = "test",
               displayname: str | None = None, creation_ts: int = 1) -> str:
    user_id = f"@{name or uid('u')}:{server}"
    await db.users.create(user_id, None, admin=False, user_type=None, creation_ts=creation_ts)
    await db.profile.create(user_id, displayname)
    return user_id


async def device(db: Stores, user_id: str, device_id: str | None = None) -> str:
    device_id = device_id or uid("DEV")
    await db.devices.upsert(user_id, device_id, None, 1)
    return device_id


async def room(db: Stores, creator: str = "@creator:test", version: str = "12") -> str:
    room_id = f"!{uid('r')}:test"
    await db.rooms.create(room_id, version, creator, 1)
    return room_id


async def event(db: Stores, room_id: str, *, sender: str = "@sender:test",
                type: str = "m.room.message", content: dict[str, Any] | None = None,
                state_key: str | None = None, depth: int | None = None,
                at: int | None = None, ts: int | None = None,
                relates_to: str | None = None, rel_type: str | None = None,
                sender_device: str | None = None, txn_id: str | None = None) -> NewEvent:
    """Insert an event at a fresh (or the given) stream position; depth defaults to it."""
    position = stream() if at is None else at
    pdu: dict[str, Any] = {"type": type, "sender": sender, "room_id": room_id,
                           "origin_server_ts": position if ts is None else ts,
                           "content": {} if content is None else content}
    if state_key is not None:
        pdu["state_key"] = state_key
    new = NewEvent(f"${uid('e')}", room_id, position, position if depth is None else depth,
                   pdu, {}, relates_to, rel_type, sender_device, txn_id)
    await db.events.insert(new)
    return new


async def member(db: Stores, room_id: str, user_id: str, membership: str = "join", *,
                 sender: str | None = None, ts: int | None = None) -> NewEvent:
    """A membership event and the state row that makes it current."""
    e = await event(db, room_id, sender=sender or user_id, type="m.room.member",
                    content={"membership": membership}, state_key=user_id, ts=ts)
    await db.state.set(room_id, "m.room.member", user_id, e.event_id, membership,
                       e.stream_ordering)
    return e
