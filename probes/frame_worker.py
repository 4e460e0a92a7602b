"""The worker-process side of the frame stage: many grabs at once, each in a thread.

A worker is a fresh interpreter (``python -m probes.frame_worker FD``) started by
:class:`probes.frame_pool.FramePool`. It talks to its parent over a Unix socket pair
(4-byte big-endian length + pickle, both ways):

* in: ``(id, GrabRequest)`` starts a grab in a thread of its own; ``(id, None)`` cancels
  grab *id* (its thread stops at its next packet or read timeout and answers ``cancelled``);
* out: ``(id, GrabReply)`` when grab *id* ends, holding only small, downscaled frames.

A grab spends nearly all its time waiting for the network, and PyAV releases the GIL
while it reads and decodes, so one process serves many grabs on little CPU. The parent
kills a worker whose grab overruns the pool's hard limit (a decoder stuck inside FFmpeg
cannot be interrupted otherwise) and re-runs that worker's other grabs elsewhere.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import socket
import struct
import sys
import threading
from typing import cast

import av.logging

from probes.frame_grab import GrabFailure, GrabReply, GrabRequest, grab

_HEADER = struct.Struct("!I")
MAX_MESSAGE = 64 * 1024 * 1024


def encode(obj: object) -> bytes:
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(payload)) + payload


def recv_exact(sock: socket.socket, n: int) -> bytes | None:
    """*n* bytes from a blocking socket, or None at EOF."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def recv_message(sock: socket.socket) -> object | None:
    """One framed message, or None at EOF (or when it is oversized)."""
    head = recv_exact(sock, _HEADER.size)
    if head is None:
        return None
    (n,) = _HEADER.unpack(head)
    if n > MAX_MESSAGE:
        return None
    body = recv_exact(sock, n)
    return None if body is None else pickle.loads(body)  # noqa: S301 - our own parent/child


class _Server:
    """The worker loop: requests in on the main thread, each grab in a thread, replies out."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.send_lock = threading.Lock()
        self.cancels: dict[int, threading.Event] = {}
        self.lock = threading.Lock()

    def run(self) -> None:
        while True:
            msg = recv_message(self.sock)
            if msg is None:
                return
            gid, req = cast(tuple[int, GrabRequest | None], msg)
            if req is None:
                with self.lock:
                    ev = self.cancels.get(gid)
                if ev is not None:
                    ev.set()
                continue
            ev = threading.Event()
            with self.lock:
                self.cancels[gid] = ev
            threading.Thread(target=self._grab, args=(gid, req, ev), daemon=True).start()

    def _grab(self, gid: int, req: GrabRequest, cancel: threading.Event) -> None:
        try:
            reply = grab(req, cancel)
        except Exception as exc:  # noqa: BLE001 - a bug must still answer
            reply = GrabReply(False, GrabFailure.ERROR, f"decoder error: {type(exc).__name__}")  # (no camera text)
        with self.lock:
            self.cancels.pop(gid, None)
        try:
            with self.send_lock:
                self.sock.sendall(encode((gid, reply)))
        except OSError:
            pass  # the parent is gone; the main thread ends on EOF


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    av.logging.set_level(av.logging.WARNING)  # (each grab reads its own thread's lines) ...
    # ... all of them: PyAV drops a line repeating the last one, so a second grab failing as the
    # first did (the frame stage's retry after a 453) lost "method SETUP failed: 453" and was "error".
    av.logging.set_skip_repeated(False)
    libav = logging.getLogger("libav")  # ... and nothing of FFmpeg reaches the collector's stderr
    libav.addHandler(logging.NullHandler())
    libav.propagate = False
    sock = socket.socket(fileno=int(argv[1]))
    try:
        _Server(sock).run()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        sock.close()
    os._exit(0)  # grab threads still waiting on a camera end with the process


if __name__ == "__main__":
    # Run the copy imported under its real name, so replies pickle as probes.frame_grab.GrabReply.
    from probes.frame_worker import main as _main

    sys.exit(_main(sys.argv))
