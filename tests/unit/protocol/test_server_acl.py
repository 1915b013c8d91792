"""``m.room.server_acl`` matching, from the spec's example and its ordered rules."""

from __future__ import annotations

from typing import Any

import pytest

from glia.protocol.server_acl import ServerAcl, server_allowed

#: The spec's example event content.
SPEC_EXAMPLE = {"allow_ip_literals": False, "allow": ["*"],
                "deny": ["*.evil.com", "evil.com"]}


@pytest.mark.parametrize(("server", "allowed"), [
    ("good.example", True),
    ("evil.com", False),
    ("evil.com:8448", False),  # the port is not considered
    ("evil.com:1234", False),
    ("sub.evil.com", False),
    ("deep.sub.evil.com:443", False),
    ("EVIL.COM", False),  # case-insensitive
    ("Sub.Evil.Com:8448", False),
    ("notevil.com", True),  # "*.evil.com" needs the dot
    ("evil.com.example", True),
    ("1.2.3.4", False),  # IP literals refused
    ("1.2.3.4:8448", False),
    ("[::1]", False),
    ("[2001:db8::1]:8448", False),
])
def test_spec_example(server: str, allowed: bool) -> None:
    assert server_allowed(SPEC_EXAMPLE, server) is allowed


def test_no_acl_allows_everyone() -> None:
    assert server_allowed(None, "anything.example")
    assert server_allowed(None, "1.2.3.4")


def test_no_allow_list_denies_everyone() -> None:
    assert not server_allowed({}, "good.example")
    assert not server_allowed({"deny": []}, "good.example")
    assert not server_allowed({"allow": []}, "good.example")


def test_ip_literals_allowed_by_default() -> None:
    assert server_allowed({"allow": ["*"]}, "1.2.3.4:8448")
    assert server_allowed({"allow": ["*"]}, "[::1]:8448")
    assert server_allowed({"allow": ["*"], "allow_ip_literals": True}, "127.0.0.1")
    # A value that is not a boolean counts as the default, true.
    assert server_allowed({"allow": ["*"], "allow_ip_literals": "false"}, "127.0.0.1")
    assert server_allowed({"allow": ["*"], "allow_ip_literals": 0}, "127.0.0.1")


def test_deny_wins_over_allow() -> None:
    acl = {"allow": ["*.example", "bad.example"], "deny": ["bad.example"]}
    assert server_allowed(acl, "good.example")
    assert not server_allowed(acl, "bad.example")
    assert not server_allowed(acl, "other.org")  # not allowed: rule 5


def test_question_mark_is_one_character() -> None:
    acl = {"allow": ["server?.example"]}
    assert server_allowed(acl, "server1.example")
    assert server_allowed(acl, "SERVERX.example:80")
    assert not server_allowed(acl, "server.example")
    assert not server_allowed(acl, "server12.example")


def test_ip_literal_globs_when_literals_are_allowed() -> None:
    acl = {"allow": ["127.0.0.*", "[::1]"]}
    assert server_allowed(acl, "127.0.0.1:8448")
    assert server_allowed(acl, "[::1]:8448")
    assert not server_allowed(acl, "10.0.0.1")


@pytest.mark.parametrize("content", [
    {"allow": "*"},  # not a list: empty
    {"allow": [1, None, {"x": 1}]},  # entries that are not strings are skipped
])
def test_malformed_content(content: dict[str, Any]) -> None:
    assert not server_allowed(content, "good.example")


def test_non_string_entries_do_not_hide_the_rest() -> None:
    assert server_allowed({"allow": [1, "good.example"]}, "good.example")
    assert not server_allowed({"allow": ["*"], "deny": [None, "BAD.example"]}, "bad.example")


def test_from_content() -> None:
    acl = ServerAcl.from_content(SPEC_EXAMPLE)
    assert acl == ServerAcl(("*",), ("*.evil.com", "evil.com"), False)
