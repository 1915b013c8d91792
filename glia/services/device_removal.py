"""What must happen whenever devices are deleted, whichever path deletes them (logout,
logout-all, a password change that logs out, deactivation, the device APIs).

The steps, given at construction, run inside the deleting transaction, before the device
rows go: end-to-end keys record a device-list change (so other users stop encrypting for
the device) and wake the syncs that should see it once the transaction commits.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from glia.storage import Stores

#: (tx, user_id, device_ids) → runs before those devices are deleted in ``tx``.
RemovalStep = Callable[[Stores, str, list[str]], Awaitable[None]]


class DeviceRemoval:
    def __init__(self, steps: Sequence[RemovalStep]) -> None:
        self._steps = list(steps)

    async def before_delete(self, tx: Stores, user_id: str,
                            device_ids: list[str] | None = None) -> None:
        """Call in the deleting transaction; ``None`` means every device of the user."""
        if device_ids is None:
            device_ids = [d.device_id for d in await tx.devices.list(user_id)]
        if device_ids:
            for step in self._steps:
                await step(tx, user_id, device_ids)
