"""A small loopback ONVIF device service for edge cases of the onvif prober.

Independent of the code under test: its own WS-UsernameToken check (regexes and
hashlib), its own replies. Behaviour is a mutable :class:`Behave` changed by tests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from email.utils import formatdate

SOAP = "http://www.w3.org/2003/05/soap-envelope"
OPEN = (f'<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="{SOAP}" '
        'xmlns:tds="http://www.onvif.org/ver10/device/wsdl" '
        'xmlns:tt="http://www.onvif.org/ver10/schema" '
        'xmlns:ter="http://www.onvif.org/ver10/error"><env:Body>')
CLOSE = "</env:Body></env:Envelope>"
NOT_AUTHORIZED = (OPEN + "<env:Fault><env:Code><env:Value>env:Sender</env:Value><env:Subcode>"
                  "<env:Value>ter:NotAuthorized</env:Value></env:Subcode></env:Code>"
                  '<env:Reason><env:Text xml:lang="en">Sender not Authorized</env:Text>'
                  "</env:Reason></env:Fault>" + CLOSE)
ACTION_FAILED = (OPEN + "<env:Fault><env:Code><env:Value>env:Receiver</env:Value><env:Subcode>"
                 "<env:Value>ter:ActionNotSupported</env:Value></env:Subcode></env:Code>"
                 '<env:Reason><env:Text xml:lang="en">Not implemented</env:Text></env:Reason>'
                 "</env:Fault>" + CLOSE)
BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % (i - 1 or "")) * 10}">'
                            for i in range(1, 10))
                  + f"]><env:Envelope xmlns:env=\"{SOAP}\"><env:Body>&lol9;</env:Body>"
                  "</env:Envelope>")
EXTERNAL_ENTITY = ('<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
                   f'<env:Envelope xmlns:env="{SOAP}"><env:Body>&x;</env:Body></env:Envelope>')

_USER = re.compile(r"<(?:\w+:)?Username>([^<]*)<")
_PASS = re.compile(r"<(?:\w+:)?Password\s+Type=\"[^\"]*#(\w+)\">([^<]*)<")
_NONCE = re.compile(r"<(?:\w+:)?Nonce[^>]*>([^<]*)<")
_CREATED = re.compile(r"<(?:\w+:)?Created>([^<]*)<")
_ACTION = re.compile(r"<(?:\w+:)?Body>\s*<(?:\w+:)?(\w+)")


@dataclass
class Behave:
    """What the server does; tests mutate it between probes."""

    username: str = "admin"
    password: str = "s3cret-pw"
    time_needs_auth: bool = False
    info_needs_auth: bool = True
    accept_digest: bool = True
    accept_text: bool = True
    skew_s: float = 0.0  # the server's clock minus the real one
    created_tolerance_s: float = 5.0  # a digest's Created must be this close to the skewed clock
    auth_status: int = 400  # 400 with ter:NotAuthorized, or 401
    auth_body: bool = True  # send the NotAuthorized fault with the auth status
    send_date: bool = True  # HTTP Date header (on the skewed clock)
    canned: tuple[int, str] | None = None  # (status, body) for every request
    raw: bytes | None = None  # these bytes instead of any HTTP reply, then close
    chunked: bool = False
    close_after_reply: bool = False
    hang: bool = False
    # What GetDeviceInformation alone gets (the clock is answered as usual): "hang" (never answered),
    # "html" (a 200 web page), "close" (the connection dropped), "fault200" (a SOAP fault with 200),
    # "empty" (a 200 envelope without the response); None: the usual answer
    device_reply: str | None = None


@dataclass
class Seen:
    action: str
    password_type: str | None
    created: str | None
    accepted: bool


@dataclass
class OnvifTestServer:
    behave: Behave = field(default_factory=Behave)
    seen: list[Seen] = field(default_factory=list)
    connections: int = 0
    _server: asyncio.Server | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> OnvifTestServer:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._server.wait_closed()

    def _check_token(self, body: str, now: float) -> tuple[bool, str | None, str | None]:
        b = self.behave
        user, pw = _USER.search(body), _PASS.search(body)
        created_m = _CREATED.search(body)
        created = created_m.group(1) if created_m else None
        if user is None or pw is None:
            return False, None, created
        kind, given = pw.group(1), pw.group(2)
        if user.group(1) != b.username:
            return False, kind, created
        if kind == "PasswordText":
            return b.accept_text and given == b.password, kind, created
        nonce_m = _NONCE.search(body)
        if not b.accept_digest or nonce_m is None or created is None:
            return False, kind, created
        expected = base64.b64encode(hashlib.sha1(
            base64.b64decode(nonce_m.group(1)) + created.encode() + b.password.encode()).digest())
        stamp = datetime.fromisoformat(created.replace("Z", "+00:00")).timestamp()
        fresh = abs(stamp - (now + b.skew_s)) <= b.created_tolerance_s
        return fresh and expected.decode() == given, kind, created

    def _reply(self, body: str) -> tuple[int, str]:
        b = self.behave
        now = time.time()
        m = _ACTION.search(body)
        action = m.group(1) if m else "?"
        needs = b.time_needs_auth if action == "GetSystemDateAndTime" else b.info_needs_auth
        ok, kind, created = self._check_token(body, now) if needs else (True, None, None)
        self.seen.append(Seen(action, kind, created, ok))
        if not ok:
            return b.auth_status, NOT_AUTHORIZED if b.auth_body else ""
        if action == "GetSystemDateAndTime":
            t = time.gmtime(now + b.skew_s)
            return 200, (OPEN + "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
                         "<tt:DateTimeType>NTP</tt:DateTimeType><tt:UTCDateTime><tt:Time>"
                         f"<tt:Hour>{t.tm_hour}</tt:Hour><tt:Minute>{t.tm_min}</tt:Minute>"
                         f"<tt:Second>{t.tm_sec}</tt:Second></tt:Time><tt:Date>"
                         f"<tt:Year>{t.tm_year}</tt:Year><tt:Month>{t.tm_mon}</tt:Month>"
                         f"<tt:Day>{t.tm_mday}</tt:Day></tt:Date></tt:UTCDateTime>"
                         "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>" + CLOSE)
        if action == "GetDeviceInformation":
            return 200, (OPEN + "<tds:GetDeviceInformationResponse>"
                         "<tds:Manufacturer>Acme &amp; Co</tds:Manufacturer>"
                         "<tds:Model>X-1</tds:Model><tds:FirmwareVersion>1.2.3</tds:FirmwareVersion>"
                         "<tds:SerialNumber>SN42</tds:SerialNumber><tds:HardwareId>HW7</tds:HardwareId>"
                         "</tds:GetDeviceInformationResponse>" + CLOSE)
        return 400, ACTION_FAILED

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = (await reader.readexactly(length)).decode()
                b = self.behave
                if b.hang:
                    await asyncio.sleep(3600)
                if b.device_reply is not None and "GetDeviceInformation" in body:
                    if b.device_reply == "hang":
                        await asyncio.sleep(3600)
                    if b.device_reply == "close":
                        writer.transport.abort()
                        break
                    canned = {"html": (200, "<html><body>error</body></html>"), "fault200": (200, ACTION_FAILED),
                              "empty": (200, OPEN + CLOSE)}[b.device_reply]
                    b = replace(b, canned=canned)
                if b.raw is not None:
                    writer.write(b.raw)
                    await writer.drain()
                    break
                status, text = b.canned if b.canned is not None else self._reply(body)
                payload = text.encode()
                lines = [f"HTTP/1.1 {status} X", "Content-Type: application/soap+xml"]
                if b.send_date:
                    lines.append("Date: " + formatdate(time.time() + b.skew_s, usegmt=True))
                if b.close_after_reply:
                    lines.append("Connection: close")
                if b.chunked:
                    lines.append("Transfer-Encoding: chunked")
                    half = len(payload) // 2
                    payload = b"".join(f"{len(p):x}\r\n".encode() + p + b"\r\n"
                                       for p in (payload[:half], payload[half:]) if p) + b"0\r\n\r\n"
                else:
                    lines.append(f"Content-Length: {len(payload)}")
                writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
                await writer.drain()
                if b.close_after_reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
