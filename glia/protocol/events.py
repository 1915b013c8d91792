"""The PDU (federation event) format: canonical JSON, hashes, event IDs, building, limits.

Events are plain ``dict[str, Any]`` PDUs exactly as they travel over federation, so
what we store, hash, sign and send is one shape for every room version. The functions
here never modify their inputs; they return new dicts.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

from unpaddedbase64 import decode_base64, encode_base64

from glia.ids import MAX_ID_LENGTH, InvalidId, parse_user_id, random_string, server_name_of
from glia.protocol.canonical_json import encode_canonical_json, event_json_error
from glia.protocol.redaction import redact
from glia.protocol.room_versions import EventIdFormat, RoomVersion

JsonDict = dict[str, Any]
StateKey = tuple[str, str]

#: The whole PDU, as canonical JSON with signatures, must fit in 64 KiB.
MAX_PDU_SIZE: Final = 65536
#: ``sender``, ``room_id``, ``state_key``, ``type`` and ``event_id`` are limited to 255 bytes.
MAX_FIELD_BYTES: Final = MAX_ID_LENGTH
MAX_PREV_EVENTS: Final = 20
MAX_AUTH_EVENTS: Final = 10


class InvalidEvent(ValueError):
    """The PDU does not follow its room version's event format; it must be dropped."""


# --- hashes and IDs -------------------------------------------------------------------


def compute_content_hash(event: Mapping[str, Any]) -> str:
    """The unpadded-base64 sha256 over the full (unredacted) event.

    It covers everything except ``unsigned``, ``signatures`` and ``hashes``, so a server
    that receives the event can tell whether it was given the full copy or a redacted one.
    """
    stripped = {
        k: v for k, v in event.items() if k not in ("unsigned", "signatures", "hashes")
    }
    return encode_base64(hashlib.sha256(encode_canonical_json(stripped)).digest())


def add_hashes(event: Mapping[str, Any]) -> JsonDict:
    """A copy of ``event`` with ``hashes.sha256`` set to its content hash."""
    hashed = dict(event)
    hashed["hashes"] = {"sha256": compute_content_hash(event)}
    return hashed


def compute_reference_hash(event: Mapping[str, Any], room_version: RoomVersion) -> bytes:
    """The sha256 digest over the *redacted* event without signatures and unsigned data.

    It names the event (v3+ event IDs) and therefore covers only what survives redaction,
    so an event keeps its ID after being redacted.
    """
    redacted = redact(event, room_version)
    for key in ("signatures", "unsigned", "age_ts"):
        redacted.pop(key, None)
    return hashlib.sha256(encode_canonical_json(redacted)).digest()


def compute_event_id(event: Mapping[str, Any], room_version: RoomVersion) -> str:
    """The event ID of a v3+ PDU: ``$`` + base64 of its reference hash.

    v3 uses the standard alphabet, v4+ the URL-safe one. The PDU must not contain an
    ``event_id`` key (v3+ PDUs never do); keep IDs beside the PDU, not in it.
    """
    fmt = room_version.event_id_format
    if fmt is EventIdFormat.OPAQUE:
        raise ValueError(
            f"room version {room_version.identifier} event IDs are chosen, not computed"
        )
    digest = compute_reference_hash(event, room_version)
    return "$" + encode_base64(digest, urlsafe=fmt is EventIdFormat.HASH_URLSAFE)


def get_event_id(event: Mapping[str, Any], room_version: RoomVersion) -> str:
    """The ID of ``event``: its ``event_id`` field in v1/v2, its reference hash in v3+."""
    if room_version.event_id_in_pdu:
        event_id = event.get("event_id")
        if not isinstance(event_id, str):
            raise InvalidEvent("PDU has no event_id")
        return event_id
    return compute_event_id(event, room_version)


def new_opaque_event_id(server_name: str) -> str:
    """A fresh ``$opaque:server`` event ID for room versions 1 and 2."""
    return f"${random_string(18)}:{server_name}"


def room_id_for_v12_create(create_event_id: str) -> str:
    """The v12 room ID: the create event's ID with the ``!`` sigil instead of ``$``."""
    if not create_event_id.startswith("$"):
        raise ValueError("not an event ID")
    return "!" + create_event_id[1:]


def create_event_id_for_v12_room(room_id: str) -> str:
    """The inverse of :func:`room_id_for_v12_create`."""
    if not room_id.startswith("!"):
        raise ValueError("not a room ID")
    return "$" + room_id[1:]


