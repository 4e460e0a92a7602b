"""The ``reach`` stage: can we open a TCP connection to the camera's RTSP port?

``refused`` when the camera (or a firewall) answers with a reset, ``unreachable``
when there is no route or no answer (the caller's stage timeout maps to
``unreachable`` too). Optionally an ICMP echo via icmplib runs alongside: it only
adds to the detail (a camera that answers ping but not on its port is a different
job for the lineman than one that is dark), it never decides the result.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from icmplib import async_ping
from icmplib.exceptions import ICMPLibError

from probes.base import Cause, ProbeResult, ProbeTarget, Stage, register

P = TypeVar("P", bound=asyncio.BaseProtocol)

_UNREACHABLE = frozenset(
    {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN, errno.ETIMEDOUT, errno.EADDRNOTAVAIL}
)


@dataclass(frozen=True, slots=True)
class ReachOptions:
    port: int | None = None  # default: the target's RTSP port
    icmp: bool = False  # also send one ICMP echo (icmplib)
    icmp_privileged: bool | None = None  # None: raw sockets only when running as root
    icmp_timeout_s: float = 1.0


@dataclass(frozen=True, slots=True)
class ReachInfo:
    """Payload of a reach result."""

    port: int
    connect_ms: float | None  # None when the connection failed
    icmp_rtt_ms: float | None = None  # None: not asked, not permitted, or no answer
    icmp_note: str = ""


def map_error(exc: BaseException) -> tuple[Cause, str]:
    """The one place where socket errors of the reach stage become causes."""
    if isinstance(exc, ConnectionRefusedError):
        return Cause.REFUSED, "connection refused"
    if isinstance(exc, OSError):
        if exc.errno in _UNREACHABLE:
            return Cause.UNREACHABLE, os.strerror(exc.errno) if exc.errno else "unreachable"
        if isinstance(exc, socket.gaierror):
            return Cause.UNREACHABLE, f"name not resolved: {exc.strerror or 'error'}"
        return Cause.UNREACHABLE, f"connect failed: {exc.strerror or type(exc).__name__}"
    raise exc


def _literal(host: str, port: int) -> tuple[int, tuple]:  # type: ignore[type-arg]
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return family, (host, port)
    return 0, ()


async def _tcp_connect(host: str, port: int) -> None:
    """Connect and close at once, on a bare non-blocking socket (no transport)."""
    loop = asyncio.get_running_loop()
    family, addr = _literal(host, port)
    if family == 0:  # a name: resolve (in the loop's resolver)
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
        family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, addr)
    finally:
        sock.close()


async def _icmp(host: str, opts: ReachOptions) -> tuple[float | None, str]:
    privileged = opts.icmp_privileged
    if privileged is None:
        privileged = hasattr(os, "geteuid") and os.geteuid() == 0
    try:
        h = await async_ping(host, count=1, timeout=opts.icmp_timeout_s, privileged=privileged)
    except ICMPLibError as exc:
        return None, f"icmp not possible ({type(exc).__name__})"
    except OSError as exc:
        return None, f"icmp not possible ({exc.strerror or type(exc).__name__})"
    if not h.is_alive:
        return None, "no ping reply"
    return h.avg_rtt, ""


async def probe(target: ProbeTarget, opts: ReachOptions | None = None) -> ProbeResult:
    """TCP connect to the RTSP port (and optionally ping) *target*; the connection is closed."""
    result, _ = await _reach(target, opts if opts is not None else ReachOptions(), None)
    return result


register(Stage.REACH)(probe)  # (a call, not a decorator: the decorator's type would hide the signature)


async def probe_and_keep(
    target: ProbeTarget, opts: ReachOptions, factory: Callable[[], P]
) -> tuple[ProbeResult, P | None]:
    """Like :func:`probe`, but the connection stays open with *factory*'s protocol.

    The ladder hands that connection to the rtsp stage, so a healthy camera costs one
    TCP handshake, not two. The caller must close the returned protocol's transport.
    """
    return await _reach(target, opts, factory)


async def _reach(
    target: ProbeTarget, opts: ReachOptions, factory: Callable[[], P] | None
) -> tuple[ProbeResult, P | None]:
    port = opts.port or target.rtsp_port
    t0 = time.perf_counter()
    icmp_task: asyncio.Task[tuple[float | None, str]] | None = None
    if opts.icmp:
        icmp_task = asyncio.ensure_future(_icmp(target.host, opts))
    connect_ms: float | None = None
    cause: Cause | None = None
    detail = ""
    proto: P | None = None
    rtt: float | None = None
    note = ""
    try:
        try:
            if factory is None:
                await _tcp_connect(target.host, port)
            else:
                _, proto = await asyncio.get_running_loop().create_connection(factory, target.host, port)
            connect_ms = (time.perf_counter() - t0) * 1000.0
            detail = f"tcp {port} open"
        except OSError as exc:
            cause, detail = map_error(exc)
        if icmp_task is not None:
            rtt, note = await icmp_task
            icmp_task = None
            if rtt is not None:
                detail += f"; ping {rtt:.1f} ms"
            elif note:
                detail += f"; {note}"
    except BaseException:
        if proto is not None:  # cancelled while pinging: do not leak the connection
            proto.transport.close()  # type: ignore[attr-defined]
        raise
    finally:
        if icmp_task is not None:  # cancelled by the caller's timeout
            icmp_task.cancel()
    info = ReachInfo(port=port, connect_ms=connect_ms, icmp_rtt_ms=rtt, icmp_note=note)
    return ProbeResult(Stage.REACH, cause is None, time.perf_counter() - t0, cause, detail, info), proto
