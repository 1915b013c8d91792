"""Read receipts (``m.read``, ``m.read.private``, threaded) and read markers
(``m.fully_read``, which is room account data)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from glia import errors
from glia.clock import now_ms
from glia.ids import is_valid_event_id, is_valid_room_id
from glia.services.account_data import AccountDataService
from glia.services.notifier import Notifier
from glia.storage import Storage, Stores
from glia.storage.events import StoredEvent
from glia.storage.receipts import UNTHREADED, Receipt

if TYPE_CHECKING:
    from glia.services.appservices.ephemeral import AppServiceEphemeral
    from glia.services.unit_of_work import UnitOfWork

READ, READ_PRIVATE, FULLY_READ = "m.read", "m.read.private", "m.fully_read"
RECEIPT_TYPES = (READ, READ_PRIVATE, FULLY_READ)
MAIN_THREAD = "main"


class ReadPositions(Protocol):
    """Told when a user's read position in a room moves (push counts reset from there)."""

    async def mark_read(self, user_id: str, room_id: str, stream: int) -> None: ...


class ReceiptListener(Protocol):
    """Told of each public receipt written (the federation sender passes our users'
    receipts on to the room's other servers)."""

    async def __call__(self, room_id: str, user_id: str, receipt_type: str, event_id: str,
                       ts: int, thread_id: str | None) -> None: ...


