"""The incremental multipart reader: the same pieces whatever the chunking, and
malformed bodies refused."""

from __future__ import annotations

import pytest

from glia.protocol.multipart import (
    MAX_HEADER_BYTES,
    BodyEnd,
    MultipartError,
    MultipartReader,
    PartData,
    PartEnd,
    PartStart,
    boundary_of,
)

BODY = (b"preamble\r\n--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b  \r\n"
        b"Content-Type: image/png\r\nX-A:  1 \r\n\r\nHEL\r\n--cLO\r\n\r\n--b--\r\nepilogue")


def _read(body: bytes, step: int) -> tuple[list[object], list[bytes], bool]:
    reader = MultipartReader("b")
    pieces: list[object] = []
    for i in range(0, len(body), step):
        pieces += reader.feed(body[i:i + step])
    data: list[bytes] = [b""]
    shape: list[object] = []
    for piece in pieces:
        if isinstance(piece, PartData):
            data[-1] += piece.data
        else:
            shape.append(piece)
            if isinstance(piece, PartEnd):
                data.append(b"")
    return shape, data[:-1], reader.done


@pytest.mark.parametrize("step", [1, 2, 3, 5, 8, 13, 1000])
def test_any_chunking(step: int) -> None:
    shape, data, done = _read(BODY, step)
    assert shape == [PartStart({"content-type": "application/json"}), PartEnd(),
                     PartStart({"content-type": "image/png", "x-a": "1"}), PartEnd(),
                     BodyEnd()]
    assert data == [b"{}", b"HEL\r\n--cLO\r\n"]
    assert done


def test_empty_headers_and_body() -> None:
    assert MultipartReader("b").feed(b"--b\r\n\r\n\r\n--b--") == [
        PartStart({}), PartEnd(), BodyEnd()]


def test_unfinished_body_is_not_done() -> None:
    reader = MultipartReader("b")
    reader.feed(b"--b\r\nContent-Type: a/b\r\n\r\npartial")
    assert not reader.done


@pytest.mark.parametrize("body", [
    b"--b\r\nno colon here\r\n\r\nx\r\n--b--",
    b"--bjunk\r\n\r\nx\r\n--b--",
    b"x" * (MAX_HEADER_BYTES + 100),
    b"--b\r\n" + b"a: b\r\n" * MAX_HEADER_BYTES,
])
def test_malformed(body: bytes) -> None:
    with pytest.raises(MultipartError):
        MultipartReader("b").feed(body)


def test_boundary_of() -> None:
    assert boundary_of("multipart/mixed; boundary=abc") == "abc"
    assert boundary_of('Multipart/Mixed; charset=x; boundary="a b"') == "a b"
    assert boundary_of("application/json") is None
    assert boundary_of("multipart/mixed") is None
    assert boundary_of("multipart/mixed; boundary=" + "x" * 71) is None
    assert boundary_of(None) is None
