"""Reporting content (the spec's report_content module): users report an event, a room or
a user to the server admins, who read the reports through the admin API.

The errors and messages follow Synapse, whose client behaviour other clients and tests
were written against. A user report about a remote or unknown user is accepted and
dropped, as Synapse does, so the endpoint does not reveal which accounts exist.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.ids import InvalidId, is_valid_event_id, is_valid_room_id, parse_user_id
from glia.services.visibility import room_visibility
from glia.storage import Storage

if TYPE_CHECKING:
    from glia.services.unit_of_work import UnitOfWork

#: Synapse's cap on the reason of a user report.
MAX_USER_REPORT_REASON = 1000
MIN_SCORE, MAX_SCORE = -100, 0

_EVENT_NOT_FOUND = "Unable to report event: it does not exist or you aren't able to see it."


class ReportService:
    def __init__(self, config: Config, storage: Storage) -> None:
        self._config = config
        self._storage = storage

    async def report_event(self, uow: UnitOfWork, room_id: str, event_id: str,
                           reason: str | None, score: int | None) -> None:
        """Only a current member who can see the event may report it (spec 1.8); every
        way of failing that is the same 404, so the answer reveals nothing more.
        ``score`` runs from ``MIN_SCORE`` (most offensive) to ``MAX_SCORE`` (the request
        model holds it to that range)."""
        user_id = uow.requester.user_id
        if not is_valid_room_id(room_id) or not is_valid_event_id(event_id):
            raise errors.not_found(_EVENT_NOT_FOUND)
        event = await self._storage.events.get(event_id)
        # A redacted event has nothing left to judge (the spec allows the 404).
        if event is None or event.room_id != room_id or event.redacted_by is not None:
            raise errors.not_found(_EVENT_NOT_FOUND)
        membership = await self._storage.state.membership_of(room_id, user_id)
        if membership is None or membership.membership != "join":
            raise errors.not_found(_EVENT_NOT_FOUND)
        visibility = await room_visibility(self._storage, user_id, room_id)
        if not visibility.visible(event):
            raise errors.not_found(_EVENT_NOT_FOUND)
        async with uow.transaction() as tx:
            report_id = await tx.next_stream_position("reports")
            await tx.reports.insert(report_id, "event", now_ms(), user_id, room_id=room_id,
                                    event_id=event_id, event_sender=event.sender,
                                    reason=reason, score=score)

    async def report_room(self, uow: UnitOfWork, room_id: str, reason: str) -> None:
        """Anyone may report a room this server knows, joined or not (spec 1.13)."""
        user_id = uow.requester.user_id
        if not is_valid_room_id(room_id) or await self._storage.rooms.get(room_id) is None:
            raise errors.not_found("Room does not exist")
        async with uow.transaction() as tx:
            report_id = await tx.next_stream_position("reports")
            await tx.reports.insert(report_id, "room", now_ms(), user_id, room_id=room_id,
                                    reason=reason)

    async def report_user(self, uow: UnitOfWork, target_user_id: str, reason: str) -> None:
        """Stored only for existing local users; others get the same ``{}`` (spec 1.14
        lets servers hide whether the user exists)."""
        user_id = uow.requester.user_id
        if len(reason) > MAX_USER_REPORT_REASON:
            raise errors.bad_json(
                f"Reason must be less than {MAX_USER_REPORT_REASON} characters")
        try:
            target = parse_user_id(target_user_id)
        except InvalidId as e:
            raise errors.invalid_param(str(e)) from e
        if target.domain != self._config.server_name:
            return
        if await self._storage.users.get(target_user_id) is None:
            return
        async with uow.transaction() as tx:
            report_id = await tx.next_stream_position("reports")
            await tx.reports.insert(report_id, "user", now_ms(), user_id,
                                    reported_user_id=target_user_id, reason=reason)
