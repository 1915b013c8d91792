"""The testing clock route: on only with ``testing.clock_control``, admin only, and it
moves the server's time forward (the test servers run with it on)."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.kit import Kit, assert_error
from tests.server import GliaProcess

PATH = "/_glia/admin/v1/testing/clock"


def test_advancing_the_clock(clock_kit: Kit) -> None:
    kit = clock_kit
    admin, user = kit.make_admin(), kit.register_user()
    assert_error(kit.request("POST", PATH, user.access_token, json={"advance_ms": 1}),
                 403, "M_FORBIDDEN")
    assert_error(kit.request("POST", PATH, json={"advance_ms": 1}), 401, "M_MISSING_TOKEN")
    for body in ({}, {"advance_ms": -1}, {"advance_ms": "1"}, {"advance_ms": 10**20}):
        r = kit.request("POST", PATH, admin.access_token, json=body)
        assert r.status_code == 400 and r.json()["errcode"].startswith("M_"), r.text
    before = int(time.time() * 1000)
    r = kit.request("POST", PATH, admin.access_token, json={"advance_ms": 0})
    assert r.status_code == 200, r.text
    offset = r.json()["now_ms"] - before  # what earlier tests already advanced
    moved = kit.advance_clock(60_000)
    assert moved - int(time.time() * 1000) >= offset + 60_000 - 1000


def test_the_route_does_not_exist_without_clock_control(
        glia_factory: Callable[..., GliaProcess]) -> None:
    server = glia_factory({"GLIA_TESTING__CLOCK_CONTROL": "false"})
    kit = Kit(server.url)
    try:
        admin = kit.make_admin()
        assert_error(kit.request("POST", PATH, admin.access_token, json={"advance_ms": 1}),
                     404, "M_UNRECOGNIZED")
    finally:
        kit.close()
