"""What the account administration answers, typed: Synapse's user objects (the list item
and the single-user object), whois, and the small acknowledgements.

Field names, nulls and units are Synapse's (``creation_ts`` in milliseconds in the list,
in seconds on the single-user object), because admin tools parse them literally.
"""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia.storage.engine import Row
from glia.storage.users import AdminUserView

__all__ = ["AdminFlagValue", "Connection", "Deactivated", "DeviceSessions", "ExternalId",
           "LoginAsToken", "PasswordUpdated", "Session", "ThreepidInfo", "UserDetails",
           "UserList", "UserListItem", "Whois"]


class UserListItem(msgspec.Struct, kw_only=True):
    """One row of ``GET /v2/users`` and ``/v3/users``: every key, always (no
    ``approved``: Synapse 1.163 sends it only with MSC3866 approval, which Glia lacks)."""

    name: str
    user_type: str | None
    is_guest: bool
    admin: bool
    deactivated: bool
    shadow_banned: bool
    displayname: str | None
    avatar_url: str | None
    creation_ts: int
    erased: bool
    last_seen_ts: int | None
    locked: bool

    @classmethod
    def of(cls, user: AdminUserView) -> UserListItem:
        """The list row (``creation_ts`` in milliseconds)."""
        return cls(**_user_fields(user))


def _user_fields(user: AdminUserView) -> dict[str, Any]:
    return {
        "name": user.user_id, "user_type": user.user_type, "is_guest": user.is_guest,
        "admin": user.admin, "deactivated": user.deactivated,
        "shadow_banned": user.shadow_banned, "displayname": user.displayname,
        "avatar_url": user.avatar_url, "creation_ts": user.creation_ts,
        "erased": user.erased, "last_seen_ts": user.last_seen_ts, "locked": user.locked,
    }


class UserList(msgspec.Struct):
    """A page of users; ``next_token`` (a string, as Synapse sends it) only while more
    remain."""

    users: list[UserListItem]
    total: int
    next_token: str | UnsetType = UNSET


class ThreepidInfo(msgspec.Struct):
    medium: str
    address: str
    added_at: int
    validated_at: int | None


class ExternalId(msgspec.Struct):
    auth_provider: str
    external_id: str


class UserDetails(UserListItem, kw_only=True):
    """``GET``/``PUT /v2/users/{userId}``: the list row with ``creation_ts`` in seconds,
    the user's third-party IDs and external IDs, and Synapse's keys Glia has no use for
    (always null); ``appservice_id`` names the application service that registered
    the user."""

    threepids: list[ThreepidInfo]
    external_ids: list[ExternalId]
    suspended: bool
    appservice_id: str | None = None
    consent_server_notice_sent: None = None
    consent_version: None = None
    consent_ts: None = None

    @classmethod
    def of_account(cls, user: AdminUserView, threepids: list[Row], external_ids: list[Row]
           ) -> UserDetails:
        fields = _user_fields(user)
        fields["creation_ts"] = user.creation_ts // 1000
        return cls(
            **fields,
            threepids=[ThreepidInfo(t["medium"], t["address"], int(t["added_at"]),
                                    None if t["validated_at"] is None
                                    else int(t["validated_at"])) for t in threepids],
            external_ids=[ExternalId(e["auth_provider"], e["external_id"])
                          for e in external_ids],
            suspended=user.suspended)


class AdminFlagValue(msgspec.Struct):
    """``GET /v1/users/{userId}/admin``."""

    admin: bool


class Deactivated(msgspec.Struct):
    """Synapse's deactivation answer, and (a Glia extra) the job that takes the user out
    of their rooms."""

    leave_rooms_job_id: str
    #: ``success`` or ``no-support``: whether every bound 3PID was unbound.
    id_server_unbind_result: str


class PasswordUpdated(msgspec.Struct):
    """Dendrite's ``resetPassword`` answer."""

    password_updated: bool = True


class LoginAsToken(msgspec.Struct):
    access_token: str


class Connection(msgspec.Struct):
    ip: str | None
    last_seen: int
    user_agent: str | None


class Session(msgspec.Struct):
    connections: list[Connection]


class DeviceSessions(msgspec.Struct):
    sessions: list[Session]


class Whois(msgspec.Struct):
    """The spec's whois in Synapse's shape: all connections under the device ``""``."""

    user_id: str
    devices: dict[str, DeviceSessions]
