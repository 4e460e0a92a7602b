"""Probe worker processes of one ``camwatch run`` (``collector.workers``): every core of one machine.

The collector process keeps the database writes (the one interval writer), the alerting, the
metrics, the web and the figures; W worker processes (``python -m collector.runtime.worker_main``,
a socketpair each) probe the cameras, split by shard (``shard_of(camera) % W``, the shards of
the replicas: a camera always goes to the same worker). Each worker reports its cameras' state
and events every 0.2 s (:mod:`collector.runtime.worker_wire`); the collector's
:class:`~collector.runtime.mirror.MirrorScheduler` applies them. Inventory changes go to the
workers as differences. A worker that dies is started again: its cameras are unknown from its
last report until the new one probes them (as after a restart of the collector).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from collector.runtime.ladders import ladder_options
from collector.runtime.scheduler_config import SchedulerConfig
from collector.runtime.shards import shard_of
from collector.runtime.worker_wire import PING_S, Assign, Hello, Message, Ping, Report, Stop, VideoSetup, receive, send
from inventory.monitored import MonitoredCamera, MonitoredDevice, for_probing

if TYPE_CHECKING:
    from collector.runtime.mirror import MirrorScheduler
    from collector.settings import Settings

log = logging.getLogger("camwatch.workers")
# "auto" starts workers only for a fleet one process would not probe comfortably (measured: 100k
# cameras on a 60 s tier take ~0.8-1 core in one process); below that a process per core costs
# its memory for nothing
AUTO_CAMERAS_PER_WORKER = 20_000
STOP_WAIT_S = 10.0
ASSIGN_PART = 5_000  # cameras per Assign message
SOURCE_ROOT = str(Path(__file__).resolve().parents[2])
RESTART_MAX_S = 30.0


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_hello(s: Settings, index: int, count: int) -> Hello:
    """What worker *index* of *count* runs: the settings' scheduler and ladder, with the machine's
    limits (probes and frame grabs in flight, decoder processes) shared among the workers."""
    c = s.collector
    config = SchedulerConfig.from_settings(c, accounting=s.accounting)
    config = replace(config, concurrency=max(1, c.concurrency // count),
                     video_concurrency=max(1, c.video_concurrency // count), catchup_rate=c.catchup_rate / count)
    video = (VideoSetup(max(1, c.video_concurrency // count), max(1, c.video_workers // count),
                        s.probe.live_frames, s.probe.live_window_s) if c.video else None)
    return Hello(config, ladder_options(s), video, s.log_level, s.log_format, index, count, c.worker_stall_s)


def worker_count(setting: int | str, cameras: int, cores: int) -> int:
    """Worker processes for *setting* (``collector.workers``): a number as given; ``auto`` one per
    core, but no more than one per AUTO_CAMERAS_PER_WORKER cameras (1: probe in the collector)."""
    if isinstance(setting, int):
        return setting
    return max(1, min(cores, -(-cameras // AUTO_CAMERAS_PER_WORKER)))


@dataclass(frozen=True, slots=True)
class WorkerHealth:
    """One probe worker as ``/healthz`` shows it."""

    index: int
    pid: int | None  # None: being started again
    cameras: int  # assigned to it
    last_report_at: dt.datetime | None  # its clock when it sent its last report (None: none yet)
    restarts: int  # how many times this worker was started again


@dataclass(eq=False)
class _Proc:
    index: int
    proc: asyncio.subprocess.Process
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    started: float  # monotonic
    at: dt.datetime  # wall time of its last report, or of its start
    heard: float = 0.0  # monotonic time of its last message, or of its start
    reported: bool = False
    outbox: asyncio.Queue[Message] = field(default_factory=asyncio.Queue)
    sender: asyncio.Task[None] | None = None

    async def send_all(self) -> None:
        while True:
            try:
                msg = await asyncio.wait_for(self.outbox.get(), PING_S)
            except TimeoutError:
                msg = Ping()  # (a worker that hears nothing for its stall_s stops: this process hung)
            await send(self.writer, msg)


class WorkerPool:
    def __init__(self, settings: Settings, count: int, mirror: MirrorScheduler) -> None:
        self.settings = settings
        self.count = count
        self.mirror = mirror
        self.shards = settings.collector.shards
        self.assigned: list[dict[int, MonitoredCamera]] = [{} for _ in range(count)]  # what each one should probe
        self.devices: tuple[MonitoredDevice, ...] = ()
        self.procs: list[_Proc | None] = [None] * count
        self.restarts = 0
        self.restarts_of = [0] * count
        self.stall_s = settings.collector.worker_stall_s
        self._stopping = False

    def index_of(self, camera_id: int) -> int:
        """The worker of a camera: the one it is assigned to, else by its shard (no table of every
        camera's worker: the few assigned tables are looked in first, the hash only for a new one)."""
        for i, a in enumerate(self.assigned):
            if camera_id in a:
                return i
        return shard_of(camera_id, self.shards) % self.count

    def health(self) -> list[WorkerHealth]:
        return [WorkerHealth(i, p.proc.pid if p is not None else None, len(self.assigned[i]),
                             p.at if p is not None and p.reported else None, self.restarts_of[i])
                for i, p in enumerate(self.procs)]

    def pids(self) -> list[int]:
        return [p.proc.pid for p in self.procs if p is not None]

    # -- the cameras -------------------------------------------------------------------------
    def _post(self, i: int, msg: Message) -> None:
        p = self.procs[i]
        if p is not None:  # (one being restarted gets its whole list when it starts)
            p.outbox.put_nowait(msg)

    def _post_assign(self, i: int, upserts: tuple[MonitoredCamera, ...], removed: tuple[int, ...],
                     devices: tuple[MonitoredDevice, ...] | None) -> None:
        """In parts of ASSIGN_PART cameras (bounded buffers on both sides), applied by the last one."""
        parts = range(0, len(upserts), ASSIGN_PART) if upserts else range(1)
        for k in parts:
            last = k + ASSIGN_PART >= len(upserts)
            part = tuple(for_probing(cam) for cam in upserts[k:k + ASSIGN_PART])  # (a worker needs no names)
            self._post(i, Assign(part, removed if last else (), devices if last else None, more=not last))

    def assign(self, cameras: Iterable[MonitoredCamera], devices: Iterable[MonitoredDevice]) -> None:
        """The cameras to probe now: each worker is sent what changed for it."""
        want: list[dict[int, MonitoredCamera]] = [{} for _ in range(self.count)]
        for cam in cameras:
            want[self.index_of(cam.id)][cam.id] = cam
        devs = tuple(devices)
        devs_changed = devs != self.devices
        self.devices = devs
        for i, new in enumerate(want):
            old = self.assigned[i]
            upserts = tuple(cam for cid, cam in new.items() if (o := old.get(cid)) is not cam and o != cam)
            removed = tuple(cid for cid in old if cid not in new)
            self.assigned[i] = new
            if upserts or removed or devs_changed:
                self._post_assign(i, upserts, removed, devs if devs_changed else None)

    def lose(self, camera_ids: Iterable[int]) -> None:
        """Stop probing these at once (a replica's shards lost)."""
        removed: list[list[int]] = [[] for _ in range(self.count)]
        for cid in camera_ids:
            i = self.index_of(cid)
            if self.assigned[i].pop(cid, None) is not None:
                removed[i].append(cid)
        for i, ids in enumerate(removed):
            if ids:
                self._post(i, Assign((), tuple(ids), None))

    # -- the processes -----------------------------------------------------------------------
    async def _spawn(self, i: int) -> _Proc:
        parent, child = socket.socketpair()
        env = dict(os.environ)  # (this source tree first: the worker runs the same code, installed or not)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (SOURCE_ROOT, env.get("PYTHONPATH"))))
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "collector.runtime.worker_main", str(child.fileno()),
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL, env=env)
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        reader, writer = await asyncio.open_connection(sock=parent)
        now = time.monotonic()
        p = self.procs[i] = _Proc(i, proc, reader, writer, now, self.mirror.clock(), now)
        p.outbox.put_nowait(worker_hello(self.settings, i, self.count))
        self._post_assign(i, tuple(self.assigned[i].values()), (), self.devices)
        p.sender = asyncio.create_task(p.send_all(), name=f"worker-{i}-send")
        return p

    async def _read(self, p: _Proc) -> None:
        """Apply its reports until its end of the socket closes."""
        while True:
            msg = await receive(p.reader)
            if msg is None:
                return
            p.heard = time.monotonic()
            if isinstance(msg, Report):
                p.at, p.reported = msg.at, True
                self.mirror.take(p.index, msg)
                if msg.final:
                    return

    async def _watch(self, p: _Proc) -> None:
        """Kill worker *p* once it has sent nothing for ``stall_s`` (stopped, hung, its loop blocked):
        its cameras would otherwise keep their last state, looking watched, with nobody probing them.
        Killed, it is started again like a worker that died. Not judged after a check that came late
        (this process was busy itself: the worker's reports may be waiting unread)."""
        loop = asyncio.get_running_loop()
        step = min(1.0, self.stall_s / 4)
        while True:
            t = loop.time()
            await asyncio.sleep(step)
            if loop.time() - t > 2 * step:
                continue
            quiet = time.monotonic() - p.heard
            if quiet > self.stall_s and p.proc.returncode is None:
                log.error("probe worker %d (pid %d) sent nothing for %.0f s (collector.worker_stall_s %g): killed",
                          p.index, p.proc.pid, quiet, self.stall_s)
                with contextlib.suppress(ProcessLookupError):
                    p.proc.kill()
                return

    async def _end(self, p: _Proc) -> int | None:
        if p.sender is not None:
            p.sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await p.sender
        p.writer.close()
        try:
            return await asyncio.wait_for(p.proc.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                p.proc.kill()
            return await p.proc.wait()

    async def _keep(self, i: int) -> None:
        """Worker *i*, started again whenever it dies (its cameras unknown from its last report)."""
        backoff = 1.0
        while not self._stopping:
            p = await self._spawn(i)
            watch = asyncio.create_task(self._watch(p), name=f"worker-{i}-watch")
            try:
                await self._read(p)
            except Exception:  # a broken message: that worker is replaced
                log.exception("worker %d sent a message that could not be read", i)
            finally:
                watch.cancel()
            if self._stopping:
                await self._end(p)
                return
            self.procs[i] = None
            code = await self._end(p)
            n = self.mirror.orphan(i, list(self.assigned[i]), p.at)
            self.restarts += 1
            self.restarts_of[i] += 1
            lived = time.monotonic() - p.started
            backoff = 1.0 if lived > 60 else min(backoff * 2, RESTART_MAX_S)
            log.error("probe worker %d (pid %d) exited (code %s) after %.0f s: %d camera(s) unknown from its last "
                      "report; started again in %.0f s", i, p.proc.pid, code, lived, n, backoff)
            await asyncio.sleep(backoff)

    async def run(self) -> None:
        keepers = [asyncio.create_task(self._keep(i), name=f"worker-{i}") for i in range(self.count)]
        log.info("probing in %d worker process(es): %s cameras each", self.count,
                 "/".join(str(len(a)) for a in self.assigned))
        try:
            await asyncio.wait(keepers, return_when=asyncio.FIRST_EXCEPTION)
            for t in keepers:
                if t.done() and t.exception() is not None:
                    raise t.exception()  # type: ignore[misc]
        finally:
            await self._stop(keepers)

    async def _stop(self, keepers: list[asyncio.Task[None]]) -> None:
        """Each worker stops probing and sends its last report (applied), within STOP_WAIT_S."""
        self._stopping = True
        for p in self.procs:
            if p is not None:
                p.outbox.put_nowait(Stop())
        await asyncio.wait(keepers, timeout=STOP_WAIT_S)
        for t in keepers:
            t.cancel()
        for t in keepers:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for p in self.procs:
            if p is not None and p.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    p.proc.kill()
                await p.proc.wait()


__all__ = ["AUTO_CAMERAS_PER_WORKER", "WorkerHealth", "WorkerPool", "usable_cores", "worker_count"]
