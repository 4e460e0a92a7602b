"""RTSP/1.0 on the wire: one TCP connection as an asyncio Protocol, request bytes,
and a size-capped reply parser that checks CSeq.

Written for speed: no StreamReader/StreamWriter, no regexes; a reply is parsed
once, when it is complete. Errors are raised as :class:`RtspError` carrying a
:class:`~probes.base.Cause`; OSErrors from the socket propagate to the prober,
which maps them in one place.

Bounded for hostile cameras: every received byte is looked at a constant number of
times (the header block is scanned line by line as it arrives, never again from the
start), and a reply is given up as soon as it breaks a cap: total size
(``max_reply_bytes``, the body included), :data:`MAX_HEADER_LINE` bytes per header line,
:data:`MAX_HEADER_LINES` lines, a first line that cannot become ``RTSP/``. A TLS alert in
place of a reply is named as such (a TLS-only port).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from probes.causes import Cause
from probes.progress import Progress, current
from probes.sockets import close_with_reset

MAX_HEADER_LINE = 8192  # bytes in one header line (the status line included)
MAX_HEADER_LINES = 100  # lines in one reply's header block
MAX_CONTENT_LENGTH_DIGITS = 9
_PREFIX = b"RTSP/"


class RtspError(Exception):
    """A camera-side failure with its cause (the detail never holds a password)."""

    def __init__(self, cause: Cause, detail: str) -> None:
        super().__init__(detail)
        self.cause = cause
        self.detail = detail


class ConnectionClosed(RtspError):
    """The camera closed the connection before a complete reply."""

    def __init__(self, detail: str = "connection closed by camera", *, got_bytes: bool = False) -> None:
        super().__init__(Cause.PROTOCOL_ERROR, detail)
        self.got_bytes = got_bytes


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names; the last value wins
    challenges: tuple[str, ...]  # every WWW-Authenticate value, in order
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def build_request(method: str, url: str, cseq: int, user_agent: str, extra: str = "") -> bytes:
    """Request bytes; *extra* is zero or more complete ``Name: value\\r\\n`` lines."""
    return f"{method} {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {user_agent}\r\n{extra}\r\n".encode()


def parse_head(head: bytes) -> tuple[int, str, dict[str, str], tuple[str, ...]]:
    """Parse the status line and headers of a reply (without the blank line)."""
    text = head.decode("latin-1")
    lines = text.split("\n", MAX_HEADER_LINES + 1)
    if len(lines) > MAX_HEADER_LINES + 1 or any(len(line) > MAX_HEADER_LINE for line in lines):
        raise RtspError(Cause.PROTOCOL_ERROR, "reply header over the line caps")
    status_line = lines[0].rstrip("\r")
    if not status_line.startswith("RTSP/"):
        raise RtspError(Cause.PROTOCOL_ERROR, "not an RTSP reply")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or len(parts[1]) != 3 or not (parts[1].isascii() and parts[1].isdigit()):
        raise RtspError(Cause.PROTOCOL_ERROR, "bad RTSP status line")
    if not parts[0].startswith("RTSP/1."):  # (RTSP/2.0, RFC 7826, is another protocol: its replies mean other things)
        version = parts[0][5:]
        if len(version) <= 4 and version.isascii() and version.replace(".", "", 1).isdigit():  # (shown only when it is a version number)
            raise RtspError(Cause.PROTOCOL_ERROR, f"camera answered in RTSP/{version}, not RTSP/1.0")
        raise RtspError(Cause.PROTOCOL_ERROR, "bad RTSP status line")
    status = int(parts[1])
    # (not cut here: the prober masks the password in it first, then cuts: probes.redact.camera_text)
    reason = parts[2].strip() if len(parts) > 2 else ""
    headers: dict[str, str] = {}
    challenges: list[str] = []
    last = ""
    for raw in lines[1:]:
        line = raw.rstrip("\r")
        if not line:
            continue
        if line[0] in " \t" and last:  # obsolete line folding
            headers[last] = headers[last] + " " + line.strip()
            if last == "www-authenticate" and challenges:
                challenges[-1] = headers[last]
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise RtspError(Cause.PROTOCOL_ERROR, "malformed RTSP header line")
        last = name.strip().lower()
        value = value.strip()
        headers[last] = value
        if last == "www-authenticate":
            challenges.append(value)
    return status, reason, headers, tuple(challenges)


class RtspConnection(asyncio.Protocol):
    """One RTSP connection; :meth:`request` sends one request and awaits its reply."""

    __slots__ = ("transport", "_buf", "_waiter", "_closed", "_exc", "_cseq", "_max", "_scan", "_line", "_lines", "_pending",
                 "_progress")

    def __init__(self, max_reply_bytes: int = 65536) -> None:
        self.transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._waiter: asyncio.Future[Response] | None = None
        self._closed = False
        self._exc: BaseException | None = None
        self._cseq = 0
        self._max = max_reply_bytes
        self._scan = 0  # bytes of the header block looked at so far
        self._line = 0  # where the current header line starts
        self._lines = 0  # header lines complete so far
        # the parsed header (status, reason, headers, challenges, body start, length) while the body comes
        self._pending: tuple[int, str, dict[str, str], tuple[str, ...], int, int] | None = None
        self._progress: Progress | None = None  # the stage limit's, told when reply bytes arrive

    # -- asyncio.Protocol --------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self._buf += data
        if self._progress is not None:
            self._progress.heard()  # (the first bytes of each reply are what it wants to know)
        if self._waiter is not None and not self._waiter.done():
            self._try_complete()
        elif len(self._buf) > self._max:  # unsolicited bytes: keep the cap
            self._abort(RtspError(Cause.PROTOCOL_ERROR, "unsolicited data from camera"))

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if exc is not None and self._exc is None:
            self._exc = exc
        w = self._waiter
        if w is not None and not w.done():
            if self._exc is not None:
                w.set_exception(self._exc)
            else:
                w.set_exception(ConnectionClosed(got_bytes=bool(self._buf)))

    # -- client side -------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def got_bytes(self) -> bool:
        """Part of a reply to the pending (or last) request has arrived."""
        return bool(self._buf)

    def next_cseq(self) -> int:
        self._cseq += 1
        return self._cseq

    async def request(self, data: bytes, cseq: int, method: str) -> Response:
        """Send *data* (request *method*, CSeq *cseq*) and return the matching reply."""
        if self._closed or self.transport is None:
            raise ConnectionClosed()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Response] = loop.create_future()
        self._waiter = waiter
        self._buf.clear()
        self._scan = self._line = self._lines = 0
        self._pending = None
        progress = self._progress = current()
        if progress is not None:
            progress.sent(method)
        self.transport.write(data)
        try:
            resp = await waiter
        finally:
            self._waiter = None
            self._progress = None
        if progress is not None:
            progress.replied()
        got = resp.headers.get("cseq")
        if got is None:
            raise RtspError(Cause.PROTOCOL_ERROR, "reply without CSeq")
        if got.strip() != str(cseq):
            got = got.strip()  # (shown only when it is a plain number: no camera text in the detail)
            shown = got if got.isascii() and got.isdigit() and len(got) <= 9 else "something else"
            raise RtspError(Cause.PROTOCOL_ERROR, f"CSeq mismatch (sent {cseq}, got {shown})")
        return resp

    def send_only(self, data: bytes) -> None:
        """Write without waiting for a reply (TEARDOWN on the way out)."""
        if not self._closed and self.transport is not None:
            self.transport.write(data)

    def close(self, *, reset: bool = False) -> None:
        """Close; *reset*: at once with a TCP reset (see :mod:`probes.sockets`)."""
        if self.transport is not None:
            if reset and not self._closed:
                close_with_reset(self.transport)
            else:
                self.transport.close()
        self._closed = True

    # -- internals ----------------------------------------------------------------
    def _abort(self, exc: RtspError) -> None:
        self._exc = exc
        w = self._waiter
        if w is not None and not w.done():
            w.set_exception(exc)
        if self.transport is not None:
            self.transport.abort()
        self._closed = True

    def _head_end(self) -> tuple[int, int]:
        """Scan the bytes that arrived since the last call; ``(end of header block, start of
        body)``, or ``(-1, -1)`` while incomplete. Raises RtspError on a broken cap."""
        buf = self._buf
        if self._lines == 0:  # the status line must start with RTSP/, known after 5 bytes
            head = bytes(buf[:5])
            if not _PREFIX.startswith(head[: len(_PREFIX)]):
                if head[:2] == b"\x15\x03":  # a TLS alert record: a TLS server read our plain text
                    raise RtspError(Cause.PROTOCOL_ERROR, "camera answered with TLS (an RTSPS port?)")
                raise RtspError(Cause.PROTOCOL_ERROR, "not an RTSP reply")
        pos = self._scan
        while True:
            nl = buf.find(b"\n", pos)
            if nl < 0:
                self._scan = len(buf)
                if len(buf) - self._line > MAX_HEADER_LINE:
                    raise RtspError(Cause.PROTOCOL_ERROR, f"reply header line longer than {MAX_HEADER_LINE} bytes")
                return -1, -1
            start = self._line
            if nl - start > MAX_HEADER_LINE:
                raise RtspError(Cause.PROTOCOL_ERROR, f"reply header line longer than {MAX_HEADER_LINE} bytes")
            pos = self._line = nl + 1
            if nl == start or (nl == start + 1 and buf[start] == 13):  # the blank line
                if self._lines == 0:
                    raise RtspError(Cause.PROTOCOL_ERROR, "not an RTSP reply")
                return start, pos
            self._lines += 1
            if self._lines > MAX_HEADER_LINES:
                raise RtspError(Cause.PROTOCOL_ERROR, f"reply header of more than {MAX_HEADER_LINES} lines")

    def _try_complete(self) -> None:
        buf = self._buf
        pending = self._pending
        if pending is None:
            try:
                end, body_start = self._head_end()
                if end < 0:
                    if len(buf) > self._max:
                        raise RtspError(Cause.PROTOCOL_ERROR, f"reply header longer than {self._max} bytes")
                    return
                status, reason, headers, challenges = parse_head(bytes(buf[:end]))
                cl = headers.get("content-length", "0").strip()
                if not (cl.isascii() and cl.isdigit() and len(cl) <= MAX_CONTENT_LENGTH_DIGITS):
                    raise RtspError(Cause.PROTOCOL_ERROR, "bad Content-Length")
                length = int(cl)
                if body_start + length > self._max:
                    raise RtspError(Cause.PROTOCOL_ERROR, f"reply larger than {self._max} bytes")
            except RtspError as exc:
                self._abort(exc)
                return
            pending = self._pending = (status, reason, headers, challenges, body_start, length)
        status, reason, headers, challenges, body_start, length = pending
        if len(buf) < body_start + length:
            return  # wait for the body
        body = bytes(buf[body_start : body_start + length])
        del buf[: body_start + length]
        self._scan = self._line = self._lines = 0
        self._pending = None
        assert self._waiter is not None
        self._waiter.set_result(Response(status, reason, headers, challenges, body))
