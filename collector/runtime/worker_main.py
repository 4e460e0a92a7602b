"""A probe worker process of ``camwatch run`` (``collector.workers`` > 1).

    python -m collector.runtime.worker_main FD

Started by :class:`collector.runtime.workers.WorkerPool` with one end of a socketpair as *FD*.
It runs the real :class:`~collector.runtime.scheduler.Scheduler` on the cameras it is assigned
(no database, no HTTP): state changes, events, pictures and the state of every camera a probe
touched go back to the collector in a :class:`~collector.runtime.worker_wire.Report` every
``REPORT_S``; the collector writes them. It stops on :class:`~collector.runtime.worker_wire.Stop`
(after a last report) or when the collector's end of the socket closes (the collector died).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from dataclasses import replace

from collector.runtime.camera_state import Event
from collector.runtime.gc_tuning import settle_gc, tune_malloc
from collector.runtime.logfmt import setup_logging
from collector.runtime.scheduler import EventSink, Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.runtime.slots import CameraSlot
from collector.runtime.worker_wire import Assign, CameraDelta, Hello, Report, Stop, receive, send
from inventory.monitored import MonitoredCamera, MonitoredDevice, shared_ports
from probes.kept import KeptResult
from probes.ladder import LadderOptions

REPORT_S = 0.2
log = logging.getLogger("camwatch.worker")


class WorkerScheduler(Scheduler):
    """The scheduler of a worker: it remembers which cameras a probe touched since the last report."""

    def __init__(self, config: SchedulerConfig, *, ladder: LadderOptions, on_event: EventSink) -> None:
        super().__init__(config, None, ladder=ladder, on_event=on_event)
        self.dirty: set[int] = set()

    async def _probe(self, slot: CameraSlot, planned: float) -> None:
        try:
            await super()._probe(slot, planned)
        finally:
            self.dirty.add(slot.cam.id)

    async def _video(self, slot: CameraSlot) -> None:
        try:
            await super()._video(slot)
        finally:
            if slot.cam.probed:  # (a GB28181-only camera's state is the collector's, from signalling)
                self.dirty.add(slot.cam.id)

    def forget(self, camera_ids: tuple[int, ...]) -> None:
        """No longer this worker's: dropped without a retirement (the collector decides what follows)."""
        for cid in camera_ids:
            slot = self.slots.pop(cid, None)
            if slot is not None:
                slot.seq += 1  # its queued probes are void; one in flight is ignored
            self.dirty.discard(cid)


