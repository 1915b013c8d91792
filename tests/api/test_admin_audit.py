"""Generated over every admin write Glia serves: each leaves an audit row with its action
and actor, whatever the outcome (here most requests are refused: unknown targets,
missing bodies), and no row holds a secret."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest

from glia.http import admin_routes
from tests.kit import Kit, User
from tests.server import GliaProcess

FILL = {"userId": "@nobody-audit:localhost", "roomId": "!nope-audit:localhost"}


def _writes() -> list[tuple[str, str, str]]:
    """One (method, path, action) per distinct route, preferring Synapse's mount over
    Glia's copy of it."""
    seen: dict[tuple[str, str], tuple[str, str, str]] = {}
    for route in admin_routes():
        if route.audit is None:
            continue
        key = (route.method, route.path.replace("/_glia/admin/", "/_synapse/admin/"))
        if key not in seen or route.path.startswith("/_synapse/"):
            seen[key] = (route.method, route.path, route.audit)
    return sorted(seen.values())


@pytest.fixture(scope="module")
def audited(new_database_url: Callable[[], str]) -> Iterator[tuple[Kit, User]]:
    server = GliaProcess(new_database_url()).start()
    kit = Kit(server.url)
    yield kit, kit.make_admin()
    kit.close()
    server.stop()
    assert "Traceback" not in server.log(), server.log()[-3000:]


@pytest.mark.parametrize(("method", "path", "action"), _writes())
def test_every_admin_write_is_audited(audited: tuple[Kit, User], method: str, path: str,
                                      action: str) -> None:
    kit, admin = audited
    concrete = re.sub(r"\{([^}]+)\}",
                      lambda m: quote(FILL.get(m.group(1), "x"), safe=""), path)
    before = _count(kit, admin, action)
    r = kit.request(method, concrete, admin.access_token,
                    json={"password": "s3cret-never-logged"} if method != "GET" else None)
    assert r.status_code < 500, (r.status_code, r.text)
    entries = _entries(kit, admin, action)
    assert len(entries) == before + 1, (concrete, r.status_code, r.text)
    newest = entries[0]
    assert newest["actor"] == admin.user_id
    assert "s3cret-never-logged" not in str(newest["params"])


def _entries(kit: Kit, admin: User, action: str) -> list[dict]:
    r = kit.request("GET", f"/_glia/admin/v1/audit_log?action={quote(action)}"
                    f"&actor={quote(admin.user_id)}&limit=1000", admin.access_token)
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


def _count(kit: Kit, admin: User, action: str) -> int:
    return len(_entries(kit, admin, action))
