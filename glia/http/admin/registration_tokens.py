"""Registration tokens: Synapse's ``/v1/registration_tokens`` paths, Dendrite's
``/registrationTokens`` paths (same JSON, same service), and Glia's
``/v1/registration_tokens/{token}/users``."""

from __future__ import annotations

from typing import Any

from glia import errors
from glia.http.admin.pagination import page_params
from glia.http.parsing import Request
from glia.http.routes import Auth, RouteGroup, admin_paths, dendrite_paths, glia_paths
from glia.services.admin.registration_tokens import (
    NewToken,
    TokenChange,
    TokenInfo,
    TokenList,
    TokenUsers,
)

routes = RouteGroup()

#: What Dendrite's ``valid`` parameter accepts (Go's ``strconv.ParseBool``).
_DENDRITE_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_DENDRITE_FALSE = ("0", "f", "F", "false", "FALSE", "False")


@routes.get(*admin_paths("/v1/registration_tokens"), auth=Auth.ADMIN)
async def list_tokens(req: Request) -> TokenList:
    return await req.services.registration_tokens.list_tokens(req.query_bool("valid"))


@routes.get(*dendrite_paths("/registrationTokens"), auth=Auth.ADMIN)
async def dendrite_list_tokens(req: Request) -> TokenList:
    """Dendrite's list: its wider spelling of booleans is accepted, so scripts written
    for it keep working; the answer is Synapse's (``[]``, never ``null``)."""
    value = req.query("valid")
    if value is not None and value not in _DENDRITE_TRUE + _DENDRITE_FALSE:
        raise errors.invalid_param(
            "Boolean query parameter 'valid' must be one of ['true', 'false']")
    valid = None if value is None else value in _DENDRITE_TRUE
    return await req.services.registration_tokens.list_tokens(valid)


@routes.post(*admin_paths("/v1/registration_tokens/new"),
             *dendrite_paths("/registrationTokens/new"), auth=Auth.ADMIN,
             audit="registration_tokens.create", body=NewToken)
async def create_token(req: Request[NewToken]) -> TokenInfo:
    return await req.services.registration_tokens.create(req.uow, req.body)


@routes.get(*admin_paths("/v1/registration_tokens/{token}"),
            *dendrite_paths("/registrationTokens/{token}"), auth=Auth.ADMIN)
async def get_token(req: Request) -> TokenInfo:
    return await req.services.registration_tokens.get(req.path("token"))


@routes.put(*admin_paths("/v1/registration_tokens/{token}"),
            *dendrite_paths("/registrationTokens/{token}"), auth=Auth.ADMIN,
            audit="registration_tokens.update", body=TokenChange)
async def update_token(req: Request[TokenChange]) -> TokenInfo:
    return await req.services.registration_tokens.update(req.uow, req.path("token"),
                                                         req.body)


@routes.delete(*admin_paths("/v1/registration_tokens/{token}"),
               *dendrite_paths("/registrationTokens/{token}"), auth=Auth.ADMIN,
               audit="registration_tokens.delete")
async def delete_token(req: Request) -> dict[str, Any]:
    await req.services.registration_tokens.delete(req.uow, req.path("token"))
    return {}


@routes.get(*glia_paths("/v1/registration_tokens/{token}/users"), auth=Auth.ADMIN)
async def token_users(req: Request) -> TokenUsers:
    """The accounts a token let in, oldest first (``dir=b``: newest first)."""
    page = page_params(req)
    return await req.services.registration_tokens.users(
        req.path("token"), offset=page.offset, limit=page.limit,
        newest_first=page.backwards)
