"""The ONVIF side of a simulated camera: HTTP/1.1 (keep-alive) with SOAP 1.2, as a raw
asyncio Protocol."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from probes.sim import hostile_http, soap
from probes.sim.auth import Verdict, check_username_token
from probes.sim.behaviour import Power, Reply
from probes.sim.context import CameraConnection
from probes.sim.state import CameraState

MAX_HEAD = 16 * 1024
MAX_BODY = 256 * 1024
_ACTION = re.compile(rb"<(?:[\w.-]+:)?Body[^>]*>\s*<(?:[\w.-]+:)?([A-Za-z]+)")

# Actions that need a WS-UsernameToken (when the behaviour asks for ONVIF auth).
_AUTHED: dict[str, Callable[[CameraState], bytes]] = {
    "GetDeviceInformation": soap.device_information,
    "GetCapabilities": soap.capabilities,
    "GetServices": soap.services,
    "GetNetworkInterfaces": soap.network_interfaces,
    "GetHostname": soap.hostname,
    "GetProfiles": soap.profiles,
    "GetStreamUri": soap.stream_uri,
    "GetSnapshotUri": soap.snapshot_uri,
}
_TIME = "GetSystemDateAndTime"


class OnvifProtocol(CameraConnection):
    __slots__ = ()

    def opened(self, transport: asyncio.Transport) -> None:
        self.cam.onvif_opened(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.cam.transports.discard(self.transport)

    def data_received(self, data: bytes) -> None:
        if self.cam.behaviour.power is Power.HANG:
            return
        buf = self.buf + data if self.buf else data
        while buf:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self._send(431, b"", close=True)
                    return
                break
            lines = buf[:end].decode("latin-1").split("\r\n")
            length = 0
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value) if value.strip().isdigit() else -1
                elif name == "connection":
                    close = value.strip().lower() == "close"
                elif name == "transfer-encoding":
                    length = -1
            if not 0 <= length <= MAX_BODY:
                self._send(413 if length > MAX_BODY else 400, b"", close=True)
                return
            total = end + 4 + length
            if len(buf) < total:
                break
            body = buf[end + 4:total]
            buf = buf[total:]
            self._handle(lines[0], body, close or lines[0].endswith("HTTP/1.0"))
            if self.transport is None or self.transport.is_closing():
                return
        self.buf = buf

    def _handle(self, request_line: str, body: bytes, close: bool) -> None:
        cam = self.cam
        b = cam.behaviour
        if b.onvif_reply is Reply.GARBAGE:
            self.ctx.send(self._transport(), self.ctx.garbage, b.delay_s, close=True)
            return
        if b.onvif_reply is Reply.OVERSIZED:
            reply = self.ctx.oversized(b"HTTP/1.1 200 OK", b.oversized_bytes)
            self.ctx.send(self._transport(), reply, b.delay_s, close=True)
            return
        if b.onvif_reply in hostile_http.HOSTILE:
            hostile_http.serve(self.ctx.loop, self._transport(), b.onvif_reply, cam.password)
            return
        parts = request_line.split(" ")
        if len(parts) != 3 or parts[0] != "POST":
            self._send(405 if len(parts) == 3 else 400, b"", close=True)
            return
        match = _ACTION.search(body)
        action = match.group(1).decode() if match else "?"
        cam.onvif_called(action)
        now = self.ctx.clock()
        builder = _AUTHED.get(action)
        if action == _TIME:
            needs_auth = b.onvif_auth_time
        elif builder is None:
            self._send(400, soap.ACTION_NOT_SUPPORTED, close)
            return
        else:
            needs_auth = b.onvif_auth
        if needs_auth:
            verdict = check_username_token(cam, body, now)
            if verdict is not Verdict.OK or b.onvif_not_authorized:
                cam.onvif_auth_failures += 1
                self._send(400, soap.NOT_AUTHORIZED, close)
                return
        if builder is None:
            self._send(200, soap.system_date_and_time(now, b.clock_skew_s), close)
        else:
            self._send(200, builder(cam), close)

    def _send(self, status: int, body: bytes, close: bool) -> None:
        reason = _REASONS.get(status, "Error")
        status_line = f"HTTP/1.1 {status} {reason}".encode()
        head = ("Server: camwatch-sim\r\nContent-Type: application/soap+xml; charset=utf-8\r\n"
                + ("Connection: close\r\n" if close else "")).encode()
        if self.cam.behaviour.onvif_reply is Reply.BYTE_CHUNKS:
            data = hostile_http.byte_chunked(status_line, head, body)
        else:
            data = status_line + b"\r\n" + head + b"Content-Length: %d\r\n\r\n" % len(body) + body
        self.ctx.send(self._transport(), data, self.cam.behaviour.delay_s, close=close)
        if close:
            self.buf = b""


_REASONS = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed",
            413: "Payload Too Large", 431: "Request Header Fields Too Large"}
