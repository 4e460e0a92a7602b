"""Table tests of the alert decisions: every rule with an explicit ``now``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from itertools import pairwise

import pytest

from collector.alerting.engine import AlertEngine
from collector.alerting.inputs import inputs_of
from collector.alerting.model import (
    Flapping,
    IncidentChanged,
    Notify,
    NotifyKind,
    OpenWorkOrder,
    Outage,
    PictureOk,
    PictureProblem,
    Recovery,
    ResolveWorkOrder,
    Severity,
    Silence,
    UpdateWorkOrder,
)
from collector.alerting.policy import AlertPolicy, QuietHours
from collector.runtime.camera_state import Changed, FlappingChanged, State
from probes.causes import Cause
from tests.collector.alerts_fixtures import EAST, INV, POLICY, WEST, at, notes, outage, recovery, run


def engine(policy: AlertPolicy = POLICY) -> AlertEngine:
    return AlertEngine(policy, INV)


def test_village_uplink_eight_cameras_one_open_one_resolve() -> None:
    e = engine()
    script = [(20 + i, outage(c, 20 + i, Cause.UPSTREAM_DOWN)) for i, c in enumerate(EAST)]
    script += [(600 + i, recovery(c, 600 + i)) for i, c in enumerate(EAST)]
    acts = run(e, script, 700)
    sent = [(t, a) for t, a in acts if isinstance(a, Notify)]
    assert [(t, a.kind) for t, a in sent] == [(50.0, NotifyKind.OPEN), (607.0, NotifyKind.RESOLVE)]
    opened = sent[0][1]
    assert opened.severity is Severity.CRITICAL
    assert opened.message.title_zh == "【严重】城关镇东关村 8/8 台摄像机离线，疑似上联中断"
    assert "总时长：10分2秒" in sent[1][1].message.text_zh  # first failure at 5 s .. last back at 607 s
    wos = [a for _, a in acts if isinstance(a, OpenWorkOrder)]
    assert len(wos) == 1 and wos[0].cameras == 8 and wos[0].deadline == at(20) + dt.timedelta(hours=2)
    assert len([a for _, a in acts if isinstance(a, ResolveWorkOrder)]) == 1
    assert e.open_incidents() == ()


@pytest.mark.parametrize(("second_at", "incidents"), [
    (49.0, 1),  # inside the window (opened at 20 s, window 30 s): joins before the open message
    (50.0, 1),  # the window closes at the first tick at or after 50 s; joins the sent incident
    (5000.0, 2),  # after the first incident resolved: a new incident
])
def test_grouping_window_boundary(second_at: float, incidents: int) -> None:
    e = engine()
    acts = list(e.feed(outage(11, 20)))
    acts += e.tick(at(45))
    assert notes(acts) == []  # held: the window is still open at 45 s
    if second_at > 1000:
        acts += e.tick(at(50)) + e.feed(recovery(11, 100))
    acts += e.tick(at(second_at))  # at 49 s the window is still open; at 50 s it closes first
    acts += e.feed(outage(12, second_at, Cause.TIMEOUT))
    acts += e.tick(at(second_at + 31))
    opens = notes(acts, NotifyKind.OPEN)
    assert len(opens) == incidents
    if second_at == 49.0:
        assert opens[0].message.title_zh == "【一般】城关镇西关村 2/3 台摄像机离线"
    if second_at == 50.0:
        assert opens[0].message.title_zh == "【一般】摄像机离线：城关镇西关村村口"
        # growth after the open message is told one grouping window later, with the size now
        [upd] = notes(acts, NotifyKind.UPDATE)
        assert upd.message.title_zh == "【更新·一般】城关镇西关村 2/3 台摄像机离线" and upd.at == at(81)


def test_window_closes_exactly_at_thirty_seconds() -> None:
    e = engine()
    e.feed(outage(21, 10))
    assert notes(e.tick(at(39.999))) == []
    [n] = notes(e.tick(at(40)))
    assert n.kind is NotifyKind.OPEN and n.severity is Severity.NORMAL
    assert n.message.link == "http://cw.example/cameras/21"


def test_growth_to_village_dark_raises_severity_and_tightens_deadline() -> None:
    e = engine()
    acts = list(e.feed(outage(11, 0, Cause.TIMEOUT)))
    acts += e.tick(at(30))
    [wo] = [a for a in acts if isinstance(a, OpenWorkOrder)]
    assert wo.severity is Severity.NORMAL and wo.deadline == at(0) + dt.timedelta(hours=24)
    acts = list(e.feed(outage(12, 100, Cause.TIMEOUT)))
    assert notes(acts) == []  # 2/3, no shared device: still normal
    acts = list(e.feed(outage(13, 200, Cause.TIMEOUT))) + list(e.tick(at(200)))
    [upd] = [a for a in acts if isinstance(a, UpdateWorkOrder)]
    assert upd.severity is Severity.CRITICAL and upd.deadline == at(0) + dt.timedelta(hours=2)
    [n] = notes(acts)
    # the village is dark (critical), but three timeouts 100 s apart are no uplink burst
    assert n.kind is NotifyKind.UPDATE and n.message.title_zh == "【更新·严重】城关镇西关村 3/3 台摄像机离线"


@pytest.mark.parametrize("on", [True, False])
def test_notify_on_growth_policy(on: bool) -> None:
    e = engine(dataclasses.replace(POLICY, notify_on_growth=on))
    e.feed(outage(1, 0))
    e.tick(at(30))
    assert notes(e.feed(outage(2, 40))) == []  # growth is told a grouping window later
    assert notes(e.tick(at(69))) == []
    assert [n.kind for n in notes(e.tick(at(70)))] == ([NotifyKind.UPDATE] if on else [])


def test_recovery_inside_window_says_nothing() -> None:
    e = engine()
    acts = list(e.feed(outage(21, 10))) + list(e.feed(recovery(21, 20))) + list(e.tick(at(60)))
    assert notes(acts) == [] and not any(isinstance(a, OpenWorkOrder) for a in acts)
    assert [a.incident.resolved_at for a in acts if isinstance(a, IncidentChanged)] == [at(20)]


def test_partial_recovery_keeps_incident_open() -> None:
    e = engine()
    for c in EAST[:3]:
        e.feed(outage(c, 0))
    e.tick(at(30))
    assert notes(e.feed(recovery(EAST[0], 100)) + e.feed(recovery(EAST[1], 110))) == []
    [n] = notes(e.feed(recovery(EAST[2], 120)))
    assert n.kind is NotifyKind.RESOLVE and n.message.title_zh == "【恢复】城关镇东关村 3 台摄像机已恢复在线"


def test_flapping_camera_opens_no_incident_and_digests_at_most_once_per_window() -> None:
    e = engine()
    acts: list[object] = []
    acts += e.feed(outage(21, 10))
    acts += e.feed(Flapping(21, True, at(10)))  # camera_state emits the flag right after the change
    t, down = 10.0, True
    while t < 3 * 3600:
        t += 60
        acts += e.feed(recovery(21, t)) if down else e.feed(outage(21, t))
        down = not down
        acts += e.tick(at(t))
    assert notes(acts, NotifyKind.OPEN) == [] and notes(acts, NotifyKind.RESOLVE) == []
    digests = notes(acts, NotifyKind.DIGEST)
    times = [d.at for d in digests]
    assert times[0] == at(70)  # first digest after the grouping window
    assert all((b - a).total_seconds() >= 1800 for a, b in pairwise(times))
    assert 5 <= len(digests) <= 6
    assert digests[0].message.title_zh == "【摘要】1 台摄像机频繁上下线"
    assert "\n城关镇南庄村村口：上下线" in digests[0].message.text_zh


def test_flapping_end_while_offline_opens_an_incident() -> None:
    e = engine()
    e.feed(Flapping(21, True, at(0)))
    e.feed(outage(21, 10))
    acts = list(e.feed(Flapping(21, False, at(4000)))) + list(e.tick(at(4030)))
    [n] = notes(acts, NotifyKind.OPEN)
    assert n.message.title_zh == "【一般】摄像机离线：城关镇南庄村村口"


def test_flapping_removes_camera_from_pending_incident() -> None:
    e = engine()
    e.feed(outage(21, 10))
    e.feed(Flapping(21, True, at(10)))
    acts = e.tick(at(60))
    assert notes(acts, NotifyKind.OPEN) == [] and e.open_incidents() == ()


@pytest.mark.parametrize(("tick_at", "kind", "channels"), [
    (3599.0, None, None),
    (3600.0, NotifyKind.ESCALATE, ("supervisor",)),
    (86399.0, NotifyKind.REMINDER, ("default", "supervisor")),
    (86400.0, NotifyKind.ESCALATE, ("township",)),
])
def test_escalation_at_threshold(tick_at: float, kind: NotifyKind | None, channels: tuple[str, ...] | None) -> None:
    e = engine(dataclasses.replace(POLICY, reminder_interval_s=0))
    e.feed(outage(21, 0))
    e.tick(at(30))
    if tick_at > 3600:
        e.tick(at(3600))
        e = _with_reminders(e, tick_at)
    got = notes(e.tick(at(tick_at)))
    if kind is None:
        assert got == []
    else:
        [n] = got
        assert (n.kind, n.channels) == (kind, channels)
        if kind is NotifyKind.ESCALATE:  # the severity and the level's Chinese name (not its config name)
            level = {("supervisor",): "主管", ("township",): "乡镇"}[channels]
            assert n.message.title_zh.startswith(f"【升级·一般·{level}】"), n.message.title_zh
            assert n.message.title_en.startswith(f"[ESCALATED: WARNING, {channels[0]}]"), n.message.title_en


def _with_reminders(e: AlertEngine, tick_at: float) -> AlertEngine:
    # At 86399 s (one day minus a second) the reminder cadence applies instead of escalation.
    if tick_at == 86399.0:
        e.policy = dataclasses.replace(e.policy, reminder_interval_s=4 * 3600)
    return e


def test_low_severity_does_not_escalate() -> None:
    e = engine()
    e.feed(PictureProblem(21, ("black",), at(0)))
    acts = list(e.tick(at(30)))
    [n] = notes(acts)
    assert n.severity is Severity.LOW and n.message.title_zh == "【提示】画面异常：黑屏（城关镇南庄村村口）"
    assert [x.kind for x in notes(e.tick(at(7200)))] == []


def test_reminder_cadence() -> None:
    e = engine(dataclasses.replace(POLICY, escalation=(), reminder_interval_s=3600))
    e.feed(outage(21, 0))
    times = []
    for t in range(0, 4 * 3600 + 1, 30):
        times += [n.at for n in notes(e.tick(at(t)), NotifyKind.REMINDER)]
    assert times == [at(30 + 3600), at(30 + 7200), at(30 + 10800)]  # counted from the open message at 30 s


def test_reminders_off() -> None:
    e = engine(dataclasses.replace(POLICY, escalation=(), reminder_interval_s=0))
    e.feed(outage(21, 0))
    assert [n.kind for t in range(0, 20000, 600) for n in notes(e.tick(at(t)))] == [NotifyKind.OPEN]


H = 3600


@pytest.mark.parametrize(("restart_s", "reminded_before", "reminded_after"), [
    (0.5 * H, [], [4 * H, 8 * H, 12 * H]),
    (5 * H, [4 * H + 30], [8 * H, 12 * H]),
    (9 * H, [4 * H + 30, 8 * H + 30], [12 * H]),
    (11.9 * H, [4 * H + 30, 8 * H + 30], [12 * H]),
])
def test_a_restart_sends_no_reminder_and_keeps_their_times(restart_s: float, reminded_before: list[float],
                                                           reminded_after: list[float]) -> None:
    """camwatch restarted while a village is down: the engine that takes the incident over sends
    nothing then (it reminded at once of every incident older than the reminder interval), and
    the next reminders come every 4 h of the incident's age, as they would have."""
    p = dataclasses.replace(POLICY, escalation=())
    e = engine(p)
    for c in EAST[:3]:
        e.feed(outage(c, 0))
    before = [(t, n.kind) for t in range(0, int(restart_s), 30) for n in notes(e.tick(at(t)))]
    assert before == [(30, NotifyKind.OPEN)] + [(t, NotifyKind.REMINDER) for t in reminded_before]
    again = engine(p)
    again.restore(e.open_incidents(), at(restart_s))
    after = [(t, n.kind) for t in range(int(restart_s), 13 * H, 30) for n in notes(again.tick(at(t)))]
    assert after == [(t, NotifyKind.REMINDER) for t in reminded_after]


