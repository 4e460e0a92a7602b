"""Hostile ONVIF cameras cost little: each behaviour of the simulator's hostile suite gets its
cause, ends within the stage limit, and costs at most 20 ms of this process's CPU per probe.

The cameras run in the simulator's worker process, so :func:`time.process_time` here counts
only the prober's work (the event loop included). The CPU bound is the smallest of three
probes, so a busy machine's scheduling noise does not fail it; the wall-time bound is the
stage limit plus a slack for a loaded machine.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from probes.base import Cause, ProbeResult, ProbeTarget, Stage
from probes.onvif import OnvifOptions, probe
from probes.onvif_http import HttpConnection, HttpError, HttpReply
from probes.sim import Behaviour, Fleet, Power, Reply, SimCamera
from probes.stage_limit import run_stage
from tests.probes.test_sim_support import scripted_fleet

LIMIT_S = 1.0  # the onvif stage's limit in these tests
SLACK_S = 0.5
MAX_CPU_S = 0.020
RUNS = 3

CASES: dict[str, Behaviour] = {
    "entity_bomb": Behaviour(onvif_reply=Reply.ENTITY_BOMB),
    "external_entity": Behaviour(onvif_reply=Reply.EXTERNAL_ENTITY),
    "huge_body": Behaviour(onvif_reply=Reply.HUGE_BODY),
    "endless_chunks": Behaviour(onvif_reply=Reply.ENDLESS_CHUNKS),
    "byte_chunks": Behaviour(onvif_reply=Reply.BYTE_CHUNKS),
    "hang": Behaviour(power=Power.HANG),
    "garbage": Behaviour(onvif_reply=Reply.GARBAGE),
}
INDEX = {name: i for i, name in enumerate(CASES)}


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with scripted_fleet(CASES) as f:
        yield f


def target(cam: SimCamera) -> ProbeTarget:
    return ProbeTarget(cam.host, cam.rtsp_port, onvif_port=cam.onvif_port,
                       username=cam.username, password=cam.password)


async def measured(fleet: Fleet, name: str) -> list[tuple[ProbeResult, float, float]]:
    """(result, wall s, CPU s) of RUNS probes of one camera, each with fresh options (no memo)."""
    cam = fleet.camera(INDEX[name])
    fleet.reset_stats()
    out = []
    for _ in range(RUNS):
        w0, c0 = time.perf_counter(), time.process_time()
        r = await run_stage(Stage.ONVIF, probe, target(cam), OnvifOptions(), LIMIT_S, Cause.ONVIF_ERROR)
        out.append((r, time.perf_counter() - w0, time.process_time() - c0))
    stats = fleet.stats([INDEX[name]]).camera(INDEX[name])
    assert stats.onvif_connections <= 2 * RUNS  # at most one reconnect per probe
    assert stats.onvif_auth_failures == 0  # no login attempted after a hostile answer
    return out


def bounded(runs: list[tuple[ProbeResult, float, float]]) -> None:
    assert all(wall <= LIMIT_S + SLACK_S for _, wall, _ in runs), [w for _, w, _ in runs]
    cpu = min(c for _, _, c in runs)
    print(f"CPU per probe {cpu * 1000:.2f} ms (min of {RUNS})")
    assert cpu <= MAX_CPU_S, f"{cpu * 1000:.1f} ms of CPU per probe"


@pytest.mark.parametrize("name,needle", [
    ("entity_bomb", "document type declaration"),
    ("external_entity", "document type declaration"),
    ("huge_body", "larger than 262144 bytes"),
    ("endless_chunks", "more than 4096 chunks"),
    ("hang", "no answer within"),
    ("garbage", "not an HTTP reply"),
])
async def test_hostile_reply_is_classified_and_cheap(fleet: Fleet, name: str, needle: str) -> None:
    runs = await measured(fleet, name)
    for r, _, _ in runs:
        assert not r.ok and r.cause is Cause.ONVIF_ERROR and needle in r.detail, r.detail
    if name == "hang":  # cut at the stage limit, not before
        assert all(wall >= LIMIT_S * 0.9 for _, wall, _ in runs)
    bounded(runs)


async def test_one_byte_chunks_are_a_right_reply_read_in_linear_time(fleet: Fleet) -> None:
    runs = await measured(fleet, "byte_chunks")
    for r, _, _ in runs:
        assert r.ok, r.detail
        assert abs(r.data.clock_offset_s) < 1.0 and r.data.device is not None
    bounded(runs)


# --- the HTTP reader on its own: a loopback server writing a scripted reply in pieces --------

async def read_reply(pieces: list[bytes], max_body: int = 256 * 1024) -> HttpReply:
    """Open a connection to a server that answers any request with *pieces* (one write and a
    short pause each, so they arrive as separate reads), and read the reply."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        for piece in pieces:
            writer.write(piece)
            await writer.drain()
            await asyncio.sleep(0.001)
        await reader.read()  # until the client closes
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = await HttpConnection.open("127.0.0.1", port, max_body)
    try:
        async with asyncio.timeout(10):
            return await conn.request(b"POST / HTTP/1.1\r\n\r\n")
    finally:
        conn.close(abort=True)
        server.close()
        await server.wait_closed()


CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5;name=value\r\nhello\r\n1\r\n \r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: 1\r\n\r\n")


@pytest.mark.parametrize("step", [1, 2, 3, 7, len(CHUNKED)])
async def test_chunked_reply_split_anywhere(step: int) -> None:
    reply = await read_reply([CHUNKED[i:i + step] for i in range(0, len(CHUNKED), step)])
    assert reply.status == 200 and reply.body == b"hello 0123456789abcdef" and reply.keep_alive


@pytest.mark.parametrize("reply,needle", [
    (b"HTTP/1.1 200 OK\r\n" + b"X-A: 1\r\n" * 200 + b"\r\n", "more than 100 lines"),
    (b"HTTP/1.1 100 Continue\r\n\r\n" * 20, "interim"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1_0\r\n", "malformed chunk size"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 400, "line too long"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "not followed by CRLF"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"X: 1\r\n" * 40, "trailer"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40001\r\n", "larger than"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "Content-Length"),
])
async def test_caps_and_malformed_replies(reply: bytes, needle: str) -> None:
    with pytest.raises(HttpError, match=needle):
        await read_reply([reply])
