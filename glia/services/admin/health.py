"""Whether this process can serve: the health endpoints (Synapse's ``/health``,
Dendrite's ``/_dendrite/monitor/...``) ask here rather than answering blindly, so a load
balancer stops sending requests to a process whose database has gone away."""

from __future__ import annotations

import logging

from glia.storage import Storage

logger = logging.getLogger(__name__)


class HealthService:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def problems(self) -> list[str]:
        """What keeps this process from serving; empty when it is healthy."""
        try:
            await self._storage.health.ping()
        except Exception as e:
            logger.warning("health check: the database does not answer: %s",
                           type(e).__name__)
            return ["database unavailable"]
        return []
