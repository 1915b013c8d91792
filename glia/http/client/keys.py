"""End-to-end encryption keys: ``/keys/upload``, ``/keys/query``, ``/keys/claim``,
``/keys/changes`` (cross-signing's uploads are in ``cross_signing.py``)."""

from __future__ import annotations

from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.services.keys import (
    KeyCounts,
    KeysClaim,
    KeysClaimResult,
    KeysQuery,
    KeysQueryResult,
    KeysUpload,
)
from glia.services.sync_response import DeviceLists

routes = RouteGroup()


@routes.post(*client_paths("/keys/upload"), auth=Auth.USER, body=KeysUpload)
async def upload_keys(req: Request[KeysUpload]) -> KeyCounts:
    return await req.services.keys.upload(req.uow, req.body)


@routes.post(*client_paths("/keys/query"), auth=Auth.USER, body=KeysQuery)
async def query_keys(req: Request[KeysQuery]) -> KeysQueryResult:
    return await req.services.keys.query(req.requester, req.body)


@routes.post(*client_paths("/keys/claim"), auth=Auth.USER, body=KeysClaim)
async def claim_keys(req: Request[KeysClaim]) -> KeysClaimResult:
    return await req.services.keys.claim(req.uow, req.body)


@routes.get(*client_paths("/keys/changes"), auth=Auth.USER)
async def key_changes(req: Request) -> DeviceLists:
    return await req.services.keys.changes(req.requester, req.query("from"), req.query("to"))
