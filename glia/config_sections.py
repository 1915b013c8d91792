"""The configuration's own sections (listeners, database, registration, limits, media,
jobs, push, notices, account validity, logging, testing): one frozen dataclass each, the
defaults in the fields. ``glia.config`` assembles them into ``Config`` and loads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from glia.config_services import UrlPreviewConfig


@dataclass(frozen=True)
class ListenerConfig:
    #: Address to bind. Use 0.0.0.0 or :: to listen on every interface.
    address: str = "127.0.0.1"
    #: TCP port.
    port: int = 8008


@dataclass(frozen=True)
class AdminListenerConfig:
    #: Serve the admin API on its own address/port as well (keep it off the public port).
    enabled: bool = False
    #: Address of the admin listener.
    address: str = "127.0.0.1"
    #: Port of the admin listener.
    port: int = 8009
    #: Also serve the admin mounts (``/_synapse/admin``, ``/_dendrite/admin``,
    #: ``/_glia/admin``) on the client listener. Set false with the admin listener enabled
    #: so that only the admin port answers them; the spec's client-API admin endpoints
    #: (``/_matrix/client/…/admin/whois`` …) stay on the client listener either way.
    on_client_listener: bool = True


@dataclass(frozen=True)
class ListenersConfig:
    #: The Client-Server API listener.
    client: ListenerConfig = field(default_factory=ListenerConfig)
    #: The optional separate admin API listener.
    admin: AdminListenerConfig = field(default_factory=AdminListenerConfig)
    #: Reverse proxies (IP addresses or CIDR networks) whose ``X-Forwarded-For`` is
    #: believed. Empty: the client address is the TCP peer's, whatever the header says.
    trusted_proxies: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DatabaseConfig:
    #: ``sqlite:PATH`` (relative paths are under data_dir) or a PostgreSQL DSN
    #: ``postgresql://user:password@host:port/dbname``.
    url: str = "sqlite:glia.db"
    #: PostgreSQL connection pool size (per process).
    pool_size: int = 10
    #: SQLite durability: ``full`` survives power loss, ``normal`` survives process crashes.
    sqlite_synchronous: str = "full"
    #: PostgreSQL only: set when several Glia processes serve this database. Writers
    #: then mark the stream positions they are writing (``storage.streams``), so no
    #: process's /sync can pass another's uncommitted event.
    several_processes: bool = False


@dataclass(frozen=True)
class RegistrationConfig:
    #: Allow open self-registration through /register.
    enabled: bool = False
    #: Secret for shared-secret admin registration (``glia register-user``). Empty disables it.
    shared_secret: str = ""
    #: Require an ``m.login.registration_token`` stage for self-registration.
    require_token: bool = False
    #: Guest accounts (``/register?kind=guest``), limited to the endpoints the spec
    #: allows guests; off by default, as in Synapse.
    allow_guest_access: bool = False


@dataclass(frozen=True)
class RateLimitClass:
    #: Sustained requests per second.
    per_second: float = 10.0
    #: Bucket size: how many requests may arrive at once.
    burst: int = 50


def _class(per_second: float, burst: int) -> Any:
    return field(default_factory=lambda: RateLimitClass(per_second, burst))


@dataclass(frozen=True)
class FailedLoginConfig:
    """Wrong passwords per account (login and UIA password stages alike), whatever
    address they come from. Each failure takes a token; the attempt that empties the
    bucket starts a back-off that doubles with every further failure, up to
    ``max_backoff``. A right password ends it; so does ``max_backoff`` of quiet."""

    #: Sustained failed attempts per second an account may make (the bucket's refill).
    per_second: float = 0.17
    #: Failed attempts an account may make at once before the back-off starts.
    burst: int = 3
    #: Longest back-off, in seconds (the first lasts ``1 / per_second``).
    max_backoff: float = 900.0


@dataclass(frozen=True)
class RateLimitConfig:
    #: Turn rate limiting off entirely (tests, benchmarks, trusted deployments).
    enabled: bool = True
    #: Login attempts, per client address.
    login: RateLimitClass = _class(0.17, 3)
    #: Registration requests, per client address.
    register: RateLimitClass = _class(0.17, 3)
    #: Sending messages and state, per user.
    message: RateLimitClass = _class(5.0, 20)
    #: Everything else that declares a rate-limit class, per user or address.
    default: RateLimitClass = _class(20.0, 100)
    #: Failed password attempts, per account.
    failed_login: FailedLoginConfig = field(default_factory=FailedLoginConfig)


@dataclass(frozen=True)
class PasswordConfig:
    #: bcrypt cost factor (Synapse's default is 12).
    bcrypt_rounds: int = 12
    #: Minimum password length for new passwords.
    minimum_length: int = 0
    #: Longest password accepted, in characters (Synapse's limit is 512). Longer new
    #: passwords are refused; a longer login attempt fails without being hashed. bcrypt
    #: reads only the first 72 bytes, as it did for Synapse's hashes.
    maximum_length: int = 512


@dataclass(frozen=True)
class MediaConfig(UrlPreviewConfig):
    # The URL preview keys (``url_preview_enabled`` …) come from UrlPreviewConfig.
    #: Where uploaded files are stored (relative paths are under data_dir).
    store_path: str = "media"
    #: Largest accepted upload, in bytes.
    max_upload_size: int = 50 * 1024 * 1024
    #: Images with more pixels than this are not thumbnailed (decompression bombs).
    max_image_pixels: int = 32_000_000
    #: Thumbnails one process renders at once (each decodes a whole image: a 20-megapixel
    #: picture takes ~80 MB while it is rendered); further requests wait their turn.
    max_concurrent_thumbnails: int = 2
    #: IDs from /create a user may hold without having uploaded to them yet.
    max_pending_uploads: int = 5
    #: Seconds an ID from /create stays usable without an upload (the spec's 24 hours).
    unused_expiration: float = 86400.0
    #: Media stored while this is on is marked authenticated and, while it stays on, is
    #: served only on the authenticated /_matrix/client/v1/media paths (Synapse's
    #: default); media stored while it was off is served on the legacy paths as well.
    enable_authenticated_media: bool = True
    #: Largest file fetched from another server, in bytes (0: ``max_upload_size``, as
    #: Synapse); a larger one is refused while it streams in.
    max_remote_media_size: int = 0
    #: Seconds one fetch of another server's file may take in all.
    remote_media_timeout: float = 120.0


@dataclass(frozen=True)
class JobsConfig:
    #: Seconds without a heartbeat after which another worker takes over an active job
    #: (its process died); workers heartbeat every third of this.
    heartbeat_timeout: float = 30.0
    #: Jobs one process runs at once.
    concurrency: int = 2


@dataclass(frozen=True)
class PushConfig:
    #: Let pushers deliver to gateways on loopback, private, link-local or otherwise
    #: non-public addresses. Off, a user cannot make the server POST into its own network.
    allow_private_gateways: bool = False


@dataclass(frozen=True)
class ServerNoticesConfig:
    #: Admins may send server notices (/_synapse/admin/v1/send_server_notice).
    enabled: bool = True
    #: Localpart of the user notices come from (created on first use).
    system_mxid_localpart: str = "server"
    #: Display name and avatar (mxc://) of that user.
    system_mxid_display_name: str = "Server Notices"
    system_mxid_avatar_url: str = ""
    #: Name, topic and avatar of each user's notices room.
    room_name: str = "Server Notices"
    room_topic: str = ""
    room_avatar_url: str = ""


@dataclass(frozen=True)
class AccountValidityConfig:
    #: Accounts expire ``period`` after registration (or their last renewal); an expired
    #: account's requests are refused with ``403 M_EXPIRED_ACCOUNT``.
    enabled: bool = False
    #: Seconds an account stays valid after registration or renewal (30 days).
    period: float = 30 * 86400.0
    #: Seconds before expiry when the user gets a server notice with a renewal link
    #: (Synapse sends an email; Glia has no mail, so the link comes as a server notice).
    renew_at: float = 7 * 86400.0


@dataclass(frozen=True)
class TestingConfig:
    #: For test suites driving a real server: run on a clock that
    #: ``POST /_glia/admin/v1/testing/clock {"advance_ms": N}`` (admin only) moves forward,
    #: so expiry, presence, rate limits and jobs can be tested without waiting. Never on
    #: a production server: an admin could make every token and session expire.
    clock_control: bool = False


@dataclass(frozen=True)
class LoggingConfig:
    #: Python logging level name.
    level: str = "INFO"
    #: Log one line per HTTP request.
    access_log: bool = True
