"""Hostile ONVIF replies of a simulated camera (``Behaviour.onvif_reply``): XML entity bomb,
external entity, a 50 MB body, endless tiny chunks, the right reply in 1-byte chunks, a 500
repeating the camera's password in its reason phrase and SOAP fault.

Large and endless replies are written as the client reads them (never more than
:data:`HIGH_WATER` bytes waiting in the transport), so a worker serving many hostile cameras
stays small; every stream stops at its end, when the client closes, or after
:data:`MAX_STREAM_S` seconds.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

from probes.sim.behaviour import Reply

HIGH_WATER = 256 * 1024  # bytes waiting in the transport before the writer pauses
POLL_S = 0.005  # how often a paused writer looks again
MAX_STREAM_S = 60.0  # a stream ends (connection aborted) after this long whatever happens
HUGE_BODY_BYTES = 50 * 1024 * 1024

_OK = b"HTTP/1.1 200 OK\r\nServer: camwatch-sim\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"

ENTITY_BOMB_XML = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
    + b"".join(b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
               for i in range(1, 10))
    + b"]>\n<lolz>&lol9;</lolz>\n"
)
EXTERNAL_ENTITY_XML = (
    b'<?xml version="1.0"?>\n<!DOCTYPE e [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    b'<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>'
    b"<x>&xxe;</x></env:Body></env:Envelope>\n"
)

#: The replies of this module that are written as a stream (the rest are one write).
STREAMED = frozenset({Reply.HUGE_BODY, Reply.ENDLESS_CHUNKS})
#: Every hostile reply served here (``onvif_server`` asks this module for them).
HOSTILE = frozenset({Reply.ENTITY_BOMB, Reply.EXTERNAL_ENTITY, Reply.ECHO_CREDENTIALS, *STREAMED})


def whole(body: bytes) -> bytes:
    """A 200 reply with a Content-Length."""
    return _OK + b"Content-Length: %d\r\n\r\n" % len(body) + body


def byte_chunked(status_line: bytes, headers: bytes, body: bytes) -> bytes:
    """*body* as a chunked reply in 1-byte chunks (*headers*: CRLF-terminated lines)."""
    chunks = b"".join(b"1\r\n" + body[i:i + 1] + b"\r\n" for i in range(len(body)))
    return status_line + b"\r\n" + headers + b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"


def _huge_body() -> Iterator[bytes]:
    yield _OK + b"Connection: close\r\n\r\n"
    head = b'<?xml version="1.0"?>\n<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>'
    yield head
    piece = b"<x>" + b"a" * (64 * 1024 - 7) + b"</x>"
    yield from itertools.repeat(piece, (HUGE_BODY_BYTES - len(head)) // len(piece))


def _endless_chunks() -> Iterator[bytes]:
    yield _OK + b"Transfer-Encoding: chunked\r\n\r\n"
    yield from itertools.repeat(b"1\r\na\r\n" * 4096)  # stopped by the client or MAX_STREAM_S


def echo_fault(password: str) -> bytes:
    """A 500 whose reason phrase and SOAP fault repeat *password* (one blank apart: wherever a
    client cuts the text, it is most likely inside one of them)."""
    echo = " ".join([password] * 16)
    body = ('<?xml version="1.0"?>\n<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>'
            "<env:Fault><env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason>"
            f'<env:Text xml:lang="en">config error for password {echo}</env:Text></env:Reason>'
            "</env:Fault></env:Body></env:Envelope>").encode()
    return (f"HTTP/1.1 500 bad password {echo}\r\nContent-Type: application/soap+xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def serve(loop: asyncio.AbstractEventLoop, transport: asyncio.Transport, reply: Reply,
          password: str = "") -> None:
    """Answer one request with the hostile *reply* (one of :data:`HOSTILE`)."""
    if reply is Reply.ECHO_CREDENTIALS:
        transport.write(echo_fault(password))
    elif reply is Reply.ENTITY_BOMB:
        transport.write(whole(ENTITY_BOMB_XML))
    elif reply is Reply.EXTERNAL_ENTITY:
        transport.write(whole(EXTERNAL_ENTITY_XML))
    elif reply is Reply.HUGE_BODY:
        _Stream(loop, transport, _huge_body()).tick()
    elif reply is Reply.ENDLESS_CHUNKS:
        _Stream(loop, transport, _endless_chunks()).tick()
    else:  # pragma: no cover - the caller asks only for HOSTILE replies
        raise ValueError(f"not a hostile reply: {reply}")


class _Stream:
    """Writes *pieces* while the transport's buffer is below :data:`HIGH_WATER` (at most that
    many bytes a turn), then looks again every :data:`POLL_S`; stops when the client is gone,
    closes at the end, aborts at :data:`MAX_STREAM_S`."""

    __slots__ = ("loop", "transport", "pieces", "deadline")

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport,
                 pieces: Iterator[bytes]) -> None:
        self.loop = loop
        self.transport = transport
        self.pieces = pieces
        self.deadline = loop.time() + MAX_STREAM_S

    def tick(self) -> None:
        t = self.transport
        if t.is_closing():
            return
        if self.loop.time() > self.deadline:
            t.abort()
            return
        budget = HIGH_WATER  # bytes written in one turn, whatever the buffer says (fairness)
        while budget > 0 and t.get_write_buffer_size() < HIGH_WATER:
            piece = next(self.pieces, None)
            if piece is None:
                t.close()
                return
            t.write(piece)
            if t.is_closing():
                # The client reset the connection: the transport now drops what is written, so
                # its buffer never fills; without this an endless stream spun here for ever and
                # every camera of this worker fell silent (bench/hostile_sweep.py saw it).
                return
            budget -= len(piece)
        self.loop.call_later(POLL_S, self.tick)
