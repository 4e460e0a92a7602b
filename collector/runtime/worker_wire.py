"""What the collector and its probe worker processes say to each other (``collector.workers``).

One stream socket per worker, both ways: each message is a 4-byte big-endian length, then the
pickle of one frozen dataclass below. Only these two processes of one user on one machine read
the socket (a camera's password crosses it inside its target; it is never logged).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import pickle
import struct
from dataclasses import dataclass

from collector.runtime.camera_state import Event, Status
from collector.runtime.scheduler_config import SchedulerConfig
from inventory.monitored import MonitoredCamera, MonitoredDevice
from probes.kept import KeptResult
from probes.stages import LadderOptions

_LEN = struct.Struct(">I")
MAX_MESSAGE = 1 << 30  # a whole county's inventory fits many times over


# -- collector -> worker -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class VideoSetup:
    """The video tier in a worker: its share of the machine's frame grabs and decoder processes."""

    concurrency: int
    decoders: int
    live_frames: int
    live_window_s: float


@dataclass(frozen=True, slots=True)
class Hello:
    """The first message: what the worker runs (built from the settings by the collector: a
    worker imports neither pydantic nor SQLAlchemy), and which of *count* workers it is."""

    config: SchedulerConfig  # the worker's share of the machine's limits already applied
    ladder: LadderOptions  # without the frame stage's pool (the worker makes its own)
    video: VideoSetup | None  # None: no video tier
    log_level: str
    log_format: str
    index: int
    count: int
    stall_s: float = 30.0  # the collector silent (no message, not even a Ping) this long: the worker stops


@dataclass(frozen=True, slots=True)
class Assign:
    """The worker's cameras changed: *upserts* new or changed, *removed* no longer its own (dropped
    silently: the collector writes what follows for them); *devices* the upstream devices (None:
    unchanged)."""

    upserts: tuple[MonitoredCamera, ...]
    removed: tuple[int, ...]
    devices: tuple[MonitoredDevice, ...] | None
    more: bool = False  # another part of the same change follows (a long list is sent in parts)


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop probing, send the last report (``final``) and exit."""


@dataclass(frozen=True, slots=True)
class Ping:
    """Sent when the collector has said nothing else for ``PING_S``: it is alive and reading."""


PING_S = 1.0


# -- worker -> collector -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CameraDelta:
    """A camera's state as the worker holds it now (sent when a probe touched it). Not when its
    probes last saw that state (the slot's ``seen``): only the worker dates its changes, and the
    collector's copy of it cost ~0.1 KB a camera."""

    camera_id: int
    status: Status
    last: KeptResult | None  # None: no new probe result since the previous report (the worker keeps none once sent)
    video_ok: bool | None
    video_last: KeptResult | None = None  # the video tier's last failed probe, kept by the worker


@dataclass(frozen=True, slots=True)
class Report:
    """What happened in the worker since its previous report (one every ``REPORT_S``); ``at`` is
    the worker's clock when it was sent: its cameras were watched at least until then."""

    at: dt.datetime
    deltas: tuple[CameraDelta, ...]
    events: tuple[tuple[int, Event], ...]  # in the order they happened
    frames: tuple[tuple[int, bytes], ...]  # video-tier pictures (JPEG)
    lateness: tuple[int, ...]  # the worker's lateness histogram: counts per bucket (cumulative over its life)
    lateness_total: float
    probes_total: tuple[tuple[tuple[str, str], int], ...]  # cumulative over the worker's life
    last_sweep_s: float | None
    cameras: int  # slots the worker holds
    final: bool = False


Message = Hello | Assign | Stop | Ping | Report


async def send(writer: asyncio.StreamWriter, msg: Message) -> None:
    data = pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL)
    writer.write(_LEN.pack(len(data)))
    writer.write(data)
    await writer.drain()


async def receive(reader: asyncio.StreamReader) -> Message | None:
    """The next message, or None at the end of the stream (the other side exited)."""
    try:
        head = await reader.readexactly(_LEN.size)
        (n,) = _LEN.unpack(head)
        if n > MAX_MESSAGE:
            raise ValueError(f"worker message of {n} bytes")
        msg = pickle.loads(await reader.readexactly(n))  # noqa: S301 - our own child process, a private socketpair
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    if not isinstance(msg, Hello | Assign | Stop | Ping | Report):
        raise TypeError(f"unexpected worker message {type(msg).__name__}")
    return msg


__all__ = ["PING_S", "Assign", "CameraDelta", "Hello", "Message", "Ping", "Report", "Stop", "VideoSetup", "receive", "send"]
