"""``invite_state`` in ``/sync``: the stripped state an invitee sees before joining.

Spec (stripped state): the room's create, name, avatar, canonical alias, join rules and
encryption, plus the invite itself; Synapse also includes the inviter's own
``m.room.member`` so that a client can name a DM after the inviter instead of showing an
"Empty room".
"""

from __future__ import annotations

import json
from typing import Any

from tests.kit import Kit, create_room, unique

V3 = "/_matrix/client/v3"


def test_invite_state_holds_room_state_and_the_inviters_member_event(kit: Kit) -> None:
    alice, bob = kit.register_user(), kit.register_user()
    r = kit.request("PUT", f"{V3}/profile/{alice.user_id}/displayname", alice.access_token,
                    json={"displayname": "Alice"})
    assert r.status_code == 200, r.text
    alias_name = unique("inv")
    room_id = create_room(kit, alice, name="Plans", room_alias_name=alias_name,
                          initial_state=[
                              {"type": "m.room.encryption",
                               "content": {"algorithm": "m.megolm.v1.aes-sha2"}},
                              {"type": "m.room.avatar",
                               "content": {"url": "mxc://localhost/room"}}])
    r = kit.request("POST", f"{V3}/rooms/{room_id}/invite", alice.access_token,
                    json={"user_id": bob.user_id})
    assert r.status_code == 200, r.text
    r = kit.request("GET", f"{V3}/sync", bob.access_token,
                    params={"filter": json.dumps({"room": {"timeline": {"limit": 1}}})})
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()["rooms"]["invite"][room_id]["invite_state"][
        "events"]
    by_key = {(e["type"], e["state_key"]): e for e in events}
    for event_type in ("m.room.create", "m.room.name", "m.room.avatar",
                       "m.room.canonical_alias", "m.room.join_rules", "m.room.encryption"):
        assert (event_type, "") in by_key, event_type
    assert by_key[("m.room.member", bob.user_id)]["content"]["membership"] == "invite"
    inviter = by_key[("m.room.member", alice.user_id)]
    assert inviter["sender"] == alice.user_id
    assert inviter["content"]["membership"] == "join"
    assert inviter["content"]["displayname"] == "Alice"
    for event in events:
        assert set(event) == {"type", "state_key", "content", "sender"}
