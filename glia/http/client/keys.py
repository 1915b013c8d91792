"""End-to-end encryption keys: ``/keys/upload``, ``/keys/query``, ``/keys/claim``,
``/keys/changes`` (cross-signing's uploads are in ``cross_signing.py``)."""

from __future__ import annotations

from typing import Any

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.keys import KeysClaim, KeysQuery, KeysUpload

routes = RouteGroup()


@routes.post(*client_paths("/keys/upload"), auth=Auth.USER, body=KeysUpload)
async def upload_keys(req: Request[KeysUpload]) -> dict[str, Any]:
    return await req.services.keys.upload(req.requester, req.body)


@routes.post(*client_paths("/keys/query"), auth=Auth.USER, body=KeysQuery)
async def query_keys(req: Request[KeysQuery]) -> dict[str, Any]:
    return await req.services.keys.query(req.requester, req.body)


@routes.post(*client_paths("/keys/claim"), auth=Auth.USER, body=KeysClaim)
async def claim_keys(req: Request[KeysClaim]) -> dict[str, Any]:
    return await req.services.keys.claim(req.requester, req.body)


@routes.get(*client_paths("/keys/changes"), auth=Auth.USER)
async def key_changes(req: Request) -> dict[str, Any]:
    return await req.services.keys.changes(req.requester, req.query("from"), req.query("to"))
