"""SIP over UDP and TCP with asyncio: the one module of ``probes.gb28181`` that does I/O.

A :class:`SipEndpoint` listens (UDP, TCP) and/or connects (TCP, the simulator's side) and
hands every complete message with its :class:`Peer` to one callback. Bad input is cheap to
refuse: an oversized datagram is dropped before parsing, a malformed one after; a TCP stream
that breaks framing or a cap is closed; TCP connections are capped and closed when idle.
Nothing sent or received is logged here (a REGISTER carries credentials).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from probes.gb28181.sip import DEFAULT_LIMITS, Limits, SipError, SipMessage, StreamFramer, parse_datagram

log = logging.getLogger("camwatch.gb28181")
UDP_BUFFER = 4 << 20
WARN_EVERY_S = 60.0  # a refused TCP connection logged once per address this often
MAX_WARNED = 10_000  # addresses remembered for that
DRAIN_MAX = 512  # datagrams read in one turn of the event loop


@dataclass(frozen=True, slots=True)
class Peer:
    """Where a message came from and where its answer goes: ``udp`` to (host, port), or
    ``tcp`` on connection ``conn`` (host and port are then the remote end's)."""

    transport: str
    host: str
    port: int
    conn: int = 0


OnMessage = Callable[[SipMessage, Peer], None]
OnError = Callable[[Peer, str], None]


class _Udp:
    """A UDP socket read in batches: the first datagram wakes it, then it waits ``batch_s``
    and reads all that came (up to :data:`DRAIN_MAX` a turn), so a busy platform pays the
    event loop's wake-up once per batch rather than once per keepalive. Idle, it costs nothing."""

    def __init__(self, ep: SipEndpoint, sock: socket.socket, batch_s: float) -> None:
        self.ep = ep
        self.sock = sock
        self.batch_s = batch_s
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None
        self.loop.add_reader(sock.fileno(), self._wake)

    def _wake(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        if self.batch_s > 0:
            self.timer = self.loop.call_later(self.batch_s, self._drain)
        else:
            self._drain()

    def _drain(self) -> None:
        self.timer = None
        if self.closed:
            return
        recv = self.sock.recvfrom
        for _ in range(DRAIN_MAX):
            try:
                data, addr = recv(65_536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # an ICMP error for an earlier send
                continue
            self.received(data, addr)
        else:  # more waiting: the next turn of the loop, after others had theirs
            self.timer = self.loop.call_later(0, self._drain)
            return
        self.loop.add_reader(self.sock.fileno(), self._wake)

    def received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        ep = self.ep
        peer = Peer("udp", str(addr[0]), int(addr[1]))
        if len(data) > ep.limits.max_message:
            ep.dropped += 1
            ep._error(peer, "oversized datagram")
            return
        if data.strip(b"\r\n") == b"":
            return  # a keep-alive ping
        try:
            msg = parse_datagram(data, ep.limits)
        except SipError as exc:
            ep.dropped += 1
            ep._error(peer, str(exc))
            return
        ep.on_message(msg, peer)

    def sendto(self, data: bytes, addr: tuple[str, int]) -> bool:
        try:
            self.sock.sendto(data, addr)
        except OSError:  # a full send buffer (UDP: as if lost) or an unreachable address
            return False
        return True

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.timer is not None:
                self.timer.cancel()
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()


class _Tcp(asyncio.Protocol):
    def __init__(self, ep: SipEndpoint) -> None:
        self.ep = ep
        self.framer = StreamFramer(ep.limits)
        self.transport: asyncio.Transport | None = None
        self.peer: Peer | None = None
        self.idle: asyncio.TimerHandle | None = None
        self.spoke = False  # a whole message came (until then: first_message_s, not idle_timeout_s)
        self.counted = False  # counted in its address's connections

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport (not an isinstance check: uvloop's, which `camwatch run` uses, is no asyncio.Transport)
        self.transport = transport = cast(asyncio.Transport, transport)
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = Peer("tcp", str(host), int(port), next(self.ep._ids))
        ep, h = self.ep, self.peer.host
        full = len(ep._conns) >= ep.max_connections
        if full or (ep.max_per_host and ep._per_host.get(h, 0) >= ep.max_per_host):
            ep.dropped += 1
            ep._refused(h, full)
            transport.abort()
            return
        ep._conns[self.peer.conn] = self
        ep._per_host[h] = ep._per_host.get(h, 0) + 1
        self.counted = True
        self._arm()

    def _arm(self) -> None:
        if self.idle is not None:
            self.idle.cancel()
        wait = self.ep.idle_timeout_s if self.spoke or not self.ep.first_message_s else self.ep.first_message_s
        if wait > 0 and self.transport is not None:
            self.idle = asyncio.get_running_loop().call_later(wait, self.transport.abort)

    def data_received(self, data: bytes) -> None:
        assert self.peer is not None and self.transport is not None
        self._arm()
        try:
            msgs = self.framer.feed(data)
        except SipError as exc:
            self.ep.dropped += 1
            self.ep._error(self.peer, str(exc))
            self.transport.abort()
            return
        if msgs and not self.spoke:
            self.spoke = True
            self._arm()
        for m in msgs:
            self.ep.on_message(m, self.peer)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.idle is not None:
            self.idle.cancel()
        if self.peer is not None:
            self.ep._conns.pop(self.peer.conn, None)
            if self.counted:
                self.counted = False
                per = self.ep._per_host
                n = per.get(self.peer.host, 1) - 1
                if n > 0:
                    per[self.peer.host] = n
                else:
                    per.pop(self.peer.host, None)


class SipEndpoint:
    """UDP and TCP sockets feeding one callback; :meth:`send` answers any :class:`Peer`."""

    def __init__(self, on_message: OnMessage, *, limits: Limits = DEFAULT_LIMITS, on_error: OnError | None = None,
                 max_connections: int = 10_000, idle_timeout_s: float = 0.0, batch_s: float = 0.0,
                 max_per_host: int = 0, first_message_s: float = 0.0) -> None:
        self.on_message = on_message
        self.max_per_host = max_per_host  # TCP connections at once from one address (0: no cap)
        self.first_message_s = first_message_s  # a connection with no whole message this long is closed
        self._per_host: dict[str, int] = {}
        self._warned: dict[str, float] = {}  # address -> when its refused connections were last logged
        self.on_error = on_error
        self.limits = limits
        self.max_connections = max_connections
        self.idle_timeout_s = idle_timeout_s
        self.batch_s = batch_s
        self.dropped = 0  # datagrams and connections refused (malformed, oversized, over the cap)
        self._udp: _Udp | None = None
        self._servers: list[asyncio.Server] = []
        self._conns: dict[int, _Tcp] = {}
        self._ids = itertools.count(1)
        self.udp_address: tuple[str, int] | None = None
        self.tcp_address: tuple[str, int] | None = None

    def _refused(self, host: str, full: bool) -> None:
        """A TCP connection refused over a cap: one line per address a minute (bounded)."""
        now = time.monotonic()
        if now - self._warned.get(host, -WARN_EVERY_S) < WARN_EVERY_S:
            return
        if len(self._warned) >= MAX_WARNED:
            self._warned = {k: v for k, v in self._warned.items() if now - v < WARN_EVERY_S}
            if len(self._warned) >= MAX_WARNED:
                return
        self._warned[host] = now
        if full:
            log.warning("gb28181: TCP connection from %s refused: %d connections at once already "
                        "(gb28181.max_tcp_connections)", host, self.max_connections)
        else:
            log.warning("gb28181: TCP connection from %s refused: %d connections at once from this address "
                        "already (gb28181.max_tcp_per_address)", host, self.max_per_host)

    def _error(self, peer: Peer, what: str) -> None:
        if self.on_error is not None:
            self.on_error(peer, what)

    async def listen_udp(self, host: str, port: int) -> tuple[str, int]:
        family, kind, proto, _, addr = (await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_DGRAM))[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setblocking(False)
            for opt in (socket.SO_RCVBUF, socket.SO_SNDBUF):  # bursts of keepalives (the kernel caps it)
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, opt, UDP_BUFFER)
            sock.bind(addr)
        except OSError:
            sock.close()
            raise
        self._udp = _Udp(self, sock, self.batch_s)
        h, p = sock.getsockname()[:2]
        self.udp_address = (str(h), int(p))
        return self.udp_address

    async def listen_tcp(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _Tcp(self), host, port, reuse_address=True)
        self._servers.append(server)
        h, p = server.sockets[0].getsockname()[:2]
        self.tcp_address = (str(h), int(p))
        return self.tcp_address

    async def connect_tcp(self, host: str, port: int, *, local_host: str | None = None) -> Peer:
        """A client connection (the simulator's device side); its :class:`Peer` sends on it."""
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(lambda: _Tcp(self), host, port,
                                                local_addr=(local_host, 0) if local_host else None)
        assert proto.peer is not None
        return proto.peer

    def local_tcp(self, peer: Peer) -> tuple[str, int] | None:
        """Our own address on a TCP connection (for a Via header)."""
        conn = self._conns.get(peer.conn)
        if conn is None or conn.transport is None:
            return None
        h, p = conn.transport.get_extra_info("sockname")[:2]
        return str(h), int(p)

    def send(self, peer: Peer, data: bytes) -> bool:
        """Send *data* to *peer*; False when there is no way to (no UDP socket, connection gone)."""
        if peer.transport == "udp":
            if self._udp is None or self._udp.closed:
                return False
            return self._udp.sendto(data, (peer.host, peer.port))
        conn = self._conns.get(peer.conn)
        if conn is None or conn.transport is None or conn.transport.is_closing():
            return False
        conn.transport.write(data)
        return True

    def drop(self, peer: Peer) -> None:
        """Close a TCP connection at once (a peer that misbehaves)."""
        conn = self._conns.get(peer.conn)
        if conn is not None and conn.transport is not None:
            conn.transport.abort()

    def close_udp(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
            self.udp_address = None

    async def close(self) -> None:
        self.close_udp()
        for conn in list(self._conns.values()):
            if conn.transport is not None:
                conn.transport.abort()
        for s in self._servers:
            s.close()
            await s.wait_closed()
        self._servers.clear()
