"""fetch_event shows admins what a redaction removed (Synapse keeps it 7 days), with the
event's ID and ``unsigned.redacted_because``; members still see the redacted event."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from tests.kit import Kit, create_room, send_event, unique, wait_until
from tests.server import GliaProcess

S = "/_synapse/admin"
DAY_MS = 86_400_000


def test_fetch_event_keeps_the_evidence_until_retention_ends(
        glia_factory: Callable[..., GliaProcess]) -> None:
    # A server of its own: event times come from the system clock, retention from the
    # server's (which this test moves), so the two must start together.
    kit = Kit(glia_factory().url)
    try:
        _evidence_kept_then_pruned(kit)
    finally:
        kit.close()


def _evidence_kept_then_pruned(kit: Kit) -> None:
    admin, user = kit.make_admin(), kit.register_user()
    room = create_room(kit, user)
    plain = send_event(kit, user, room, {"msgtype": "m.text", "body": "fine"})
    abuse = send_event(kit, user, room, {"msgtype": "m.text", "body": "abuse"})
    r = kit.request("PUT", f"/_matrix/client/v3/rooms/{room}/redact/{quote(abuse)}/"
                    f"{unique('t')}", user.access_token, json={"reason": "oops"})
    assert r.status_code == 200, r.text
    redaction = r.json()["event_id"]

    r = kit.request("GET", f"{S}/v1/fetch_event/{quote(plain)}", admin.access_token)
    assert r.status_code == 200, r.text
    event = r.json()["event"]
    assert event["event_id"] == plain and event["content"]["body"] == "fine"
    assert "hashes" in event and "unsigned" in event
    assert isinstance(event["unsigned"]["age"], int) and event["unsigned"]["age"] >= 0

    def fetched() -> dict:
        r = kit.request("GET", f"{S}/v1/fetch_event/{quote(abuse)}", admin.access_token)
        assert r.status_code == 200, r.text
        return dict(r.json()["event"])

    event = fetched()
    assert event["event_id"] == abuse
    assert event["content"] == {"msgtype": "m.text", "body": "abuse"}
    because = event["unsigned"]["redacted_because"]
    assert because["event_id"] == redaction and because["content"]["reason"] == "oops"
    # Members see the redacted event, as before.
    r = kit.request("GET", f"/_matrix/client/v3/rooms/{room}/event/{quote(abuse)}",
                    user.access_token)
    assert r.json()["content"] == {}

    # After redaction_retention_period (7 days by default) only the redacted form stays.
    kit.advance_clock(6 * DAY_MS)
    assert fetched()["content"]["body"] == "abuse"
    kit.advance_clock(2 * DAY_MS)
    wait_until(lambda: fetched()["content"] == {}, what="original pruned")
    assert "redacted_because" in fetched()["unsigned"]
