"""The full-text search store on the engine under test (FTS5 / tsvector): terms, phrases
and prefixes, exclusions, scopes of visible stream ranges, filters, ranking and paging,
and the rebuild's reads and range replacement."""

from __future__ import annotations

from glia.storage import Storage
from glia.storage.search import (
    Phrase,
    RoomScope,
    SearchEntry,
    SearchFilter,
    SearchQuery,
    terms,
)
from tests.storage.helpers import event, room

MSG = ("m.room.message",)


def q(*words: str, prefix: bool = False, excluded: tuple[str, ...] = ()) -> SearchQuery:
    """Every word required; the last may be a prefix."""
    required = tuple((Phrase((w,), prefix and i == len(words) - 1),)
                     for i, w in enumerate(words))
    return SearchQuery(required, tuple(Phrase((w,), False) for w in excluded))


def entry(stream: int, text: str, room_id: str = "!a:test", sender: str = "@s:test",
          type: str = "m.room.message", url: bool = False) -> SearchEntry:
    return SearchEntry(stream, f"$s{stream}", room_id, sender, type, url, text)


ALL = (RoomScope("!a:test", ((0, None),)), RoomScope("!b:test", ((0, None),)))
MESSAGES = SearchFilter(MSG)


async def _streams(storage: Storage, query: SearchQuery, scope: tuple[RoomScope, ...] = ALL,
                   search_filter: SearchFilter = MESSAGES, **kwargs: object
                   ) -> list[int]:
    args: dict[str, object] = {"by_rank": False, "limit": 50}
    args.update(kwargs)
    hits = await storage.search.page(query, scope, search_filter, **args)  # type: ignore[arg-type]
    return [h.stream_ordering for h in hits]


def test_terms_fold_case_width_and_accents() -> None:
    assert terms("Café ＦＵＬＬ ﬁsh, don't") == ["cafe", "full", "fish", "don", "t"]
    assert terms("x" * 257 + " kept") == ["kept"]


async def test_index_and_match(storage: Storage) -> None:
    s = storage.search
    assert await s.index([entry(1, "The quick brown fox"), entry(2, "Quick café ☕"),
                          entry(3, "!!! ..."), entry(4, "brown bread", room_id="!b:test"),
                          entry(5, "QUICKSTEP guide")]) == [3]
    assert await _streams(storage, q("quick")) == [2, 1]
    assert await _streams(storage, q("quick", prefix=True)) == [5, 2, 1]
    assert await _streams(storage, q("CAFE")) == [2]
    assert await _streams(storage, q("brown", "quick")) == [1]
    assert await _streams(storage, q("brown", excluded=("fox",))) == [4]
    assert await _streams(storage, SearchQuery(((Phrase(("brown", "fox"), False),),))) == [1]
    assert await _streams(storage, SearchQuery(((Phrase(("fox", "brown"), False),),))) == []
    either = SearchQuery(((Phrase(("bread",), False), Phrase(("fox",), False)),))
    assert await _streams(storage, either) == [4, 1]
    assert await _streams(storage, q("nothing")) == []


async def test_scope_filters_and_pages(storage: Storage) -> None:
    s = storage.search
    await s.index([entry(10, "word", sender="@a:test"), entry(11, "word", url=True),
                   entry(12, "word", type="m.room.topic"), entry(13, "word", sender="@a:test"),
                   entry(14, "word", room_id="!b:test"), entry(15, "word")])
    # Visible ranges are [from, to): the start counts, the end does not.
    scope = (RoomScope("!a:test", ((11, 13), (15, None))),)
    assert await _streams(storage, q("word"), scope) == [15, 11]
    assert await s.count(q("word"), scope, SearchFilter(MSG)) == 2
    assert await _streams(storage, q("word"), search_filter=SearchFilter(
        (*MSG, "m.room.topic"), senders=("@s:test",))) == [15, 14, 12, 11]
    assert await _streams(storage, q("word"), search_filter=SearchFilter(
        MSG, not_senders=("@a:test",), contains_url=False)) == [15, 14]
    assert await _streams(storage, q("word"), search_filter=SearchFilter(
        MSG, contains_url=True)) == [11]
    assert await _streams(storage, q("word"), limit=2) == [15, 14]
    assert await _streams(storage, q("word"), before_stream=14) == [13, 11, 10]
    assert await _streams(storage, q("word"), by_rank=True, offset=3, limit=5) == [11, 10]
    assert await s.count(q("word"), ALL, SearchFilter(MSG)) == 5
    assert await s.rooms_with_hits(q("word"), ["!b:test", "!a:test", "!c:test"],
                                   SearchFilter(MSG)) == ["!a:test", "!b:test"]
    # Nothing to search in, or no type allowed: no hits, no query.
    assert await _streams(storage, q("word"), ()) == []
    assert await s.count(q("word"), (), SearchFilter(MSG)) == 0
    assert await s.rooms_with_hits(q("word"), [], SearchFilter(MSG)) == []
    assert await _streams(storage, q("word"), search_filter=SearchFilter(())) == []
    assert await s.count(q("word"), ALL, SearchFilter(())) == 0
    assert await s.rooms_with_hits(q("word"), ["!a:test"], SearchFilter(())) == []


