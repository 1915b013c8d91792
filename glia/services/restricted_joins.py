"""Who authorises a join to a ``restricted`` / ``knock_restricted`` room (v8+ rules).

A user who is neither invited nor joined may join such a room when they are joined to
one of the rooms its ``allow`` list names; the join then carries
``join_authorised_via_users_server``: a joined member of *this* server who may invite,
since the auth rules require that user's server to sign the join. One rule for our
users' own joins and for other servers' users joining through us (``make_join`` /
``send_join``); only the resident server can tell whether it may judge the allowed rooms
at all (it must be in them).
"""

from __future__ import annotations

from dataclasses import dataclass

from glia.ids import InvalidId, server_name_of
from glia.protocol.power_levels import action_level, room_creators, user_level
from glia.protocol.room_versions import get_room_version
from glia.storage import Storage

__all__ = ["RESTRICTED_RULES", "RestrictedJoin", "restricted_join"]

RESTRICTED_RULES = ("restricted", "knock_restricted")


@dataclass(frozen=True)
class RestrictedJoin:
    """What a join to the room needs.

    ``authoriser``: the local member to name in ``join_authorised_via_users_server``, or
    None when the join needs none (the rule is not restricted, the user is invited or
    joined) or the allow rule is not met here. ``cannot_judge``: the allow rule is not
    met by what this server knows, but it is not in every allowed room (another server
    may be). ``cannot_grant``: it is met, but no user of ours may invite.
    """

    authoriser: str | None = None
    cannot_judge: bool = False
    cannot_grant: bool = False


def _server(user_id: str) -> str | None:
    try:
        return server_name_of(user_id)
    except InvalidId:
        return None


async def _resident_in(storage: Storage, server_name: str, room_id: str) -> bool:
    return any(_server(m.user_id) == server_name
               for m in await storage.state.members_at(room_id, None, ["join"]))


async def restricted_join(storage: Storage, server_name: str, room_id: str,
                          user_id: str) -> RestrictedJoin:
    """Judge ``user_id``'s join to ``room_id`` by its restricted join rule."""
    current = await storage.state.membership_of(room_id, user_id)
    if current is not None and current.membership in ("invite", "join"):
        return RestrictedJoin()
    room = await storage.rooms.get(room_id)
    version = get_room_version(room.room_version) if room is not None else None
    if version is None or not version.restricted_join_rule:
        return RestrictedJoin()
    keys = [("m.room.join_rules", ""), ("m.room.power_levels", ""), ("m.room.create", "")]
    ids = await storage.state.current_ids(room_id, keys)
    events = await storage.events.get_many(list(ids.values()))
    rules = events.get(ids.get(keys[0], ""))
    if rules is None or rules.content.get("join_rule") not in RESTRICTED_RULES:
        return RestrictedJoin()
    allow = rules.content.get("allow")
    allowed = [a.get("room_id") for a in (allow if isinstance(allow, list) else [])
               if isinstance(a, dict) and a.get("type") == "m.room_membership"
               and isinstance(a.get("room_id"), str)]
    met, unjudged = False, False
    for other in allowed:
        if not await _resident_in(storage, server_name, str(other)):
            unjudged = True
            continue
        member = await storage.state.membership_of(str(other), user_id)
        if member is not None and member.membership == "join":
            met = True
            break
    if not met:
        return RestrictedJoin(cannot_judge=unjudged)
    pl = events.get(ids.get(keys[1], ""))
    create = events.get(ids.get(keys[2], ""))
    creators = room_creators(create.pdu if create else None, version)
    needed = action_level(pl.content if pl else None, "invite", version)
    for member in await storage.state.members_at(room_id, None, ["join"]):
        if _server(member.user_id) == server_name and user_level(
                pl.content if pl else None, member.user_id, creators, version) >= needed:
            return RestrictedJoin(authoriser=member.user_id)
    return RestrictedJoin(cannot_grant=True)
