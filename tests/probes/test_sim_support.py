"""Small, independent client helpers for the simulator tests (raw asyncio sockets; Digest and
WS-UsernameToken computed here, not with the project's probers), plus checks of the helpers
themselves against published examples."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from probes.sim import Behaviour, Fleet

IO_TIMEOUT = 5.0


@dataclass
class RtspReply:
    status: int
    headers: dict[str, str]
    body: bytes = b""
    status_line: str = ""


class RtspClient:
    """One RTSP connection; ``request`` sends a request and reads one reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.cseq = 0

    @classmethod
    async def connect(cls, host: str, port: int) -> RtspClient:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), IO_TIMEOUT)
        return cls(reader, writer)

    async def send(self, method: str, url: str, headers: dict[str, str] | None = None) -> int:
        self.cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self.cseq}", "User-Agent: sim-test"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()
        return self.cseq

    async def read_reply(self, timeout: float = IO_TIMEOUT) -> RtspReply:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), timeout)
        lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        body = b""
        if "content-length" in headers:
            body = await asyncio.wait_for(
                self.reader.readexactly(int(headers["content-length"])), timeout)
        return RtspReply(int(lines[0].split(" ")[1]), headers, body, lines[0])

    async def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                      timeout: float = IO_TIMEOUT) -> RtspReply:
        cseq = await self.send(method, url, headers)
        reply = await self.read_reply(timeout)
        assert reply.headers.get("cseq") == str(cseq), "CSeq not echoed"
        return reply

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


def parse_challenge(value: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = value.partition(" ")
    params = {m[0].lower(): m[1] or m[2]
              for m in re.findall(r'(\w+)\s*=\s*(?:"([^"]*)"|([^,\s]*))', rest)}
    return scheme.lower(), params


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def digest_authorization(user: str, password: str, challenge: dict[str, str], method: str,
                         uri: str, *, nc: str = "00000001", cnonce: str = "0a4f113b") -> str:
    """An RFC 2617 (qop=auth) or RFC 2069 (no qop) Authorization header value."""
    realm, nonce = challenge["realm"], challenge["nonce"]
    ha1 = md5(f"{user}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    value = f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}"'
    if "qop" in challenge:
        response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        value += f', qop=auth, nc={nc}, cnonce="{cnonce}"'
    else:
        response = md5(f"{ha1}:{nonce}:{ha2}")
    return value + f', response="{response}"'


def basic_authorization(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# --- ONVIF ------------------------------------------------------------------------------

_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
_WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"


def password_digest(nonce: bytes, created: str, password: str) -> str:
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()
                            ).decode()


def created_now(offset_s: float = 0.0) -> str:
    t = datetime.fromtimestamp(datetime.now(UTC).timestamp() + offset_s, UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def username_token(user: str, password: str, *, digest: bool = True,
                   created: str | None = None) -> str:
    created = created or created_now()
    nonce = os.urandom(16)
    if digest:
        pw = (f'<wsse:Password Type="{_PROFILE}#PasswordDigest">'
              f"{password_digest(nonce, created, password)}</wsse:Password>")
    else:
        pw = f'<wsse:Password Type="{_PROFILE}#PasswordText">{password}</wsse:Password>'
    return (f'<wsse:Security xmlns:wsse="{_WSSE}" xmlns:wsu="{_WSU}"><wsse:UsernameToken>'
            f"<wsse:Username>{user}</wsse:Username>{pw}"
            f"<wsse:Nonce>{base64.b64encode(nonce).decode()}</wsse:Nonce>"
            f"<wsu:Created>{created}</wsu:Created></wsse:UsernameToken></wsse:Security>")


def soap(action_xml: str, header: str = "") -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
            'xmlns:trt="http://www.onvif.org/ver10/media/wsdl">'
            f"<s:Header>{header}</s:Header><s:Body>{action_xml}</s:Body></s:Envelope>").encode()


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


async def read_http(reader: asyncio.StreamReader, timeout: float = IO_TIMEOUT) -> HttpReply:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))),
                                  timeout)
    return HttpReply(int(lines[0].split(" ")[1]), headers, body)


def http_post(host: str, port: int, body: bytes, path: str = "/onvif/device_service") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/soap+xml; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


async def onvif_call(host: str, port: int, action_xml: str, header: str = "",
                     path: str = "/onvif/device_service") -> HttpReply:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), IO_TIMEOUT)
    try:
        writer.write(http_post(host, port, soap(action_xml, header), path))
        await writer.drain()
        return await read_http(reader)
    finally:
        writer.close()


def xml_text(body: bytes, tag: str) -> str | None:
    m = re.search(rb"<(?:\w+:)?" + tag.encode() + rb"(?:\s[^>]*)?>([^<]*)<", body)
    return m.group(1).decode() if m else None


# --- the helpers themselves ---------------------------------------------------------------


def test_digest_helper_matches_rfc2617_example() -> None:
    challenge = {"realm": "testrealm@host.com", "nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                 "qop": "auth"}
    header = digest_authorization("Mufasa", "Circle Of Life", challenge, "GET",
                                  "/dir/index.html", nc="00000001", cnonce="0a4f113b")
    assert 'response="6629fae49393a05397450978507c4ef1"' in header


def test_password_digest_helper_matches_known_value() -> None:
    # Base64(SHA1(nonce + created + password)), checked against a value computed by hand.
    nonce = base64.b64decode("LKqI6G/AikKCQrN0zqZFlg==")
    expected = base64.b64encode(hashlib.sha1(
        nonce + b"2010-09-16T07:50:45Z" + b"userpassword").digest()).decode()
    assert password_digest(nonce, "2010-09-16T07:50:45Z", "userpassword") == expected
    assert expected == "tuOSpGlFlIXsozq4HFNeeGeFLEI="


@contextlib.contextmanager
def scripted_fleet(cases: dict[str, Behaviour]) -> Iterator[Fleet]:
    """One simulated camera per case, in the dict's order (camera i = the i-th case), one worker."""
    with Fleet(len(cases), workers=1) as f:
        for i, behaviour in enumerate(cases.values()):
            f.set_behaviour(i, behaviour)
        yield f
