"""The parent side of the simulator: a :class:`Fleet` of N cameras over worker processes."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from multiprocessing.connection import Connection
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from probes.sim.behaviour import Behaviour
from probes.sim.identity import SimCamera, address_for
from probes.sim.loopback import LoopbackRange, NoFreeRange, blocks_for, claim
from probes.sim.stats import CameraStats, FleetStats
from probes.sim.worker import WorkerSpec

if TYPE_CHECKING:
    from probes.sim.control import ControlServer

# Each camera holds two listening sockets plus its connections; the open-file limit is 20,000
# per process, so a worker serves at most this many cameras.
MAX_CAMERAS_PER_WORKER = 7_000
DEFAULT_CAMERAS_PER_WORKER = 5_000
COMMAND_TIMEOUT_S = 60.0
# A fleet that picks its own range tries this many free ranges when something else (not a
# camwatch fleet, which the range's lock files keep out) turns out to listen inside one.
CLAIM_ATTEMPTS = 3
_DEFAULT_BEHAVIOUR = Behaviour()
# The directory holding the ``probes`` package, so workers import this very copy.
_SOURCE_ROOT = str(Path(__file__).resolve().parents[2])


class FleetError(RuntimeError):
    """The fleet could not start, or a worker failed or disappeared.

    ``address_in_use`` says a camera's address and port were taken by something else: with a
    fixed ``base_address`` the caller should name the option that chooses another one.
    """

    def __init__(self, message: str, *, address_in_use: bool = False) -> None:
        super().__init__(message)
        self.address_in_use = address_in_use


class _WorkerHandle:
    """A worker process: a fresh interpreter running :mod:`probes.sim._worker_main`, talking
    over a socket pair. (Not ``multiprocessing.Process``: its spawn mode re-imports the
    caller's ``__main__``, which breaks unguarded scripts.)"""

    __slots__ = ("conn", "lock", "process", "spec")

    def __init__(self, spec: WorkerSpec, process: subprocess.Popen[bytes],
                 conn: Connection) -> None:
        self.spec = spec
        self.process = process
        self.conn = conn
        self.lock = threading.Lock()

    @classmethod
    def launch(cls, spec: WorkerSpec, nice: int = 0) -> _WorkerHandle:
        parent, child = socket.socketpair()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (_SOURCE_ROOT, env.get("PYTHONPATH"))))
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "probes.sim._worker_main", str(child.fileno())],
                pass_fds=(child.fileno(),), env=env, stdin=subprocess.DEVNULL,
                start_new_session=False)
        finally:
            child.close()
        if nice:
            # Relative to ours, lower only (no privilege needed); the worker is still starting.
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, process.pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))
        conn = Connection(parent.detach())
        conn.send(spec)
        return cls(spec, process, conn)

    @property
    def pid(self) -> int:
        return self.process.pid

    def call(self, command: str, *args: Any, timeout: float = COMMAND_TIMEOUT_S) -> Any:
        with self.lock:
            try:
                self.conn.send((command, args))
                if not self.conn.poll(timeout):
                    raise FleetError(f"worker {self.pid} did not answer {command!r}")
                status, value = self.conn.recv()
            except (EOFError, OSError) as exc:
                raise FleetError(f"worker {self.pid} is gone ({exc!r})") from None
        if status != "ok":
            raise FleetError(f"worker {self.pid}: {value}")
        return value


