"""Per-destination back-off on the engine under test: failures push the next try out
(10 minutes, then five times longer each time, at most a week), a success forgets them,
and the state is what the destinations admin API lists."""

from __future__ import annotations

import pytest

from glia.services.federation.backoff import (
    MAX_RETRY_INTERVAL_MS,
    MIN_RETRY_INTERVAL_MS,
    DestinationBackoff,
    NotRetrying,
)
from glia.storage import Storage
from glia.storage.federation_destinations import Destination
from tests.storage.helpers import uid
from tests.unit.test_federation_discovery import FakeClock


async def test_failures_back_off_and_a_success_recovers(shared: Storage) -> None:
    clock = FakeClock()
    backoff = DestinationBackoff(shared, clock)
    name = f"{uid('hs')}.example"
    assert await backoff.check(name) is None
    start = clock.now_ms()
    await backoff.failed(name, None)
    state = await shared.federation_destinations.get(name)
    assert state == Destination(name, start, MIN_RETRY_INTERVAL_MS, start, None)
    with pytest.raises(NotRetrying) as e:
        await backoff.check(name)
    assert e.value.until == start + MIN_RETRY_INTERVAL_MS

    clock.t += MIN_RETRY_INTERVAL_MS / 1000
    before = await backoff.check(name)
    await backoff.failed(name, before)
    state = await shared.federation_destinations.get(name)
    assert state is not None and state.retry_interval == 5 * MIN_RETRY_INTERVAL_MS
    assert state.failure_ts == start and state.retry_last_ts == clock.now_ms()

    await backoff.succeeded(name, state)
    assert await shared.federation_destinations.get(name) == Destination(name, 0, 0, None,
                                                                          None)
    assert await backoff.check(name) is not None


async def test_the_interval_stops_at_a_week(shared: Storage) -> None:
    clock = FakeClock()
    backoff = DestinationBackoff(shared, clock)
    name = f"{uid('hs')}.example"
    state = None
    for _ in range(12):
        await backoff.failed(name, state)
        state = await shared.federation_destinations.get(name)
        assert state is not None
        clock.t += (state.retry_interval or 0) / 1000
    assert state is not None and state.retry_interval == MAX_RETRY_INTERVAL_MS


async def test_a_destination_that_answers_is_listed(shared: Storage) -> None:
    backoff = DestinationBackoff(shared, FakeClock())
    name = f"{uid('hs')}.example"
    await backoff.succeeded(name, None)
    assert await shared.federation_destinations.get(name) == Destination(name, 0, 0, None,
                                                                          None)