async def test_rank_orders_better_matches_first(storage: Storage) -> None:
    await storage.search.index([entry(1, "apple " + "filler " * 30),
                                entry(2, "apple apple apple")])
    hits = await storage.search.page(q("apple"), ALL, SearchFilter(MSG), by_rank=True,
                                     limit=10)
    assert [h.stream_ordering for h in hits] == [2, 1]
    assert hits[0].rank > hits[1].rank > 0


async def test_reindexing_replaces_and_deletes(storage: Storage) -> None:
    s = storage.search
    await s.index([entry(1, "old words"), entry(2, "other room", room_id="!b:test")])
    await s.index([entry(1, "new words")])
    assert await _streams(storage, q("old")) == []
    assert await _streams(storage, q("new")) == [1]
    # A redaction only deletes in the event's own room.
    await s.delete_event("$s1", "!b:test")
    assert await _streams(storage, q("words")) == [1]
    await s.delete_event("$s1", "!a:test")
    assert await _streams(storage, q("words")) == []
    assert await s.delete_room("!b:test") == 1
    assert await s.delete_room("!b:test") == 0


async def test_indexing_again_keeps_unchanged_rows_and_updates_changed_ones(
        storage: Storage) -> None:
    """A rebuild writes every entry again: identical ones stay as they are, and an entry
    that differs in any column (room, sender, type, URL flag, text) is rewritten."""
    s = storage.search
    first = [entry(1, "same words"), entry(2, "same words"), entry(3, "same words"),
             entry(4, "same words"), entry(5, "same words")]
    await s.index(first)
    await s.index([*first[:1], entry(2, "same words", room_id="!b:test"),
                   entry(3, "same words", sender="@a:test"),
                   entry(4, "same words", url=True), entry(5, "other text")])
    assert await _streams(storage, q("same")) == [4, 3, 2, 1]
    assert await _streams(storage, q("other")) == [5]
    assert await _streams(storage, q("same"), (RoomScope("!b:test", ((0, None),)),)) == [2]
    assert await _streams(storage, q("same"), search_filter=SearchFilter(
        MSG, senders=("@a:test",))) == [3]
    assert await _streams(storage, q("same"), search_filter=SearchFilter(
        MSG, contains_url=True)) == [4]
    await s.index([entry(1, "same words", type="m.room.topic")])
    assert await _streams(storage, q("same"), search_filter=SearchFilter(
        ("m.room.topic",))) == [1]


async def test_sources_and_replace_range(storage: Storage) -> None:
    s = storage.search
    async with storage.transaction() as tx:
        r = await room(tx)
        a = await event(tx, r, content={"body": "alpha"})
        topic = await event(tx, r, type="m.room.topic", state_key="", content={"topic": "t"})
        gone = await event(tx, r, content={"body": "gamma"})
        b = await event(tx, r, content={"body": "beta"})
        await tx.events.redact(gone.event_id, {"type": "m.room.message"}, {}, "$r",
                               original=gone.pdu, room_id=r, redacted_ts=1)
    scope = (RoomScope(r, ((0, None),)),)
    types = ["m.room.message", "m.room.topic"]
    assert await s.count_sources(types) == 3
    assert await s.count_sources(["m.room.message"]) == 2
    found = await s.sources(types, a.stream_ordering, 10)
    assert [x.event_id for x in found] == [topic.event_id, b.event_id]
    assert (found[0].state_key, found[0].content) == ("", {"topic": "t"})
    assert [x.event_id for x in await s.sources(types, 0, 1)] == [a.event_id]
    # A stale index: the redacted event is there, alpha is missing, beta is outdated.
    await s.index([SearchEntry(gone.stream_ordering, gone.event_id, r, "@sender:test",
                               "m.room.message", False, "gamma"),
                   SearchEntry(b.stream_ordering, b.event_id, r, "@sender:test",
                               "m.room.message", False, "outdated"),
                   SearchEntry(topic.stream_ordering, topic.event_id, r, "@sender:test",
                               "m.room.topic", False, "topic")])
    written = await s.replace_range(
        0, b.stream_ordering, [topic.stream_ordering],
        [SearchEntry(a.stream_ordering, a.event_id, r, "@sender:test", "m.room.message",
                     False, "alpha"),
         SearchEntry(b.stream_ordering, b.event_id, r, "@sender:test", "m.room.message",
                     False, "beta ...")])
    assert written == 2
    everything = SearchFilter(tuple(types))
    for word, expected in (("alpha", [a.stream_ordering]), ("beta", [b.stream_ordering]),
                           ("gamma", []), ("outdated", []), ("topic", [])):
        assert await _streams(storage, q(word), scope, everything) == expected, word


async def test_empty_sender_list_matches_nobody(storage: Storage) -> None:
    await storage.search.index([entry(1, "word")])
    nobody = SearchFilter(MSG, senders=())
    assert await _streams(storage, q("word"), search_filter=nobody) == []
    assert await storage.search.count(q("word"), ALL, nobody) == 0
    assert await storage.search.rooms_with_hits(q("word"), ["!a:test"], nobody) == []


async def test_rebuild_reads_of_no_types_are_empty(storage: Storage) -> None:
    async with storage.transaction() as tx:
        r = await room(tx)
        await event(tx, r, content={"body": "x"})
    assert await storage.search.count_sources([]) == 0
    assert await storage.search.sources([], 0, 10) == []
