"""``/publicRooms`` paging (spec: ``next_batch``/``prev_batch`` are pagination tokens,
``since`` takes one): real tokens, never an offset like ``"0"``, so that a page follows
from the one before even when the directory changes in between."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.kit import Kit, User, assert_error, create_room
from tests.server import GliaProcess

V3 = "/_matrix/client/v3"


def _page(kit: Kit, user: User, **params: Any) -> dict[str, Any]:
    r = kit.request("GET", f"{V3}/publicRooms", user.access_token, params=params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_public_rooms_tokens(glia_factory: Callable[..., GliaProcess]) -> None:
    kit = Kit(glia_factory().url)
    alice, bob = kit.register_user(), kit.register_user()
    rooms = [create_room(kit, alice, visibility="public") for _ in range(5)]

    first = _page(kit, alice, limit=2)
    assert "prev_batch" not in first
    assert first["next_batch"] not in ("0", "2")
    # A room with more members now sorts first: the next page still follows on.
    bigger = create_room(kit, alice, visibility="public")
    r = kit.request("POST", f"{V3}/join/{bigger}", bob.access_token, json={})
    assert r.status_code == 200, r.text
    seen = [c["room_id"] for c in first["chunk"]]
    token = first["next_batch"]
    pages = [first]
    while token:
        page = _page(kit, alice, limit=2, since=token)
        pages.append(page)
        assert page["prev_batch"] not in ("0", "")
        seen += [c["room_id"] for c in page["chunk"]]
        token = page.get("next_batch")
    assert sorted(seen) == sorted(rooms)  # each once, none skipped, no repeats

    # prev_batch of the second page leads back to the first page.
    back = _page(kit, alice, limit=2, since=pages[1]["prev_batch"])
    assert [c["room_id"] for c in back["chunk"]] == [
        c["room_id"] for c in first["chunk"]]
    # POST takes the same tokens.
    r = kit.request("POST", f"{V3}/publicRooms", alice.access_token,
                    json={"limit": 2, "since": first["next_batch"]})
    assert r.status_code == 200, r.text
    assert_error(kit.request("GET", f"{V3}/publicRooms?since=garbage", alice.access_token),
                 400, "M_INVALID_PARAM")
    kit.close()