QUIET_NIGHT = dt.datetime(2026, 11, 23, 15, 0, tzinfo=dt.UTC)  # 23:00 Asia/Shanghai


@pytest.mark.parametrize(("inp", "held"), [
    (PictureProblem(21, ("frozen",), QUIET_NIGHT), True),  # low: held
    (Outage(21, Cause.TIMEOUT, QUIET_NIGHT, QUIET_NIGHT), False),  # normal: sent at night
])
def test_quiet_hours_hold_and_release(inp: object, held: bool) -> None:
    e = engine()
    e.feed(inp)  # type: ignore[arg-type]
    night = notes(e.tick(QUIET_NIGHT + dt.timedelta(seconds=30)))
    assert (night == []) is held
    morning = dt.datetime(2026, 11, 23, 23, 0, tzinfo=dt.UTC)  # 07:00 local: quiet hours over
    assert notes(e.tick(morning - dt.timedelta(seconds=1)), NotifyKind.OPEN) == []
    released = notes(e.tick(morning), NotifyKind.OPEN) if not held else notes(e.tick(morning))
    assert [n.kind for n in released] == ([NotifyKind.OPEN] if held else [])


def test_quiet_hours_collapse_to_resolve() -> None:
    e = engine()
    e.feed(PictureProblem(21, ("blur",), QUIET_NIGHT))
    e.tick(QUIET_NIGHT + dt.timedelta(seconds=30))
    e.feed(PictureOk(21, QUIET_NIGHT + dt.timedelta(hours=2)))
    released = notes(e.tick(dt.datetime(2026, 11, 23, 23, 0, tzinfo=dt.UTC)))
    assert [n.kind for n in released] == [NotifyKind.RESOLVE]
    assert released[0].message.title_zh == "【恢复】画面恢复正常：城关镇南庄村村口"


