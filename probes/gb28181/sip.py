"""SIP/2.0 messages (RFC 3261): a strict, size-capped parser and a serializer.

One message is either a :class:`SipRequest` or a :class:`SipResponse` (frozen). Header names
are kept in one canonical spelling (compact forms expanded: ``v`` -> ``Via``, ``i`` ->
``Call-ID`` ...; unknown names lower-cased), values stripped, folded lines joined.

Framing: over UDP one datagram is one message (:func:`parse_datagram`; the body is cut at
Content-Length, a body shorter than it is an error); over TCP :class:`StreamFramer` cuts the
byte stream at each message's end (Content-Length is then required) and skips the CRLF
keep-alive pings of RFC 5626 between messages.

Caps (:class:`Limits`): the whole message, each line, the number of header lines. Anything
malformed or too large raises :class:`SipError` at once, without reading further.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SIP_VERSION = "SIP/2.0"

#: lower-case name (and compact form) -> canonical spelling, for the headers GB/T 28181 uses
_CANONICAL = {
    "via": "Via", "v": "Via", "from": "From", "f": "From", "to": "To", "t": "To",
    "call-id": "Call-ID", "i": "Call-ID", "cseq": "CSeq", "contact": "Contact", "m": "Contact",
    "content-length": "Content-Length", "l": "Content-Length", "content-type": "Content-Type",
    "c": "Content-Type", "content-encoding": "Content-Encoding", "e": "Content-Encoding",
    "subject": "Subject", "s": "Subject", "supported": "Supported", "k": "Supported",
    "event": "Event", "o": "Event", "allow-events": "Allow-Events", "u": "Allow-Events",
    "expires": "Expires", "min-expires": "Min-Expires", "max-forwards": "Max-Forwards",
    "authorization": "Authorization", "www-authenticate": "WWW-Authenticate",
    "user-agent": "User-Agent", "server": "Server", "date": "Date", "retry-after": "Retry-After",
    "allow": "Allow", "route": "Route", "record-route": "Record-Route",
    "subscription-state": "Subscription-State", "x-gb-ver": "X-GB-Ver",
}
_TOKEN_RE = re.compile(r"[A-Za-z0-9\-.!%*_+`'~]+")
_NAMES: dict[str, str] = {}  # header names as written -> canonical (memo of the valid ones seen)
_NAMES_MAX = 1000


class SipError(ValueError):
    """A malformed or oversized SIP message. The text names the fault, never a header value."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_message: int = 65_535  # bytes of one message, head and body (the largest UDP payload)
    max_line: int = 4096  # bytes of one line of the head (a folded header counts each line)
    max_headers: int = 64  # header lines in one message


DEFAULT_LIMITS = Limits()


def canonical(name: str) -> str:
    """The stored spelling of a header name (``i`` -> ``Call-ID``; unknown names lower-cased)."""
    low = name.lower()
    return _CANONICAL.get(low, low)


class _Headers:
    """Header lookup shared by requests and responses (``headers`` is a tuple of pairs)."""

    __slots__ = ()
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        """The first value of a header, None when absent (*name* in any spelling)."""
        want = _NAMES.get(name) or canonical(name)
        for k, v in self.headers:
            if k == want:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        want = canonical(name)
        return [v for k, v in self.headers if k == want]


@dataclass(frozen=True, slots=True)
class SipRequest(_Headers):
    method: str
    uri: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def encode(self) -> bytes:
        return _encode(f"{self.method} {self.uri} {SIP_VERSION}", self.headers, self.body)


@dataclass(frozen=True, slots=True)
class SipResponse(_Headers):
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def encode(self) -> bytes:
        return _encode(f"{SIP_VERSION} {self.status} {self.reason}", self.headers, self.body)


SipMessage = SipRequest | SipResponse


def _encode(first: str, headers: tuple[tuple[str, str], ...], body: bytes) -> bytes:
    """The wire form; Content-Length is always written, from the body (a given one is dropped)."""
    for k, v in headers:
        if "\r" in v or "\n" in v or "\r" in k or "\n" in k:
            raise SipError("a header holds a line break")
    lines = [first, *(f"{k}: {v}" for k, v in headers if k != "Content-Length"), f"Content-Length: {len(body)}", "", ""]
    return "\r\n".join(lines).encode("utf-8") + body


