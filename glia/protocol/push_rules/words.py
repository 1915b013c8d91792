"""Which of many names occur in a message body as whole words: the body is read once per
event, however many members' names are looked for (no pattern per member).

Two matchings share one search (:func:`_occurring`):

- display names (:func:`display_names_in`, the ``contains_display_name`` condition): the
  name must sit between non-word characters (or the body's ends), compared letter by
  letter without case (:func:`fold`);
- literal ``content.body`` glob patterns (:func:`literals_in`, e.g. each member's
  localpart in ``.m.rule.contains_user_name``): :func:`glob_match`'s word-boundary
  rule on the lower-cased body, exactly as for one pattern. For the localparts of a
  big room, :func:`word_pieces` turns it around: the few pieces of the body such a
  pattern can match are listed once, and each member's localpart is one set look-up.

A word character is one of ``[A-Za-z0-9_]`` (the spec's word boundary for
``content.body``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, Final

__all__ = ["NameIndex", "display_names_in", "fold", "literals_in", "word_pieces"]

#: Letters that Python's case-insensitive matching treats as one but whose upper case is
#: several characters (so :func:`_fold_char` cannot find their common form itself).
_SAME_LETTER: Final = {"\u1fd3": "\u0390", "\u1fe3": "\u03b0", "\ufb05": "\ufb06"}

_NOT_AFTER_WORD: Final = re.compile(r"(?<![A-Za-z0-9_])")
_NOT_BEFORE_WORD: Final = re.compile(r"(?![A-Za-z0-9_])")
_BOUNDARY: Final = re.compile(r"(?<![A-Za-z0-9_])|(?![A-Za-z0-9_])")
_SPACE: Final = re.compile(r"\s")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    lower = "i" if ch == "\u0130" else ch.lower()  # the one letter lowered to two
    upper = lower.upper()
    if len(upper) == 1 and len(upper.lower()) == 1:
        # Letters with one upper case but several lower ones (ſ and s, ı and i, µ and μ)
        # are the same letter: take the lower case of the upper case.
        lower = upper.lower()
    return _SAME_LETTER.get(lower, lower)


def fold(text: str) -> str:
    """``text`` with each character replaced by one case-independent form of it (same
    length, so positions in the folded text are positions in ``text``)."""
    if text.isascii():
        return text.lower()
    return "".join(map(_fold_char, text))


def display_names_in(body: str, names: Iterable[str]) -> set[str]:
    """The ``names`` that occur in ``body`` as whole words, without case; blank names
    never do."""
    wanted: dict[str, list[str]] = {}
    for name in names:
        if name.strip():
            wanted.setdefault(fold(name), []).append(name)
    return _names_in(body, wanted, None)


def _names_in(body: str, wanted: dict[str, list[str]],
              by_length: dict[int, set[str]] | None) -> set[str]:
    if not wanted:
        return set()
    starts = {m.start() for m in _NOT_AFTER_WORD.finditer(body)}
    ends = {m.start() for m in _NOT_BEFORE_WORD.finditer(body)}
    return _occurring(fold(body), starts, ends, wanted, by_length)


class NameIndex:
    """Many users' display names, folded and grouped once, to be looked for in many
    bodies: a room's members change their names far less often than messages arrive,
    so each message costs a pass over its body, not over every member's name."""

    def __init__(self, names: Mapping[str, Any]) -> None:
        """``names``: user ID → display name (a non-string or blank one is no name)."""
        users_by_name: dict[str, list[str]] = {}
        for user_id, name in names.items():
            if isinstance(name, str) and name.strip():
                users_by_name.setdefault(fold(name), []).append(user_id)
        self._users_by_name = users_by_name
        self._by_length = _by_length(users_by_name)

    def users_in(self, body: str) -> set[str]:
        """The users whose display name occurs in ``body``, as :func:`display_names_in`
        finds names."""
        return _names_in(body, self._users_by_name, self._by_length)


def literals_in(body: str, patterns: Iterable[str]) -> set[str]:
    """The wildcard-free ``patterns`` that :func:`glob_match` finds in ``body`` with
    ``word_boundary=True``: in the lower-cased body, starting and ending where a
    non-word character (or an end) is on either side."""
    wanted: dict[str, list[str]] = {}
    for pattern in patterns:
        wanted.setdefault(pattern.lower(), []).append(pattern)
    if not wanted:
        return set()
    text = body.lower()
    bounds = {m.start() for m in _BOUNDARY.finditer(text)}
    return _occurring(text, bounds, bounds, wanted)


def _by_length(wanted: Iterable[str]) -> dict[int, set[str]]:
    by_length: dict[int, set[str]] = {}
    for folded in wanted:
        by_length.setdefault(len(folded), set()).add(folded)
    return by_length


def _occurring(text: str, starts: set[int], ends: set[int], wanted: dict[str, list[str]],
               by_length: dict[int, set[str]] | None = None) -> set[str]:
    """The originals of the ``wanted`` (folded) strings found in ``text`` starting at one
    of ``starts`` and ending at one of ``ends``.

    Either every start position is tried with every wanted length (a dictionary look-up
    each: cheap for short bodies and many names), or each wanted string is searched for
    (cheap for long bodies and few names) — whichever is less work."""
    by_length = _by_length(wanted) if by_length is None else by_length
    found: set[str] = set()
    n = len(text)
    if len(starts) * len(by_length) <= len(wanted) * (n // 32 + 1):
        for start in starts:
            for length, candidates in by_length.items():
                end = start + length
                if end <= n and end in ends:
                    piece = text[start:end]
                    if piece in candidates:
                        found.add(piece)
    else:
        for folded in wanted:
            at = text.find(folded)
            while at != -1:
                if at in starts and at + len(folded) in ends:
                    found.add(folded)
                    break
                at = text.find(folded, at + 1)
    return {original for folded in found for original in wanted[folded]}


def word_pieces(body: str, longest: int, limit: int) -> set[str] | None:
    """Every piece of the lower-cased ``body`` that :func:`literals_in` could find a
    pattern without white space of at most ``longest`` characters as: starting and
    ending at a word boundary, holding no white space. None if there are more than
    ``limit`` such places (a long body of short words): then looking for each pattern
    is less work.
    """
    text = body.lower()
    bounds = sorted({m.start() for m in _BOUNDARY.finditer(text)})
    spaces = [m.start() for m in _SPACE.finditer(text)] + [len(text)]
    pieces: set[str] = set()
    space = taken = 0
    for i, start in enumerate(bounds):
        while spaces[space] < start:
            space += 1
        stop = min(spaces[space], start + longest)
        for end in bounds[i + 1:]:
            if end > stop:
                break
            pieces.add(text[start:end])
            taken += 1
        if taken > limit:
            return None
    return pieces
