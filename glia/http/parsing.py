"""The request object handlers see, with Matrix-flavoured parsing of input.

Every parse failure raises a ``MatrixError`` with the errcode the spec (or Synapse, for
the admin API) uses, so bad input can never surface as a 500.
"""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic

from starlette.requests import ClientDisconnect
from starlette.requests import Request as StarletteRequest
from starlette.types import Scope
from typing_extensions import TypeVar

from glia import errors
from glia.errors import MatrixError
from glia.http.decoding import decode_json, decode_object, to_model
from glia.protocol.canonical_json import SAFE_INT_MAX, SAFE_INT_MIN

if TYPE_CHECKING:
    from glia.services import Services
    from glia.services.auth import Requester
    from glia.services.unit_of_work import UnitOfWork

T = TypeVar("T")

_STREAMED = "_glia_streamed_body"


def streamed_body(handler: T) -> T:
    """Declare that a handler reads its body itself, with :meth:`Request.stream`
    (uploads): the server then neither buffers the body nor applies
    ``max_request_size`` to it; the handler enforces its own limit."""
    setattr(handler, _STREAMED, True)
    return handler


def is_streamed(handler: object) -> bool:
    return bool(getattr(handler, _STREAMED, False))


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def forwarded_client(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """The client's address. The TCP peer's, unless the peer is a trusted proxy: then the
    rightmost ``X-Forwarded-For`` entry that is not itself a trusted proxy (everything to
    its left was written by the client and proves nothing). An entry that is not an
    address ends the walk at the proxy that passed it on."""
    client = peer
    for entry in reversed([*forwarded_for.split(","), peer]):
        try:
            address = ipaddress.ip_address(entry.strip())
        except ValueError:
            break
        client = str(address)
        if not any(address in network for network in trusted):
            break
    return client


def resolve_client(scope: Scope, trusted: Sequence[Network]) -> None:
    """Set ``scope["client"]`` to the real client behind trusted proxies: the one place
    the client address (session records, rate limits, the access log) is derived."""
    client = scope.get("client")
    if not trusted or not client:
        return
    forwarded = ",".join(value.decode("latin-1") for name, value in scope["headers"]
                         if name == b"x-forwarded-for")
    if forwarded:
        scope["client"] = (forwarded_client(client[0], forwarded, trusted), client[1])



class NoBody:
    """The request model of a route that declares none: ``req.body`` is not to be read."""


#: The route's request model (``NoBody`` where the route declares none).
B = TypeVar("B", default=NoBody)


class Request(Generic[B]):
    """One HTTP request: path parameters, query, body and the authenticated caller.

    ``body`` is the route's typed request model, decoded and validated by the server
    before the handler runs (``glia.http.decoding``); handlers never parse JSON
    themselves."""

    def __init__(
        self,
        raw: StarletteRequest,
        services: Services,
        path_params: dict[str, str],
        raw_body: bytes,
        requester: Requester | None,
        max_json_depth: int = 100,
    ) -> None:
        self.raw = raw
        self.services = services
        self.path_params = path_params
        self.raw_body = raw_body
        self.max_json_depth = max_json_depth
        self._requester = requester
        self._decoded: dict[str, Any] | None = None
        self._body: Any = None
        self._uow: UnitOfWork | None = None
        #: The origin server of a federation request (``Auth.SERVER`` routes), verified.
        self.origin: str | None = None

    # -- who ---------------------------------------------------------------------------

    @property
    def requester(self) -> Requester:
        """The caller; guaranteed present on routes declared with a user/admin auth level."""
        if self._requester is None:
            raise errors.missing_token()
        return self._requester

    @property
    def requester_or_none(self) -> Requester | None:
        return self._requester

    @property
    def client_ip(self) -> str | None:
        return self.raw.client.host if self.raw.client else None

    @property
    def user_agent(self) -> str | None:
        return self.raw.headers.get("user-agent")

    @property
    def uow(self) -> UnitOfWork:
        """The unit of work of a write request (POST/PUT/DELETE, or any audited admin
        route): the requester, the transaction and, for admin writes, the audit record
        committed with it. Services take it instead of the requester."""
        if self._uow is None:
            raise RuntimeError("only write requests have a unit of work")
        return self._uow

    @uow.setter
    def uow(self, value: UnitOfWork) -> None:
        self._uow = value

    # -- body --------------------------------------------------------------------------

    @property
    def body(self) -> B:
        """The route's request model, as the server decoded it."""
        if isinstance(self._body, NoBody) or self._body is None:
            raise RuntimeError("this route declares no request model")
        return self._body  # type: ignore[no-any-return]

    def decode_body(self, model: type[B], empty_ok: bool) -> None:
        """Decode and validate the body into ``model`` (done once, by the server). The
        model decides which JSON values it takes: a Struct only an object, a union with a
        scalar that value too (``PUT …/enabled`` takes a bare boolean)."""
        try:
            if empty_ok and not self.raw_body.strip():
                value: Any = {}
            else:
                value = decode_json(self.raw_body, self.max_json_depth)
            if isinstance(value, dict):
                self._decoded = value
            self._body = to_model(value, model)
        except MatrixError as e:
            # A model may name the errcode its server answers for a body that is not
            # JSON or not of its shape (Dendrite's handlers answer M_UNKNOWN).
            errcode = getattr(model, "undecodable_errcode", None)
            if errcode is None or e.errcode not in ("M_NOT_JSON", "M_BAD_JSON"):
                raise
            raise MatrixError(e.status, errcode, e.error) from e

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (``M_NOT_JSON`` / ``M_BAD_JSON`` otherwise),
        decoded once."""
        if self._decoded is None:
            self._decoded = decode_object(self.raw_body, self.max_json_depth)
        return self._decoded

    def json_or_empty(self) -> dict[str, Any]:
        """Like :meth:`json`, but an empty body is ``{}`` (endpoints where it's optional)."""
        return self.json() if self.raw_body.strip() else {}

    def typed(self, model: type[T]) -> T:
        """Decode the body into ``model`` (for handlers whose model depends on the
        request, e.g. a login type); field errors name the field."""
        return to_model(self.json(), model)

    async def stream(self) -> AsyncIterator[bytes]:
        """The body piece by piece as it arrives (only on :func:`streamed_body` routes,
        whose body the server has not read). A client hanging up mid-body is a 400."""
        try:
            async for chunk in self.raw.stream():
                if chunk:
                    yield chunk
        except ClientDisconnect as e:
            raise errors.unknown("The request body was cut short") from e

    # -- query -------------------------------------------------------------------------

    def query(self, name: str) -> str | None:
        return self.raw.query_params.get(name)

    def query_list(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (``?ver=1&ver=2``)."""
        return self.raw.query_params.getlist(name)

    def query_bool(self, name: str, default: bool | None = None) -> bool | None:
        value = self.query(name)
        if value is None:
            return default
        if value not in ("true", "false"):
            raise errors.invalid_param(
                f"Boolean query parameter '{name}' must be one of ['true', 'false']"
            )
        return value == "true"

    def query_int(self, name: str, default: int | None = None, *,
                  required: bool = False, minimum: int | None = 0,
                  clamp: bool = True) -> int | None:
        """An integer query parameter. Counts and offsets (``clamp``) past what JSON
        carries exactly mean "all" or "past the end" and are clamped; for a timestamp
        (``clamp=False``) such a number is no real time and is ``M_INVALID_PARAM``."""
        value = self.query(name)
        if value is None:
            if required:
                raise errors.missing_param(f"Missing required integer query parameter {name}")
            return default
        try:
            number = int(value)
        except ValueError as e:
            raise errors.invalid_param(f"Query parameter {name} must be an integer") from e
        if minimum is not None and number < minimum:
            raise errors.invalid_param(f"Query parameter {name} must be a positive integer.")
        if not clamp and abs(number) > SAFE_INT_MAX:
            raise errors.invalid_param(f"Query parameter {name} is out of range")
        # Clamped to what JSON clients and a BIGINT column carry: a "huge" limit or
        # offset means "all" / "past the end", not a database error.
        return max(SAFE_INT_MIN, min(number, SAFE_INT_MAX))

    def path(self, name: str) -> str:
        return self.path_params[name]


def require_str(body: Mapping[str, Any], key: str) -> str:
    """A required string field: missing → ``M_MISSING_PARAM``, wrong type → ``M_BAD_JSON``."""
    value = body.get(key)
    if value is None:
        raise errors.missing_param(f"Missing params: ['{key}']")
    if not isinstance(value, str):
        raise errors.bad_json(f"{key} must be a string")
    return value
