"""Hostile RTSP replies of a simulated camera (``Behaviour.rtsp_reply``), the RTSP rows of the
hostile-camera suite: a reply trickled at 1 byte/s, 100,000 header lines, a 5 MB SDP, every
request answered 401 with a new (stale) nonce, TLS on the RTSP port, a camera repeating the
decoded Basic credentials in its 401s. (Garbage, an oversized
header line, wrong CSeq, a close after each 401, redirects and 453 are served by
:mod:`probes.sim.rtsp_server` itself.)

Big replies are built once per worker; a trickle stops when the client goes, or after
:data:`MAX_TRICKLE_S` seconds.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from functools import cache

from probes.sim.auth import NonceBook, challenge
from probes.sim.behaviour import Reply
from probes.sim.state import CameraState

MANY_HEADER_LINES = 100_000
BIG_SDP_BYTES = 5 * 1024 * 1024
TRICKLE_INTERVAL_S = 1.0
MAX_TRICKLE_S = 120.0
# A fatal TLS alert (protocol_version), as a TLS server sends on reading plain text, then a reset.
TLS_ALERT = b"\x15\x03\x01\x00\x02\x02\x46"

#: The replies served here (``rtsp_server`` hands requests to :func:`answer` for them).
HOSTILE = frozenset({Reply.TRICKLE, Reply.MANY_HEADERS, Reply.BIG_SDP, Reply.ENDLESS_401, Reply.TLS,
                     Reply.ECHO_CREDENTIALS})


@cache
def _many_headers() -> bytes:
    return b"".join(b"X-Header-%d: v\r\n" % i for i in range(MANY_HEADER_LINES)) + b"\r\n"


@cache
def _big_sdp() -> bytes:
    head = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=big\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    pad = b"a=x-pad:" + b"p" * 90 + b"\r\n"
    return head + pad * ((BIG_SDP_BYTES - len(head)) // len(pad) + 1)


def answer(transport: asyncio.Transport, loop: asyncio.AbstractEventLoop, cam: CameraState,
           nonces: NonceBook, now: float, reply: Reply, cseq: str, authorization: str | None = None) -> None:
    """Answer one request of a camera whose ``rtsp_reply`` is in :data:`HOSTILE`."""
    head = f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nServer: camwatch-sim\r\n".encode()
    if reply is Reply.TLS:
        transport.write(TLS_ALERT)
        transport.abort()
    elif reply is Reply.ECHO_CREDENTIALS:
        transport.write(echo_401(cseq, authorization))
    elif reply is Reply.ENDLESS_401:
        cam.rtsp_challenges += 1
        www = challenge(cam, nonces, now, stale=True)
        transport.write(f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\nWWW-Authenticate: {www}\r\n\r\n".encode())
    elif reply is Reply.MANY_HEADERS:
        transport.write(head + _many_headers())
    elif reply is Reply.BIG_SDP:
        body = _big_sdp()
        transport.write(head + b"Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    elif reply is Reply.TRICKLE:
        data = head + b"Content-Length: 0\r\n\r\n"
        _trickle(transport, loop, data, 0, loop.time() + MAX_TRICKLE_S)


def echo_401(cseq: str, authorization: str | None) -> bytes:
    """A 401 asking for Basic; to a request with a Basic login, one that repeats the decoded
    ``user:password`` in its reason phrase and Server header, at several offsets (wherever a
    client cuts the text, part of the password is near the cut)."""
    www = 'WWW-Authenticate: Basic realm="camwatch-sim"\r\n'
    if not authorization:
        return f"RTSP/1.0 401 Unauthorized\r\nCSeq: {cseq}\r\n{www}\r\n".encode()
    try:
        login = base64.b64decode(authorization.partition(" ")[2], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        login = authorization
    echo = " ".join("." * i + login for i in range(1, 9))
    return (f"RTSP/1.0 401 login rejected for user/password pair {echo}\r\nCSeq: {cseq}\r\n"
            f"Server: {echo}\r\n{www}\r\n").encode()


def _trickle(transport: asyncio.Transport, loop: asyncio.AbstractEventLoop, data: bytes, pos: int,
             deadline: float) -> None:
    if transport.is_closing():
        return
    if pos >= len(data) or loop.time() > deadline:
        transport.abort()
        return
    transport.write(data[pos : pos + 1])
    loop.call_later(TRICKLE_INTERVAL_S, _trickle, transport, loop, data, pos + 1, deadline)
