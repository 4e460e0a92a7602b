"""The probers mask only the camera's words they put in a detail, never their own: a password that
is one of our words or numbers ("10", "CSeq", "camera", "SOAP") left a detail such as "no answer
within *** s", which the whole-line rule (probes.detail_words.safe_detail) then withheld for
nothing. A long clock offset reads in days in a check's words (the verdict, the work order's title).
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest

from probes import checks, detail_words
from probes.base import ProbeTarget
from probes.checks import check_words, problem_words
from probes.detail_words import safe_detail
from probes.enrich import map_error as enrich_error
from probes.frame_grab import GrabRequest, grab
from probes.onvif import OnvifOptions
from probes.onvif import probe as onvif_probe
from probes.redact import WITHHELD
from probes.rtsp import RtspOptions
from probes.rtsp import probe as rtsp_probe


@asynccontextmanager
async def answering(data: bytes) -> AsyncIterator[int]:
    """A loopback server answering every request's head with *data*."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(data)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


# -- rtsp: rtsp_wire's words are ours; the CSeq the camera answered is its own -----------------------

async def test_rtsp_keeps_its_own_words_whatever_the_password() -> None:
    async with answering(b"RTSP/1.0 200 OK\r\n\r\n") as port:
        r = await rtsp_probe(ProbeTarget("127.0.0.1", port, "/x", None, "admin", "CSeq"), RtspOptions(io_timeout_s=5))
    assert r.detail == "reply without CSeq", r  # (it read "reply without ***")
    assert safe_detail(r.detail, ("CSeq",)) == "reply without CSeq"


async def test_rtsp_masks_the_cseq_a_camera_answered_with_the_password() -> None:
    async with answering(b"RTSP/1.0 200 OK\r\nCSeq: 987654\r\n\r\n") as port:
        r = await rtsp_probe(ProbeTarget("127.0.0.1", port, "/x", None, "admin", "987654"), RtspOptions(io_timeout_s=5))
    assert re.fullmatch(r"CSeq mismatch \(sent \d, got \*\*\*\)", r.detail), r
    assert safe_detail(r.detail, ("987654",)) == WITHHELD
    async with answering(b"RTSP/1.0 200 OK\r\nCSeq: 987654\r\n\r\n") as port:
        r = await rtsp_probe(ProbeTarget("127.0.0.1", port, "/x", None, "admin", "1"), RtspOptions(io_timeout_s=5))
    assert re.fullmatch(r"CSeq mismatch \(sent 1, got 987654\)", r.detail), r  # (our "1" is not the camera's)


# -- onvif: probes.onvif_soap's words are ours; a reply's root element is the camera's --------------

def _http(body: str) -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n{body}".encode()


@pytest.mark.parametrize(("body", "password", "detail"), [
    ("<html/>", "SOAP", "not a SOAP envelope (root element 'html')"),  # (it read "not a *** envelope")
    ("<Zx9pass/>", "Zx9pass", "not a SOAP envelope (root element '***')"),
])
async def test_onvif_masks_only_the_cameras_words(body: str, password: str, detail: str) -> None:
    async with answering(_http(body)) as port:
        r = await onvif_probe(ProbeTarget("127.0.0.1", 1, "/", port, "admin", password), OnvifOptions(io_timeout_s=5))
    assert (r.ok, r.detail) == (False, detail), r


# -- enrich: the error's name is the library's, its message foreign --------------------------------

def test_enrich_masks_the_message_not_the_errors_name() -> None:
    assert enrich_error(OSError("boom"), "OSError").detail == "OSError: boom"  # (it read "***: boom")
    err = enrich_error(OSError("rtsp://admin:OSError@10.0.0.1/x said OSError " + "x" * 400), "OSError")
    assert err.detail.startswith("OSError: rtsp://admin:***@10.0.0.1/x said *** x") and len(err.detail) <= 300, err
    assert "OSError" not in err.detail[len("OSError"):]


# -- frame_grab: FFmpeg's words are foreign; ours (a limit, "camera") are not masked --------------

@contextmanager
def tcp_server(answer: bool) -> Iterator[int]:
    """A loopback port that closes each connection after the first request (*answer*), or says nothing."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    conns: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            if answer:
                conn.recv(4096)
                conn.close()
            else:
                conns.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield srv.getsockname()[1]
    finally:
        srv.close()
        for c in conns:
            c.close()


@pytest.mark.parametrize(("answer", "password", "detail"), [
    (True, "camera", "unreadable RTSP reply (invalid data from the camera)"),  # (it read "from the ***")
    (False, "1", "RTSP set-up not finished within 1 s"),  # (it read "within *** s")
])
def test_frame_grab_keeps_its_own_words_whatever_the_password(answer: bool, password: str, detail: str) -> None:
    with tcp_server(answer) as port:
        reply = grab(GrabRequest(url=f"rtsp://admin:{password}@127.0.0.1:{port}/x", open_timeout_ms=1000, secret=password))
    assert (reply.ok, reply.detail) == (False, detail), reply


# -- a long clock offset in a check's words -------------------------------------------------------

@pytest.mark.parametrize(("name", "zh", "en"), [
    ("clock:-34561234", "时钟偏差 -400 天", "clock offset -400 days"),
    ("clock:+7260", "时钟偏差 +2 小时 1 分钟", "clock offset +2 h 1 min"),
    ("clock:+600", "时钟偏差 +600 秒", "clock offset +600 s"),  # (under an hour: seconds, the limit's unit)
    ("clock:-3599", "时钟偏差 -3599 秒", "clock offset -3599 s"),
    ("clock:+inf", "时钟偏差 +inf 秒", "clock offset +inf s"),  # (not a crash)
    ("clock", "时钟偏差", "clock offset"),
])
def test_a_long_clock_offset_reads_in_days_in_a_checks_words(name: str, zh: str, en: str) -> None:
    assert (check_words(name, "zh"), check_words(name, "en")) == (zh, en)


def test_the_verdict_and_the_work_order_title_say_days() -> None:
    assert problem_words(["black", "clock:-34561234"], "zh") == "画面异常：黑屏；时钟偏差 -400 天"
    assert problem_words(["clock:-34561234"], "en", title=True) == "clock offset -400 days"
    assert detail_words.offset_words is checks.offset_words  # (one rule; probes.checks stays a leaf: no cycle)
