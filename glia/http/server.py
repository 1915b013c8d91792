"""The ASGI application: routing, auth, rate limits, body limits, errors, CORS, access log.

Every response goes through :func:`HttpApp.__call__`, so every response carries CORS
headers and every error is Matrix JSON. A ``MatrixError`` is the client's problem; any
other exception is a bug: logged with the request id, answered ``500 M_UNKNOWN``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import msgspec
from starlette.requests import ClientDisconnect
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from glia import errors
from glia.errors import MatrixError
from glia.http.guards import NotAdmin, authorize, authorize_server
from glia.http.guest_access import guest_allowed
from glia.http.parsing import Request, is_streamed, resolve_client
from glia.http.ratelimit import RateLimiter
from glia.http.routes import Auth, Route, Router
from glia.log import redact_query
from glia.services.audit import AuditEntry
from glia.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from glia.services import Services

logger = logging.getLogger("glia.http")
access_logger = logging.getLogger("glia.access")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization, Date",
    "Access-Control-Expose-Headers": "Server",
}

#: Methods that change something: their requests get a unit of work (``req.uow``).
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
#: The admin API mounts, where a path with a trailing slash is unknown (as in Synapse).
_ADMIN_MOUNTS = ("/_synapse/admin/", "/_dendrite/admin/", "/_glia/admin/")

_encoder = msgspec.json.Encoder()
_request_ids = itertools.count(1)


def json_response(body: Any, status: int = 200) -> Response:
    return Response(_encoder.encode(body), status, media_type="application/json")


class HttpApp:
    """One listener's application over a set of routes."""

    def __init__(self, services: Services, routes: list[Route], name: str) -> None:
        self._services = services
        self._router = Router(routes)
        self._limiter = RateLimiter(services.config.ratelimit, services.clock,
                                    services.shared_buckets)
        self._max_body = services.config.max_request_size
        self._max_json_depth = services.config.max_json_depth
        self._access_log = services.config.logging.access_log
        self._name = name
        self._trusted_proxies = [ipaddress.ip_network(p, strict=False)
                                 for p in services.config.listeners.trusted_proxies]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        resolve_client(scope, self._trusted_proxies)
        request_id = f"{self._name}-{next(_request_ids)}"
        raw = StarletteRequest(scope, receive)
        user: str | None = None
        try:
            response, user = await self._handle(raw)
        except ClientDisconnect:
            # Nobody is left to answer: not an error of ours, and nothing to send.
            logger.info("request %s %s %s: client disconnected", request_id, raw.method,
                        _loggable_path(scope))
            return
        except MatrixError as e:
            response = json_response(e.to_json(), e.status)
            response.headers.update(e.headers)
        except Exception:
            logger.exception("request %s %s %s failed", request_id, raw.method,
                             _loggable_path(scope))
            response = json_response(errors.unknown("Internal server error", 500).to_json(), 500)
        response.headers.update(CORS_HEADERS)
        await response(scope, receive, send)
        if self._access_log:
            query = redact_query(scope.get("query_string", b"").decode("latin-1"))
            access_logger.info(
                "%s %s %s %s%s %d %.1fms %s", request_id,
                raw.client.host if raw.client else "-", raw.method, _loggable_path(scope),
                f"?{query}" if query else "", response.status_code,
                (time.perf_counter() - started) * 1000, user or "-",
            )

    async def _handle(self, raw: StarletteRequest) -> tuple[Response, str | None]:
        if raw.method == "OPTIONS":
            return Response(b"{}", 200, media_type="application/json"), None
        raw_path = raw.scope.get("raw_path") or raw.scope["path"].encode()
        path = raw_path.decode("latin-1").split("?", 1)[0]
        segments = [unquote(s) for s in path.strip("/").split("/")]
        matched = self._router.match(segments)
        if matched is None or (path.endswith("/") and path.startswith(_ADMIN_MOUNTS)):
            # Synapse's admin patterns are anchored: a trailing slash is another path.
            raise errors.unrecognized(404)
        methods, params = matched
        route = methods.get(raw.method)
        if route is None:
            raise errors.unrecognized(405)
        try:
            requester = await authorize(route.auth, raw, self._services.auth,
                                        route.allow_expired,
                                        guests=guest_allowed(route.method, route.path))
        except NotAdmin as e:
            if route.audit is not None:
                # A refused admin write is logged too, with who tried it.
                entry = AuditEntry(e.requester.user_id, route.audit,
                                   next(iter(params.values()), None), _query_params(raw))
                await self._services.units.begin(e.requester, entry).finish(
                    e.errcode, e.status)
            raise
        if route.ratelimit is not None and (requester is None or requester.ratelimited):
            key = requester.user_id if requester else (raw.client.host if raw.client else "-")
            override = None
            if requester is not None and self._limiter.enabled:
                override = await self._services.ratelimit.lookup(requester.user_id)
            await self._limiter.enforce(route.ratelimit, key, override)
        # Uploads stream their own body (and have their own size limit).
        body = b"" if is_streamed(route.handler) else await self._read_body(raw)
        origin = None
        if route.auth is Auth.SERVER:
            origin = await authorize_server(raw, body, self._max_json_depth,
                                            self._services.federation_auth)
        request: Request[Any] = Request(raw, self._services, params, body, requester,
                                        self._max_json_depth)
        request.origin = origin
        if route.audit is not None and requester is not None:
            entry = AuditEntry(requester.user_id, route.audit,
                               next(iter(params.values()), None), _audit_params(request))
            request.uow = self._services.units.begin(requester, entry)
            result = await _audited(route, request, request.uow)
        else:
            if raw.method in WRITE_METHODS:
                request.uow = self._services.units.begin(requester, None)
            result = await _run(route, request)
        user = requester.user_id if requester else origin
        if isinstance(result, Response):
            return result, user
        if isinstance(result, tuple):
            status, payload = result
            return json_response(payload, status), user
        return json_response(result), user

    async def _read_body(self, raw: StarletteRequest) -> bytes:
        declared = raw.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > self._max_body:
                    raise errors.too_large()
            except ValueError as e:
                raise errors.MatrixError(400, "M_UNKNOWN", "Invalid Content-Length") from e
        chunks: list[bytes] = []
        size = 0
        async for chunk in raw.stream():
            size += len(chunk)
            if size > self._max_body:
                raise errors.too_large()
            chunks.append(chunk)
        return b"".join(chunks)


