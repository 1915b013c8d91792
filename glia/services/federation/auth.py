"""Inbound request authentication: who sent a federation request, proven by its
``X-Matrix`` signature with a key the origin publishes. Every federation route that
needs it declares the ``server`` auth level, and the HTTP server calls this before the
handler runs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from glia.errors import MatrixError
from glia.protocol.federation_auth import AuthHeaderError, parse_x_matrix, verify_request
from glia.protocol.signing import SignatureError
from glia.services.federation.keys import KeyUnavailable, ServerKeysService
from glia.services.federation.policy import FederationPolicy

logger = logging.getLogger(__name__)


#: A sender may sign with several keys (one header each); more than this is no sender's
#: need, and each could cost a key fetch.
MAX_X_MATRIX_HEADERS = 4


def unauthorized(error: str) -> MatrixError:
    return MatrixError(401, "M_UNAUTHORIZED", error)


def x_matrix_headers(authorizations: Sequence[str]) -> list[str]:
    """The ``X-Matrix`` values among ``Authorization`` headers; ``401 M_UNAUTHORIZED``
    if there are none (checked before the body is even parsed)."""
    found = [h for h in authorizations if h.strip().lower().startswith("x-matrix")]
    if not found:
        raise unauthorized("Missing X-Matrix Authorization header")
    if len(found) > MAX_X_MATRIX_HEADERS:
        raise unauthorized("Too many X-Matrix Authorization headers")
    return found


class FederationAuthService:
    def __init__(self, server_name: str, keys: ServerKeysService,
                 policy: FederationPolicy,
                 seen: Callable[[str], Awaitable[None]] | None = None) -> None:
        """``seen(origin)`` hears of each verified request (the sender takes it as a
        sign that a destination it backs off from is up again)."""
        self._seen = seen
        self._server_name = server_name
        self._keys = keys
        self._policy = policy

    async def authenticate(self, authorizations: Sequence[str], method: str, uri: str,
                           content: Any) -> str:
        """The origin server of a signed request; ``401 M_UNAUTHORIZED`` unless one of
        its ``X-Matrix`` headers verifies, ``403 M_FORBIDDEN`` for an origin outside the
        domain allow-list. ``content`` is the parsed JSON body (None without one)."""
        candidates = x_matrix_headers(authorizations)
        problem = "Invalid X-Matrix Authorization header"
        for header in candidates:
            try:
                auth = parse_x_matrix(header)
            except AuthHeaderError as e:
                problem = f"Invalid X-Matrix Authorization header: {e}"
                continue
            if auth.destination is not None and auth.destination != self._server_name:
                problem = "The request is not for this server"
                continue
            self._policy.check_server(auth.origin)
            if auth.origin == self._server_name:
                problem = "Requests from our own server name are not accepted"
                continue
            try:
                verify_key = await self._keys.verify_key(auth.origin, auth.key)
                verify_request(auth, method, uri, self._server_name, content, verify_key)
            except KeyUnavailable as e:
                problem = f"Cannot verify the request: {e}"
                continue
            except SignatureError as e:
                problem = f"Invalid signature: {e}"
                continue
            if self._seen is not None:
                try:
                    await self._seen(auth.origin)
                except Exception:
                    logger.exception("noting that %s is up failed", auth.origin)
            return auth.origin
        logger.info("refused a federation request %s %s: %s", method, uri, problem)
        raise unauthorized(problem)
