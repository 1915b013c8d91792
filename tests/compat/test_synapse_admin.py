"""Glia's admin API answers as Synapse's does: the same scripted requests (every endpoint
of Synapse's admin API, good and bad input) sent to a real Synapse and to Glia, set up
with the same fixtures, compared by status, ``errcode`` and JSON shape. Differences must
be listed, with their reason, in ``known.py``."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.compat.fixtures import populate
from tests.compat.known import DELIBERATE, PENDING
from tests.compat.script import SCRIPT, Call
from tests.compat.shapes import response_differences
from tests.compat.synapse import VALIDITY_PERIOD_S, compat_synapse
from tests.kit import Kit, User
from tests.server import GliaProcess
from tests.synapse_process import SynapseProcess

_PLACEHOLDER = re.compile(r"\{([a-z_0-9]+)\}")
#: Job states (Synapse's task and deletion states, Glia's) that are not final yet.
_RUNNING = {"scheduled", "active", "purging", "shutting_down"}


def _running(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get("status") in _RUNNING or any(_running(v) for v in value.values())
    if isinstance(value, list):
        return any(_running(v) for v in value)
    return False


@pytest.fixture(scope="module")
def synapse() -> Iterator[SynapseProcess]:
    server = compat_synapse().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def glia_compat(new_database_url: Callable[[], str]) -> Iterator[GliaProcess]:
    server = GliaProcess(new_database_url(), {
        "GLIA_ACCOUNT_VALIDITY__ENABLED": "true",
        "GLIA_ACCOUNT_VALIDITY__PERIOD": str(VALIDITY_PERIOD_S)}).start()
    yield server
    server.stop()


class Side:
    """One server under comparison: its client, placeholders and users."""

    def __init__(self, url: str) -> None:
        self.kit = Kit(url)
        self.ids, self.users = populate(self.kit)

    def fill(self, text: str, in_path: bool) -> str:
        def one(m: re.Match[str]) -> str:
            value = self.ids.get(m.group(1), "missing")
            return quote(value, safe="") if in_path else value
        return _PLACEHOLDER.sub(one, text)

    def _body(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.fill(value, in_path=False)
        if isinstance(value, dict):
            return {k: self._body(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._body(v) for v in value]
        return value

    def send(self, call: Call) -> httpx.Response:
        path, _, query = call.path.partition("?")
        url = self.fill(path, in_path=True) + ("?" + self.fill(query, True) if query else "")
        user: User | None = None if call.token == "none" else \
            self.users["cmpadmin" if call.token == "admin" else call.token]
        kwargs: dict[str, Any] = {}
        if call.raw is not None:
            kwargs = {"content": call.raw, "headers": {"Content-Type": "application/json"}}
        elif call.body is not None:
            kwargs = {"json": self._body(call.body)}
        token = user.access_token if user else None
        if token is not None and call.scheme != "Bearer":
            kwargs["headers"] = {**kwargs.get("headers", {}),
                                 "Authorization": f"{call.scheme} {token}"}
            token = None
        r = self.kit.request(call.method, url, token, **kwargs)
        deadline = time.monotonic() + 20
        while call.settle and r.status_code == 200 and _running(r.json()) \
                and time.monotonic() < deadline:
            time.sleep(0.1)
            r = self.kit.request(call.method, url, token, **kwargs)
        deadline = time.monotonic() + 5
        while call.settle_status and r.status_code == 200 \
                and not r.json().get("current_updates") and time.monotonic() < deadline:
            time.sleep(0.1)
            r = self.kit.request(call.method, url, token, **kwargs)
        for name, key in call.save.items():
            try:
                self.ids[name] = str(r.json()[key])
            except (ValueError, KeyError, TypeError):
                self.ids[name] = "missing"
        return r


def test_admin_api_answers_as_synapse(glia_compat: GliaProcess,
                                      synapse: SynapseProcess) -> None:
    glia, other = Side(glia_compat.url), Side(synapse.url)
    found: dict[str, list[str]] = {}
    for call in SCRIPT:
        differences = response_differences(glia.send(call), other.send(call))
        if differences and call.compare:  # a label sent twice keeps both answers' lines
            found.setdefault(call.label, []).extend(differences)
    known = {**DELIBERATE, **PENDING}
    unexplained = {label: d for label, d in found.items() if label not in known}
    stale = sorted(label for label in known if label not in found)
    report = "\n".join(f"{label}\n    " + "\n    ".join(d)
                       for label, d in unexplained.items())
    assert not unexplained, f"{len(unexplained)} unexplained differences:\n{report}"
    assert not stale, f"listed differences that no longer differ (remove them): {stale}"
    assert "Traceback" not in glia_compat.log(), glia_compat.log()[-5000:]
