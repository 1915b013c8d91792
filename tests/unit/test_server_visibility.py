"""What a remote server may see of a room, from its users' memberships over time and the
room's history visibility (``ServerVisibility``): the cases the two-server tests cannot
reach before remote joins exist."""

from __future__ import annotations

from glia.services.visibility import ServerVisibility
from glia.storage.events import StoredEvent
from glia.storage.state import StateInterval

SERVER = "remote.example"


def event(stream: int, event_type: str = "m.room.message",
          state_key: str | None = None) -> StoredEvent:
    pdu = {"type": event_type, "sender": "@alice:here.example", "content": {}}
    if state_key is not None:
        pdu["state_key"] = state_key
    return StoredEvent(f"$e{stream}", "!r:here.example", stream, stream, pdu, {}, None,
                       None, None)


def history(*values: tuple[int, str]) -> list[tuple[StateInterval, str]]:
    """``(from_stream, value)`` pairs, each in force until the next."""
    out = []
    for i, (start, value) in enumerate(values):
        end = values[i + 1][0] if i + 1 < len(values) else None
        out.append((StateInterval(f"$e{start}", None, start, end), value))
    return out


def memberships(*values: tuple[int, str]) -> list[StateInterval]:
    out = []
    for i, (start, membership) in enumerate(values):
        end = values[i + 1][0] if i + 1 < len(values) else None
        out.append(StateInterval(f"$m{start}", membership, start, end))
    return out


def view(hist: list[tuple[StateInterval, str]],
         users: dict[str, list[StateInterval]] | None = None) -> ServerVisibility:
    return ServerVisibility(SERVER, hist, users or {})


def test_no_members_sees_only_world_readable_history() -> None:
    v = view(history((1, "shared"), (10, "world_readable"), (20, "joined")))
    assert not v.participating and v.may_read_room
    assert not v.visible(event(5))
    assert v.visible(event(10, "m.room.history_visibility", ""))
    assert v.visible(event(15))
    # The change away from world_readable is visible (the value before allows it).
    assert v.visible(event(20, "m.room.history_visibility", ""))
    assert not v.visible(event(25))


def test_no_members_in_a_private_room_may_not_read_it() -> None:
    v = view(history((1, "shared")))
    assert not v.may_read_room and not v.participating
    assert not v.visible(event(5))


def test_shared_history_for_a_server_whose_user_joined_later() -> None:
    bob = f"@bob:{SERVER}"
    v = view(history((1, "shared")), {bob: memberships((30, "join"))})
    assert v.participating and v.may_read_room
    assert v.visible(event(5))  # shared: a later join shows earlier events
    assert v.visible(event(35))


def test_joined_history_only_from_the_join() -> None:
    bob, carol = f"@bob:{SERVER}", f"@carol:{SERVER}"
    v = view(history((1, "joined")), {bob: memberships((30, "join"), (50, "leave")),
                                      carol: memberships((40, "invite"))})
    assert not v.visible(event(20))
    assert v.visible(event(35))
    assert not v.visible(event(55))  # nobody of the server joined any more
    assert not v.participating  # bob left, carol is only invited
    assert v.may_read_room
    # A user's own membership events are theirs to see.
    assert v.visible(event(40, "m.room.member", carol))


def test_invited_history_from_the_invite() -> None:
    carol = f"@carol:{SERVER}"
    v = view(history((1, "invited")), {carol: memberships((40, "invite"))})
    assert not v.visible(event(20))
    assert v.visible(event(45))
    assert not view(history((1, "joined")), {carol: memberships((40, "invite"))}
                    ).visible(event(45))


def test_any_user_of_the_server_suffices() -> None:
    bob, dan = f"@bob:{SERVER}", f"@dan:{SERVER}"
    v = view(history((1, "joined")), {bob: memberships((10, "join"), (20, "leave")),
                                      dan: memberships((30, "join"))})
    assert v.visible(event(15)) and v.visible(event(35))
    assert not v.visible(event(25))
    assert v.participating
    assert v.was_joined_at(event(15)) and not v.was_joined_at(event(25))
