"""Configuration sections of the optional client services: the user directory, TURN
credentials for VoIP, URL previews and outgoing email.

They live apart from ``config.py`` only to keep each module small; ``Config`` holds them
like every other section, and their keys keep Synapse's names so an operator's
``homeserver.yaml`` values carry over.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

#: Synapse's default ``url_preview_ip_range_blacklist`` advice: every range that is not
#: the public internet (loopback, private, link-local, carrier-grade NAT, multicast,
#: documentation and reserved ranges, and their IPv6 counterparts).
DEFAULT_PREVIEW_BLACKLIST = [
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
    "192.0.0.0/24", "169.254.0.0/16", "192.88.99.0/24", "198.18.0.0/15", "192.0.2.0/24",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "0.0.0.0/8", "240.0.0.0/4",
    "255.255.255.255/32", "::1/128", "::/128", "fe80::/10", "fc00::/7", "2001:db8::/32",
    "ff00::/8", "fec0::/10", "::ffff:0:0/96", "64:ff9b::/96", "2002::/16",
]


@dataclass(frozen=True)
class UserDirectoryConfig:
    #: Serve ``/user_directory/search`` (off: every search finds nobody, as in Synapse).
    enabled: bool = True
    #: Search every user the server knows (all local users and the remote users in its
    #: rooms), not just those in public rooms or sharing a room with the searcher.
    search_all_users: bool = False


@dataclass(frozen=True)
class VoipConfig:
    #: TURN server URIs handed to clients (``turn:host:3478?transport=udp`` …). Empty:
    #: ``/voip/turnServer`` answers ``{}``.
    turn_uris: list[str] = field(default_factory=list)
    #: coturn's ``static-auth-secret``: credentials are made per request, valid for
    #: ``turn_user_lifetime`` (username ``expiry:user_id``, password HMAC-SHA1 of it).
    turn_shared_secret: str = ""
    #: Fixed TURN credentials, used when no shared secret is set.
    turn_username: str = ""
    turn_password: str = ""
    #: How long credentials made from the shared secret stay valid, in seconds.
    turn_user_lifetime: float = 3600.0


@dataclass(frozen=True)
class UrlPreviewConfig:
    #: Serve ``preview_url`` (off: ``404 M_UNKNOWN``, as Synapse answers).
    url_preview_enabled: bool = False
    #: Address ranges (CIDR) the server never fetches from, judged by the resolved IP of
    #: every connection, redirects included. Required when previews are on.
    url_preview_ip_range_blacklist: list[str] = field(
        default_factory=lambda: list(DEFAULT_PREVIEW_BLACKLIST))
    #: Ranges fetched even when the blacklist covers them (an intranet wiki).
    url_preview_ip_range_whitelist: list[str] = field(default_factory=list)
    #: Largest page or image read, in bytes (Synapse's ``max_spider_size``).
    max_spider_size: int = 10 * 1024 * 1024
    #: Seconds a fetch may take in all (connect, redirects, body).
    url_preview_timeout: float = 10.0
    #: Seconds a preview is served from the cache before the page is fetched again.
    url_preview_cache_lifetime: float = 3600.0


@dataclass(frozen=True)
class EmailConfig:
    #: SMTP server the validation mails go through.
    smtp_host: str = ""
    smtp_port: int = 25
    #: SMTP login; empty: no authentication.
    smtp_user: str = ""
    smtp_pass: str = ""
    #: Connect with TLS from the start (SMTPS, usually port 465).
    force_tls: bool = False
    #: Upgrade with STARTTLS when the server offers it; with
    #: ``require_transport_security`` a server that does not is refused.
    enable_tls: bool = True
    require_transport_security: bool = False
    #: The From header of every mail (``%(app)s`` is replaced by ``app_name``).
    notif_from: str = "Your Friendly %(app)s homeserver <noreply@example.com>"
    #: The name mails call the service by.
    app_name: str = "Matrix"
    #: Seconds a validation token sent by mail stays usable.
    validation_token_lifetime: float = 3600.0

    @property
    def configured(self) -> bool:
        return bool(self.smtp_host)


@dataclass(frozen=True)
class IdentityServerConfig:
    #: Let identity servers (named by clients for binds and third-party invites) be on
    #: loopback, private or otherwise non-public addresses. Off, a user cannot make the
    #: server call into its own network.
    allow_private: bool = False
    #: Reach identity servers over plain http instead of https. For test suites only.
    plain_http: bool = False


def validate_service_sections(user_directory: UserDirectoryConfig, voip: VoipConfig,
                              previews: UrlPreviewConfig, email: EmailConfig,
                              problems: list[str]) -> None:
    """Append a ``path: reason`` for every invalid value of these sections."""
    del user_directory  # two booleans: nothing to check beyond their type
    if voip.turn_user_lifetime <= 0:
        problems.append("voip.turn_user_lifetime: must be > 0")
    for uri in voip.turn_uris:
        if not uri.startswith(("turn:", "turns:", "stun:")):
            problems.append(f"voip.turn_uris: {uri!r} is not a turn:, turns: or stun: URI")
    for name in ("url_preview_ip_range_blacklist", "url_preview_ip_range_whitelist"):
        for network in getattr(previews, name):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                problems.append(f"media.{name}: {network!r} is not an IP network")
    if previews.url_preview_enabled and not previews.url_preview_ip_range_blacklist:
        problems.append("media.url_preview_ip_range_blacklist: required when"
                        " url_preview_enabled is set (previews would reach your network)")
    if previews.max_spider_size < 1024:
        problems.append("media.max_spider_size: must be at least 1024")
    if previews.url_preview_timeout <= 0 or previews.url_preview_cache_lifetime < 0:
        problems.append("media.url_preview_timeout must be > 0 and"
                        " media.url_preview_cache_lifetime >= 0")
    if not 0 < email.smtp_port <= 65535:
        problems.append("email.smtp_port: must be between 1 and 65535")
    if email.validation_token_lifetime <= 0:
        problems.append("email.validation_token_lifetime: must be > 0")
