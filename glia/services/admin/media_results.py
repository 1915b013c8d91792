"""What media administration answers, typed, in Synapse's field names (admin tools
read them literally): the user media list and media info, quarantine counts, a room's
media, and what a deletion removed."""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType

from glia.storage.media import Media
from glia.storage.remote_media import RemoteMedia

__all__ = ["DeletedMedia", "MediaInfo", "MediaInfoItem", "Quarantined", "RoomMedia",
           "UserMediaItem", "UserMediaList"]


class UserMediaItem(msgspec.Struct, kw_only=True):
    """One item of ``GET /v1/users/{userId}/media``."""

    media_id: str
    media_type: str | None
    media_length: int | None
    upload_name: str | None
    created_ts: int
    last_access_ts: int | None
    quarantined_by: str | None
    safe_from_quarantine: bool
    url_cache: None = None
    user_id: str
    #: Stored while ``media.enable_authenticated_media`` was on.
    authenticated: bool
    sha256: str | None

    @classmethod
    def of(cls, media: Media) -> UserMediaItem:
        return cls(media_id=media.media_id, media_type=media.content_type,
                   media_length=media.size, upload_name=media.upload_name,
                   created_ts=media.created_ts, last_access_ts=media.last_access_ts,
                   quarantined_by=media.quarantined_by,
                   safe_from_quarantine=media.safe_from_quarantine, user_id=media.user_id,
                   authenticated=media.authenticated, sha256=media.sha256)


class UserMediaList(msgspec.Struct):
    """A page of a user's media; ``next_token`` (a number here, as in Synapse) only
    while a further page exists."""

    media: list[UserMediaItem]
    total: int
    next_token: int | UnsetType = UNSET


class MediaInfoItem(msgspec.Struct, kw_only=True):
    """Synapse's ``media_info`` object: for our media ``media_origin`` and
    ``filesystem_id`` are null; for a cached copy of another server's, ``user_id``,
    ``url_cache`` and ``safe_from_quarantine`` are (its file is named by its media ID)."""

    media_origin: str | None = None
    user_id: str | None
    media_id: str
    media_type: str | None
    media_length: int | None
    upload_name: str | None
    created_ts: int
    filesystem_id: str | None = None
    url_cache: None = None
    last_access_ts: int | None
    quarantined_by: str | None
    authenticated: bool
    safe_from_quarantine: bool | None
    sha256: str | None

    @classmethod
    def of(cls, media: Media) -> MediaInfoItem:
        return cls(user_id=media.user_id, media_id=media.media_id,
                   media_type=media.content_type, media_length=media.size,
                   upload_name=media.upload_name, created_ts=media.created_ts,
                   last_access_ts=media.last_access_ts, quarantined_by=media.quarantined_by,
                   safe_from_quarantine=media.safe_from_quarantine,
                   authenticated=media.authenticated, sha256=media.sha256)

    @classmethod
    def of_remote(cls, media: RemoteMedia) -> MediaInfoItem:
        return cls(media_origin=media.media_origin, user_id=None, media_id=media.media_id,
                   media_type=media.content_type, media_length=media.size,
                   upload_name=media.upload_name, created_ts=media.created_ts,
                   filesystem_id=media.media_id, last_access_ts=media.last_access_ts,
                   quarantined_by=media.quarantined_by, safe_from_quarantine=None,
                   authenticated=media.authenticated, sha256=media.sha256)


class MediaInfo(msgspec.Struct):
    media_info: MediaInfoItem


class Quarantined(msgspec.Struct):
    num_quarantined: int


class RoomMedia(msgspec.Struct):
    """A room's media URLs, this server's and other servers'."""

    local: list[str]
    remote: list[str]


class DeletedMedia(msgspec.Struct):
    """What a deletion removed, or (Glia's dry run, ``dry_run`` true) would remove."""

    deleted_media: list[str]
    total: int
    dry_run: bool | UnsetType = UNSET
