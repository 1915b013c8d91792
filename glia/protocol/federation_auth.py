"""Request authentication between servers: the ``Authorization: X-Matrix`` header.

The sender signs ``{method, uri, origin, destination[, content]}`` with its server key
and sends the signature in the header; the receiver rebuilds the same object from the
request it got and checks the signature with the origin's published key. Pure: keys are
passed in, fetching them is the services' job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glia.ids import is_valid_server_name
from glia.protocol.events import JsonDict
from glia.protocol.signing import (
    SignatureError,
    SigningKey,
    VerifyKey,
    key_id,
    sign_json,
    verify_json,
)

SCHEME = "X-Matrix"
#: RFC 9110 ``tchar``s (what an unquoted parameter value may hold), plus ``:`` which the
#: spec asks receivers to accept unquoted for older senders.
_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:")


class AuthHeaderError(ValueError):
    """An ``Authorization`` header that is not a well-formed ``X-Matrix`` one."""


@dataclass(frozen=True)
class XMatrix:
    """The parameters of one ``X-Matrix`` header (``destination`` may be absent: servers
    before v1.3 did not send it)."""

    origin: str
    destination: str | None
    key: str
    sig: str


def _parse_params(text: str) -> dict[str, str]:
    """``name=value`` pairs separated by commas (values optionally quoted, with
    backslash escapes inside quotes), names lower-cased; RFC 9110 section 11.4."""
    params: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        if i >= n:
            break
        eq = text.find("=", i)
        if eq < 0:
            raise AuthHeaderError("parameter without a value")
        name = text[i:eq].strip().lower()
        if not name or any(c not in _TOKEN_CHARS for c in name):
            raise AuthHeaderError("invalid parameter name")
        i = eq + 1
        if i < n and text[i] == '"':
            i += 1
            value: list[str] = []
            while True:
                if i >= n:
                    raise AuthHeaderError("unterminated quoted value")
                c = text[i]
                if c == "\\" and i + 1 < n:
                    value.append(text[i + 1])
                    i += 2
                elif c == '"':
                    i += 1
                    break
                else:
                    value.append(c)
                    i += 1
            params[name] = "".join(value)
        else:
            start = i
            while i < n and text[i] not in ", \t":
                if text[i] not in _TOKEN_CHARS:
                    raise AuthHeaderError("invalid character in an unquoted value")
                i += 1
            params[name] = text[start:i]
        while i < n and text[i] in " \t":
            i += 1
        if i < n and text[i] != ",":
            raise AuthHeaderError("expected a comma between parameters")
    return params


def parse_x_matrix(header: str) -> XMatrix:
    """Parse an ``Authorization`` header value; raises :class:`AuthHeaderError`."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != SCHEME.lower():
        raise AuthHeaderError("not an X-Matrix authorization")
    params = _parse_params(rest)
    missing = [p for p in ("origin", "key", "sig") if not params.get(p)]
    if missing:
        raise AuthHeaderError(f"missing {', '.join(missing)}")
    if not is_valid_server_name(params["origin"]):
        raise AuthHeaderError("origin is not a valid server name")
    if not params["key"].startswith("ed25519:"):
        raise AuthHeaderError("unsupported key algorithm")
    return XMatrix(params["origin"], params.get("destination"), params["key"], params["sig"])


def request_json(method: str, uri: str, origin: str, destination: str,
                 content: Any = None) -> JsonDict:
    """The object a request's signature covers (``content`` only when there is a body)."""
    signed: JsonDict = {"method": method, "uri": uri, "origin": origin,
                        "destination": destination}
    if content is not None:
        signed["content"] = content
    return signed


def authorization_header(method: str, uri: str, origin: str, destination: str,
                         key: SigningKey, content: Any = None) -> str:
    """The ``Authorization`` value for a request we send (the spec's sender advice: one
    space, lower-case names, quoted values, no spaces around commas)."""
    signed = sign_json(request_json(method, uri, origin, destination, content), origin, key)
    sig = signed["signatures"][origin][key_id(key)]
    return (f'{SCHEME} origin="{origin}",destination="{destination}",'
            f'key="{key_id(key)}",sig="{sig}"')


def verify_request(auth: XMatrix, method: str, uri: str, our_name: str, content: Any,
                   verify_key: VerifyKey) -> None:
    """Check a received request's signature; raises :class:`SignatureError`.

    ``destination``, when the header names one, must be us (a request signed for another
    server must not be replayable at us)."""
    if auth.destination is not None and auth.destination != our_name:
        raise SignatureError(f"the request is for {auth.destination}, not {our_name}")
    signed: Mapping[str, Any] = {
        **request_json(method, uri, auth.origin, our_name, content),
        "signatures": {auth.origin: {auth.key: auth.sig}},
    }
    verify_json(signed, auth.origin, verify_key)
