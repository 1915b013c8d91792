"""``m.room.server_acl`` enforcement: whether a server may take part in one of our
rooms, by the room's current ACL (the rules are in ``glia.protocol.server_acl``). The
inbound federation endpoints call :meth:`RoomAcls.check` on every room-scoped request;
the inbound transaction path calls :meth:`RoomAcls.allowed` per PDU and per room-bound
EDU."""

from __future__ import annotations

from glia import errors
from glia.protocol.server_acl import server_allowed
from glia.storage import Storage

ACL = ("m.room.server_acl", "")


class RoomAcls:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def allowed(self, room_id: str, server_name: str) -> bool:
        """Whether the room's current ACL (if any) lets ``server_name`` take part."""
        ids = await self._storage.state.current_ids_by_key(room_id, [ACL])
        if ACL not in ids:
            return True
        event = await self._storage.events.get(ids[ACL])
        return server_allowed(event.content if event is not None else None, server_name)

    async def check(self, room_id: str, server_name: str) -> None:
        """``403 M_FORBIDDEN`` for a server the room's ACL denies."""
        if not await self.allowed(room_id, server_name):
            raise errors.forbidden(f"Server {server_name} is banned from room {room_id}")
