"""A lean HTTP/1.1 client for the ONVIF hot path: one connection, one request at a time,
keep-alive, replies capped in size (Content-Length, chunked, or read until close).

It is an :class:`asyncio.Protocol` rather than streams: a probe costs two or three
small requests and this keeps the per-request CPU close to a hand-written POST.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import NamedTuple

from probes.sockets import close_with_reset

MAX_HEAD = 16 * 1024


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

    __slots__ = ("_transport", "_buf", "_waiter", "_max_body", "_head", "_closed")

    def __init__(self, max_body: int) -> None:
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._waiter: asyncio.Future[HttpReply] | None = None
        self._max_body = max_body
        self._head: _Head | None = None
        self._closed = False

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

    async def request(self, data: bytes) -> HttpReply:
        if not self.usable:
            raise ConnectionClosed("connection already closed")
        assert self._transport is not None and self._waiter is None
        self._buf.clear()
        self._head = None
        waiter: asyncio.Future[HttpReply] = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self._transport.write(data)
        try:
            return await waiter
        finally:
            self._waiter = None

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
        elif not self._buf and head is None:
            waiter.set_exception(ConnectionClosed("connection closed before the reply"))
        else:
            waiter.set_exception(HttpError("connection closed in the middle of the reply"))

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # unsolicited bytes: ignored (the next request clears them)
        buf = self._buf
        buf += data
        try:
            self._progress()
        except HttpError as exc:
            waiter.set_exception(exc)
            self.close(abort=True)

    # --- parsing ---------------------------------------------------------------------

    def _progress(self) -> None:
        buf = self._buf
        while self._head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    raise HttpError(f"reply head larger than {MAX_HEAD} bytes")
                return
            head = self._parse_head(bytes(buf[:end]))
            del buf[:end + 4]
            if 100 <= head.status < 200:  # interim reply: wait for the real one
                continue
            self._head = head
        length = self._head.length
        if length >= 0:
            if len(buf) >= length:
                self._finish(bytes(buf[:length]), self._head.keep_alive)
        elif length == -2:
            body = self._dechunk(buf)
            if body is not None:
                self._finish(body, self._head.keep_alive)
        elif len(buf) > self._max_body:
            raise HttpError(f"reply body larger than {self._max_body} bytes")

    def _parse_head(self, raw: bytes) -> _Head:
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HttpError(f"not an HTTP reply: {raw[:40]!r}")
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
                if not value.isdigit():
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

    def _dechunk(self, buf: bytearray) -> bytes | None:
        """The whole body if every chunk has arrived, else None (called on each read)."""
        out = bytearray()
        pos = 0
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                if len(buf) - pos > 1024:
                    raise HttpError("malformed chunk size line")
                return None
            size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise HttpError("malformed chunk size") from None
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", eol)
                if trailer_end < 0 and buf[eol:eol + 4] != b"\r\n\r\n":
                    return None
                return bytes(out)
            if len(out) + size > self._max_body:
                raise HttpError(f"reply body larger than {self._max_body} bytes")
            start = eol + 2
            if len(buf) < start + size + 2:
                return None
            out += buf[start:start + size]
            pos = start + size + 2

    def _finish(self, body: bytes, keep_alive: bool) -> None:
        head = self._head
        waiter = self._waiter
        assert head is not None and waiter is not None
        if not keep_alive:
            self.close()
        waiter.set_result(HttpReply(head.status, head.reason, body, keep_alive, head.date, time.time()))
