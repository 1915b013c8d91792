"""Glia's ``dry_run`` of destructive admin operations: from the query string or, for a
POST, the JSON body. A HEAD (answered by a GET route's handler) is always a dry run, so a
probe can never start the operation."""

from __future__ import annotations

import msgspec

from glia.http.parsing import Request


class DryRunBody(msgspec.Struct):
    """The body of a POST that only takes ``dry_run`` (the body is optional)."""

    dry_run: bool = False


def dry_run(req: Request[DryRunBody]) -> bool:
    """Routes that call this declare ``body=DryRunBody, empty_body=True`` for POST."""
    if req.raw.method == "HEAD":
        return True
    if req.query("dry_run") is not None:
        return bool(req.query_bool("dry_run"))
    return req.raw.method == "POST" and req.body.dry_run
