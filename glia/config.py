"""Configuration: one YAML file, a frozen dataclass per section, ``GLIA_*`` overrides.

Defaults live in the dataclasses, so a config file only needs what differs. Validation
collects every problem (with the key's path) before reporting, so an operator fixes them
all in one go. Any key can be overridden by ``GLIA_<SECTION>__<KEY>``; nested keys are
joined with ``__`` (``GLIA_LISTENERS__ADMIN__PORT=8009``).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from glia.config_federation import FederationConfig, validate_federation
from glia.config_sections import (
    AccountValidityConfig,
    DatabaseConfig,
    JobsConfig,
    ListenersConfig,
    LoggingConfig,
    MediaConfig,
    PasswordConfig,
    PushConfig,
    RateLimitClass,
    RateLimitConfig,
    RegistrationConfig,
    ServerNoticesConfig,
    TestingConfig,
)
from glia.config_services import (
    EmailConfig,
    IdentityServerConfig,
    UserDirectoryConfig,
    VoipConfig,
    validate_service_sections,
)
from glia.ids import is_valid_server_name

ENV_PREFIX = "GLIA_"


class ConfigError(Exception):
    """The configuration is invalid; ``problems`` lists every ``path: reason``."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Config:
    #: The server name: the domain part of every user ID on this server.
    server_name: str = "localhost"
    #: Where the database (SQLite), signing key and media live.
    data_dir: str = "data"
    #: The URL clients reach this server at (advertised in .well-known). Empty: derived.
    public_baseurl: str = ""
    #: Path of the ed25519 signing key (relative paths are under data_dir).
    signing_key_path: str = "signing.key"
    #: Largest JSON request body accepted, in bytes.
    max_request_size: int = 1024 * 1024
    #: Deepest nesting of objects and arrays accepted in a JSON body (M_BAD_JSON beyond).
    max_json_depth: int = 100
    #: Seconds the address history (whois, the admin user list's ``last_seen_ts``) keeps
    #: an access token's address after it was last seen; Synapse's 28 days. 0 keeps it.
    user_ips_max_age: float = 28 * 86400.0
    #: Seconds the original content of a redacted event stays readable by admins
    #: (``fetch_event``); Synapse's 7 days. 0 keeps it.
    redaction_retention_period: float = 7 * 86400.0
    listeners: ListenersConfig = field(default_factory=ListenersConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    registration: RegistrationConfig = field(default_factory=RegistrationConfig)
    ratelimit: RateLimitConfig = field(default_factory=RateLimitConfig)
    password: PasswordConfig = field(default_factory=PasswordConfig)
    media: MediaConfig = field(default_factory=MediaConfig)
    jobs: JobsConfig = field(default_factory=JobsConfig)
    server_notices: ServerNoticesConfig = field(default_factory=ServerNoticesConfig)
    push: PushConfig = field(default_factory=PushConfig)
    account_validity: AccountValidityConfig = field(default_factory=AccountValidityConfig)
    user_directory: UserDirectoryConfig = field(default_factory=UserDirectoryConfig)
    voip: VoipConfig = field(default_factory=VoipConfig)
    email: EmailConfig = field(default_factory=EmailConfig)
    identity_server: IdentityServerConfig = field(default_factory=IdentityServerConfig)
    federation: FederationConfig = field(default_factory=FederationConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    testing: TestingConfig = field(default_factory=TestingConfig)
    #: Application-service registration files (Synapse's YAML format), relative to the
    #: config file's directory; read and checked at start-up.
    app_service_config_files: list[str] = field(default_factory=list)
    #: Seconds Glia waits for an application service's answer (transactions, queries,
    #: pings) before it counts as failed.
    app_service_timeout: float = 30.0
    #: Directory of the config file; relative paths resolve against data_dir under it.
    base_dir: str = field(default=".", metadata={"internal": True})

    def resolve(self, path: str) -> Path:
        """Resolve a path option: absolute stays, relative is under data_dir."""
        p = Path(path)
        if p.is_absolute():
            return p
        data = Path(self.data_dir)
        if not data.is_absolute():
            data = Path(self.base_dir) / data
        return data / p

    @property
    def is_postgres(self) -> bool:
        return self.database.url.startswith(("postgres://", "postgresql://"))

    @property
    def sqlite_path(self) -> Path:
        return self.resolve(self.database.url.removeprefix("sqlite:").removeprefix("//"))

    @property
    def baseurl(self) -> str:
        if self.public_baseurl:
            return self.public_baseurl.rstrip("/") + "/"
        listener = self.listeners.client
        return f"http://{self.server_name}:{listener.port}/" if ":" not in self.server_name \
            else f"http://{self.server_name}/"


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _coerce(value: Any, tp: Any, path: str, problems: list[str]) -> Any:
    """Check ``value`` against a field type, converting env-var strings where sensible."""
    if _is_dataclass_type(tp):
        if not isinstance(value, Mapping):
            problems.append(f"{path}: expected a mapping")
            return tp()
        return _build(tp, value, path + ".", problems)
    if tp is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if isinstance(value, bool):
            return value
        problems.append(f"{path}: expected true or false, got {value!r}")
        return None
    if tp is int:
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        elif isinstance(value, int) and not isinstance(value, bool):
            return value
        problems.append(f"{path}: expected an integer, got {value!r}")
        return None
    if tp is float:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        problems.append(f"{path}: expected a number, got {value!r}")
        return None
    if typing.get_origin(tp) is list:
        # A YAML list, or a comma-separated string (environment variables).
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return [i.strip() for i in items if i.strip()]
        problems.append(f"{path}: expected a list of strings, got {value!r}")
        return None
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        if value is None:
            return ""
        problems.append(f"{path}: expected a string, got {value!r}")
        return None
    return value


def _build(cls: Any, data: Mapping[str, Any], prefix: str, problems: list[str]) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in fields:
            problems.append(f"{path}: unknown option")
            continue
        coerced = _coerce(value, hints[key], path, problems)
        if coerced is not None:
            kwargs[key] = coerced
    return cls(**kwargs)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """Turn ``GLIA_A__B=v`` into ``{"a": {"b": "v"}}`` (strings; coerced later)."""
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name.startswith(ENV_PREFIX + "TEST_"):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX):].split("__")]
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = value
    return tree


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _validate(config: Config, problems: list[str]) -> None:
    validate_federation(config.federation, problems)
    if not is_valid_server_name(config.server_name):
        problems.append(f"server_name: {config.server_name!r} is not a valid server name")
    for path, port in (
        ("listeners.client.port", config.listeners.client.port),
        ("listeners.admin.port", config.listeners.admin.port),
    ):
        if not 0 <= port <= 65535:
            problems.append(f"{path}: must be between 0 and 65535")
    url = config.database.url
    if not (url.startswith("sqlite:") or config.is_postgres):
        problems.append("database.url: must start with sqlite: or postgresql://")
    for proxy in config.listeners.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            problems.append(f"listeners.trusted_proxies: {proxy!r} is not an IP address"
                            " or network")
    if config.database.pool_size < 1:
        problems.append("database.pool_size: must be at least 1")
    if config.database.sqlite_synchronous not in ("full", "normal"):
        problems.append("database.sqlite_synchronous: must be full or normal")
    if not 4 <= config.password.bcrypt_rounds <= 31:
        problems.append("password.bcrypt_rounds: must be between 4 and 31")
    if not max(1, config.password.minimum_length) <= config.password.maximum_length <= 65536:
        problems.append("password.maximum_length: must be between password.minimum_length"
                        " (and 1) and 65536")
    if config.app_service_timeout <= 0:
        problems.append("app_service_timeout: must be > 0")
    if config.max_request_size < 1024:
        problems.append("max_request_size: must be at least 1024")
    if not 2 <= config.max_json_depth <= 500:
        problems.append("max_json_depth: must be between 2 and 500")
    if config.media.max_upload_size < 0:
        problems.append("media.max_upload_size: must not be negative")
    if config.media.max_remote_media_size < 0:
        problems.append("media.max_remote_media_size: must not be negative")
    if config.media.remote_media_timeout <= 0:
        problems.append("media.remote_media_timeout: must be > 0")
    if config.media.max_image_pixels < 1:
        problems.append("media.max_image_pixels: must be at least 1")
    if config.media.max_concurrent_thumbnails < 1:
        problems.append("media.max_concurrent_thumbnails: must be at least 1")
    if config.media.max_pending_uploads < 1:
        problems.append("media.max_pending_uploads: must be at least 1")
    if config.media.unused_expiration <= 0:
        problems.append("media.unused_expiration: must be > 0")
    if config.account_validity.period <= 0:
        problems.append("account_validity.period: must be > 0")
    if not 0 <= config.account_validity.renew_at < config.account_validity.period:
        problems.append("account_validity.renew_at: must be >= 0 and less than the period")
    if config.logging.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        problems.append("logging.level: must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    for name in ("login", "register", "message", "default"):
        cls: RateLimitClass = getattr(config.ratelimit, name)
        if cls.per_second <= 0 or cls.burst < 1:
            problems.append(f"ratelimit.{name}: per_second must be > 0 and burst >= 1")
    validate_service_sections(config.user_directory, config.voip, config.media,
                              config.email, problems)
    failed = config.ratelimit.failed_login
    if failed.per_second <= 0 or failed.burst < 1:
        problems.append("ratelimit.failed_login: per_second must be > 0 and burst >= 1")
    if failed.max_backoff < 1 / max(failed.per_second, 1e-9):
        problems.append("ratelimit.failed_login.max_backoff: must be at least 1 / per_second")


def load_config(
    path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> Config:
    """Read the YAML file (if any), apply ``GLIA_*`` overrides, validate everything."""
    data: dict[str, Any] = {}
    base_dir = "."
    if path is not None:
        try:
            text = Path(path).read_text()
        except OSError as e:
            raise ConfigError([f"{path}: cannot read ({e.strerror})"]) from e
        try:
            loaded = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError([f"{path}: not valid YAML ({e})"]) from e
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError([f"{path}: the top level must be a mapping"])
        data = loaded or {}
        base_dir = str(Path(path).resolve().parent)
    data = _merge(data, _env_overrides(os.environ if environ is None else environ))
    problems: list[str] = []
    config: Config = _build(Config, data, "", problems)
    config = dataclasses.replace(config, base_dir=base_dir)
    _validate(config, problems)
    if problems:
        raise ConfigError(problems)
    return config


def _comment_lines(cls: Any) -> dict[str, str]:
    """The ``#:`` comments above each field, read from this module's source."""
    import inspect

    comments: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(cls).splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
        elif ":" in stripped and not stripped.startswith(("@", "class ", "def ", "\"")):
            comments[stripped.split(":")[0]] = " ".join(pending)
            pending = []
        else:
            pending = []
    return comments


def _render(obj: Any, indent: int, out: list[str]) -> None:
    comments: dict[str, str] = {}
    for cls in reversed(type(obj).__mro__[:-1]):  # a section's base keys first
        comments.update(_comment_lines(cls))
    pad = "  " * indent
    for f in dataclasses.fields(obj):
        if f.metadata.get("internal"):
            continue
        value = getattr(obj, f.name)
        if comments.get(f.name):
            out.append(f"{pad}# {comments[f.name]}")
        if dataclasses.is_dataclass(value):
            out.append(f"{pad}{f.name}:")
            _render(value, indent + 1, out)
        else:
            dumped = yaml.safe_dump(value, default_flow_style=True).strip()
            dumped = dumped.removesuffix("\n...").removesuffix("...").strip()
            out.append(f"{pad}{f.name}: {dumped}")


def render_config(config: Config) -> str:
    """Every option with its value and a comment: what ``glia init`` writes."""
    out = ["# Glia configuration. Every option is listed with its default.",
           "# Any option can be overridden by an environment variable named after its path:",
           "# GLIA_<SECTION>__<KEY>, e.g. GLIA_DATABASE__URL=postgresql://glia@localhost/glia", ""]
    _render(config, 0, out)
    return "\n".join(out) + "\n"

