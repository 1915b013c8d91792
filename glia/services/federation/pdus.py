"""Checks on events other servers send us, in the spec's order ("Checks performed on
receipt of a PDU"): the room version's format and size limits, the signatures of every
server that must sign, the content hash (a mismatch keeps the event in its redacted
form), and authorisation against the event's own auth events. What the event then
means for the room's current state (soft failure) is the caller's, under the room lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from signedjson.types import VerifyKey

from glia.errors import AuthRuleError
from glia.protocol import auth_rules
from glia.protocol.events import (
    InvalidEvent,
    create_event_id_for_v12_room,
    get_event_id,
    validate_pdu,
)
from glia.protocol.redaction import redact
from glia.protocol.room_versions import RoomVersion
from glia.protocol.signing import (
    SignatureError,
    check_content_hash,
    required_signing_servers,
    verify_event_signatures,
    verify_json,
)
from glia.services.federation.keys import KeyUnavailable, ServerKeysService

__all__ = ["BadPdu", "PduChecks"]

Pdu = dict[str, Any]


class BadPdu(Exception):
    """A received event is refused (malformed, badly signed, or failing auth)."""


class PduChecks:
    def __init__(self, keys: ServerKeysService) -> None:
        self._keys = keys

    async def checked(self, pdu: Mapping[str, Any], version: RoomVersion,
                      also_signed_by: set[str] | None = None) -> tuple[str, Pdu]:
        """(event ID, the event as we keep it): its format and signatures verified (of
        the servers the spec requires, and ``also_signed_by``), and redacted when its
        content hash does not match. Raises :class:`BadPdu`."""
        event = {k: v for k, v in pdu.items() if k != "unsigned"}
        try:
            validate_pdu(event, version)
        except InvalidEvent as e:
            raise BadPdu(f"invalid event: {e}") from e
        await self._verify_signatures(event, version, also_signed_by or set())
        if not check_content_hash(event):
            # The spec: an event whose content hash fails is kept redacted.
            event = redact(event, version)
        return get_event_id(event, version), event

    async def _verify_signatures(self, event: Pdu, version: RoomVersion,
                                 extra: set[str]) -> None:
        signatures = event["signatures"]
        at = int(event["origin_server_ts"]) if version.enforce_key_validity else None
        known: dict[str, dict[str, VerifyKey]] = {}
        required = required_signing_servers(event, version) | extra
        for server in required:
            by_server = signatures.get(server)
            if not isinstance(by_server, Mapping):
                raise BadPdu(f"the event is not signed by {server}")
            for kid in by_server:
                if not isinstance(kid, str) or not kid.startswith("ed25519:"):
                    continue
                try:
                    key = await self._keys.verify_key(server, kid, at_ts=at,
                                                      for_request=False)
                except KeyUnavailable:
                    continue
                known.setdefault(server, {})[kid] = key
        try:
            verify_event_signatures(event, version, known)
            for server in extra:
                _verify_one(event, version, server, known.get(server, {}))
        except SignatureError as e:
            raise BadPdu(f"bad signature: {e}") from e


def _verify_one(event: Pdu, version: RoomVersion, server: str,
                keys: Mapping[str, VerifyKey]) -> None:
    """``server`` signed the redacted event with one of ``keys`` (all that it names)."""
    if not keys:
        raise SignatureError(f"no known key for the signature of {server}")
    redacted = redact(event, version)
    for key in keys.values():
        verify_json(redacted, server, key)


def authorise(event: Mapping[str, Any], auth_events: Iterable[Mapping[str, Any]],
              version: RoomVersion, create: Mapping[str, Any] | None) -> None:
    """Check ``event`` against its own auth events (``create``: the room's create event,
    which v12 never lists); raises :class:`BadPdu`."""
    try:
        state = auth_rules.check_auth_events(event, list(auth_events), version)
        if create is not None:
            state.setdefault(auth_rules.CREATE_KEY, create)
        auth_rules.check_auth(event, state, version)
    except AuthRuleError as e:
        raise BadPdu(f"not allowed by its auth events: {e}") from e


def check_against_state(event: Mapping[str, Any], state: Mapping[tuple[str, str], Any],
                        version: RoomVersion) -> str | None:
    """Why ``event`` fails the auth rules against ``state`` (None: it passes)."""
    try:
        auth_rules.check_auth(event, state, version)
    except AuthRuleError as e:
        return str(e)
    return None


def create_event_id(room_id: str, version: RoomVersion,
                    auth: Mapping[str, Mapping[str, Any]]) -> str | None:
    """The ID of the room's create event: from the v12 room ID, else among ``auth``."""
    if version.room_id_is_create_hash:
        return create_event_id_for_v12_room(room_id)
    for event_id, event in auth.items():
        if event.get("type") == "m.room.create" and event.get("state_key") == "":
            return event_id
    return None
