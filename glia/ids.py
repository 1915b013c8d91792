"""Matrix identifiers: parsing and validation of user, room, event IDs and aliases.

Pure functions; the grammar follows the spec's appendix on identifiers.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

# Historical user IDs allow more characters; new registrations use the strict set.
_STRICT_LOCALPART = re.compile(r"[a-z0-9._=\-/+]+")
_HISTORICAL_LOCALPART = re.compile(r"[\x21-\x39\x3b-\x7e]+")
_SERVER_NAME = re.compile(
    r"(?:\[[0-9A-Fa-f:.]{2,45}\]|[A-Za-z0-9.\-]{1,255})(?::[0-9]{1,5})?"
)
MAX_ID_LENGTH = 255


class InvalidId(ValueError):
    """The string is not a well-formed identifier of the expected kind."""


@dataclass(frozen=True)
class UserId:
    localpart: str
    domain: str

    def __str__(self) -> str:
        return f"@{self.localpart}:{self.domain}"


def is_valid_server_name(name: str) -> bool:
    return bool(_SERVER_NAME.fullmatch(name))


def parse_user_id(value: str) -> UserId:
    """Parse ``@localpart:domain``; accepts historical localparts (any printable ASCII)."""
    if not isinstance(value, str) or not value.startswith("@"):
        raise InvalidId("Expected UserID string to start with '@'")
    localpart, sep, domain = value[1:].partition(":")
    if not sep or not localpart or not domain:
        raise InvalidId("Expected UserID of the form '@localname:domain'")
    if len(value.encode()) > MAX_ID_LENGTH:
        raise InvalidId("User ID may not be longer than 255 characters")
    if not _HISTORICAL_LOCALPART.fullmatch(localpart) or not is_valid_server_name(domain):
        raise InvalidId("Expected UserID of the form '@localname:domain'")
    return UserId(localpart, domain)


def server_name_of(identifier: str) -> str:
    """The server name of a user ID, room alias, room ID or v1/v2 event ID: everything
    after the *first* colon, since the server name itself may end in ``:port``."""
    _, sep, server = identifier.partition(":")
    if not sep:
        raise InvalidId(f"{identifier!r} has no server part")
    return server


def localpart_error(localpart: str) -> str | None:
    """Why ``localpart`` may not be registered, or None if it may (Synapse's messages)."""
    if not localpart:
        return "User ID cannot be empty"
    if not _STRICT_LOCALPART.fullmatch(localpart):
        return "User ID can only contain characters a-z, 0-9, or '=_-./+'"
    if localpart.startswith("_"):
        return "User ID may not begin with _"
    if localpart.isdigit():
        return "Numeric user IDs are reserved for guest users."
    return None


def is_valid_room_id(value: str) -> bool:
    """``!opaque:domain`` (rooms v1–11) or ``!`` + 43 url-safe base64 chars (v12)."""
    if not isinstance(value, str) or not value.startswith("!") or len(value) > MAX_ID_LENGTH:
        return False
    opaque, sep, domain = value[1:].partition(":")
    if sep:
        return bool(opaque) and is_valid_server_name(domain)
    return bool(re.fullmatch(r"[A-Za-z0-9_\-]{43}", opaque))


def is_valid_event_id(value: str) -> bool:
    """``$opaque:domain`` (v1, v2) or ``$`` + base64 (v3+)."""
    if not isinstance(value, str) or not value.startswith("$") or len(value) > MAX_ID_LENGTH:
        return False
    return len(value) > 1


def is_valid_room_alias(value: str) -> bool:
    if not isinstance(value, str) or not value.startswith("#") or len(value) > MAX_ID_LENGTH:
        return False
    local, sep, domain = value[1:].partition(":")
    return bool(sep and local and is_valid_server_name(domain))


_TOKEN_ALPHABET = string.ascii_letters + string.digits


def random_string(length: int) -> str:
    """A random string from letters and digits, for device IDs and opaque tokens."""
    return "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(length))


def new_device_id() -> str:
    return random_string(10).upper()
