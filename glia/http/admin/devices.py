"""Synapse's admin device API for any local user (``/v2/users/{userId}/devices``)."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths
from glia.services.admin.devices import (
    AdminDevice,
    AdminDevices,
    DeviceList,
    DeviceUpdate,
    NewDevice,
)

routes = RouteGroup()


@routes.get(*admin_paths("/v2/users/{userId}/devices"), auth=Auth.ADMIN)
async def list_devices(req: Request) -> AdminDevices:
    return await req.services.device_admin.list_devices(req.path("userId"))


@routes.post(*admin_paths("/v2/users/{userId}/devices"), auth=Auth.ADMIN,
             audit="devices.create", body=NewDevice)
async def create_device(req: Request[NewDevice]) -> tuple[int, dict[str, Any]]:
    await req.services.device_admin.create(req.uow, req.path("userId"), req.body)
    return req.uow.success_status, {}


@routes.get(*admin_paths("/v2/users/{userId}/devices/{deviceId}"), auth=Auth.ADMIN)
async def get_device(req: Request) -> AdminDevice:
    return await req.services.device_admin.get(req.path("userId"), req.path("deviceId"))


@routes.put(*admin_paths("/v2/users/{userId}/devices/{deviceId}"), auth=Auth.ADMIN,
            audit="devices.rename", body=DeviceUpdate, empty_body=True)
async def rename_device(req: Request[DeviceUpdate]) -> dict[str, Any]:
    await req.services.device_admin.rename(req.uow, req.path("userId"), req.path("deviceId"),
                                           req.body)
    return {}


@routes.delete(*admin_paths("/v2/users/{userId}/devices/{deviceId}"), auth=Auth.ADMIN,
               audit="devices.delete")
async def delete_device(req: Request) -> dict[str, Any]:
    await req.services.device_admin.delete(req.uow, req.path("userId"),
                                           [req.path("deviceId")])
    return {}


@routes.post(*admin_paths("/v2/users/{userId}/delete_devices"), auth=Auth.ADMIN,
             audit="devices.delete_many", body=DeviceList)
async def delete_devices(req: Request[DeviceList]) -> dict[str, Any]:
    await req.services.device_admin.delete(req.uow, req.path("userId"), req.body.devices)
    return {}
