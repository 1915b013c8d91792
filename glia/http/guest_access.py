"""Which routes a guest's token may use: the spec's list (Guest Access module, "Client
behaviour"), plus the few more Synapse lets guests call that a guest client needs to
run at all (filters, capabilities, presence, typing, joining by alias). Every other
route answers a guest ``403 M_GUEST_ACCESS_FORBIDDEN``, enforced centrally with the
route's auth level. Paths are written without their ``/_matrix/<api>/<version>`` prefix.
"""

from __future__ import annotations

import re
from functools import cache

_PREFIX = re.compile(r"^/_matrix/(?:client|media)/[^/]+")

GUEST_ROUTES: frozenset[tuple[str, str]] = frozenset({
    # Retrieving events and media.
    ("GET", "/rooms/{roomId}/state"),
    ("GET", "/rooms/{roomId}/state/{eventType}"),
    ("GET", "/rooms/{roomId}/state/{eventType}/{stateKey}"),
    ("GET", "/rooms/{roomId}/context/{eventId}"),
    ("GET", "/rooms/{roomId}/event/{eventId}"),
    ("GET", "/rooms/{roomId}/messages"),
    ("GET", "/rooms/{roomId}/members"),
    ("GET", "/rooms/{roomId}/initialSync"),
    ("GET", "/sync"),
    ("GET", "/events"),
    ("GET", "/media/download/{serverName}/{mediaId}"),
    ("GET", "/media/download/{serverName}/{mediaId}/{fileName}"),
    ("GET", "/media/thumbnail/{serverName}/{mediaId}"),
    ("GET", "/download/{serverName}/{mediaId}"),
    ("GET", "/download/{serverName}/{mediaId}/{fileName}"),
    ("GET", "/thumbnail/{serverName}/{mediaId}"),
    # Sending events.
    ("POST", "/rooms/{roomId}/join"),
    ("POST", "/join/{roomIdOrAlias}"),
    ("POST", "/rooms/{roomId}/leave"),
    ("PUT", "/rooms/{roomId}/send/{eventType}/{txnId}"),
    ("PUT", "/rooms/{roomId}/state/{eventType}"),
    ("PUT", "/rooms/{roomId}/state/{eventType}/{stateKey}"),
    ("PUT", "/sendToDevice/{eventType}/{txnId}"),
    ("PUT", "/rooms/{roomId}/typing/{userId}"),
    # Their own account.
    ("PUT", "/profile/{userId}/displayname"),
    ("DELETE", "/profile/{userId}/displayname"),
    ("GET", "/devices"),
    ("GET", "/devices/{deviceId}"),
    ("PUT", "/devices/{deviceId}"),
    ("GET", "/account/whoami"),
    ("POST", "/user/{userId}/filter"),
    ("GET", "/user/{userId}/filter/{filterId}"),
    ("GET", "/capabilities"),
    ("GET", "/presence/{userId}/status"),
    ("PUT", "/presence/{userId}/status"),
    # End-to-end encryption.
    ("POST", "/keys/upload"),
    ("POST", "/keys/query"),
    ("POST", "/keys/claim"),
})


@cache
def guest_allowed(method: str, path: str) -> bool:
    """Whether a guest may call the route declared as ``method path``."""
    method = "GET" if method == "HEAD" else method
    return (method, _PREFIX.sub("", path)) in GUEST_ROUTES
