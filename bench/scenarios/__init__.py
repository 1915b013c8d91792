"""The nine scenarios of issue 7, in the order they run (later ones reuse earlier fixtures)."""

from bench.scenarios import (
    admin_lists,
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
    memory.SCENARIO,
]

__all__ = ["ALL", "Metric", "NotAvailable", "Outcome", "Scenario"]
