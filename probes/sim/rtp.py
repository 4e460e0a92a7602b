"""RTP over RTSP-interleaved TCP: the camera's picture (:mod:`probes.sim.h264`) as H.264 IDR frames
(RFC 6184: a slice per packet, FU-A when one is larger than the MTU) at :data:`FPS` frames a second.

The frame shown follows the stream's own time: frame ``(tick // per_frame) % frames`` of the
picture, ``per_frame`` = ``SECONDS_PER_FRAME`` x ``FPS`` ticks, from a random frame for each session.
The picture is read from the camera's behaviour at every frame, so a change shows at once."""

from __future__ import annotations

import asyncio
import functools
import random
import struct
from collections.abc import Callable

from probes.sim import h264
from probes.sim.behaviour import Picture

PAYLOAD_TYPE = 96
CLOCK_RATE = 90_000
FPS = 25
_MTU = 1400
_MAX_BUFFERED = 512 * 1024


_PER_FRAME = round(h264.SECONDS_PER_FRAME * FPS)  # ticks each frame of a picture is shown


def _nal_payloads(nal: bytes, last: bool) -> list[tuple[bytes, bool]]:
    """RTP payloads (and marker bits) of one NAL unit: itself, or FU-A fragments."""
    if len(nal) <= _MTU:
        return [(nal, last)]
    header, body = nal[0], nal[1:]
    indicator = (header & 0xE0) | 28
    chunks = [body[i:i + _MTU] for i in range(0, len(body), _MTU)]
    out = []
    for n, chunk in enumerate(chunks):
        start = 0x80 if n == 0 else 0
        end = 0x40 if n == len(chunks) - 1 else 0
        out.append((bytes((indicator, start | end | (header & 0x1F))) + chunk, last and bool(end)))
    return out


@functools.cache
def frame_payloads(picture: Picture) -> tuple[tuple[tuple[bytes, bool], ...], ...]:
    """For each frame of *picture*, the RTP payloads (and marker bits) of its access unit: SPS,
    PPS, then the IDR slices (the marker on the last packet)."""
    out = []
    for slices in h264.frames(picture):
        payloads = [(h264.sps(), False), (h264.pps(), False)]
        for n, nal in enumerate(slices):
            payloads += _nal_payloads(nal, n == len(slices) - 1)
        out.append(tuple(payloads))
    return tuple(out)


class RtpStreamer:
    """Sends a frame of ``picture()`` every 1/FPS s on ``channel`` until stopped or the
    connection closes."""

    __slots__ = ("_channel", "_count", "_handle", "_loop", "_picture", "_seq", "_ssrc", "_transport", "_ts")

    def __init__(self, transport: asyncio.Transport, channel: int,
                 loop: asyncio.AbstractEventLoop, picture: Callable[[], Picture] = lambda: Picture.SCENE) -> None:
        self._transport = transport
        self._channel = channel
        self._loop = loop
        self._picture = picture
        rng = random.Random()
        self._seq = rng.randrange(1 << 16)
        self._ts = rng.randrange(1 << 32)
        self._ssrc = rng.randrange(1 << 32)
        self._count = rng.randrange(h264.SCENE_FRAMES * _PER_FRAME)
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
            frames = frame_payloads(self._picture())
            parts: list[bytes] = []
            for payload, marker in frames[(self._count // _PER_FRAME) % len(frames)]:
                rtp = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | PAYLOAD_TYPE,
                                  self._seq, self._ts, self._ssrc)
                parts.append(struct.pack("!BBH", 0x24, self._channel, len(rtp) + len(payload)))
                parts.append(rtp)
                parts.append(payload)
                self._seq = (self._seq + 1) & 0xFFFF
            transport.write(b"".join(parts))
        self._ts = (self._ts + CLOCK_RATE // FPS) & 0xFFFFFFFF
        self._count += 1
        self._handle = self._loop.call_later(1 / FPS, self._tick)
