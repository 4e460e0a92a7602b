"""The ``frame`` stage: a decoded frame (and a second one for freeze detection) plus VQD.

Decoding runs in worker processes (:mod:`probes.frame_worker`) owned by a
:class:`FramePool`, because a decoder stuck inside FFmpeg cannot be interrupted from
Python: the only sure way out is to kill its process. Why a pool of our own rather than
``concurrent.futures.ProcessPoolExecutor``: the executor cannot kill one task; a
killed worker breaks the whole executor (``BrokenProcessPool``) and every other
grab in flight with it. Here each worker is a plain ``python -m probes.frame_worker``
child on a socket pair, serving one grab at a time; when a grab overruns (the
pool's own hard limit) or its caller gives up (``asyncio.timeout`` cancels the
await), that one worker is SIGKILLed and a fresh one is started in its place;
the others carry on. Workers are started on demand and reused, so a grab normally
pays no process start-up (about 0.2-0.3 s of interpreter + OpenCV import, see
``bench/frame_vqd.py``).

Result: ``ok=False, cause=no_video`` when no frame was decoded (the detail says
whether the camera refused the login, the connection, timed out, ...); otherwise
``ok=True`` with :class:`FrameInfo` whose VQD checks may fail: the ladder then calls
the camera *degraded*, not offline.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import socket
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from probes.base import Cause, ProbeResult, ProbeTarget, Stage, register
from probes.frame_worker import MAX_MESSAGE, GrabFailure, GrabReply, GrabRequest, encode
from probes.vqd import CALIBRATION_WIDTH, DEFAULT_THRESHOLDS, VqdCheck, VqdThresholds, run_vqd

# The directory holding the ``probes`` package, so workers import this very copy.
_SOURCE_ROOT = str(Path(__file__).resolve().parents[1])
_HEADER_SIZE = 4


class PoolClosedError(RuntimeError):
    """The pool was closed."""


@dataclass(frozen=True, slots=True)
class PoolStats:
    size: int
    alive: int  # worker processes running now
    busy: int  # grabs in flight
    started: int  # workers started since the pool was made
    killed: int  # workers killed because a grab overran or was cancelled


class _Worker:
    """One worker process and the parent's end of its socket pair (non-blocking)."""

    __slots__ = ("proc", "sock")

    def __init__(self) -> None:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (_SOURCE_ROOT, env.get("PYTHONPATH"))))
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "probes.frame_worker", str(child.fileno())],
                pass_fds=(child.fileno(),),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
            )
        except BaseException:
            parent.close()
            raise
        finally:
            child.close()
        parent.setblocking(False)
        self.sock = parent

    @property
    def pid(self) -> int:
        return self.proc.pid

    async def call(self, req: GrabRequest) -> GrabReply:
        """Send one request and wait for its reply (on whatever loop is running now)."""
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(self.sock, encode(req))
        head = await self._recv_exact(loop, _HEADER_SIZE)
        n = int.from_bytes(head, "big")
        if n > MAX_MESSAGE:
            raise ConnectionError("oversized reply from frame worker")
        reply = pickle.loads(await self._recv_exact(loop, n))  # noqa: S301 - our own child
        if not isinstance(reply, GrabReply):
            raise ConnectionError("unexpected reply from frame worker")
        return reply

    async def _recv_exact(self, loop: asyncio.AbstractEventLoop, n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = await loop.sock_recv(self.sock, min(n - len(buf), 1 << 20))
            if not chunk:
                raise ConnectionError("frame worker closed its socket")
            buf += chunk
        return bytes(buf)

    def kill(self) -> None:
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()

    def stop(self, wait_s: float) -> None:
        """Close politely (the worker exits on EOF), then kill if it lingers."""
        self.sock.close()
        try:
            self.proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class FramePool:
    """A small pool of decoder worker processes, made by the caller and passed in
    :class:`FrameOptions`. Nothing starts until the first grab (or :meth:`start`).

    ``size`` bounds concurrent grabs (each worker decodes one stream at a time);
    ``hard_limit_s`` is the pool's own last-resort deadline per grab, on top of the
    OpenCV open/read timeouts and of whatever timeout the caller wraps around it.
    Usable from any event loop (it holds no loop-bound objects), one loop at a time.
    """

    def __init__(self, size: int = 2) -> None:
        if size < 1:
            raise ValueError("pool size must be at least 1")
        self._size = size
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._dying: list[_Worker] = []
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False
        self._started = 0
        self._killed = 0

    def start(self) -> None:
        """Start every worker now (otherwise they start on first use)."""
        self._check_open()
        while len(self._idle) + len(self._busy) < self._size:
            self._idle.append(self._spawn())

    @property
    def stats(self) -> PoolStats:
        self._reap()
        alive = sum(1 for w in (*self._idle, *self._busy) if w.proc.poll() is None)
        return PoolStats(self._size, alive, len(self._busy), self._started, self._killed)

    def worker_pids(self) -> tuple[int, ...]:
        return tuple(sorted(w.pid for w in (*self._idle, *self._busy)))

    async def grab(self, req: GrabRequest, hard_limit_s: float) -> GrabReply:
        """Run *req* in a worker. A worker that overruns *hard_limit_s*, dies, or whose
        caller is cancelled is killed and replaced."""
        await self._acquire()
        worker: _Worker | None = None
        try:
            worker = self._checkout()
            try:
                async with asyncio.timeout(hard_limit_s):
                    reply = await worker.call(req)
            except TimeoutError:
                self._discard(worker)
                worker = None
                return GrabReply(False, GrabFailure.TIMEOUT, f"decoder gave no frame within {hard_limit_s:g} s; killed")
            except (ConnectionError, OSError, EOFError) as exc:
                code = worker.proc.poll()
                self._discard(worker)
                worker = None
                why = f"exit status {code}" if code is not None else type(exc).__name__
                return GrabReply(False, GrabFailure.ERROR, f"decoder process died ({why})")
            except BaseException:  # cancelled by the caller's timeout: the worker may be mid-grab
                self._discard(worker)
                worker = None
                raise
            self._checkin(worker)
            worker = None
            return reply
        finally:
            if worker is not None:
                self._checkin(worker)
            self._release()

    def close(self, wait_s: float = 2.0) -> None:
        """Stop every worker: idle ones exit on EOF, busy ones are killed. Idempotent."""
        if self._closed:
            return
        self._closed = True
        for w in self._busy:
            w.kill()
        deadline = time.monotonic() + wait_s
        for w in (*self._idle, *self._busy, *self._dying):
            w.stop(max(0.0, deadline - time.monotonic()))
        self._idle.clear()
        self._busy.clear()
        self._dying.clear()
        for fut in self._waiters:
            if not fut.done():
                fut.set_exception(PoolClosedError("frame pool closed"))
        self._waiters.clear()

    async def aclose(self, wait_s: float = 2.0) -> None:
        """:meth:`close` without blocking the event loop while workers exit."""
        if self._closed:
            return
        workers = [*self._idle, *self._busy, *self._dying]
        for w in self._busy:
            w.kill()
        for w in workers:
            w.sock.close()  # idle workers exit on EOF
        deadline = time.monotonic() + wait_s
        while any(w.proc.poll() is None for w in workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self.close(wait_s=0.0)

    def __enter__(self) -> FramePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- slots ---

    def _check_open(self) -> None:
        if self._closed:
            raise PoolClosedError("frame pool closed")

    async def _acquire(self) -> None:
        self._check_open()
        loop = asyncio.get_running_loop()
        while len(self._busy) >= self._size:
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            try:
                await fut
            except BaseException:
                if fut in self._waiters:
                    self._waiters.remove(fut)
                elif fut.done() and not fut.cancelled() and fut.exception() is None:
                    self._wake_next()  # we were woken but give up: pass the turn on
                raise
        self._check_open()

    def _checkout(self) -> _Worker:
        self._reap()
        while self._idle:
            w = self._idle.pop()
            if w.proc.poll() is None:
                self._busy.add(w)
                return w
            w.kill()  # died while idle
        w = self._spawn()
        self._busy.add(w)
        return w

    def _checkin(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        if self._closed:
            worker.stop(1.0)
        else:
            self._idle.append(worker)

    def _release(self) -> None:
        self._wake_next()

    def _wake_next(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _spawn(self) -> _Worker:
        self._started += 1
        return _Worker()

    def _discard(self, worker: _Worker) -> None:
        """Kill *worker* (reaped later) and start its replacement at once."""
        self._busy.discard(worker)
        worker.kill()
        self._killed += 1
        self._dying.append(worker)
        if not self._closed:
            self._idle.append(self._spawn())

    def _reap(self) -> None:
        self._dying = [w for w in self._dying if w.proc.poll() is None]


RETRY_PAUSE_S = 0.5


@dataclass(frozen=True, slots=True)
class FrameOptions:
    """Options of the frame stage. ``pool=None``: a one-grab pool per probe (slow: it
    starts a process every time; fine for ``camwatch probe``, not for the video tier)."""

    pool: FramePool | None = field(default=None, compare=False)
    width: int = CALIBRATION_WIDTH  # downscale to this width (the VQD thresholds assume 320)
    open_timeout_s: float = 10.0  # OpenCV/FFmpeg: RTSP set-up
    read_timeout_s: float = 5.0  # OpenCV/FFmpeg: each read
    freeze_check: bool = True  # grab a second frame and run the frozen check
    freeze_gap_s: float = 3.0  # seconds between the two frames
    thresholds: VqdThresholds = DEFAULT_THRESHOLDS
    hard_limit_s: float | None = None  # None: open + 2 reads + gap + 5 s

    def limit(self) -> float:
        if self.hard_limit_s is not None:
            return self.hard_limit_s
        gap = self.freeze_gap_s if self.freeze_check else 0.0
        return self.open_timeout_s + 2 * self.read_timeout_s + gap + 5.0


@dataclass(frozen=True, slots=True)
class FrameInfo:
    """Payload of a successful frame result."""

    width: int  # the stream's picture size
    height: int
    checks: tuple[VqdCheck, ...]
    first_frame_ms: float = 0.0  # open + first decoded frame

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.checks if not c.ok)


_FAILURE_TEXT: dict[GrabFailure, str] = {
    GrabFailure.AUTH: "auth failed",
    GrabFailure.REFUSED: "refused",
    GrabFailure.UNREACHABLE: "unreachable",
    GrabFailure.TIMEOUT: "timeout",
    GrabFailure.NOT_FOUND: "stream not found",
    GrabFailure.UNAVAILABLE: "stream unavailable",
    GrabFailure.NO_FRAME: "no frame",
    GrabFailure.ERROR: "error",
}


def map_failure(reply: GrabReply) -> tuple[Cause, str]:
    """The one place where a failed grab becomes a cause: always ``no_video``, the
    detail naming why (``auth failed: ...``, ``refused: ...``, ``timeout: ...``)."""
    failure = reply.failure or GrabFailure.ERROR
    return Cause.NO_VIDEO, f"{_FAILURE_TEXT[failure]}: {reply.detail}".rstrip(": ")


def make_request(target: ProbeTarget, opts: FrameOptions) -> GrabRequest:
    return GrabRequest(
        url=target.rtsp_url(with_credentials=True, redact=False),
        open_timeout_ms=int(opts.open_timeout_s * 1000),
        read_timeout_ms=int(opts.read_timeout_s * 1000),
        width=opts.width,
        second_after_s=opts.freeze_gap_s if opts.freeze_check else None,
        secret=target.password or None,
    )


@register(Stage.FRAME)
async def probe(target: ProbeTarget, opts: FrameOptions | None = None) -> ProbeResult:
    """Grab and diagnose *target*'s picture (see the module docstring)."""
    opts = opts if opts is not None else FrameOptions()
    t0 = time.perf_counter()
    req = make_request(target, opts)

    async def grab_once() -> GrabReply:
        if opts.pool is not None:
            return await opts.pool.grab(req, opts.limit())
        pool = FramePool(1)
        try:
            return await pool.grab(req, opts.limit())
        finally:
            await asyncio.shield(pool.aclose())

    reply = await grab_once()
    if not reply.ok and map_failure(reply)[1].startswith("stream unavailable"):
        # A camera often refuses a second session for a moment right after the ladder's own
        # DESCRIBE (453/503 while it releases the first): one retry after a short pause.
        await asyncio.sleep(RETRY_PAUSE_S)
        reply = await grab_once()
    if not reply.ok or not reply.frames:
        cause, detail = map_failure(reply)
        return ProbeResult(Stage.FRAME, False, time.perf_counter() - t0, cause, detail)
    second = reply.frames[1] if len(reply.frames) > 1 else None
    checks = run_vqd(reply.frames[0], second, opts.thresholds)
    info = FrameInfo(reply.source_width, reply.source_height, checks, round(reply.first_frame_ms, 1))
    failed = info.failed
    detail = f"{reply.source_width}x{reply.source_height}; " + (
        "picture fails: " + ", ".join(failed) if failed else "picture ok"
    )
    return ProbeResult(Stage.FRAME, True, time.perf_counter() - t0, None, detail, info)
