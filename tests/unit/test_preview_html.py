"""OpenGraph from HTML for URL previews: what is read, the fallbacks, the charsets, and
markup the parser gives up on."""

from __future__ import annotations

from glia.services.preview_html import OG_VALUE_MAX, decode_html, open_graph, prune


def test_og_properties_first_of_each_wins_with_entities() -> None:
    og = open_graph('<meta property="og:title" content="A &amp; B">'
                    '<meta property="og:title" content="second">'
                    '<meta name="og:description" content="by name">'
                    '<meta property="twitter:title" content="not og"><title>T</title>')
    assert og == {"og:title": "A & B", "og:description": "by name"}


def test_fallbacks_title_description_first_image() -> None:
    og = open_graph("<html><head><title>\n  Spaced   out \n</title>"
                    '<meta name="Description" content="Desc"></head>'
                    '<body><img alt="x"><img src="/a.png"><img src="/b.png"></body></html>')
    assert og == {"og:title": "Spaced out", "og:description": "Desc", "og:image": "/a.png"}
    assert open_graph("<title>   </title>") == {}


def test_charsets() -> None:
    latin = "<title>Café</title>".encode("iso-8859-1")
    assert decode_html(latin, "text/html; charset=ISO-8859-1") == "<title>Café</title>"
    assert decode_html(b'<meta charset="latin-1">' + latin, "text/html").endswith("Café</title>")
    # Unknown or non-text codecs fall back to UTF-8, bad bytes replaced.
    assert decode_html("é".encode(), "text/html; charset=nonsense") == "é"
    assert decode_html(b"ok", "text/html; charset=rot13") == "ok"
    assert decode_html(b"\xff", None) == "\ufffd"


def test_unparseable_markup_keeps_what_was_read() -> None:
    assert open_graph('<meta property="og:title" content="kept"><![if junk]>') == {
        "og:title": "kept"}


def test_prune_drops_overlong_keys_and_values() -> None:
    og = {"og:title": "x" * OG_VALUE_MAX, "og:description": "x" * (OG_VALUE_MAX + 1),
          "og:" + "k" * 60: "v", "matrix:image:size": 12}
    assert prune(og) == {"og:title": "x" * OG_VALUE_MAX, "matrix:image:size": 12}
