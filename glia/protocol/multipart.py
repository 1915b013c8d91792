"""An incremental reader of ``multipart/mixed`` bodies (RFC 2046), the shape other
servers answer federation media requests in: the body is fed in chunks as it arrives
and comes out as each part's headers and its data, so a file part is never held in
memory whole. Pure: the caller does the reading and decides what to do with a part."""

from __future__ import annotations

from dataclasses import dataclass

#: Largest preamble, header block or line between parts accepted: more is garbage.
MAX_HEADER_BYTES = 16 * 1024


class MultipartError(ValueError):
    """The body is not a well-formed multipart body."""


@dataclass(frozen=True)
class PartStart:
    """A part begins; its headers, names in lower case."""

    headers: dict[str, str]


@dataclass(frozen=True)
class PartData:
    data: bytes


@dataclass(frozen=True)
class PartEnd:
    """The current part ended (its last ``PartData`` came before)."""


@dataclass(frozen=True)
class BodyEnd:
    """The closing delimiter: no part follows."""


Piece = PartStart | PartData | PartEnd | BodyEnd


def boundary_of(content_type: str | None) -> str | None:
    """The ``boundary`` parameter of a ``multipart/*`` content type, else None."""
    if not content_type:
        return None
    kind, _, params = content_type.partition(";")
    if not kind.strip().lower().startswith("multipart/"):
        return None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if 0 < len(value) <= 70:
                return value
    return None


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split(b"\r\n"):
        name, colon, value = line.partition(b":")
        if not colon or not name.strip():
            raise MultipartError("a part header line has no name")
        headers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
    return headers


class MultipartReader:
    """Feed the body with :meth:`feed`; each call returns the pieces it completed."""

    _PREAMBLE, _AFTER_DELIMITER, _HEADERS, _BODY, _DONE = range(5)

    def __init__(self, boundary: str) -> None:
        self._delimiter = b"\r\n--" + boundary.encode("latin-1")
        # A delimiter at the very start has no CRLF before it: pretend it had.
        self._buffer = bytearray(b"\r\n")
        self._state = self._PREAMBLE
        self._skipped = 0

    @property
    def done(self) -> bool:
        """The closing delimiter was read."""
        return self._state == self._DONE

    def feed(self, chunk: bytes) -> list[Piece]:
        if self._state == self._DONE:
            return []  # the epilogue is ignored
        self._buffer += chunk
        out: list[Piece] = []
        while self._step(out):
            pass
        return out

    def _step(self, out: list[Piece]) -> bool:
        """Advance one state if the buffer allows; False when it needs more bytes."""
        buf = self._buffer
        if self._state in (self._PREAMBLE, self._BODY):
            at = buf.find(self._delimiter)
            if at < 0:
                keep = len(self._delimiter) - 1
                if len(buf) > keep:
                    self._pass(out, bytes(buf[:len(buf) - keep]))
                    del buf[:len(buf) - keep]
                return False
            self._pass(out, bytes(buf[:at]))
            if self._state == self._BODY:
                out.append(PartEnd())
            del buf[:at + len(self._delimiter)]
            self._state = self._AFTER_DELIMITER
            return True
        if self._state == self._AFTER_DELIMITER:
            if len(buf) < 2:
                return False
            if buf[:2] == b"--":
                self._state = self._DONE
                buf.clear()
                out.append(BodyEnd())
                return False
            end = buf.find(b"\r\n")
            if end < 0:
                self._check_size(len(buf))
                return False
            if buf[:end].strip(b" \t"):
                raise MultipartError("text after a delimiter")
            del buf[:end + 2]
            self._state = self._HEADERS
            return True
        if self._state == self._HEADERS:
            if buf[:2] == b"\r\n":
                headers: dict[str, str] = {}
                del buf[:2]
            else:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    self._check_size(len(buf))
                    return False
                headers = _headers(bytes(buf[:end]))
                del buf[:end + 4]
            self._state = self._BODY
            out.append(PartStart(headers))
            return True
        return False

    def _pass(self, out: list[Piece], data: bytes) -> None:
        """Data before a delimiter: a part's, or the preamble's (skipped)."""
        if self._state == self._PREAMBLE:
            self._skipped += len(data)
            self._check_size(self._skipped)
            return
        if data:
            out.append(PartData(data))

    def _check_size(self, size: int) -> None:
        if size > MAX_HEADER_BYTES:
            raise MultipartError("a preamble or part header block is too long")
