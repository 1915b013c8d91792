"""Route declarations: method, literal path, auth level, rate-limit class.

Each HTTP module owns a :class:`RouteGroup` and declares handlers with the spec's path,
so grepping a spec path finds its handler. The auth level is mandatory and enforced
centrally by the server (``glia.http.guards``); handlers never check it themselves.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from glia.http.parsing import Request


class Auth(enum.Enum):
    NONE = "none"
    USER = "user"
    USER_OPTIONAL = "user_optional"
    ADMIN = "admin"
    #: An application service's ``as_token`` (acting as its sender or a masqueraded user).
    APPSERVICE = "appservice"
    #: ``/register`` and ``/login``: an ``as_token`` makes the application service the
    #: requester; any other token is ignored (the body's login type decides the rest).
    APPSERVICE_OPTIONAL = "appservice_optional"
    #: Signed with the registration shared secret (an HMAC the service checks), not a
    #: token; refused before the body is read when no secret is configured.
    SHARED_SECRET = "shared_secret"
    #: A federation request signed by the origin server (``Authorization: X-Matrix``),
    #: verified against the origin's published key before the handler runs
    #: (``req.origin``).
    SERVER = "server"


Handler = Callable[["Request[Any]"], Awaitable[Any]]

CLIENT_VERSIONS = ("r0", "v3")


def client_paths(path: str, versions: tuple[str, ...] = CLIENT_VERSIONS) -> tuple[str, ...]:
    """``/login`` → ``/_matrix/client/r0/login``, ``/_matrix/client/v3/login``."""
    return tuple(f"/_matrix/client/{v}{path}" for v in versions)


def admin_paths(path: str) -> tuple[str, ...]:
    """A Synapse admin path, served where Synapse serves it and under Glia's own mount:
    ``/v1/users/{userId}/admin`` → ``/_synapse/admin/v1/…``, ``/_glia/admin/v1/…``."""
    return (f"/_synapse/admin{path}", f"/_glia/admin{path}")


def federation_paths(path: str, versions: tuple[str, ...] = ("v1",)) -> tuple[str, ...]:
    """``/version`` → ``/_matrix/federation/v1/version``."""
    return tuple(f"/_matrix/federation/{v}{path}" for v in versions)


def glia_paths(path: str) -> tuple[str, ...]:
    """An admin endpoint only Glia has: ``/_glia/admin{path}``."""
    return (f"/_glia/admin{path}",)


def dendrite_paths(path: str) -> tuple[str, ...]:
    """A Dendrite admin path: ``/_dendrite/admin{path}``."""
    return (f"/_dendrite/admin{path}",)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    auth: Auth
    ratelimit: str | None
    #: The audit-log action of a state-changing admin route (required for those).
    audit: str | None = None
    #: The request model the server decodes the JSON body into (``req.body``).
    body: type[Any] | None = None
    #: Whether an empty body stands for ``{}`` (the spec makes some bodies optional).
    empty_body: bool = False
    #: Whether an expired account (account validity) may still call it (logout).
    allow_expired: bool = False


class RouteGroup:
    """The routes one module declares, collected by the server at start-up."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self, method: str, *paths: str, auth: Auth, ratelimit: str | None = None,
        audit: str | None = None, body: type[Any] | None = None, empty_body: bool = False,
        allow_expired: bool = False,
    ) -> Callable[[Handler], Handler]:
        if not paths:
            raise ValueError("a route needs at least one path")
        if auth is Auth.ADMIN and method != "GET" and audit is None:
            raise ValueError(f"{method} {paths[0]}: admin writes must name an audit action")

        def register(handler: Handler) -> Handler:
            for path in paths:
                self.routes.append(Route(method, path, handler, auth, ratelimit, audit,
                                         body, empty_body, allow_expired))
            return handler

        return register

    def get(
        self, *paths: str, auth: Auth, ratelimit: str | None = None
    ) -> Callable[[Handler], Handler]:
        return self.route("GET", *paths, auth=auth, ratelimit=ratelimit)

    def post(
        self, *paths: str, auth: Auth, ratelimit: str | None = None,
        audit: str | None = None, body: type[Any] | None = None, empty_body: bool = False,
        allow_expired: bool = False,
    ) -> Callable[[Handler], Handler]:
        return self.route("POST", *paths, auth=auth, ratelimit=ratelimit, audit=audit,
                          body=body, empty_body=empty_body, allow_expired=allow_expired)

    def put(
        self, *paths: str, auth: Auth, ratelimit: str | None = None,
        audit: str | None = None, body: type[Any] | None = None, empty_body: bool = False,
    ) -> Callable[[Handler], Handler]:
        return self.route("PUT", *paths, auth=auth, ratelimit=ratelimit, audit=audit,
                          body=body, empty_body=empty_body)

    def delete(
        self, *paths: str, auth: Auth, ratelimit: str | None = None,
        audit: str | None = None, body: type[Any] | None = None, empty_body: bool = False,
    ) -> Callable[[Handler], Handler]:
        return self.route("DELETE", *paths, auth=auth, ratelimit=ratelimit, audit=audit,
                          body=body, empty_body=empty_body)


class Router:
    """Matches the raw path segment by segment, percent-decoding each segment once.

    Matching the raw path (not the decoded one) keeps ``%2F`` inside an event ID from
    splitting a segment.
    """

    def __init__(self, routes: list[Route]) -> None:
        self._static: dict[str, dict[str, Route]] = {}
        self._dynamic: dict[int, list[tuple[list[str], dict[str, Route]]]] = {}
        for route in routes:
            segments = route.path.strip("/").split("/")
            if not any(s.startswith("{") for s in segments):
                methods = self._static.setdefault("/" + "/".join(segments), {})
            else:
                bucket = self._dynamic.setdefault(len(segments), [])
                for pattern, existing in bucket:
                    if _shape(pattern) == _shape(segments):
                        # Otherwise one would shadow the other, or its handler would look
                        # up parameter names the match never fills in.
                        if pattern != segments:
                            raise ValueError(f"{route.path}: parameter names differ from "
                                             f"/{'/'.join(pattern)}")
                        methods = existing
                        break
                else:
                    methods = {}
                    bucket.append((segments, methods))
            if route.method in methods:
                raise ValueError(f"duplicate route {route.method} {route.path}")
            methods[route.method] = route
            if route.method == "GET":
                methods.setdefault("HEAD", route)

    def match(self, segments: list[str]) -> tuple[dict[str, Route], dict[str, str]] | None:
        """The methods served at a path and its parameters, or None if nothing is."""
        static = self._static.get("/" + "/".join(segments))
        if static is not None:
            return static, {}
        for pattern, methods in self._dynamic.get(len(segments), ()):
            params: dict[str, str] = {}
            for want, got in zip(pattern, segments, strict=True):
                if want.startswith("{"):
                    if not got:
                        break
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                return methods, params
        return None


def _shape(segments: list[str]) -> list[str]:
    return ["{}" if s.startswith("{") else s for s in segments]
