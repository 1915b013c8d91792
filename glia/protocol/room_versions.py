"""Room versions 1–12 as data.

Every algorithm in ``glia.protocol`` branches on these flags rather than on the version
string, so a rule change reads as one named flag and a new room version is one new
entry here (the spec's ``content/rooms/v*.md`` are the source of each flag).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from glia.protocol.canonical_json import INT64_MAX, SAFE_INT_MAX


class EventIdFormat(Enum):
    """How an event's ID is obtained."""

    #: ``$opaque:server``, chosen by the creating server and carried inside the PDU (v1, v2).
    OPAQUE = 1
    #: ``$`` + standard unpadded base64 of the reference hash (v3).
    HASH_BASE64 = 3
    #: ``$`` + URL-safe unpadded base64 of the reference hash (v4+).
    HASH_URLSAFE = 4


class StateResAlgorithm(Enum):
    V1 = 1
    V2 = 2


@dataclass(frozen=True, slots=True)
class RoomVersion:
    """The rules that differ between room versions.

    Rules are immutable once a version is specified, so a frozen value is safe to share
    and to cache.
    """

    identifier: str
    #: ``"stable"`` or ``"unstable"``, as advertised by the ``m.room_versions`` capability.
    disposition: str
    event_id_format: EventIdFormat
    state_res: StateResAlgorithm
    #: v1, v2: ``m.room.redaction`` has its own auth rule (redact level / same domain).
    redaction_auth_rule: bool
    #: v5+: a signing key's ``valid_until_ts`` must cover the event's ``origin_server_ts``.
    enforce_key_validity: bool
    #: v1–v5: ``m.room.aliases`` has its own auth rule and keeps ``aliases`` on redaction.
    special_case_aliases_auth: bool
    #: v6+: events must be strict canonical JSON (integers in range, no floats).
    strict_canonicaljson: bool
    #: v6+: ``notifications`` in power levels is subject to the power-level change rules.
    limit_notifications_power_levels: bool
    #: v1–v5: power level values may be floats (truncated).
    float_power_levels: bool
    #: v10+: power level values must be integers (no strings, no floats).
    enforce_int_power_levels: bool
    #: v7+: the ``knock`` join rule and membership.
    knock_join_rule: bool
    #: v8+: the ``restricted`` join rule with ``join_authorised_via_users_server``.
    restricted_join_rule: bool
    #: v9+: redaction keeps ``join_authorised_via_users_server`` in member content.
    restricted_join_rule_fix: bool
    #: v10+: the ``knock_restricted`` join rule.
    knock_restricted_join_rule: bool
    #: v1–v10: the create event carries ``content.creator``; v11+ uses ``sender``.
    create_has_creator: bool
    #: v11+: the updated redaction algorithm (``origin``/``membership``/``prev_state``
    #: no longer kept, create keeps all content, ``redacts`` moves into content, …).
    updated_redaction_rules: bool
    #: v11+: ``redacts`` is a content property rather than a top-level PDU key.
    redacts_in_content: bool
    #: v12: the room ID is the create event's reference hash; the create event has no
    #: ``room_id`` and is never listed in ``auth_events``.
    room_id_is_create_hash: bool
    #: v12: creators (sender + ``additional_creators``) have infinite power level.
    privileged_creators: bool
    #: v12: state resolution starts from an empty state and adds the conflicted subgraph.
    state_res_conflicted_subgraph: bool

    @property
    def event_id_in_pdu(self) -> bool:
        """Whether ``event_id`` is a field of the PDU (v1, v2) or computed (v3+)."""
        return self.event_id_format is EventIdFormat.OPAQUE

    @property
    def create_in_auth_events(self) -> bool:
        """Whether ``m.room.create`` is selected for ``auth_events`` (not in v12)."""
        return not self.room_id_is_create_hash

    @property
    def max_depth(self) -> int:
        """v6+ bound depth by canonical JSON's integer range; earlier by int64."""
        return SAFE_INT_MAX if self.strict_canonicaljson else INT64_MAX


def _version(n: int) -> RoomVersion:
    """Build version ``n`` from the cumulative rule changes of versions 1..n."""
    if n <= 2:
        id_format = EventIdFormat.OPAQUE
    elif n == 3:
        id_format = EventIdFormat.HASH_BASE64
    else:
        id_format = EventIdFormat.HASH_URLSAFE
    return RoomVersion(
        identifier=str(n),
        disposition="stable",
        event_id_format=id_format,
        state_res=StateResAlgorithm.V1 if n == 1 else StateResAlgorithm.V2,
        redaction_auth_rule=n <= 2,
        enforce_key_validity=n >= 5,
        special_case_aliases_auth=n <= 5,
        strict_canonicaljson=n >= 6,
        limit_notifications_power_levels=n >= 6,
        float_power_levels=n <= 5,
        enforce_int_power_levels=n >= 10,
        knock_join_rule=n >= 7,
        restricted_join_rule=n >= 8,
        restricted_join_rule_fix=n >= 9,
        knock_restricted_join_rule=n >= 10,
        create_has_creator=n <= 10,
        updated_redaction_rules=n >= 11,
        redacts_in_content=n >= 11,
        room_id_is_create_hash=n >= 12,
        privileged_creators=n >= 12,
        state_res_conflicted_subgraph=n >= 12,
    )


KNOWN_ROOM_VERSIONS: Final[dict[str, RoomVersion]] = {
    str(n): _version(n) for n in range(1, 13)
}

#: The spec says servers SHOULD create rooms with version 12.
DEFAULT_ROOM_VERSION: Final = "12"

def get_room_version(identifier: object) -> RoomVersion | None:
    """The rules for ``identifier``, or None if this server does not know that version."""
    if not isinstance(identifier, str):
        return None
    return KNOWN_ROOM_VERSIONS.get(identifier)


def room_versions_capability() -> dict[str, object]:
    """The value of the ``m.room_versions`` capability (``GET /capabilities``)."""
    return {
        "default": DEFAULT_ROOM_VERSION,
        "available": {v.identifier: v.disposition for v in KNOWN_ROOM_VERSIONS.values()},
    }