class Fleet:
    """N simulated cameras at consecutive loopback addresses, served by worker processes.

    Camera ``i`` listens on ``address_for(i, base_address)`` at ``rtsp_port`` and
    ``onvif_port``. Without a ``base_address`` the fleet claims a free range of 127.0.0.0/8
    when it starts (see :mod:`probes.sim.loopback`; read it from :attr:`base_address` or
    :meth:`camera`), so fleets of concurrent test runs and demos never collide; with one, a
    taken address fails the start with :class:`FleetError` (``address_in_use``). Use as a context manager, or call :meth:`start` and :meth:`stop`.
    Every method is synchronous (call it via ``asyncio.to_thread`` from a loop, or use the
    ``a``-prefixed variants) and thread-safe.

    ``nice`` (0-19) lowers the workers' CPU priority: when the fleet shares a machine's cores
    with the prober under test, the stand-ins for remote cameras should not starve it.
    """

    def __init__(self, n: int, *, base_address: str | None = None, rtsp_port: int = 8554,
                 onvif_port: int = 8000, workers: int | None = None,
                 default: Behaviour = _DEFAULT_BEHAVIOUR, username: str = "admin",
                 password: str = "admin123", start_timeout_s: float = 120.0, nice: int = 0) -> None:
        if n < 1:
            raise ValueError("a fleet needs at least one camera")
        if rtsp_port == onvif_port:
            raise ValueError("rtsp_port and onvif_port must differ")
        if not 0 <= nice <= 19:
            raise ValueError("nice must be between 0 and 19")
        if base_address is not None:
            address_for(n - 1, base_address)  # raises when the range leaves 127.0.0.0/8
        if workers is None:
            workers = max(math.ceil(n / DEFAULT_CAMERAS_PER_WORKER), min(os.cpu_count() or 1, n))
        if workers < 1 or workers > n:
            raise ValueError("workers must be between 1 and the number of cameras")
        per_worker = math.ceil(n / workers)
        if per_worker > MAX_CAMERAS_PER_WORKER:
            raise ValueError(f"{per_worker} cameras per worker exceed the limit of "
                             f"{MAX_CAMERAS_PER_WORKER} (open-file limit); use more workers")
        self.n = n
        self.fixed_address = base_address is not None
        self._base = base_address
        self._range: LoopbackRange | None = None
        self.rtsp_port = rtsp_port
        self.onvif_port = onvif_port
        self.default = default
        self.username = username
        self._password = password
        self._start_timeout_s = start_timeout_s
        self.nice = nice
        self._per_worker = per_worker
        self._worker_count = math.ceil(n / per_worker)
        self._workers: list[_WorkerHandle] = []

    def __repr__(self) -> str:
        where = f"{self.first_address}..{self.last_address}" if self._base else "free range"
        return (f"Fleet(n={self.n}, {where}, "
                f"rtsp_port={self.rtsp_port}, onvif_port={self.onvif_port}, "
                f"workers={self._worker_count}, running={self.running})")

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return bool(self._workers)

    @property
    def base_address(self) -> str:
        """Camera 0's address (a fleet without a fixed one knows it once started)."""
        if self._base is None:
            raise FleetError("the fleet picks its loopback range when it starts")
        return self._base

    @property
    def first_address(self) -> str:
        return address_for(0, self.base_address)

    @property
    def last_address(self) -> str:
        return address_for(self.n - 1, self.base_address)

    @property
    def worker_pids(self) -> tuple[int, ...]:
        return tuple(w.pid for w in self._workers)

    def exited(self) -> list[tuple[int, int]]:
        """The workers of the running fleet that have ended (killed from outside, crashed), as
        (pid, exit status: -N when signal N ended it); empty while every one of them runs."""
        return [(w.pid, status) for w in list(self._workers) if (status := w.process.poll()) is not None]

    def start(self) -> None:
        """Start the workers; returns once every camera's sockets listen.

        Raises :class:`FleetError` (after stopping whatever started) if a port is taken or a
        worker fails.
        """
        if self._workers:
            raise FleetError("the fleet is already running")
        if self.fixed_address:
            self._start_at(self.base_address)
            return
        tried: list[int] = []
        failure: FleetError | None = None
        for _ in range(CLAIM_ATTEMPTS):
            try:
                lease = claim(blocks_for(self.n), ports=(self.rtsp_port, self.onvif_port),
                              probe_indices=(self.n - 1,), skip=tried)
            except NoFreeRange as exc:
                raise FleetError(str(exc.strerror), address_in_use=True) from None
            try:
                self._start_at(lease.base_address)
            except FleetError as exc:
                lease.release()
                if not exc.address_in_use:
                    raise
                tried.append(lease.first_block)
                failure = exc
                continue
            self._base, self._range = lease.base_address, lease
            return
        assert failure is not None
        raise failure

    def _start_at(self, base_address: str) -> None:
        for w in range(self._worker_count):
            first = w * self._per_worker
            spec = WorkerSpec(first, min(self._per_worker, self.n - first), base_address,
                              self.rtsp_port, self.onvif_port, self.default, self.username,
                              self._password)
            self._workers.append(_WorkerHandle.launch(spec, self.nice))
        deadline = time.monotonic() + self._start_timeout_s
        errors: list[str] = []
        for handle in self._workers:
            try:
                if not handle.conn.poll(max(0.0, deadline - time.monotonic())):
                    errors.append(f"worker {handle.pid} did not start in time")
                    continue
                status, value = handle.conn.recv()
            except (EOFError, OSError):
                errors.append(f"worker {handle.pid} died while starting")
                continue
            if status != "ready":
                errors.append(str(value))
        if errors:
            self._shutdown(graceful=True, timeout_s=5.0)
            raise FleetError("; ".join(errors),
                             address_in_use=any("is already in use" in e for e in errors))
        self._base = base_address

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop every worker (closing all sockets) and wait for the processes to exit."""
        self._shutdown(graceful=True, timeout_s=timeout_s)

    def _shutdown(self, *, graceful: bool, timeout_s: float = 10.0) -> None:
        workers, self._workers = self._workers, []
        lease, self._range = self._range, None
        for handle in workers:
            if graceful and handle.process.poll() is None:
                try:
                    with handle.lock:
                        handle.conn.send(("stop", ()))
                except OSError:
                    pass
        deadline = time.monotonic() + timeout_s
        for handle in workers:
            try:
                handle.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                handle.process.terminate()
                try:
                    handle.process.wait(2.0)
                except subprocess.TimeoutExpired:
                    handle.process.kill()
                    handle.process.wait(2.0)
            handle.conn.close()
        if lease is not None:  # after the workers closed their sockets
            lease.release()

    def __enter__(self) -> Fleet:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> Fleet:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.to_thread(self.stop)

    # --- cameras ---------------------------------------------------------------------------

    def camera(self, index: int) -> SimCamera:
        if not 0 <= index < self.n:
            raise IndexError(f"camera index {index} is outside 0..{self.n - 1}")
        return SimCamera(index, address_for(index, self.base_address), self.rtsp_port,
                         self.onvif_port, username=self.username, password=self._password)

    def cameras(self) -> list[SimCamera]:
        return [self.camera(i) for i in range(self.n)]

    def worker_of(self, index: int) -> int:
        """The position (in :attr:`worker_pids`) of the worker serving camera *index*."""
        if not 0 <= index < self.n:
            raise IndexError(f"camera index {index} is outside 0..{self.n - 1}")
        return index // self._per_worker

    def _handle_of(self, index: int) -> _WorkerHandle:
        if not self._workers:
            raise FleetError("the fleet is not running")
        if not 0 <= index < self.n:
            raise IndexError(f"camera index {index} is outside 0..{self.n - 1}")
        return self._workers[index // self._per_worker]

    def set_behaviour(self, indices: int | Iterable[int], behaviour: Behaviour) -> None:
        """Give cameras a new behaviour; returns after their workers applied it."""
        if not isinstance(behaviour, Behaviour):
            raise TypeError("behaviour must be a Behaviour")
        groups: dict[int, list[int]] = {}
        for index in [indices] if isinstance(indices, int) else indices:
            self._handle_of(index)  # validates the index
            groups.setdefault(index // self._per_worker, []).append(index)
        for worker, members in groups.items():
            self._workers[worker].call("set", members, behaviour)

    def behaviour(self, index: int) -> Behaviour:
        result = self._handle_of(index).call("get", index)
        assert isinstance(result, Behaviour)
        return result

    def stats(self, indices: Iterable[int] | None = None) -> FleetStats:
        """Counters of the given cameras, or of every camera that saw traffic."""
        if indices is None:
            if not self._workers:
                raise FleetError("the fleet is not running")
            return FleetStats.merge(w.call("stats", None) for w in self._workers)
        groups: dict[int, list[int]] = {}
        for index in indices:
            self._handle_of(index)  # validates the index
            groups.setdefault(index // self._per_worker, []).append(index)
        parts: list[list[CameraStats]] = [
            self._workers[w].call("stats", members) for w, members in groups.items()]
        return FleetStats.merge(parts)

    def reset_stats(self) -> None:
        for handle in self._workers:
            handle.call("reset_stats")

    # --- async conveniences ----------------------------------------------------------------

    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def aset_behaviour(self, indices: int | Iterable[int], behaviour: Behaviour) -> None:
        if not isinstance(indices, int):
            indices = list(indices)
        await asyncio.to_thread(self.set_behaviour, indices, behaviour)

    async def abehaviour(self, index: int) -> Behaviour:
        return await asyncio.to_thread(self.behaviour, index)

    async def astats(self, indices: Iterable[int] | None = None) -> FleetStats:
        if indices is not None:
            indices = list(indices)
        return await asyncio.to_thread(self.stats, indices)

    async def serve_control(self, host: str = "127.0.0.1", port: int = 0) -> ControlServer:
        """Serve the HTTP control API on the running loop (see :mod:`probes.sim.control`)."""
        from probes.sim.control import ControlServer  # lazy: aiohttp only when the control API is served

        server = ControlServer(self)
        await server.start(host, port)
        return server
