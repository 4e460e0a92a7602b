"""Replies of the reviewer's hostile cameras the rtsp prober once misnamed, against loopback servers:

* a 401 it cannot answer (no challenge at all, or only NTLM) was ``auth_failed`` ("wrong user name or
  password", a lockout hint) though no password was sent: it is ``protocol_error`` naming what the
  camera asks for; two Digest challenges in one comma-separated line (RFC 7235) are read, not ignored;
* a 200 to DESCRIBE with no SDP at all, or a reply in RTSP/2.0, was ``stream_unavailable`` ("no video
  track in SDP"): it is ``protocol_error``; an SDP without a video track still is ``stream_unavailable``.
"""

from __future__ import annotations

import pytest

from probes.base import Cause, ProbeTarget, Stage
from probes.rtsp import RtspOptions
from probes.rtsp import probe as rtsp_probe
from probes.rtsp_auth import choose_challenge, offered_schemes, split_challenges
from probes.rtsp_state import RtspState
from tests.probes.rtsp_servers import AUDIO_SDP, RtspTestServer, ServerConfig
from tests.probes.test_probe_words import cseq_of, serving

PW = "s3cret-pw"


def target(srv: RtspTestServer, password: str = PW) -> ProbeTarget:
    return ProbeTarget(srv.host, srv.port, "/ch1", None, "admin", password)


# --- a 401 that cannot be answered -----------------------------------------------------------------

@pytest.mark.parametrize(("www", "detail"), [
    ((), "401 without an authentication challenge (no WWW-Authenticate)"),  # auth2.py 8304
    (("NTLM",), "camera asks for an authentication scheme camwatch does not support (NTLM)"),  # auth2.py 8303
    (("Negotiate, NTLM",), "camera asks for an authentication scheme camwatch does not support (Negotiate, NTLM)"),
    (('Digest realm="cam", nonce="n", algorithm=SHA-512-256',),
     "camera asks for an authentication scheme camwatch does not support (Digest SHA-512-256)"),
])
async def test_a_401_offering_nothing_usable_is_a_protocol_error_and_no_login(www: tuple[str, ...], detail: str) -> None:
    state = RtspState()
    async with RtspTestServer(ServerConfig(auth="digest", password=PW, www_authenticate=www)) as srv:
        r = await rtsp_probe(target(srv), RtspOptions(state=state))
        assert (r.ok, r.cause, r.detail) == (False, Cause.PROTOCOL_ERROR, detail), r
        assert srv.logins == 0 and srv.count("DESCRIBE") == 1  # no password sent, nothing asked twice
    assert r.data.status == 401
    assert state.backoff_remaining((srv.host, srv.port), "admin", PW) == 0  # no failed login: no back-off


async def test_a_401_offering_nothing_usable_without_credentials_still_says_none_were_given() -> None:
    async with RtspTestServer(ServerConfig(auth="digest", www_authenticate=("NTLM",))) as srv:
        r = await rtsp_probe(ProbeTarget(srv.host, srv.port, "/ch1", None), RtspOptions())
    assert (r.cause, r.detail) == (Cause.AUTH_FAILED, "401 Unauthorized (no credentials given)"), r


async def test_the_scheme_a_camera_names_is_camera_text_masked() -> None:
    async with RtspTestServer(ServerConfig(auth="digest", password=PW, www_authenticate=(f"X-{PW.upper()}",))) as srv:
        r = await rtsp_probe(target(srv), RtspOptions())
    assert r.cause is Cause.PROTOCOL_ERROR and r.detail.endswith("(X-***)"), r.detail


def test_two_challenges_in_one_line_are_split() -> None:
    line = ('Digest realm="cam", nonce="abc123", algorithm=SHA-256, qop="auth", '
            'Digest realm="cam", nonce="abc", algorithm=MD5')  # auth2.py 8306
    assert split_challenges(line) == ['Digest realm="cam", nonce="abc123", algorithm=SHA-256, qop="auth"',
                                      'Digest realm="cam", nonce="abc", algorithm=MD5']
    ch = choose_challenge([line])
    assert ch is not None and (ch.scheme, ch.nonce, ch.algorithm) == ("digest", "abc123", "SHA-256")
    assert split_challenges('Basic realm="a, b", Digest realm="x, y", nonce="n", NTLM') == [
        'Basic realm="a, b"', 'Digest realm="x, y", nonce="n"', "NTLM"]
    assert split_challenges('Negotiate YWJj==, Basic realm = "r"') == ["Negotiate YWJj==", 'Basic realm = "r"']
    assert split_challenges('Digest realm="q\\", r", nonce="n"') == ['Digest realm="q\\", r", nonce="n"']
    assert offered_schemes(["NTLM", "Negotiate abc==, NTLM"]) == ["NTLM", "Negotiate"]
    assert offered_schemes([]) == []


@pytest.mark.parametrize(("password", "cause"), [(PW, None), ("wrong", Cause.AUTH_FAILED)])
async def test_two_digest_challenges_in_one_line_are_answered(password: str, cause: Cause | None) -> None:
    """auth2.py 8306 was "401 without a supported challenge": the camera's one line offers two Digest
    challenges; the first (the server's own) is answered, and the outcome is the password's."""
    cfg = ServerConfig(auth="digest", password=PW, combined_with='Digest realm="other", nonce="zzz", algorithm=MD5')
    async with RtspTestServer(cfg) as srv:
        r = await rtsp_probe(target(srv, password), RtspOptions())
        assert srv.logins >= 1 and srv.requests[-1].headers["authorization"].startswith("Digest ")
    assert r.cause is cause, r
    if cause is not None:
        assert r.detail.startswith("credentials refused (401"), r.detail


