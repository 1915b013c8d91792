"""Synapse's offset paging rule, shared by every offset-paged admin list."""

from __future__ import annotations

__all__ = ["next_offset"]


def next_offset(offset: int, returned: int, total: int) -> int | None:
    """The ``from`` of the following page (``offset + returned``) while rows remain
    after this one; ``None`` on the last page (or an empty one)."""
    following = offset + returned
    return following if returned and following < total else None
