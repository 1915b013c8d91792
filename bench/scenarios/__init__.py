"""The scenarios, in the order they run (later ones reuse earlier fixtures): the nine of
issue 7, then the big room."""

from bench.scenarios import (
    admin_lists,
    big_room,
    initial_sync,
    memory,
    messages,
    purge,
    register,
    reindex,
    send,
    sync_wake,
)
from bench.scenarios.base import Metric, NotAvailable, Outcome, Scenario

ALL: list[Scenario] = [
    register.SCENARIO,
    send.SCENARIO,
    sync_wake.SCENARIO,
    initial_sync.SCENARIO,
    messages.SCENARIO,
    admin_lists.SCENARIO,
    purge.SCENARIO,
    reindex.SCENARIO,
    big_room.SCENARIO,
    memory.SCENARIO,
]

__all__ = ["ALL", "Metric", "NotAvailable", "Outcome", "Scenario"]
