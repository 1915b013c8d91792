"""History backfilled from other servers (negative stream orderings, before everything
this server saw of the room) is judged under the earliest history visibility the server
knows, not the ``shared`` default: a room that was ``joined`` when we came does not show
its earlier history to users who joined later."""

from __future__ import annotations

from glia.services.visibility import Visibility
from tests.unit.test_server_visibility import event, history, memberships

USER = "@bob:here.example"


def test_backfilled_history_of_a_joined_only_room_stays_hidden() -> None:
    v = Visibility(USER, history((10, "joined")), memberships((12, "join")))
    assert not v.visible(event(-5))
    assert v.visible(event(15))


def test_backfilled_history_of_a_shared_room_is_seen_by_a_later_member() -> None:
    v = Visibility(USER, history((10, "shared"), (20, "joined")),
                   memberships((12, "join")))
    assert v.visible(event(-5))


def test_without_any_known_visibility_the_default_is_shared() -> None:
    v = Visibility(USER, [], memberships((12, "join")))
    assert v.visible(event(-5))
