"""Per-destination back-off, persisted in ``federation_destinations`` (the table the
Synapse-compatible destinations admin API reads): a server that cannot be reached is
not asked again until its retry interval has passed, an interval that grows with each
failure; one success forgets the failures. ``reset_connection`` clears it by hand.

Only failures that say the server is down count: no connection, a 5xx answer, or an
answer that is not JSON. A 4xx answer means the server is up and refused us.

Lookups our users ask for (profiles, aliases, room directories) ignore the back-off, as
in Synapse: they are tried anyway and their failures are not counted, so one user's
request (say a directory token the remote server chokes on) cannot cut everyone off from
that server; their success still clears it.
"""

from __future__ import annotations

from glia.clock import Clock
from glia.storage import Storage
from glia.storage.federation_destinations import Destination

#: The first retry interval after a failure, and how it grows and where it stops.
MIN_RETRY_INTERVAL_MS = 10 * 60 * 1000
RETRY_MULTIPLIER = 5
MAX_RETRY_INTERVAL_MS = 7 * 24 * 3600 * 1000


class NotRetrying(Exception):
    """The destination is backing off; ``until`` is when it may be tried again."""

    def __init__(self, destination: str, until: int) -> None:
        super().__init__(f"{destination} is backing off after failures until {until} (ms);"
                         " the admin API's reset_connection retries it now")
        self.until = until


class DestinationBackoff:
    def __init__(self, storage: Storage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    async def state(self, destination: str) -> Destination | None:
        """The destination's state, backing off or not."""
        return await self._storage.federation_destinations.get(destination)

    async def check(self, destination: str) -> Destination | None:
        """The destination's state; raises :class:`NotRetrying` while it backs off."""
        state = await self.state(destination)
        if state is not None and state.retry_last_ts and state.retry_interval:
            until = state.retry_last_ts + state.retry_interval
            if self._clock.now_ms() < until:
                raise NotRetrying(destination, until)
        return state

    async def failed(self, destination: str, before: Destination | None) -> None:
        """Record a failure: the interval starts at 10 minutes and grows fivefold (at
        most a week); ``failure_ts`` keeps the first failure of the streak."""
        now = self._clock.now_ms()
        interval = before.retry_interval if before is not None else None
        interval = MIN_RETRY_INTERVAL_MS if not interval else min(
            interval * RETRY_MULTIPLIER, MAX_RETRY_INTERVAL_MS)
        first_failure = before.failure_ts if before is not None and before.failure_ts else now
        await self._storage.federation_destinations.upsert(Destination(
            destination, now, interval, first_failure,
            before.last_successful_stream_ordering if before is not None else None))

    async def succeeded(self, destination: str, before: Destination | None) -> None:
        """Record a success: a new destination is listed, a failing one recovers. Nothing
        is written for a destination already known to be healthy."""
        if before is not None and not before.retry_last_ts and not before.retry_interval \
                and before.failure_ts is None:
            return
        await self._storage.federation_destinations.upsert(Destination(
            destination, 0, 0, None,
            before.last_successful_stream_ordering if before is not None else None))
