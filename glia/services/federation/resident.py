"""What Glia does as a room's resident server for another server's user: ``make_join``
/ ``send_join`` (v2) and ``make_leave`` / ``send_leave`` (v2).

``make_*`` builds the event template from our current state (prev_events, auth_events,
depth) and checks that the room's auth rules would allow it, so a user who may not join
hears so before signing anything. ``send_*`` checks the signed event as any received
event (format, signatures, hash, its own auth events), then against our current state
under the room's lock, adds our signature and writes it through the event pipeline (the
federation sender then passes it on to the room's other servers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
from signedjson.types import SigningKey

from glia import errors
from glia.clock import now_ms
from glia.errors import MatrixError
from glia.ids import InvalidId, parse_user_id, server_name_of
from glia.protocol import auth_rules
from glia.protocol.events import auth_event_ids, build_event, prev_event_ids
from glia.protocol.room_versions import RoomVersion, get_room_version
from glia.protocol.signing import sign_event
from glia.services.events import EventsService
from glia.services.federation.pdus import BadPdu, PduChecks, authorise, check_against_state
from glia.services.restricted_joins import restricted_join
from glia.storage import Storage, Stores
from glia.storage.events import StoredEvent

__all__ = ["MembershipTemplate", "ResidentMemberships", "SendJoinResult", "auth_chain"]

#: How many events an auth chain walk reads at most (a bound on hostile graphs).
MAX_AUTH_CHAIN = 10_000


class MembershipTemplate(msgspec.Struct, frozen=True):
    """The answer of ``make_join`` / ``make_leave``."""

    room_version: str
    event: dict[str, Any]


class SendJoinResult(msgspec.Struct, frozen=True):
    """The answer of ``send_join`` v2: the state before the join and its auth chain."""

    origin: str
    state: list[dict[str, Any]]
    auth_chain: list[dict[str, Any]]
    event: dict[str, Any]
    members_omitted: bool = False


def _incompatible(version: str) -> MatrixError:
    return MatrixError(400, "M_INCOMPATIBLE_ROOM_VERSION",
                       f"Your homeserver does not support the features required to "
                       f"interact with this room (version {version})",
                       room_version=version)


async def auth_chain(storage: Storage | Stores, start: Sequence[str]) -> list[StoredEvent]:
    """Every event reachable from ``start`` through ``auth_events`` (not ``start``
    itself unless reachable), oldest first by depth."""
    seen: dict[str, StoredEvent] = {}
    frontier = list(dict.fromkeys(start))
    first = await storage.events.get_many(frontier)
    frontier = [a for e in first.values() for a in auth_event_ids(e.pdu)]
    while frontier and len(seen) < MAX_AUTH_CHAIN:
        wanted = [e for e in dict.fromkeys(frontier) if e not in seen]
        found = await storage.events.get_many(wanted)
        seen.update(found)
        frontier = [a for e in found.values() for a in auth_event_ids(e.pdu) if a not in seen]
    return sorted(seen.values(), key=lambda e: (e.depth, e.stream_ordering))


class ResidentMemberships:
    def __init__(self, server_name: str, storage: Storage, events: EventsService,
                 checks: PduChecks, signing_key: SigningKey) -> None:
        self._server_name = server_name
        self._storage = storage
        self._events = events
        self._checks = checks
        self._key = signing_key

    async def _room(self, room_id: str) -> RoomVersion:
        room = await self._storage.rooms.get(room_id)
        joined = await self._storage.state.members_at(room_id, None, ["join"]) \
            if room is not None else []
        if room is None or not any(server_name_of(m.user_id) == self._server_name
                                   for m in joined):
            raise errors.not_found(f"Room {room_id} is not known here")
        version = get_room_version(room.room_version)
        assert version is not None
        return version

    async def current_auth_state(self, storage: Storage | Stores, room_id: str,
                                 keys: Sequence[tuple[str, str]]
                                 ) -> dict[tuple[str, str], dict[str, Any]]:
        ids = await storage.state.current_ids_by_key(room_id, [("m.room.create", ""), *keys])
        found = await storage.events.get_many(list(ids.values()))
        return {key: found[eid].pdu for key, eid in ids.items() if eid in found}

    async def make(self, origin: str, room_id: str, user_id: str, membership: str,
                   versions: Sequence[str] | None) -> MembershipTemplate:
        """``make_join`` (``versions``: the ``ver`` the asking server supports) or
        ``make_leave``: a template of the user's membership event."""
        try:
            user_server = parse_user_id(user_id).domain
        except InvalidId as e:
            raise errors.invalid_param(f"Invalid user ID {user_id!r}: {e}") from e
        if user_server != origin:
            raise errors.forbidden(f"{origin} cannot make a membership event for {user_id}")
        version = await self._room(room_id)
        if versions is not None and version.identifier not in versions:
            raise _incompatible(version.identifier)
        content: dict[str, Any] = {"membership": membership}
        if membership == "join":
            authoriser = await self._join_authoriser(room_id, user_id)
            if authoriser is not None:
                content["join_authorised_via_users_server"] = authoriser
        types = auth_rules.auth_types_for_event("m.room.member", user_id, user_id, content,
                                                version)
        prev = await self._storage.rooms.forward_extremities(room_id)
        depth = await self._storage.events.max_depth(prev) + 1
        state = await self.current_auth_state(self._storage, room_id, types)
        ids = await self._storage.state.current_ids_by_key(room_id, types)
        listed = sorted(ids[k] for k in types if k in ids)
        event = build_event(version, room_id=room_id, sender=user_id,
                            event_type="m.room.member", content=content, prev_events=prev,
                            auth_events=listed, depth=depth, origin_server_ts=now_ms(),
                            server_name=origin, state_key=user_id)
        # A restricted join is checked as we will sign it (the rules want our signature).
        checked = sign_event(event, version, self._server_name, self._key) \
            if "join_authorised_via_users_server" in content else event
        problem = check_against_state(checked, state, version)
        if problem is not None:
            raise errors.forbidden(f"You are not allowed to {membership} this room: "
                                   f"{problem}")
        event.pop("hashes", None)
        return MembershipTemplate(version.identifier, event)

    async def _join_authoriser(self, room_id: str, user_id: str) -> str | None:
        """Our member who authorises a join to a restricted room (None: none needed,
        or the allow rule is not met, which the auth rules then refuse); ``400
        M_UNABLE_TO_AUTHORISE_JOIN`` when this server cannot judge it and ``400
        M_UNABLE_TO_GRANT_JOIN`` when none of our users may invite, so the joining
        server tries another."""
        judged = await restricted_join(self._storage, self._server_name, room_id, user_id)
        if judged.cannot_judge:
            raise MatrixError(400, "M_UNABLE_TO_AUTHORISE_JOIN",
                              "This server cannot authorise this join to the restricted "
                              "room: try another server in the room")
        if judged.cannot_grant:
            raise MatrixError(400, "M_UNABLE_TO_GRANT_JOIN",
                              "No user of this server may authorise this join: try "
                              "another server in the room")
        return judged.authoriser

    async def _countersign(self, room_id: str, version: RoomVersion,
                           pdu: Mapping[str, Any]) -> Mapping[str, Any]:
        """A restricted join naming one of our users as its authoriser must carry our
        signature before the checks on receipt: we add it once the allow rule is met."""
        content = pdu.get("content")
        via = content.get("join_authorised_via_users_server") \
            if isinstance(content, Mapping) else None
        if not version.restricted_join_rule or not isinstance(via, str):
            return pdu
        try:
            ours = server_name_of(via) == self._server_name
        except InvalidId as e:
            raise errors.invalid_param(f"Invalid join_authorised_via_users_server: {e}") \
                from e
        if not ours:
            return pdu
        if await self._join_authoriser(room_id, str(pdu.get("sender"))) is None:
            raise errors.forbidden("The join does not meet the room's allow rule")
        try:
            return sign_event(dict(pdu), version, self._server_name, self._key)
        except Exception as e:  # an event too malformed to sign is not a join
            raise errors.bad_json(f"The event cannot be signed: {e}") from e

    async def send(self, origin: str, room_id: str, event_id: str, pdu: Mapping[str, Any],
                   membership: str) -> StoredEvent:
        """``send_join`` / ``send_leave`` / ``send_knock``: check, sign and write the
        event; returns it."""
        version = await self._room(room_id)
        if not isinstance(pdu, Mapping):
            raise errors.bad_json("The body must be an event")
        if membership == "join":
            pdu = await self._countersign(room_id, version, pdu)
        try:
            checked_id, event = await self._checks.checked(pdu, version)
        except BadPdu as e:
            raise errors.forbidden(str(e)) from e
        if checked_id != event_id:
            raise errors.invalid_param(f"The event ID is {checked_id}, not {event_id}")
        sender = event.get("sender")
        if event.get("room_id") != room_id or event.get("type") != "m.room.member" \
                or event.get("state_key") != sender \
                or event.get("content", {}).get("membership") != membership:
            raise errors.invalid_param(f"Not a {membership} of its sender in {room_id}")
        if server_name_of(str(sender)) != origin:
            raise errors.forbidden(f"{origin} cannot send a membership event for {sender}")
        existing = await self._storage.events.get(event_id)
        if existing is not None:
            return existing
        signed = sign_event(event, version, self._server_name, self._key)
        await self._check_own_auth(room_id, version, signed)
        return await self.write_membership(room_id, version, signed, event_id,
                                           f"The {membership} is not allowed")

    async def write_membership(self, room_id: str, version: RoomVersion,
                               signed: dict[str, Any], event_id: str, refusal: str
                               ) -> StoredEvent:
        """Write a membership event another server signed with us (a join, leave or
        invite), checked once more against the room's current state under the room's
        lock: the state may have changed since the make_* answer. ``refusal`` begins the
        403's message."""

        async def write(tx: Stores) -> list[StoredEvent]:
            types = auth_rules.auth_types_for_pdu(signed, version)
            problem = check_against_state(
                signed, await self.current_auth_state(tx, room_id, types), version)
            if problem is not None:
                raise errors.forbidden(f"{refusal}: {problem}")
            prevs = set(prev_event_ids(signed))
            extremities = [e for e in await tx.rooms.forward_extremities(room_id)
                           if e not in prevs]
            return [await self._events.persist_received(
                tx, room_id, version, signed, event_id, in_state=True,
                extremities=[*extremities, event_id])]

        return (await self._events.write_received(room_id, version, write))[0]

    async def _check_own_auth(self, room_id: str, version: RoomVersion,
                              event: Mapping[str, Any]) -> None:
        ids = auth_event_ids(event)
        found = await self._storage.events.get_many(ids)
        if len(found) != len(set(ids)):
            raise errors.forbidden("The event names auth events this server does not know")
        create = None
        if version.room_id_is_create_hash:
            key = ("m.room.create", "")
            create_ids = await self._storage.state.current_ids_by_key(room_id, [key])
            got = await self._storage.events.get_many(list(create_ids.values()))
            create = next(iter(got.values())).pdu if got else None
        try:
            authorise(event, [e.pdu for e in found.values()], version, create)
        except BadPdu as e:
            raise errors.forbidden(str(e)) from e

    async def send_join(self, origin: str, room_id: str, event_id: str,
                        pdu: Mapping[str, Any]) -> SendJoinResult:
        joined = await self.send(origin, room_id, event_id, pdu, "join")
        state_ids = await self._storage.state.ids_at(room_id, joined.stream_ordering - 1)
        state = await self._storage.events.get_many(
            [e for k, e in state_ids.items() if e != event_id])
        chain = await auth_chain(self._storage, [*state, *auth_event_ids(joined.pdu)])
        return SendJoinResult(
            origin=self._server_name,
            state=[e.pdu for e in sorted(state.values(), key=lambda e: e.stream_ordering)],
            auth_chain=[e.pdu for e in chain], event=joined.pdu)
