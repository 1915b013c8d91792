"""Cross-signing (the spec's ``keys/device_signing/upload`` and ``keys/signatures/upload``):
a user's master, self-signing and user-signing keys, and the signatures they make over
devices and other users' master keys, each checked before it is stored."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from glia import errors
from glia.clock import Clock, SystemClock
from glia.config import Config
from glia.errors import MatrixError
from glia.protocol.signing import VerifyKey
from glia.services.account import AccountService
from glia.services.key_formats import (
    CROSS_SIGNING_FIELDS,
    JsonDict,
    canonical,
    check_same,
    check_signed,
    parse_cross_signing_key,
    verify_key_of,
    without_keys,
)
from glia.services.keys import KeysService
from glia.services.uia import StageAuth
from glia.storage import Storage
from glia.storage.keys import CrossSigningKey, DeviceKeys, Signature

if TYPE_CHECKING:
    from glia.services.unit_of_work import UnitOfWork

__all__ = ["CrossSigningService", "SigningKeys"]


class SigningKeys(msgspec.Struct):
    """``/keys/device_signing/upload`` (its UIA ``auth`` aside). Each key is a signed
    object, kept whole: its signature covers every field, known or not, and it is served
    back exactly as uploaded (``parse_cross_signing_key`` checks its shape)."""

    master_key: dict[str, Any] | None = None
    self_signing_key: dict[str, Any] | None = None
    user_signing_key: dict[str, Any] | None = None


class SignatureFailure(msgspec.Struct, frozen=True):
    """One entry of ``failures`` in ``/keys/signatures/upload`` (the spec's fields, plus
    Synapse's ``status``)."""

    errcode: str
    error: str
    status: int

    @classmethod
    def of(cls, e: MatrixError) -> SignatureFailure:
        return cls(e.errcode, e.error, e.status)


#: User ID → key ID → why its signature was refused.
Failures = dict[str, dict[str, SignatureFailure]]


class SignaturesUploaded(msgspec.Struct, frozen=True):
    """``/keys/signatures/upload``'s answer: the signatures refused (the rest are stored)."""

    failures: Failures


class CrossSigningService:
    def __init__(self, config: Config, storage: Storage, account: AccountService,
                 keys: KeysService, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._config = config
        self._storage = storage
        self._account = account
        self._keys = keys

    async def upload_signing_keys(self, uow: UnitOfWork, upload: SigningKeys,
                                  auth: StageAuth | None) -> None:
        """``/keys/device_signing/upload``, stored in the request's transaction. Behind UIA
        once the user has a master key, except when every key sent is the one already
        stored (a retried upload)."""
        requester = uow.requester
        user_id = requester.user_id
        new: dict[str, tuple[JsonDict, str, VerifyKey]] = {}
        sent = {field: getattr(upload, field) for field, _ in CROSS_SIGNING_FIELDS}
        for field, key_type in CROSS_SIGNING_FIELDS:
            if sent[field] is not None:
                new[key_type] = parse_cross_signing_key(sent[field], user_id, key_type)
        stored = {k.key_type: k for k in await self._storage.keys.cross_signing_keys([user_id])}
        if all(key_type in stored and stored[key_type].key_json == canonical(key)
               for key_type, (key, _, _) in new.items()):
            return
        if "master" in new:
            master_key: VerifyKey = new["master"][2]
        elif "master" in stored:
            master = stored["master"]
            master_key = verify_key_of(f"ed25519:{master.public_key}", master.public_key)
        else:
            raise errors.missing_param("No master key available")
        for key_type in ("self_signing", "user_signing"):
            if key_type in new:
                check_signed(new[key_type][0], user_id, master_key, f"{key_type} key")
        if "master" in stored and not await self._replaceable_without_uia(user_id):
            scope = hashlib.sha256(canonical(sent).encode()).hexdigest()
            await self._account.require_password(requester, auth,
                                                 f"keys/device_signing/upload:{scope}")
        now = self._clock.now_ms()
        async with uow.transaction() as tx:
            for key_type, (key, public, _) in new.items():
                if await tx.devices.get(user_id, public) is not None:
                    raise errors.forbidden("Key ID in use")
                await tx.keys.set_cross_signing_key(user_id, key_type, public,
                                                    canonical(key), now)
            if "master" in new:
                await tx.cross_signing_replacement.close_window(user_id)
            if "master" in new or "self_signing" in new:
                await tx.keys.mark_device_list_changed(user_id,
                                                       await tx.next_stream_position())
            if "user_signing" in new:
                await tx.keys.mark_signatures_changed(user_id, [user_id],
                                                      await tx.next_stream_position())
        await self._keys.notify_device_list(user_id)

    async def _replaceable_without_uia(self, user_id: str) -> bool:
        """An admin opened a window for replacing the keys without UIA, and it is open."""
        end = await self._storage.cross_signing_replacement.window_end(user_id)
        return end is not None and self._clock.now_ms() < end

    async def upload_signatures(self, uow: UnitOfWork,
                                signed: Mapping[str, Mapping[str, JsonDict]]
                                ) -> SignaturesUploaded:
        """``/keys/signatures/upload``: the caller's devices signed by their self-signing
        key, their master key signed by their devices, and other users' master keys signed
        by their user-signing key. Each signature that fails is reported in ``failures``
        and the others are stored, in the request's transaction (``signed``: see
        ``parse_signed_objects``)."""
        user_id = uow.requester.user_id
        failures: Failures = {}
        accepted: list[Signature] = []
        own = signed.get(user_id, {})
        if own:
            accepted += await self._own_signatures(user_id, own, failures)
        others = {t: o for t, o in signed.items() if t != user_id and o}
        if others:
            accepted += await self._other_signatures(user_id, others, failures)
        if accepted:
            async with uow.transaction() as tx:
                await tx.keys.add_signatures(accepted)
                position = await tx.next_stream_position()
                if any(s.target_user_id == user_id for s in accepted):
                    await tx.keys.mark_device_list_changed(user_id, position)
                await tx.keys.mark_signatures_changed(
                    user_id, [s.target_user_id for s in accepted
                              if s.target_user_id != user_id], position)
            await self._keys.notify_device_list(user_id)
        return SignaturesUploaded(failures)

    async def _own_signatures(self, user_id: str, objects: Mapping[str, JsonDict],
                              failures: Failures) -> list[Signature]:
        keys = self._storage.keys
        cross = {k.key_type: k for k in await keys.cross_signing_keys([user_id])}
        devices = {d.device_id: d for d in await keys.device_keys([(user_id, None)])}
        master, ssk = cross.get("master"), cross.get("self_signing")
        accepted: list[Signature] = []
        for key_id, signed in objects.items():
            try:
                if master is not None and key_id == master.public_key:
                    accepted += _master_signed_by_devices(user_id, master, signed, devices)
                    continue
                if ssk is None:
                    raise errors.not_found(f"No self_signing key found for {user_id}")
                device = devices.get(key_id)
                if device is None:
                    raise errors.not_found("Unknown device")
                ssk_id = f"ed25519:{ssk.public_key}"
                signature = _signature_by(signed, user_id, ssk_id)
                check_same(signed, device.keys)
                check_signed(signed, user_id, verify_key_of(ssk_id, ssk.public_key),
                              f"device {key_id}")
                accepted.append(Signature(user_id, ssk_id, user_id, key_id, signature))
            except MatrixError as e:
                failures.setdefault(user_id, {})[key_id] = SignatureFailure.of(e)
        return accepted

    async def _other_signatures(self, user_id: str, objects: Mapping[str, Mapping[str, Any]],
                                failures: Failures) -> list[Signature]:
        keys = self._storage.keys
        usk = await keys.cross_signing_key(user_id, "user_signing")
        accepted: list[Signature] = []
        for target, signed_objects in objects.items():
            for key_id, signed in signed_objects.items():
                try:
                    if usk is None:
                        raise errors.not_found(f"No user_signing key found for {user_id}")
                    master = (await keys.cross_signing_key(target, "master")
                              if self._keys.is_local(target) else None)
                    if master is None:
                        raise errors.not_found(f"No master key found for {target}")
                    if key_id != master.public_key:
                        raise errors.not_found("Unknown device")
                    usk_id = f"ed25519:{usk.public_key}"
                    signature = _signature_by(signed, user_id, usk_id)
                    check_same(signed, master.key)
                    check_signed(signed, user_id, verify_key_of(usk_id, usk.public_key),
                                  f"master key of {target}")
                    accepted.append(Signature(user_id, usk_id, target, key_id, signature))
                except MatrixError as e:
                    failures.setdefault(target, {})[key_id] = SignatureFailure.of(e)
        return accepted



def _signature_by(signed: Mapping[str, Any], user_id: str, key_id: str) -> str:
    sigs = signed.get("signatures")
    sig = sigs.get(user_id, {}).get(key_id) if isinstance(sigs, dict) else None
    if not isinstance(sig, str):
        raise MatrixError(400, "M_INVALID_SIGNATURE", "Invalid signature")
    return sig


def _master_signed_by_devices(user_id: str, master: CrossSigningKey, signed: JsonDict,
                              devices: Mapping[str, DeviceKeys]) -> list[Signature]:
    """Signatures of the user's master key by their own devices (each must verify)."""
    sigs = signed.get("signatures")
    by_user = sigs.get(user_id) if isinstance(sigs, dict) else None
    if not isinstance(by_user, dict) or not by_user:
        raise MatrixError(400, "M_INVALID_SIGNATURE", "Invalid signature")
    check_same(signed, master.key)
    stored_sigs = (master.key.get("signatures") or {}).get(user_id, {})
    accepted = []
    for signing_key_id, signature in by_user.items():
        if signing_key_id in stored_sigs or signing_key_id == f"ed25519:{master.public_key}":
            continue  # already part of the uploaded key
        algorithm, _, device_id = signing_key_id.partition(":")
        device = devices.get(device_id)
        public = device.keys.get("keys", {}).get(signing_key_id) if device else None
        if algorithm != "ed25519" or not isinstance(public, str) or not isinstance(
                signature, str):
            raise MatrixError(400, "M_INVALID_SIGNATURE", "Invalid signature")
        only = without_keys(signed, "signatures")
        only["signatures"] = {user_id: {signing_key_id: signature}}
        check_signed(only, user_id, verify_key_of(signing_key_id, public), "master key")
        accepted.append(Signature(user_id, signing_key_id, user_id, master.public_key,
                                  signature))
    return accepted
