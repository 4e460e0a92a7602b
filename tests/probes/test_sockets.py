"""Probe connections end with a TCP reset once their conversation is over: no TIME_WAIT left
behind (at 100k cameras a graceful close overflows the kernel's TIME_WAIT table), on a real
simulated camera on loopback."""

from __future__ import annotations

import asyncio
import socket
import struct
from pathlib import Path

import pytest

from probes.base import ProbeTarget
from probes.ladder import LadderOptions, run_ladder
from probes.onvif import OnvifOptions
from probes.sim import Fleet
from tests.net import loopback_range

TIME_WAIT = "06"


def time_waits(host: str) -> int:
    """TIME_WAIT sockets with *host* at either end (from /proc/net/tcp)."""
    n = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] != TIME_WAIT:
            continue
        for end in (fields[1], fields[2]):
            ip = socket.inet_ntoa(struct.pack("<I", int(end.split(":")[0], 16)))
            if ip == host:
                n += 1
    return n


@pytest.fixture(scope="module")
def fleet():  # type: ignore[no-untyped-def]
    # a loopback range of its own: another test file's fleet on the default range (run at the same time
    # by another test worker) left TIME_WAITs on the same address that expired mid-test, and the count fell
    with loopback_range(1) as rng, Fleet(2, workers=1, base_address=rng.base_address) as f:
        yield f


def test_a_fast_tier_probe_leaves_no_time_wait(fleet: Fleet) -> None:
    cam = fleet.camera(0)
    target = ProbeTarget(cam.host, cam.rtsp_port, cam.rtsp_path, cam.onvif_port, cam.username, cam.password, 1)
    opts = LadderOptions(onvif=OnvifOptions(device_info=True))  # also the authenticated ONVIF call

    async def go() -> None:
        for _ in range(3):
            res = await run_ladder(target, opts)
            assert res.state == "online" and res.clock_offset_s is not None and res.device is not None, res
        await asyncio.sleep(0.2)

    before = fleet.stats([0]).camera(0)
    waiting = time_waits(cam.host)
    asyncio.run(go())
    after = fleet.stats([0]).camera(0)
    assert after.rtsp_connections - before.rtsp_connections == 3  # (4 DESCRIBEs: the first one gets the 401)
    assert after.onvif_requests - before.onvif_requests == 6
    assert time_waits(cam.host) == waiting  # (earlier runs' may still be there, for 60 s)


def test_the_check_sees_a_graceful_close(fleet: Fleet) -> None:
    """The control: the same camera's port closed the usual way leaves a TIME_WAIT behind."""
    cam = fleet.camera(1)
    waiting = time_waits(cam.host)
    with socket.create_connection((cam.host, cam.rtsp_port), timeout=5) as s:
        s.sendall(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
        assert s.recv(1024).startswith(b"RTSP/1.0")
        # Our FIN first, then read to the camera's: a close with unread bytes would be a reset.
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
    assert time_waits(cam.host) == waiting + 1
