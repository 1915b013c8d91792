"""Stream positions in flight: a sync never promises past an uncommitted position."""

from __future__ import annotations

from glia.storage import InFlight


def test_safe_upto_stops_below_uncommitted_positions() -> None:
    inflight = InFlight()
    assert inflight.safe_upto(10) == 10
    placeholder = inflight.reserve()  # an allocation whose value is not known yet
    assert inflight.safe_upto(12) == placeholder - 1 == 10
    inflight.release(placeholder)
    inflight.hold(13)  # allocated, transaction still open
    inflight.hold(15)
    assert inflight.safe_upto(15) == 12
    inflight.release(13)
    assert inflight.safe_upto(15) == 14
    inflight.release(15)
    assert inflight.safe_upto(15) == 15