def test_quiet_hours_span_midnight() -> None:
    q = QuietHours()
    assert q.active(dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC))  # 22:00 local
    assert q.active(dt.datetime(2026, 11, 23, 22, 59, tzinfo=dt.UTC))  # 06:59 local
    assert not q.active(dt.datetime(2026, 11, 23, 13, 59, tzinfo=dt.UTC))  # 21:59
    assert not q.active(dt.datetime(2026, 11, 23, 23, 0, tzinfo=dt.UTC))  # 07:00


@pytest.mark.parametrize(("silence", "sent"), [
    (Silence(1, at(3600), region_code="130123101201"), False),  # village silenced
    (Silence(1, at(3600), region_code="130123101000"), False),  # township silenced
    (Silence(1, at(3600), camera_id=3), True),  # one of eight silenced: the rest still alert
    (Silence(1, at(10), region_code="130123101201"), True),  # expired
    (Silence(1, at(3600), region_code="130123101202"), True),  # another village
])
def test_silence_suppresses_messages_but_records(silence: Silence, sent: bool) -> None:
    e = engine()
    e.set_silences((silence,))
    acts: list[object] = []
    for c in EAST:
        acts += e.feed(outage(c, 20))
    acts += e.tick(at(50))
    for c in EAST:
        acts += e.feed(recovery(c, 600))
    assert bool(notes(acts)) is sent
    assert len(notes(acts)) in (0, 2)
    assert len([a for a in acts if isinstance(a, OpenWorkOrder)]) == 1
    changed = [a.incident for a in acts if isinstance(a, IncidentChanged)]
    assert changed[-1].resolved_at == at(600) and changed[-1].silenced is not sent


