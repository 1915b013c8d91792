"""Full-text search over room events: one store, both engines.

The search service decides *what* is indexed (message bodies, room names and topics);
this module decides *how*. Text is cut into terms and normalised here, in Python
(compatibility-decomposed, diacritics dropped, case-folded), so SQLite and PostgreSQL
index and match exactly the same terms.

The engine's dialect holds the engine-specific part (``Dialect.search_*``): SQLite
indexes ``event_search.terms`` in the FTS5 table ``event_search_fts`` and ranks by
``bm25``; PostgreSQL keeps ``to_tsvector('simple', terms)`` in ``event_search.vector``
under a GIN index and ranks by ``ts_rank``.
"""

from __future__ import annotations

import functools
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from glia.storage.engine import Dialect, Executor

#: Terms longer than this are not indexed (base64 blobs, hashes); PostgreSQL would refuse
#: lexemes past 2 KB anyway, and skipping them on both engines keeps results the same.
MAX_TERM_LENGTH = 256


# -- terms ---------------------------------------------------------------------------


@functools.cache
def _word_pattern() -> re.Pattern[str]:
    """Runs of letters, digits and combining marks.

    ``\\w`` alone would cut words at spacing marks (the vowel signs of Indic scripts), so
    the character class also lists every mark; the table is built once, on first use.
    """
    ranges: list[str] = []
    start: int | None = None
    for code in range(sys.maxunicode + 2):
        is_mark = code <= sys.maxunicode and unicodedata.category(chr(code))[0] == "M"
        if is_mark and start is None:
            start = code
        elif not is_mark and start is not None:
            ranges.append(f"\\U{start:08x}-\\U{code - 1:08x}")
            start = None
    return re.compile(f"(?:[^\\W_]|[{''.join(ranges)}])+")


def _fold(text: str) -> str:
    """Case-folded, compatibility-decomposed (``ﬁ`` → ``fi``, full-width → ASCII), with
    diacritics dropped, so ``Café`` and ``cafe`` are the same term."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept).casefold()


def terms(text: str) -> list[str]:
    """The normalised terms of ``text``, in order, as they are indexed and searched."""
    return [t for t in _word_pattern().findall(_fold(text)) if len(t) <= MAX_TERM_LENGTH]


def words(text: str) -> Iterable[tuple[str, list[str]]]:
    """Each word of ``text`` as written, with its normalised terms (for highlights)."""
    for match in _word_pattern().finditer(text):
        yield match.group(0), terms(match.group(0))


# -- queries -------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    """Terms that must appear next to each other; with ``prefix`` the last one may be
    the start of a longer term."""

    terms: tuple[str, ...]
    prefix: bool

    def matches(self, term: str) -> bool:
        """Whether a document term is one this phrase looks for (highlighting)."""
        if self.prefix and term.startswith(self.terms[-1]):
            return True
        return term in self.terms


@dataclass(frozen=True)
class SearchQuery:
    """Every group of ``required`` (each group: any of its phrases), none of ``excluded``."""

    required: tuple[tuple[Phrase, ...], ...]
    excluded: tuple[Phrase, ...] = ()

    def highlights(self, term: str) -> bool:
        return any(p.matches(term) for group in self.required for p in group)


# -- rows ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchEntry:
    """One event's searchable text, as the search service hands it over."""

    stream_ordering: int
    event_id: str
    room_id: str
    sender: str
    type: str
    contains_url: bool
    text: str


@dataclass(frozen=True)
class SearchHit:
    stream_ordering: int
    event_id: str
    room_id: str
    #: Higher is a better match.
    rank: float


@dataclass(frozen=True)
class RoomScope:
    """A room and the stream intervals ``[from, to)`` (``to`` None: open) of it the
    searcher may read, so visibility is applied inside the query, before paging."""

    room_id: str
    ranges: tuple[tuple[int, int | None], ...]


@dataclass(frozen=True)
class SearchFilter:
    types: tuple[str, ...]
    senders: tuple[str, ...] | None = None
    not_senders: tuple[str, ...] = ()
    contains_url: bool | None = None


@dataclass(frozen=True)
class IndexSource:
    """An event the reindex job reads back from the event table."""

    stream_ordering: int
    event_id: str
    room_id: str
    sender: str
    type: str
    state_key: str | None
    content: dict[str, Any]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