class Worker:
    def __init__(self, hello: Hello, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.frame_pool = None
        ladder, v = hello.ladder, hello.video
        if v is not None:  # lazy: OpenCV's pool only with the video tier
            from probes.frame import FrameOptions, FramePool  # lazy: OpenCV's pool only with the video tier

            self.frame_pool = FramePool(v.concurrency, workers=v.decoders)
            ladder = replace(ladder, frame=FrameOptions(pool=self.frame_pool, live_frames=v.live_frames,
                                                        live_window_s=v.live_window_s))
        self.events: list[tuple[int, Event]] = []
        self.frames: dict[int, bytes] = {}  # each camera's latest picture (bounded while the collector is not reading)
        self.scheduler = WorkerScheduler(hello.config, ladder=ladder, on_event=self._event)
        self.scheduler.on_frame = self._frame
        # a change that comes in parts (Assign.more), until its last part: the cameras are then the
        # scheduler's slots' (no second table of them) with these applied
        self._upserts: dict[int, MonitoredCamera] = {}
        self._removed: set[int] = set()
        self.devices: list[MonitoredDevice] = []
        self._ports: dict[int, int] = {}
        self.stall_s = hello.stall_s
        self.heard = asyncio.get_running_loop().time()  # when the collector last sent anything

    def _event(self, cam: MonitoredCamera, ev: Event) -> None:
        self.events.append((cam.id, ev))

    def _frame(self, cid: int, jpeg: bytes) -> None:
        self.frames[cid] = jpeg

    def assign(self, msg: Assign) -> None:
        self.scheduler.forget(msg.removed)
        for cid in msg.removed:
            self._upserts.pop(cid, None)
            self._removed.add(cid)
        for cam in msg.upserts:
            self._upserts[cam.id] = self._share(cam)
            self._removed.discard(cam.id)
        if msg.devices is not None:
            self.devices = list(msg.devices)
        if not msg.more:
            ups, gone = self._upserts, self._removed
            cams = [ups.pop(cid, slot.cam) for cid, slot in self.scheduler.slots.items() if cid not in gone]
            cams.extend(ups.values())
            self._upserts, self._removed = {}, set()
            self.scheduler.sync(cams, self.devices)

    def _share(self, cam: MonitoredCamera) -> MonitoredCamera:
        """*cam* with its port numbers one object for all cameras and its target's camera id its own
        (unpickled, each camera had three int objects of its own more: 84 bytes a camera)."""
        t = cam.target
        rtsp, onvif = shared_ports(t, self._ports)
        cid = cam.id if t.camera_id == cam.id else t.camera_id
        if rtsp is t.rtsp_port and onvif is t.onvif_port and cid is t.camera_id:
            return cam
        return replace(cam, target=replace(t, rtsp_port=rtsp, onvif_port=onvif, camera_id=cid))

    def report(self, *, final: bool = False) -> Report:
        sch = self.scheduler
        slots = sch.slots
        deltas = []
        for cid in sch.dirty:
            slot = slots.get(cid)
            if slot is not None:
                last = slot.last if isinstance(slot.last, KeptResult) else None  # (the scheduler keeps a KeptResult)
                slot.last = None  # sent: the collector keeps it, this worker needs no copy (~0.13 KB a camera)
                deltas.append(CameraDelta(cid, slot.status, last, slot.video_ok, slot.video_last))
        sch.dirty = set()
        events, self.events = tuple(self.events), []
        frames, self.frames = tuple(self.frames.items()), {}
        h = sch.lateness
        return Report(sch.clock(), tuple(deltas), events, frames, tuple(h.counts), h.total,
                      tuple(sch.probes_total.items()), sch.last_sweep_s, len(slots), final)

    async def reporting(self) -> None:
        """A report every REPORT_S; the collector silent for its stall_s (hung, stopped: it pings every
        PING_S) closes the socket, so that this worker stops probing (a replica whose collector hung
        has lost its shards by then). Not judged after a tick that came late (this loop was busy)."""
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(REPORT_S)
            if loop.time() - t < 2 * REPORT_S + 1.0 and loop.time() - self.heard > self.stall_s:
                log.error("the collector said nothing for %.0f s: worker stops probing", loop.time() - self.heard)
                self.writer.transport.abort()
                return
            try:  # (a collector that reads nothing fills the socket: the send then waits)
                await asyncio.wait_for(send(self.writer, self.report()), self.stall_s)
            except TimeoutError:
                log.error("the collector read nothing for %.0f s: worker stops probing", self.stall_s)
                self.writer.transport.abort()
                return


async def serve(fd: int) -> int:
    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_connection(sock=sock)
    hello = await receive(reader)
    if not isinstance(hello, Hello):
        return 2
    _logging(hello)
    worker = Worker(hello, writer)
    tasks: list[asyncio.Task[None]] = []
    started = False
    try:
        while True:
            msg = await receive(reader)
            if msg is None:  # the collector is gone (or silent too long): stop probing at once
                log.warning("collector gone: worker %d stops", hello.index)
                return 1
            worker.heard = asyncio.get_running_loop().time()
            if isinstance(msg, Stop):
                break
            if isinstance(msg, Assign):
                worker.assign(msg)
                if not started and not msg.more:
                    started = True
                    settle_gc()
                    tasks = [asyncio.create_task(worker.scheduler.run(), name="scheduler"),
                             asyncio.create_task(worker.reporting(), name="report")]
    finally:
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if worker.frame_pool is not None:
            worker.frame_pool.close()
    with contextlib.suppress(ConnectionError):
        await send(writer, worker.report(final=True))
        writer.close()
        await writer.wait_closed()
    return 0


class _Named(logging.Filter):
    def __init__(self, index: int) -> None:
        super().__init__()
        self.suffix = f"[worker {index}]"

    def filter(self, record: logging.LogRecord) -> bool:
        record.name = f"{record.name}{self.suffix}"
        return True


def _logging(hello: Hello) -> None:
    setup_logging(hello.log_level, hello.log_format)
    for h in logging.getLogger().handlers:
        h.addFilter(_Named(hello.index))


def main(argv: list[str]) -> int:
    # Ctrl-C reaches the whole process group: the collector stops its workers itself
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    tune_malloc()
    fd = int(argv[1])
    try:
        import uvloop  # lazy: optional, asyncio's own loop without it

        return uvloop.run(serve(fd))
    except ImportError:
        return asyncio.run(serve(fd))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
