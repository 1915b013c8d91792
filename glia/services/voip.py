"""TURN credentials for VoIP calls (``GET /voip/turnServer``).

With ``voip.turn_shared_secret`` (coturn's ``static-auth-secret``, its "TURN REST API"
scheme) each request gets credentials that expire: the username is
``<expiry in Unix seconds>:<user ID>`` and the password the base64 HMAC-SHA1 of that
username under the secret, which coturn recomputes to check them. Otherwise the static
``turn_username``/``turn_password`` are handed out. No ``turn_uris``, or no credentials
configured: no TURN server, answered as an empty object as Synapse does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from glia.clock import Clock
from glia.config_services import VoipConfig

__all__ = ["TurnCredentials", "VoipService", "turn_password"]


@dataclass(frozen=True)
class TurnCredentials:
    username: str
    password: str
    uris: list[str]
    #: Seconds the credentials stay valid.
    ttl: int


def turn_password(secret: str, username: str) -> str:
    """coturn's REST-API password for ``username``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


class VoipService:
    def __init__(self, config: VoipConfig, clock: Clock) -> None:
        self._config = config
        self._clock = clock

    def turn_server(self, user_id: str) -> TurnCredentials | None:
        """Credentials for ``user_id``, or None when no TURN server is configured."""
        config = self._config
        if not config.turn_uris:
            return None
        ttl = int(config.turn_user_lifetime)
        if config.turn_shared_secret:
            expiry = (self._clock.now_ms() + int(config.turn_user_lifetime * 1000)) // 1000
            username = f"{expiry}:{user_id}"
            return TurnCredentials(username,
                                   turn_password(config.turn_shared_secret, username),
                                   list(config.turn_uris), ttl)
        if config.turn_username and config.turn_password:
            return TurnCredentials(config.turn_username, config.turn_password,
                                   list(config.turn_uris), ttl)
        return None
