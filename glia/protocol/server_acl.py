"""``m.room.server_acl``: which servers may take part in a room (the spec's rules, in
its order).

1. No ACL event in the room's state: allow.
2. The server name is an IP literal and ``allow_ip_literals`` is ``false``: deny.
3. The name matches a ``deny`` glob: deny.
4. The name matches an ``allow`` glob: allow.
5. Otherwise deny (so an ACL without ``allow`` shuts every server out).

Names are matched without their port, case-insensitively, with the appendix's globs
(``*`` any run of characters, ``?`` one character). Content of the wrong shape is read
the way the event schema's defaults say: ``allow_ip_literals`` that is not a boolean is
``true``, a missing or non-list ``allow``/``deny`` is empty, and entries that are not
strings are skipped. An IPv6 literal is matched with its brackets (``[::1]``), the way
it appears in the server name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from glia.protocol.glob import glob_match
from glia.protocol.server_discovery import is_ip_literal

__all__ = ["ServerAcl", "server_allowed"]


def _globs(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(entry for entry in value if isinstance(entry, str))


def _host(server_name: str) -> str:
    """The server name without its port (an IPv6 literal keeps its brackets)."""
    if server_name.startswith("["):
        end = server_name.find("]")
        return server_name if end < 0 else server_name[:end + 1]
    return server_name.partition(":")[0]


@dataclass(frozen=True)
class ServerAcl:
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    allow_ip_literals: bool

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> ServerAcl:
        literals = content.get("allow_ip_literals")
        return cls(_globs(content.get("allow")), _globs(content.get("deny")),
                   literals if isinstance(literals, bool) else True)

    def allows(self, server_name: str) -> bool:
        host = _host(server_name)
        if not self.allow_ip_literals and is_ip_literal(host.strip("[]")):
            return False
        if any(glob_match(pattern, host) for pattern in self.deny):
            return False
        return any(glob_match(pattern, host) for pattern in self.allow)


def server_allowed(acl_content: Mapping[str, Any] | None, server_name: str) -> bool:
    """Whether ``server_name`` may take part in a room whose current
    ``m.room.server_acl`` has this content (None: the room has no ACL)."""
    if acl_content is None:
        return True
    return ServerAcl.from_content(acl_content).allows(server_name)