def _matches_nothing(search_filter: SearchFilter) -> bool:
    """No type, or an empty sender list, allows no event: no query needed."""
    return not search_filter.types or search_filter.senders == ()


class SearchStore:
    def __init__(self, db: Executor, dialect: Dialect) -> None:
        self._db = db
        self._dialect = dialect

    # -- writing -----------------------------------------------------------------------

    async def index(self, entries: Sequence[SearchEntry]) -> list[int]:
        """Add (or replace) entries; those without any term are left out. Returns the
        stream orderings of the entries left out."""
        rows = []
        empty = []
        for e in entries:
            found = terms(e.text)
            if found:
                rows.append((e.stream_ordering, e.event_id, e.room_id, e.sender, e.type,
                             e.contains_url, " ".join(found)))
            else:
                empty.append(e.stream_ordering)
        if rows:
            text = self._dialect.search_value
            column = self._dialect.search_column
            await self._db.executemany(
                "INSERT INTO event_search (stream_ordering, event_id, room_id, sender, type,"
                f" contains_url, {column}) VALUES (?, ?, ?, ?, ?, ?, {text})"
                " ON CONFLICT (stream_ordering) DO UPDATE SET event_id = excluded.event_id,"
                " room_id = excluded.room_id, sender = excluded.sender, type = excluded.type,"
                f" contains_url = excluded.contains_url, {column} = excluded.{column}"
                # An unchanged row is left alone: a rebuild rewrites mostly identical rows,
                # and rewriting one costs a full-text index delete and insert.
                " WHERE event_search.event_id <> excluded.event_id"
                " OR event_search.room_id <> excluded.room_id"
                " OR event_search.sender <> excluded.sender"
                " OR event_search.type <> excluded.type"
                " OR event_search.contains_url <> excluded.contains_url"
                f" OR event_search.{column} <> excluded.{column}", rows)
        return empty

    async def delete_event(self, event_id: str, room_id: str) -> None:
        """Forget a redacted event (only if it is in ``room_id``, as redactions are)."""
        await self._db.execute(
            "DELETE FROM event_search WHERE event_id = ? AND room_id = ?", event_id, room_id)

    async def delete_room(self, room_id: str) -> int:
        """Forget every event of a room (room purges); returns how many rows went."""
        return await self._db.execute_bulk("DELETE FROM event_search WHERE room_id = ?",
                                           room_id)

    # -- searching ---------------------------------------------------------------------

    def _filter(self, search_filter: SearchFilter) -> tuple[list[str], list[Any]]:
        condition, args = self._dialect.one_of("s.type", search_filter.types)
        where = [condition]
        for values, negate in ((search_filter.senders, False),
                               (search_filter.not_senders or None, True)):
            if values is not None:
                condition, more = self._dialect.one_of("s.sender", values, negate=negate)
                where.append(condition)
                args += more
        if search_filter.contains_url is not None:
            where.append("s.contains_url = ?")
            args.append(search_filter.contains_url)
        return where, args

    def _scope(self, scope: Sequence[RoomScope]) -> tuple[str, list[Any]]:
        parts: list[str] = []
        args: list[Any] = []
        for room in scope:
            for start, end in room.ranges:
                part = f"({self._dialect.search_room} = ? AND s.stream_ordering >= ?"
                args += [room.room_id, start]
                if end is not None:
                    part += " AND s.stream_ordering < ?"
                    args.append(end)
                parts.append(part + ")")
        return "(" + " OR ".join(parts) + ")", args

    async def rooms_with_hits(self, query: SearchQuery, room_ids: Sequence[str],
                              search_filter: SearchFilter) -> list[str]:
        """Which of ``room_ids`` have any match (so visibility is worked out only for
        those)."""
        if not room_ids or _matches_nothing(search_filter):
            return []
        source, match, _, args = self._dialect.search_source(query)
        where, filter_args = self._filter(search_filter)
        in_rooms, room_args = self._dialect.one_of(self._dialect.search_room, room_ids)
        rows = await self._db.fetchall(
            f"SELECT DISTINCT s.room_id FROM {source} WHERE {match}"
            f" AND {in_rooms} AND {' AND '.join(where)}", *args, *room_args, *filter_args)
        return sorted(r["room_id"] for r in rows)

    async def count(self, query: SearchQuery, scope: Sequence[RoomScope],
                    search_filter: SearchFilter) -> int:
        if not scope or _matches_nothing(search_filter):
            return 0
        source, match, _, args = self._dialect.search_source(query)
        where, filter_args = self._filter(search_filter)
        scoped, scope_args = self._scope(scope)
        return int(await self._db.fetchval(
            f"SELECT COUNT(*) FROM {source} WHERE {match} AND {scoped}"
            f" AND {' AND '.join(where)}", *args, *scope_args, *filter_args) or 0)

    async def page(self, query: SearchQuery, scope: Sequence[RoomScope],
                   search_filter: SearchFilter, *, by_rank: bool, limit: int,
                   offset: int = 0, before_stream: int | None = None) -> list[SearchHit]:
        """One page of hits: best first (``by_rank``, paged by ``offset``) or newest
        first (paged by ``before_stream``, exclusive)."""
        if not scope or _matches_nothing(search_filter):
            return []
        source, match, rank, args = self._dialect.search_source(query)
        where, filter_args = self._filter(search_filter)
        scoped, scope_args = self._scope(scope)
        if before_stream is not None:
            where.append("s.stream_ordering < ?")
            filter_args.append(before_stream)
        order = "score DESC, s.stream_ordering DESC" if by_rank else "s.stream_ordering DESC"
        rows = await self._db.fetchall(
            f"SELECT s.stream_ordering, s.event_id, s.room_id, {rank} AS score"
            f" FROM {source} WHERE {match} AND {scoped} AND {' AND '.join(where)}"
            f" ORDER BY {order} LIMIT ? OFFSET ?",
            *args, *scope_args, *filter_args, limit, offset)
        return [SearchHit(int(r["stream_ordering"]), r["event_id"], r["room_id"],
                          float(r["score"] or 0.0)) for r in rows]

    # -- rebuilding --------------------------------------------------------------------

    async def count_sources(self, types: Sequence[str]) -> int:
        """How many events of ``types`` (not redacted) a rebuild reads."""
        if not types:
            return 0
        return int(await self._db.fetchval(
            f"SELECT COUNT(*) FROM events WHERE type IN ({_marks(types)})"
            " AND redacted_by IS NULL", *types) or 0)

    async def sources(self, types: Sequence[str], after_stream: int,
                      limit: int) -> list[IndexSource]:
        """The next events of ``types`` (not redacted) after ``after_stream``."""
        if not types:
            return []
        rows = await self._db.fetchall(
            "SELECT stream_ordering, event_id, room_id, sender, type, state_key, pdu"
            f" FROM events WHERE stream_ordering > ? AND type IN ({_marks(types)})"
            " AND redacted_by IS NULL ORDER BY stream_ordering LIMIT ?",
            after_stream, *types, limit)
        out = []
        for r in rows:
            content = json.loads(r["pdu"]).get("content")
            out.append(IndexSource(int(r["stream_ordering"]), r["event_id"], r["room_id"],
                                   r["sender"], r["type"], r["state_key"],
                                   content if isinstance(content, dict) else {}))
        return out

    async def replace_range(self, after_stream: int, upto_stream: int,
                            skipped_streams: Sequence[int],
                            entries: Sequence[SearchEntry]) -> int:
        """Rebuild the index over ``(after_stream, upto_stream]``: drop rows whose event
        is gone or redacted and rows of events read but not indexable now
        (``skipped_streams``, or no terms), then write ``entries``. Rows of events written
        meanwhile are left alone, so a rebuild never loses a live event. Returns how many
        entries were written."""
        await self._db.execute_bulk(
            "DELETE FROM event_search WHERE stream_ordering > ? AND stream_ordering <= ?"
            " AND NOT EXISTS (SELECT 1 FROM events e WHERE"
            " e.stream_ordering = event_search.stream_ordering AND e.redacted_by IS NULL)",
            after_stream, upto_stream)
        empty = await self.index(entries)
        gone = [*skipped_streams, *empty]
        if gone:
            await self._db.execute_bulk(
                f"DELETE FROM event_search WHERE stream_ordering IN ({_marks(gone)})", *gone)
        return len(entries) - len(empty)
