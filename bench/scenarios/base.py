"""What a scenario is: a name, the metrics it reports, the endpoints it needs, a coroutine."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from bench.scale import Scale
    from bench.target import Target


class NotAvailable(Exception):
    """The server cannot run this scenario (yet); the message says why."""


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    unit: str
    #: Which direction is good; the report orients every ratio so > 1 means Glia is better.
    better: Literal["higher", "lower"]
    #: A published figure to compare with when Synapse has nothing: (who, value).
    reference: tuple[str, float] | None = None


@dataclass
class Outcome:
    metrics: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    metrics: list[Metric]
    #: (method, path) pairs probed without a token before running; 404/405 → n/a.
    requires: list[tuple[str, str]]
    run: Callable[[Target, Scale], Awaitable[Outcome]]
    #: Say why a server cannot run this at all (probes still run first).
    note: dict[str, str] = field(default_factory=dict)
