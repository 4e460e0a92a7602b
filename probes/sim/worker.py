"""One worker process of the fleet: serves a contiguous range of cameras on its own event loop
and obeys commands from the parent over a pipe."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import signal
import socket
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import uvloop

from probes.sim.behaviour import Behaviour
from probes.sim.context import WorkerContext
from probes.sim.identity import address_for
from probes.sim.onvif_server import OnvifProtocol
from probes.sim.rtsp_server import RtspProtocol
from probes.sim.state import CameraState

TICK_S = 0.05
BACKLOG = 512


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    first: int  # first camera index served
    count: int
    base_address: str
    rtsp_port: int
    onvif_port: int
    default: Behaviour
    username: str
    password: str = field(repr=False)


class ListenError(OSError):
    """A camera's port could not be bound."""


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        why = "is already in use" if exc.errno == errno.EADDRINUSE else f"failed: {exc.strerror}"
        raise ListenError(exc.errno, f"listening on {host}:{port} {why}") from None
    return sock


class Worker:
    def __init__(self, spec: WorkerSpec, conn: Connection, loop: asyncio.AbstractEventLoop) -> None:
        self.spec = spec
        self.conn = conn
        self.loop = loop
        self.ctx = WorkerContext(loop)
        self.cameras = [
            CameraState(i, address_for(i, spec.base_address), spec.rtsp_port, spec.onvif_port,
                        spec.default, spec.username, spec.password)
            for i in range(spec.first, spec.first + spec.count)
        ]
        self.timed: set[CameraState] = {c for c in self.cameras if c.behaviour.timed}
        self.commands: asyncio.Queue[Any] = asyncio.Queue()
        self.stopped = asyncio.Event()

    # --- listening sockets -----------------------------------------------------------------

    async def reconcile(self, cam: CameraState, now: float) -> None:
        """Open or close the camera's listening sockets to match its behaviour at ``now``."""
        b = cam.behaviour
        down = b.is_down_at(now)
        if down:
            self._close(cam, rtsp=True, onvif=True)
            return
        if cam.rtsp_server is None:
            cam.rtsp_server = await self.loop.create_server(
                functools.partial(RtspProtocol, cam, self.ctx),
                sock=_listen(cam.host, cam.rtsp_port), backlog=BACKLOG)
        if not b.onvif:
            self._close(cam, rtsp=False, onvif=True)
        elif cam.onvif_server is None:
            cam.onvif_server = await self.loop.create_server(
                functools.partial(OnvifProtocol, cam, self.ctx),
                sock=_listen(cam.host, cam.onvif_port), backlog=BACKLOG)

    def _close(self, cam: CameraState, *, rtsp: bool, onvif: bool) -> None:
        closed = False
        if rtsp and cam.rtsp_server is not None:
            cam.rtsp_server.close()
            cam.rtsp_server = None
            closed = True
        if onvif and cam.onvif_server is not None:
            cam.onvif_server.close()
            cam.onvif_server = None
            closed = True
        if closed and rtsp:
            for transport in list(cam.transports):
                transport.abort()

    async def open_all(self) -> None:
        now = self.ctx.clock()
        for cam in self.cameras:
            await self.reconcile(cam, now)

    def close_all(self) -> None:
        for cam in self.cameras:
            self._close(cam, rtsp=True, onvif=True)
            for transport in list(cam.transports):
                transport.abort()

    # --- commands --------------------------------------------------------------------------

    def camera(self, index: int) -> CameraState:
        pos = index - self.spec.first
        if not 0 <= pos < len(self.cameras):
            raise IndexError(f"camera {index} is not served by this worker")
        return self.cameras[pos]

    async def execute(self, command: str, args: tuple[Any, ...]) -> Any:
        if command == "set":
            indices, behaviour = args
            now = self.ctx.clock()
            for index in indices:
                cam = self.camera(index)
                cam.behaviour = behaviour
                if behaviour.timed:
                    self.timed.add(cam)
                else:
                    self.timed.discard(cam)
                await self.reconcile(cam, now)
            # Let uvloop finish closing the listening handles before we acknowledge.
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            return None
        if command == "get":
            return self.camera(args[0]).behaviour
        if command == "stats":
            (indices,) = args
            cams = self.cameras if indices is None else [self.camera(i) for i in indices]
            return [c.snapshot() for c in cams if c.touched or indices is not None]
        if command == "reset_stats":
            for cam in self.cameras:
                sessions = cam.sessions_open
                cam.reset_counters()
                cam.sessions_open = cam.max_sessions_open = sessions
                cam.rtsp_connections_open = cam.max_rtsp_connections = sum(
                    1 for t in cam.transports
                    if isinstance(t.get_protocol(), RtspProtocol))
            return None
        if command == "stop":
            self.stopped.set()
            return None
        raise ValueError(f"unknown command {command!r}")

    def on_readable(self) -> None:
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            # The parent is gone: stop serving.
            self.loop.remove_reader(self.conn.fileno())
            self.stopped.set()
            return
        self.commands.put_nowait(message)

    async def command_loop(self) -> None:
        while True:
            command, args = await self.commands.get()
            try:
                result = await self.execute(command, args)
                reply: tuple[str, Any] = ("ok", result)
            except (ValueError, IndexError, OSError) as exc:
                reply = ("error", str(exc))
            try:
                self.conn.send(reply)
            except (BrokenPipeError, OSError):
                self.stopped.set()
                return

    async def ticker(self) -> None:
        """Apply time-based behaviours (flapping, scripted down intervals)."""
        while True:
            await asyncio.sleep(TICK_S)
            if not self.timed:
                continue
            now = self.ctx.clock()
            for cam in list(self.timed):
                if cam.behaviour.is_down_at(now) == (cam.rtsp_server is None):
                    continue  # already in the wanted state
                with contextlib.suppress(ListenError):  # retried on the next tick
                    await self.reconcile(cam, now)

    async def run(self) -> None:
        try:
            await self.open_all()
        except ListenError as exc:
            self.close_all()
            self.conn.send(("error", str(exc)))
            return
        self.loop.add_reader(self.conn.fileno(), self.on_readable)
        tasks = [asyncio.ensure_future(self.command_loop()), asyncio.ensure_future(self.ticker())]
        self.conn.send(("ready", None))
        await self.stopped.wait()
        for task in tasks:
            task.cancel()
        self.close_all()
        await asyncio.sleep(0)
        try:
            self.loop.remove_reader(self.conn.fileno())
            self.conn.send(("stopped", None))
        except (OSError, ValueError):
            pass


def worker_main(spec: WorkerSpec, conn: Connection) -> None:
    """Process entry point (spawned). Ctrl-C is the parent's business, not ours."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def main() -> None:
        await Worker(spec, conn, asyncio.get_running_loop()).run()

    uvloop.run(main())
    conn.close()
