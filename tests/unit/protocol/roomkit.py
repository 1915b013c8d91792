"""A tiny in-memory room for protocol tests: builds, signs, auth-checks and applies
events with the real protocol functions, in any room version."""

from __future__ import annotations

from typing import Any

from glia.protocol import auth_rules, signing
from glia.protocol.events import (
    StateKey,
    build_event,
    get_event_id,
    reference_hash_base64,
    room_id_for_v12_create,
)
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS, RoomVersion

_KEYS: dict[str, signing.SigningKey] = {}


def key_for(server: str) -> signing.SigningKey:
    if server not in _KEYS:
        _KEYS[server] = signing.generate_signing_key("1")
    return _KEYS[server]


def server_of(user_id: str) -> str:
    return user_id.split(":", 1)[1]


class Room:
    def __init__(
        self,
        version: str | RoomVersion,
        creator: str = "@alice:a.test",
        create_content: dict[str, Any] | None = None,
    ) -> None:
        self.rv = KNOWN_ROOM_VERSIONS[version] if isinstance(version, str) else version
        self.state: dict[StateKey, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.extremities: list[str] = []
        self.depth = 0
        self.ts = 1000
        self.room_id: str | None = None if self.rv.room_id_is_create_hash else "!room:a.test"
        content = {"room_version": self.rv.identifier, **(create_content or {})}
        self.create = self.send(creator, "m.room.create", content, state_key="")
        if self.room_id is None:
            self.room_id = room_id_for_v12_create(self.id(self.create))

    # -- building ---------------------------------------------------------------------

    def id(self, event: dict[str, Any]) -> str:
        return get_event_id(event, self.rv)

    def make(
        self,
        sender: str,
        event_type: str,
        content: dict[str, Any],
        state_key: str | None = None,
        *,
        prev_events: list[str] | None = None,
        auth_state: dict[StateKey, dict[str, Any]] | None = None,
        extra_signers: tuple[str, ...] = (),
        **extra: Any,
    ) -> dict[str, Any]:
        """Build and sign an event on the current state (or ``auth_state``)."""
        state = self.state if auth_state is None else auth_state
        keys = auth_rules.auth_types_for_event(event_type, sender, state_key, content, self.rv)
        auth_ids = [self.id(state[k]) for k in keys if k in state]
        prevs = self.extremities if prev_events is None else prev_events
        self.ts += 1
        ev = build_event(
            self.rv,
            room_id=self.room_id,
            sender=sender,
            event_type=event_type,
            state_key=state_key,
            content=content,
            prev_events=prevs,
            auth_events=auth_ids,
            depth=self.depth + 1,
            origin_server_ts=self.ts,
            server_name=server_of(sender),
            reference_hashes={
                i: reference_hash_base64(self.events[i], self.rv)
                for i in [*prevs, *auth_ids]
                if i in self.events
            },
            **extra,
        )
        for server in (server_of(sender), *extra_signers):
            ev = signing.sign_event(ev, self.rv, server, key_for(server))
        return ev

    def auth_state_for(
        self, event: dict[str, Any], state: dict[StateKey, dict[str, Any]] | None = None
    ) -> dict[StateKey, dict[str, Any]]:
        state = self.state if state is None else state
        keys = [*auth_rules.auth_types_for_pdu(event, self.rv), auth_rules.CREATE_KEY]
        return {k: state[k] for k in keys if k in state}

    def check(self, event: dict[str, Any]) -> None:
        auth_rules.check_auth(event, self.auth_state_for(event), self.rv)

    def apply(self, event: dict[str, Any]) -> dict[str, Any]:
        event_id = self.id(event)
        self.events[event_id] = event
        self.extremities = [event_id]
        self.depth += 1
        if "state_key" in event:
            self.state[(event["type"], event["state_key"])] = event
        return event

    def send(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """Build, auth-check (raising AuthRuleError) and apply."""
        event = self.make(*args, **kwargs)
        self.check(event)
        return self.apply(event)

    # -- common steps -----------------------------------------------------------------

    def join(self, user: str, **content: Any) -> dict[str, Any]:
        return self.send(user, "m.room.member", {"membership": "join", **content}, user)

    def member(self, sender: str, target: str, membership: str) -> dict[str, Any]:
        return self.send(sender, "m.room.member", {"membership": membership}, target)

    def power_levels(self, sender: str, content: dict[str, Any]) -> dict[str, Any]:
        return self.send(sender, "m.room.power_levels", content, "")

    def join_rules(self, sender: str, rule: str, **content: Any) -> dict[str, Any]:
        return self.send(sender, "m.room.join_rules", {"join_rule": rule, **content}, "")


def standard_room(
    version: str,
    creator: str = "@alice:a.test",
    join_rule: str = "public",
    users: dict[str, int] | None = None,
    **create_content: Any,
) -> Room:
    """create → creator join → power levels → join rules."""
    room = Room(version, creator, create_content or None)
    room.join(creator)
    rv = room.rv
    pl_users = {} if rv.privileged_creators else {creator: 100}
    pl_users.update(users or {})
    room.power_levels(
        creator,
        {
            "users": pl_users,
            "users_default": 0,
            "events": {"m.room.power_levels": 100},
            "events_default": 0,
            "state_default": 50,
            "ban": 50,
            "kick": 50,
            "redact": 50,
            "invite": 0,
        },
    )
    room.join_rules(creator, join_rule)
    return room
