"""Registration-token administration: Synapse's ``/v1/registration_tokens`` API (also
served on Dendrite's ``registrationTokens`` paths, whose JSON is the same) and Glia's list
of the accounts each token let in.

Checks run in Synapse's order with Synapse's messages and errcodes, because admin tools
show them verbatim. Where Synapse would answer 500 (a number too big for the database, no
unique random token left at a tiny length) Glia answers 400.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from glia import errors
from glia.clock import Clock, SystemClock
from glia.protocol.canonical_json import INT64_MAX
from glia.services.paging import next_offset
from glia.services.registration import release_stale_token_uses
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage
from glia.storage.registration_tokens import RegistrationToken

__all__ = ["NewToken", "RegistrationTokenAdminService", "TokenChange", "TokenInfo",
           "TokenList", "TokenUser", "TokenUsers"]

#: The characters of a token: the spec's opaque-identifier grammar.
TOKEN_CHARS = string.ascii_letters + string.digits + "._~-"
_TOKEN_CHAR_SET = frozenset(TOKEN_CHARS)
MAX_TOKEN_LENGTH = 64
DEFAULT_TOKEN_LENGTH = 16
#: Random tokens tried before giving up (only short lengths can run out).
_GENERATE_ATTEMPTS = 10
#: The largest value a BIGINT column holds.


class TokenInfo(msgspec.Struct):
    """The token object every registration-token endpoint answers with (``null`` for
    no limit)."""

    token: str
    uses_allowed: int | None
    pending: int
    completed: int
    expiry_time: int | None

    @classmethod
    def of(cls, token: RegistrationToken) -> TokenInfo:
        return cls(token.token, token.uses_allowed, token.pending, token.completed,
                   token.expiry_time)


class TokenList(msgspec.Struct):
    registration_tokens: list[TokenInfo]


class TokenUser(msgspec.Struct):
    """An account a token let in, and when."""

    user_id: str
    ts: int


class TokenUsers(msgspec.Struct):
    """A page of a token's accounts; ``next_token`` (a number) only while more remain."""

    users: list[TokenUser]
    total: int
    next_token: int | UnsetType = UNSET


def _not_found(token: str) -> errors.MatrixError:
    return errors.not_found(f"No such registration token: {token}")


def _uses_allowed(value: Any) -> int | None:
    # ``type(...) is int`` on purpose: JSON true/false must not pass as 1/0.
    if value is None or (type(value) is int and 0 <= value <= INT64_MAX):
        return value
    raise errors.invalid_param("uses_allowed must be a non-negative integer or null")


def _expiry_type(value: Any) -> int | None:
    if value is not None and (type(value) is not int or value > INT64_MAX):
        raise errors.invalid_param("expiry_time must be an integer or null")
    return value


def _not_past(expiry_time: int | None, now: int) -> int | None:
    if expiry_time is not None and expiry_time < now:
        raise errors.invalid_param("expiry_time must not be in the past")
    return expiry_time


def _requested_token(value: Any) -> str:
    if not isinstance(value, str):
        raise errors.invalid_param("token must be a string")
    if not 0 < len(value) <= MAX_TOKEN_LENGTH:
        raise errors.invalid_param(
            "token must not be empty and must not be longer than 64 characters")
    if not set(value) <= _TOKEN_CHAR_SET:
        # Synapse's wording, which names fewer characters than it (and Glia) accepts.
        raise errors.invalid_param(
            "token must consist only of characters matched by the regex [A-Za-z0-9-_]")
    return value


def _length(value: Any) -> int:
    if type(value) is not int:
        raise errors.invalid_param("length must be an integer")
    if not 0 < value <= MAX_TOKEN_LENGTH:
        raise errors.invalid_param("length must be greater than zero and not greater than 64")
    return value


class NewToken(msgspec.Struct):
    """``POST /v1/registration_tokens/new``: a chosen ``token`` or a random one of
    ``length``; fields checked in Synapse's order, with its messages."""

    token: Any = msgspec.UNSET
    length: Any = DEFAULT_TOKEN_LENGTH
    uses_allowed: Any = None
    expiry_time: Any = None

    def __post_init__(self) -> None:
        if self.token is not msgspec.UNSET:
            self.token = _requested_token(self.token)
        else:
            self.length = _length(self.length)
        self.uses_allowed = _uses_allowed(self.uses_allowed)
        self.expiry_time = _expiry_type(self.expiry_time)


