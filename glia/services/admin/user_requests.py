"""The commands of the user admin API (Synapse's ``/v2/users``, ``/v1/users/{id}/admin``,
``/v1/deactivate``, ``/v1/reset_password``, ``/v1/suspend``, ``/v1/users/{id}/login``,
the spec's suspend and lock, Dendrite's ``resetPassword``): the request bodies as the
HTTP layer decodes them.

Where Synapse answers a field's error with its own errcode and message (``M_UNKNOWN``
for many), the check is in ``__post_init__``, so tools see what they expect.
"""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec

from glia import errors
from glia.errors import MatrixError
from glia.protocol.canonical_json import SAFE_INT_MAX
from glia.services.profile import MAX_AVATAR_URL_LENGTH, MAX_DISPLAYNAME_LENGTH

USER_TYPES = ("bot", "support")
#: Dendrite's password rules for ``resetPassword``.
DENDRITE_MIN_PASSWORD, DENDRITE_MAX_PASSWORD = 8, 512


def _boolean(value: Any, message: str) -> bool | None:
    """An optional boolean that Synapse checks itself (its messages, M_BAD_JSON)."""
    if value is not None and not isinstance(value, bool):
        raise errors.bad_json(message)
    return value


class Threepid(msgspec.Struct):
    medium: str
    address: str


class ExternalId(msgspec.Struct):
    auth_provider: str
    external_id: str


class UserPut(msgspec.Struct):
    """``PUT /v2/users/{userId}``: every field optional; a field left out is left as it
    is. Fields Synapse answers ``M_UNKNOWN`` for are checked here, with its messages."""

    password: Any = None
    logout_devices: Any = True
    admin: bool | None = None
    deactivated: Any = None
    locked: Any = None
    user_type: Any = msgspec.UNSET
    displayname: str | msgspec.UnsetType | None = msgspec.UNSET
    avatar_url: str | msgspec.UnsetType | None = msgspec.UNSET
    threepids: list[Threepid] | None = None
    external_ids: list[ExternalId] | None = None

    def __post_init__(self) -> None:
        if self.password is not None and (not isinstance(self.password, str)
                                          or len(self.password) > 512):
            raise MatrixError(400, "M_UNKNOWN", "Invalid password")
        if not isinstance(self.logout_devices, bool):
            raise MatrixError(400, "M_UNKNOWN",
                              "'logout_devices' parameter is not of type boolean")
        _boolean(self.deactivated, "'deactivated' parameter is not of type boolean")
        _boolean(self.locked, "'locked' parameter is not of type boolean")
        if self.deactivated and self.locked:
            raise MatrixError(400, "M_UNKNOWN", "An user can't be deactivated and locked")
        if self.user_type not in (msgspec.UNSET, None, *USER_TYPES):
            raise MatrixError(400, "M_UNKNOWN", "Invalid user type")
        if isinstance(self.displayname, str) and len(self.displayname) > MAX_DISPLAYNAME_LENGTH:
            raise errors.invalid_param(
                f"Displayname is too long (max {MAX_DISPLAYNAME_LENGTH})")
        if isinstance(self.avatar_url, str) and len(self.avatar_url) > MAX_AVATAR_URL_LENGTH:
            raise errors.invalid_param(f"avatar_url is too long (max {MAX_AVATAR_URL_LENGTH})")


class AdminFlag(msgspec.Struct):
    """``PUT /v1/users/{userId}/admin``: Synapse takes any value's truth."""

    admin: Any


class Deactivation(msgspec.Struct):
    erase: bool | None = None


class PasswordReset(msgspec.Struct):
    """Synapse's ``reset_password``: any length up to 512, no policy."""

    new_password: Any
    logout_devices: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.new_password, str) or len(self.new_password) > 512:
            raise MatrixError(400, "M_UNKNOWN", "Invalid password")


class DendritePasswordReset(msgspec.Struct):
    """Dendrite's ``resetPassword`` with Dendrite's answers: a body that is missing, not
    JSON or of the wrong shape → ``M_UNKNOWN``; no password → ``M_MISSING_PARAM``; under 8
    characters → ``M_WEAK_PASSWORD`` (over 512: the service's ``M_BAD_JSON``, which a
    model's own check could not answer past ``undecodable_errcode``)."""

    undecodable_errcode: ClassVar[str] = "M_UNKNOWN"

    password: str = ""
    logout_devices: bool = False

    def __post_init__(self) -> None:
        if not self.password:
            raise errors.missing_param("Expecting non-empty password.")
        if len(self.password) < DENDRITE_MIN_PASSWORD:
            raise MatrixError(400, "M_WEAK_PASSWORD",
                              f"password too weak: min {DENDRITE_MIN_PASSWORD} chars")


class Suspension(msgspec.Struct):
    suspend: bool


class LoginAs(msgspec.Struct):
    valid_until_ms: Any = None

    def __post_init__(self) -> None:
        if self.valid_until_ms is not None and type(self.valid_until_ms) is not int:
            raise MatrixError(400, "M_UNKNOWN", "'valid_until_ms' parameter must be an int")
        if self.valid_until_ms is not None and \
                not 0 <= self.valid_until_ms <= SAFE_INT_MAX:
            raise errors.invalid_param("'valid_until_ms' is out of range")


class SpecSuspension(msgspec.Struct):
    """The spec's ``PUT /_matrix/client/v1/admin/suspend/{userId}``."""

    suspended: bool


class SpecLock(msgspec.Struct):
    """The spec's ``PUT /_matrix/client/v1/admin/lock/{userId}``."""

    locked: bool
