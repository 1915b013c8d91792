"""What Glia keeps only for a while, and forgets on schedule: the address history
(whois) after ``user_ips_max_age`` and the original content of redacted events after
``redaction_retention_period`` — both Synapse's settings, with its defaults."""

from __future__ import annotations

import logging

from glia.clock import Clock
from glia.config import Config
from glia.storage import Storage

logger = logging.getLogger(__name__)


class RetentionService:
    def __init__(self, config: Config, storage: Storage, clock: Clock) -> None:
        self._config = config
        self._storage = storage
        self._clock = clock

    def _cutoff(self, max_age: float) -> int | None:
        """The time before which data of this age is forgotten; None keeps it (0)."""
        return None if max_age <= 0 else self._clock.now_ms() - int(max_age * 1000)

    async def prune(self) -> None:
        """One pass over both; each logs what it forgot."""
        addresses = self._cutoff(self._config.user_ips_max_age)
        if addresses is not None:
            pruned = await self._storage.devices.prune_addresses(addresses)
            if pruned:
                logger.info("forgot %d address history rows", pruned)
        originals = self._cutoff(self._config.redaction_retention_period)
        if originals is not None:
            pruned = await self._storage.events.prune_originals(originals)
            if pruned:
                logger.info("forgot the original content of %d redacted events", pruned)

    async def run(self, interval: float = 3600.0) -> None:
        """Background loop: prune at start and hourly (once per process; several
        processes pruning is harmless)."""
        while True:
            try:
                await self.prune()
            except Exception:
                logger.exception("retention pruning failed")
            await self._clock.sleep(interval)
