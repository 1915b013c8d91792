"""Synapse's ``/v1/background_updates/*`` (served from Glia's jobs: see
``services/admin/background_updates.py``)."""

from __future__ import annotations

from typing import Any

import msgspec

from glia.errors import MatrixError
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths

routes = RouteGroup()

BASE = "/v1/background_updates"


class EnabledBody(msgspec.Struct):
    """``{"enabled": bool}``; absent means true. Synapse refuses a non-boolean with its
    own ``M_UNKNOWN`` message, which is kept."""

    enabled: Any = True

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise MatrixError(400, "M_UNKNOWN", "'enabled' parameter must be a boolean")


class StartJobBody(msgspec.Struct):
    #: Any JSON value: a name that is not one of the jobs is refused as Synapse does.
    job_name: Any


class Enabled(msgspec.Struct):
    enabled: bool


class Status(msgspec.Struct):
    enabled: bool
    current_updates: dict[str, dict[str, Any]]


class Empty(msgspec.Struct):
    pass


@routes.get(*admin_paths(BASE + "/enabled"), auth=Auth.ADMIN)
async def get_enabled(req: Request) -> Enabled:
    return Enabled(await req.services.background_updates.enabled())


@routes.post(*admin_paths(BASE + "/enabled"), auth=Auth.ADMIN,
             audit="background_updates.enabled", body=EnabledBody, empty_body=True)
async def set_enabled(req: Request[EnabledBody]) -> Enabled:
    return Enabled(await req.services.background_updates.set_enabled(
        req.uow, bool(req.body.enabled)))


@routes.get(*admin_paths(BASE + "/status"), auth=Auth.ADMIN)
async def status(req: Request) -> Status:
    service = req.services.background_updates
    return Status(await service.enabled(), await service.current_updates())


@routes.post(*admin_paths(BASE + "/start_job"), auth=Auth.ADMIN,
             audit="background_updates.start_job", body=StartJobBody)
async def start_job(req: Request[StartJobBody]) -> Empty:
    name = req.body.job_name
    await req.services.background_updates.start_job(req.uow, name if isinstance(name, str)
                                                    else "")
    return Empty()
