"""Application-service registration files (Synapse's YAML format) and the namespace
rules that decide which users, aliases and rooms belong to which service.

The files are listed in ``app_service_config_files`` and read once at start-up; a bad
file stops the server with a :class:`~glia.config.ConfigError` naming the file and the
field, every problem at once, as the main config does.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from glia.config import Config, ConfigError
from glia.ids import localpart_error

#: The registration keys that turn on ephemeral events (typing, receipts, presence):
#: the stable name and MSC2409's, which bridges still write.
EPHEMERAL_KEYS = ("receive_ephemeral", "de.sorunome.msc2409.push_ephemeral",
                  "push_ephemeral")
#: To-device messages for the service's users (MSC2409); needs ephemeral events too.
TO_DEVICE_KEYS = ("org.matrix.msc2409.push_to_device", "push_to_device")
#: Device-list changes and one-time key counts of the service's users (MSC3202).
MSC3202_KEY = "org.matrix.msc3202"


@dataclass(frozen=True)
class Namespace:
    regex: re.Pattern[str]
    exclusive: bool

    def matches(self, value: str) -> bool:
        # Anchored at the start only, as Synapse matches (bridges rely on it).
        return self.regex.match(value) is not None


@dataclass(frozen=True)
class AppService:
    """One registered application service."""

    id: str
    #: Where transactions and queries go; None: the service only calls in.
    url: str | None
    as_token: str
    hs_token: str
    #: The service's own user (``@sender_localpart:server``).
    sender: str
    users: tuple[Namespace, ...] = ()
    aliases: tuple[Namespace, ...] = ()
    rooms: tuple[Namespace, ...] = ()
    protocols: tuple[str, ...] = ()
    #: Whether requests of its users count against the rate limits.
    rate_limited: bool = False
    receive_ephemeral: bool = False
    receive_to_device: bool = False
    #: MSC3202: device lists and key counts in transactions.
    device_lists: bool = False
    #: Which registration file it came from (for messages to the operator).
    source: str = field(default="", compare=False)

    def owns_user(self, user_id: str) -> bool:
        """The user is the service's sender or in one of its user namespaces."""
        return user_id == self.sender or any(n.matches(user_id) for n in self.users)

    def owns_alias(self, alias: str) -> bool:
        return any(n.matches(alias) for n in self.aliases)

    def owns_room(self, room_id: str) -> bool:
        return any(n.matches(room_id) for n in self.rooms)

    def claims_user(self, user_id: str) -> bool:
        """In an *exclusive* user namespace: nobody else may have it."""
        return any(n.exclusive and n.matches(user_id) for n in self.users)

    def claims_alias(self, alias: str) -> bool:
        return any(n.exclusive and n.matches(alias) for n in self.aliases)


class AppServices:
    """Every registered service, looked up by token, user, alias or id."""

    def __init__(self, services: Sequence[AppService]) -> None:
        self.all = tuple(services)
        self._by_token = {_digest(s.as_token): s for s in services}
        self._by_id = {s.id: s for s in services}

    def __bool__(self) -> bool:
        return bool(self.all)

    def by_token(self, token: str) -> AppService | None:
        return self._by_token.get(_digest(token))

    def by_id(self, service_id: str) -> AppService | None:
        return self._by_id.get(service_id)

    def claiming_user(self, user_id: str) -> AppService | None:
        """The service holding ``user_id`` in an exclusive namespace, if any."""
        return next((s for s in self.all if s.claims_user(user_id)), None)

    def claiming_alias(self, alias: str) -> AppService | None:
        return next((s for s in self.all if s.claims_alias(alias)), None)

    def owning_user(self, user_id: str) -> list[AppService]:
        return [s for s in self.all if s.owns_user(user_id)]

    def owning_alias(self, alias: str) -> list[AppService]:
        return [s for s in self.all if s.owns_alias(alias)]

    def with_protocol(self, protocol: str) -> list[AppService]:
        return [s for s in self.all if protocol in s.protocols and s.url]


def _digest(token: str) -> str:
    # Looked up by digest so the raw tokens are not the dictionary's keys.
    return hashlib.sha256(token.encode()).hexdigest()


# -- reading the files -------------------------------------------------------------------


def load_app_services(config: Config) -> AppServices:
    """Read and check every registration file; raise ``ConfigError`` listing every
    problem as ``file: field: reason``."""
    problems: list[str] = []
    services: list[AppService] = []
    for name in config.app_service_config_files:
        path = Path(name) if Path(name).is_absolute() else Path(config.base_dir) / name
        try:
            data = yaml.safe_load(path.read_text())
        except OSError as e:
            problems.append(f"{name}: cannot read ({e.strerror})")
            continue
        except yaml.YAMLError as e:
            problems.append(f"{name}: not valid YAML ({e})")
            continue
        if not isinstance(data, Mapping):
            problems.append(f"{name}: the top level must be a mapping")
            continue
        service = parse_registration(data, config.server_name, name, problems)
        if service is not None:
            services.append(service)
    _check_unique(services, problems)
    if problems:
        raise ConfigError(problems)
    return AppServices(services)


