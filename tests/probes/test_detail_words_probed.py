"""The real probers' details in Chinese: the ladder and each prober driven against the simulator
(every behaviour that fails a stage) and against hostile loopback servers (the replies the
simulator does not make), and every detail they word read through ``probes.detail_words``: no
English of ours is left, the numbers and the camera's words are. (The phrases read from the code,
one row each: ``test_detail_words.py``.) The frame stage needs FFmpeg's libraries (PyAV).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from probes.base import Cause, ProbeResult, ProbeTarget, Stage
from probes.detail_words import SYSTEM_WORDS, detail_words
from probes.frame import FrameOptions, FramePool
from probes.frame import probe as frame_probe
from probes.ladder import LadderOptions, run_ladder
from probes.onvif import OnvifOptions
from probes.onvif import probe as onvif_probe
from probes.reach import ReachOptions
from probes.reach import probe as reach_probe
from probes.rtsp import RtspOptions
from probes.rtsp import probe as rtsp_probe
from probes.sim import Auth, Behaviour, Fleet, Picture, Power, Reply, SimCamera
from probes.sim.behaviour import DESCRIBE_STATUSES
from probes.sockets import close_with_reset
from probes.stage_limit import run_stage
from probes.stages import declare
from tests.net import free_port
from tests.probes.detail_english import english_left, numbers_lost
from tests.probes.onvif_server import ACTION_FAILED, CLOSE, OPEN

# What the simulator and the servers here say in their own words (shown as they are).
CAMERA_WORDS = [*DESCRIBE_STATUSES.values(), "Unauthorized", "Method Not Allowed", "Found", "Nope",
                "Sender/NotAuthorized: Sender not Authorized", "Receiver/ActionNotSupported: Not implemented",
                "Receiver: config error for password", "login rejected for user/password pair", "admin", "'html'",
                "'Envelope'"]

LIMIT_S = 2.0
SHOW = os.environ.get("CAMWATCH_SHOW_DETAILS") == "1"  # print every detail and its Chinese (-s)
# (the camera's behaviour, the stages to run: "ladder" (with video), or one prober)
FLEET: list[tuple[Behaviour, str]] = [
    (Behaviour(), "ladder"), (Behaviour(auth=Auth.BASIC), "ladder"), (Behaviour(auth=Auth.NONE), "ladder"),
    (Behaviour(power=Power.DOWN), "ladder"), (Behaviour(power=Power.HANG), "ladder"),
    *[(Behaviour(describe_status=s), "ladder") for s in DESCRIBE_STATUSES if s != 200],
    (Behaviour(video=False), "ladder"), (Behaviour(redirect_to="rtsp://192.0.2.7:554/live"), "ladder"),
    *[(Behaviour(rtsp_reply=r), "ladder") for r in (
        Reply.GARBAGE, Reply.OVERSIZED, Reply.TLS, Reply.WRONG_CSEQ, Reply.MANY_HEADERS, Reply.BIG_SDP,
        Reply.ENDLESS_401, Reply.TRICKLE, Reply.ECHO_CREDENTIALS)],
    *[(Behaviour(onvif_reply=r), "ladder") for r in (
        Reply.ENTITY_BOMB, Reply.EXTERNAL_ENTITY, Reply.HUGE_BODY, Reply.ENDLESS_CHUNKS, Reply.GARBAGE,
        Reply.OVERSIZED, Reply.ECHO_CREDENTIALS)],
    (Behaviour(onvif=False), "ladder"), (Behaviour(onvif_not_authorized=True), "ladder"),
    (Behaviour(clock_skew_s=600), "ladder"), (Behaviour(picture=Picture.BLACK), "ladder"),
    (Behaviour(picture=Picture.FROZEN), "ladder"), (Behaviour(picture=Picture.BARS), "ladder"),
    (Behaviour(stream=False), "ladder"),
    # the frame prober on its own: the refusals it names itself
    *[(Behaviour(describe_status=s), "frame") for s in (403, 404, 453, 503)],
    (Behaviour(power=Power.DOWN), "frame"), (Behaviour(power=Power.HANG), "frame"), (Behaviour(video=False), "frame"),
    (Behaviour(rtsp_reply=Reply.GARBAGE), "frame"), (Behaviour(), "frame-wrong-password"),
    # logins: none given, a wrong one (and the back-off after it), the clock behind a login
    (Behaviour(), "rtsp-no-credentials"), (Behaviour(), "ladder-wrong-password"),
    (Behaviour(onvif_auth_time=True), "onvif-no-credentials"), (Behaviour(), "onvif-wrong-password"),
]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(len(FLEET), workers=2) as f:
        for i, (behaviour, _) in enumerate(FLEET):
            f.set_behaviour(i, behaviour)
        yield f


@pytest.fixture(scope="module")
def pool() -> Iterator[FramePool]:
    with FramePool(8, 2) as p:
        yield p


def target(cam: SimCamera, password: str | None = "", user: str | None = "") -> ProbeTarget:
    return ProbeTarget(cam.host, cam.rtsp_port, cam.rtsp_path, cam.onvif_port, cam.username if user == "" else user,
                       cam.password if password == "" else password)


Details = list[tuple[str, list[str]]]  # (detail, the camera's words in it)


def of_results(results: list[ProbeResult], warnings: tuple[str, ...] = (), device: Any = None) -> Details:
    kept = [v for v in (getattr(device, k, None) for k in ("vendor", "model", "firmware")) if v]
    return [(r.detail, kept) for r in results] + [(w, kept) for w in warnings]


async def from_fleet(fleet: Fleet, pool: FramePool) -> Details:
    frame = FrameOptions(pool=pool, open_timeout_s=3.0, read_timeout_s=2.0, live_window_s=2.0, freeze_gap_s=1.0)
    opts = LadderOptions(video=True, frame=frame, rtsp_timeout_s=LIMIT_S, onvif_timeout_s=LIMIT_S, frame_timeout_s=15.0)

    async def one(i: int, how: str) -> Details:
        cam = fleet.camera(i)
        if how in ("ladder", "ladder-wrong-password"):
            t = target(cam, "wrong-pw") if how == "ladder-wrong-password" else target(cam)
            first = await run_ladder(t, opts)
            again = await run_ladder(t, opts) if how == "ladder-wrong-password" else first  # backing off
            return [d for r in (first, again) for d in of_results(list(r.stages), r.warnings, r.device)]
        if how.startswith("frame"):
            t = target(cam, "wrong-pw") if how == "frame-wrong-password" else target(cam)
            return of_results([await frame_probe(t, frame)])
        if how == "rtsp-no-credentials":
            return of_results([await rtsp_probe(target(cam, None, None), RtspOptions())])
        t = target(cam, None, None) if how == "onvif-no-credentials" else target(cam, "wrong-pw")
        return of_results([await run_stage(Stage.ONVIF, onvif_probe, t, OnvifOptions(), LIMIT_S, Cause.ONVIF_ERROR)])

    done = await asyncio.gather(*(one(i, how) for i, (_, how) in enumerate(FLEET)))
    return [d for ds in done for d in ds]


# --- hostile loopback servers ----------------------------------------------------------------------

Answer = tuple[bytes, str]  # bytes to send, then "keep" the connection, "close" it or "reset" it


@asynccontextmanager
async def serving(reply: Callable[[bytes], Answer]) -> AsyncIterator[int]:
    """A loopback server answering each request (head and body) with *reply(request)*."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                body = await reader.readexactly(int(m.group(1))) if m else b""
                data, then = reply(head + body)
                writer.write(data)
                if then == "reset":
                    close_with_reset(writer.transport)
                    return
                await writer.drain()
                if then == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


