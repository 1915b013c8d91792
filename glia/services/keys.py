"""End-to-end encryption keys (the spec's key management API): device keys, one-time
and fallback keys, device-list tracking, and the per-device part of ``/sync``
(cross-signing is in ``cross_signing.py``, key formats in ``key_formats.py``).

The server never decrypts anything; it checks what it can (each device key object is
signed by the device's own ed25519 key), hands each one-time key out at most once, and
tells users when the keys of people they share rooms with change. Errors and messages
follow Synapse where clients were written against them.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any

from glia import errors
from glia.clock import now_ms
from glia.config import Config
from glia.ids import InvalidId, parse_user_id
from glia.protocol.signing import VerifyKey
from glia.services.account import AccountService
from glia.services.auth import Requester
from glia.services.key_formats import (
    JsonDict,
    canonical,
    check_signed,
    json_object,
    json_string,
    parse_key_id,
    parse_one_time_keys,
    parse_signatures,
    same_one_time_key,
    verify_key_of,
    with_signatures,
    without_keys,
)
from glia.services.notifier import Notifier
from glia.storage import Storage, Stores
from glia.storage.keys import DeviceKeys, Signature

__all__ = ["KeysService", "parse_stream_token"]

SIGNED_CURVE25519 = "signed_curve25519"
#: The spec's recommended cap on to-device messages per ``/sync`` response.
TO_DEVICE_LIMIT = 100
_TOKEN = re.compile(r"s([0-9]{1,18})(?:_\S*)?|([0-9]{1,18})")
_REMOTE_FAILURE = {"status": 503, "message": "Federation is not available on this server"}



def parse_stream_token(token: str, name: str) -> int:
    """A sync token as a stream position: ``s<position>`` (what ``/sync`` hands out) or
    the bare decimal position."""
    match = _TOKEN.fullmatch(token)
    if match is None:
        raise errors.invalid_param(f"Invalid stream token in '{name}'")
    return int(match.group(1) or match.group(2))


class KeysService:
    def __init__(self, config: Config, storage: Storage, notifier: Notifier,
                 account: AccountService) -> None:
        self._config = config
        self._storage = storage
        self._notifier = notifier
        self._account = account

    def is_local(self, user_id: str) -> bool:
        return user_id.rpartition(":")[2] == self._config.server_name

    # -- /keys/upload ------------------------------------------------------------------

    async def upload(self, requester: Requester, body: Mapping[str, Any]) -> JsonDict:
        """``/keys/upload`` for the caller's device: everything is checked before anything
        is stored, so a refused request changes nothing."""
        user_id, device_id = requester.user_id, requester.device_id
        device_keys: JsonDict | None = None
        device_key: VerifyKey | None = None
        if "device_keys" in body:
            device_keys = self._parse_device_keys(body["device_keys"], user_id, device_id)
            device_key = verify_key_of(f"ed25519:{device_id}",
                                     device_keys["keys"][f"ed25519:{device_id}"])
        else:
            stored = await self._storage.keys.get_device_keys(user_id, device_id)
            if stored is not None:
                public = stored.keys.get("keys", {}).get(f"ed25519:{device_id}")
                device_key = verify_key_of(f"ed25519:{device_id}", public)
        one_time = fallback = None
        if body.get("one_time_keys") is not None:
            one_time = parse_one_time_keys(body["one_time_keys"], "one_time_keys", user_id,
                                            device_id, device_key)
        if body.get("fallback_keys") is not None:
            fallback = parse_one_time_keys(body["fallback_keys"], "fallback_keys", user_id,
                                            device_id, device_key)
            algorithms = [a for a, _, _ in fallback]
            if len(algorithms) != len(set(algorithms)):
                raise errors.invalid_param("At most one fallback key per algorithm")

        changed = False
        now = now_ms()
        async with self._storage.transaction() as tx:
            if await tx.devices.get(user_id, device_id) is None:
                raise errors.unknown_token()
            if device_keys is not None:
                changed = await tx.keys.set_device_keys(
                    user_id, device_id, canonical(without_keys(device_keys, "unsigned")), now)
                if changed:
                    await tx.keys.mark_device_list_changed(
                        user_id, await tx.next_stream_position())
            if one_time:
                await self._add_one_time_keys(tx, user_id, device_id, now, one_time)
            for algorithm, key_id, key in fallback or ():
                await tx.keys.set_fallback_key(user_id, device_id, algorithm, key_id,
                                               canonical(key))
            counts = await tx.keys.count_one_time_keys(user_id, device_id)
        if changed:
            await self.notify_device_list(user_id)
        return {"one_time_key_counts": {SIGNED_CURVE25519: 0, **counts}}

    @staticmethod
    def _parse_device_keys(value: Any, user_id: str, device_id: str) -> JsonDict:
        keys = json_object(value, "device_keys")
        for field in ("user_id", "device_id"):
            if field not in keys:
                raise errors.bad_json(f"device_keys.{field} is required")
            json_string(keys[field], f"device_keys.{field}")
        if keys["user_id"] != user_id:
            raise errors.bad_json("Provided `user_id` in `device_keys` does not match that "
                                  "of the authenticated user")
        if keys["device_id"] != device_id:
            raise errors.bad_json("Provided `device_id` in `device_keys` does not match that "
                                  "of the authenticated user device")
        algorithms = keys.get("algorithms")
        if not isinstance(algorithms, list) or not all(isinstance(a, str) for a in algorithms):
            raise errors.bad_json("device_keys.algorithms must be a list of strings")
        identity = json_object(keys.get("keys"), "device_keys.keys")
        for key_id, public in identity.items():
            parse_key_id(key_id, "device_keys.keys")
            json_string(public, f"device_keys.keys.{key_id}")
        if "signatures" not in keys:
            raise errors.bad_json("device_keys.signatures is required")
        parse_signatures(keys["signatures"], "device_keys")
        own = f"ed25519:{device_id}"
        if own not in identity:
            raise errors.invalid_param(f"device_keys.keys must include {own}")
        check_signed(keys, user_id, verify_key_of(own, identity[own]), "device_keys")
        return keys

    @staticmethod
    async def _add_one_time_keys(tx: Stores, user_id: str, device_id: str, now: int,
                                 keys: Sequence[tuple[str, str, Any]]) -> None:
        """Add new keys; re-uploading a stored key is a no-op (signatures may differ),
        a different key under a stored ID is refused, as in Synapse."""
        stored = await tx.keys.one_time_keys(user_id, device_id,
                                             [f"{a}:{k}" for a, k, _ in keys])
        new: list[tuple[str, str, str]] = []
        for algorithm, key_id, key in keys:
            key_json = canonical(key)
            old = stored.get((algorithm, key_id))
            if old is None:
                new.append((algorithm, key_id, key_json))
            elif not same_one_time_key(old, key):
                raise errors.unknown(f"One time key {algorithm}:{key_id} already exists. "
                                     f"Old key: {old}; new key: {key_json}")
        await tx.keys.add_one_time_keys(user_id, device_id, now, new)

    # -- /keys/query -------------------------------------------------------------------

    async def query(self, requester: Requester, body: Mapping[str, Any]) -> JsonDict:
        """``/keys/query``: local users' device keys and cross-signing keys, with the
        uploaded signatures the caller may see (the owner's own, and the caller's)."""
        wanted = body.get("device_keys")
        if not isinstance(wanted, dict):
            raise errors.bad_json("'device_keys' must be a JSON object")
        if any(not isinstance(v, list) or not all(isinstance(d, str) for d in v)
               for v in wanted.values()):
            raise errors.bad_json("'device_keys' values must be a list of strings")
        local: dict[str, list[str]] = {}
        failures: JsonDict = {}
        for user_id, device_ids in wanted.items():
            try:
                domain = parse_user_id(user_id).domain
            except InvalidId:
                continue  # as Synapse: an invalid ID is a user without keys
            if domain == self._config.server_name:
                local[user_id] = device_ids
            else:
                failures[domain] = dict(_REMOTE_FAILURE)
        requester_id = requester.user_id
        result: JsonDict = {"device_keys": {}, "failures": failures, "master_keys": {},
                            "self_signing_keys": {}, "user_signing_keys": {}}
        found = await self._storage.keys.device_keys(
            [(u, d or None) for u, d in local.items()])
        by_user: dict[str, list[DeviceKeys]] = {}
        for device in found:
            by_user.setdefault(device.user_id, []).append(device)
        cross = await self._storage.keys.cross_signing_keys(list(local))
        for user_id in local:
            signers = sorted({user_id, requester_id})
            extra: dict[str, list[Signature]] = {}
            for sig in await self._storage.keys.signatures_of(user_id, signers):
                extra.setdefault(sig.target_key_id, []).append(sig)
            devices: JsonDict = {}
            for device in by_user.get(user_id, []):
                keys = with_signatures(device.keys, extra.get(device.device_id, []))
                if device.display_name is not None:
                    keys["unsigned"] = {"device_display_name": device.display_name}
                devices[device.device_id] = keys
            result["device_keys"][user_id] = devices
            for key in cross:
                if key.user_id != user_id:
                    continue
                if key.key_type == "user_signing" and user_id != requester_id:
                    continue  # only its owner sees a user-signing key
                field = f"{key.key_type}_keys"
                result[field][user_id] = with_signatures(key.key, extra.get(key.public_key, []))
        return result

    # -- /keys/claim -------------------------------------------------------------------

    async def claim(self, requester: Requester, body: Mapping[str, Any]) -> JsonDict:
        """``/keys/claim``: per device, its oldest one-time key of the algorithm (deleted in
        the same statement), else its fallback key (marked used)."""
        wanted = body.get("one_time_keys")
        if not isinstance(wanted, dict):
            raise errors.bad_json("'one_time_keys' must be a JSON object")
        local: list[tuple[str, str, str]] = []
        failures: JsonDict = {}
        for user_id, devices in wanted.items():
            if not isinstance(devices, dict) or not all(
                    isinstance(a, str) for a in devices.values()):
                raise errors.bad_json("'one_time_keys' must map user IDs to device IDs to "
                                      "algorithm names")
            try:
                domain = parse_user_id(user_id).domain
            except InvalidId:
                continue
            if domain != self._config.server_name:
                failures[domain] = dict(_REMOTE_FAILURE)
                continue
            local += [(user_id, d, a) for d, a in devices.items()]
        claimed: dict[str, dict[str, JsonDict]] = {}
        async with self._storage.transaction() as tx:
            for user_id, device_id, algorithm in local:
                key = await tx.keys.claim_one_time_key(user_id, device_id, algorithm)
                if key is None:
                    key = await tx.keys.claim_fallback_key(user_id, device_id, algorithm)
                if key is not None:
                    claimed.setdefault(user_id, {}).setdefault(device_id, {})[key.key_id] = (
                        key.key)
        return {"one_time_keys": claimed, "failures": failures}

    # -- /keys/changes and /sync's device lists ------------------------------------------

    async def changes(self, requester: Requester, from_token: str | None,
                      to_token: str | None) -> JsonDict:
        if from_token is None:
            raise errors.missing_param("Missing string query parameter 'from'")
        since = parse_stream_token(from_token, "from")
        upto = (parse_stream_token(to_token, "to") if to_token is not None
                else await self._storage.stream_upto())
        return await self.device_lists(requester.user_id, since, upto)

    async def device_lists(self, user_id: str, since: int, upto: int) -> JsonDict:
        """``changed``: users (``user_id`` or sharing a joined room with them) whose device
        lists changed in (since, upto], and users who newly share a room with them;
        ``left``: users who shared a room at ``since`` and share none any more."""
        if upto <= since:
            return {"changed": [], "left": []}
        store = self._storage.keys
        changed = set(await store.changed_for(user_id, since, upto))
        candidates: set[str] = set()
        rooms = await store.rooms_with_membership(user_id)
        moves = await store.membership_changes(list(rooms), since, upto)
        after: dict[tuple[str, str], str | None] = {}
        for move in moves:  # oldest first: the last one is the membership at upto
            after[(move.room_id, move.user_id)] = move.membership
        before = {pair: await store.membership_at(pair[0], pair[1], since) for pair in after}
        moved_in_room: dict[str, list[str]] = {}
        for room_id, other in after:
            moved_in_room.setdefault(room_id, []).append(other)
        for room_id in moved_in_room:
            mine = (room_id, user_id)
            current = rooms.get(room_id)
            was_in = before.get(mine, current) == "join"
            is_in = after.get(mine, current) == "join"
            if is_in and not was_in:  # we joined: everyone there is new to us
                changed.update(await store.joined_members([room_id]))
            elif was_in and not is_in:  # we left: everyone who was there may be gone
                members = await self._storage.state.members_at(room_id, since, ["join"])
                candidates.update(m.user_id for m in members)
            elif is_in:
                for other in moved_in_room[room_id]:
                    then, now = before[(room_id, other)], after[(room_id, other)]
                    if now == "join" and then != "join":
                        changed.add(other)
                    elif now != "join" and then == "join":
                        candidates.add(other)
        candidates.discard(user_id)
        left = candidates - await store.sharing_a_room(user_id, sorted(candidates))
        changed -= left
        return {"changed": sorted(changed), "left": sorted(left)}

    async def sync_section(self, user_id: str, device_id: str, since: int | None,
                           upto: int) -> dict[str, Any]:
        """The per-device part of a ``/sync`` response covering (since, upto].

        ``to_device``: the device's pending messages with position <= upto, oldest first,
        at most 100 (the rest come in later syncs); ``device_lists``: see
        :meth:`device_lists` (empty lists on an initial sync, ``since`` None);
        ``device_one_time_keys_count`` (``signed_curve25519`` always present) and
        ``device_unused_fallback_key_types``.

        When the messages were cut at 100, the position of the last one delivered is
        recorded against ``upto`` (and the stream moved on, so the next response has
        another token), so that :meth:`ack_to_device` with this ``upto`` deletes only what
        this response carried, however often the client retries with it.
        """
        pending = await self._storage.to_device.pending(user_id, device_id, upto,
                                                        TO_DEVICE_LIMIT + 1)
        if len(pending) > TO_DEVICE_LIMIT:
            pending = pending[:TO_DEVICE_LIMIT]
            async with self._storage.transaction() as tx:
                await tx.to_device.record_delivered(user_id, device_id, upto,
                                                    pending[-1].stream)
                # Move the stream on, so the next sync's token differs from this one's and
                # a retry with this token can be told from the sync after it.
                await tx.next_stream_position()
        if since is None:
            device_lists: JsonDict = {"changed": [], "left": []}
        else:
            device_lists = await self.device_lists(user_id, since, upto)
        counts = await self._storage.keys.count_one_time_keys(user_id, device_id)
        return {
            "to_device": {"events": [{"sender": m.sender, "type": m.type,
                                      "content": m.content} for m in pending]},
            "device_lists": device_lists,
            "device_one_time_keys_count": {SIGNED_CURVE25519: 0, **counts},
            "device_unused_fallback_key_types":
                await self._storage.keys.unused_fallback_key_types(user_id, device_id),
        }

    async def ack_to_device(self, user_id: str, device_id: str, upto: int) -> None:
        """The client came back with the token of a sync that covered up to ``upto``: it
        has the to-device messages that sync carried, so delete them (all messages with
        position <= upto, or fewer if that sync was cut at 100). Idempotent, so a retry
        with the same token loses nothing; call it before :meth:`sync_section` of the same
        request. Writes only when there is something to delete, so an idle long-poll does
        not take SQLite's write lock."""
        store = self._storage.to_device
        delivered = await store.delivered_upto(user_id, device_id, upto)
        stream = upto if delivered is None else delivered
        if not await store.has_acknowledgeable(user_id, device_id, stream, upto):
            return
        async with self._storage.transaction() as tx:
            await tx.to_device.acknowledge(user_id, device_id, stream, upto)

    # -- device deletion and wake-ups ----------------------------------------------------

    @staticmethod
    async def device_deleted(tx: Stores, user_id: str, device_id: str) -> bool:
        """Call in the deleting transaction, before the device row goes (its keys, one-time
        keys and inbox then go with it by cascade). Records a device-list change when the
        device had keys; returns whether it did (then call :meth:`notify_device_list`)."""
        had_keys = await tx.keys.has_device_keys(user_id, device_id)
        await tx.keys.delete_signatures_of(user_id, device_id)
        if had_keys:
            await tx.keys.mark_device_list_changed(user_id, await tx.next_stream_position())
        return had_keys

    async def devices_removing(self, tx: Stores, user_id: str, device_ids: list[str]) -> None:
        """A :class:`~glia.services.device_removal.DeviceRemoval` step: record the
        device-list change in ``tx`` and wake the syncs that should see it after commit."""
        changed = False
        for device_id in device_ids:
            changed |= await self.device_deleted(tx, user_id, device_id)
        if changed:
            tx.after_commit(lambda: _spawn(self.notify_device_list(user_id)))

    async def notify_device_list(self, user_id: str) -> None:
        """Wake syncs that may see a change of ``user_id``'s keys: theirs and their rooms'."""
        rooms = [room for room, membership in
                 (await self._storage.keys.rooms_with_membership(user_id)).items()
                 if membership == "join"]
        await self._notifier.notify(users=[user_id], rooms=rooms)

# -- helpers -----------------------------------------------------------------------------


_background: set[asyncio.Task[None]] = set()


def _spawn(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a wake-up after commit without making the committing caller wait for it."""
    task = asyncio.ensure_future(coroutine)
    _background.add(task)
    task.add_done_callback(_background.discard)
