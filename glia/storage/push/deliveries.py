"""The queue of pushes to HTTP gateways: one row per notification and pusher, claimed
with a lease so that several processes share the work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from glia.storage.push.common import StoreBase, chunks, marks, optional_int
from glia.storage.push.notifications import (
    NOTIFICATION_COLUMNS,
    Notification,
    notification_from_row,
)
from glia.storage.push.pushers import PUSHER_COLUMNS, Pusher, pusher_from_row


@dataclass(frozen=True)
class Delivery:
    """A claimed push: one notification to one pusher."""

    pusher: Pusher
    notification: Notification
    #: Attempts so far, this one included.
    attempts: int
    created_ts: int


class DeliveryStore(StoreBase):
    async def queue_deliveries(self, user_ids: Sequence[str], stream: int, now: int) -> int:
        """Queue the notification at ``stream`` for every HTTP pusher of ``user_ids``
        (who were just notified); returns how many pushes were queued."""
        queued = 0
        for chunk in chunks(list(user_ids)):
            queued += await self._db.execute(
                "INSERT INTO push_deliveries (user_id, app_id, pushkey, stream, attempts,"
                " next_attempt_ts, created_ts) SELECT user_id, app_id, pushkey,"
                " CAST(? AS BIGINT), 0, CAST(? AS BIGINT), CAST(? AS BIGINT)"
                f" FROM pushers WHERE user_id IN ({marks(chunk)}) AND kind = 'http'",
                stream, now, now, *chunk,
            )
        return queued

    async def pending_deliveries(self, user_id: str) -> dict[tuple[str, str], int]:
        """Queued pushes per (app_id, pushkey) of a user's pushers."""
        rows = await self._db.fetchall(
            "SELECT app_id, pushkey, COUNT(*) AS queued FROM push_deliveries"
            " WHERE user_id = ? GROUP BY app_id, pushkey", user_id)
        return {(r["app_id"], r["pushkey"]): int(r["queued"]) for r in rows}

    async def claim_due(self, now: int, lease_until: int, limit: int) -> list[Delivery]:
        """Claim up to ``limit`` due pushes until ``lease_until``: another process (or this
        one after a crash) only retries a claimed push once the lease ran out."""
        claimed = await self._db.fetchall(
            "UPDATE push_deliveries SET next_attempt_ts = ?, attempts = attempts + 1"
            " WHERE next_attempt_ts <= ? AND (user_id, app_id, pushkey, stream) IN ("
            " SELECT user_id, app_id, pushkey, stream FROM push_deliveries"
            " WHERE next_attempt_ts <= ? ORDER BY next_attempt_ts LIMIT ?)"
            " RETURNING user_id, app_id, pushkey, stream, attempts, created_ts",
            lease_until, now, now, limit,
        )
        if not claimed:
            return []
        keys = {(r["user_id"], r["app_id"], r["pushkey"], int(r["stream"])): r for r in claimed}
        users = sorted({k[0] for k in keys})
        streams = sorted({k[3] for k in keys})
        pushers: dict[tuple[str, str, str], Pusher] = {}
        notifications: dict[tuple[str, int], Notification] = {}
        for chunk in chunks(users):
            for row in await self._db.fetchall(
                    f"SELECT {PUSHER_COLUMNS} FROM pushers WHERE user_id IN ({marks(chunk)})",
                    *chunk):
                p = pusher_from_row(row)
                pushers[(p.user_id, p.app_id, p.pushkey)] = p
            for row in await self._db.fetchall(
                    f"SELECT {NOTIFICATION_COLUMNS} FROM push_notifications"
                    f" WHERE user_id IN ({marks(chunk)})"
                    f" AND stream IN ({marks(streams)})", *chunk, *streams):
                n = notification_from_row(row)
                notifications[(n.user_id, n.stream)] = n
        out = []
        for (user_id, app_id, pushkey, stream), row in keys.items():
            found = pushers.get((user_id, app_id, pushkey))
            notification = notifications.get((user_id, stream))
            if found is not None and notification is not None:
                out.append(Delivery(found, notification, int(row["attempts"]),
                                    int(row["created_ts"])))
        return out

    async def finish_delivery(self, d: Delivery) -> None:
        """The push is done with: delivered, not needed any more, or given up."""
        await self._db.execute(
            "DELETE FROM push_deliveries WHERE user_id = ? AND app_id = ? AND pushkey = ?"
            " AND stream = ?", d.pusher.user_id, d.pusher.app_id, d.pusher.pushkey,
            d.notification.stream,
        )

    async def retry_delivery(self, d: Delivery, at: int) -> None:
        await self._db.execute(
            "UPDATE push_deliveries SET next_attempt_ts = ? WHERE user_id = ? AND app_id = ?"
            " AND pushkey = ? AND stream = ?", at, d.pusher.user_id, d.pusher.app_id,
            d.pusher.pushkey, d.notification.stream,
        )

    async def delivered(self, pusher: Pusher, now: int) -> None:
        await self._db.execute(
            "UPDATE pushers SET last_success_ts = ?, failing_since_ts = NULL"
            " WHERE user_id = ? AND app_id = ? AND pushkey = ?",
            now, pusher.user_id, pusher.app_id, pusher.pushkey,
        )

    async def delivery_failed(self, pusher: Pusher, now: int) -> int:
        """Record that a push to this pusher failed; returns since when it has failed."""
        since = await self._db.fetchval(
            "UPDATE pushers SET failing_since_ts = COALESCE(failing_since_ts, ?)"
            " WHERE user_id = ? AND app_id = ? AND pushkey = ? RETURNING failing_since_ts",
            now, pusher.user_id, pusher.app_id, pusher.pushkey,
        )
        return now if since is None else int(since)

    async def postpone_pusher(self, pusher: Pusher, until: int) -> None:
        """Hold back every queued push of a failing pusher until ``until`` (one backoff per
        gateway, not one per push)."""
        await self._db.execute(
            "UPDATE push_deliveries SET next_attempt_ts = ? WHERE app_id = ? AND pushkey = ?"
            " AND user_id = ? AND next_attempt_ts < ?",
            until, pusher.app_id, pusher.pushkey, pusher.user_id, until,
        )

    async def next_due(self) -> int | None:
        """When the earliest queued push is due (ms), or None if the queue is empty."""
        return optional_int(await self._db.fetchval(
            "SELECT MIN(next_attempt_ts) FROM push_deliveries"))
