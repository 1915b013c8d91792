"""Account data (global and per room) and room tags, which are room account data of
type ``m.tag``. Every change takes a stream position and wakes the user's syncs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

from glia import errors
from glia.errors import MatrixError
from glia.ids import is_valid_room_id
from glia.services.ignored_users import IGNORED_USER_LIST, record_change
from glia.services.notifier import Notifier
from glia.storage import Storage, Stores
from glia.storage.account_data import GLOBAL

if TYPE_CHECKING:
    from glia.services.unit_of_work import UnitOfWork

#: Types only the server writes (the spec's 405 list, and Synapse's).
SERVER_CONTROLLED = ("m.fully_read", "m.push_rules")
TAG = "m.tag"
MAX_TAG_LENGTH = 255


#: Account data content: any JSON object (its type decides its shape, not the server).
Content = dict[str, Any]


class Tags(msgspec.Struct, frozen=True):
    """A room's tags: tag name → its object (``order`` if the client set one)."""

    tags: dict[str, Any]


class AccountDataService:
    def __init__(self, storage: Storage, notifier: Notifier) -> None:
        self._storage = storage
        self._notifier = notifier

    @staticmethod
    def _own(requester_id: str, user_id: str) -> None:
        if requester_id != user_id:
            raise errors.forbidden("Cannot access account data for other users.")

    @staticmethod
    def _room(room_id: str) -> str:
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a valid room ID.")
        return room_id

    @staticmethod
    def _writable(data_type: str) -> None:
        if data_type in SERVER_CONTROLLED:
            raise MatrixError(405, "M_BAD_JSON", f"Cannot set {data_type} through this API.")

    async def put(self, uow: UnitOfWork, user_id: str, room_id: str | None, data_type: str,
                  content: dict[str, Any]) -> None:
        """The caller sets their own account data, in the request's transaction."""
        self._own(uow.requester.user_id, user_id)
        room = GLOBAL if room_id is None else self._room(room_id)
        self._writable(data_type)
        if room != GLOBAL and data_type == TAG:
            raise MatrixError(405, "M_BAD_JSON", "Cannot set m.tag through this API; use"
                              " /tags.")
        async with uow.transaction() as tx:
            await self.write_in(tx, user_id, room, data_type, content)
        await self._notifier.notify(users=[user_id])

    @staticmethod
    async def write_in(tx: Stores, user_id: str, room_id: str, data_type: str,
                       content: dict[str, Any]) -> None:
        """Write in ``tx`` without the client-facing checks (also for server-side
        writers such as m.fully_read); the caller notifies once ``tx`` commits."""
        stream = await tx.next_stream_position()
        if room_id == GLOBAL and data_type == IGNORED_USER_LIST:
            await record_change(tx, user_id, content, stream)
        await tx.account_data.put(user_id, room_id, data_type, content, stream)

    async def get(self, requester_id: str, user_id: str, room_id: str | None,
                  data_type: str) -> Content:
        self._own(requester_id, user_id)
        room = GLOBAL if room_id is None else self._room(room_id)
        content = await self._storage.account_data.get(user_id, room, data_type)
        # An empty object is how deletion (MSC3391) looks; it reads as absent.
        if not content:
            raise errors.not_found("Account data not found")
        return content

    # -- tags ----------------------------------------------------------------------------

    async def tags(self, requester_id: str, user_id: str, room_id: str) -> Tags:
        self._own(requester_id, user_id)
        content = await self._storage.account_data.get(user_id, self._room(room_id), TAG)
        tags = (content or {}).get("tags", {})
        return Tags(tags if isinstance(tags, dict) else {})

    async def set_tag(self, uow: UnitOfWork, user_id: str, room_id: str, tag: str,
                      content: dict[str, Any]) -> None:
        """Tag a room; ``content`` is the tag's object, kept as given (``order`` is the
        one field the spec defines, and it must be a number)."""
        self._own(uow.requester.user_id, user_id)
        if not tag or len(tag.encode()) > MAX_TAG_LENGTH:
            raise errors.invalid_param(f"Tag names must be 1 to {MAX_TAG_LENGTH} bytes")
        order = content.get("order")
        if order is not None and (isinstance(order, bool)
                                  or not isinstance(order, int | float)):
            raise errors.bad_json("'order' must be a number")
        room = self._room(room_id)
        async with uow.transaction() as tx:
            await self._update_tags(tx, user_id, room, tag, dict(content))
        await self._notifier.notify(users=[user_id])

    async def remove_tag(self, uow: UnitOfWork, user_id: str, room_id: str,
                         tag: str) -> None:
        self._own(uow.requester.user_id, user_id)
        room = self._room(room_id)
        async with uow.transaction() as tx:
            changed = await self._update_tags(tx, user_id, room, tag, None)
        if changed:
            await self._notifier.notify(users=[user_id])

    @staticmethod
    async def _update_tags(tx: Stores, user_id: str, room_id: str, tag: str,
                           value: dict[str, Any] | None) -> bool:
        """Set (or, with ``None``, remove) one tag in ``tx``; whether anything changed."""
        content = await tx.account_data.get(user_id, room_id, TAG) or {}
        tags = dict(content.get("tags") or {})
        if value is None:
            if tag not in tags:
                return False
            del tags[tag]
        else:
            tags[tag] = value
        await tx.account_data.put(user_id, room_id, TAG, {"tags": tags},
                                  await tx.next_stream_position())
        return True

    async def add_tag(self, user_id: str, room_id: str, tag: str,
                      value: dict[str, Any]) -> None:
        """Tag a room for a user (server-side, e.g. ``m.server_notice``)."""
        async with self._storage.transaction() as tx:
            await self._update_tags(tx, user_id, room_id, tag, value)
        await self._notifier.notify(users=[user_id])