def _check_unique(services: Sequence[AppService], problems: list[str]) -> None:
    seen: dict[tuple[str, str], str] = {}
    for s in services:
        for what, value in (("id", s.id), ("as_token", s.as_token),
                            ("sender_localpart", s.sender)):
            other = seen.setdefault((what, value), s.source)
            if other != s.source:
                problems.append(f"{s.source}: {what}: the same as in {other}"
                                " (each application service needs its own)")


def parse_registration(data: Mapping[str, Any], server_name: str, source: str,
                       problems: list[str]) -> AppService | None:
    """One registration file's content, or None (with ``problems`` appended)."""
    before = len(problems)

    def problem(key: str, reason: str) -> None:
        problems.append(f"{source}: {key}: {reason}")

    def text(key: str, required: bool = True) -> str:
        value = data.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or not value:
            problem(key, "required, a non-empty string" if value is None
                    else f"must be a non-empty string, got {value!r}")
            return ""
        return value

    service_id, as_token, hs_token = text("id"), text("as_token"), text("hs_token")
    if as_token and as_token == hs_token:
        problem("hs_token", "must differ from as_token")
    localpart = text("sender_localpart")
    if localpart and localpart_error(localpart) is not None:
        problem("sender_localpart", f"not a valid localpart ({localpart_error(localpart)})")
    url = _url(data, problem)
    namespaces = data.get("namespaces")
    if namespaces is None:
        namespaces = {}
    if not isinstance(namespaces, Mapping):
        problem("namespaces", "must be a mapping of users, aliases and rooms")
        namespaces = {}
    parsed = {kind: _namespaces(namespaces.get(kind), f"namespaces.{kind}", problem)
              for kind in ("users", "aliases", "rooms")}
    for key in namespaces:
        if key not in parsed:
            problem(f"namespaces.{key}", "unknown namespace (users, aliases or rooms)")
    protocols = data.get("protocols") or []
    if not isinstance(protocols, list) or not all(isinstance(p, str) for p in protocols):
        problem("protocols", "must be a list of strings")
        protocols = []
    flags = {key: _flag(data, key, problem) for key in (
        "rate_limited", *EPHEMERAL_KEYS, *TO_DEVICE_KEYS, MSC3202_KEY)}
    if len(problems) > before:
        return None
    return AppService(
        id=service_id, url=url, as_token=as_token, hs_token=hs_token,
        sender=f"@{localpart}:{server_name}", users=parsed["users"],
        aliases=parsed["aliases"], rooms=parsed["rooms"], protocols=tuple(protocols),
        rate_limited=flags["rate_limited"],
        receive_ephemeral=any(flags[k] for k in EPHEMERAL_KEYS),
        receive_to_device=any(flags[k] for k in TO_DEVICE_KEYS),
        device_lists=flags[MSC3202_KEY], source=source)


def _url(data: Mapping[str, Any], problem: Any) -> str | None:
    if "url" not in data:
        problem("url", "required (a URL, or null for a service that receives nothing)")
        return None
    url = data["url"]
    if url is None:
        return None
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https") \
            or not urlsplit(url).netloc:
        problem("url", f"must be an http(s) URL or null, got {url!r}")
        return None
    return url.rstrip("/")


def _flag(data: Mapping[str, Any], key: str, problem: Any) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        problem(key, f"must be true or false, got {value!r}")
        return False
    return value


def _namespaces(value: Any, key: str, problem: Any) -> tuple[Namespace, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problem(key, "must be a list of {exclusive, regex}")
        return ()
    out = []
    for i, entry in enumerate(value):
        where = f"{key}[{i}]"
        if not isinstance(entry, Mapping):
            problem(where, "must be a mapping with exclusive and regex")
            continue
        regex, exclusive = entry.get("regex"), entry.get("exclusive")
        if not isinstance(exclusive, bool):
            problem(f"{where}.exclusive", f"required, true or false, got {exclusive!r}")
        if not isinstance(regex, str) or not regex:
            problem(f"{where}.regex", "required, a non-empty string")
            continue
        try:
            compiled = re.compile(regex)
        except re.error as e:
            problem(f"{where}.regex", f"not a valid regular expression ({e})")
            continue
        if isinstance(exclusive, bool):
            out.append(Namespace(compiled, exclusive))
    return tuple(out)


def registration_yaml(service_id: str, url: str | None, sender_localpart: str,
                      user_regex: str, alias_regex: str, tokens: Iterable[str],
                      receive_ephemeral: bool) -> str:
    """A registration file's text (what ``glia appservice-registration`` writes)."""
    as_token, hs_token = tokens
    data = {
        "id": service_id, "url": url, "as_token": as_token, "hs_token": hs_token,
        "sender_localpart": sender_localpart, "rate_limited": False,
        "receive_ephemeral": receive_ephemeral,
        "namespaces": {
            "users": [{"exclusive": True, "regex": user_regex}],
            "aliases": [{"exclusive": True, "regex": alias_regex}] if alias_regex else [],
            "rooms": [],
        },
    }
    return yaml.safe_dump(data, sort_keys=False)
