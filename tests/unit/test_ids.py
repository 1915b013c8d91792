"""Matrix identifiers: user IDs, localparts, server names, room/event IDs, aliases."""

from __future__ import annotations

import pytest

from glia.ids import (
    InvalidId,
    UserId,
    is_valid_event_id,
    is_valid_room_alias,
    is_valid_room_id,
    is_valid_server_name,
    localpart_error,
    new_device_id,
    parse_user_id,
    random_string,
)


@pytest.mark.parametrize(("value", "localpart", "domain"), [
    ("@alice:example.org", "alice", "example.org"),
    ("@a.b_c=d-e/f+g:example.org:8448", "a.b_c=d-e/f+g", "example.org:8448"),
    ("@Historical!Chars~:localhost", "Historical!Chars~", "localhost"),
    ("@x:[::1]:8008", "x", "[::1]:8008"),
    ("@x:1.2.3.4", "x", "1.2.3.4"),
])
def test_parse_user_id(value: str, localpart: str, domain: str) -> None:
    user = parse_user_id(value)
    assert user == UserId(localpart, domain)
    assert str(user) == value


@pytest.mark.parametrize("value", [
    "alice:example.org", "@alice", "@:example.org", "@alice:", "@al ice:example.org",
    "@alice:exa mple.org", "@ali\u00e9ce:example.org", "@" + "a" * 250 + ":example.org",
    "", "@alice:example.org:port",
])
def test_parse_user_id_rejects(value: str) -> None:
    with pytest.raises(InvalidId):
        parse_user_id(value)


def test_parse_user_id_messages() -> None:
    with pytest.raises(InvalidId, match="start with '@'"):
        parse_user_id("alice")
    with pytest.raises(InvalidId, match="@localname:domain"):
        parse_user_id("@alice")


@pytest.mark.parametrize("localpart", ["alice", "a.b", "x=y", "a-b", "a/b", "a+b", "007bond",
                                       "a_b"])
def test_valid_localparts(localpart: str) -> None:
    assert localpart_error(localpart) is None


@pytest.mark.parametrize(("localpart", "message"), [
    ("", "cannot be empty"),
    ("Alice", "can only contain"),
    ("al ice", "can only contain"),
    ("a:b", "can only contain"),
    ("é", "can only contain"),
    ("_bridge", "may not begin with _"),
    ("12345", "Numeric user IDs are reserved"),
])
def test_invalid_localparts(localpart: str, message: str) -> None:
    error = localpart_error(localpart)
    assert error is not None and message in error


@pytest.mark.parametrize(("name", "valid"), [
    ("example.org", True), ("localhost", True), ("example.org:8448", True),
    ("1.2.3.4", True), ("[::1]", True), ("[2001:db8::1]:443", True),
    ("", False), ("exa mple.org", False), ("example.org:", False),
    ("example.org:123456", False), ("ex_ample.org", False), ("[::1", False),
])
def test_server_names(name: str, valid: bool) -> None:
    assert is_valid_server_name(name) is valid


def test_room_ids() -> None:
    assert is_valid_room_id("!abc:example.org")
    assert is_valid_room_id("!" + "A" * 43)  # room version 12: no domain
    assert not is_valid_room_id("!" + "A" * 42)
    assert not is_valid_room_id("abc:example.org")
    assert not is_valid_room_id("!:example.org")
    assert not is_valid_room_id("!abc:bad domain")
    assert not is_valid_room_id("!" + "a" * 300 + ":example.org")


def test_event_ids() -> None:
    assert is_valid_event_id("$abc:example.org")
    assert is_valid_event_id("$" + "A" * 43)
    assert not is_valid_event_id("$")
    assert not is_valid_event_id("abc")


def test_room_aliases() -> None:
    assert is_valid_room_alias("#room:example.org")
    assert not is_valid_room_alias("#room")
    assert not is_valid_room_alias("#:example.org")
    assert not is_valid_room_alias("room:example.org")


def test_random_strings() -> None:
    values = {random_string(16) for _ in range(100)}
    assert len(values) == 100
    assert all(len(v) == 16 and v.isalnum() and v.isascii() for v in values)
    device = new_device_id()
    assert len(device) == 10 and device == device.upper() and device.isalnum()


@pytest.mark.parametrize("value", ["@user:server\n", "@user\n:server", "@user:server:80\n"])
def test_user_id_with_trailing_newline_is_invalid(value: str) -> None:
    with pytest.raises(InvalidId):
        parse_user_id(value)


def test_localpart_with_trailing_newline_may_not_be_registered() -> None:
    assert localpart_error("alice\n") is not None


def test_server_name_with_trailing_newline_is_invalid() -> None:
    assert not is_valid_server_name("example.org\n")
    assert not is_valid_room_alias("#a:example.org\n")
    assert not is_valid_room_id("!a:example.org\n")