def cseq(request: bytes) -> bytes:
    m = re.search(rb"(?i)cseq:\s*(\d+)", request)
    return m.group(1) if m else b"0"


def rtsp(status: str, headers: str = "", body: bytes = b"") -> Callable[[bytes], Answer]:
    def reply(req: bytes) -> Answer:
        length = f"Content-Length: {len(body)}\r\n" if body else ""
        return f"RTSP/1.0 {status}\r\nCSeq: {cseq(req).decode()}\r\n{headers}{length}\r\n".encode() + body, "keep"
    return reply


def raw(data: bytes, then: str = "keep") -> Callable[[bytes], Answer]:
    return lambda req: (data, then)


def redirects() -> Callable[[bytes], Answer]:
    hops = iter(range(100))
    return lambda req: rtsp("302 Found", f"Location: /hop{next(hops)}\r\n")(req)


RTSP_SERVERS: list[tuple[Callable[[bytes], Answer], bool]] = [  # (the reply, with credentials)
    (rtsp("401 Unauthorized"), True), (rtsp("401 Unauthorized", 'WWW-Authenticate: Basic realm="c"\r\n'), False),
    (rtsp("302 Found"), True), (rtsp("302 Found", "Location: http://192.0.2.7/live\r\n"), True),
    (rtsp("302 Found", "Location: /x\r\n"), True), (redirects(), True),
    (rtsp("200 OK", body=b"v=0\r\n" + b"a=x\r\n" * 8000), True), (rtsp("200 OK", body=b"v=0\r\n"), True),
    (rtsp("200 OK", "Content-Type: application/sdp\r\n"), True), (rtsp("451 Nope"), True), (rtsp("302 Found", "Location: rtsp://u:p@/x\r\n"), True),
    (raw(b"RTSP/1.0 2x0 OK\r\nCSeq: 1\r\n\r\n"), True), (raw(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nno colon\r\n\r\n"), True),
    (raw(b"RTSP/1.0 200 OK\r\n\r\n"), True), (raw(b"RTSP/1.0 200 OK\r\nCSeq: abc\r\n\r\n"), True),
    (raw(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: x\r\n\r\n"), True),
    (raw(b"", "close"), True), (raw(b"", "reset"), True),
    (raw(b"RTSP/1.0 200 OK\r\n" + (b"X-Pad: " + b"p" * 8000 + b"\r\n") * 9), True), (raw(b""), True),
]

SYSTEM_TIME = (OPEN + "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime><tt:UTCDateTime>"
               "<tt:Time><tt:Hour>{H}</tt:Hour><tt:Minute>{M}</tt:Minute><tt:Second>{S}</tt:Second></tt:Time>"
               "<tt:Date><tt:Year>{y}</tt:Year><tt:Month>{m}</tt:Month><tt:Day>{d}</tt:Day></tt:Date>"
               "</tt:UTCDateTime></tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>" + CLOSE)


def http(status: str, body: str | bytes = b"", headers: str = "", length: bool = True) -> bytes:
    data = body.encode() if isinstance(body, str) else body
    size = f"Content-Length: {len(data)}\r\n" if length else ""
    return f"HTTP/1.1 {status}\r\n{headers}{size}\r\n".encode() + data


def now_xml(**change: str) -> str:
    t = time.gmtime()
    fields = {"H": t.tm_hour, "M": t.tm_min, "S": t.tm_sec, "y": t.tm_year, "m": t.tm_mon, "d": t.tm_mday}
    return SYSTEM_TIME.format(**{**fields, **change})


def onvif(clock: bytes | None = None, device: bytes = b"", then: str = "keep") -> Callable[[bytes], Answer]:
    """The clock answered (or *clock* for it), *device* for GetDeviceInformation."""
    def reply(req: bytes) -> Answer:
        if b"GetSystemDateAndTime" in req:
            return (http("200 OK", now_xml()) if clock is None else clock), then
        return device, then
    return reply


ONVIF_SERVERS: list[tuple[Callable[[bytes], Answer], bool]] = [  # (the reply, with credentials)
    (onvif(device=http("500 X", ACTION_FAILED)), True), (onvif(device=http("404 Not Found")), True),
    (onvif(device=http("200 OK", OPEN + CLOSE)), True), (onvif(device=http("401 Unauthorized")), True),
    (onvif(http("401 Unauthorized")), False),
    *[(onvif(http("200 OK", body)), True) for body in (
        "<html/>", "<a", f'<env:Envelope xmlns:env="{OPEN.split(chr(34))[3]}"/>', OPEN + CLOSE,
        OPEN + "<tds:GetSystemDateAndTimeResponse/>" + CLOSE, now_xml(y="abc"), now_xml(m="13"),
        OPEN + "<a>" * 70 + "</a>" * 70 + CLOSE, OPEN + "<a/>" * 10_001 + CLOSE)],
    (onvif(b"HTTP/1.1 100 Continue\r\n\r\n" * 9), True),
    (onvif(http("200 OK", b"zz\r\n", "Transfer-Encoding: chunked\r\n", False)), True),
    (onvif(http("200 OK", b"5\r\nhelloXX", "Transfer-Encoding: chunked\r\n", False)), True),
    (onvif(http("200 OK", b"1;" + b"e" * 300 + b"\r\n", "Transfer-Encoding: chunked\r\n", False)), True),
    (onvif(http("200 OK", b"0\r\n" + b"X: y\r\n" * 33 + b"\r\n", "Transfer-Encoding: chunked\r\n", False)), True),
    (onvif(http("200 OK", headers="Content-Length: abc\r\n", length=False)), True),
    (onvif(http("200 OK", headers="Content-Length: 999999\r\n", length=False)), True),
    (onvif(http("200 OK", headers="no colon\r\n")), True),
    (onvif(http("200 OK", headers="X-Pad: y\r\n" * 101)), True),
    (onvif(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n<a/>", "close"), True),
    (onvif(b"", "close"), True), (onvif(b"", "reset"), True),
    (onvif(b"\x16\x03\x01\x00\x2a\x02\x00\x00\x26\x03\x03 hello\r\n\r\n"), True),
    (onvif(b"\x00\xffgarbage\r\n\r\n"), True), (onvif(b""), True),
]


async def from_servers() -> Details:
    async def one_rtsp(reply: Callable[[bytes], Answer], creds: bool) -> Details:
        async with serving(reply) as port:
            t = ProbeTarget("127.0.0.1", port, "/x", None, "admin" if creds else None, "pw" if creds else None)
            return of_results([await run_stage(Stage.RTSP, rtsp_probe, t, RtspOptions(), LIMIT_S, Cause.TIMEOUT)])

    async def one_onvif(reply: Callable[[bytes], Answer], creds: bool) -> Details:
        async with serving(reply) as port:
            t = ProbeTarget("127.0.0.1", 1, "/", port, "admin" if creds else None, "pw" if creds else None)
            r = await run_stage(Stage.ONVIF, onvif_probe, t, OnvifOptions(), LIMIT_S, Cause.ONVIF_ERROR)
            quick = await onvif_probe(t, OnvifOptions(io_timeout_s=0.3)) if reply(b"GetSystemDateAndTime")[0] == b"" else r
            return of_results([r, quick])

    async def reach(host: str, port: int, icmp: bool = False) -> Details:
        t = ProbeTarget(host, port, "/", None)
        return of_results([await run_stage(Stage.REACH, reach_probe, t, ReachOptions(icmp=icmp), LIMIT_S, Cause.UNREACHABLE)])

    async def broken(t: ProbeTarget, opts: object) -> ProbeResult:
        raise RuntimeError("a bug")

    async def prober_bug() -> Details:
        bound = declare(Stage.ONVIF, broken, options=lambda o: None, timeout=lambda o: 1.0,
                        timeout_cause=Cause.ONVIF_ERROR, enabled=lambda o: True).bind
        assert bound is not None
        return of_results([await bound(LadderOptions()).run(ProbeTarget("127.0.0.1"))])

    jobs: list[Awaitable[Details]] = [one_rtsp(r, c) for r, c in RTSP_SERVERS] + [one_onvif(r, c) for r, c in ONVIF_SERVERS]
    jobs += [reach("127.0.0.1", free_port()), reach("camwatch-no-such-camera.invalid", 554), prober_bug()]
    async with serving(rtsp("200 OK")) as port:
        jobs.append(reach("127.0.0.1", port, icmp=True))
        done = await asyncio.gather(*jobs)
    return [d for ds in done for d in ds]


async def test_real_probers_details_read_in_chinese(fleet: Fleet, pool: FramePool) -> None:
    details = await from_fleet(fleet, pool) + await from_servers()
    seen = {d for d, _ in details}
    assert len(seen) > 80, sorted(seen)  # the servers above made the probers say that many things
    bad = []
    for detail, device in details:
        zh = detail_words(detail, "zh")
        kept = [*CAMERA_WORDS, *device, *re.findall(r"\b\w+Error\b|\w+://\S+", detail),  # (a redirect's URL)
                *(s for s in SYSTEM_WORDS if s in detail)]
        # English as the probers word it, but a reply that started at once ("first reply after 0.0 s",
        # "started 0.0 s after it was sent") reads "started at once", in English too: its 0.0 alone goes
        en = detail_words(detail, "en")
        at_once = "0.0 s" in detail and "started at once" in en and "0.0 s" not in en and numbers_lost(detail, en) == ["0.0"]
        left, lost = english_left(zh, kept), numbers_lost(en, zh)
        if left or lost or (en != detail and not at_once):
            bad.append(f"{detail!r} -> {zh!r}: English {left}, numbers lost {lost}, in English {en!r}")
    assert bad == [], "\n".join(sorted(set(bad)))
    if SHOW:
        print("\n".join(sorted(f"{d}\n    {detail_words(d, 'zh')}" for d in seen)))

