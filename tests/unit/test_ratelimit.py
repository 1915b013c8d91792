"""Token-bucket rate limiting, on a fake clock."""

from __future__ import annotations

import pytest

from glia.clock import Clock
from glia.config_sections import RateLimitClass, RateLimitConfig
from glia.errors import MatrixError
from glia.http import ratelimit
from glia.http.ratelimit import RateLimiter


class FakeClock(Clock):
    """Monotonic time that moves only when a test sets ``now``."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def limiter(clock: Clock, per_second: float = 1.0, burst: int = 3,
            enabled: bool = True) -> RateLimiter:
    return RateLimiter(RateLimitConfig(enabled=enabled,
                                       login=RateLimitClass(per_second, burst)), clock)


def test_burst_then_limited(clock: FakeClock) -> None:
    rl = limiter(clock, per_second=0.5, burst=3)
    for _ in range(3):
        rl.check("login", "1.2.3.4")
    with pytest.raises(MatrixError) as caught:
        rl.check("login", "1.2.3.4")
    e = caught.value
    assert (e.status, e.errcode) == (429, "M_LIMIT_EXCEEDED")
    assert e.to_json()["retry_after_ms"] == 2000
    assert isinstance(e.to_json()["retry_after_ms"], int)


def test_refills_over_time(clock: FakeClock) -> None:
    rl = limiter(clock, per_second=2.0, burst=2)
    rl.check("login", "k")
    rl.check("login", "k")
    with pytest.raises(MatrixError):
        rl.check("login", "k")
    clock.now += 0.25  # half a token
    with pytest.raises(MatrixError) as caught:
        rl.check("login", "k")
    assert caught.value.extra["retry_after_ms"] == 250
    clock.now += 0.25
    rl.check("login", "k")
    with pytest.raises(MatrixError):
        rl.check("login", "k")


def test_refill_is_capped_at_burst(clock: FakeClock) -> None:
    rl = limiter(clock, per_second=1.0, burst=2)
    rl.check("login", "k")
    clock.now += 3600
    rl.check("login", "k")
    rl.check("login", "k")
    with pytest.raises(MatrixError):
        rl.check("login", "k")


def test_keys_and_classes_are_independent(clock: FakeClock) -> None:
    rl = limiter(clock, per_second=0.001, burst=1)
    rl.check("login", "a")
    rl.check("login", "b")
    with pytest.raises(MatrixError):
        rl.check("login", "a")
    # The default class has its own (large) bucket for the same key.
    rl.check("default", "a")


def test_retry_after_is_rounded_up(clock: FakeClock) -> None:
    rl = limiter(clock, per_second=3.0, burst=1)
    rl.check("login", "k")
    with pytest.raises(MatrixError) as caught:
        rl.check("login", "k")
    assert caught.value.extra["retry_after_ms"] == 334  # ceil(1000 / 3)


def test_disabled(clock: FakeClock) -> None:
    rl = limiter(clock, per_second=0.001, burst=1, enabled=False)
    for _ in range(100):
        rl.check("login", "k")


def test_bucket_count_is_bounded(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "_MAX_BUCKETS", 10)
    rl = limiter(clock, per_second=1.0, burst=1)
    for i in range(10):
        rl.check("login", f"k{i}")
    clock.now += 5  # every bucket has refilled
    rl.check("login", "new")
    assert len(rl._buckets) <= 10
    # A pruned key starts with a full bucket again.
    rl.check("login", "k0")
