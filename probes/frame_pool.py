"""The frame stage's decoder processes: a few workers, many grabs in flight in each.

A grab is wall-bound (RTSP set-up, waiting for a keyframe, the gap before the second
picture) and cheap in CPU (one or two keyframes decoded), so the pool runs many grabs at
once (``concurrency``) in a few processes (``workers``, the CPU budget): each worker runs
each of its grabs in a thread (:mod:`probes.frame_worker`). Why processes at all: a decoder
stuck inside FFmpeg cannot be interrupted from Python, the only sure way out is to kill
its process. Why a pool of our own rather than ``concurrent.futures.ProcessPoolExecutor``:
the executor cannot kill one task, and a killed worker breaks it (``BrokenProcessPool``).

A grab that overruns the pool's hard limit gets ``timeout`` and its worker is SIGKILLed;
the other grabs of that worker are sent once more to another (or a fresh) worker. A caller
that gives up (``asyncio.timeout`` cancels the await) cancels only its own grab: the worker
stops it at its next packet or read timeout. Workers start on demand and are reused, so a
grab normally pays no process start-up. Replies are read by one thread per worker and
handed to the waiting caller's event loop, so the pool holds no loop-bound state: usable
from any event loop, one loop at a time.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from probes.frame_grab import GrabFailure, GrabReply, GrabRequest
from probes.frame_worker import encode, recv_message

# The directory holding the ``probes`` package, so workers import this very copy.
_SOURCE_ROOT = str(Path(__file__).resolve().parents[1])


class PoolClosedError(RuntimeError):
    """The pool was closed."""


class _WorkerLost(Exception):
    """The worker died (killed for another grab's overrun, or crashed) before answering."""


@dataclass(frozen=True, slots=True)
class PoolStats:
    size: int  # grabs at once
    workers: int  # worker processes at most
    alive: int  # worker processes running now
    busy: int  # grabs in flight
    started: int  # workers started since the pool was made
    killed: int  # workers killed because a grab overran


class _Worker:
    """One worker process, the parent's end of its socket pair and the thread reading replies."""

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
        self.sock = parent
        self.lock = threading.Lock()
        self.pending: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[GrabReply]]] = {}
        self.dead = False
        self.reader = threading.Thread(target=self._read, name=f"frame-worker-{self.proc.pid}", daemon=True)
        self.reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def load(self) -> int:
        return len(self.pending)

    def submit(self, gid: int, req: GrabRequest) -> asyncio.Future[GrabReply]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[GrabReply] = loop.create_future()
        with self.lock:
            if self.dead:
                raise _WorkerLost
            self.pending[gid] = (loop, fut)
        try:
            self.sock.sendall(encode((gid, req)))  # (small; the worker's main thread reads at once)
        except OSError:
            self.forget(gid)
            raise _WorkerLost from None
        return fut

    def forget(self, gid: int) -> None:
        with self.lock:
            self.pending.pop(gid, None)

    def cancel(self, gid: int) -> None:
        """The caller gave up on *gid*: tell the worker to stop it (best effort)."""
        self.forget(gid)
        try:
            self.sock.sendall(encode((gid, None)))
        except OSError:
            pass

    def _read(self) -> None:
        while True:
            try:
                msg = recv_message(self.sock)
            except (OSError, EOFError, ValueError, TypeError):
                msg = None
            if msg is None:
                break
            gid, reply = cast(tuple[int, GrabReply], msg)
            with self.lock:
                entry = self.pending.pop(gid, None)
            if entry is not None:
                _deliver(entry, reply)
        with self.lock:
            self.dead = True
            lost, self.pending = list(self.pending.values()), {}
        for entry in lost:
            _deliver(entry, _WorkerLost())
        try:
            self.proc.wait(5)  # (reaped here, so nobody else need wait for it)
        except subprocess.TimeoutExpired:
            pass

    def kill(self) -> None:
        with self.lock:
            self.dead = True
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _deliver(entry: tuple[asyncio.AbstractEventLoop, asyncio.Future[GrabReply]], value: GrabReply | Exception) -> None:
    loop, fut = entry

    def settle() -> None:
        if fut.done():
            return
        if isinstance(value, Exception):
            fut.set_exception(value)
        else:
            fut.set_result(value)

    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # that loop is closed: nobody waits any more
        pass


