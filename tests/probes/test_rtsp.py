"""The rtsp prober against real loopback RTSP servers (tests/probes/rtsp_servers.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from probes.base import PROBERS, Cause, ProbeTarget, Stage
from probes.rtsp import RtspInfo, RtspOptions, probe
from probes.rtsp_state import BackoffPolicy, RtspState
from tests.probes.rtsp_servers import AUDIO_SDP, RtspTestServer, ServerConfig, free_port

PW = "s3cret:pw"


def target(srv: RtspTestServer, *, user: str | None = "admin", password: str | None = PW, path: str = "/stream") -> ProbeTarget:
    return ProbeTarget(host=srv.host, rtsp_port=srv.port, rtsp_path=path, username=user, password=password)


@pytest.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[RtspTestServer]:
    cfg = getattr(request, "param", ServerConfig())
    async with RtspTestServer(cfg) as srv:
        yield srv


def test_registered() -> None:
    assert PROBERS[Stage.RTSP] is probe


@pytest.mark.parametrize("auth", ["none", "basic", "digest", "digest2069"])
async def test_auth_schemes_ok(auth: str) -> None:
    async with RtspTestServer(ServerConfig(auth=auth)) as srv:
        r = await probe(target(srv), RtspOptions())
    assert r.ok, r
    assert r.stage is Stage.RTSP and r.cause is None
    info = r.data
    assert isinstance(info, RtspInfo)
    assert (info.status, info.codec, info.width, info.height) == (200, "H264", 1920, 1080)
    assert info.server == "TestCam/1.0"
    assert info.auth_scheme == (None if auth == "none" else auth.removesuffix("2069"))
    assert srv.count("OPTIONS") == 0  # not needed by this camera
    assert srv.count("DESCRIBE") == (1 if auth == "none" else 2)
    if auth.startswith("digest"):
        last = srv.requests[-1].headers["authorization"]
        assert last.startswith("Digest ")
        assert ("qop=auth" in last) == (auth == "digest")
        assert PW not in last


async def test_nonce_reused_second_probe_is_one_describe() -> None:
    opts = RtspOptions()
    async with RtspTestServer(ServerConfig(auth="digest")) as srv:
        assert (await probe(target(srv), opts)).ok
        assert (srv.count("DESCRIBE"), srv.unauthorized) == (2, 1)
        for i in range(3):
            r = await probe(target(srv), opts)
            assert r.ok, r
            assert srv.count("DESCRIBE") == 3 + i  # one DESCRIBE each, no 401
        assert srv.unauthorized == 1
        ncs = [r.headers["authorization"].split("nc=")[1][:8] for r in srv.requests if "authorization" in r.headers]
        assert ncs == ["00000001", "00000002", "00000003", "00000004"]


@pytest.mark.parametrize("auth", ["basic", "digest2069"])
async def test_challenge_reused_basic_and_rfc2069(auth: str) -> None:
    opts = RtspOptions()
    async with RtspTestServer(ServerConfig(auth=auth)) as srv:
        assert (await probe(target(srv), opts)).ok
        assert (await probe(target(srv), opts)).ok
        assert (srv.count("DESCRIBE"), srv.unauthorized) == (3, 1)


@pytest.mark.parametrize("stale_flag", [True, False])
async def test_stale_nonce_retried_once(stale_flag: bool) -> None:
    opts = RtspOptions()
    async with RtspTestServer(ServerConfig(auth="digest", stale_flag=stale_flag)) as srv:
        assert (await probe(target(srv), opts)).ok
        srv.rotate_nonce()
        before = srv.count("DESCRIBE")
        r = await probe(target(srv), opts)
        assert r.ok, r
        assert srv.count("DESCRIBE") - before == 2
        assert (await probe(target(srv), opts)).ok  # the new nonce is cached now
        assert srv.count("DESCRIBE") - before == 3


@pytest.mark.parametrize("new_nonce_each_401", [False, True])
async def test_wrong_password_one_attempt_then_backoff(new_nonce_each_401: bool) -> None:
    state = RtspState(BackoffPolicy(base_s=60, factor=2, max_s=3600))
    opts = RtspOptions(state=state)
    cfg = ServerConfig(auth="digest", new_nonce_each_401=new_nonce_each_401)
    async with RtspTestServer(cfg) as srv:
        r = await probe(target(srv, password="wrong"), opts)
        assert not r.ok and r.cause is Cause.AUTH_FAILED
        assert r.data.status == 401 and r.data.auth_scheme == "digest"
        # exactly one login attempt (unauthenticated DESCRIBE + one answer): cameras count bad logins
        assert srv.count("DESCRIBE") == 2
        seen = srv.connections
        r2 = await probe(target(srv, password="wrong"), opts)
        assert r2.cause is Cause.AUTH_FAILED and "backing off" in r2.detail
        assert srv.connections == seen  # the camera was not contacted
        # new credentials are tried at once
        r3 = await probe(target(srv), opts)
        assert r3.ok, r3


async def test_backoff_grows_and_resets() -> None:
    now = [1000.0]
    state = RtspState(BackoffPolicy(base_s=10, factor=2, max_s=25), clock=lambda: now[0])
    key = ("127.0.0.1", 554)
    assert state.record_auth_failure(key, "a", "b") == 10
    assert state.backoff_remaining(key, "a", "b") == 10
    now[0] += 10
    assert state.backoff_remaining(key, "a", "b") == 0
    assert state.record_auth_failure(key, "a", "b") == 20
    assert state.record_auth_failure(key, "a", "b") == 25  # capped
    assert state.backoff_remaining(key, "a", "other") == 0  # credentials changed
    assert state.record_auth_failure(key, "a", "b") == 10
    state.record_auth_success(key)
    assert state.backoff_remaining(key, "a", "b") == 0


async def test_no_credentials_401_is_auth_failed_without_backoff() -> None:
    opts = RtspOptions()
    async with RtspTestServer(ServerConfig(auth="basic")) as srv:
        r = await probe(target(srv, user=None, password=None), opts)
        assert r.cause is Cause.AUTH_FAILED and "no credentials" in r.detail
        r = await probe(target(srv, user=None, password=None), opts)
        assert r.cause is Cause.AUTH_FAILED and "backing off" not in r.detail
        assert srv.count("DESCRIBE") == 2


@pytest.mark.parametrize("status", [404, 453, 454, 503])
async def test_stream_unavailable_statuses(status: int) -> None:
    async with RtspTestServer(ServerConfig(describe_status=status, reason="Nope")) as srv:
        r = await probe(target(srv), RtspOptions())
    assert not r.ok and r.cause is Cause.STREAM_UNAVAILABLE
    assert r.detail.startswith(str(status)) and r.data.status == status


async def test_403_is_auth_failed() -> None:
    async with RtspTestServer(ServerConfig(describe_status=403, reason="Forbidden")) as srv:
        r = await probe(target(srv), RtspOptions())
    assert r.cause is Cause.AUTH_FAILED


async def test_audio_only_is_stream_unavailable() -> None:
    async with RtspTestServer(ServerConfig(sdp=AUDIO_SDP)) as srv:
        r = await probe(target(srv), RtspOptions())
    assert r.cause is Cause.STREAM_UNAVAILABLE and "no video" in r.detail


@pytest.mark.parametrize(
    ("mode", "words"),
    [("wrong_cseq", "CSeq"), ("big_header", "longer than"), ("garbage", "not an RTSP reply")],
)
async def test_protocol_errors(mode: str, words: str) -> None:
    async with RtspTestServer(ServerConfig(mode=mode)) as srv:
        r = await probe(target(srv), RtspOptions())
    assert not r.ok and r.cause is Cause.PROTOCOL_ERROR
    assert words in r.detail


async def test_reply_size_cap_is_an_option() -> None:
    async with RtspTestServer(ServerConfig()) as srv:
        r = await probe(target(srv), RtspOptions(max_reply_bytes=200))  # SDP body does not fit
    assert r.cause is Cause.PROTOCOL_ERROR and "larger than 200" in r.detail


async def test_redirect_followed_keeps_credentials_on_same_host() -> None:
    async with RtspTestServer(ServerConfig(auth="digest")) as final:
        cfg = ServerConfig(describe_status=302, reason="Found", location=final.url("/real"))
        async with RtspTestServer(cfg) as first:
            r = await probe(target(first), RtspOptions())
    assert r.ok, r
    assert r.data.url == final.url("/real")
    assert [q.url for q in final.requests] == [final.url("/real")] * 2


async def test_redirect_loop_and_limit() -> None:
    async with RtspTestServer(ServerConfig(describe_status=301, reason="Moved")) as srv:
        srv.cfg.location = srv.url("/stream")  # to itself
        r = await probe(target(srv), RtspOptions())
        assert r.cause is Cause.PROTOCOL_ERROR and "loop" in r.detail
        assert srv.count("DESCRIBE") == 1
    servers = [RtspTestServer(ServerConfig(describe_status=302, reason="Found")) for _ in range(4)]
    for s in servers:
        await s.start()
    try:
        for a, b in zip(servers, servers[1:], strict=False):
            a.cfg.location = b.url("/next")
        servers[-1].cfg.location = servers[0].url("/again")  # a long cycle
        r = await probe(target(servers[0]), RtspOptions(max_redirects=2))
        assert r.cause is Cause.PROTOCOL_ERROR and "more than 2 redirects" in r.detail
        assert servers[3].count("DESCRIBE") == 0
    finally:
        for s in servers:
            await s.close()


async def test_teardown_sent_when_session_given() -> None:
    async with RtspTestServer(ServerConfig(auth="digest", session="A1B2C3")) as srv:
        r = await probe(target(srv), RtspOptions())
        assert r.ok
        for _ in range(100):  # the TEARDOWN is written, not awaited: give the server a moment
            if srv.count("TEARDOWN"):
                break
            await asyncio.sleep(0.01)
    td = [q for q in srv.requests if q.method == "TEARDOWN"]
    assert len(td) == 1 and td[0].headers["session"] == "A1B2C3"
    assert td[0].headers["authorization"].startswith("Digest ")


async def test_no_teardown_without_session() -> None:
    async with RtspTestServer(ServerConfig()) as srv:
        assert (await probe(target(srv), RtspOptions())).ok
        await asyncio.sleep(0.05)
    assert srv.count("TEARDOWN") == 0


async def test_one_session_per_camera() -> None:
    opts = RtspOptions()
    async with RtspTestServer(ServerConfig(auth="digest", delay_s=0.03)) as srv:
        results = await asyncio.gather(*(probe(target(srv), opts) for _ in range(5)))
        assert all(r.ok for r in results)
        assert srv.connections == 5 and srv.max_active == 1
        # Without a shared state (different RtspOptions), they do overlap: the lock is what serialises.
        srv.max_active = 0
        await asyncio.gather(*(probe(target(srv), RtspOptions()) for _ in range(3)))
        assert srv.max_active > 1


async def test_options_sent_only_when_camera_needs_it() -> None:
    opts = RtspOptions()
    async with RtspTestServer(ServerConfig(require_options=True)) as srv:
        r = await probe(target(srv), opts)
        assert r.ok, r
        assert [q.method for q in srv.requests] == ["DESCRIBE", "OPTIONS", "DESCRIBE"]
        srv.requests.clear()
        assert (await probe(target(srv), opts)).ok
        assert [q.method for q in srv.requests] == ["OPTIONS", "DESCRIBE"]  # learned


async def test_reconnect_when_camera_closes_after_401() -> None:
    async with RtspTestServer(ServerConfig(auth="digest", mode="close_after_401")) as srv:
        r = await probe(target(srv), RtspOptions())
    assert r.ok, r
    assert srv.connections == 2


async def test_reset_after_401_reconnects_and_answers() -> None:
    """The camera resets the connection when the authorised request arrives on it (what a
    camera that closed after its 401 does to a request written before its FIN was seen)."""
    for _ in range(20):
        async with RtspTestServer(ServerConfig(auth="digest", mode="reset_after_401")) as srv:
            r = await probe(target(srv), RtspOptions())
            assert r.ok, r
            assert srv.connections == 2 and srv.logins == 2  # the one lost to the reset, the one answered


async def test_connection_close_header_moves_the_login_to_a_new_connection() -> None:
    async with RtspTestServer(ServerConfig(auth="digest", mode="says_close_after_401")) as srv:
        r = await probe(target(srv), RtspOptions())
        assert r.ok, r
        assert srv.connections == 2 and srv.conn_logins == {2: 1}  # nothing sent after "close"


async def test_reset_on_every_login_stops_after_two_attempts() -> None:
    async with RtspTestServer(ServerConfig(auth="digest", mode="reset_on_login")) as srv:
        r = await probe(target(srv), RtspOptions())
        assert r.cause is Cause.PROTOCOL_ERROR and "reset" in r.detail
        assert srv.logins == 2 and srv.connections == 2


async def test_reply_trickled_byte_by_byte_is_read() -> None:
    async with RtspTestServer(ServerConfig(auth="digest", mode="trickle")) as srv:
        r = await probe(target(srv), RtspOptions())
    assert r.ok, r
    assert (r.data.codec, r.data.width) == ("H264", 1920)


@pytest.mark.parametrize("with_credentials", [False, True])
async def test_redirect_to_another_host_not_followed(with_credentials: bool) -> None:
    async with RtspTestServer(ServerConfig(auth="digest"), host="127.0.0.2") as other:
        loc = other.url("/x", "admin", PW) if with_credentials else other.url("/x")
        for auth in ("none", "digest"):  # before and after our login
            cfg = ServerConfig(auth=auth, describe_status=302, reason="Found", location=loc)
            async with RtspTestServer(cfg) as srv:
                r = await probe(target(srv), RtspOptions())
            assert r.cause is Cause.STREAM_UNAVAILABLE, r
            assert r.detail.startswith(f"redirected to 127.0.0.2:{other.port}") and PW not in r.detail
            assert r.data.status == 302
    assert other.connections == 0 and other.logins == 0


async def test_redirect_to_another_path_on_the_same_host_followed_with_credentials() -> None:
    cfg = ServerConfig(auth="digest", describe_status=302, reason="Found", location="/other/path", redirect_from="/start")
    async with RtspTestServer(cfg) as srv:
        r = await probe(target(srv, path="/start"), RtspOptions())
    assert r.ok, r
    assert r.data.url == srv.url("/other/path")
    assert [q.url for q in srv.requests if "authorization" in q.headers][-1] == srv.url("/other/path")


async def test_refused() -> None:
    t = ProbeTarget("127.0.0.1", free_port())
    r = await probe(t, RtspOptions())
    assert (r.ok, r.cause) == (False, Cause.REFUSED)


async def test_hang_backstop_timeout_and_cleanup() -> None:
    async with RtspTestServer(ServerConfig(mode="hang")) as srv:
        t0 = time.monotonic()
        r = await probe(target(srv), RtspOptions(io_timeout_s=0.3))
        assert r.cause is Cause.TIMEOUT
        assert 0.25 < time.monotonic() - t0 < 2.0
        for _ in range(100):
            if srv.active == 0:
                break
            await asyncio.sleep(0.01)
        assert srv.active == 0  # our socket was closed


async def test_cancellation_closes_socket() -> None:
    async with RtspTestServer(ServerConfig(mode="hang")) as srv:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await probe(target(srv), RtspOptions())
        for _ in range(100):
            if srv.active == 0:
                break
            await asyncio.sleep(0.01)
        assert srv.active == 0 and srv.connections == 1


async def test_password_never_in_results() -> None:
    async with RtspTestServer(ServerConfig(auth="basic", describe_status=302, reason="Found")) as srv:
        srv.cfg.location = f"rtsp://admin:{PW}@{srv.host}:{srv.port}/x?y=1"
        r1 = await probe(target(srv), RtspOptions())
    assert PW not in repr(r1)
    r2 = await probe(ProbeTarget("127.0.0.1", free_port(), username="admin", password=PW), RtspOptions())
    assert PW not in repr(r2)


async def test_line_break_in_credentials_rejected() -> None:
    async with RtspTestServer(ServerConfig(auth="basic")) as srv:
        r = await probe(target(srv, password="x\r\nEvil: 1"), RtspOptions())
    assert r.cause is Cause.PROTOCOL_ERROR and srv.connections == 0


async def test_waiter_cancelled_while_another_probe_holds_the_camera() -> None:
    state = RtspState()
    opts = RtspOptions(state=state)
    async with RtspTestServer(ServerConfig(delay_s=0.1)) as srv:
        first = asyncio.create_task(probe(target(srv), opts))
        await asyncio.sleep(0.02)
        assert state.busy((srv.host, srv.port))
        waiting = asyncio.create_task(probe(target(srv), opts))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        third = asyncio.create_task(probe(target(srv), opts))
        assert (await first).ok and (await third).ok
        assert srv.connections == 2 and srv.max_active == 1
        assert not state.busy((srv.host, srv.port))  # nothing left behind
