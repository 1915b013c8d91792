"""End-to-end encryption over federation: the persistent EDU queue per destination
(to-device messages, device-list and signing-key updates), inbound to-device message IDs
already delivered, what we last announced about our users' devices, and the cache of
other servers' users' device lists."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Executor


@dataclass(frozen=True)
class QueuedEdu:
    position: int
    edu_type: str
    content: dict[str, Any]


@dataclass(frozen=True)
class RemoteDeviceList:
    user_id: str
    stream_id: int
    answer: dict[str, Any]
    fetched_ts: int


class FederationE2eeStore:
    def __init__(self, db: Executor) -> None:
        self._db = db

    # -- the EDU queue ------------------------------------------------------------------

    async def add_edu(self, destinations: Sequence[str], position: int, edu_type: str,
                      content: dict[str, Any], now: int) -> None:
        text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        for destination in destinations:
            await self._db.execute(
                "INSERT INTO federation_edu_queue (destination, position, edu_type, content,"
                " queued_ts) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                destination, position, edu_type, text, now)

    async def next_edus(self, destination: str, limit: int) -> list[QueuedEdu]:
        rows = await self._db.fetchall(
            "SELECT position, edu_type, content FROM federation_edu_queue"
            " WHERE destination = ? ORDER BY position LIMIT ?", destination, limit)
        return [QueuedEdu(int(r["position"]), r["edu_type"], json.loads(r["content"]))
                for r in rows]

    async def remove_edus(self, destination: str, upto: int) -> None:
        await self._db.execute(
            "DELETE FROM federation_edu_queue WHERE destination = ? AND position <= ?",
            destination, upto)

    async def edu_destinations(self) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT DISTINCT destination FROM federation_edu_queue")
        return [r["destination"] for r in rows]

    async def edu_count(self, destination: str) -> int:
        return int(await self._db.fetchval(
            "SELECT COUNT(*) FROM federation_edu_queue WHERE destination = ?", destination))

    # -- inbound to-device ----------------------------------------------------------------

    async def claim_message_id(self, sender: str, message_id: str, now: int,
                               keep_ms: int) -> bool:
        """Record an inbound to-device message ID; False if it was delivered before. IDs
        older than ``keep_ms`` are dropped here, so the table stays small."""
        await self._db.execute(
            "DELETE FROM federation_inbound_to_device WHERE received_ts < ?", now - keep_ms)
        inserted = await self._db.fetchval(
            "INSERT INTO federation_inbound_to_device (sender, message_id, received_ts)"
            " VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING message_id",
            sender, message_id, now)
        return inserted is not None

    # -- what we announced about our users -----------------------------------------------

    async def sent_digests(self, user_id: str) -> dict[tuple[str, str], str]:
        """(kind, item) → digest last announced for ``user_id``."""
        rows = await self._db.fetchall(
            "SELECT kind, item, digest FROM federation_device_list_sent WHERE user_id = ?",
            user_id)
        return {(r["kind"], r["item"]): r["digest"] for r in rows}

    async def set_sent_digest(self, user_id: str, kind: str, item: str,
                              digest: str | None) -> None:
        if digest is None:
            await self._db.execute(
                "DELETE FROM federation_device_list_sent WHERE user_id = ? AND kind = ?"
                " AND item = ?", user_id, kind, item)
            return
        await self._db.execute(
            "INSERT INTO federation_device_list_sent (user_id, kind, item, digest)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id, kind, item)"
            " DO UPDATE SET digest = excluded.digest", user_id, kind, item, digest)

    async def last_stream_id(self, user_id: str) -> int | None:
        value = await self._db.fetchval(
            "SELECT stream_id FROM federation_device_list_ids WHERE user_id = ?", user_id)
        return None if value is None else int(value)

    async def set_last_stream_id(self, user_id: str, stream_id: int) -> None:
        await self._db.execute(
            "INSERT INTO federation_device_list_ids (user_id, stream_id) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET stream_id = excluded.stream_id",
            user_id, stream_id)

    # -- remote users' device lists --------------------------------------------------------

    async def remote_device_list(self, user_id: str) -> RemoteDeviceList | None:
        row = await self._db.fetchone(
            "SELECT user_id, stream_id, answer, fetched_ts FROM remote_device_lists"
            " WHERE user_id = ?", user_id)
        if row is None:
            return None
        return RemoteDeviceList(row["user_id"], int(row["stream_id"]),
                                json.loads(row["answer"]), int(row["fetched_ts"]))

    async def set_remote_device_list(self, user_id: str, stream_id: int,
                                     answer: dict[str, Any], now: int) -> None:
        await self._db.execute(
            "INSERT INTO remote_device_lists (user_id, stream_id, answer, fetched_ts)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET"
            " stream_id = excluded.stream_id, answer = excluded.answer,"
            " fetched_ts = excluded.fetched_ts",
            user_id, stream_id, json.dumps(answer, ensure_ascii=False), now)

    async def drop_remote_device_list(self, user_id: str) -> bool:
        return await self._db.execute(
            "DELETE FROM remote_device_lists WHERE user_id = ?", user_id) > 0
