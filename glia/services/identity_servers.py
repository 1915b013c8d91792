"""Calls to identity servers (Identity Service API v2) that clients name: binding and
unbinding 3PIDs, looking up a 3PID's Matrix ID, and storing third-party invites.

The identity server is given by the client (``id_server``: a host name with an optional
port), so its calls go through :mod:`glia.services.pinned_http`, public addresses only
unless ``identity_server.allow_private``. Calls authorised by the user carry their
``id_access_token``; the unbind call, which the spec authorises by the homeserver, is
signed with the server's key (``Authorization: X-Matrix …``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from typing import Any

import httpx
from signedjson.types import SigningKey

from glia import errors
from glia.config import Config
from glia.errors import MatrixError
from glia.ids import is_valid_server_name
from glia.protocol.signing import key_id, sign_json
from glia.services.pinned_http import BlockedAddress, PinnedBackend, PinnedTransport

__all__ = ["IdentityServers"]

logger = logging.getLogger(__name__)

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_CONNECTIONS = 10


def _unavailable(id_server: str) -> MatrixError:
    return MatrixError(502, "M_UNKNOWN", f"The identity server {id_server} could not be"
                       " reached or gave no usable answer")


class IdentityServers:
    def __init__(self, config: Config, signing_key: SigningKey) -> None:
        self._server_name = config.server_name
        self._options = config.identity_server
        self._key = signing_key
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            policy = None if self._options.allow_private else \
                (lambda address: address.is_global)
            self._client = httpx.AsyncClient(
                transport=PinnedTransport(PinnedBackend(policy), MAX_CONNECTIONS),
                follow_redirects=False, timeout=TIMEOUT)
        return self._client

    def base_url(self, id_server: str) -> str:
        """``https://id_server`` (http for test suites), refusing what is no host."""
        if not is_valid_server_name(id_server):
            raise errors.invalid_param("id_server must be a host name with an optional port")
        scheme = "http" if self._options.plain_http else "https"
        return f"{scheme}://{id_server}"

    async def _call(self, method: str, id_server: str, path: str, *,
                    json: dict[str, Any] | None = None, token: str | None = None,
                    headers: dict[str, str] | None = None) -> httpx.Response:
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        try:
            return await self._http().request(method, self.base_url(id_server) + path,
                                              json=json, headers=sent)
        except (httpx.HTTPError, BlockedAddress) as e:
            logger.info("identity server %s: %s %s failed: %r", id_server, method, path, e)
            raise _unavailable(id_server) from e

    @staticmethod
    def _json(response: httpx.Response, id_server: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _unavailable(id_server)
        return body

    async def bind(self, id_server: str, token: str, sid: str, client_secret: str,
                   mxid: str) -> tuple[str, str]:
        """Ask the identity server to bind the 3PID it validated (``sid``) to ``mxid``;
        returns the (medium, address) it bound."""
        r = await self._call("POST", id_server, "/_matrix/identity/v2/3pid/bind", token=token,
                             json={"sid": sid, "client_secret": client_secret, "mxid": mxid})
        body = self._json(r, id_server)
        if r.status_code != 200:
            raise MatrixError(400, str(body.get("errcode") or "M_UNKNOWN"),
                              str(body.get("error") or "The identity server refused to bind"))
        medium, address = body.get("medium"), body.get("address")
        if not isinstance(medium, str) or not isinstance(address, str):
            raise _unavailable(id_server)
        return medium, address

    async def unbind(self, id_server: str, mxid: str, medium: str, address: str) -> bool:
        """Ask the identity server to forget the binding; False when it does not support
        unbinding (it answered 400, 404 or 501, as Synapse reads them)."""
        path = "/_matrix/identity/v2/3pid/unbind"
        content = {"mxid": mxid, "threepid": {"medium": medium, "address": address}}
        signed = sign_json({"method": "POST", "uri": path, "origin": self._server_name,
                            "destination": id_server, "content": content},
                           self._server_name, self._key)
        signature = signed["signatures"][self._server_name][key_id(self._key)]
        authorization = (f'X-Matrix origin="{self._server_name}",destination="{id_server}",'
                         f'key="{key_id(self._key)}",sig="{signature}"')
        r = await self._call("POST", id_server, path, json=content,
                             headers={"Authorization": authorization})
        if r.status_code in (400, 404, 501):
            return False
        if r.status_code != 200:
            raise _unavailable(id_server)
        return True

    async def lookup(self, id_server: str, token: str, medium: str, address: str
                     ) -> str | None:
        """The Matrix ID bound to the 3PID, by the v2 hashed lookup (sha256 when the
        server offers it, else none)."""
        r = await self._call("GET", id_server, "/_matrix/identity/v2/hash_details",
                             token=token)
        details = self._json(r, id_server)
        if r.status_code != 200:
            raise _unavailable(id_server)
        pepper, algorithms = details.get("lookup_pepper"), details.get("algorithms")
        if not isinstance(pepper, str) or not isinstance(algorithms, list):
            raise _unavailable(id_server)
        if "sha256" in algorithms:
            digest = hashlib.sha256(f"{address} {medium} {pepper}".encode()).digest()
            query = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            algorithm = "sha256"
        elif "none" in algorithms:
            query, algorithm = f"{address} {medium}", "none"
        else:
            raise _unavailable(id_server)
        r = await self._call("POST", id_server, "/_matrix/identity/v2/lookup", token=token,
                             json={"addresses": [query], "algorithm": algorithm,
                                   "pepper": pepper})
        found = self._json(r, id_server)
        if r.status_code != 200:
            raise _unavailable(id_server)
        mapping = found.get("mappings")
        mxid = mapping.get(query) if isinstance(mapping, dict) else None
        return mxid if isinstance(mxid, str) else None

    async def store_invite(self, id_server: str, token: str, invite: dict[str, Any]
                           ) -> tuple[str, list[dict[str, str]], str]:
        """Store a third-party invite; returns its token, the public keys (each with
        ``public_key`` and ``key_validity_url``) and the display name to show."""
        r = await self._call("POST", id_server, "/_matrix/identity/v2/store-invite",
                             token=token, json=invite)
        body = self._json(r, id_server)
        if r.status_code != 200:
            raise MatrixError(400 if r.status_code < 500 else 502,
                              str(body.get("errcode") or "M_UNKNOWN"),
                              str(body.get("error") or "The identity server refused"))
        invite_token, keys, display = (body.get("token"), body.get("public_keys"),
                                       body.get("display_name"))
        if not isinstance(invite_token, str) or not isinstance(display, str) or \
                not isinstance(keys, list) or not keys or \
                not all(isinstance(k, dict) and isinstance(k.get("public_key"), str)
                        for k in keys):
            raise _unavailable(id_server)
        public_keys = [{"public_key": k["public_key"],
                        "key_validity_url": str(k.get("key_validity_url", ""))} for k in keys]
        return invite_token, public_keys, display
