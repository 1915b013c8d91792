"""Server-side key backups: ``/room_keys/version[/{version}]`` and
``/room_keys/keys[/{roomId}[/{sessionId}]]`` (``?version=`` required on the latter)."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.key_backup import (
    BackupCounts,
    BackupCreated,
    BackupVersionInfo,
    BackupVersionResult,
    KeyBackupData,
    KeysBackup,
    RoomKeyBackup,
)

routes = RouteGroup()


def _version(req: Request[Any]) -> str:
    version = req.query("version")
    if version is None:
        raise errors.missing_param("Missing string query parameter 'version'")
    return version


# -- versions ------------------------------------------------------------------------------


@routes.post(*client_paths("/room_keys/version"), auth=Auth.USER, body=BackupVersionInfo)
async def create_version(req: Request[BackupVersionInfo]) -> BackupCreated:
    return await req.services.key_backup.create_version(req.uow, req.body)


@routes.get(*client_paths("/room_keys/version"), auth=Auth.USER)
async def current_version(req: Request) -> BackupVersionResult:
    return await req.services.key_backup.get_version(req.requester.user_id, None)


@routes.get(*client_paths("/room_keys/version/{version}"), auth=Auth.USER)
async def get_version(req: Request) -> BackupVersionResult:
    return await req.services.key_backup.get_version(req.requester.user_id,
                                                     req.path("version"))


@routes.put(*client_paths("/room_keys/version/{version}"), auth=Auth.USER,
            body=BackupVersionInfo)
async def update_version(req: Request[BackupVersionInfo]) -> Empty:
    await req.services.key_backup.update_version(req.uow, req.path("version"),
                                                 req.body)
    return EMPTY


@routes.delete(*client_paths("/room_keys/version/{version}"), auth=Auth.USER)
async def delete_version(req: Request) -> Empty:
    await req.services.key_backup.delete_version(req.uow, req.path("version"))
    return EMPTY


# -- keys ----------------------------------------------------------------------------------


@routes.put(*client_paths("/room_keys/keys"), auth=Auth.USER, body=KeysBackup)
async def put_all_keys(req: Request[KeysBackup]) -> BackupCounts:
    return await req.services.key_backup.put_keys(req.uow, _version(req),
                                                  req.body.room_keys())


@routes.put(*client_paths("/room_keys/keys/{roomId}"), auth=Auth.USER, body=RoomKeyBackup)
async def put_room_keys(req: Request[RoomKeyBackup]) -> BackupCounts:
    return await req.services.key_backup.put_keys(req.uow, _version(req),
                                                  req.body.room_keys(req.path("roomId")))


@routes.put(*client_paths("/room_keys/keys/{roomId}/{sessionId}"), auth=Auth.USER,
            body=KeyBackupData)
async def put_session_key(req: Request[KeyBackupData]) -> BackupCounts:
    key = req.body.room_key(req.path("roomId"), req.path("sessionId"))
    return await req.services.key_backup.put_keys(req.uow, _version(req), [key])


@routes.get(*client_paths("/room_keys/keys"), auth=Auth.USER)
async def get_all_keys(req: Request) -> KeysBackup:
    return await req.services.key_backup.all_keys(req.requester.user_id, _version(req))


@routes.get(*client_paths("/room_keys/keys/{roomId}"), auth=Auth.USER)
async def get_room_keys(req: Request) -> RoomKeyBackup:
    return await req.services.key_backup.room_keys(req.requester.user_id, _version(req),
                                                   req.path("roomId"))


@routes.get(*client_paths("/room_keys/keys/{roomId}/{sessionId}"), auth=Auth.USER)
async def get_session_key(req: Request) -> KeyBackupData:
    return await req.services.key_backup.session_key(
        req.requester.user_id, _version(req), req.path("roomId"), req.path("sessionId"))


@routes.delete(*client_paths("/room_keys/keys"), auth=Auth.USER)
async def delete_all_keys(req: Request) -> BackupCounts:
    return await req.services.key_backup.delete_keys(req.uow, _version(req))


@routes.delete(*client_paths("/room_keys/keys/{roomId}"), auth=Auth.USER)
async def delete_room_keys(req: Request) -> BackupCounts:
    return await req.services.key_backup.delete_keys(req.uow, _version(req),
                                                     req.path("roomId"))


@routes.delete(*client_paths("/room_keys/keys/{roomId}/{sessionId}"), auth=Auth.USER)
async def delete_session_key(req: Request) -> BackupCounts:
    return await req.services.key_backup.delete_keys(
        req.uow, _version(req), req.path("roomId"), req.path("sessionId"))
