"""The compatibility test's comparator: it must see shape differences (or the compat test
could never fail) and must not see value differences (IDs, timestamps, order)."""

from __future__ import annotations

from tests.compat.shapes import shape_differences


def test_values_and_order_are_not_shapes() -> None:
    glia = {"user_id": "@a:x", "ts": 1, "devices": [{"id": "A", "seen": None},
                                                    {"id": "B", "seen": 5}],
            "signatures": {"x": {"ed25519:a_one": "sig"}},
            "state": [{"type": "m.room.name", "state_key": ""},
                      {"type": "m.room.create", "state_key": ""}]}
    synapse = {"user_id": "@b:y", "ts": 99, "devices": [{"id": "C", "seen": 7},
                                                        {"id": "D", "seen": None}],
               "signatures": {"y": {"ed25519:a_two": "other"}},
               "state": [{"type": "m.room.create", "state_key": ""},
                         {"type": "m.room.name", "state_key": ""}]}
    assert shape_differences(glia, synapse) == ["$.signatures: only Glia has ['x']",
                                                "$.signatures: only Synapse has ['y']"]


def test_shape_differences_are_named() -> None:
    assert shape_differences({"a": 1, "b": True}, {"a": "1", "c": None}) == [
        "$: only Glia has ['b']", "$: only Synapse has ['c']",
        "$.a: int (Glia) vs str (Synapse)"]
    assert shape_differences([1, 2], [1]) == ["$: 2 items (Glia) vs 1 (Synapse)"]
    assert shape_differences({"x": True}, {"x": 1}) == ["$.x: bool (Glia) vs int (Synapse)"]
    # An ID-keyed mapping compares entries, not keys; "" is no ID (whois' devices[""]).
    assert shape_differences({"ABCDEFGH12": {"s": []}}, {"": {"s": []}}) == [
        "$: only Glia has ['ABCDEFGH12']", "$: only Synapse has ['']"]
    assert shape_differences({"@a:x": {"n": 1}}, {"@b:y": {"n": "1"}}) == [
        "$[*].n: int (Glia) vs str (Synapse)"]
