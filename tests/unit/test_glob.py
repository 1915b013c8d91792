"""User-supplied glob patterns match in time linear in the text (pure, no server).

A backtracking regex for ``*a*a*a*a*a*a*a*a*a*a*b`` against a run of ``a``s explores
every way of placing the ``a``s (about ``n**10`` paths) before answering no; the NFA
answers in one pass. The time bound below is generous: the regex takes far longer.
"""

from __future__ import annotations

import time

import pytest

from glia.protocol.filters import parse_filter
from glia.protocol.glob import glob_match, wildcard_match

HOSTILE = "*a*a*a*a*a*a*a*a*a*a*b"
TEXT = "a" * 10_000


def test_wildcard_match_is_linear() -> None:
    started = time.monotonic()
    assert not wildcard_match(HOSTILE, TEXT)
    assert wildcard_match(HOSTILE, TEXT + "b")
    assert time.monotonic() - started < 1.0


def test_filter_types_are_linear() -> None:
    f = parse_filter({"room": {"timeline": {"types": [HOSTILE],
                                            "not_types": [HOSTILE + "*c"]}}})
    started = time.monotonic()
    assert not f.room.timeline.allows({"type": TEXT, "sender": "@a:x"})
    assert f.room.timeline.allows({"type": TEXT + "b", "sender": "@a:x"})
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    ("m.room.*", "m.room.message", True),
    ("m.room.*", "m.roomy", False),
    ("*", "", True),
    ("a*c", "abbbc", True),
    ("a*c", "abbbcd", False),
    ("A*", "abc", False),  # case-sensitive, unlike push rules
    ("a?c", "abc", False),  # '?' is a literal in filters
    ("a?c", "a?c", True),
    ("a.c", "abc", False),  # so is every regex character
    ("**x**", "yyxyy", True),
])
def test_wildcard_semantics(pattern: str, value: str, expected: bool) -> None:
    assert wildcard_match(pattern, value) is expected


def test_push_rule_globs_keep_their_semantics() -> None:
    assert glob_match("A?C", "abc")
    assert glob_match("*lunch*", "Lunch time", word_boundary=True)
    assert not glob_match(HOSTILE, TEXT)
