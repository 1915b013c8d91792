"""OpenGraph metadata of an HTML page, for URL previews (``preview_url``).

Pure: bytes and headers in, a dict out. Read with the standard library's tolerant
``html.parser``, which never runs scripts nor fetches anything. As Synapse does: every
``<meta property|name="og:…" content="…">`` (the first of each wins); ``og:title``
falls back to ``<title>``, ``og:description`` to ``<meta name="description">``,
``og:image`` to the first ``<img src>``; over-long keys and values are dropped.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from typing import Any

__all__ = ["OG_KEY_MAX", "OG_VALUE_MAX", "decode_html", "open_graph", "prune"]

#: Synapse's limits: longer keys or values are pruned from a preview.
OG_KEY_MAX = 50
OG_VALUE_MAX = 1000

_CHARSET_HEADER = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_CHARSET_META = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_SPACE = re.compile(r"\s+")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page's text: by the charset of the Content-Type header, else of a
    ``<meta charset>`` in its first 1,024 bytes, else UTF-8 (bad bytes replaced)."""
    header = _CHARSET_HEADER.search(content_type or "")
    meta = _CHARSET_META.search(body[:1024])
    codec = _codec(header.group(1) if header else None) or \
        _codec(meta.group(1).decode("ascii", "replace") if meta else None) or "utf-8"
    try:
        return body.decode(codec, errors="replace")
    except LookupError:  # a codec that is no text encoding (rot13, base64 …)
        return body.decode("utf-8", errors="replace")


class _MetaReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.og: dict[str, str] = {}
        self.description: str | None = None
        self.title: str | None = None
        self.first_image: str | None = None
        self._in_title = False
        self._title_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k.lower(): v for k, v in attrs if v is not None}
        if tag == "meta":
            key = attributes.get("property") or attributes.get("name") or ""
            content = attributes.get("content")
            if content is None:
                return
            if key.startswith("og:"):
                self.og.setdefault(key, content)
            elif key.lower() == "description" and self.description is None:
                self.description = content
        elif tag == "title" and self.title is None:
            self._in_title = True
        elif tag == "img" and self.first_image is None and attributes.get("src"):
            self.first_image = attributes["src"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = "".join(self._title_parts)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = _SPACE.sub(" ", text).strip()
    return cleaned or None


def open_graph(text: str) -> dict[str, Any]:
    """The page's OpenGraph properties, with the fallbacks above."""
    reader = _MetaReader()
    try:
        reader.feed(text)
        reader.close()
    except (AssertionError, ValueError):
        pass  # markup the parser gives up on: what was read so far stands
    og: dict[str, Any] = dict(reader.og)
    if not og.get("og:title") and (title := _clean(reader.title)):
        og["og:title"] = title
    if not og.get("og:description") and (description := _clean(reader.description)):
        og["og:description"] = description
    if not og.get("og:image") and reader.first_image:
        og["og:image"] = reader.first_image
    return og


def prune(og: dict[str, Any]) -> dict[str, Any]:
    """Without over-long keys and values (numbers count by their decimal length)."""
    return {k: v for k, v in og.items()
            if len(k) <= OG_KEY_MAX and len(str(v)) <= OG_VALUE_MAX}
