"""The scenarios, in the order they run (later ones reuse earlier fixtures): the nine of
issue 7, then the scale scenarios of issue 18 (big room, responsiveness, many clients,
two processes); memory last, since it reports the peak over everything before it."""

from bench.scenarios import (
    admin_lists,
    big_room,
    initial_sync,
    many_clients,
    memory,
    messages,
    purge,
    register,
    reindex,
    responsiveness,
    send,
    sync_wake,
    two_processes,
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
    responsiveness.SCENARIO,
    many_clients.SCENARIO,
    two_processes.SCENARIO,
    memory.SCENARIO,
]

__all__ = ["ALL", "Metric", "NotAvailable", "Outcome", "Scenario"]
