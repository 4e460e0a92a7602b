"""A lean HTTP/1.1 client for the ONVIF hot path: one connection, one request at a time,
keep-alive, replies capped in size (Content-Length, chunked, or read until close).

It is an :class:`asyncio.Protocol` rather than streams: a probe costs two or three
small requests and this keeps the per-request CPU close to a hand-written POST.

A camera's reply is hostile until proven otherwise, so parsing is incremental and linear in
the bytes received: the head is searched only in new bytes, a chunked body is decoded as it
arrives (each byte looked at once, consumed bytes dropped), and everything is capped: head
bytes (:data:`MAX_HEAD`), header lines (:data:`MAX_HEADER_LINES`), interim 1xx replies,
body bytes (the caller's ``max_body``), chunks (:data:`MAX_CHUNKS`), chunk-size and trailer
lines. A cap exceeded is an :class:`HttpError` at once and the connection is dropped.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import NamedTuple

from probes.progress import Progress, current
from probes.sockets import close_with_reset

MAX_HEAD = 16 * 1024  # bytes of a reply's status line and headers
MAX_HEADER_LINES = 100
MAX_INTERIM = 8  # 1xx replies before the real one
MAX_CHUNKS = 4096  # a 256 KiB body in 64-byte chunks; real cameras send a handful
MAX_CHUNK_LINE = 256  # a chunk-size line with its extensions, or one trailer line
MAX_TRAILER_LINES = 32
# A chunk-size line: up to 8 hex digits (a chunk under 4 GiB), optional extensions, CRLF.
_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\r\n]{0,%d})?\r\n" % MAX_CHUNK_LINE)

# States of the chunked decoder.
_SIZE, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


class HttpError(Exception):
    """The peer broke HTTP: malformed or oversized reply, or closed mid-reply."""


class ConnectionClosed(HttpError):
    """The peer closed the connection before sending any byte of the reply."""


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    reason: str
    body: bytes
    keep_alive: bool
    date: str | None  # the Date header (used for a coarse clock when the camera asks for auth)
    received_at: float  # time.time() when the last byte arrived


class _Head(NamedTuple):
    status: int
    reason: str
    keep_alive: bool
    date: str | None
    length: int  # >= 0: Content-Length; -1: until close; -2: chunked


class HttpConnection(asyncio.Protocol):
    """One client connection. Use :meth:`open`, then :meth:`request`, then :meth:`close`."""

    __slots__ = ("_transport", "_buf", "_waiter", "_max_body", "_head", "_closed", "_scanned",
                 "_interim", "_body", "_cstate", "_left", "_chunks", "_trailers", "_stage")

    def __init__(self, max_body: int) -> None:
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()  # bytes received and not yet consumed
        self._waiter: asyncio.Future[HttpReply] | None = None
        self._max_body = max_body
        self._head: _Head | None = None
        self._closed = False
        self._stage: Progress | None = None  # the stage limit's, told when reply bytes arrive
        self._reset()

    def _reset(self) -> None:
        self._buf.clear()
        self._head = None
        self._scanned = 0  # head bytes already searched for the blank line
        self._interim = 0
        self._body = bytearray()  # a chunked body decoded so far
        self._cstate = _SIZE
        self._left = 0  # bytes left of the current chunk
        self._chunks = 0
        self._trailers = 0

    @classmethod
    async def open(cls, host: str, port: int, max_body: int) -> HttpConnection:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: cls(max_body), host, port)
        return conn

    @property
    def usable(self) -> bool:
        return not self._closed and self._transport is not None and not self._transport.is_closing()

    def close(self, *, abort: bool = False, reset: bool = False) -> None:
        """Close gracefully, or *abort* (drop what is unsent), or *reset*: at once with a TCP
        reset once the conversation is over (see :mod:`probes.sockets`)."""
        if self._transport is not None:
            if reset and not self._closed and not self._transport.is_closing():
                close_with_reset(self._transport)
            elif abort or reset:
                self._transport.abort()
            else:
                self._transport.close()

    async def request(self, data: bytes, name: str = "the request") -> HttpReply:
        """Send *data* (request *name*: its SOAP action, for a stage limit's words) and read the reply."""
        if not self.usable:
            raise ConnectionClosed("connection already closed")
        assert self._transport is not None and self._waiter is None
        self._reset()
        waiter: asyncio.Future[HttpReply] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        progress = self._stage = current()
        if progress is not None:
            progress.sent(name)
        self._transport.write(data)
        try:
            reply = await waiter
        finally:
            self._waiter = None
            self._stage = None
        if progress is not None:
            progress.replied()
        return reply

    # --- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        head = self._head
        if head is not None and head.length == -1:  # body delimited by the close
            self._finish(bytes(self._buf), False)
        elif not self._buf and head is None and not self._interim:
            waiter.set_exception(ConnectionClosed("connection closed before the reply"))
        else:
            waiter.set_exception(HttpError("connection closed in the middle of the reply"))

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # unsolicited bytes: ignored (the next request clears them)
        if self._stage is not None:
            self._stage.heard()  # (the first bytes of each reply are what it wants to know)
        self._buf += data
        try:
            self._progress()
        except HttpError as exc:
            waiter.set_exception(exc)
            self.close(abort=True)

    # --- parsing (each received byte is looked at a bounded number of times) ----------

    def _progress(self) -> None:
        buf = self._buf
        while self._head is None:
            # Search only what is new (less the 3 bytes a blank line may straddle).
            end = buf.find(b"\r\n\r\n", max(0, self._scanned - 3), MAX_HEAD + 4)
            if end < 0:
                if len(buf) > MAX_HEAD:
                    raise HttpError(f"reply head larger than {MAX_HEAD} bytes")
                self._scanned = len(buf)
                return
            head = self._parse_head(bytes(buf[:end]))
            del buf[:end + 4]
            self._scanned = 0
            if 100 <= head.status < 200:  # interim reply: wait for the real one
                self._interim += 1
                if self._interim > MAX_INTERIM:
                    raise HttpError(f"more than {MAX_INTERIM} interim (1xx) replies")
                continue
            self._head = head
        length = self._head.length
        if length >= 0:
            if len(buf) >= length:
                self._finish(bytes(buf[:length]), self._head.keep_alive)
        elif length == -2:
            if self._dechunk():
                self._finish(bytes(self._body), self._head.keep_alive)
        elif len(buf) > self._max_body:
            raise HttpError(f"reply body larger than {self._max_body} bytes")

    def _parse_head(self, raw: bytes) -> _Head:
        if raw.count(b"\r\n") >= MAX_HEADER_LINES:
            raise HttpError(f"reply head with more than {MAX_HEADER_LINES} lines")
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            # (no bytes of it in the words: a maintainer cannot read them, and they are the camera's)
            if raw[:1] in (b"\x15", b"\x16") and raw[1:2] == b"\x03":
                raise HttpError("not an HTTP reply (TLS: an HTTPS port?)")
            raise HttpError("not an HTTP reply (TLS or garbage)")
        status = int(parts[1])
        keep_alive = parts[0] != "HTTP/1.0"
        length = -1
        chunked = False
        date = None
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpError("malformed reply header")
            name = name.strip().lower()
            if name == "content-length":
                value = value.strip()
                if not value.isdigit() or len(value) > 18:
                    raise HttpError("bad Content-Length")
                length = int(value)
                if length > self._max_body:
                    raise HttpError(f"reply body of {length} bytes exceeds the cap of "
                                    f"{self._max_body}")
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                token = value.strip().lower()
                if token == "close":
                    keep_alive = False
                elif token == "keep-alive":
                    keep_alive = True
            elif name == "date":
                date = value.strip()
        if chunked:
            length = -2
        elif status in (204, 304):
            length = 0
        elif length == -1:
            keep_alive = False
        reason = parts[2] if len(parts) > 2 else ""
        return _Head(status, reason, keep_alive, date, length)

    def _dechunk(self) -> bool:
        """Decode what has arrived of a chunked body into ``_body``, dropping the consumed bytes
        (only a partial size or trailer line stays behind); True once the body is complete."""
        buf = self._buf
        n = len(buf)
        pos = 0
        try:
            while pos < n or self._cstate == _DONE:
                state = self._cstate
                if state == _DATA:
                    take = min(self._left, n - pos)
                    self._body += memoryview(buf)[pos:pos + take]
                    pos += take
                    self._left -= take
                    if self._left:
                        return False
                    self._cstate = _DATA_END
                elif state == _DATA_END:
                    if n - pos < 2:
                        return False
                    if buf[pos] != 13 or buf[pos + 1] != 10:
                        raise HttpError("chunk not followed by CRLF")
                    pos += 2
                    self._cstate = _SIZE
                elif state == _SIZE:
                    m = _SIZE_LINE.match(buf, pos)
                    if m is None:
                        if self._line_end(pos) >= 0:  # a whole line, but not a chunk size
                            raise HttpError("malformed chunk size")
                        return False
                    size = int(m.group(1), 16)
                    pos = m.end()
                    self._chunks += 1
                    if self._chunks > MAX_CHUNKS:
                        raise HttpError(f"reply in more than {MAX_CHUNKS} chunks")
                    if size == 0:
                        self._cstate = _TRAILER
                    elif len(self._body) + size > self._max_body:
                        raise HttpError(f"reply body larger than {self._max_body} bytes")
                    elif pos + size + 2 <= n:  # the whole chunk is here: one step
                        end = pos + size
                        if buf[end] != 13 or buf[end + 1] != 10:
                            raise HttpError("chunk not followed by CRLF")
                        self._body += memoryview(buf)[pos:end]
                        pos = end + 2
                    else:
                        self._left = size
                        self._cstate = _DATA
                elif state == _TRAILER:
                    eol = self._line_end(pos)
                    if eol < 0:
                        return False
                    if eol == pos:
                        pos += 2
                        self._cstate = _DONE
                    else:
                        self._trailers += 1
                        if self._trailers > MAX_TRAILER_LINES:
                            raise HttpError(f"more than {MAX_TRAILER_LINES} trailer lines")
                        pos = eol + 2
                else:  # _DONE
                    return True
            return False
        finally:
            del buf[:pos]

    def _line_end(self, pos: int) -> int:
        """The CRLF ending the line at *pos* (searched within the line cap), or -1 when it
        has not arrived yet; a longer line is an error."""
        buf = self._buf
        eol = buf.find(b"\r\n", pos, pos + MAX_CHUNK_LINE + 2)
        if eol < 0 and len(buf) - pos > MAX_CHUNK_LINE:
            raise HttpError("malformed chunked body: a size or trailer line too long")
        return eol

    def _finish(self, body: bytes, keep_alive: bool) -> None:
        head = self._head
        waiter = self._waiter
        assert head is not None and waiter is not None
        if not keep_alive:
            self.close()
        waiter.set_result(HttpReply(head.status, head.reason, body, keep_alive, head.date, time.time()))

