"""Synapse's admin-list pagination: ``from`` offset, ``limit``, ``dir``, and a
``next_token`` that is ``from + returned`` while more rows remain."""

from __future__ import annotations

from dataclasses import dataclass

from glia import errors
from glia.http.parsing import Request


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int
    backwards: bool

    def next_token(self, returned: int, total: int) -> int | None:
        following = self.offset + returned
        return following if returned and following < total else None


def page_params(req: Request, default_limit: int = 100) -> Page:
    offset = req.query_int("from", 0) or 0
    limit = req.query_int("limit", default_limit)
    direction = req.query("dir") or "f"
    if direction not in ("f", "b"):
        raise errors.invalid_param("Query parameter 'dir' must be one of ['b', 'f']")
    return Page(offset, default_limit if limit is None else limit, direction == "b")
