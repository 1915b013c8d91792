"""Room version flags against the spec's per-version documents."""

from __future__ import annotations

import pytest

from glia.protocol.room_versions import (
    DEFAULT_ROOM_VERSION,
    KNOWN_ROOM_VERSIONS,
    EventIdFormat,
    StateResAlgorithm,
    get_room_version,
    room_versions_capability,
)


def v(n: int):  # type: ignore[no-untyped-def]
    return KNOWN_ROOM_VERSIONS[str(n)]


def test_all_twelve_versions_known_and_default_is_12() -> None:
    assert sorted(KNOWN_ROOM_VERSIONS, key=int) == [str(n) for n in range(1, 13)]
    assert DEFAULT_ROOM_VERSION == "12"
    assert get_room_version("12") is v(12)
    assert get_room_version("13") is None
    assert get_room_version(12) is None


def test_capability_lists_every_version_as_stable() -> None:
    cap = room_versions_capability()
    assert cap["default"] == "12"
    assert cap["available"] == {str(n): "stable" for n in range(1, 13)}


@pytest.mark.parametrize(
    ("n", "fmt"),
    [
        (1, EventIdFormat.OPAQUE),
        (2, EventIdFormat.OPAQUE),
        (3, EventIdFormat.HASH_BASE64),
        (4, EventIdFormat.HASH_URLSAFE),
        (12, EventIdFormat.HASH_URLSAFE),
    ],
)
def test_event_id_format(n: int, fmt: EventIdFormat) -> None:
    assert v(n).event_id_format is fmt
    assert v(n).event_id_in_pdu == (n <= 2)


def test_feature_flags_follow_the_feature_matrix() -> None:
    for n in range(1, 13):
        rv = v(n)
        assert rv.state_res is (StateResAlgorithm.V1 if n == 1 else StateResAlgorithm.V2)
        assert rv.redaction_auth_rule == (n <= 2)
        assert rv.enforce_key_validity == (n >= 5)
        assert rv.special_case_aliases_auth == (n <= 5)
        assert rv.strict_canonicaljson == (n >= 6)
        assert rv.limit_notifications_power_levels == (n >= 6)
        assert rv.knock_join_rule == (n >= 7)
        assert rv.restricted_join_rule == (n >= 8)
        assert rv.restricted_join_rule_fix == (n >= 9)
        assert rv.knock_restricted_join_rule == (n >= 10)
        assert rv.enforce_int_power_levels == (n >= 10)
        assert rv.create_has_creator == (n <= 10)
        assert rv.updated_redaction_rules == (n >= 11)
        assert rv.room_id_is_create_hash == (n >= 12)
        assert rv.privileged_creators == (n >= 12)
        assert rv.create_in_auth_events == (n <= 11)


def test_room_version_is_frozen() -> None:
    with pytest.raises(AttributeError):
        v(1).identifier = "x"  # type: ignore[misc]
