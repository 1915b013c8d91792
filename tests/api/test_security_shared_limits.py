"""Rate limits hold across processes: two Glia processes on one PostgreSQL database give
a caller one burst between them, not one burst each (an attacker would otherwise spread
requests over the load balancer's backends)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.kit import Kit, assert_error
from tests.server import GliaProcess

BURST = 4


def test_a_burst_is_shared_by_two_processes(db_kind: str,
                                            new_database_url: Callable[[], str]) -> None:
    if db_kind != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    url = new_database_url()
    env = {"GLIA_DATABASE__SEVERAL_PROCESSES": "true", "GLIA_RATELIMIT__ENABLED": "true",
           "GLIA_RATELIMIT__REGISTER__BURST": str(BURST),
           "GLIA_RATELIMIT__REGISTER__PER_SECOND": "0.001"}
    servers = [GliaProcess(url, env).start(), GliaProcess(url, env).start()]
    kits = [Kit(server.url) for server in servers]
    try:
        statuses = []
        for i in range(3 * BURST):
            r = kits[i % 2].http.get("/_matrix/client/v3/register/available",
                                     params={"username": f"free{i}"})
            statuses.append(r.status_code)
            if r.status_code == 429:
                body = assert_error(r, 429, "M_LIMIT_EXCEEDED")
                assert body["retry_after_ms"] > 0
        assert statuses.count(200) == BURST, statuses
        assert statuses[:BURST] == [200] * BURST
    finally:
        for kit in kits:
            kit.close()
        for server in servers:
            server.stop()
            assert "Traceback" not in server.log(), server.log()[-3000:]
