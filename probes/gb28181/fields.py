"""The values of the SIP headers GB/T 28181 needs: addresses (From/To/Contact), Via, CSeq,
parameters and quoted strings; and the response to a request (RFC 3261 8.2.6).

Pure string work; every fault raises :class:`~probes.gb28181.sip.SipError`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from probes.gb28181.sip import SipError, SipRequest, SipResponse

REASONS = {
    100: "Trying", 200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 423: "Interval Too Brief", 481: "Call/Transaction Does Not Exist",
    488: "Not Acceptable Here", 500: "Server Internal Error", 503: "Service Unavailable",
}


def split_outside_quotes(text: str, sep: str) -> list[str]:
    """*text* cut at each *sep* that is outside double quotes and angle brackets."""
    if '"' not in text and "<" not in text:
        return text.split(sep)  # the common case, fast
    parts: list[str] = []
    depth_angle = False
    quoted = False
    escaped = False
    start = 0
    for i, ch in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == "<":
            depth_angle = True
        elif ch == ">":
            depth_angle = False
        elif ch == sep and not depth_angle:
            parts.append(text[start:i])
            start = i + 1
    if quoted:
        raise SipError("unterminated quoted string")
    parts.append(text[start:])
    return parts


def unquote(value: str) -> str:
    v = value.strip()
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        out: list[str] = []
        escaped = False
        for ch in v[1:-1]:
            if escaped:
                out.append(ch)
                escaped = False
            elif ch == "\\":
                escaped = True
            else:
                out.append(ch)
        return "".join(out)
    return v


def parse_params(parts: list[str]) -> dict[str, str]:
    """``;name=value`` pieces (already split) as a dict; a bare name maps to ``""``."""
    params: dict[str, str] = {}
    for p in parts:
        name, _, value = p.strip().partition("=")
        if name:
            params[name.strip().lower()] = unquote(value)
    return params


@dataclass(frozen=True, slots=True)
class Address:
    """A name-addr or addr-spec (From, To, Contact): its URI, the URI's user, and parameters."""

    uri: str
    params: dict[str, str]
    display: str = ""

    @property
    def user(self) -> str:
        return uri_user(self.uri)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")


def uri_user(uri: str) -> str:
    """The user part of ``sip:user@host[:port][;params]`` ("" when there is none)."""
    scheme, colon, rest = uri.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips"):
        raise SipError("not a sip URI")
    user, at, _ = rest.partition("@")
    return user.partition(";")[0] if at else ""


def uri_hostport(uri: str) -> tuple[str, int | None]:
    """(host, port or None) of a sip URI."""
    rest = uri.partition(":")[2]
    hostport = rest.rpartition("@")[2].partition(";")[0].partition("?")[0]
    if hostport.startswith("["):
        host, _, tail = hostport[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    if not host or (port and not port.isdigit()):
        raise SipError("bad host in URI")
    return host, int(port) if port else None


def parse_address(value: str) -> Address:
    """Parse a From/To/Contact value (one address)."""
    v = value.strip()
    lt = v.find("<")
    if lt >= 0:
        gt = v.find(">", lt)
        if gt < 0:
            raise SipError("unterminated <")
        display = unquote(v[:lt])
        uri = v[lt + 1:gt].strip()
        params = parse_params(split_outside_quotes(v[gt + 1:], ";")[1:])
    else:
        pieces = split_outside_quotes(v, ";")
        display, uri, params = "", pieces[0].strip(), parse_params(pieces[1:])
    if not uri:
        raise SipError("empty address")
    uri_user(uri)  # a sip URI, or SipError
    return Address(uri, params, display)


@dataclass(frozen=True, slots=True)
class Via:
    transport: str
    host: str
    port: int | None
    params: dict[str, str]

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")


def parse_via(value: str) -> Via:
    """The first (topmost) via-parm of a Via value."""
    first = split_outside_quotes(value, ",")[0].strip()
    pieces = split_outside_quotes(first, ";")
    proto, _, sent_by = pieces[0].strip().partition(" ")
    name, _, rest = proto.partition("/")
    version, _, transport = rest.partition("/")
    if name.upper() != "SIP" or version != "2.0" or not transport:
        raise SipError("bad Via")
    sent_by = sent_by.strip()
    if sent_by.startswith("["):
        host, _, tail = sent_by[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port = sent_by.partition(":")
    if not host or (port and not port.isdigit()):
        raise SipError("bad Via sent-by")
    return Via(transport.upper(), host, int(port) if port else None, parse_params(pieces[1:]))


def parse_cseq(value: str) -> tuple[int, str]:
    num, _, method = value.strip().partition(" ")
    method = method.strip()
    if not num.isdigit() or len(num) > 10 or not method:
        raise SipError("bad CSeq")
    return int(num), method.upper()


def new_tag() -> str:
    return secrets.token_hex(5)


def new_branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def required(req: SipRequest | SipResponse, name: str) -> str:
    v = req.get(name)
    if v is None:
        raise SipError(f"no {name} header")
    return v


def response_to(req: SipRequest, status: int, *, source: tuple[str, int] | None = None,
                to_tag: str | None = None, extra: tuple[tuple[str, str], ...] = (), body: bytes = b"",
                reason: str | None = None) -> SipResponse:
    """The response to *req* (Via, From, To, Call-ID and CSeq copied). With *source* (the
    address the request came from) the top Via gains ``received`` and, when the client asked
    with a bare ``rport`` (RFC 3581: devices behind NAT), ``rport=<port>``."""
    vias = req.get_all("Via")
    if not vias:
        raise SipError("no Via header")
    if source is not None:
        top = split_outside_quotes(vias[0], ",")
        first = top[0]
        pieces = split_outside_quotes(first, ";")
        names = [p.strip().partition("=")[0].lower() for p in pieces[1:]]
        new = [pieces[0]] + [p for p in pieces[1:] if p.strip().partition("=")[0].lower() not in ("rport", "received")]
        if "rport" in names:
            new.append(f"rport={source[1]}")
        new.append(f"received={source[0]}")
        vias = [",".join([";".join(new), *top[1:]]), *vias[1:]]
    to = required(req, "To")
    if to_tag and ";tag=" not in to.replace(" ", "").lower():
        to = f"{to};tag={to_tag}"
    headers = [*(("Via", v) for v in vias), ("From", required(req, "From")), ("To", to),
               ("Call-ID", required(req, "Call-ID")), ("CSeq", required(req, "CSeq")), *extra]
    return SipResponse(status, reason or REASONS.get(status, "Unknown"), tuple(headers), body)