def _decode_head(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:  # some devices write their User-Agent or Subject in GBK
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise SipError("head is neither UTF-8 nor GB18030") from None


def _head_end(data: bytes | bytearray) -> tuple[int, int]:
    """(end of the head, start of the body) or (-1, -1) when the blank line is not there yet."""
    i = data.find(b"\r\n\r\n")
    j = data.find(b"\n\n")
    if i >= 0 and (j < 0 or i <= j):
        return i, i + 4
    if j >= 0:
        return j, j + 2
    return -1, -1


def _parse_head(raw: bytes, limits: Limits) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    """(first, second, third part of the start line, headers) of a complete head."""
    lines = _decode_head(raw).split("\n")
    if len(lines) - 1 > limits.max_headers:
        raise SipError(f"more than {limits.max_headers} header lines")
    start = lines[0].rstrip("\r")
    parts = start.split(" ", 2)
    if len(parts) != 3:
        raise SipError("bad start line")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        line = line.rstrip("\r")
        if len(line) > limits.max_line:
            raise SipError(f"a header line longer than {limits.max_line} bytes")
        if line[:1] in (" ", "\t"):  # folded: continues the header above
            if not headers:
                raise SipError("continuation line without a header")
            k, v = headers[-1]
            headers[-1] = (k, f"{v} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise SipError("bad header line")
        known = _NAMES.get(name)
        if known is None:
            bare = name.rstrip(" \t")
            if not _TOKEN_RE.fullmatch(bare):
                raise SipError("bad header line")
            known = canonical(bare)
            if len(_NAMES) < _NAMES_MAX:
                _NAMES[name] = known
        headers.append((known, value.strip()))
    return parts[0], parts[1], parts[2], tuple(headers)


def _content_length(headers: tuple[tuple[str, str], ...]) -> int | None:
    values = [v for k, v in headers if k == "Content-Length"]
    if not values:
        return None
    if len(set(values)) > 1:
        raise SipError("conflicting Content-Length headers")
    v = values[0]
    if not v.isdigit() or len(v) > 9:
        raise SipError("bad Content-Length")
    return int(v)


def _build(a: str, b: str, c: str, headers: tuple[tuple[str, str], ...], body: bytes) -> SipMessage:
    if a == SIP_VERSION:
        if len(b) != 3 or not b.isdigit() or not 100 <= int(b) <= 699:
            raise SipError("bad status code")
        return SipResponse(int(b), c, headers, body)
    if c != SIP_VERSION:
        raise SipError("not SIP/2.0")
    if not _TOKEN_RE.fullmatch(a) or ":" not in b:
        raise SipError("bad request line")
    return SipRequest(a, b, headers, body)


def parse_datagram(data: bytes, limits: Limits = DEFAULT_LIMITS) -> SipMessage:
    """One UDP datagram as one message; raise :class:`SipError` when malformed or too large."""
    if len(data) > limits.max_message:
        raise SipError(f"message of more than {limits.max_message} bytes")
    head_end, body_start = _head_end(data)
    if head_end < 0:
        raise SipError("no end of head")
    first_nl = data.find(b"\n")
    if first_nl > limits.max_line:
        raise SipError(f"start line longer than {limits.max_line} bytes")
    a, b, c, headers = _parse_head(data[:head_end], limits)
    body = data[body_start:]
    length = _content_length(headers)
    if length is not None:
        if length > len(body):
            raise SipError("body shorter than Content-Length")
        body = body[:length]  # RFC 3261 18.3: bytes past Content-Length are dropped
    return _build(a, b, c, headers, body)


class StreamFramer:
    """Cuts a TCP byte stream into messages. Feed it what arrives; it returns the complete
    messages and keeps the rest (never more than one message's cap). A framing error leaves
    the stream unusable: the caller closes the connection."""

    __slots__ = ("_buf", "_limits", "_need")

    def __init__(self, limits: Limits = DEFAULT_LIMITS) -> None:
        self._buf = bytearray()
        self._limits = limits
        self._need: tuple[int, tuple[str, str, str, tuple[tuple[str, str], ...]]] | None = None

    @property
    def pending(self) -> int:
        """Bytes held for a message not complete yet."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[SipMessage]:
        self._buf += data
        out: list[SipMessage] = []
        limits = self._limits
        while True:
            if self._need is None:
                # RFC 5626 keep-alive pings (CRLF) between messages
                while self._buf[:2] == b"\r\n" or self._buf[:1] == b"\n":
                    del self._buf[: 2 if self._buf[:1] == b"\r" else 1]
                if not self._buf:
                    return out
                head_end, body_start = _head_end(self._buf)
                if head_end < 0:
                    nl = self._buf.find(b"\n")
                    if ((nl < 0 and len(self._buf) > limits.max_line) or len(self._buf) > limits.max_message
                            or self._buf.count(b"\n") > limits.max_headers + 1):
                        raise SipError("head too long")
                    return out
                if self._buf.find(b"\n") > limits.max_line:
                    raise SipError(f"start line longer than {limits.max_line} bytes")
                head = _parse_head(bytes(self._buf[:head_end]), limits)
                length = _content_length(head[3])
                if length is None:
                    raise SipError("no Content-Length on a stream")
                if body_start + length > limits.max_message:
                    raise SipError(f"message of more than {limits.max_message} bytes")
                del self._buf[:body_start]
                self._need = (length, head)
            length, (a, b, c, headers) = self._need
            if len(self._buf) < length:
                return out
            body = bytes(self._buf[:length])
            del self._buf[:length]
            self._need = None
            out.append(_build(a, b, c, headers, body))