# --- a 200 without SDP, a reply in RTSP/2.0 ---------------------------------------------------------

async def scripted(reply: bytes) -> object:
    """Probe a camera answering every request with *reply* (its CSeq echoed)."""

    def answer(head: bytes) -> bytes:
        return reply.replace(b"CSeq: 1", b"CSeq: " + cseq_of(head))

    async def body(port: int) -> object:
        return await rtsp_probe(ProbeTarget("127.0.0.1", port, "/ch1", None), RtspOptions())

    return await serving(answer, body)


@pytest.mark.parametrize(("reply", "detail"), [
    (b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n", "reply to DESCRIBE without SDP"),  # misc.py 8504
    (b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Length: 2\r\n\r\n\r\n", "reply to DESCRIBE without SDP"),
    (b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nContent-Type: text/html\r\nContent-Length: 24\r\n\r\n<html>login</html>\r\n\r\n\r\n",
     "reply to DESCRIBE is not SDP"),
    (b"RTSP/2.0 200 OK\r\nCSeq: 1\r\n\r\n", "camera answered in RTSP/2.0, not RTSP/1.0"),  # hostile.py 8022
    (b"RTSP/x.y 200 OK\r\nCSeq: 1\r\n\r\n", "bad RTSP status line"),
])
async def test_a_reply_without_sdp_or_not_rtsp_1_is_a_protocol_error(reply: bytes, detail: str) -> None:
    r = await scripted(reply)
    assert (r.ok, r.cause, r.detail) == (False, Cause.PROTOCOL_ERROR, detail), r  # type: ignore[attr-defined]


async def test_an_sdp_without_video_is_still_stream_unavailable() -> None:
    async with RtspTestServer(ServerConfig(sdp=AUDIO_SDP)) as srv:
        r = await rtsp_probe(target(srv), RtspOptions())
    assert (r.cause, r.detail) == (Cause.STREAM_UNAVAILABLE, "no video track in SDP"), r


# --- a timeout names the request that was not answered (hostile.py 8004) ---------------------------

async def answering(turns: list[bytes | None]) -> object:
    """The ladder's rtsp stage (1 s limit) against a camera answering its requests in turn with
    *turns* (``None``: silence; a reply ending without its blank line: it stops there)."""
    import asyncio

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for turn in turns:
                head = await reader.readuntil(b"\r\n\r\n")
                if turn is None:
                    break
                writer.write(turn.replace(b"CSeq: 1", b"CSeq: " + cseq_of(head)))
                await writer.drain()
            await reader.read()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    from probes.stage_limit import run_stage

    async def body(port: int) -> object:
        t = ProbeTarget("127.0.0.1", port, "/ch1", None, "admin", PW)
        return await run_stage(Stage.RTSP, rtsp_probe, t, RtspOptions(), 1.0, Cause.TIMEOUT)

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        return await body(server.sockets[0].getsockname()[1])
    finally:
        server.close()


NOT_VALID = b"RTSP/1.0 455 Method Not Valid in This State\r\nCSeq: 1\r\n\r\n"
OPTIONS_OK = b"RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n"
BASIC_401 = b'RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Basic realm="cam"\r\n\r\n'


@pytest.mark.parametrize(("turns", "words", "zh"), [
    # 455 to DESCRIBE, OPTIONS answered, the DESCRIBE sent again never: "first reply after 0.0 s" once
    ([NOT_VALID, OPTIONS_OK, None], r"no answer to DESCRIBE( \(sent after 0\.\d s\))? within 1 s",
     r"DESCRIBE 请求(（0\.\d 秒时发出）在)? ?1 秒(时限)?内无应答"),
    # a 401 at once, then the first line of the answer to the login (at once) and nothing more: read
    # "started at once", not "发出 0.0 秒后" (a loaded machine may take a tenth of a second: then so worded)
    ([BASIC_401, b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n"],
     r"reply to DESCRIBE too slow: started 0\.\d s after it was sent, not finished within 1 s",
     r"DESCRIBE 请求应答过慢：(发出后立即开始应答，但 |发出 0\.[1-9] 秒后才开始应答，)1 秒内未完成"),
    # silent from the start: as before
    ([None], r"no answer within 1 s", r"1 秒内无应答"),
])
async def test_a_timeout_names_the_request_it_waited_on(turns: list[bytes | None], words: str, zh: str) -> None:
    import re

    from probes.detail_words import detail_words

    r = await answering(turns)
    assert (r.ok, r.cause) == (False, Cause.TIMEOUT), r  # type: ignore[attr-defined]
    assert re.fullmatch(words, r.detail), r.detail  # type: ignore[attr-defined]
    assert "first reply after 0.0 s" not in r.detail  # type: ignore[attr-defined]
    assert re.fullmatch(zh, detail_words(r.detail, "zh")), detail_words(r.detail, "zh")  # type: ignore[attr-defined]
    shown = detail_words(r.detail, "en")  # type: ignore[attr-defined]
    assert "0.0 s" not in shown and ("started at once" in shown) == ("0.0 s" in r.detail), shown  # type: ignore[attr-defined]
