"""The authorization rules for ``m.room.member``: join, invite (also by third-party
invite), leave and kick, ban and knock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from glia.protocol.auth_rules.room import (
    Room,
    content_of,
    domain_of,
    first_creator,
    join_rule_of,
    reject,
)
from glia.protocol.events import get_event_id, prev_event_ids
from glia.protocol.power_levels import action_level
from glia.protocol.signing import third_party_signed_is_valid


def check_member(
    event: Mapping[str, Any], content: Mapping[str, Any], sender: str, room: Room
) -> None:
    rv = room.rv
    target = event.get("state_key")
    membership = content.get("membership")
    if not isinstance(target, str) or not isinstance(membership, str):
        raise reject("m.room.member needs a state_key and a membership")

    if rv.restricted_join_rule and "join_authorised_via_users_server" in content:
        via_server = domain_of(content["join_authorised_via_users_server"])
        signatures = event.get("signatures")
        if not isinstance(signatures, Mapping) or not signatures.get(via_server):
            raise reject(f"event is not signed by the authorising server {via_server}")

    sender_membership = room.membership(sender)
    target_membership = room.membership(target)
    join_rule = join_rule_of(room.state)

    if membership == "join":
        prevs = prev_event_ids(event)
        if (
            len(prevs) == 1
            and target == first_creator(room.create, rv)
            and prevs[0] == get_event_id(room.create, rv)
        ):
            return
        if sender != target:
            raise reject("cannot force another user to join")
        if sender_membership == "ban":
            raise reject(f"{sender} is banned from the room")
        if join_rule == "invite" or (rv.knock_join_rule and join_rule == "knock"):
            if sender_membership in ("invite", "join"):
                return
            raise reject(f"{sender} is not invited to this room")
        if (rv.restricted_join_rule and join_rule == "restricted") or (
            rv.knock_restricted_join_rule and join_rule == "knock_restricted"
        ):
            if sender_membership in ("invite", "join"):
                return
            via = content.get("join_authorised_via_users_server")
            if not isinstance(via, str):
                raise reject("restricted join without an authorising user")
            if room.membership(via) != "join":
                raise reject(f"authorising user {via} is not joined to the room")
            if room.level(via) < action_level(room.pl, "invite", rv):
                raise reject(f"authorising user {via} may not invite")
            return
        if join_rule == "public":
            return
        raise reject(f"join rule {join_rule!r} does not allow {sender} to join")

    if membership == "invite":
        if "third_party_invite" in content:
            _check_third_party_invite(content, sender, target, target_membership, room)
            return
        if sender_membership != "join":
            raise reject(f"{sender} is not joined to the room")
        if target_membership in ("join", "ban"):
            raise reject(f"{target} is already {target_membership}")
        if room.level(sender) >= action_level(room.pl, "invite", rv):
            return
        raise reject(f"{sender} may not invite")

    if membership == "leave":
        if sender == target:
            allowed = ("invite", "join", "knock") if rv.knock_join_rule else ("invite", "join")
            if sender_membership in allowed:
                return
            raise reject(f"{sender} cannot leave a room they are not in")
        if sender_membership != "join":
            raise reject(f"{sender} is not joined to the room")
        sender_level = room.level(sender)
        if target_membership == "ban" and sender_level < action_level(room.pl, "ban", rv):
            raise reject(f"{sender} may not unban")
        if sender_level >= action_level(room.pl, "kick", rv) and room.level(target) < sender_level:
            return
        raise reject(f"{sender} may not kick {target}")

    if membership == "ban":
        if sender_membership != "join":
            raise reject(f"{sender} is not joined to the room")
        sender_level = room.level(sender)
        if sender_level >= action_level(room.pl, "ban", rv) and room.level(target) < sender_level:
            return
        raise reject(f"{sender} may not ban {target}")

    if membership == "knock" and rv.knock_join_rule:
        knock_rules = ("knock", "knock_restricted") if rv.knock_restricted_join_rule else ("knock",)
        if join_rule not in knock_rules:
            raise reject("this room does not accept knocks")
        if sender != target:
            raise reject("cannot knock on behalf of another user")
        if sender_membership not in ("ban", "invite", "join"):
            return
        raise reject(f"{sender} cannot knock while {sender_membership}")

    raise reject(f"unknown membership {membership!r}")


def _check_third_party_invite(
    content: Mapping[str, Any],
    sender: str,
    target: str,
    target_membership: str | None,
    room: Room,
) -> None:
    if target_membership == "ban":
        raise reject(f"{target} is banned from the room")
    tpi = content["third_party_invite"]
    signed = tpi.get("signed") if isinstance(tpi, Mapping) else None
    if not isinstance(signed, Mapping):
        raise reject("third_party_invite has no signed object")
    mxid, token = signed.get("mxid"), signed.get("token")
    if not isinstance(mxid, str) or not isinstance(token, str):
        raise reject("third_party_invite.signed needs mxid and token")
    if mxid != target:
        raise reject("third_party_invite mxid does not match the invitee")
    invite_event = room.state.get(("m.room.third_party_invite", token))
    if invite_event is None:
        raise reject("no m.room.third_party_invite matches the token")
    if invite_event.get("sender") != sender:
        raise reject("the third-party invite was sent by someone else")
    if not third_party_signed_is_valid(signed, content_of(invite_event)):
        raise reject("third_party_invite is not signed by any of the invite's keys")
