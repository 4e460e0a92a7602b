"""Start and stop the GStreamer RTSP test server (``gst_rtsp_server.py``) from tests and benchmarks.

The server runs under Debian's python (``/usr/bin/python3``, which can import ``gi``;
override with ``CAMWATCH_TEST_GST_PYTHON``), on 127.0.0.1 and a free port it picks itself.
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

SCRIPT = Path(__file__).with_name("gst_rtsp_server.py")
GST_PYTHON = os.environ.get("CAMWATCH_TEST_GST_PYTHON", "/usr/bin/python3")
USER = "admin"
PASSWORD = "p@ss:w/rd 9"  # reserved URL characters on purpose: the grab must percent-encode them


@dataclass(slots=True)
class GstServer:
    proc: subprocess.Popen[bytes]
    port: int
    user: str | None
    password: str | None = field(repr=False)

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
        if self.proc.poll() is not None:
            return
        self.resume()
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def _rtsp_answers(port: int, timeout_s: float) -> bool:
    """TCP connect + OPTIONS; any RTSP/1.0 status line counts as up."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
            s.sendall(f"OPTIONS rtsp://127.0.0.1:{port}/moving RTSP/1.0\r\nCSeq: 1\r\n\r\n".encode())
            return s.recv(64).startswith(b"RTSP/1.0 ")
    except OSError:
        return False


def start_gst_server(
    user: str | None = USER, password: str | None = PASSWORD, auth: str = "digest", timeout_s: float = 20.0
) -> GstServer:
    """Start the server and wait until it answers RTSP; raise if it does not within *timeout_s*."""
    cmd = [GST_PYTHON, str(SCRIPT), "--port", "0", "--auth", auth]
    if user is not None:
        cmd += ["--user", user, "--password", password or ""]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
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
        raise RuntimeError(f"gst_rtsp_server did not start (exit {proc.poll()}, said {line[:200]!r})")
    server = GstServer(proc, int(line.split()[1]), user, password)
    while time.monotonic() < deadline:
        if _rtsp_answers(server.port, 1.0):
            return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError("gst_rtsp_server does not answer RTSP")


@pytest.fixture(scope="module")
def gst_server() -> Iterator[GstServer]:
    """One Digest-protected server shared by a test module."""
    server = start_gst_server()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def gst_server_private() -> Iterator[GstServer]:
    """A server of the test's own, free to be stopped or frozen."""
    server = start_gst_server()
    try:
        yield server
    finally:
        server.stop()
