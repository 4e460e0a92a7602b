"""No video is an outage (DESIGN §3: the video stage fails as ``no_video``; the camera is offline
with that cause). The tester's camera accepted PLAY and sent no RTP: ``camwatch probe --video``
said 离线——无视频画面, but ``camwatch run`` kept it degraded (an earlier picture check) for
minutes and alerted nothing. The video tier's verdict now reaches ``camera_state.step``: confirmed
by the video tier's own re-probes, kept against the fast tier (which does not look at the video),
and cleared when a probe sees video again."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest

from collector.runtime.camera_state import (
    Changed,
    Event,
    Outcome,
    Pending,
    Policy,
    Seen,
    State,
    Status,
    next_delay,
    remember,
    step,
    video_delay,
    wants_video,
)
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.runtime.video_verdict import video_verdict
from collector.settings import CollectorSettings
from inventory.monitored import MonitoredCamera
from probes.base import Cause, ProbeResult, ProbeTarget, Stage
from probes.checks import VqdName
from probes.frame import FrameOptions, FramePool
from probes.frame_grab import GrabFailure
from probes.ladder import LadderOptions, LadderResult
from probes.sim import Behaviour, Fleet
from probes.vqd_rules import VqdBaseline, VqdCheck
from tests.collector.test_scheduler import _wait, cameras, fake_cameras, stop
from tests.collector.virtual_time import VirtualTime

T0 = dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC)
POLICY = Policy(confirm_delays_s=(5.0, 10.0), offline_interval_s=15.0, flap_changes=4, flap_window_s=1800.0, midpoint=True)
NV = Cause.NO_VIDEO


def t(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


def fast_ok(s: float) -> Outcome:  # the fast tier: reach + RTSP fine, the video not looked at
    return Outcome(t(s), True, None, None, False)


def video_ok(s: float, failed: tuple[str, ...] = ()) -> Outcome:
    return Outcome(t(s), True, None, failed, None)


def no_video(s: float) -> Outcome:
    return Outcome(t(s), False, NV)


def run(status: Status, seen: Seen, outcomes: list[Outcome]) -> tuple[Status, Seen, list[Event]]:
    events: list[Event] = []
    for o in outcomes:
        status, ev = step(status, o, POLICY, seen)
        seen = remember(seen, status, o)
        events += ev
    return status, seen, events


ONLINE = Status(State.ONLINE, None, t(-600))
SIGNAL_LOST = Status(State.DEGRADED, None, t(-600), video_failed=("signal_lost",))  # the tester's camera
OFF_NV = Status(State.OFFLINE, NV, t(0))
SEEN = Seen(t(-20), t(-300))  # the fast tier saw it 20 s ago, the video tier its picture 300 s ago


@pytest.mark.parametrize("before", [ONLINE, SIGNAL_LOST])
def test_no_video_is_confirmed_by_the_video_tier_not_undone_by_the_fast_tier(before: Status) -> None:
    s, seen, ev = run(before, SEEN, [no_video(0), fast_ok(3), no_video(5)])
    assert ev == [] and s.state is before.state and s.pending == Pending(t(0), 2, NV)  # fast ok: still pending
    s, seen, ev = run(s, seen, [no_video(15)])
    assert s.state is State.OFFLINE and s.cause is NV and s.video_failed == ()
    # dated from the last picture seen (t-300) to the first probe without one: not from the fast tier's t-20
    assert ev == [Changed(before.state, State.OFFLINE, NV, t(-150), t(15), 150.0)]
    s2, _, ev2 = run(s, seen, [fast_ok(30), fast_ok(90)])  # the fast tier does not look at the video
    assert (s2, ev2) == (s, [])


@pytest.mark.parametrize(("outcome", "state", "failed"), [
    (video_ok(30), State.ONLINE, ()),
    (video_ok(30, ("signal_lost",)), State.DEGRADED, ("signal_lost",)),
])
def test_video_seen_again_brings_it_back(outcome: Outcome, state: State, failed: tuple[str, ...]) -> None:
    s, _, ev = run(OFF_NV, Seen(t(20), None), [outcome])
    assert (s.state, s.cause, s.video_failed) == (state, None, failed)
    assert ev == [Changed(State.OFFLINE, state, None, t(25), t(30), 5.0)]


@pytest.mark.parametrize(("outcomes", "state", "cause", "pending"), [
    ([no_video(0), video_ok(5)], State.ONLINE, None, None),  # one success clears it
    ([no_video(0), Outcome(t(5), False, Cause.UNREACHABLE)], State.ONLINE, None, Pending(t(0), 2, Cause.UNREACHABLE)),
    ([no_video(0), Outcome(t(5), False, Cause.UNREACHABLE), fast_ok(10)], State.ONLINE, None, None),
])
def test_pending_no_video_and_other_probes(outcomes: list[Outcome], state: State, cause: Cause | None,
                                           pending: Pending | None) -> None:
    s, _, _ = run(ONLINE, SEEN, outcomes)
    assert (s.state, s.cause, s.pending) == (state, cause, pending)


def test_offline_no_video_takes_the_fast_tiers_network_cause() -> None:
    s, _, ev = run(OFF_NV, Seen(t(20), None), [Outcome(t(30), False, Cause.UNREACHABLE)])
    assert (s.state, s.cause) == (State.OFFLINE, Cause.UNREACHABLE) and len(ev) == 1
    s, _, ev = run(s, Seen(t(30), None), [fast_ok(45)])  # then the fast tier's success brings it back
    assert s.state is State.ONLINE


@pytest.mark.parametrize(("status", "fast", "video", "wanted"), [
    (ONLINE, None, None, True),
    (dataclasses.replace(ONLINE, pending=Pending(t(0), 1, NV)), None, 5.0, True),
    (dataclasses.replace(ONLINE, pending=Pending(t(0), 2, NV)), None, 10.0, True),
    (dataclasses.replace(ONLINE, pending=Pending(t(0), 1, Cause.REFUSED)), 5.0, None, True),
    (OFF_NV, None, 15.0, True),
    (Status(State.OFFLINE, Cause.UNREACHABLE, t(0)), 15.0, None, False),
    (Status(State.UNKNOWN), None, None, False),
    (Status(State.EXCLUDED), None, None, False),
])
def test_which_tier_reprobes(status: Status, fast: float | None, video: float | None, wanted: bool) -> None:
    assert (next_delay(status, POLICY), video_delay(status, POLICY), wants_video(status)) == (fast, video, wanted)


PLAYED_NOT = (ProbeResult(Stage.REACH, True, 0.001), ProbeResult(Stage.RTSP, True, 0.01),
              ProbeResult(Stage.FRAME, False, 0.02, Cause.STREAM_UNAVAILABLE, "camera answered RTSP 461 to SETUP",
                          GrabFailure.SETUP_REFUSED))


def frame_failed(cause: Cause, failure: GrabFailure) -> tuple[ProbeResult, ...]:
    return (*PLAYED_NOT[:2], ProbeResult(Stage.FRAME, False, 1.0, cause, str(failure), failure))
GOOD = (VqdCheck(VqdName.BLACK, True, 0.0, 1.0),)
BAD = (VqdCheck(VqdName.BLACK, False, 1.0, 0.5),)


@pytest.mark.parametrize(("result", "status", "outcome", "ok"), [
    # the tester's camera: PLAY accepted, no RTP -> a failure with cause no_video (was: nothing)
    (LadderResult("offline", NV, ()), SIGNAL_LOST, no_video(0), False),
    (LadderResult("offline", NV, ()), ONLINE, no_video(0), False),
    (LadderResult("offline", NV, ()), OFF_NV, no_video(0), False),
    (LadderResult("offline", NV, ()), Status(State.OFFLINE, Cause.REFUSED, t(0)), None, False),  # the fast tier's verdict
    # other failures of the video ladder are the fast tier's to tell
    (LadderResult("offline", Cause.STREAM_UNAVAILABLE, ()), ONLINE, None, None),
    (LadderResult("offline", Cause.TIMEOUT, ()), ONLINE, None, None),
    # reach and RTSP fine, the stream never played (SETUP 461, PLAY unanswered): no picture, told as no_video
    (LadderResult("offline", Cause.STREAM_UNAVAILABLE, PLAYED_NOT), ONLINE, no_video(0), False),
    (LadderResult("offline", Cause.TIMEOUT, frame_failed(Cause.TIMEOUT, GrabFailure.SETUP_TIMEOUT)), ONLINE, no_video(0), False),
    (LadderResult("offline", Cause.PROTOCOL_ERROR, frame_failed(Cause.PROTOCOL_ERROR, GrabFailure.PROTOCOL)), ONLINE,
     no_video(0), False),
    # its one session busy (453/503), a refusal, a failed login, a blip between stages: the fast tier's to tell
    (LadderResult("offline", Cause.STREAM_UNAVAILABLE, frame_failed(Cause.STREAM_UNAVAILABLE, GrabFailure.UNAVAILABLE)),
     ONLINE, None, None),
    (LadderResult("offline", Cause.REFUSED, frame_failed(Cause.REFUSED, GrabFailure.REFUSED)), ONLINE, None, None),
    (LadderResult("offline", Cause.AUTH_FAILED, frame_failed(Cause.AUTH_FAILED, GrabFailure.AUTH)), ONLINE, None, None),
    # a frame stage alone (no reach or RTSP before it in this ladder): not known to be the stream
    (LadderResult("offline", Cause.STREAM_UNAVAILABLE, PLAYED_NOT[2:]), ONLINE, None, None),
    # RTSP itself failed in the video ladder: the fast tier's to tell
    (LadderResult("offline", Cause.TIMEOUT, (ProbeResult(Stage.REACH, True, 0.001), ProbeResult(Stage.RTSP, False, 5.0,
                                                                                                 Cause.TIMEOUT))),
     ONLINE, None, None),
    (LadderResult("online", None, ()), ONLINE, None, False),  # no frame stage ran
    # pictures: degraded / online as before; and the way back from no video
    (LadderResult("online", None, (), video=GOOD), ONLINE, video_ok(0), True),
    (LadderResult("degraded", None, (), video=BAD), ONLINE, video_ok(0, ("black",)), False),
    (LadderResult("online", None, (), video=GOOD), OFF_NV, video_ok(0), True),
    (LadderResult("online", None, (), video=GOOD), Status(State.OFFLINE, Cause.TIMEOUT, t(0)), None, True),
])
def test_video_verdict(result: LadderResult, status: Status, outcome: Outcome | None, ok: bool | None) -> None:
    v = video_verdict(result, status, t(0), None, VqdBaseline())
    assert (v.outcome, v.video_ok) == (outcome, ok)


# ---- through the scheduler -------------------------------------------------------------------

class Stalled:
    """A scripted ladder: the fast tier always fine; the video tier finds no video on ``stalled`` cameras."""

    def __init__(self, vt: VirtualTime) -> None:
        self.vt = vt
        self.stalled: set[int] = set()
        self.video_calls: list[tuple[float, int]] = []

    async def __call__(self, target: ProbeTarget, opts: LadderOptions) -> LadderResult:
        cid = target.camera_id or 0
        await self.vt.sleep(0.01)
        if not opts.video:
            return LadderResult("online", None, ())
        self.video_calls.append((self.vt.now, cid))
        if cid in self.stalled:
            return LadderResult("offline", NV, ())
        return LadderResult("degraded", None, (), video=BAD)


def test_scheduler_takes_no_video_offline_and_back_on_virtual_time() -> None:
    vt = VirtualTime()
    script = Stalled(vt)
    events: list[tuple[int, Event]] = []
    cfg = SchedulerConfig.from_settings(CollectorSettings(video_interval_s=600.0, catchup_s=0))  # defaults otherwise

    async def go() -> None:
        sched = Scheduler(cfg, None, ladder_fn=script, clock=vt.wall, timebase=vt,
                          on_event=lambda cam, ev: events.append((cam.id, ev)))
        sched.sync(fake_cameras(range(1, 3)), [])
        task = asyncio.get_running_loop().create_task(sched.run())
        try:
            await vt.wait_for(lambda: all(s.status.state is State.DEGRADED for s in sched.slots.values()), 1300.0)
            script.stalled.add(1)
            stalled_at = vt.now
            await vt.wait_for(lambda: sched.slots[1].status.state is State.OFFLINE, 700.0)
            assert sched.slots[1].status.cause is NV and sched.slots[1].video_ok is False
            # one video interval at most to see it, then the confirmation delays (5 s, 10 s): not minutes
            assert vt.now - stalled_at <= 600.0 + 15.0 + 1.0
            await vt.run_for(120.0)  # the fast tier's successes meanwhile do not bring it back
            assert sched.slots[1].status.state is State.OFFLINE
            assert sched.slots[2].status.state is State.DEGRADED
            script.stalled.discard(1)
            gone = vt.now
            await vt.wait_for(lambda: sched.slots[1].status.state.up, 60.0)
            assert vt.now - gone <= cfg.policy.offline_interval_s + 1.0  # re-probed like an offline camera
        finally:
            await stop(task)

    asyncio.run(go())
    changes = [(e.old, e.new, e.cause) for cid, e in events if cid == 1 and isinstance(e, Changed)]
    assert changes[-2:] == [(State.DEGRADED, State.OFFLINE, NV), (State.OFFLINE, State.DEGRADED, None)]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with Fleet(2, workers=1) as f:
        yield f


@pytest.fixture(scope="module")
def pool() -> Iterator[FramePool]:
    with FramePool(2) as p:
        yield p


def test_simulated_camera_whose_stream_stopped_goes_offline_no_video_and_comes_back(fleet: Fleet, pool: FramePool) -> None:
    """The simulator's camera with ``stream=False`` (PLAY accepted, no RTP), the real ladder and
    frame stage, the real Scheduler on the real loop."""
    cfg = SchedulerConfig.from_settings(CollectorSettings(interval_s=1.0, offline_interval_s=0.5, confirm_delays_s=[0.2, 0.2],
                                                          video_interval_s=2.0, catchup_s=0))
    frame = FrameOptions(pool=pool, freeze_check=False, open_timeout_s=3.0, read_timeout_s=1.0, live_window_s=1.0)
    ladder = LadderOptions(use_onvif=False, frame=frame)
    events: list[tuple[int, Event]] = []
    cams: list[MonitoredCamera] = cameras(fleet)

    async def go() -> None:
        sched = Scheduler(cfg, None, ladder=ladder, on_event=lambda cam, ev: events.append((cam.id, ev)))
        sched.sync(cams, [])
        task = asyncio.create_task(sched.run())
        try:
            await _wait(lambda: all(s.status.state.up and s.video_ok is not None for s in sched.slots.values()), 20)
            fleet.set_behaviour(0, Behaviour(stream=False))
            await _wait(lambda: sched.slots[1].status.state is State.OFFLINE, 30)
            assert sched.slots[1].status.cause is NV
            # why, kept for the camera's page and API (its fast tier's last probe says online)
            why = sched.slots[1].video_last
            assert why is not None and why.cause is NV and sched.slots[2].video_last is None
            frame = [r for r in why.stages if r.stage.value == "frame"]
            assert frame and not frame[0].ok and frame[0].detail, why.stages
            await asyncio.sleep(2.5)  # fast-tier probes meanwhile (every second): still offline
            assert sched.slots[1].status.state is State.OFFLINE and sched.slots[2].status.state.up
            fleet.set_behaviour(0, Behaviour())
            await _wait(lambda: sched.slots[1].status.state.up, 30)
            await _wait(lambda: sched.slots[1].video_last is None, 10)  # a picture seen again: nothing failing kept
        finally:
            await stop(task)
            fleet.set_behaviour(0, Behaviour())

    asyncio.run(go())
    changes = [(e.old.up, e.new, e.cause) for cid, e in events if cid == 1 and isinstance(e, Changed)]
    assert (True, State.OFFLINE, NV) in changes
    assert changes[-1][1].up and changes[-1][2] is None
