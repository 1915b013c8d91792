"""Outbound presence is never sent older than what was already queued for a server: the
join subscriber and the user's own update read presence at different moments and may
queue in the other order, and the entry sent last wins on the receiving side."""

from __future__ import annotations

from typing import Any

from glia.services.federation.presence import FederatedPresence
from glia.storage.presence import Presence


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, list[Any]]] = []

    def send_edu_to(self, destinations: list[str], edu_type: str,
                    content: dict[str, Any]) -> None:
        assert edu_type == "m.presence"
        self.sent += [(d, [e["status_msg"] for e in content["push"]]) for d in destinations]


def _entry(stream: int, status: str) -> tuple[Presence, dict[str, Any]]:
    p = Presence("@a:here", "online", status, 0, 0, stream)
    return p, {"user_id": p.user_id, "status_msg": status}


def test_a_stale_entry_queued_after_a_newer_one_is_dropped() -> None:
    recorder = Recorder()
    presence = FederatedPresence("here", True, None, recorder, None, None)  # type: ignore[arg-type]
    presence._send("there", [_entry(7, "new")])
    presence._send("there", [_entry(5, "old")])      # read before, queued after: dropped
    presence._send("elsewhere", [_entry(5, "old")])  # another server has nothing newer
    presence._send("there", [_entry(7, "ping")])     # the same state again (a ping) goes
    assert recorder.sent == [("there", ["new"]), ("elsewhere", ["old"]), ("there", ["ping"])]