def reference_hash_base64(event: Mapping[str, Any], room_version: RoomVersion) -> str:
    """The reference hash as v1/v2 ``prev_events``/``auth_events`` entries carry it."""
    return encode_base64(compute_reference_hash(event, room_version))


# --- reading PDUs ---------------------------------------------------------------------


def _ref_ids(refs: Any) -> list[str]:
    """Event IDs from either ``[id, ...]`` (v3+) or ``[[id, {hashes}], ...]`` (v1/v2)."""
    ids: list[str] = []
    if not isinstance(refs, list | tuple):
        return ids
    for ref in refs:
        if isinstance(ref, str):
            ids.append(ref)
        elif isinstance(ref, list | tuple) and ref and isinstance(ref[0], str):
            ids.append(ref[0])
    return ids


def prev_event_ids(event: Mapping[str, Any]) -> list[str]:
    """The IDs in ``prev_events``, whichever room version's shape they use."""
    return _ref_ids(event.get("prev_events"))


def auth_event_ids(event: Mapping[str, Any]) -> list[str]:
    """The IDs in ``auth_events``, whichever room version's shape they use."""
    return _ref_ids(event.get("auth_events"))


def is_state_event(event: Mapping[str, Any]) -> bool:
    """State events are exactly those with a ``state_key`` (even the empty string)."""
    return "state_key" in event


def state_key_of(event: Mapping[str, Any]) -> StateKey | None:
    """``(type, state_key)`` for a state event, None for a message event."""
    if not is_state_event(event):
        return None
    return (str(event.get("type")), str(event.get("state_key")))


def redacts_of(event: Mapping[str, Any], room_version: RoomVersion) -> str | None:
    """The target of an ``m.room.redaction``: top-level before v11, in content from v11."""
    if room_version.redacts_in_content:
        content = event.get("content")
        target = content.get("redacts") if isinstance(content, Mapping) else None
    else:
        target = event.get("redacts")
    return target if isinstance(target, str) else None


def server_of(identifier: str) -> str:
    """The server name part of a user ID, v1/v2 event ID or old-style room ID."""
    return server_name_of(identifier)


# --- building -------------------------------------------------------------------------


def build_event(
    room_version: RoomVersion,
    *,
    room_id: str | None,
    sender: str,
    event_type: str,
    content: Mapping[str, Any],
    prev_events: Sequence[str],
    auth_events: Sequence[str],
    depth: int,
    origin_server_ts: int,
    server_name: str,
    state_key: str | None = None,
    redacts: str | None = None,
    event_id: str | None = None,
    reference_hashes: Mapping[str, str] | None = None,
) -> JsonDict:
    """A new PDU with its content hash, ready to be signed (``signing.sign_event``).

    - ``room_id`` is None only for a v12 ``m.room.create`` (whose room ID is derived
      from its event ID afterwards with :func:`room_id_for_v12_create`).
    - v1/v2 put ``event_id`` in the PDU (``event_id`` or a fresh random one) and shape
      ``prev_events``/``auth_events`` as ``[[id, {"sha256": ref_hash}], ...]``, the
      hashes taken from ``reference_hashes`` (event ID → unpadded base64) when given.
    - ``redacts`` goes top-level before v11 and into ``content`` from v11.
    - A create event in v1–v10 gets ``content.creator = sender`` if it lacks one.
    """
    rv = room_version
    is_v12_create = rv.room_id_is_create_hash and event_type == "m.room.create"
    if is_v12_create:
        if room_id is not None:
            raise ValueError("a v12 m.room.create event has no room_id")
    elif room_id is None:
        raise ValueError("room_id is required")

    body: JsonDict = dict(content)
    if event_type == "m.room.create" and rv.create_has_creator:
        body.setdefault("creator", sender)
    if redacts is not None and rv.redacts_in_content:
        body["redacts"] = redacts

    pdu: JsonDict = {
        "type": event_type,
        "sender": sender,
        "content": body,
        "depth": max(0, min(depth, rv.max_depth)),
        "origin_server_ts": origin_server_ts,
    }
    if room_id is not None:
        pdu["room_id"] = room_id
    if state_key is not None:
        pdu["state_key"] = state_key
    if redacts is not None and not rv.redacts_in_content:
        pdu["redacts"] = redacts
    if not rv.updated_redaction_rules:
        # ``origin`` is protected (so signed) up to v10; later versions dropped it.
        pdu["origin"] = server_name

    if rv.event_id_in_pdu:
        hashes = reference_hashes or {}

        def refs(ids: Sequence[str]) -> list[list[Any]]:
            return [[i, {"sha256": hashes[i]} if i in hashes else {}] for i in ids]

        pdu["prev_events"] = refs(prev_events)
        pdu["auth_events"] = refs(auth_events)
        pdu["event_id"] = event_id or new_opaque_event_id(server_name)
    else:
        if event_id is not None:
            raise ValueError("event IDs are computed in room versions 3 and later")
        pdu["prev_events"] = list(prev_events)
        pdu["auth_events"] = list(auth_events)

    return add_hashes(pdu)


