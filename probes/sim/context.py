"""Things every connection of one worker shares: the loop, nonces, canned bad replies, and the
start of a connection (:class:`CameraConnection`, the base of the RTSP and ONVIF protocols)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import cast

from probes.sim.auth import NonceBook
from probes.sim.state import CameraState


class WorkerContext:
    __slots__ = ("_oversized", "clock", "garbage", "loop", "nonces")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.nonces = NonceBook()
        rng = random.Random(1234)
        # Bytes no RTSP or HTTP parser accepts as a status line; ends with a blank line so a
        # client that waits for the end of a header block gets one.
        self.garbage = (b"\x16\x03\x01\x00\xa5" + bytes(rng.randrange(256) for _ in range(250))
                        + b"\r\n\r\n")
        self._oversized: dict[tuple[bytes, int], bytes] = {}
        self.clock: Callable[[], float] = time.time

    def oversized(self, status_line: bytes, size: int) -> bytes:
        """A reply whose one header line is ``size`` bytes long (cached per size)."""
        key = (status_line, size)
        reply = self._oversized.get(key)
        if reply is None:
            reply = status_line + b"\r\nX-Padding: " + b"a" * size + b"\r\n\r\n"
            if len(self._oversized) > 8:
                self._oversized.clear()
            self._oversized[key] = reply
        return reply

    def send(self, transport: asyncio.Transport, data: bytes, delay: float,
             close: bool = False) -> None:
        """Write now, or after ``delay`` seconds (a slow camera); optionally close after."""
        if delay > 0:
            self.loop.call_later(delay, _write, transport, data, close)
        else:
            _write(transport, data, close)


def _write(transport: asyncio.Transport, data: bytes, close: bool) -> None:
    if transport.is_closing():
        return
    transport.write(data)
    if close:
        transport.close()


class CameraConnection(asyncio.Protocol):
    """One connection to a simulated camera: its camera, its worker's context, the transport.

    A subclass says in :meth:`opened` how the camera counts the connection; a camera that is
    down at that moment aborts it at once.
    """

    __slots__ = ("buf", "cam", "ctx", "transport")

    def __init__(self, cam: CameraState, ctx: WorkerContext) -> None:
        self.cam = cam
        self.ctx = ctx
        self.transport: asyncio.Transport | None = None
        self.buf = b""

    def opened(self, transport: asyncio.Transport) -> None:
        raise NotImplementedError

    def _transport(self) -> asyncio.Transport:
        assert self.transport is not None
        return self.transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self.transport = transport
        self.opened(transport)
        if self.cam.behaviour.is_down_at(self.ctx.clock()):
            transport.abort()
