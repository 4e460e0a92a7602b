"""Limits of the HTTP side of ``camwatch run``, so that web clients can never starve probing.

The collector and its HTTP server share one process and its open-file limit (20,000 here). Without
limits a few thousand idle or slow connections (a scanner, a slowloris client, a dashboard left
open on many phones) would take the file descriptors and event-loop time the prober needs. So:

* at most ``http.max_connections`` connections at once (default 1,000, and never more than a
  quarter of the process's open-file limit: the rest is reserved for probing). At the cap, a new
  connection takes the place of the oldest one that has not yet sent a complete request head (an
  idle or slowloris client), so thousands of idle connections cannot lock out a Prometheus scrape
  or a user; only when every connection is busy with a request is the new one reset;
* a new connection must send a complete request head within ``http.header_timeout_s``
  (default 10 s), else it is closed (slowloris);
* an idle keep-alive connection is closed after ``http.keepalive_timeout_s`` (default 15 s);
* request lines and header fields are capped at 8 KiB, 100 header lines, bodies at
  ``http.max_body_bytes`` (default 1 MiB; set on the application by :mod:`collector.web.server`).

:class:`GuardedSite` is aiohttp's ``TCPSite`` with its protocol factory wrapped by
:class:`_Guard`, a delegating :class:`asyncio.Protocol` (public asyncio API only).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger("camwatch.http")

HEAD_END = b"\r\n\r\n"
MAX_LINE = 8190
MAX_HEADERS = 100


@dataclass(frozen=True, slots=True)
class HttpLimits:
    max_connections: int = 1000
    header_timeout_s: float = 10.0
    keepalive_timeout_s: float = 15.0

    def runner_kwargs(self) -> dict[str, Any]:
        """What :class:`aiohttp.web.AppRunner` passes to each request handler."""
        return {"keepalive_timeout": self.keepalive_timeout_s, "max_line_size": MAX_LINE,
                "max_field_size": MAX_LINE, "max_headers": MAX_HEADERS}


def effective_cap(requested: int, nofile: int | None = None) -> int:
    """The connection cap actually applied: at most a quarter of the open-file limit."""
    if nofile is None:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        nofile = soft if soft != resource.RLIM_INFINITY else 1 << 20
    return max(1, min(requested, nofile // 4))


class _Counter:
    """Open connections of one site, those still waiting for a request head (oldest first), and
    how many were turned away, evicted or timed out."""

    __slots__ = ("open", "waiting", "rejected", "evicted", "timed_out")

    def __init__(self) -> None:
        self.open = 0
        self.waiting: dict[int, _Guard] = {}  # insertion order = age
        self.rejected = 0
        self.evicted = 0
        self.timed_out = 0

    def make_room(self) -> bool:
        """Close the oldest connection without a request head; False when there is none."""
        if not self.waiting:
            return False
        oldest = next(iter(self.waiting.values()))
        self.evicted += 1
        oldest.abort()
        return True


class _Guard(asyncio.Protocol):
    """Wraps aiohttp's request handler: caps connections, times out a request head that never ends."""

    __slots__ = ("_inner", "_counter", "_cap", "_timeout_s", "_transport", "_timer", "_tail", "_admitted")

    def __init__(self, inner: asyncio.Protocol, counter: _Counter, cap: int, header_timeout_s: float) -> None:
        self._inner = inner
        self._counter = counter
        self._cap = cap
        self._timeout_s = header_timeout_s
        self._transport: asyncio.BaseTransport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._counter.open >= self._cap and not self._counter.make_room():
            self._counter.rejected += 1
            if self._counter.rejected in (1, 10, 100) or self._counter.rejected % 1000 == 0:
                log.warning("HTTP connection cap reached (%d open): %d connections refused so far",
                            self._counter.open, self._counter.rejected)
            transport.abort()  # type: ignore[attr-defined]
            return
        self._admitted = True
        self._counter.open += 1
        self._transport = transport
        self._timer = asyncio.get_running_loop().call_later(self._timeout_s, self._head_too_slow)
        self._counter.waiting[id(self)] = self
        self._inner.connection_made(transport)

    def _head_seen(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._counter.waiting.pop(id(self), None)

    def abort(self) -> None:
        """Close at once (the connection's slot is freed now, not when the transport reports it)."""
        transport = self._transport
        self.connection_lost(None)
        if transport is not None:
            transport.abort()  # type: ignore[attr-defined]

    def _head_too_slow(self) -> None:
        self._timer = None
        self._counter.timed_out += 1
        self.abort()

    def data_received(self, data: bytes) -> None:
        if not self._admitted:
            return
        if self._timer is not None:
            seen = self._tail + data
            if HEAD_END in seen:
                self._head_seen()
            else:
                self._tail = seen[-3:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._admitted else None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        self._admitted = False
        self._counter.open -= 1
        self._head_seen()
        self._transport = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class GuardedSite(web.TCPSite):
    """``TCPSite`` whose connections go through :class:`_Guard`."""

    __slots__ = ("_limits", "counter", "cap")

    def __init__(self, runner: web.BaseRunner, host: str, port: int, limits: HttpLimits) -> None:
        super().__init__(runner, host, port, backlog=512)
        self._limits = limits
        self.counter = _Counter()
        self.cap = effective_cap(limits.max_connections)

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        counter, cap, timeout_s = self.counter, self.cap, self._limits.header_timeout_s

        def factory() -> asyncio.Protocol:
            return _Guard(server(), counter, cap, timeout_s)

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(factory, self._host, self._port, backlog=self._backlog,
                                                reuse_address=self._reuse_address, reuse_port=self._reuse_port)
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port
