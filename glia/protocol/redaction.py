"""The redaction algorithm: which parts of an event survive a redaction.

Redaction is not only for clients: signatures and reference hashes (so v3+ event IDs)
cover the *redacted* form, so this function must match every other server byte for
byte. It is a pure function of the PDU: ``unsigned`` is dropped like every other key
not in the keep list; a service that serves redacted events to clients re-attaches
``unsigned.redacted_because`` itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia.protocol.room_versions import RoomVersion

# Top-level keys every room version keeps.
_KEPT_KEYS = frozenset(
    {
        "event_id",
        "type",
        "room_id",
        "sender",
        "state_key",
        "content",
        "hashes",
        "signatures",
        "depth",
        "prev_events",
        "auth_events",
        "origin_server_ts",
    }
)
# Kept up to v10; v11 stopped protecting them.
_KEPT_KEYS_PRE_V11 = _KEPT_KEYS | {"prev_state", "origin", "membership"}

_POWER_LEVELS_KEYS = (
    "ban",
    "events",
    "events_default",
    "kick",
    "redact",
    "state_default",
    "users",
    "users_default",
)


def _kept_content(
    event_type: object, content: Mapping[str, Any], room_version: RoomVersion
) -> dict[str, Any]:
    """The content keys the room version protects for ``event_type``."""
    rv = room_version
    keys: tuple[str, ...]
    if event_type == "m.room.member":
        keys = ("membership",)
        if rv.restricted_join_rule_fix:
            keys += ("join_authorised_via_users_server",)
        kept = {k: content[k] for k in keys if k in content}
        if rv.updated_redaction_rules:
            # v11: only the ``signed`` part of a third-party invite survives.
            tpi = content.get("third_party_invite")
            if isinstance(tpi, Mapping) and "signed" in tpi:
                kept["third_party_invite"] = {"signed": tpi["signed"]}
        return kept
    if event_type == "m.room.create":
        if rv.updated_redaction_rules:
            return dict(content)
        keys = ("creator",)
    elif event_type == "m.room.join_rules":
        keys = ("join_rule", "allow") if rv.restricted_join_rule else ("join_rule",)
    elif event_type == "m.room.power_levels":
        keys = _POWER_LEVELS_KEYS
        if rv.updated_redaction_rules:
            keys += ("invite",)
    elif event_type == "m.room.history_visibility":
        keys = ("history_visibility",)
    elif event_type == "m.room.aliases" and rv.special_case_aliases_auth:
        keys = ("aliases",)
    elif event_type == "m.room.redaction" and rv.updated_redaction_rules:
        keys = ("redacts",)
    else:
        keys = ()
    return {k: content[k] for k in keys if k in content}


def redact(event: Mapping[str, Any], room_version: RoomVersion) -> dict[str, Any]:
    """Return a new dict holding only what ``room_version``'s redaction algorithm keeps.

    The input is not modified. Nested values that are kept are shared, not copied.
    """
    kept_keys = _KEPT_KEYS if room_version.updated_redaction_rules else _KEPT_KEYS_PRE_V11
    redacted = {k: v for k, v in event.items() if k in kept_keys}
    if "content" in event:
        content = event["content"]
        redacted["content"] = (
            _kept_content(event.get("type"), content, room_version)
            if isinstance(content, Mapping)
            else {}
        )
    return redacted