def test_unknown_camera_ignored() -> None:
    assert engine().feed(outage(999, 0)) == ()


def test_cause_change_while_offline_updates_member() -> None:
    e = engine()
    e.feed(outage(21, 0, Cause.TIMEOUT))
    e.tick(at(30))
    acts = e.feed(Outage(21, Cause.REFUSED, at(40), at(40)))
    [ch] = [a for a in acts if isinstance(a, IncidentChanged)]
    assert ch.incident.cause is Cause.REFUSED and ch.incident.start == at(-15)


@pytest.mark.parametrize(("old", "new", "expected"), [
    (State.ONLINE, State.OFFLINE, [Outage]),
    (State.OFFLINE, State.ONLINE, [Recovery]),  # the picture is not checked yet: no PictureOk
    (State.OFFLINE, State.DEGRADED, [Recovery, PictureProblem]),
    (State.DEGRADED, State.OFFLINE, [Outage]),  # offline says nothing of the picture
    (State.DEGRADED, State.ONLINE, [PictureOk]),
    (State.ONLINE, State.DEGRADED, [PictureProblem]),
    (State.UNKNOWN, State.ONLINE, [Recovery]),  # first seen up after a restart
    (State.OFFLINE, State.UNKNOWN, []),  # the collector lost the camera: its incident stays open
    (State.OFFLINE, State.EXCLUDED, [Recovery, PictureOk]),
    (State.ONLINE, State.UNKNOWN, []),
])
def test_inputs_of_camera_state_events(old: State, new: State, expected: list[type]) -> None:
    ev = Changed(old, new, Cause.TIMEOUT if new is State.OFFLINE else None, at(0), at(15))
    assert [type(i) for i in inputs_of(5, ev, ("black",))] == expected
    assert inputs_of(5, FlappingChanged(True, at(1))) == (Flapping(5, True, at(1)),)


