"""Push: users' rules and their changes to the server defaults, notifications, read
positions, pushers, and the queue of pushes to HTTP gateways.

One module per area; :class:`PushStore` joins them so services reach all of push through
``storage.push``.
"""

from __future__ import annotations

from glia.storage.push.deliveries import Delivery, DeliveryStore
from glia.storage.push.notifications import Notification, NotificationStore, RoomNotification
from glia.storage.push.pushers import Pusher, PusherStore
from glia.storage.push.rules import PushRuleStore, UserRules


class PushStore(PushRuleStore, NotificationStore, PusherStore, DeliveryStore):
    """Every push area bound to one executor."""


__all__ = ["Delivery", "Notification", "PushStore", "Pusher", "RoomNotification", "UserRules"]
