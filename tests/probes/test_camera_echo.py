"""A camera that repeats our credentials in what it sends back (its 401 reason phrase and Server
header, its ONVIF fault and HTTP reason phrase) never gets any part of the password into a probe's
detail, data, warnings or JSON: camera text is masked before it is cut (``probes.redact.camera_text``).

The cameras are the simulator's (``Reply.ECHO_CREDENTIALS``) and a loopback HTTP server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from typing import Any

import pytest

from probes.base import Cause, ProbeResult, ProbeTarget
from probes.frame import FrameOptions
from probes.frame import probe as frame_probe
from probes.ladder import LadderOptions, LadderResult, run_ladder
from probes.onvif import OnvifOptions
from probes.onvif import probe as onvif_probe
from probes.redact import MASK, camera_text
from probes.rtsp import RtspOptions
from probes.sim import Auth, Behaviour, Fleet, Reply

PASSWORD = "p@ss:w/rd!9"  # (":", "/", "@": its percent-encoded form differs)


def runs(secret: str, n: int = 3) -> set[str]:
    return {secret[i : i + n] for i in range(len(secret) - n + 1)}


def leaked(text: str) -> set[str]:
    """The 3-character runs of the password in *text*."""
    return {r for r in runs(PASSWORD) if r in text}


def as_json(value: Any) -> str:
    def default(o: Any) -> Any:
        if is_dataclass(o) and not isinstance(o, type):
            return asdict(o)
        return repr(o)

    return json.dumps(value, default=default, ensure_ascii=False)


def everything(r: ProbeResult | LadderResult) -> str:
    """All a probe gives back, as text and as JSON (as ``camwatch probe --json`` prints it)."""
    if isinstance(r, LadderResult):
        stages = [{"stage": str(s.stage), "cause": str(s.cause), "detail": s.detail, "data": s.data} for s in r.stages]
        doc = {"state": r.state, "cause": str(r.cause), "stages": stages, "warnings": list(r.warnings), "device": r.device}
    else:
        doc = {"stage": str(r.stage), "detail": r.detail, "data": r.data}
    return repr(r) + "\n" + as_json(doc)


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(1, workers=1, password=PASSWORD) as f:
        f.set_behaviour(0, Behaviour(auth=Auth.BASIC, rtsp_reply=Reply.ECHO_CREDENTIALS,
                                     onvif_reply=Reply.ECHO_CREDENTIALS))
        yield f


def target(fleet: Fleet) -> ProbeTarget:
    cam = fleet.camera(0)
    return ProbeTarget(cam.host, cam.rtsp_port, cam.rtsp_path, cam.onvif_port, cam.username, cam.password)


def test_camera_text_masks_before_it_cuts() -> None:
    text = "login rejected for user/password pair ............admin:" + PASSWORD
    assert len(text) > 64 > text.index(PASSWORD)  # the cut falls inside the password
    for limit in range(1, len(text) + 5):
        shown = camera_text(text, (PASSWORD,), limit)
        assert not leaked(shown) and len(shown) <= limit, shown
    assert camera_text(text, (PASSWORD,), 200).endswith("admin:" + MASK)
    encoded = "x" * 50 + "p%40ss%3Aw%2Frd%219"
    assert camera_text(encoded, (PASSWORD,), 60) == "x" * 50 + MASK
    assert camera_text("a\x00b\x1b[31m", (), 10) == "a?b?[31m"


async def test_rtsp_401_echoing_the_credentials(fleet: Fleet) -> None:
    """The simulator's echo: ``401 login rejected for user/password pair .admin:p@ss:w/rd!9
    ..admin:...`` and a Server header of the same (once cut at 64 and 120 characters, then masked)."""
    res = await run_ladder(target(fleet), LadderOptions(rtsp=RtspOptions(), use_onvif=False))
    assert res.cause is Cause.AUTH_FAILED, res
    rtsp = res.stages[-1]
    assert "login rejected" in rtsp.detail and MASK in rtsp.detail, rtsp.detail
    assert MASK in rtsp.data.server, rtsp.data
    assert not leaked(everything(res)), (leaked(everything(res)), everything(res))


async def test_onvif_fault_echoing_the_password(fleet: Fleet) -> None:
    r = await onvif_probe(target(fleet), OnvifOptions())
    assert not r.ok and r.cause in (Cause.ONVIF_ERROR, Cause.ONVIF_AUTH_FAILED), r
    assert "config error for password" in r.detail and MASK in r.detail, r.detail
    assert not leaked(everything(r)), r.detail
    # ... and as a warning of the ladder (the rtsp stage answers: the echo is ONVIF's only)
    fleet.set_behaviour(0, Behaviour(onvif_reply=Reply.ECHO_CREDENTIALS))
    try:
        res = await run_ladder(target(fleet), LadderOptions(rtsp=RtspOptions()))
    finally:
        fleet.set_behaviour(0, Behaviour(auth=Auth.BASIC, rtsp_reply=Reply.ECHO_CREDENTIALS,
                                         onvif_reply=Reply.ECHO_CREDENTIALS))
    assert res.state == "online" and res.warnings, res
    assert not leaked(everything(res)), res.warnings


async def test_onvif_http_reason_echoing_the_password() -> None:
    """A 500 without a SOAP body: the HTTP reason phrase is the camera's words (once shown uncut
    but masked only as a whole, so a cut elsewhere could split it)."""
    reason = " ".join("." * i + PASSWORD for i in range(1, 12))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 500 {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        r = await onvif_probe(ProbeTarget("127.0.0.1", 1, "/", port, "admin", PASSWORD), OnvifOptions())
    finally:
        server.close()
    assert not r.ok and r.detail.startswith("HTTP 500 ."), r.detail
    assert not leaked(everything(r)), r.detail


async def test_frame_stage_against_the_echoing_camera(fleet: Fleet) -> None:
    r = await frame_probe(target(fleet), FrameOptions(freeze_check=False, open_timeout_s=5.0))
    assert not r.ok and r.cause is Cause.AUTH_FAILED, r
    assert not leaked(everything(r)), r.detail


# --- a camera that changes the case of what it echoes (the reviewer's ports 8011 and 8019) ---------

CASE_PASSWORD = "S3cret-pw"


def forms_of(user: str, password: str) -> list[str]:
    """What of a login a camera may echo, compared in any case: the password as it is and
    percent-encoded, and the Basic token (``base64(user:password)``)."""
    import base64
    from urllib.parse import quote

    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return [password, quote(password, safe=""), token]


def shows_the_password(text: str, user: str = "admin", password: str = CASE_PASSWORD) -> list[str]:
    low = text.casefold()
    return [f for f in forms_of(user, password) if f.casefold() in low]


@pytest.mark.parametrize(("echo", "cause", "words"), [
    # 200 with the login in the SDP's encoding name (upper-cased by the SDP reader) and Server header
    ("sdp", None, "H264-admin:*** basic auth"),
    # 404 whose reason phrase repeats the login upper-cased
    ("reason", Cause.STREAM_UNAVAILABLE, "404 Not Found ADMIN:***"),
])
async def test_a_camera_echoing_the_login_in_another_case(echo: str, cause: Cause | None, words: str) -> None:
    from probes.detail_words import detail_words, safe_detail
    from tests.probes.rtsp_servers import RtspTestServer, ServerConfig

    async with RtspTestServer(ServerConfig(auth="basic", password=CASE_PASSWORD, echo=echo)) as srv:
        t = ProbeTarget(srv.host, srv.port, "/ch1", None, "admin", CASE_PASSWORD)
        res = await run_ladder(t, LadderOptions(rtsp=RtspOptions(), use_onvif=False))
    assert res.cause is cause, res
    rtsp = res.stages[-1]
    assert rtsp.detail == words, rtsp.detail  # (the rest of the reply is kept: only the password goes)
    shown = [everything(res), rtsp.detail, detail_words(rtsp.detail, "zh"), safe_detail(rtsp.detail, (CASE_PASSWORD,))]
    for text in shown:
        assert shows_the_password(text) == [], text
