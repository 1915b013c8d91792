"""Synapse's admin-list pagination: ``from`` offset, ``limit``, ``dir``, and a
``next_token`` that is ``from + returned`` while more rows remain."""

from __future__ import annotations

from dataclasses import dataclass

from glia import errors
from glia.http.parsing import Request
from glia.services.paging import next_offset


@dataclass(frozen=True)
class Page:
    offset: int
    limit: int
    backwards: bool

    def next_token(self, returned: int, total: int) -> int | None:
        return next_offset(self.offset, returned, total)


def page_params(req: Request, default_limit: int = 100) -> Page:
    offset = req.query_int("from", 0) or 0
    limit = req.query_int("limit", default_limit)
    direction = req.query("dir") or "f"
    if direction not in ("f", "b"):
        raise errors.invalid_param("Query parameter 'dir' must be one of ['b', 'f']")
    return Page(offset, default_limit if limit is None else limit, direction == "b")
