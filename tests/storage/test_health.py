"""The health check on the engine under test: healthy while the database answers, and
reporting the database once it does not (a closed pool stands in for a dead server)."""

from __future__ import annotations

from glia.config import Config
from glia.services.admin.health import HealthService
from glia.storage import open_storage
from tests.storage.conftest import config_for


async def test_health_follows_the_database(database_url: str) -> None:
    config: Config = config_for(database_url)
    storage = await open_storage(config)
    service = HealthService(storage)
    try:
        assert await service.problems() == []
        await storage.health.ping()
    finally:
        await storage.close()
    assert await service.problems() == ["database unavailable"]
