"""Synapse's ``_allow_cross_signing_replacement_without_uia``: an authentication service
that does its own user verification (Synapse built it for MAS) opens a short window in
which the user may replace their master cross-signing key without the UIA that
``/keys/device_signing/upload`` otherwise demands (``services/cross_signing.py`` honours
it)."""

from __future__ import annotations

from glia import errors
from glia.clock import Clock
from glia.services.unit_of_work import UnitOfWork
from glia.storage import Storage

#: How long the window stays open: Synapse's ten minutes.
REPLACEMENT_WINDOW_MS = 10 * 60 * 1000


class CrossSigningAdminService:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def allow_replacement_without_uia(self, uow: UnitOfWork, user_id: str) -> int:
        """Open the window; returns its end (ms). 404 for a user who does not exist or
        has no master key, as Synapse (there is nothing to replace)."""
        if await self._storage.users.get(user_id) is None:
            raise errors.not_found("User not found")
        keys = await self._storage.keys.cross_signing_keys([user_id])
        if not any(k.key_type == "master" for k in keys):
            raise errors.not_found("No master key available")
        before_ms = self._clock.now_ms() + REPLACEMENT_WINDOW_MS
        async with uow.transaction() as tx:
            await tx.cross_signing_replacement.open_window(user_id, before_ms)
        return before_ms
