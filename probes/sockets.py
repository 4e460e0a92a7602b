"""Closing a probe's TCP connection once its conversation is over.

A graceful close leaves the side that closes first (the prober) in TIME_WAIT for 60 s: a
collector probing 100k cameras a minute over two connections each would hold ~200k of them,
beyond the kernel's ``tcp_max_tw_buckets`` (131,072 here), which then drops them and counts
``TCPTimeWaitOverflow``. A reset (SO_LINGER 0) ends the connection at once, on both sides,
with one segment instead of four. Only for connections whose last reply was read in full and
that hold no session (an RTSP session opened by SETUP gets its TEARDOWN and a graceful close).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

_LINGER_RESET = struct.pack("ii", 1, 0)


def close_with_reset(transport: asyncio.BaseTransport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    transport.abort()  # type: ignore[attr-defined]