class FramePool:
    """Decoder worker processes, made by the caller and passed in :class:`probes.frame.FrameOptions`.
    Nothing starts until the first grab (or :meth:`start`).

    *size* bounds concurrent grabs, *workers* the processes serving them (the least loaded
    one takes the next grab; a new one starts while fewer than *workers* run and all are busy).
    """

    def __init__(self, size: int = 16, workers: int = 2) -> None:
        if size < 1 or workers < 1:
            raise ValueError("pool size and workers must be at least 1")
        self._size = size
        self._max_workers = min(workers, size)
        self._workers: list[_Worker] = []
        self._busy = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._ids = itertools.count(1)
        self._closed = False
        self._started = 0
        self._killed = 0

    def start(self) -> None:
        """Start every worker now (otherwise they start on demand)."""
        self._check_open()
        self._reap()
        while len(self._workers) < self._max_workers:
            self._spawn()

    @property
    def stats(self) -> PoolStats:
        self._reap()
        alive = sum(1 for w in self._workers if w.proc.poll() is None)
        return PoolStats(self._size, self._max_workers, alive, self._busy, self._started, self._killed)

    def worker_pids(self) -> tuple[int, ...]:
        self._reap()
        return tuple(sorted(w.pid for w in self._workers))

    async def grab(self, req: GrabRequest, hard_limit_s: float) -> GrabReply:
        """Run *req* in a worker. A grab that overruns *hard_limit_s* gets ``timeout`` and its
        worker is killed; one that loses its worker to another's overrun runs once more."""
        await self._acquire()
        try:
            deadline = time.monotonic() + hard_limit_s
            for attempt in (1, 2):
                worker, gid = self._checkout(), next(self._ids)
                try:
                    fut = worker.submit(gid, req)
                    async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                        return await fut
                except TimeoutError:
                    worker.forget(gid)
                    self._kill(worker)
                    return GrabReply(
                        False, GrabFailure.TIMEOUT, f"decoder gave no frame within {hard_limit_s:g} s; killed"
                    )
                except _WorkerLost:
                    self._reap()
                    if attempt == 2 or self._closed or time.monotonic() >= deadline:
                        code = worker.proc.poll()
                        return GrabReply(False, GrabFailure.ERROR, f"decoder process died (exit status {code})")
                except BaseException:  # cancelled by the caller: stop this grab only
                    worker.cancel(gid)
                    raise
            raise AssertionError("unreachable")
        finally:
            self._release()

    def close(self, wait_s: float = 2.0) -> None:
        """Stop every worker (they exit on EOF; killed if they linger). Idempotent."""
        if self._closed:
            return
        self._closed = True
        for w in self._workers:
            try:
                w.sock.shutdown(socket.SHUT_WR)  # EOF: the worker exits
            except OSError:
                pass
        deadline = time.monotonic() + wait_s
        for w in self._workers:
            try:
                w.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                w.kill()
                w.proc.wait(5)
            w.reader.join(5)
            w.sock.close()
        self._workers.clear()
        for fut in self._waiters:
            if not fut.done():
                fut.set_exception(PoolClosedError("frame pool closed"))
        self._waiters.clear()

    async def aclose(self, wait_s: float = 2.0) -> None:
        """:meth:`close` without blocking the event loop while workers exit."""
        if self._closed:
            return
        for w in self._workers:
            try:
                w.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        deadline = time.monotonic() + wait_s
        while any(w.proc.poll() is None for w in self._workers) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self.close(wait_s=0.0)

    def __enter__(self) -> FramePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- slots and workers ---

    def _check_open(self) -> None:
        if self._closed:
            raise PoolClosedError("frame pool closed")

    async def _acquire(self) -> None:
        self._check_open()
        loop = asyncio.get_running_loop()
        while self._busy >= self._size:
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
        self._busy += 1

    def _release(self) -> None:
        self._busy -= 1
        self._wake_next()

    def _wake_next(self) -> None:
        while self._waiters:
            fut = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return

    def _checkout(self) -> _Worker:
        self._check_open()
        self._reap()
        best = min(self._workers, key=lambda w: w.load, default=None)
        if best is None or (best.load > 0 and len(self._workers) < self._max_workers):
            return self._spawn()
        return best

    def _spawn(self) -> _Worker:
        self._started += 1
        w = _Worker()
        self._workers.append(w)
        return w

    def _kill(self, worker: _Worker) -> None:
        worker.kill()
        self._killed += 1
        self._reap()

    def _reap(self) -> None:
        self._workers = [w for w in self._workers if not w.dead and w.proc.poll() is None]
