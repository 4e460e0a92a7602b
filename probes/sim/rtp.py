"""RTP over RTSP-interleaved TCP: repeat one H.264 IDR picture (RFC 6184, FU-A) at a low rate."""

from __future__ import annotations

import asyncio
import functools
import random
import struct

from probes.sim import h264

PAYLOAD_TYPE = 96
CLOCK_RATE = 90_000
FPS = 25
_MTU = 1400
_MAX_BUFFERED = 512 * 1024


@functools.cache
def _frame_payloads() -> tuple[tuple[bytes, bool], ...]:
    """RTP payloads (and marker bits) of one access unit: SPS, PPS, IDR split into FU-A."""
    out: list[tuple[bytes, bool]] = [(h264.sps(), False), (h264.pps(), False)]
    nal = h264.idr()
    header, body = nal[0], nal[1:]
    indicator = (header & 0xE0) | 28
    chunks = [body[i:i + _MTU] for i in range(0, len(body), _MTU)]
    for n, chunk in enumerate(chunks):
        start = 0x80 if n == 0 else 0
        end = 0x40 if n == len(chunks) - 1 else 0
        fu = bytes((indicator, start | end | (header & 0x1F)))
        out.append((fu + chunk, n == len(chunks) - 1))
    return tuple(out)


class RtpStreamer:
    """Sends the picture every 1/FPS s on ``channel`` until stopped or the connection closes."""

    __slots__ = ("_channel", "_handle", "_loop", "_seq", "_ssrc", "_transport", "_ts")

    def __init__(self, transport: asyncio.Transport, channel: int,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._channel = channel
        self._loop = loop
        rng = random.Random()
        self._seq = rng.randrange(1 << 16)
        self._ts = rng.randrange(1 << 32)
        self._ssrc = rng.randrange(1 << 32)
        self._handle: asyncio.Handle | None = None

    @property
    def first_seq(self) -> int:
        return self._seq

    @property
    def first_ts(self) -> int:
        return self._ts

    def start(self) -> None:
        if self._handle is None:
            self._handle = self._loop.call_soon(self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _tick(self) -> None:
        transport = self._transport
        if transport.is_closing():
            self._handle = None
            return
        if transport.get_write_buffer_size() < _MAX_BUFFERED:
            parts: list[bytes] = []
            for payload, marker in _frame_payloads():
                rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | PAYLOAD_TYPE,
                                  self._seq, self._ts, self._ssrc)
                parts.append(struct.pack("!BBH", 0x24, self._channel, len(rtp) + len(payload)))
                parts.append(rtp)
                parts.append(payload)
                self._seq = (self._seq + 1) & 0xFFFF
            transport.write(b"".join(parts))
        self._ts = (self._ts + CLOCK_RATE // FPS) & 0xFFFFFFFF
        self._handle = self._loop.call_later(1 / FPS, self._tick)
