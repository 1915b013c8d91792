"""The typed edge holds: no HTTP handler parses a body itself. Bodies are decoded once,
by the server, into the route's request model (``body=`` on the route); the one
exception is login, whose model depends on the login ``type`` it names."""

from __future__ import annotations

import re
from pathlib import Path

HTTP = Path(__file__).resolve().parents[2] / "glia" / "http"
#: The decoder and the request object parse bodies; the server reads the decoded body
#: for an admin request's audit record.
PARSERS = {"decoding.py", "parsing.py", "server.py"}
RAW = re.compile(r"\.(json|json_or_empty)\(\)")
TYPED = re.compile(r"\breq\.typed\(")


def test_no_handler_parses_a_body() -> None:
    offenders = []
    for path in sorted(HTTP.rglob("*.py")):
        if path.name in PARSERS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if RAW.search(line) or (TYPED.search(line) and path.name != "login.py"):
                offenders.append(f"{path.relative_to(HTTP)}:{number}: {line.strip()}")
    assert offenders == []
