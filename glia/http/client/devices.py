"""``/devices`` and ``/delete_devices``."""

from __future__ import annotations

from typing import Any

import msgspec

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


def device_json(device: Device) -> dict[str, Any]:
    return {
        "device_id": device.device_id,
        "display_name": device.display_name,
        "last_seen_ip": device.last_seen_ip,
        "last_seen_ts": device.last_seen_ts,
    }


@routes.get(*client_paths("/devices"), auth=Auth.USER)
async def list_devices(req: Request) -> dict[str, Any]:
    devices = await req.services.devices.list_for(req.requester.user_id)
    return {"devices": [device_json(d) for d in devices]}


@routes.get(*client_paths("/devices/{deviceId}"), auth=Auth.USER)
async def get_device(req: Request) -> dict[str, Any]:
    device = await req.services.devices.get(req.requester.user_id, req.path("deviceId"))
    return device_json(device)


@routes.put(*client_paths("/devices/{deviceId}"), auth=Auth.USER, body=DeviceUpdateBody)
async def update_device(req: Request[DeviceUpdateBody]) -> dict[str, Any]:
    await req.services.devices.rename(req.requester.user_id, req.path("deviceId"),
                                      req.body.display_name)
    return {}


@routes.delete(*client_paths("/devices/{deviceId}"), auth=Auth.USER, body=DeleteDeviceBody,
               empty_body=True)
async def delete_device(req: Request[DeleteDeviceBody]) -> dict[str, Any]:
    await req.services.devices.get(req.requester.user_id, req.path("deviceId"))
    await req.services.devices.delete(req.requester, [req.path("deviceId")],
                                      stage_auth(req.body.auth))
    return {}


@routes.post(*client_paths("/delete_devices"), auth=Auth.USER, body=DeleteDevicesBody)
async def delete_devices(req: Request[DeleteDevicesBody]) -> dict[str, Any]:
    await req.services.devices.delete(req.requester, req.body.devices,
                                      stage_auth(req.body.auth))
    return {}
