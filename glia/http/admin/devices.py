"""Synapse's admin device API for any local user (``/v2/users/{userId}/devices``)."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths

routes = RouteGroup()


@routes.get(*admin_paths("/v2/users/{userId}/devices"), auth=Auth.ADMIN)
async def list_devices(req: Request) -> dict[str, Any]:
    return await req.services.device_admin.list_devices(req.path("userId"))


@routes.post(*admin_paths("/v2/users/{userId}/devices"), auth=Auth.ADMIN,
             audit="devices.create")
async def create_device(req: Request) -> tuple[int, dict[str, Any]]:
    await req.services.device_admin.create(req.path("userId"), req.json(), req.audit)
    return 201, {}


@routes.get(*admin_paths("/v2/users/{userId}/devices/{deviceId}"), auth=Auth.ADMIN)
async def get_device(req: Request) -> dict[str, Any]:
    return await req.services.device_admin.get(req.path("userId"), req.path("deviceId"))


@routes.put(*admin_paths("/v2/users/{userId}/devices/{deviceId}"), auth=Auth.ADMIN,
            audit="devices.rename")
async def rename_device(req: Request) -> dict[str, Any]:
    await req.services.device_admin.rename(req.path("userId"), req.path("deviceId"),
                                           req.json_or_empty(), req.audit)
    return {}


@routes.delete(*admin_paths("/v2/users/{userId}/devices/{deviceId}"), auth=Auth.ADMIN,
               audit="devices.delete")
async def delete_device(req: Request) -> dict[str, Any]:
    await req.services.device_admin.delete(req.path("userId"), [req.path("deviceId")],
                                           req.audit)
    return {}


@routes.post(*admin_paths("/v2/users/{userId}/delete_devices"), auth=Auth.ADMIN,
             audit="devices.delete_many")
async def delete_devices(req: Request) -> dict[str, Any]:
    await req.services.device_admin.delete_many(req.path("userId"), req.json(), req.audit)
    return {}
