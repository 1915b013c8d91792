"""A ``429`` tells the client how long to wait in the header HTTP defines for it.

Since Matrix v1.10 ``retry_after_ms`` is deprecated in favour of ``Retry-After``; a client
(or a proxy) that only honours the header used to retry at once and stay limited.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tests.kit import Kit, assert_error, unique
from tests.server import GliaProcess


def test_rate_limit_answer_has_retry_after(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_RATELIMIT__ENABLED": "true",
                           "GLIA_RATELIMIT__REGISTER__BURST": "1",
                           "GLIA_RATELIMIT__REGISTER__PER_SECOND": "0.01"})
    kit = Kit(server.url)
    for _ in range(2):
        r = kit.http.post("/_matrix/client/v3/register",
                          json={"username": unique("rl"), "password": "a password 123"})
    err = assert_error(r, 429, "M_LIMIT_EXCEEDED")
    seconds = int(r.headers["Retry-After"])
    assert seconds == math.ceil(err["retry_after_ms"] / 1000)
    assert 90 <= seconds <= 100  # one token every 100 s


def test_pending_media_limit_has_retry_after(glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_MEDIA__MAX_PENDING_UPLOADS": "1"})
    kit = Kit(server.url)
    user = kit.register_user()
    for _ in range(2):
        r = kit.request("POST", "/_matrix/media/v1/create", user.access_token)
    err = assert_error(r, 429, "M_LIMIT_EXCEEDED")
    assert int(r.headers["Retry-After"]) == math.ceil(err["retry_after_ms"] / 1000)
