"""The reach prober: TCP connect to the RTSP port on loopback, optional ICMP."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import time

import pytest

from probes.base import PROBERS, Cause, ProbeTarget, Stage
from probes.ladder import LadderOptions, run_ladder
from probes.reach import ReachInfo, ReachOptions, map_error, probe
from tests.probes.rtsp_servers import blackhole, free_port


async def _listener(host: str = "127.0.0.1") -> tuple[asyncio.Server, int]:
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.close()

    srv = await asyncio.start_server(handle, host, 0)
    return srv, srv.sockets[0].getsockname()[1]


def test_registered() -> None:
    assert PROBERS[Stage.REACH] is probe


@pytest.mark.parametrize("host", ["127.0.0.1", "127.3.4.5", "::1"])
async def test_open_port(host: str) -> None:
    srv, port = await _listener(host)
    try:
        r = await probe(ProbeTarget(host, port), ReachOptions())
    finally:
        srv.close()
    assert r.ok and r.cause is None and r.stage is Stage.REACH
    assert isinstance(r.data, ReachInfo) and r.data.port == port and r.data.connect_ms is not None
    assert r.data.icmp_rtt_ms is None  # not asked


async def test_port_option_overrides_target() -> None:
    srv, port = await _listener()
    try:
        r = await probe(ProbeTarget("127.0.0.1", free_port()), ReachOptions(port=port))
    finally:
        srv.close()
    assert r.ok


async def test_refused() -> None:
    r = await probe(ProbeTarget("127.0.0.1", free_port()), ReachOptions())
    assert (r.ok, r.cause, r.detail) == (False, Cause.REFUSED, "connection refused")
    assert r.data.connect_ms is None


async def test_dropped_syns_are_unreachable_within_the_stage_limit() -> None:
    with blackhole() as port:
        t0 = time.monotonic()
        res = await run_ladder(ProbeTarget("127.0.0.1", port, onvif_port=None), LadderOptions(reach_timeout_s=0.3))
        elapsed = time.monotonic() - t0
    assert res.state == "offline" and res.cause is Cause.UNREACHABLE
    assert [s.stage for s in res.stages] == [Stage.REACH]
    assert 0.25 < elapsed < 1.5


async def test_cancelled_connect_closes_socket() -> None:
    before = len(os.listdir("/proc/self/fd"))
    with blackhole() as port:
        for _ in range(5):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.05):
                    await probe(ProbeTarget("127.0.0.1", port), ReachOptions())
    assert len(os.listdir("/proc/self/fd")) <= before


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (OSError(errno.EHOSTUNREACH, os.strerror(errno.EHOSTUNREACH)), Cause.UNREACHABLE),
        (OSError(errno.ENETUNREACH, os.strerror(errno.ENETUNREACH)), Cause.UNREACHABLE),
        (TimeoutError(errno.ETIMEDOUT, os.strerror(errno.ETIMEDOUT)), Cause.UNREACHABLE),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), Cause.REFUSED),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), Cause.UNREACHABLE),
    ],
)
def test_error_mapping(exc: OSError, cause: Cause) -> None:
    assert map_error(exc)[0] is cause


def test_error_mapping_rejects_foreign_bugs() -> None:
    with pytest.raises(KeyError):
        map_error(KeyError("bug"))


async def test_icmp_alongside_tcp() -> None:
    srv, port = await _listener()
    try:
        r = await probe(ProbeTarget("127.0.0.1", port), ReachOptions(icmp=True, icmp_timeout_s=1.0))
    finally:
        srv.close()
    assert r.ok
    if os.geteuid() == 0:  # raw ICMP is permitted: the loopback answers
        assert r.data.icmp_rtt_ms is not None and r.data.icmp_rtt_ms >= 0
        assert "ping" in r.detail
    else:  # unprivileged: either the kernel allows ICMP datagram sockets or we say why not
        assert r.data.icmp_rtt_ms is not None or r.data.icmp_note.startswith("icmp not possible")


async def test_icmp_does_not_decide_the_result() -> None:
    r = await probe(ProbeTarget("127.0.0.1", free_port()), ReachOptions(icmp=True, icmp_timeout_s=0.5))
    assert r.cause is Cause.REFUSED  # the host pings, the port is closed: still refused
