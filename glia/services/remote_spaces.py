"""Other servers' answers for the space hierarchy: a room this server does not have is
asked of the servers its ``m.space.child`` event names (``via``, at most three, in order)
with ``GET /_matrix/federation/v1/hierarchy/{roomId}``, as Synapse does. An answer (and
the summaries of the children it brings) is kept five minutes, so paging through a big
space does not ask again for every page. Entries that do not have the summary's shape
are left out; a server that cannot be reached or answers garbage is skipped."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import msgspec

from glia.clock import Clock
from glia.errors import MatrixError
from glia.ids import is_valid_room_id, is_valid_server_name
from glia.services.federation.client import FederationClient, FederationError
from glia.services.spaces import RemoteSpace, SpaceRoom

logger = logging.getLogger(__name__)

#: Servers asked for one room, as Synapse.
MAX_SERVERS = 3
CACHE_MS = 5 * 60 * 1000
MAX_CACHED = 1000


def _child_events(events: Any) -> list[dict[str, Any]]:
    """The ``m.space.child`` events that name servers: the rest cannot be walked."""
    if not isinstance(events, list):
        return []
    out = []
    for event in events:
        if not isinstance(event, dict) or event.get("type") != "m.space.child":
            continue
        content = event.get("content")
        via = content.get("via") if isinstance(content, dict) else None
        if isinstance(event.get("state_key"), str) and isinstance(via, list) and via \
                and all(isinstance(v, str) for v in via):
            out.append(event)
    return out


def _summary(entry: Any) -> SpaceRoom | None:
    if not isinstance(entry, dict):
        return None
    try:
        room = msgspec.convert({**entry, "children_state": _child_events(
            entry.get("children_state"))}, SpaceRoom)
    except msgspec.ValidationError:
        return None
    return room if is_valid_room_id(room.room_id) else None


class RemoteSpaces:
    def __init__(self, client: FederationClient, clock: Clock) -> None:
        self._client = client
        self._clock = clock
        #: (room ID, suggested only) → (time kept until, what we learnt).
        self._cache: dict[tuple[str, bool], tuple[int, RemoteSpace]] = {}

    async def summary(self, room_id: str, via: list[str], suggested_only: bool
                      ) -> RemoteSpace | None:
        """The room as the first of its ``via`` servers that answers describes it, or
        None when none does."""
        now = self._clock.now_ms()
        key = (room_id, suggested_only)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        for server in [v for v in via if is_valid_server_name(v)][:MAX_SERVERS]:
            answer = await self._ask(server, room_id, suggested_only)
            if answer is not None:
                return answer
        return None

    async def _ask(self, server: str, room_id: str, suggested_only: bool
                   ) -> RemoteSpace | None:
        try:
            answer = await self._client.request(
                server, "GET", f"/_matrix/federation/v1/hierarchy/{quote(room_id, safe='')}",
                query={"suggested_only": "true" if suggested_only else "false"})
        except (FederationError, MatrixError, ValueError) as e:
            logger.info("hierarchy of %s from %s: %s", room_id, server, e)
            return None
        body = answer.body if isinstance(answer.body, dict) else {}
        room = _summary(body.get("room"))
        if room is None or room.room_id != room_id:
            logger.info("hierarchy of %s from %s: no valid summary of the room", room_id,
                        server)
            return None
        inaccessible = body.get("inaccessible_children")
        result = RemoteSpace(room, frozenset(
            i for i in inaccessible if isinstance(i, str)) if isinstance(inaccessible, list)
            else frozenset())
        until = self._clock.now_ms() + CACHE_MS
        self._keep((room_id, suggested_only), until, result)
        children = body.get("children")
        for child in children if isinstance(children, list) else []:
            summary = _summary(child)
            if summary is not None and summary.room_id != room_id:
                # What a child's own request would tell of it (its children state
                # included), short of its inaccessible children.
                self._keep((summary.room_id, suggested_only), until,
                           RemoteSpace(summary, frozenset()))
        return result

    def _keep(self, key: tuple[str, bool], until: int, value: RemoteSpace) -> None:
        self._cache.pop(key, None)
        self._cache[key] = (until, value)
        now = self._clock.now_ms()
        while len(self._cache) > MAX_CACHED:
            oldest = next(iter(self._cache))
            self._cache.pop(oldest)
        for stale in [k for k, (t, _) in list(self._cache.items())[:10] if t <= now]:
            self._cache.pop(stale, None)
