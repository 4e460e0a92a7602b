"""The reach + rtsp ladder against the fleet simulator (probes.sim): one camera per behaviour."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator

import pytest

from probes.base import Cause, ProbeTarget, Stage
from probes.ladder import LadderOptions, run_ladder
from probes.rtsp import RtspOptions
from probes.sim import Auth, Behaviour, Fleet, Power, Reply

# index -> (behaviour, expected state, expected cause)
CASES: list[tuple[Behaviour, str, Cause | None]] = [
    (Behaviour(), "online", None),  # digest qop=auth
    (Behaviour(auth=Auth.BASIC), "online", None),
    (Behaviour(auth=Auth.NONE), "online", None),
    (Behaviour(digest_qop=False), "online", None),  # RFC 2069
    (Behaviour(power=Power.DOWN), "offline", Cause.REFUSED),
    (Behaviour(power=Power.HANG), "offline", Cause.TIMEOUT),
    (Behaviour(describe_status=453), "offline", Cause.STREAM_UNAVAILABLE),
    (Behaviour(describe_status=404), "offline", Cause.STREAM_UNAVAILABLE),
    (Behaviour(describe_status=503), "offline", Cause.STREAM_UNAVAILABLE),
    (Behaviour(describe_status=403), "offline", Cause.AUTH_FAILED),
    (Behaviour(video=False), "offline", Cause.STREAM_UNAVAILABLE),
    (Behaviour(rtsp_reply=Reply.GARBAGE), "offline", Cause.PROTOCOL_ERROR),
    (Behaviour(rtsp_reply=Reply.OVERSIZED), "offline", Cause.PROTOCOL_ERROR),
]
LOCKOUT = len(CASES)  # a camera that locks the account after 2 bad logins


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(len(CASES) + 1, workers=2) as f:
        for i, (b, _, _) in enumerate(CASES):
            f.set_behaviour(i, b)
        f.set_behaviour(LOCKOUT, Behaviour(lockout_after=2, lockout_s=60))
        yield f


def target_of(fleet: Fleet, i: int, password: str | None = None) -> ProbeTarget:
    cam = fleet.camera(i)
    return ProbeTarget(cam.host, cam.rtsp_port, cam.rtsp_path, None, cam.username,
                       cam.password if password is None else password)


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c[0].power}-{c[0].auth}-{c[2]}" for c in CASES])
async def test_ladder_verdict_per_behaviour(fleet: Fleet, i: int) -> None:
    _, state, cause = CASES[i]
    t0 = time.monotonic()
    res = await run_ladder(target_of(fleet, i), LadderOptions(rtsp_timeout_s=0.5, reach_timeout_s=0.5))
    assert (res.state, res.cause) == (state, cause), res
    assert time.monotonic() - t0 < 1.5


async def test_second_probe_reuses_the_nonce_on_one_connection(fleet: Fleet) -> None:
    opts = LadderOptions(rtsp=RtspOptions())
    t = target_of(fleet, 0)
    assert (await run_ladder(t, opts)).state == "online"
    fleet.reset_stats()
    for _ in range(3):
        assert (await run_ladder(t, opts)).state == "online"
    cam = fleet.stats([0]).camera(0)
    # one TCP connection (reach's, reused), one DESCRIBE and no 401 per probe; nothing else
    assert (cam.rtsp_connections, cam.describe, cam.rtsp_challenges, cam.options) == (3, 3, 0, 0)
    assert cam.bad_logins == 0


async def test_backoff_keeps_the_account_unlocked(fleet: Fleet) -> None:
    opts = LadderOptions(rtsp=RtspOptions())
    bad = target_of(fleet, LOCKOUT, password="wrong-password")
    r1 = await run_ladder(bad, opts)
    assert r1.cause is Cause.AUTH_FAILED
    for _ in range(3):  # the collector keeps trying; the camera is left alone
        r = await run_ladder(bad, opts)
        assert r.cause is Cause.AUTH_FAILED and "backing off" in r.stages[0].detail
    assert fleet.stats([LOCKOUT]).camera(LOCKOUT).bad_logins == 1
    # one bad login so far (< 2): the right password works at once
    assert (await run_ladder(target_of(fleet, LOCKOUT), opts)).state == "online"


async def test_full_fast_tier_with_onvif(fleet: Fleet) -> None:
    """reach + rtsp + the onvif prober: clock offset and device come through the ladder."""
    cam = fleet.camera(0)
    t = dataclasses.replace(target_of(fleet, 0), onvif_port=cam.onvif_port)
    res = await run_ladder(t, LadderOptions())
    assert (res.state, res.cause, res.warnings) == ("online", None, ())
    assert [s.stage for s in res.stages] == [Stage.REACH, Stage.RTSP, Stage.ONVIF]
    assert res.clock_offset_s is not None and abs(res.clock_offset_s) < 5
    assert res.device is not None and res.device.vendor


def test_cli_against_the_simulator(fleet: Fleet) -> None:
    from click.testing import CliRunner

    from collector.cli import build_cli

    cam = fleet.camera(0)
    url = cam.rtsp_url(with_credentials=True)
    res = CliRunner().invoke(build_cli(), ["probe", url, "--json", "--onvif-port", str(cam.onvif_port)])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert obj["state"] == "online" and obj["device"]["vendor"] and obj["clock_offset_s"] is not None
    assert cam.password not in res.stdout
    down = fleet.camera(4)  # Power.DOWN
    res = CliRunner().invoke(build_cli(), ["probe", down.rtsp_url(with_credentials=True), "--onvif-port", "0"])
    assert res.exit_code == 11 and f"离线——{Cause.REFUSED.words()}" in res.stdout