class TokenChange(msgspec.Struct):
    """``PUT /v1/registration_tokens/{token}``: keys left out stay as they are;
    ``null`` removes the limit."""

    uses_allowed: Any = msgspec.UNSET
    expiry_time: Any = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.uses_allowed is not msgspec.UNSET:
            self.uses_allowed = _uses_allowed(self.uses_allowed)
        if self.expiry_time is not msgspec.UNSET:
            self.expiry_time = _expiry_type(self.expiry_time)


class RegistrationTokenAdminService:
    def __init__(self, storage: Storage, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._storage = storage

    async def list_tokens(self, valid: bool | None) -> TokenList:
        now = self._clock.now_ms()
        # Uses held by registrations that can no longer finish must not count as pending.
        await release_stale_token_uses(self._storage, now)
        tokens = await self._storage.registration_tokens.list_tokens(valid, now)
        return TokenList([TokenInfo.of(t) for t in tokens])

    async def get(self, token: str) -> TokenInfo:
        await release_stale_token_uses(self._storage, self._clock.now_ms())
        found = await self._storage.registration_tokens.get(token)
        if found is None:
            raise _not_found(token)
        return TokenInfo.of(found)

    async def create(self, uow: UnitOfWork, body: NewToken) -> TokenInfo:
        now = self._clock.now_ms()
        expiry_time = _not_past(body.expiry_time, now)
        uses_allowed = body.uses_allowed
        async with uow.transaction() as tx:
            store = tx.registration_tokens
            if body.token is not msgspec.UNSET:
                token = str(body.token)
                uow.set_target(token)  # logged against the token, refused or not
                if not await store.create(token, uses_allowed, expiry_time, now):
                    raise errors.invalid_param(f"Token already exists: {token}")
            else:
                for _ in range(_GENERATE_ATTEMPTS):
                    token = "".join(secrets.choice(TOKEN_CHARS) for _ in range(body.length))
                    if await store.create(token, uses_allowed, expiry_time, now):
                        break
                else:
                    raise errors.invalid_param(
                        f"Unable to generate a unique registration token of length "
                        f"{body.length}")
            # A generated token appears nowhere in the request: log what was made.
            uow.set_target(token)
        return TokenInfo(token, uses_allowed, 0, 0, expiry_time)

    async def update(self, uow: UnitOfWork, token: str, body: TokenChange) -> TokenInfo:
        """Change ``uses_allowed`` / ``expiry_time``; keys left out stay as they are, and
        ``null`` removes the limit."""
        changes: dict[str, int | None] = {}
        if body.uses_allowed is not msgspec.UNSET:
            changes["uses_allowed"] = body.uses_allowed
        if body.expiry_time is not msgspec.UNSET:
            changes["expiry_time"] = _not_past(body.expiry_time, self._clock.now_ms())
        if not changes:
            return await self.get(token)
        async with uow.transaction() as tx:
            updated = await tx.registration_tokens.update(token, changes)
            if updated is None:
                raise _not_found(token)
        return TokenInfo.of(updated)

    async def delete(self, uow: UnitOfWork, token: str) -> None:
        """Delete a token; registrations midway through its stage can no longer finish."""
        async with uow.transaction() as tx:
            if not await tx.registration_tokens.delete(token):
                raise _not_found(token)

    async def users(self, token: str, *, offset: int, limit: int, newest_first: bool
                    ) -> TokenUsers:
        """Who registered with a token, also after the token was deleted (404 only when
        the token neither exists nor was ever used)."""
        users, total = await self._storage.registration_tokens.users(
            token, offset=offset, limit=limit, newest_first=newest_first)
        if total == 0 and await self._storage.registration_tokens.get(token) is None:
            raise _not_found(token)
        following = next_offset(offset, len(users), total)
        return TokenUsers([TokenUser(u.user_id, u.ts) for u in users], total,
                          UNSET if following is None else following)