def test_on_event_matches_feed() -> None:
    e = engine()
    e.on_event(21, Changed(State.ONLINE, State.OFFLINE, Cause.REFUSED, at(0), at(15)))
    [n] = notes(e.tick(at(45)))
    assert n.message.title_zh == "【一般】摄像机离线：城关镇南庄村村口"


def test_west_village_is_its_own_incident() -> None:
    e = engine()
    for c in EAST[:2] + WEST[:1]:
        e.feed(outage(c, 0))
    opens = notes(e.tick(at(30)))
    assert sorted(n.message.title_zh for n in opens) == ["【一般】城关镇东关村 2/8 台摄像机离线", "【一般】摄像机离线：城关镇西关村村口"]


def test_hundred_cameras_in_twenty_villages_every_outage_reported_once() -> None:
    from collector.alerting.model import CameraInfo, Inventory

    cams = [CameraInfo(v * 10 + i, f"村{v}-{i}", f"V{v:02d}", f"村{v}", "T1", "镇", "C1", "县", f"点{i}", 1000 + v)
            for v in range(20) for i in range(5)]
    e = AlertEngine(POLICY, Inventory.of(cams))
    acts: list[object] = []
    for n, c in enumerate(cams):
        acts += e.feed(Outage(c.id, Cause.UPSTREAM_DOWN, at(n * 0.1), at(n * 0.1 + 15)))
    acts += e.tick(at(60))
    opens = notes(acts, NotifyKind.OPEN)
    assert len(opens) == 20 and {n.message.title_zh.split()[1] for n in opens} == {"5/5"}
    acts = [a for c in cams for a in e.feed(Recovery(c.id, at(900)))]
    assert len(notes(acts, NotifyKind.RESOLVE)) == 20 and e.open_incidents() == ()
