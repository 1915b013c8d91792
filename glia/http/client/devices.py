"""``/devices`` and ``/delete_devices``."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.devices import Device

routes = RouteGroup()


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


@routes.put(*client_paths("/devices/{deviceId}"), auth=Auth.USER)
async def update_device(req: Request) -> dict[str, Any]:
    await req.services.devices.rename(req.requester.user_id, req.path("deviceId"), req.json())
    return {}


@routes.delete(*client_paths("/devices/{deviceId}"), auth=Auth.USER)
async def delete_device(req: Request) -> dict[str, Any]:
    body = req.json_or_empty()
    await req.services.devices.get(req.requester.user_id, req.path("deviceId"))
    await req.services.devices.delete(req.requester, [req.path("deviceId")], body)
    return {}


@routes.post(*client_paths("/delete_devices"), auth=Auth.USER)
async def delete_devices(req: Request) -> dict[str, Any]:
    body = req.json()
    device_ids = body.get("devices")
    if device_ids is None:
        raise errors.missing_param("Missing params: ['devices']")
    if not isinstance(device_ids, list) or not all(isinstance(d, str) for d in device_ids):
        raise errors.bad_json("devices must be a list of strings")
    await req.services.devices.delete(req.requester, device_ids, body)
    return {}
