"""Pushers (the spec's ``pushers`` and ``pushers/set``): where a user's notifications go,
validated as Synapse does, and Synapse's admin list with each pusher's delivery health.
Delivery itself is ``push_gateway.py``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.errors import MatrixError
from glia.services.push import check_json_depth
from glia.services.push_gateway import PushGateway
from glia.services.targets import existing_local_user
from glia.storage import Storage
from glia.storage.push import Pusher

if TYPE_CHECKING:
    from glia.services.unit_of_work import UnitOfWork

__all__ = ["PusherService", "PusherSet"]

NOTIFY_PATH = "/_matrix/push/v1/notify"
PUSHER_KINDS = ("http", "email")
MAX_APP_ID_LENGTH = 64
MAX_PUSHKEY_BYTES = 512
#: The fields ``POST /pushers/set`` needs unless it deletes, in Synapse's order.
_PUSHER_FIELDS = ("kind", "app_id", "app_display_name", "device_display_name", "pushkey",
                  "lang", "data")


class PusherSet(msgspec.Struct):
    """``POST /pushers/set``. Which fields are required depends on ``kind`` (null:
    delete, which needs only ``app_id`` and ``pushkey``), and a request missing several
    names them all, as Synapse does, so presence is checked by the service."""

    kind: str | UnsetType | None = UNSET
    app_id: str | UnsetType = UNSET
    pushkey: str | UnsetType = UNSET
    app_display_name: str | UnsetType = UNSET
    device_display_name: str | UnsetType = UNSET
    lang: str | UnsetType = UNSET
    data: dict[str, Any] | UnsetType = UNSET
    profile_tag: str = ""
    append: bool = False


class PusherInfo(msgspec.Struct, frozen=True):
    """A pusher in the spec's format (``GET /pushers``)."""

    app_display_name: str
    app_id: str
    data: dict[str, Any]
    device_display_name: str
    kind: str
    lang: str
    profile_tag: str
    pushkey: str

    @classmethod
    def of(cls, p: Pusher) -> PusherInfo:
        return cls(p.app_display_name, p.app_id, p.data, p.device_display_name, p.kind,
                   p.lang, p.profile_tag, p.pushkey)


class PusherService:
    def __init__(self, config: Config, storage: Storage, gateway: PushGateway) -> None:
        self._config = config
        self._storage = storage
        self._gateway = gateway

    async def pushers(self, user_id: str) -> list[PusherInfo]:
        """``GET /pushers``: the user's pushers in the spec's format."""
        return [PusherInfo.of(p) for p in await self._storage.push.pushers_of_user(user_id)]

    async def set_pusher(self, uow: UnitOfWork, request: PusherSet) -> None:
        """``POST /pushers/set``: create or update (``kind`` set) or delete (``kind`` null)
        the pusher ``(app_id, pushkey)`` of the caller, in the request's transaction."""
        requester = uow.requester
        user_id = requester.user_id
        if (request.kind is None and request.app_id is not UNSET
                and request.pushkey is not UNSET):
            async with uow.transaction() as tx:
                await tx.push.delete_pusher(user_id, request.app_id, request.pushkey)
            return
        missing = [k for k in _PUSHER_FIELDS if getattr(request, k) is UNSET]
        if missing:
            raise errors.missing_param(f"Missing params: {missing!r}")
        kind, app_id, pushkey = request.kind, request.app_id, request.pushkey
        app_name, device_name = request.app_display_name, request.device_display_name
        lang, data, append = request.lang, request.data, request.append
        # For the type checker: every field is present (checked just above), and a null
        # kind with an app_id and a pushkey was a delete.
        assert not isinstance(kind, UnsetType) and kind is not None
        assert not isinstance(app_id, UnsetType) and not isinstance(pushkey, UnsetType)
        assert not isinstance(app_name, UnsetType) and not isinstance(device_name, UnsetType)
        assert not isinstance(lang, UnsetType) and not isinstance(data, UnsetType)
        check_json_depth(data, "data")
        if not app_id or len(app_id) > MAX_APP_ID_LENGTH:
            raise errors.invalid_param(
                f"app_id must be between 1 and {MAX_APP_ID_LENGTH} characters")
        if not pushkey or len(pushkey.encode()) > MAX_PUSHKEY_BYTES:
            raise errors.invalid_param(
                f"pushkey must be between 1 and {MAX_PUSHKEY_BYTES} bytes")
        if kind == "http":
            _check_gateway_url(data)
        elif kind == "email":
            await self._check_email(user_id, pushkey)
        else:
            raise errors.invalid_param(
                f"Unsupported pusher kind {kind!r}: must be one of {list(PUSHER_KINDS)}")
        pusher = Pusher(
            user_id=user_id, app_id=app_id, pushkey=pushkey, kind=kind,
            app_display_name=app_name, device_display_name=device_name,
            profile_tag=request.profile_tag, lang=lang, data=data,
            device_id=requester.device_id, pushkey_ts=now_ms(),
        )
        async with uow.transaction() as tx:
            if not append:
                await tx.push.delete_pushers_of_others(app_id, pushkey, user_id)
            await tx.push.upsert_pusher(pusher)
        self._gateway.ensure_running()

    async def _check_email(self, user_id: str, address: str) -> None:
        """An email pusher needs the address to be one of the user's email 3PIDs."""
        threepids = await self._storage.admin_users.threepids(user_id)
        if not any(t["medium"] == "email" and str(t["address"]).casefold() ==
                   address.casefold() for t in threepids):
            raise MatrixError(400, "M_THREEPID_NOT_FOUND", "Email not found")

    async def admin_pushers(self, user_id: str, *, health: bool) -> dict[str, Any]:
        """Synapse's ``GET /_synapse/admin/v1/users/{userId}/pushers`` with exactly its
        fields; with ``health`` (Glia's mount) also each pusher's delivery health."""
        await existing_local_user(self._storage, user_id, self._config.server_name,
                                  "Can only look up local users")
        pushers = await self._storage.push.pushers_of_user(user_id)
        queued = await self._storage.push.pending_deliveries(user_id) if health else {}
        out = []
        for p in pushers:
            item = msgspec.structs.asdict(PusherInfo.of(p))
            item.update({"enabled": True, "device_id": p.device_id})
            if health:
                item.update({
                    "pushkey_ts": p.pushkey_ts, "last_success_ts": p.last_success_ts,
                    "failing_since_ts": p.failing_since_ts,
                    "queued_pushes": queued.get((p.app_id, p.pushkey), 0),
                })
            out.append(item)
        return {"pushers": out, "total": len(out)}


def _config_error(message: str) -> MatrixError:
    # Synapse's wording and errcode for a pusher it cannot use.
    return errors.missing_param(f"Config Error: {message}")


def _check_gateway_url(data: Mapping[str, Any]) -> None:
    """An HTTP pusher's ``data.url``: an http(s) URL whose path ends in the Push Gateway
    API's ``/_matrix/push/v1/notify``."""
    if "url" not in data:
        raise _config_error("'url' required in data for HTTP pusher")
    url = data["url"]
    if not isinstance(url, str):
        raise _config_error("'url' must be a string")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as e:
        raise _config_error("'url' must be an http or https URL") from e
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _config_error("'url' must be an http or https URL")
    if not parts.path.endswith(NOTIFY_PATH):
        raise _config_error(f"'url' must have a path of '{NOTIFY_PATH}'")