# --- limits and format ----------------------------------------------------------------


def event_size(event: Mapping[str, Any]) -> int:
    """Bytes of the PDU as canonical JSON, signatures included."""
    return len(encode_canonical_json(event))


def size_limit_error(event: Mapping[str, Any]) -> str | None:
    """Why the event breaks the spec's size limits, or None if it fits."""
    for key in ("sender", "room_id", "state_key", "type", "event_id"):
        value = event.get(key)
        if isinstance(value, str) and len(value.encode("utf-8")) > MAX_FIELD_BYTES:
            return f"'{key}' is longer than {MAX_FIELD_BYTES} bytes"
    if event_size(event) > MAX_PDU_SIZE:
        return f"event is larger than {MAX_PDU_SIZE} bytes"
    return None


def event_fits_size_limits(event: Mapping[str, Any]) -> bool:
    """Whether the whole event is at most 65,536 bytes and each ID-like field 255 bytes."""
    return size_limit_error(event) is None


def _check_refs(event: Mapping[str, Any], key: str, rv: RoomVersion, limit: int) -> None:
    refs = event.get(key)
    if not isinstance(refs, list):
        raise InvalidEvent(f"'{key}' must be a list")
    if len(refs) > limit:
        raise InvalidEvent(f"'{key}' has more than {limit} entries")
    for ref in refs:
        if rv.event_id_in_pdu:
            ok = (
                isinstance(ref, list)
                and len(ref) == 2
                and isinstance(ref[0], str)
                and isinstance(ref[1], dict)
            )
        else:
            ok = isinstance(ref, str) and ref.startswith("$")
        if not ok:
            raise InvalidEvent(f"malformed entry in '{key}'")


def validate_pdu(event: Mapping[str, Any], room_version: RoomVersion) -> None:
    """Raise :class:`InvalidEvent` unless ``event`` follows the room version's PDU format.

    This is the first check on receipt of a PDU; it does not check hashes, signatures
    or authorisation.
    """
    rv = room_version
    for key, kind in (
        ("type", str),
        ("sender", str),
        ("content", dict),
        ("hashes", dict),
        ("signatures", dict),
    ):
        if not isinstance(event.get(key), kind):
            raise InvalidEvent(f"'{key}' is missing or has the wrong type")
    for key in ("depth", "origin_server_ts"):
        value = event.get(key)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidEvent(f"'{key}' must be an integer")
    try:
        parse_user_id(event["sender"])
    except InvalidId as e:
        raise InvalidEvent(f"'sender' is not a valid user ID: {e}") from e
    if not 0 <= event["depth"] <= rv.max_depth:
        raise InvalidEvent("'depth' is out of range")
    if "state_key" in event and not isinstance(event["state_key"], str):
        raise InvalidEvent("'state_key' must be a string")
    if not isinstance(event["hashes"].get("sha256"), str):
        raise InvalidEvent("'hashes.sha256' is missing")

    is_v12_create = rv.room_id_is_create_hash and event["type"] == "m.room.create"
    if is_v12_create:
        if "room_id" in event:
            raise InvalidEvent("a v12 m.room.create event must not have a room_id")
    elif not isinstance(event.get("room_id"), str):
        raise InvalidEvent("'room_id' is missing")
    if rv.event_id_in_pdu:
        if not isinstance(event.get("event_id"), str):
            raise InvalidEvent("'event_id' is missing")
    elif "event_id" in event:
        raise InvalidEvent("v3+ PDUs do not carry an event_id")

    _check_refs(event, "prev_events", rv, MAX_PREV_EVENTS)
    _check_refs(event, "auth_events", rv, MAX_AUTH_EVENTS)

    err = event_json_error(event, rv)
    if err:
        raise InvalidEvent(f"not canonical JSON: {err}")
    err = size_limit_error(event)
    if err:
        raise InvalidEvent(err)


def decode_hash(value: str) -> bytes | None:
    """Decode an unpadded base64 hash, or None if it is not valid base64."""
    try:
        return decode_base64(value)
    except (ValueError, UnicodeEncodeError):
        return None