async def _audited(route: Route, request: Request[Any], uow: UnitOfWork) -> Any:
    """Run an admin write; whatever happens, it ends up in the audit log: with the
    change it made (the unit of work's transaction), or else here, with its outcome."""
    try:
        result = await _run(route, request)
    except MatrixError as e:
        await uow.finish(e.errcode, e.status)
        raise
    except Exception:
        await uow.finish("M_UNKNOWN", 500)
        raise
    await uow.finish("ok", result[0] if isinstance(result, tuple) else 200)
    return result


async def _run(route: Route, request: Request[Any]) -> Any:
    """Decode the body into the route's request model, then call the handler."""
    if route.body is not None:
        request.decode_body(route.body, route.empty_body)
    return await route.handler(request)


def _query_params(raw: StarletteRequest) -> dict[str, Any]:
    params: dict[str, Any] = dict(raw.query_params)
    params.pop("access_token", None)
    return params


def _audit_params(request: Request[Any]) -> dict[str, Any]:
    """What an admin request asked for: its query and JSON body as decoded (once, within
    the depth limit) for the route; secrets are stripped when the row is written. A body
    that does not decode is left out here; the request is refused, and audited as
    refused, when the route decodes it."""
    params = _query_params(request.raw)
    if request.raw_body.strip():
        with contextlib.suppress(MatrixError):
            params["body"] = request.json()
    return params


def _loggable_path(scope: Scope) -> str:
    """The path as the client sent it (still percent-encoded), so a ``%0A`` in it
    cannot start a forged log line."""
    raw = scope.get("raw_path")
    path = raw.decode("latin-1") if raw else str(scope["path"])
    return path.encode("unicode_escape").decode("ascii").split("?", 1)[0]


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
