"""Cross-signing: ``/keys/device_signing/upload`` and ``/keys/signatures/upload``."""

from __future__ import annotations

from typing import Any

from glia.http.client.responses import EMPTY, Empty
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, client_paths
from glia.http.uia import stage_auth
from glia.services.cross_signing import SignaturesUploaded, SigningKeys
from glia.services.key_formats import parse_signed_objects

routes = RouteGroup()

#: ``/keys/signatures/upload``'s body: signed objects by user ID, then by key ID. Its
#: shape is checked by ``parse_signed_objects`` (Synapse's errcode, not the decoder's).
SignaturesBody = dict[str, Any]


class SigningKeysBody(SigningKeys):
    """The keys, and the UIA ``auth`` dict (needed once a master key exists)."""

    auth: dict[str, Any] | None = None


# Cross-signing arrived in v1.1, after r0: Synapse serves this one on v3 and on the
# unstable prefix that clients written before v1.1 still call.
@routes.post(*client_paths("/keys/device_signing/upload", ("v3", "unstable")), auth=Auth.USER,
             body=SigningKeysBody)
async def upload_signing_keys(req: Request[SigningKeysBody]) -> Empty:
    await req.services.cross_signing.upload_signing_keys(req.uow, req.body,
                                                         stage_auth(req.body.auth))
    return EMPTY


@routes.post(*client_paths("/keys/signatures/upload"), auth=Auth.USER, body=SignaturesBody)
async def upload_signatures(req: Request[SignaturesBody]) -> SignaturesUploaded:
    return await req.services.cross_signing.upload_signatures(
        req.uow, parse_signed_objects(req.body))
