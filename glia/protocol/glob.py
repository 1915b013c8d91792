"""Glob patterns that users supply: push rules (``*`` and ``?``, case-insensitive,
against a whole value or, for ``content.body``, against any run of words) and the filter
language's event types (``*`` only, case-sensitive, against the whole value).

Matching is a bit-parallel NFA, linear in the text whatever the pattern, so a hostile
pattern cannot stall the server the way a backtracking regex would; literal patterns
(most of them) take a plain comparison or substring search."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["glob_match", "wildcard_match"]


@dataclass(frozen=True)
class _Glob:
    length: int
    chars: dict[str, int]
    any_char: int
    star: int


@lru_cache(maxsize=1024)
def _compile_glob(pattern: str, question_mark: bool) -> _Glob:
    """The automaton of a pattern (already case-folded if matching ignores case);
    ``question_mark``: ``?`` matches any one character rather than itself."""
    pattern = re.sub(r"\*+", "*", pattern)
    chars: dict[str, int] = {}
    any_char = star = 0
    for i, ch in enumerate(pattern):
        bit = 1 << i
        if ch == "*":
            star |= bit
        elif ch == "?" and question_mark:
            any_char |= bit
        else:
            chars[ch] = chars.get(ch, 0) | bit
    return _Glob(len(pattern), chars, any_char, star)


def _is_word(ch: str) -> bool:
    return ch == "_" or ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ("0" <= ch <= "9")


def glob_match(pattern: str, value: str, *, word_boundary: bool = False) -> bool:
    """Case-insensitive glob match of the whole value, or (``word_boundary``) of any
    substring that starts and ends at a word boundary (the ``content.body`` rule).

    Every member of a room is checked against mostly the same default rules, so most
    patterns are literal (``@room``, a localpart, ``m.notice``): those take a plain
    substring search, and only real globs run the automaton."""
    if "*" not in pattern and "?" not in pattern:
        return _literal_match(pattern.lower(), value.lower(), word_boundary)
    return _glob_automaton(pattern, value, word_boundary)


def wildcard_match(pattern: str, value: str) -> bool:
    """The filter language's match: ``*`` stands for any run of characters (``?`` and
    everything else for itself), case-sensitive, over the whole value."""
    if "*" not in pattern:
        return pattern == value
    return _run(_compile_glob(pattern, False), value, False)


def _literal_match(pattern: str, text: str, word_boundary: bool) -> bool:
    """:func:`glob_match` for a pattern without wildcards (both already lower-cased)."""
    if not word_boundary:
        return pattern == text
    n, size = len(text), len(pattern)

    def boundary(i: int) -> bool:
        return i == 0 or i == n or not _is_word(text[i - 1]) or not _is_word(text[i])

    start = text.find(pattern)
    while start != -1:
        if boundary(start) and boundary(start + size):
            return True
        start = text.find(pattern, start + 1)
    return False


def _glob_automaton(pattern: str, value: str, word_boundary: bool) -> bool:
    """The push-rule match by the automaton: ``?`` wildcards, case folded."""
    return _run(_compile_glob(pattern.lower(), True), value.lower(), word_boundary)


def _run(g: _Glob, text: str, word_boundary: bool) -> bool:
    accept = 1 << g.length
    star = g.star

    def close(state: int) -> int:
        # A star may match nothing: reaching it also reaches what follows it.
        return state | ((state & star) << 1)

    def step(state: int, ch: str) -> int:
        return close(((state & (g.chars.get(ch, 0) | g.any_char)) << 1) | (state & star))

    if not word_boundary:
        state = close(1)
        for ch in text:
            state = step(state, ch)
            if not state:
                return False
        return bool(state & accept)
    state = 0
    n = len(text)
    prev_word = False
    for i in range(n + 1):
        cur_word = i < n and _is_word(text[i])
        if i == 0 or i == n or not prev_word or not cur_word:
            state = close(state | 1)
            if state & accept:
                return True
        if i == n:
            break
        state = step(state, text[i])
        prev_word = cur_word
    return False
