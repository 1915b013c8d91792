"""OpenID tokens: a user asks for one (client API) and hands it to a third party, which
asks our federation API whose it is. Tokens live an hour, as in Synapse."""

from __future__ import annotations

import msgspec

from glia import errors
from glia.clock import Clock
from glia.config import Config
from glia.ids import random_string
from glia.services.auth import hash_token
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage

TOKEN_LIFETIME_MS = 3600 * 1000


class OpenIdToken(msgspec.Struct, frozen=True):
    access_token: str
    token_type: str
    matrix_server_name: str
    expires_in: int


class OpenIdUserInfo(msgspec.Struct, frozen=True):
    sub: str


class OpenIdService:
    def __init__(self, config: Config, storage: Storage, clock: Clock) -> None:
        self._config = config
        self._storage = storage
        self._clock = clock

    async def request_token(self, uow: UnitOfWork, user_id: str) -> OpenIdToken:
        """A new token for the caller, who may only ask for their own user ID."""
        if user_id != uow.requester.user_id:
            raise errors.forbidden("Cannot request tokens for other users.")
        token = random_string(32)
        now = self._clock.now_ms()
        async with uow.transaction() as tx:
            await tx.openid.add(hash_token(token), user_id, now + TOKEN_LIFETIME_MS, now)
        return OpenIdToken(token, "Bearer", self._config.server_name,
                           TOKEN_LIFETIME_MS // 1000)

    async def userinfo(self, token: str | None) -> OpenIdUserInfo:
        """Whose token it is; ``401 M_UNKNOWN_TOKEN`` for an unknown or expired one."""
        if not token:
            raise errors.MatrixError(401, "M_UNKNOWN_TOKEN", "Missing access_token")
        owner = await self._storage.openid.owner(hash_token(token), self._clock.now_ms())
        if owner is None:
            raise errors.MatrixError(401, "M_UNKNOWN_TOKEN", "Access Token unknown or expired")
        return OpenIdUserInfo(owner)
