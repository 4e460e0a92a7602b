"""Healthy simulated cameras stay healthy beside hostile ones served by the same worker.

``bench/hostile_sweep.py`` once saw a third of its healthy cameras time out beside hostile
ones. The cause was the simulator, not the prober: a streamed hostile ONVIF reply (endless
tiny chunks) whose client had reset the connection kept "writing" into the dead transport,
which drops the bytes and so never fills up; the writer's loop never ended and every camera of
that worker went silent for good. Here rude clients reset such streams the moment they ask,
while the real prober probes the hostile cameras and then the healthy ones of the same worker;
every healthy camera must be online in every round, within the stage limits.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Iterator

import pytest

from probes.base import ProbeTarget
from probes.ladder import LadderOptions, run_ladder
from probes.sim import Behaviour, Fleet, Power, Reply, SimCamera

HEALTHY = 4
HOSTILE = [
    Behaviour(onvif_reply=Reply.ENDLESS_CHUNKS),
    Behaviour(onvif_reply=Reply.ENDLESS_CHUNKS),
    Behaviour(onvif_reply=Reply.HUGE_BODY),
    Behaviour(onvif_reply=Reply.BYTE_CHUNKS),
    Behaviour(rtsp_reply=Reply.BIG_SDP),
    Behaviour(rtsp_reply=Reply.TRICKLE),
    Behaviour(power=Power.HANG),
]
STREAMED = [i for i, b in enumerate(HOSTILE) if b.onvif_reply in (Reply.ENDLESS_CHUNKS, Reply.HUGE_BODY)]
RUDE_PER_CAMERA = 12  # clients that ask and reset at once, per streamed camera and round
ROUNDS = 3
# Generous bound for the healthy probes of a round on a loaded 2-core box (their stage limits are
# 3 + 5 + 5 s); a silent worker fails them by their causes (timeout), not by this bound.
HEALTHY_PROBE_S = 12.0
REQUEST = b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(HEALTHY + len(HOSTILE), workers=1) as f:  # one worker: hostile and healthy share its loop
        for j, behaviour in enumerate(HOSTILE):
            f.set_behaviour(HEALTHY + j, behaviour)
        yield f


def target(cam: SimCamera) -> ProbeTarget:
    return ProbeTarget(cam.host, cam.rtsp_port, cam.rtsp_path, cam.onvif_port, cam.username, cam.password)


def rude_clients(cams: list[SimCamera]) -> None:
    """Open a connection to each camera's ONVIF port RUDE_PER_CAMERA times, send a request on
    all of them, then reset them all (SO_LINGER 0) without reading: the worker meets requests
    whose connection is already gone while it streams to the others."""
    socks = []
    try:
        for cam in cams:
            for _ in range(RUDE_PER_CAMERA):
                socks.append(socket.create_connection((cam.host, cam.onvif_port), timeout=5.0))
        for s in socks:
            s.sendall(REQUEST)
        for s in socks:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        for s in socks:
            s.close()


async def test_healthy_cameras_online_beside_hostile_ones_of_the_same_worker(fleet: Fleet) -> None:
    opts = LadderOptions()  # the collector's stage limits for the healthy cameras
    short = LadderOptions(rtsp_timeout_s=1.0, onvif_timeout_s=1.0)  # the hanging ones need not take 5 s
    healthy = [fleet.camera(i) for i in range(HEALTHY)]
    hostile = [fleet.camera(HEALTHY + j) for j in range(len(HOSTILE))]
    streamed = [hostile[j] for j in STREAMED]
    for rnd in range(ROUNDS):
        hostile_probes = asyncio.gather(*(run_ladder(target(c), short) for c in hostile))
        await asyncio.to_thread(rude_clients, streamed)
        await hostile_probes
        await asyncio.sleep(0.2)  # the worker has met the resets by now
        t0 = time.perf_counter()
        results = await asyncio.gather(*(run_ladder(target(c), opts) for c in healthy))
        wall = time.perf_counter() - t0
        verdicts = [(r.state, r.cause, [(s.stage.value, s.detail) for s in r.stages if not s.ok]) for r in results]
        assert all(r.state == "online" for r in results), (rnd, verdicts)
        assert wall <= HEALTHY_PROBE_S, (rnd, wall)
