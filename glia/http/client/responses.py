"""Response models several client routes share.

A route's handler returns one of these (or its own Struct); the server's msgspec encoder
writes it as JSON, so the type at the route is the shape on the wire.
"""

from __future__ import annotations

import msgspec


class Empty(msgspec.Struct, frozen=True):
    """``{}``: the answer of a request that has nothing to report but success."""


#: The one ``{}`` answer (frozen, so sharing it is safe).
EMPTY = Empty()


class RoomIdResponse(msgspec.Struct, frozen=True):
    room_id: str


class EventIdResponse(msgspec.Struct, frozen=True):
    event_id: str


class HomeserverInfo(msgspec.Struct, frozen=True):
    base_url: str


class DiscoveryInfo(msgspec.Struct, frozen=True):
    """``/.well-known/matrix/client`` and ``/login``'s ``well_known``."""

    homeserver: HomeserverInfo = msgspec.field(name="m.homeserver")
