"""The body of an application-service transaction: MSC3202 device lists, where the
later item about a user wins (a user who left and came back is ``changed``)."""

from __future__ import annotations

from glia.services.appservices.sender import transaction_body
from glia.storage.appservices import QueuedItem


def _lists(*changes: tuple[str, str]) -> dict[str, list[str]]:
    body = transaction_body([QueuedItem("irc", "device_lists", {kind: user})
                             for kind, user in changes])
    assert body["device_lists"] == body["org.matrix.msc3202.device_lists"]
    return dict(body["org.matrix.msc3202.device_lists"])


def test_the_later_item_about_a_user_wins() -> None:
    assert _lists(("changed", "@a:x"), ("left", "@a:x"), ("changed", "@b:x")) == \
        {"changed": ["@b:x"], "left": ["@a:x"]}
    assert _lists(("left", "@a:x"), ("changed", "@a:x")) == {"changed": ["@a:x"], "left": []}


def test_no_device_lists_and_key_fields_passed_through() -> None:
    keys = {"org.matrix.msc3202.device_unused_fallback_key_types": {"@p:x": {"D": []}}}
    body = transaction_body([QueuedItem("irc", "event", {"type": "m.room.message"})], keys)
    assert "org.matrix.msc3202.device_lists" not in body
    assert body["org.matrix.msc3202.device_unused_fallback_key_types"] == {"@p:x": {"D": []}}
