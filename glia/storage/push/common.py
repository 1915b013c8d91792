"""What the push stores share: JSON columns and chunked ``IN (...)`` lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from glia import errors
from glia.storage.engine import Executor

#: Keeps ``IN (...)`` lists well under both engines' parameter limits.
CHUNK = 500


def dumps(value: Any) -> str:
    try:
        return msgspec.json.encode(value).decode()
    except RecursionError as e:  # decodable, but too deep to encode again: refuse it
        raise errors.bad_json("JSON is nested too deeply") from e


def chunks(items: Sequence[str]) -> list[Sequence[str]]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


def marks(items: Sequence[Any]) -> str:
    return ", ".join("?" for _ in items)


def optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


class StoreBase:
    """A push area's store, bound to one executor (the pool or a transaction)."""

    def __init__(self, db: Executor) -> None:
        self._db = db
