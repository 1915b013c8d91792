"""Health checks over real HTTP: Synapse's ``/health`` and Dendrite's monitor endpoints
answer without a token while the database answers."""

from __future__ import annotations

from tests.kit import Kit


def test_synapse_health_is_plain_ok(kit: Kit) -> None:
    r = kit.request("GET", "/health")
    assert r.status_code == 200
    assert r.text == "OK"
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["access-control-allow-origin"] == "*"


def test_dendrite_monitor_endpoints(kit: Kit) -> None:
    up = kit.request("GET", "/_dendrite/monitor/up")
    assert up.status_code == 200 and up.content == b""
    health = kit.request("GET", "/_dendrite/monitor/health")
    assert health.status_code == 200 and health.content == b""


def test_health_is_get_only(kit: Kit) -> None:
    r = kit.request("POST", "/health", json={})
    assert r.status_code == 405 and r.json()["errcode"] == "M_UNRECOGNIZED"
