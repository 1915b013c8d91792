"""Our users' published keys as another user (or server) may see them: device keys with
the signatures the viewer may see, master and self-signing keys, and the user-signing key
for its owner only. Read by ``/keys/query``, the federation key queries and the
device-list updates we send other servers."""

from __future__ import annotations

import msgspec

from glia.services.key_formats import JsonDict, with_signatures
from glia.storage import Storage
from glia.storage.keys import DeviceKeys, Signature

__all__ = ["KeysQueryResult", "LocalKeys"]


class KeysQueryResult(msgspec.Struct, frozen=True):
    """``/keys/query``'s answer: signed key objects (free-form JSON) by user ID (and, for
    device keys, device ID); ``failures`` by server name."""

    device_keys: dict[str, dict[str, JsonDict]]
    failures: dict[str, JsonDict]
    master_keys: dict[str, JsonDict]
    self_signing_keys: dict[str, JsonDict]
    user_signing_keys: dict[str, JsonDict]


class LocalKeys:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def query(self, requester_id: str, local: dict[str, list[str]]
                    ) -> KeysQueryResult:
        """Keys of our users ``local`` (user → device IDs, empty: all) as
        ``requester_id`` sees them: the owner's signatures and the viewer's own. A
        viewer ID that is none of our users (a remote server) sees no user-signing
        keys and only the owners' signatures."""
        result = KeysQueryResult({}, {}, {}, {}, {})
        cross_keys = {"master": result.master_keys, "self_signing": result.self_signing_keys,
                      "user_signing": result.user_signing_keys}
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
            devices: dict[str, JsonDict] = {}
            for device in by_user.get(user_id, []):
                keys = with_signatures(device.keys, extra.get(device.device_id, []))
                if device.display_name is not None:
                    keys["unsigned"] = {"device_display_name": device.display_name}
                devices[device.device_id] = keys
            result.device_keys[user_id] = devices
            for key in cross:
                if key.user_id != user_id:
                    continue
                if key.key_type == "user_signing" and user_id != requester_id:
                    continue  # only its owner sees a user-signing key
                cross_keys[key.key_type][user_id] = with_signatures(
                    key.key, extra.get(key.public_key, []))
        return result
