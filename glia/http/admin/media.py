"""Media administration on Synapse's paths (``/v1/media/…``, ``/v1/users/{id}/media``,
``/v1/user/{id}/media/quarantine``, ``/v1/room/{id}/media[/quarantine]``).

Route order matters: the literal ``protect``/``unprotect``/``{serverName}/delete`` paths
share a shape with ``/v1/media/{serverName}/{mediaId}`` and are declared first, so a
``POST …/delete`` reaches the deletion and not a 405 from the info route.
"""

from __future__ import annotations

from typing import Any

from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths
from glia.services.admin.media_results import (
    DeletedMedia,
    MediaInfo,
    Quarantined,
    RoomMedia,
    UserMediaList,
)

routes = RouteGroup()


def _dry_run(req: Request) -> bool:
    """Glia's extra: ``dry_run=true`` reports what would be deleted, deleting nothing."""
    return bool(req.query_bool("dry_run", False))


# -- one item (literal paths before the {serverName}/{mediaId} ones) --------------------------

@routes.post(*admin_paths("/v1/media/protect/{mediaId}"), auth=Auth.ADMIN,
             audit="media.protect")
async def protect(req: Request) -> dict[str, Any]:
    await req.services.media_admin.protect(req.uow, req.path("mediaId"), True)
    return {}


@routes.post(*admin_paths("/v1/media/unprotect/{mediaId}"), auth=Auth.ADMIN,
             audit="media.unprotect")
async def unprotect(req: Request) -> dict[str, Any]:
    await req.services.media_admin.protect(req.uow, req.path("mediaId"), False)
    return {}


@routes.post(*admin_paths("/v1/media/quarantine/{serverName}/{mediaId}"), auth=Auth.ADMIN,
             audit="media.quarantine")
async def quarantine(req: Request) -> dict[str, Any]:
    await req.services.media_admin.quarantine(req.uow, req.path("serverName"),
                                              req.path("mediaId"))
    return {}


@routes.post(*admin_paths("/v1/media/unquarantine/{serverName}/{mediaId}"),
             auth=Auth.ADMIN, audit="media.unquarantine")
async def unquarantine(req: Request) -> dict[str, Any]:
    await req.services.media_admin.unquarantine(req.uow, req.path("serverName"),
                                                req.path("mediaId"))
    return {}


async def _delete_old(req: Request, server_name: str | None) -> DeletedMedia:
    before_ts = req.query_int("before_ts", required=True, clamp=False)
    assert before_ts is not None
    return await req.services.media_admin.delete_old(
        req.uow, server_name, before_ts, req.query_int("size_gt", 0) or 0,
        bool(req.query_bool("keep_profiles", True)), _dry_run(req))


@routes.post(*admin_paths("/v1/media/delete"), auth=Auth.ADMIN, audit="media.delete_old")
async def delete_old(req: Request) -> DeletedMedia:
    return await _delete_old(req, None)


@routes.post(*admin_paths("/v1/media/{serverName}/delete"), auth=Auth.ADMIN,
             audit="media.delete_old")
async def delete_old_legacy(req: Request) -> DeletedMedia:
    """The per-server form Synapse deprecated in 1.78 (still used by some tools)."""
    return await _delete_old(req, req.path("serverName"))


@routes.get(*admin_paths("/v1/media/{serverName}/{mediaId}"), auth=Auth.ADMIN)
async def info(req: Request) -> MediaInfo:
    return await req.services.media_admin.info(req.path("serverName"), req.path("mediaId"))


@routes.delete(*admin_paths("/v1/media/{serverName}/{mediaId}"), auth=Auth.ADMIN,
               audit="media.delete")
async def delete_one(req: Request) -> DeletedMedia:
    return await req.services.media_admin.delete_one(
        req.uow, req.path("serverName"), req.path("mediaId"))


# -- a user's media -------------------------------------------------------------------------

@routes.get(*admin_paths("/v1/users/{userId}/media"), auth=Auth.ADMIN)
async def user_media(req: Request) -> UserMediaList:
    page = page_params(req)
    return await req.services.media_admin.user_media(
        req.path("userId"), req.query("order_by"), req.query("dir"), page.offset, page.limit)


@routes.delete(*admin_paths("/v1/users/{userId}/media"), auth=Auth.ADMIN,
               audit="media.delete_user_media")
async def delete_user_media(req: Request) -> DeletedMedia:
    page = page_params(req)
    return await req.services.media_admin.delete_user_media(
        req.uow, req.path("userId"), req.query("order_by"), req.query("dir"), page.offset,
        page.limit, _dry_run(req))


@routes.post(*admin_paths("/v1/user/{userId}/media/quarantine"), auth=Auth.ADMIN,
             audit="media.quarantine_user_media")
async def quarantine_user_media(req: Request) -> Quarantined:
    return await req.services.media_admin.quarantine_user_media(req.uow, req.path("userId"))


# -- a room's media -------------------------------------------------------------------------

@routes.get(*admin_paths("/v1/room/{roomId}/media"), auth=Auth.ADMIN)
async def room_media(req: Request) -> RoomMedia:
    return await req.services.media_admin.room_media(req.path("roomId"))


@routes.post(*admin_paths("/v1/room/{roomId}/media/quarantine"),
             *admin_paths("/v1/quarantine_media/{roomId}"), auth=Auth.ADMIN,
             audit="media.quarantine_room_media")
async def quarantine_room_media(req: Request) -> Quarantined:
    return await req.services.media_admin.quarantine_room_media(req.uow, req.path("roomId"))
