"""The simulator's RTSP side, observed with raw asyncio sockets against a running fleet."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator

import pytest

from probes.sim import Auth, Behaviour, Fleet, Power, Reply, SimCamera
from tests.probes.test_sim_support import RtspClient, basic_authorization, digest_authorization, parse_challenge


@pytest.fixture
def sim_fleet() -> Iterator[Fleet]:
    with Fleet(6, workers=2) as fleet:
        yield fleet


def url(cam: SimCamera, suffix: str = "") -> str:
    return f"rtsp://{cam.host}:{cam.rtsp_port}{cam.rtsp_path}{suffix}"


async def authed(client: RtspClient, cam: SimCamera, method: str, target: str,
                 headers: dict[str, str] | None = None, password: str | None = None):
    """Send a request, answer a Digest/Basic challenge once, return both replies."""
    first = await client.request(method, target, headers)
    if first.status != 401:
        return first, first
    scheme, params = parse_challenge(first.headers["www-authenticate"])
    pw = cam.password if password is None else password
    if scheme == "basic":
        auth = basic_authorization(cam.username, pw)
    else:
        auth = digest_authorization(cam.username, pw, params, method, target)
    second = await client.request(method, target, {**(headers or {}), "Authorization": auth})
    return first, second


async def test_options_is_open_and_echoes_cseq(sim_fleet: Fleet) -> None:
    cam = sim_fleet.camera(0)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    for _ in range(3):
        reply = await client.request("OPTIONS", url(cam))  # asserts the CSeq echo
        assert reply.status == 200
        assert "DESCRIBE" in reply.headers["public"]
    await client.close()
    stats = (await sim_fleet.astats([0])).camera(0)
    assert stats.options == 3 and stats.rtsp_connections == 1


async def test_describe_with_rfc2617_digest(sim_fleet: Fleet) -> None:
    cam = sim_fleet.camera(1)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    first, reply = await authed(client, cam, "DESCRIBE", url(cam), {"Accept": "application/sdp"})
    await client.close()
    scheme, params = parse_challenge(first.headers["www-authenticate"])
    assert first.status == 401 and scheme == "digest" and params["qop"] == "auth"
    assert params["algorithm"] == "MD5"
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/sdp"
    assert reply.headers["content-base"] == url(cam) + "/"
    sdp = reply.body.decode()
    assert "m=video 0 RTP/AVP 96" in sdp and "H264/90000" in sdp
    assert "sprop-parameter-sets=" in sdp and "a=control:trackID=1" in sdp


async def test_describe_with_rfc2069_digest_without_qop(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(2, Behaviour(digest_qop=False))
    cam = sim_fleet.camera(2)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    first, reply = await authed(client, cam, "DESCRIBE", url(cam))
    await client.close()
    _, params = parse_challenge(first.headers["www-authenticate"])
    assert "qop" not in params
    assert reply.status == 200 and b"m=video" in reply.body


async def test_basic_and_no_auth(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(0, Behaviour(auth=Auth.BASIC))
    await sim_fleet.aset_behaviour(1, Behaviour(auth=Auth.NONE))
    cam0, cam1 = sim_fleet.camera(0), sim_fleet.camera(1)
    client = await RtspClient.connect(cam0.host, cam0.rtsp_port)
    first, reply = await authed(client, cam0, "DESCRIBE", url(cam0))
    assert first.headers["www-authenticate"].startswith("Basic realm=")
    assert reply.status == 200
    _, wrong = await authed(client, cam0, "DESCRIBE", url(cam0), password="nope")
    assert wrong.status == 401
    await client.close()
    client = await RtspClient.connect(cam1.host, cam1.rtsp_port)
    reply = await client.request("DESCRIBE", url(cam1))
    await client.close()
    assert reply.status == 200 and b"m=video" in reply.body
    assert (await sim_fleet.astats([0])).camera(0).bad_logins == 1


async def test_wrong_password_is_refused_and_counted(sim_fleet: Fleet) -> None:
    cam = sim_fleet.camera(3)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    _, reply = await authed(client, cam, "DESCRIBE", url(cam), password="wrong")
    await client.close()
    assert reply.status == 401
    stats = (await sim_fleet.astats([3])).camera(3)
    assert stats.bad_logins == 1 and stats.rtsp_challenges == 2 and stats.describe == 2


async def test_expired_nonce_gets_stale_true(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(4, Behaviour(nonce_ttl_s=0.3))
    cam = sim_fleet.camera(4)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    first = await client.request("DESCRIBE", url(cam))
    _, params = parse_challenge(first.headers["www-authenticate"])
    assert "stale" not in params
    auth = digest_authorization(cam.username, cam.password, params, "DESCRIBE", url(cam))
    assert (await client.request("DESCRIBE", url(cam), {"Authorization": auth})).status == 200
    await asyncio.sleep(0.45)
    # The same (right) credentials on the expired nonce: 401 with stale=TRUE, not a bad login.
    again = await client.request("DESCRIBE", url(cam), {"Authorization": auth})
    assert again.status == 401
    _, fresh = parse_challenge(again.headers["www-authenticate"])
    assert fresh["stale"].lower() == "true" and fresh["nonce"] != params["nonce"]
    auth = digest_authorization(cam.username, cam.password, fresh, "DESCRIBE", url(cam))
    assert (await client.request("DESCRIBE", url(cam), {"Authorization": auth})).status == 200
    # A wrong password on an expired nonce is a wrong login, without stale.
    await asyncio.sleep(0.45)
    bad = digest_authorization(cam.username, "wrong", fresh, "DESCRIBE", url(cam))
    reply = await client.request("DESCRIBE", url(cam), {"Authorization": bad})
    assert reply.status == 401 and "stale" not in parse_challenge(
        reply.headers["www-authenticate"])[1]
    await client.close()
    stats = (await sim_fleet.astats([4])).camera(4)
    assert stats.stale_nonces == 1 and stats.bad_logins == 1


async def test_lockout_after_wrong_logins(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(5, Behaviour(lockout_after=2, lockout_s=0.8))
    cam = sim_fleet.camera(5)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    for _ in range(2):
        _, reply = await authed(client, cam, "DESCRIBE", url(cam), password="wrong")
        assert reply.status == 401
    locked_at = time.monotonic()
    _, reply = await authed(client, cam, "DESCRIBE", url(cam))
    assert reply.status == 401, "right credentials must fail while locked"
    await asyncio.sleep(max(0.0, 0.9 - (time.monotonic() - locked_at)))
    _, reply = await authed(client, cam, "DESCRIBE", url(cam))
    assert reply.status == 200, "the lock must expire"
    await client.close()


@pytest.mark.parametrize("status", [404, 453, 454, 503])
async def test_describe_status_override(sim_fleet: Fleet, status: int) -> None:
    await sim_fleet.aset_behaviour(0, Behaviour(describe_status=status))
    cam = sim_fleet.camera(0)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    first, reply = await authed(client, cam, "DESCRIBE", url(cam))
    await client.close()
    assert first.status == 401, "auth comes first"
    assert reply.status == status and not reply.body


async def test_unknown_path_is_404(sim_fleet: Fleet) -> None:
    cam = sim_fleet.camera(0)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    target = f"rtsp://{cam.host}:{cam.rtsp_port}/no/such/stream"
    _, reply = await authed(client, cam, "DESCRIBE", target)
    await client.close()
    assert reply.status == 404


async def test_no_video_track(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(1, Behaviour(video=False))
    cam = sim_fleet.camera(1)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    _, reply = await authed(client, cam, "DESCRIBE", url(cam))
    await client.close()
    assert reply.status == 200
    assert b"m=audio" in reply.body and b"m=video" not in reply.body


async def _open_session(client: RtspClient, cam: SimCamera) -> tuple[int, str]:
    _, setup = await authed(client, cam, "SETUP", url(cam, "/trackID=1"),
                            {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
    if setup.status != 200:
        return setup.status, ""
    assert "interleaved=0-1" in setup.headers["transport"]
    return 200, setup.headers["session"].split(";")[0]


async def test_session_setup_play_rtp_teardown(sim_fleet: Fleet) -> None:
    cam = sim_fleet.camera(2)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    await authed(client, cam, "DESCRIBE", url(cam))
    status, session = await _open_session(client, cam)
    assert status == 200 and session
    during = (await sim_fleet.astats([2])).camera(2)
    assert during.sessions_open == 1
    _, play = await authed(client, cam, "PLAY", url(cam), {"Session": session})
    assert play.status == 200 and "rtp-info" in play.headers
    # Interleaved RTP follows: '$', channel 0, length, then an RTP v2 header with PT 96.
    frame = await asyncio.wait_for(client.reader.readexactly(4 + 12), 3)
    assert frame[0] == 0x24 and frame[1] == 0
    assert frame[4] >> 6 == 2 and frame[5] & 0x7F == 96
    # Drain whatever RTP is in flight while tearing down, then read the TEARDOWN reply.
    await client.send("TEARDOWN", url(cam), {"Session": session})
    await client.close()
    await asyncio.sleep(0.1)
    stats = (await sim_fleet.astats([2])).camera(2)
    assert stats.teardown == 1 and stats.play == 2 and stats.setup == 2
    assert stats.sessions_open == 0 and stats.max_sessions_open == 1 and stats.sessions_total == 1
    assert stats.rtsp_connections_open == 0


async def test_teardown_reply_and_session_limit(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(3, Behaviour(max_sessions=1, stream=False))
    cam = sim_fleet.camera(3)
    first = await RtspClient.connect(cam.host, cam.rtsp_port)
    second = await RtspClient.connect(cam.host, cam.rtsp_port)
    status, session = await _open_session(first, cam)
    assert status == 200
    status, _ = await _open_session(second, cam)
    assert status == 453, "a second concurrent session exceeds the camera's stream limit"
    _, down = await authed(first, cam, "TEARDOWN", url(cam), {"Session": session})
    assert down.status == 200
    status, session2 = await _open_session(second, cam)
    assert status == 200 and session2 != session
    await first.close()
    await second.close()
    stats = (await sim_fleet.astats([3])).camera(3)
    assert stats.max_sessions_open == 1 and stats.max_rtsp_connections == 2


async def _connects(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 2)
    except (ConnectionRefusedError, ConnectionResetError):  # reset: it went down while the connect was queued
        return False
    writer.close()
    return True


async def test_down_refuses_and_up_reopens(sim_fleet: Fleet) -> None:
    cam = sim_fleet.camera(4)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    await sim_fleet.aset_behaviour(4, Behaviour(power=Power.DOWN))
    assert not await _connects(cam.host, cam.rtsp_port)
    assert not await _connects(cam.host, cam.onvif_port)
    # The established connection was dropped as well.
    assert await asyncio.wait_for(client.reader.read(100), 2) == b""
    assert await _connects(sim_fleet.camera(5).host, cam.rtsp_port), "neighbours stay up"
    await sim_fleet.aset_behaviour(4, Behaviour())
    assert await _connects(cam.host, cam.rtsp_port)
    assert await _connects(cam.host, cam.onvif_port)


async def test_hang_accepts_but_never_answers(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(0, Behaviour(power=Power.HANG))
    cam = sim_fleet.camera(0)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    await client.send("OPTIONS", url(cam))
    with pytest.raises(TimeoutError):
        await client.read_reply(timeout=0.5)
    await client.close()


async def test_slow_delays_each_reply(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(1, Behaviour(delay_s=0.4))
    cam = sim_fleet.camera(1)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    for _ in range(2):
        started = time.monotonic()
        reply = await client.request("OPTIONS", url(cam))
        assert reply.status == 200 and time.monotonic() - started >= 0.38
    await client.close()


async def test_garbage_reply(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(2, Behaviour(rtsp_reply=Reply.GARBAGE))
    cam = sim_fleet.camera(2)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    await client.send("OPTIONS", url(cam))
    data = await asyncio.wait_for(client.reader.read(), 3)  # until the camera closes
    await client.close()
    assert len(data) > 16 and not data.startswith(b"RTSP/")


async def test_oversized_header_reply(sim_fleet: Fleet) -> None:
    await sim_fleet.aset_behaviour(3, Behaviour(rtsp_reply=Reply.OVERSIZED))
    cam = sim_fleet.camera(3)
    client = await RtspClient.connect(cam.host, cam.rtsp_port)
    await client.send("OPTIONS", url(cam))
    data = await asyncio.wait_for(client.reader.read(), 5)
    await client.close()
    first_line, _, rest = data.partition(b"\r\n")
    assert first_line == b"RTSP/1.0 200 OK"
    longest = max(len(line) for line in rest.split(b"\r\n"))
    assert longest >= 1_048_576


async def test_flapping_follows_the_schedule(sim_fleet: Fleet) -> None:
    behaviour = Behaviour(flap_up_s=0.3, flap_down_s=0.3)
    await sim_fleet.aset_behaviour(5, behaviour)
    cam = sim_fleet.camera(5)
    seen: list[bool] = []
    agree = 0
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        expected_up = not behaviour.is_down_at(time.time())
        up = await _connects(cam.host, cam.rtsp_port)
        agree += up == expected_up
        seen.append(up)
        await asyncio.sleep(0.04)
    changes = sum(1 for a, b in itertools.pairwise(seen) if a != b)
    assert True in seen and False in seen
    assert changes >= 4
    assert agree >= 0.75 * len(seen), "state must follow the wall-clock schedule"


async def test_scripted_down_interval(sim_fleet: Fleet) -> None:
    start = time.time() + 0.4
    await sim_fleet.aset_behaviour(0, Behaviour(down_intervals=((start, start + 0.6),)))
    cam = sim_fleet.camera(0)
    assert await _connects(cam.host, cam.rtsp_port)
    await asyncio.sleep(max(0.0, start + 0.25 - time.time()))
    assert not await _connects(cam.host, cam.rtsp_port)
    await asyncio.sleep(max(0.0, start + 0.85 - time.time()))
    assert await _connects(cam.host, cam.rtsp_port)


async def test_set_behaviour_round_trip(sim_fleet: Fleet) -> None:
    wanted = Behaviour(auth=Auth.BASIC, clock_skew_s=-90.0, describe_status=453,
                       down_intervals=((1.0, 2.0),))
    await sim_fleet.aset_behaviour([1, 4], wanted)
    assert await sim_fleet.abehaviour(1) == wanted
    assert await sim_fleet.abehaviour(4) == wanted
    assert await sim_fleet.abehaviour(2) == Behaviour()
