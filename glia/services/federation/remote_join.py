"""Our user joins (or leaves) a room this server is not in, through a resident server.

Joining: ``make_join`` (with every room version we speak) → fill in and sign the event
→ ``send_join`` v2 → verify what came back: every state and auth-chain event's format,
signatures and content hash, and each one against its own auth events in depth order;
the join itself against its auth events. Only then is the room stored, with that state
and the join as the first event written by us, through the event pipeline.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

from signedjson.types import SigningKey

from glia import errors
from glia.clock import now_ms
from glia.errors import MatrixError
from glia.protocol.events import (
    add_hashes,
    auth_event_ids,
    get_event_id,
    new_opaque_event_id,
    state_key_of,
)
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion, get_room_version
from glia.protocol.signing import sign_event
from glia.services.events import EventsService
from glia.services.federation.client import FederationClient, FederationError, RemoteError
from glia.services.federation.pdus import BadPdu, PduChecks, authorise, create_event_id
from glia.storage import Stores
from glia.storage.events import StoredEvent

__all__ = ["RemoteMemberships"]

logger = logging.getLogger(__name__)

Pdu = dict[str, Any]
T = TypeVar("T")


class RemoteMemberships:
    def __init__(self, server_name: str, events: EventsService, client: FederationClient,
                 checks: PduChecks, signing_key: SigningKey) -> None:
        self._server_name = server_name
        self._events = events
        self._client = client
        self._checks = checks
        self._key = signing_key

    async def join(self, user_id: str, room_id: str, servers: Sequence[str],
                   content: Mapping[str, Any]) -> StoredEvent:
        """Join ``room_id`` through the first of ``servers`` that lets us; the last
        server's refusal is raised if none does (``404`` without any server)."""
        return await self.through_first(
            servers, lambda server: self._join_via(server, user_id, room_id, content),
            f"joining {room_id}")

    async def through_first(self, servers: Sequence[str],
                            attempt: Callable[[str], Awaitable[T]], what: str) -> T:
        """``attempt`` with each of ``servers`` but us, in order, until one succeeds;
        each refusal is logged, the last one raised (``404`` without any server)."""
        candidates = [s for s in dict.fromkeys(servers) if s != self._server_name]
        if not candidates:
            raise errors.not_found("No known servers for this room")
        last: MatrixError | None = None
        for server in candidates:
            try:
                return await attempt(server)
            except MatrixError as e:
                logger.info("%s via %s failed: %s", what, server, e)
                last = e
        assert last is not None
        raise last

    async def ask(self, server: str, method: str, path: str,
                   content: Any = None) -> dict[str, Any]:
        try:
            answer = await self._client.request(server, method, path, content=content)
        except RemoteError as e:
            if 400 <= e.status < 500 and e.errcode:
                raise MatrixError(e.status, e.errcode, e.error or "") from e
            raise MatrixError(502, "M_UNKNOWN", f"{server} failed: {e}") from e
        except FederationError as e:
            raise MatrixError(502, "M_UNKNOWN", f"Cannot reach {server}: {e}") from e
        except ValueError as e:
            raise errors.invalid_param(str(e)) from e
        if not isinstance(answer.body, dict):
            raise MatrixError(502, "M_UNKNOWN", f"{server} answered something not an object")
        return answer.body

    async def make_event(self, server: str, kind: str, user_id: str, room_id: str,
                         content: Mapping[str, Any]) -> tuple[RoomVersion, str, Pdu]:
        """``make_join`` / ``make_leave`` at ``server``: (version, event ID, our signed
        event) from its template with our ``content``."""
        path = f"/_matrix/federation/v1/make_{kind}/{quote(room_id)}/{quote(user_id)}"
        if kind in ("join", "knock"):
            path += "?" + "&".join(f"ver={quote(v)}" for v in KNOWN_ROOM_VERSIONS)
        body = await self.ask(server, "GET", path)
        version = get_room_version(body.get("room_version", "1"))
        template = body.get("event")
        if version is None:
            raise MatrixError(502, "M_UNKNOWN", f"{server} answered an unknown room version")
        if not isinstance(template, dict) or template.get("room_id") != room_id \
                or template.get("sender") != user_id or template.get("state_key") != user_id \
                or template.get("type") != "m.room.member":
            raise MatrixError(502, "M_UNKNOWN", f"{server} answered a wrong event template")
        event = {k: v for k, v in template.items()
                 if k not in ("hashes", "signatures", "unsigned", "event_id")}
        event["content"] = {**content, "membership": kind}
        via = template.get("content", {}).get("join_authorised_via_users_server") \
            if isinstance(template.get("content"), dict) else None
        if kind == "join" and isinstance(via, str):
            # A restricted join: the resident server names its member who authorises
            # it (and signs the join in send_join).
            event["content"]["join_authorised_via_users_server"] = via
        event["origin_server_ts"] = now_ms()
        if not version.updated_redaction_rules:
            event["origin"] = self._server_name
        if version.event_id_in_pdu:
            event["event_id"] = new_opaque_event_id(self._server_name)
        signed = sign_event(add_hashes(event), version, self._server_name, self._key)
        return version, get_event_id(signed, version), signed

    async def leave_via(self, server: str, user_id: str, room_id: str,
                        content: Mapping[str, Any]) -> None:
        """Leave a room this server is not in (reject an invite, rescind a knock)
        through ``server`` (``make_leave`` / ``send_leave``), then record the leave."""
        version, event_id, leave = await self.make_event(
            server, "leave", user_id, room_id, content)
        await self.ask(server, "PUT", f"/_matrix/federation/v2/send_leave/"
                       f"{quote(room_id)}/{quote(event_id)}", leave)

        async def write(tx: Stores) -> list[StoredEvent]:
            return [await self._events.persist_received(
                tx, room_id, version, leave, event_id, in_state=True, extremities=[])]

        await self._events.write_received(room_id, version, write)

    async def _join_via(self, server: str, user_id: str, room_id: str,
                        content: Mapping[str, Any]) -> StoredEvent:
        version, event_id, join = await self.make_event(server, "join", user_id, room_id,
                                                        content)
        body = await self.ask(
            server, "PUT",
            f"/_matrix/federation/v2/send_join/{quote(room_id)}/{quote(event_id)}", join)
        answered = body.get("event")
        if isinstance(answered, dict) and get_event_id(answered, version) == event_id:
            join = {k: v for k, v in answered.items() if k != "unsigned"}
        state_list, chain_list = body.get("state"), body.get("auth_chain")
        if not isinstance(state_list, list) or not isinstance(chain_list, list):
            raise MatrixError(502, "M_UNKNOWN", f"{server} answered no state or auth chain")
        accepted, state = await self._verify(room_id, version, state_list, chain_list)
        create_id = create_event_id(room_id, version, accepted)
        create = accepted.get(create_id or "")
        if create is None:
            raise MatrixError(502, "M_UNKNOWN", f"{server} answered no create event")
        if str(create.get("content", {}).get("room_version", "1")) != version.identifier:
            raise MatrixError(502, "M_UNKNOWN", "The create event is of another version")
        try:
            join_auth = [accepted[a] for a in auth_event_ids(join)]
            authorise(join, join_auth, version, create)
        except (KeyError, BadPdu) as e:
            raise MatrixError(502, "M_UNKNOWN", f"Our join does not pass its auth: {e}") \
                from e
        creator = str(create.get("sender"))

        async def write(tx: Stores) -> list[StoredEvent]:
            written = []
            order = sorted(accepted.items(), key=lambda kv: (int(kv[1]["depth"]), kv[0]))
            for eid, pdu in order:
                if await tx.events.get(eid) is not None:
                    continue
                written.append(await self._events.persist_received(
                    tx, room_id, version, pdu, eid, in_state=eid in state,
                    extremities=[eid]))
            written.append(await self._events.persist_received(
                tx, room_id, version, join, event_id, in_state=True, extremities=[event_id]))
            return written

        written = await self._events.write_received(room_id, version, write,
                                                    new_room_creator=creator)
        return written[-1]

    async def _verify(self, room_id: str, version: RoomVersion, state_list: list[Any],
                      chain_list: list[Any]) -> tuple[dict[str, Pdu], set[str]]:
        """(every accepted event by ID, the IDs of the state events among them)."""
        received: dict[str, Pdu] = {}
        state_ids: set[str] = set()
        for index, raw in enumerate([*state_list, *chain_list]):
            if not isinstance(raw, dict):
                continue
            try:
                event_id, event = await self._checks.checked(raw, version)
            except BadPdu as e:
                logger.info("dropping an event of the join answer: %s", e)
                continue
            if event.get("room_id", room_id) != room_id:
                continue
            received[event_id] = event
            if index < len(state_list) and state_key_of(event) is not None:
                state_ids.add(event_id)
        create_id = create_event_id(room_id, version, received)
        create = received.get(create_id or "")
        accepted: dict[str, Pdu] = {}
        for event_id, event in sorted(received.items(),
                                      key=lambda kv: (int(kv[1]["depth"]), kv[0])):
            try:
                authorise(event, [accepted[a] for a in auth_event_ids(event)], version,
                          None if event_id == create_id else create)
            except (KeyError, BadPdu) as e:
                logger.info("rejecting %s of the join answer: %s", event_id, e)
                continue
            accepted[event_id] = event
        keys: dict[tuple[str, str], str] = {}
        for event_id in state_ids & accepted.keys():
            key = state_key_of(accepted[event_id])
            assert key is not None
            if key in keys:
                raise MatrixError(502, "M_UNKNOWN", f"The room state lists {key} twice")
            keys[key] = event_id
        return accepted, set(keys.values())
