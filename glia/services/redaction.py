"""Applying a redaction when it is written: the target keeps only what the room
version's redaction algorithm keeps (``glia.protocol.redaction``), and remembers what
redacted it, in the redaction's own transaction so no reader sees one without the
other."""

from __future__ import annotations

from glia.protocol.redaction import redact
from glia.protocol.room_versions import RoomVersion
from glia.services.event_format import client_event
from glia.storage import Stores
from glia.storage.events import StoredEvent


async def apply_redaction(tx: Stores, version: RoomVersion, redaction: StoredEvent,
                          target_id: str) -> None:
    """Redact ``target_id`` by ``redaction`` (already persisted); a target that is
    unknown, in another room or already redacted is left alone (the original is kept
    for the admin API)."""
    target = await tx.events.get(target_id)
    if target is None or target.room_id != redaction.room_id or target.redacted_by:
        return
    unsigned = dict(target.unsigned)
    unsigned.pop("prev_content", None)
    unsigned["redacted_because"] = client_event(redaction, None)
    await tx.events.redact(target_id, redact(target.pdu, version), unsigned,
                           redaction.event_id, original=target.pdu,
                           room_id=target.room_id,
                           redacted_ts=int(redaction.pdu["origin_server_ts"]))
