"""Start and stop the GStreamer RTSP test server (``gst_rtsp_server.py``) from tests and benchmarks.

The server runs under Debian's python (``/usr/bin/python3``, which can import ``gi``;
override with ``CAMWATCH_TEST_GST_PYTHON``), on 127.0.0.1 and a free port it picks itself,
in a process group of its own (a signal meant for the test run's group never reaches it).
Its stderr goes to a temporary file, so the reason it died can be shown.

The ``gst_server`` fixture is self-healing: one server per test module, checked before
every test (alive, answers RTSP OPTIONS) and restarted when it is not, with a
:class:`GstServerRestarted` warning saying why (exit status, signal, its last stderr lines).
A test module imports both ``gst_server`` and ``gst_server_module``.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

import pytest

SCRIPT = Path(__file__).with_name("gst_rtsp_server.py")
GST_PYTHON = os.environ.get("CAMWATCH_TEST_GST_PYTHON", "/usr/bin/python3")
USER = "admin"
PASSWORD = "p@ss:w/rd 9"  # reserved URL characters on purpose: the grab must percent-encode them
STDERR_TAIL = 2000  # bytes of the server's stderr quoted when it died

log = logging.getLogger(__name__)


class GstServerRestarted(UserWarning):
    """The module's shared server had died or stopped answering and was started again."""


