"""Glia's application-service admin API: health, pause/resume, retry now."""

from __future__ import annotations

import msgspec

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, glia_paths
from glia.services.admin.appservices import AppServiceHealth

routes = RouteGroup()

BASE = "/v1/appservices"


class AppServiceList(msgspec.Struct, frozen=True):
    appservices: list[AppServiceHealth]
    total: int


class Empty(msgspec.Struct, frozen=True):
    pass


@routes.get(*glia_paths(BASE), auth=Auth.ADMIN)
async def list_appservices(req: Request) -> AppServiceList:
    found = await req.services.appservice_admin.list()
    return AppServiceList(found, len(found))


@routes.get(*glia_paths(BASE + "/{appserviceId}"), auth=Auth.ADMIN)
async def get_appservice(req: Request) -> AppServiceHealth:
    return await req.services.appservice_admin.get(req.path("appserviceId"))


@routes.post(*glia_paths(BASE + "/{appserviceId}/pause"), auth=Auth.ADMIN,
             audit="appservices.pause")
async def pause(req: Request) -> Empty:
    await req.services.appservice_admin.set_paused(req.uow, req.path("appserviceId"), True)
    return Empty()


@routes.post(*glia_paths(BASE + "/{appserviceId}/resume"), auth=Auth.ADMIN,
             audit="appservices.resume")
async def resume(req: Request) -> Empty:
    await req.services.appservice_admin.set_paused(req.uow, req.path("appserviceId"), False)
    return Empty()


@routes.post(*glia_paths(BASE + "/{appserviceId}/retry"), auth=Auth.ADMIN,
             audit="appservices.retry")
async def retry(req: Request) -> Empty:
    await req.services.appservice_admin.retry_now(req.uow, req.path("appserviceId"))
    return Empty()
