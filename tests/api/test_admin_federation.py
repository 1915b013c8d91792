"""Synapse's federation destinations admin API over real HTTP, before Glia federates:
an empty list, unknown destinations, and Synapse's errors for bad parameters."""

from __future__ import annotations

import pytest

from tests.kit import Kit, assert_error

D = "/_synapse/admin/v1/federation/destinations"


def test_empty_list(kit: Kit) -> None:
    admin = kit.make_admin()
    for query in ("", "?order_by=retry_last_ts&dir=b", "?destination=matrix.org&from=0",
                  "?limit=5&order_by=last_successful_stream_ordering"):
        r = kit.request("GET", D + query, admin.access_token)
        assert r.status_code == 200, r.text
        assert r.json() == {"destinations": [], "total": 0}
    r = kit.request("GET", "/_glia/admin/v1/federation/destinations", admin.access_token)
    assert r.json() == {"destinations": [], "total": 0}


def test_unknown_destination_is_404(kit: Kit) -> None:
    admin = kit.make_admin()
    for method, path in (("GET", f"{D}/matrix.org"), ("GET", f"{D}/matrix.org/rooms"),
                         ("POST", f"{D}/matrix.org/reset_connection")):
        body = {} if method == "POST" else None
        assert_error(kit.request(method, path, admin.access_token, json=body), 404,
                     "M_NOT_FOUND")
    # reset_connection's body is optional.
    assert_error(kit.request("POST", f"{D}/matrix.org/reset_connection",
                             admin.access_token), 404, "M_NOT_FOUND")


@pytest.mark.parametrize("query", ["order_by=bogus", "dir=x", "from=-1", "limit=-5",
                                   "from=abc"])
def test_bad_parameters(kit: Kit, query: str) -> None:
    admin = kit.make_admin()
    assert_error(kit.request("GET", f"{D}?{query}", admin.access_token), 400,
                 "M_INVALID_PARAM")


@pytest.mark.parametrize("query", ["dir=sideways", "from=-1"])
def test_bad_room_parameters(kit: Kit, query: str) -> None:
    admin = kit.make_admin()
    assert_error(kit.request("GET", f"{D}/matrix.org/rooms?{query}", admin.access_token),
                 400, "M_INVALID_PARAM")


def test_reset_connection_bad_body(kit: Kit) -> None:
    admin = kit.make_admin()
    r = kit.request("POST", f"{D}/matrix.org/reset_connection", admin.access_token,
                    content=b"[]", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "M_BAD_JSON")
