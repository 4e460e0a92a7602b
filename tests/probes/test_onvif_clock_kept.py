"""A clock read is kept whatever fails after it (the reviewer's onvif2.py, ports 8201-8205).

GetSystemDateAndTime answers with a clock 10 minutes off, then GetDeviceInformation stalls,
gets a web page, a closed connection, a SOAP fault or an envelope without its response. Only the
refusal and the fault used to keep the clock: after the others the camera was "online" with no
clock offset, so a wrong clock (the clock check: degraded) went unseen. Loopback servers
(``tests/probes/onvif_server.py``); the stage limit is the ladder's own mechanism.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from probes.base import Cause, ProbeTarget, Stage
from probes.ladder import LadderOptions, run_ladder
from probes.onvif import OnvifInfo, OnvifOptions
from probes.onvif import probe as onvif_probe
from probes.stage_limit import run_stage
from tests.probes.onvif_server import Behave, OnvifTestServer
from tests.probes.rtsp_servers import RtspTestServer, ServerConfig

PW = "s3cret-pw"
SKEW_S = -600.0
LIMIT_S = 1.0


@pytest.fixture
async def onvif() -> AsyncIterator[OnvifTestServer]:
    srv = await OnvifTestServer(Behave(password=PW, skew_s=SKEW_S)).start()
    try:
        yield srv
    finally:
        await srv.close()


def target(onvif_port: int, rtsp_port: int = 1) -> ProbeTarget:
    return ProbeTarget("127.0.0.1", rtsp_port, "/stream", onvif_port, "admin", PW)


def clock_kept(data: object) -> float:
    assert isinstance(data, OnvifInfo) and data.device is None, data
    assert data.clock_offset_s is not None and abs(data.clock_offset_s - SKEW_S) < 1.5, data
    return data.clock_offset_s


@pytest.mark.parametrize(("reply", "words"), [
    # 8201: stalls (the stage limit's expiry; "sent after 0.1 s" on a busy machine)
    ("hang", r"no answer to GetDeviceInformation( \(sent after 0\.\d s\))? within 1 s"),
    ("html", r"not a SOAP envelope \(root element 'html'\)"),  # 8202: a web page
    ("close", "bad HTTP reply: connection closed before the reply"),  # 8203: the connection dropped
    ("fault200", r"HTTP 200 fault Receiver/ActionNotSupported: Not implemented"),  # 8205 (kept before too)
    ("empty", "no GetDeviceInformationResponse in the reply"),
])
async def test_every_failure_after_the_clock_keeps_it(onvif: OnvifTestServer, reply: str, words: str) -> None:
    onvif.behave.device_reply = reply
    r = await run_stage(Stage.ONVIF, onvif_probe, target(onvif.port), OnvifOptions(), LIMIT_S, Cause.ONVIF_ERROR)
    assert (r.ok, r.cause) == (False, Cause.ONVIF_ERROR), r
    offset = clock_kept(r.data)
    assert re.fullmatch(words + re.escape(f" (clock offset {offset:+.1f} s)"), r.detail), r.detail
    assert [s.action for s in onvif.seen][:1] == ["GetSystemDateAndTime"]


async def test_the_backstop_timeout_keeps_the_clock_too(onvif: OnvifTestServer) -> None:
    """A direct caller's ``io_timeout_s`` (no stage limit around the prober)."""
    onvif.behave.device_reply = "hang"
    r = await onvif_probe(target(onvif.port), OnvifOptions(io_timeout_s=LIMIT_S))
    offset = clock_kept(r.data)
    assert (r.cause, r.detail) == (Cause.ONVIF_ERROR, f"timed out (clock offset {offset:+.1f} s)"), r


async def test_a_failure_before_the_clock_has_none(onvif: OnvifTestServer) -> None:
    onvif.behave.hang = True
    r = await run_stage(Stage.ONVIF, onvif_probe, target(onvif.port), OnvifOptions(), LIMIT_S, Cause.ONVIF_ERROR)
    assert (r.cause, r.detail, r.data) == (Cause.ONVIF_ERROR, f"no answer within {LIMIT_S:g} s", None), r


@pytest.mark.parametrize("reply", ["hang", "html", "close"])
async def test_the_ladder_calls_the_camera_degraded_by_its_clock(onvif: OnvifTestServer, reply: str) -> None:
    """``camwatch probe`` said "online" with ``clock_offset_s: null``; it is degraded, ``clock``."""
    onvif.behave.device_reply = reply
    async with RtspTestServer(ServerConfig(auth="none")) as rtsp:
        opts = LadderOptions(onvif_timeout_s=LIMIT_S, clock_skew_s=60.0)
        res = await run_ladder(target(onvif.port, rtsp.port), opts)
    assert (res.state, res.cause, res.clock_skewed) == ("degraded", None, True), res
    assert res.failed_checks == ("clock",) and res.clock_offset_s is not None
    assert abs(res.clock_offset_s - SKEW_S) < 1.5 and res.warnings and "clock offset" in res.warnings[0], res