class ReceiptService:
    def __init__(self, storage: Storage, notifier: Notifier,
                 account_data: AccountDataService, read_positions: ReadPositions,
                 appservices: AppServiceEphemeral | None = None,
                 listener: ReceiptListener | None = None) -> None:
        self._appservices = appservices
        self._listener = listener
        self._storage = storage
        self._notifier = notifier
        self._account_data = account_data
        self._read_positions = read_positions

    async def _event(self, user_id: str, room_id: str, event_id: str) -> StoredEvent:
        if not is_valid_room_id(room_id):
            raise errors.invalid_param(f"{room_id} is not a valid room ID")
        if not is_valid_event_id(event_id):
            raise errors.invalid_param(f"{event_id} is not a valid event ID")
        member = await self._storage.state.membership_of(room_id, user_id)
        if member is None or member.membership != "join":
            raise errors.forbidden(f"User {user_id} not in room {room_id}")
        event = await self._storage.events.get(event_id)
        if event is None or event.room_id != room_id:
            raise errors.not_found("Event not found")
        return event

    async def receipt(self, uow: UnitOfWork, room_id: str, receipt_type: str,
                      event_id: str, thread_id: str | None = None) -> None:
        """The caller's receipt (or read marker), written in the request's transaction."""
        user_id = uow.requester.user_id
        if receipt_type not in RECEIPT_TYPES:
            raise errors.invalid_param(f"Receipt type must be one of {list(RECEIPT_TYPES)}")
        if thread_id is None:
            thread_id = UNTHREADED
        elif thread_id not in (UNTHREADED, MAIN_THREAD) and not is_valid_event_id(thread_id):
            raise errors.invalid_param("thread_id must be 'main' or an event ID")
        event = await self._event(user_id, room_id, event_id)
        if receipt_type == FULLY_READ:
            if thread_id != UNTHREADED:
                raise errors.invalid_param("m.fully_read receipts cannot be threaded")
            async with uow.transaction() as tx:
                await self._account_data.write_in(tx, user_id, room_id, FULLY_READ,
                                                  {"event_id": event_id})
            await self._notifier.notify(users=[user_id])
            return
        async with uow.transaction() as tx:
            moved = await self._put(tx, user_id, room_id, receipt_type, event, thread_id)
        if moved:
            await self._moved(user_id, room_id, [(receipt_type, event)], thread_id)

    async def remote_receipt(self, room_id: str, user_id: str, event_id: str,
                             thread_id: str | None) -> None:
        """A public read receipt another server sent for its user (``m.receipt`` EDU);
        the user must be joined and the event known, else it is ignored."""
        try:
            event = await self._event(user_id, room_id, event_id)
        except errors.MatrixError:
            return
        thread = thread_id if isinstance(thread_id, str) else UNTHREADED
        async with self._storage.transaction() as tx:
            moved = await self._put(tx, user_id, room_id, READ, event, thread)
        if moved:
            await self._moved(user_id, room_id, [(READ, event)], thread)

    @staticmethod
    async def _put(tx: Stores, user_id: str, room_id: str, receipt_type: str,
                   event: StoredEvent, thread_id: str) -> bool:
        """Write the receipt in ``tx`` unless it would move backwards; whether it did."""
        current = await tx.receipts.get(room_id, receipt_type, user_id, thread_id)
        if current is not None:
            previous = await tx.events.get(current.event_id)
            # Receipts only move forwards; an older one is accepted and ignored.
            if previous is not None and previous.stream_ordering >= event.stream_ordering:
                return False
        await tx.receipts.put(Receipt(room_id, receipt_type, user_id, thread_id,
                                      event.event_id, now_ms(),
                                      await tx.next_stream_position()))
        return True

    async def _moved(self, user_id: str, room_id: str,
                     receipts: list[tuple[str, StoredEvent]],
                     thread_id: str = UNTHREADED) -> None:
        """After commit: reset push counts from the read position, wake the syncs that
        see the receipts (the room's for public ones, the user's for private)."""
        for receipt_type, event in receipts:
            await self._read_positions.mark_read(user_id, room_id, event.stream_ordering)
            if receipt_type == READ and self._appservices is not None:
                await self._appservices.receipt(room_id, user_id, READ, event.event_id,
                                                now_ms())
            if receipt_type == READ and self._listener is not None:
                await self._listener(room_id, user_id, READ, event.event_id, now_ms(),
                                     None if thread_id == UNTHREADED else thread_id)
        if any(receipt_type == READ for receipt_type, _ in receipts):
            await self._notifier.notify(rooms=[room_id])
        if any(receipt_type != READ for receipt_type, _ in receipts):
            await self._notifier.notify(users=[user_id])

    async def read_markers(self, uow: UnitOfWork, room_id: str, *, fully_read: str | None,
                           read: str | None, read_private: str | None) -> None:
        """Move the caller's read marker and (public, private) read receipts at once: one
        transaction, so either all move or none."""
        user_id = uow.requester.user_id
        given = {FULLY_READ: fully_read, READ: read, READ_PRIVATE: read_private}
        markers = {key: value for key, value in given.items() if value is not None}
        events = {k: await self._event(user_id, room_id, v) for k, v in markers.items()}
        moved: list[tuple[str, StoredEvent]] = []
        async with uow.transaction() as tx:
            if FULLY_READ in events:
                await self._account_data.write_in(tx, user_id, room_id, FULLY_READ,
                                                  {"event_id": events[FULLY_READ].event_id})
            for receipt_type in (READ, READ_PRIVATE):
                if receipt_type in events and await self._put(
                        tx, user_id, room_id, receipt_type, events[receipt_type],
                        UNTHREADED):
                    moved.append((receipt_type, events[receipt_type]))
        if moved:
            await self._moved(user_id, room_id, moved)
        if FULLY_READ in events:
            await self._notifier.notify(users=[user_id])

    async def sync_events(self, user_id: str, room_ids: list[str], since: int | None,
                          upto: int) -> dict[str, dict[str, Any]]:
        """room_id → the ``m.receipt`` ephemeral event of what changed (private receipts
        only the user's own)."""
        out: dict[str, dict[str, Any]] = {}
        for r in await self._storage.receipts.in_rooms(room_ids, since, upto):
            if r.receipt_type == READ_PRIVATE and r.user_id != user_id:
                continue
            content = out.setdefault(r.room_id, {"type": "m.receipt", "content": {}})
            entry: dict[str, Any] = {"ts": r.ts}
            if r.thread_id != UNTHREADED:
                entry["thread_id"] = r.thread_id
            content["content"].setdefault(r.event_id, {}).setdefault(
                r.receipt_type, {})[r.user_id] = entry
        return out
