"""Secrets never reach a log line: query strings and JSON parameters are redacted."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from glia.log import SECRET_KEYS, redact_params, redact_query


def test_redact_query_access_token() -> None:
    out = redact_query("access_token=syt_secret&from=s123&limit=10")
    assert "syt_secret" not in out
    assert dict(parse_qsl(out)) == {"access_token": "<redacted>", "from": "s123", "limit": "10"}


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_every_secret_key_is_redacted_in_queries(key: str) -> None:
    out = redact_query(f"{key}=hunter2&keep=me")
    assert "hunter2" not in out
    assert "keep=me" in out


def test_redact_query_keeps_repeats_and_blanks() -> None:
    out = redact_query("access_token=a&access_token=b&flag=&x=1")
    assert "=a" not in out and "=b" not in out
    assert parse_qsl(out, keep_blank_values=True) == [
        ("access_token", "<redacted>"), ("access_token", "<redacted>"), ("flag", ""),
        ("x", "1")]


def test_redact_query_percent_encoded_token() -> None:
    out = redact_query("access_token=abc%2Fdef%3D")
    assert "abc" not in out


def test_redact_query_empty() -> None:
    assert redact_query("") == ""


def test_redact_params_nested() -> None:
    body = {
        "type": "m.login.password",
        "password": "hunter2",
        "identifier": {"type": "m.id.user", "user": "@alice:example.org"},
        "auth": {"type": "m.login.password", "password": "hunter3", "session": "s"},
        "new_password": "hunter4",
        "devices": [{"access_token": "t1"}, "plain"],
        "mac": "abcdef",
        "nonce": "0123",
    }
    out = redact_params(body)
    text = repr(out)
    for secret in ("hunter2", "hunter3", "hunter4", "t1", "abcdef", "0123"):
        assert secret not in text
    assert out["identifier"] == body["identifier"]
    assert out["devices"][1] == "plain"
    assert out["type"] == "m.login.password"
    # The input is not modified.
    assert body["password"] == "hunter2"


def test_redact_params_scalars_pass_through() -> None:
    assert redact_params("x") == "x"
    assert redact_params(5) == 5
    assert redact_params(None) is None
