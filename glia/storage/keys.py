"""End-to-end encryption keys: device keys, one-time and fallback keys, cross-signing keys
and signatures, and the device-list change stream ``/sync`` and ``/keys/changes`` read.

Key objects are stored as canonical JSON text, so "did it change?" is a string compare.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Dialect, Executor

#: Longest list of values bound into one ``IN (...)``; SQLite caps bound parameters.
_CHUNK = 500


@dataclass(frozen=True)
class DeviceKeys:
    user_id: str
    device_id: str
    keys: dict[str, Any]
    key_json: str
    display_name: str | None


@dataclass(frozen=True)
class ClaimedKey:
    key_id: str
    key: Any


@dataclass(frozen=True)
class CrossSigningKey:
    user_id: str
    key_type: str
    public_key: str
    key: dict[str, Any]
    key_json: str


@dataclass(frozen=True)
class Signature:
    signer_user_id: str
    signing_key_id: str
    target_user_id: str
    target_key_id: str
    signature: str


@dataclass(frozen=True)
class MembershipChange:
    """A member row of ``room_state`` that took effect at ``stream``."""

    room_id: str
    user_id: str
    membership: str | None
    stream: int


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


class KeyStore:
    def __init__(self, db: Executor, dialect: Dialect) -> None:
        self._db = db
        self._dialect = dialect

    # -- device keys -------------------------------------------------------------------

    async def get_device_keys(self, user_id: str, device_id: str) -> DeviceKeys | None:
        found = await self.device_keys([(user_id, None)], only_device=device_id)
        return found[0] if found else None

    async def device_keys(self, query: Sequence[tuple[str, list[str] | None]],
                          only_device: str | None = None) -> list[DeviceKeys]:
        """Keys of existing devices: per user, the listed devices or (None) all of them."""
        found: list[DeviceKeys] = []
        for user_id, device_ids in query:
            sql = ("SELECT k.user_id, k.device_id, k.key_json, d.display_name"
                   " FROM e2e_device_keys k JOIN devices d"
                   " ON d.user_id = k.user_id AND d.device_id = k.device_id"
                   " WHERE k.user_id = ?")
            args: list[Any] = [user_id]
            if only_device is not None:
                sql += " AND k.device_id = ?"
                args.append(only_device)
            if device_ids:
                for chunk in _chunks(device_ids):
                    rows = await self._db.fetchall(
                        f"{sql} AND k.device_id IN ({_marks(chunk)}) ORDER BY k.device_id",
                        *args, *chunk)
                    found += [_device_keys(r) for r in rows]
            else:
                rows = await self._db.fetchall(sql + " ORDER BY k.device_id", *args)
                found += [_device_keys(r) for r in rows]
        return found

    async def set_device_keys(self, user_id: str, device_id: str, key_json: str,
                              now: int) -> bool:
        """Store a device's keys; returns whether they differ from what was stored."""
        old = await self._db.fetchval(
            "SELECT key_json FROM e2e_device_keys WHERE user_id = ? AND device_id = ?",
            user_id, device_id)
        if old == key_json:
            return False
        await self._db.execute(
            "INSERT INTO e2e_device_keys (user_id, device_id, key_json, ts)"
            " SELECT user_id, device_id, CAST(? AS TEXT), CAST(? AS BIGINT) FROM devices"
            " WHERE user_id = ? AND device_id = ? ON CONFLICT (user_id, device_id)"
            " DO UPDATE SET key_json = excluded.key_json, ts = excluded.ts",
            key_json, now, user_id, device_id)
        return True

    async def has_device_keys(self, user_id: str, device_id: str) -> bool:
        found = await self._db.fetchval(
            "SELECT 1 FROM e2e_device_keys WHERE user_id = ? AND device_id = ?",
            user_id, device_id)
        return found is not None

    # -- one-time keys -----------------------------------------------------------------

    async def one_time_keys(self, user_id: str, device_id: str,
                            key_ids: Sequence[str]) -> dict[tuple[str, str], str]:
        """Stored one-time keys among ``key_ids`` (``algorithm:id``): (alg, id) → JSON."""
        found: dict[tuple[str, str], str] = {}
        wanted = sorted(set(key_ids))
        for chunk in _chunks(wanted):
            rows = await self._db.fetchall(
                "SELECT algorithm, key_id, key_json FROM e2e_one_time_keys"
                " WHERE user_id = ? AND device_id = ?"
                f" AND algorithm || ':' || key_id IN ({_marks(chunk)})",
                user_id, device_id, *chunk)
            found.update({(r["algorithm"], r["key_id"]): r["key_json"] for r in rows})
        return found

    async def add_one_time_keys(self, user_id: str, device_id: str, now: int,
                                keys: Sequence[tuple[str, str, str]]) -> None:
        """Add (algorithm, key_id, JSON) rows; a key already there is left alone."""
        for algorithm, key_id, key_json in keys:
            await self._db.execute(
                "INSERT INTO e2e_one_time_keys (user_id, device_id, algorithm, key_id,"
                " key_json, ts) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                user_id, device_id, algorithm, key_id, key_json, now)

    async def count_one_time_keys(self, user_id: str, device_id: str) -> dict[str, int]:
        rows = await self._db.fetchall(
            "SELECT algorithm, COUNT(*) AS n FROM e2e_one_time_keys"
            " WHERE user_id = ? AND device_id = ? GROUP BY algorithm", user_id, device_id)
        return {r["algorithm"]: int(r["n"]) for r in rows}

    async def claim_one_time_key(self, user_id: str, device_id: str,
                                 algorithm: str) -> ClaimedKey | None:
        """Take the oldest one-time key of an algorithm, deleting it in the same statement.

        Two concurrent claims never get the same key: SQLite runs one write at a time, and
        on PostgreSQL the row is locked with SKIP LOCKED, so a second claimer takes the next
        key instead of waiting for the first and then finding nothing.
        """
        lock = self._dialect.skip_locked
        row = await self._db.fetchone(
            "DELETE FROM e2e_one_time_keys WHERE user_id = ? AND device_id = ?"
            " AND algorithm = ? AND key_id = (SELECT key_id FROM e2e_one_time_keys"
            " WHERE user_id = ? AND device_id = ? AND algorithm = ?"
            f" ORDER BY ts, key_id LIMIT 1{lock}) RETURNING key_id, key_json",
            user_id, device_id, algorithm, user_id, device_id, algorithm)
        if row is None:
            return None
        return ClaimedKey(f"{algorithm}:{row['key_id']}", json.loads(row["key_json"]))

    # -- fallback keys -----------------------------------------------------------------

    async def set_fallback_key(self, user_id: str, device_id: str, algorithm: str,
                               key_id: str, key_json: str) -> None:
        """Replace the device's fallback key of an algorithm. Uploading the same key again
        keeps its ``used`` mark, so a retried upload cannot revive a spent key."""
        await self._db.execute(
            "INSERT INTO e2e_fallback_keys (user_id, device_id, algorithm, key_id, key_json,"
            " used) VALUES (?, ?, ?, ?, ?, FALSE) ON CONFLICT (user_id, device_id, algorithm)"
            " DO UPDATE SET used = CASE WHEN e2e_fallback_keys.key_id = excluded.key_id"
            " AND e2e_fallback_keys.key_json = excluded.key_json THEN e2e_fallback_keys.used"
            " ELSE FALSE END, key_id = excluded.key_id, key_json = excluded.key_json",
            user_id, device_id, algorithm, key_id, key_json)

    async def claim_fallback_key(self, user_id: str, device_id: str,
                                 algorithm: str) -> ClaimedKey | None:
        """The fallback key of an algorithm, marked used (it stays claimable)."""
        row = await self._db.fetchone(
            "UPDATE e2e_fallback_keys SET used = TRUE WHERE user_id = ? AND device_id = ?"
            " AND algorithm = ? RETURNING key_id, key_json", user_id, device_id, algorithm)
        if row is None:
            return None
        return ClaimedKey(f"{algorithm}:{row['key_id']}", json.loads(row["key_json"]))

    async def unused_fallback_key_types(self, user_id: str, device_id: str) -> list[str]:
        rows = await self._db.fetchall(
            "SELECT algorithm FROM e2e_fallback_keys WHERE user_id = ? AND device_id = ?"
            " AND used = FALSE ORDER BY algorithm", user_id, device_id)
        return [r["algorithm"] for r in rows]

    # -- key counts of many users' devices (application-service transactions) ---------

    async def one_time_key_counts_of(self, user_ids: Sequence[str]
                                     ) -> dict[str, dict[str, dict[str, int]]]:
        """user → device → algorithm → unclaimed one-time keys (``{}``: none)."""
        found: dict[str, dict[str, dict[str, int]]] = {}
        for chunk in _chunks(sorted(set(user_ids))):
            rows = await self._db.fetchall(
                "SELECT d.user_id, d.device_id, k.algorithm, COUNT(k.key_id) AS n"
                " FROM devices d LEFT JOIN e2e_one_time_keys k ON k.user_id = d.user_id"
                f" AND k.device_id = d.device_id WHERE d.user_id IN ({_marks(chunk)})"
                " GROUP BY d.user_id, d.device_id, k.algorithm", *chunk)
            for r in rows:
                counts = found.setdefault(r["user_id"], {}).setdefault(r["device_id"], {})
                if r["algorithm"] is not None:
                    counts[r["algorithm"]] = int(r["n"])
        return found

    async def unused_fallback_key_types_of(self, user_ids: Sequence[str]
                                           ) -> dict[str, dict[str, list[str]]]:
        """user → device → algorithms with an unused fallback key (``[]``: none)."""
        found: dict[str, dict[str, list[str]]] = {}
        for chunk in _chunks(sorted(set(user_ids))):
            rows = await self._db.fetchall(
                "SELECT d.user_id, d.device_id, f.algorithm FROM devices d"
                " LEFT JOIN e2e_fallback_keys f ON f.user_id = d.user_id"
                " AND f.device_id = d.device_id AND f.used = FALSE"
                f" WHERE d.user_id IN ({_marks(chunk)})"
                " ORDER BY d.user_id, d.device_id, f.algorithm", *chunk)
            for r in rows:
                types = found.setdefault(r["user_id"], {}).setdefault(r["device_id"], [])
                if r["algorithm"] is not None:
                    types.append(r["algorithm"])
        return found

    # -- cross-signing -----------------------------------------------------------------

    async def cross_signing_keys(self, user_ids: Sequence[str]) -> list[CrossSigningKey]:
        found: list[CrossSigningKey] = []
        for chunk in _chunks(sorted(set(user_ids))):
            rows = await self._db.fetchall(
                "SELECT user_id, key_type, public_key, key_json FROM e2e_cross_signing_keys"
                f" WHERE user_id IN ({_marks(chunk)}) ORDER BY user_id, key_type", *chunk)
            found += [CrossSigningKey(r["user_id"], r["key_type"], r["public_key"],
                                      json.loads(r["key_json"]), r["key_json"]) for r in rows]
        return found

    async def cross_signing_key(self, user_id: str, key_type: str) -> CrossSigningKey | None:
        for key in await self.cross_signing_keys([user_id]):
            if key.key_type == key_type:
                return key
        return None

    async def set_cross_signing_key(self, user_id: str, key_type: str, public_key: str,
                                    key_json: str, now: int) -> None:
        await self._db.execute(
            "INSERT INTO e2e_cross_signing_keys (user_id, key_type, public_key, key_json, ts)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, key_type) DO UPDATE SET"
            " public_key = excluded.public_key, key_json = excluded.key_json, ts = excluded.ts",
            user_id, key_type, public_key, key_json, now)

    async def add_signatures(self, signatures: Sequence[Signature]) -> None:
        for s in signatures:
            await self._db.execute(
                "INSERT INTO e2e_cross_signing_signatures (signer_user_id, signing_key_id,"
                " target_user_id, target_key_id, signature) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (target_user_id, target_key_id, signer_user_id, signing_key_id)"
                " DO UPDATE SET signature = excluded.signature",
                s.signer_user_id, s.signing_key_id, s.target_user_id, s.target_key_id,
                s.signature)

    async def signatures_of(self, target_user_id: str, signers: Sequence[str]
                            ) -> list[Signature]:
        """Uploaded signatures of a user's keys made by any of ``signers``."""
        if not signers:
            return []  # PostgreSQL refuses "IN ()".
        rows = await self._db.fetchall(
            "SELECT signer_user_id, signing_key_id, target_user_id, target_key_id, signature"
            " FROM e2e_cross_signing_signatures WHERE target_user_id = ?"
            f" AND signer_user_id IN ({_marks(signers)})"
            " ORDER BY target_key_id, signer_user_id, signing_key_id",
            target_user_id, *signers)
        return [Signature(r["signer_user_id"], r["signing_key_id"], r["target_user_id"],
                          r["target_key_id"], r["signature"]) for r in rows]

    async def delete_signatures_of(self, target_user_id: str, target_key_id: str) -> None:
        """Forget signatures of a key that is gone (a deleted device)."""
        await self._db.execute(
            "DELETE FROM e2e_cross_signing_signatures WHERE target_user_id = ?"
            " AND target_key_id = ?", target_user_id, target_key_id)

    # -- device-list changes -----------------------------------------------------------

    async def mark_device_list_changed(self, user_id: str, stream: int) -> None:
        await self._db.execute(
            "INSERT INTO device_list_changes (user_id, stream) VALUES (?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET stream = excluded.stream", user_id, stream)

    async def mark_signatures_changed(self, viewer_user_id: str, target_user_ids: Iterable[str],
                                      stream: int) -> None:
        for target in sorted(set(target_user_ids)):
            await self._db.execute(
                "INSERT INTO e2e_signature_changes (viewer_user_id, target_user_id, stream)"
                " VALUES (?, ?, ?) ON CONFLICT (viewer_user_id, target_user_id)"
                " DO UPDATE SET stream = excluded.stream", viewer_user_id, target, stream)

    async def changed_for(self, user_id: str, since: int, upto: int) -> list[str]:
        """Users whose device lists changed in (since, upto] and who are ``user_id`` or
        currently share a joined room with them, plus keys only ``user_id`` sees change."""
        rows = await self._db.fetchall(
            "SELECT c.user_id FROM device_list_changes c WHERE c.stream > ? AND c.stream <= ?"
            " AND (c.user_id = ? OR EXISTS (SELECT 1 FROM room_state mine JOIN room_state"
            " theirs ON theirs.room_id = mine.room_id AND theirs.type = 'm.room.member'"
            " AND theirs.state_key = c.user_id AND theirs.to_stream IS NULL"
            " AND theirs.membership = 'join'"
            " WHERE mine.type = 'm.room.member' AND mine.state_key = ?"
            " AND mine.to_stream IS NULL AND mine.membership = 'join'))"
            " UNION SELECT target_user_id FROM e2e_signature_changes"
            " WHERE viewer_user_id = ? AND stream > ? AND stream <= ?",
            since, upto, user_id, user_id, user_id, since, upto)
        return sorted({r["user_id"] for r in rows})

    # -- who shares rooms (for device lists and wake-ups) --------------------------------

    async def rooms_with_membership(self, user_id: str) -> dict[str, str | None]:
        """Every room the user has a current member row in: room → membership."""
        rows = await self._db.fetchall(
            "SELECT room_id, membership FROM room_state WHERE type = 'm.room.member'"
            " AND state_key = ? AND to_stream IS NULL", user_id)
        return {r["room_id"]: r["membership"] for r in rows}

    async def membership_changes(self, room_ids: Sequence[str], since: int, upto: int
                                 ) -> list[MembershipChange]:
        """Member rows of these rooms that took effect in (since, upto], oldest first."""
        found: list[MembershipChange] = []
        for chunk in _chunks(sorted(set(room_ids))):
            rows = await self._db.fetchall(
                "SELECT room_id, state_key, membership, from_stream FROM room_state"
                f" WHERE room_id IN ({_marks(chunk)}) AND type = 'm.room.member'"
                " AND from_stream > ? AND from_stream <= ? ORDER BY from_stream",
                *chunk, since, upto)
            found += [MembershipChange(r["room_id"], r["state_key"], r["membership"],
                                       int(r["from_stream"])) for r in rows]
        found.sort(key=lambda c: c.stream)
        return found

    async def membership_at(self, room_id: str, user_id: str, stream: int) -> str | None:
        """A user's membership of a room just after ``stream`` (None: never a member)."""
        return await self._db.fetchval(  # type: ignore[no-any-return]
            "SELECT membership FROM room_state WHERE room_id = ? AND type = 'm.room.member'"
            " AND state_key = ? AND from_stream <= ? ORDER BY from_stream DESC LIMIT 1",
            room_id, user_id, stream)

    async def joined_members(self, room_ids: Sequence[str]) -> set[str]:
        """Current joined members of any of these rooms."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(room_ids))):
            rows = await self._db.fetchall(
                "SELECT DISTINCT state_key FROM room_state WHERE type = 'm.room.member'"
                f" AND room_id IN ({_marks(chunk)}) AND to_stream IS NULL"
                " AND membership = 'join'", *chunk)
            found.update(r["state_key"] for r in rows)
        return found

    async def sharing_a_room(self, user_id: str, others: Sequence[str]) -> set[str]:
        """Which of ``others`` currently share a joined room with ``user_id``."""
        found: set[str] = set()
        for chunk in _chunks(sorted(set(others))):
            rows = await self._db.fetchall(
                "SELECT DISTINCT theirs.state_key FROM room_state mine JOIN room_state theirs"
                " ON theirs.room_id = mine.room_id AND theirs.type = 'm.room.member'"
                " AND theirs.to_stream IS NULL AND theirs.membership = 'join'"
                f" AND theirs.state_key IN ({_marks(chunk)})"
                " WHERE mine.type = 'm.room.member' AND mine.state_key = ?"
                " AND mine.to_stream IS NULL AND mine.membership = 'join'",
                *chunk, user_id)
            found.update(r["state_key"] for r in rows)
        return found


def _device_keys(row: Any) -> DeviceKeys:
    return DeviceKeys(row["user_id"], row["device_id"], json.loads(row["key_json"]),
                      row["key_json"], row["display_name"])