@dataclass(slots=True)
class GstServer:
    proc: subprocess.Popen[bytes]
    port: int
    user: str | None
    password: str | None = field(repr=False)
    stderr_path: str | None = None

    def url(self, path: str, *, password: str | None = None) -> str:
        pw = self.password if password is None else password
        auth = f"{quote(self.user, safe='')}:{quote(pw or '', safe='')}@" if self.user else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}{path}"

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections, nobody answers (a hung camera)."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.resume()
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.stderr_path is not None:
            try:
                os.unlink(self.stderr_path)
            except OSError:
                pass
            self.stderr_path = None

    def stderr_tail(self, limit: int = STDERR_TAIL) -> str:
        """The last *limit* bytes the server wrote to stderr ('' when none or not kept)."""
        if self.stderr_path is None:
            return ""
        try:
            with open(self.stderr_path, "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - limit))
                return f.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def problem(self, timeout_s: float = 3.0) -> str | None:
        """Why this server cannot serve a test (None: alive and answering RTSP)."""
        code = self.proc.poll()
        if code is not None:
            return f"exited ({describe_exit(code)})"
        if not _rtsp_answers(self.port, timeout_s):
            return f"pid {self.proc.pid} alive but does not answer RTSP OPTIONS on port {self.port} within {timeout_s:g} s"
        return None


def describe_exit(code: int) -> str:
    """Popen's return code in words: ``status 1`` or ``killed by SIGABRT``."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"status {code}"


def _rtsp_answers(port: int, timeout_s: float) -> bool:
    """TCP connect + OPTIONS; any RTSP/1.0 status line counts as up."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
            s.sendall(f"OPTIONS rtsp://127.0.0.1:{port}/moving RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
            return s.recv(64).startswith(b"RTSP/1.0 ")
    except OSError:
        return False


def start_gst_server(
    user: str | None = USER,
    password: str | None = PASSWORD,
    auth: str = "digest",
    timeout_s: float = 20.0,
    nice: int = -5,
    threads: int = 1,
) -> GstServer:
    """Start the server and wait until it answers RTSP; raise if it does not within *timeout_s*.
    *nice*: run it at this niceness (a benchmark gives the peer, which stands in for cameras with
    CPUs of their own, a head start on a shared box; below 0 needs the privilege); the tests too run it at -5 (CI's loaded run
    starved its encoder: a moving stream read as stalled; without the privilege `nice` runs it unchanged); *threads*: the
    server's client threads (1 in the tests: see tests/peers/gst_rtsp_server.py)."""
    cmd = (["nice", "-n", str(nice)] if nice else []) + [GST_PYTHON, str(SCRIPT), "--port", "0", "--auth", auth,
                                                     "--threads", str(threads)]
    if user is not None:
        cmd += ["--user", user, "--password", password or ""]
    fd, err_path = tempfile.mkstemp(prefix="gst_rtsp_server.", suffix=".stderr")
    try:
        # (a group of its own: a worker's kill or a ^C meant for the test run's group is not for it)
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=fd, start_new_session=True
        )
    except BaseException:
        os.unlink(err_path)
        raise
    finally:
        os.close(fd)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout_s
    line = b""
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n") and time.monotonic() < deadline and proc.poll() is None:
            if sel.select(timeout=0.1):
                chunk = os.read(proc.stdout.fileno(), 256)
                if not chunk:
                    break
                line += chunk
    if not line.startswith(b"READY "):
        proc.kill()
        proc.wait(5)
        failed = GstServer(proc, 0, user, password, err_path)
        tail = failed.stderr_tail()
        failed.stop()
        raise RuntimeError(f"gst_rtsp_server did not start (exit {proc.poll()}, said {line[:200]!r}; stderr: {tail!r})")
    server = GstServer(proc, int(line.split()[1]), user, password, err_path)
    while time.monotonic() < deadline:
        if _rtsp_answers(server.port, 1.0):
            return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("gst_rtsp_server does not answer RTSP")


class SharedServer:
    """A test module's server, started again whenever it is found dead or deaf."""

    def __init__(self) -> None:
        self.server: GstServer | None = None
        self.restarts: list[str] = []  # why, each time

    def healthy(self) -> GstServer:
        if self.server is None:
            self.server = start_gst_server()
            return self.server
        why = self.server.problem()
        if why is None:
            return self.server
        tail = self.server.stderr_tail()
        self.server.stop()
        reason = f"gst_rtsp_server {why}" + (f"; its stderr ended with: {tail[-600:]}" if tail else "")
        self.restarts.append(reason)
        log.warning("restarting the shared RTSP test server: %s", reason)
        warnings.warn(GstServerRestarted(f"restarted the shared RTSP test server: {reason}"), stacklevel=1)
        self.server = start_gst_server()
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


T = TypeVar("T")


ATTEMPTS = 3  # the peer died under a test's streams twice in a row in a CI run on a busy box


async def on_a_server_that_lived(shared: SharedServer, run: Callable[[GstServer], Awaitable[T]]) -> T:
    """*run* against the module's shared server; when the server itself died or went deaf during
    it, again on a server started again (at most ATTEMPTS runs) (with a :class:`GstServerRestarted` warning). Several
    viewers of a shared mount coming and going at once can abort gst-rtsp-server (an assertion in
    its ``gst_rtsp_media_get_rates``: a bug of the peer, seen in CI runs): for tests that open many
    streams at once, whose results would otherwise be the peer's crash, not camwatch's."""
    for _ in range(ATTEMPTS - 1):
        server = shared.healthy()
        result = await run(server)
        if server.problem() is None:
            return result
    return await run(shared.healthy())  # (the last attempt's results stand, whatever the peer did)


@pytest.fixture(scope="module")
def gst_server_module() -> Iterator[SharedServer]:
    """The module's shared server (one per module; use ``gst_server`` in tests)."""
    shared = SharedServer()
    try:
        yield shared
    finally:
        shared.stop()


@pytest.fixture
def gst_server(gst_server_module: SharedServer) -> GstServer:
    """One Digest-protected server shared by a test module, checked before each test
    (restarted, with a :class:`GstServerRestarted` warning, if it died or stopped answering)."""
    return gst_server_module.healthy()


@pytest.fixture
def gst_server_private() -> Iterator[GstServer]:
    """A server of the test's own, free to be stopped or frozen."""
    server = start_gst_server()
    try:
        yield server
    finally:
        server.stop()
