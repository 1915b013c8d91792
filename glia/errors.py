"""Matrix errors as exceptions.

Every failure a client may see is raised as a :class:`MatrixError`; one handler in
``glia.http.server`` turns it into Matrix JSON. Anything else that escapes a handler is a
bug and is answered ``500 M_UNKNOWN``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


class MatrixError(Exception):
    """An error with an ``errcode``, an HTTP status, optional extra JSON fields and
    optional HTTP response headers."""

    def __init__(
        self, status: int, errcode: str, error: str, *,
        headers: Mapping[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(f"{status} {errcode}: {error}")
        self.status = status
        self.errcode = errcode
        self.error = error
        self.extra = extra
        self.headers = dict(headers or {})

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"errcode": self.errcode, "error": self.error}
        body.update(self.extra)
        return body


def unrecognized(status: int = 404) -> MatrixError:
    return MatrixError(status, "M_UNRECOGNIZED", "Unrecognized request")


def not_found(error: str = "Not found") -> MatrixError:
    return MatrixError(404, "M_NOT_FOUND", error)


def forbidden(error: str) -> MatrixError:
    return MatrixError(403, "M_FORBIDDEN", error)


def bad_json(error: str) -> MatrixError:
    return MatrixError(400, "M_BAD_JSON", error)


def not_json(error: str = "Content not JSON.") -> MatrixError:
    return MatrixError(400, "M_NOT_JSON", error)


def invalid_param(error: str) -> MatrixError:
    return MatrixError(400, "M_INVALID_PARAM", error)


def missing_param(error: str) -> MatrixError:
    return MatrixError(400, "M_MISSING_PARAM", error)


def unknown(error: str, status: int = 400) -> MatrixError:
    return MatrixError(status, "M_UNKNOWN", error)


def missing_token(error: str = "Missing access token") -> MatrixError:
    return MatrixError(401, "M_MISSING_TOKEN", error)


def unknown_token(error: str = "Invalid access token passed.") -> MatrixError:
    return MatrixError(401, "M_UNKNOWN_TOKEN", error, soft_logout=False)


def too_large(error: str = "Request body too large") -> MatrixError:
    return MatrixError(413, "M_TOO_LARGE", error)


def limit_exceeded(retry_after_ms: int) -> MatrixError:
    """``429``, with the wait in the body (Matrix) and in ``Retry-After`` (whole
    seconds, rounded up), which the spec asks for since v1.10."""
    return MatrixError(
        429, "M_LIMIT_EXCEEDED", "Too many requests", retry_after_ms=retry_after_ms,
        headers={"Retry-After": str(math.ceil(retry_after_ms / 1000))},
    )


class AuthRuleError(Exception):
    """An event failed the room's authorization rules (pure protocol layer).

    Services translate it into ``403 M_FORBIDDEN`` for clients.
    """
