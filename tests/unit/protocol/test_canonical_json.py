"""Canonical JSON: the spec's encoding examples and the value rules of room versions 6+."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glia.protocol.canonical_json import (
    canonical_json_error,
    encode_canonical_json,
    event_json_error,
)
from glia.protocol.room_versions import KNOWN_ROOM_VERSIONS


# The spec's canonical JSON examples (appendices, "Canonical JSON" → "Examples").
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("{}", "{}"),
        ('{"one": 1, "two": "Two"}', '{"one":1,"two":"Two"}'),
        ('{"b": "2", "a": "1"}', '{"a":"1","b":"2"}'),
        ('{"b":"2","a":"1"}', '{"a":"1","b":"2"}'),
        (
            '{"auth": {"success": true, "mxid": "@john.doe:example.com", "profile": '
            '{"display_name": "John Doe", "three_pids": [{"medium": "email", "address": '
            '"john.doe@example.org"}, {"medium": "msisdn", "address": "123456789"}]}}}',
            '{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe",'
            '"three_pids":[{"address":"john.doe@example.org","medium":"email"},'
            '{"address":"123456789","medium":"msisdn"}]},"success":true}}',
        ),
        ('{"a": "日本語"}', '{"a":"日本語"}'),
        ('{"本": 2, "日": 1}', '{"日":1,"本":2}'),
        ('{"a": "\\u65E5"}', '{"a":"日"}'),
        ('{"a": null}', '{"a":null}'),
        ('{"a": -0, "b": 1e10}', '{"a":0,"b":10000000000}'),
    ],
)
def test_canonical_json_spec_examples(given: str, expected: str) -> None:
    assert encode_canonical_json(json.loads(given)) == expected.encode("utf-8")


def test_canonical_json_error_names_the_first_offending_value() -> None:
    assert canonical_json_error({"a": [1, "x", None, True, False]}) is None
    assert canonical_json_error({"a": 1.5}) == "float value at a"
    assert canonical_json_error({"a": 1e10}) == "float value at a"
    assert canonical_json_error({"a": {"b": [2**53]}}) == "integer out of range at a.b[0]"
    assert canonical_json_error({"a": {"b": [-(2**53)]}}) == "integer out of range at a.b[0]"
    assert canonical_json_error({"c": {"d": [0, {"e": 0.0}]}}) == "float value at c.d[1].e"
    assert canonical_json_error({1: "x"}) == "non-string key at <root>"
    assert canonical_json_error({"s": {1, 2}}) == "value of type set at s"
    assert canonical_json_error(3.0) == "float value at <root>"


@pytest.mark.parametrize("value", [2**53 - 1, -(2**53) + 1, 0, -1, True])
def test_integers_at_the_edges_are_canonical(value: int) -> None:
    assert canonical_json_error({"n": value}) is None


def _event(content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "m.room.message", "sender": "@a:x", "room_id": "!r:x", "depth": 3,
            "origin_server_ts": 1, "content": content}


@pytest.mark.parametrize("version", sorted(KNOWN_ROOM_VERSIONS, key=int))
@pytest.mark.parametrize("content", [{"n": 1.5}, {"n": 2**53}, {"n": [-(2**53)]},
                                     {"n": {"deep": 2.0}}])
def test_room_versions_6_and_later_refuse_what_older_ones_accept(
        version: str, content: dict[str, Any]) -> None:
    error = event_json_error(_event(content), KNOWN_ROOM_VERSIONS[version])
    if int(version) >= 6:
        assert error is not None and error.startswith(("float value at content.n",
                                                       "integer out of range at content.n"))
    else:
        assert error is None


@pytest.mark.parametrize("version", sorted(KNOWN_ROOM_VERSIONS, key=int))
def test_canonical_events_pass_every_version(version: str) -> None:
    content = {"body": "hi", "n": 2**53 - 1, "m": -(2**53) + 1, "list": [1, None, False]}
    assert event_json_error(_event(content), KNOWN_ROOM_VERSIONS[version]) is None
