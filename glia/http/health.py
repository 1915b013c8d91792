"""Health checks for load balancers and monitors, on every listener and without a token:
Synapse's ``/health`` (``OK`` as plain text) and Dendrite's ``/_dendrite/monitor/up``
(the process answers) and ``/_dendrite/monitor/health`` (it can serve: empty when
healthy, ``503 {"warnings": [...]}`` when degraded). Both health checks ask the database."""

from __future__ import annotations

import msgspec
from starlette.responses import Response

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup

routes = RouteGroup()


class HealthWarnings(msgspec.Struct, frozen=True):
    """Dendrite's answer when the server cannot serve."""

    warnings: list[str]


@routes.get("/health", auth=Auth.NONE)
async def health(req: Request) -> Response:
    if await req.services.health.problems():
        return Response(b"Unhealthy", 503, media_type="text/plain")
    return Response(b"OK", 200, media_type="text/plain")


@routes.get("/_dendrite/monitor/up", auth=Auth.NONE)
async def monitor_up(req: Request) -> Response:
    return Response(b"", 200)


@routes.get("/_dendrite/monitor/health", auth=Auth.NONE)
async def monitor_health(req: Request) -> Response:
    problems = await req.services.health.problems()
    if problems:
        return Response(msgspec.json.encode(HealthWarnings(problems)), 503,
                        media_type="application/json")
    return Response(b"", 200)
