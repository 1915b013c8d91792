"""``/devices`` and ``/delete_devices``."""

from __future__ import annotations

from typing import Any

import msgspec

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.http.uia import stage_auth
from glia.services.devices import Device

routes = RouteGroup()


class DeviceUpdateBody(msgspec.Struct):
    """``PUT /devices/{deviceId}``: a new display name (absent or null: unchanged)."""

    display_name: str | None = None


class DeleteDeviceBody(msgspec.Struct):
    """``DELETE /devices/{deviceId}``: the UIA ``auth`` dict (the body is optional)."""

    auth: dict[str, Any] | None = None


class DeleteDevicesBody(msgspec.Struct):
    """``POST /delete_devices``: which devices, and the UIA ``auth`` dict."""

    devices: list[str]
    auth: dict[str, Any] | None = None


class DeviceResponse(msgspec.Struct, frozen=True):
    """A device as its owner sees it (unknown values are ``null``)."""

    device_id: str
    display_name: str | None
    last_seen_ip: str | None
    last_seen_ts: int | None

    @classmethod
    def of(cls, device: Device) -> DeviceResponse:
        return cls(device.device_id, device.display_name, device.last_seen_ip,
                   device.last_seen_ts)


class DevicesResponse(msgspec.Struct, frozen=True):
    devices: list[DeviceResponse]


@routes.get(*client_paths("/devices"), auth=Auth.USER)
async def list_devices(req: Request) -> DevicesResponse:
    devices = await req.services.devices.list_for(req.requester.user_id)
    return DevicesResponse([DeviceResponse.of(d) for d in devices])


@routes.get(*client_paths("/devices/{deviceId}"), auth=Auth.USER)
async def get_device(req: Request) -> DeviceResponse:
    device = await req.services.devices.get(req.requester.user_id, req.path("deviceId"))
    return DeviceResponse.of(device)


@routes.put(*client_paths("/devices/{deviceId}"), auth=Auth.USER, body=DeviceUpdateBody)
async def update_device(req: Request[DeviceUpdateBody]) -> Empty:
    await req.services.devices.rename(req.uow, req.path("deviceId"),
                                      req.body.display_name)
    return EMPTY


@routes.delete(*client_paths("/devices/{deviceId}"), auth=Auth.USER, body=DeleteDeviceBody,
               empty_body=True)
async def delete_device(req: Request[DeleteDeviceBody]) -> Empty:
    await req.services.devices.get(req.requester.user_id, req.path("deviceId"))
    await req.services.devices.delete(req.uow, [req.path("deviceId")],
                                      stage_auth(req.body.auth))
    return EMPTY


@routes.post(*client_paths("/delete_devices"), auth=Auth.USER, body=DeleteDevicesBody)
async def delete_devices(req: Request[DeleteDevicesBody]) -> Empty:
    await req.services.devices.delete(req.uow, req.body.devices,
                                      stage_auth(req.body.auth))
    return EMPTY
