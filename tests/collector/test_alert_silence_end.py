"""What a silence withholds, and what is told when it ends (pure engine, explicit ``now``):

* an outage silenced throughout is never told: no open message and no recovery message (a 【恢复】
  of an outage nobody was told about), though its incident and work order are recorded;
* when the silence ends (by hand: the engine is handed the silences without it, as after
  ``alerts unsilence``; or at its end) while the outage is still open, its open message is told
  then, once, as the incident is then, saying it was withheld; its recovery follows as usual;
* a silence that ends after the recovery, or as it comes, tells nothing;
* updates, escalations and reminders are withheld with it; a late opening goes to the channels of
  the escalation levels the incident's age reached, and no escalation for those follows;
* a restart (or a new leader: the same restore) in between neither loses nor repeats it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from collector.alerting.engine import AlertEngine
from collector.alerting.model import (
    Incident,
    IncidentChanged,
    Notify,
    NotifyKind,
    OpenWorkOrder,
    ResolveWorkOrder,
    Severity,
    Silence,
    UpdateWorkOrder,
)
from collector.alerting.policy import AlertPolicy, QuietHours
from probes.causes import Cause
from tests.collector.alerts_fixtures import EAST, INV, POLICY, at, outage, recovery

H = 3600.0
VILLAGE = "130123101201"  # 东关村, EAST: eight cameras behind one router
LATE_ZH = "说明：告警静默期间未发送，静默结束后补发"
LATE_EN = "Note: withheld during an alert silence, sent now that it has ended"
OPEN, RESOLVE, REMINDER = NotifyKind.OPEN, NotifyKind.RESOLVE, NotifyKind.REMINDER
Timed = list[tuple[float, Any]]


def engine(policy: AlertPolicy = POLICY) -> AlertEngine:
    return AlertEngine(policy, INV)


def hush(until: float, *, camera: int | None = None) -> Silence:
    """A silence of 东关村 (or of one camera) until *until* s."""
    return Silence(1, at(until), camera, None if camera is not None else VILLAGE, "施工")


def unsilence(e: AlertEngine) -> None:
    """``alerts unsilence``: the next reload (leader: refresh) hands the engine the silences without it."""
    e.set_silences(())


def play(e: AlertEngine, script: Timed, until: float, *, start: float = 0.0, step: float = 5.0) -> Timed:
    """Feed (time, input) pairs in order, an input may also be a change of the engine's silences
    (a callable), ticking every *step* s from *start*; (time, action) pairs."""
    out: Timed = []
    script = sorted(script, key=lambda p: p[0])
    t, i = start, 0
    while t <= until:
        while i < len(script) and script[i][0] <= t:
            when, x = script[i]
            if callable(x):
                x(e)
            else:
                out += [(when, a) for a in e.feed(x)]
            i += 1
        out += [(t, a) for a in e.tick(at(t))]
        t += step
    return out


def sent(timed: Timed) -> list[tuple[float, Notify]]:
    return [(t, a) for t, a in timed if isinstance(a, Notify)]


def said(timed: Timed) -> list[tuple[float, NotifyKind]]:
    return [(t, n.kind) for t, n in sent(timed)]


def of(timed: Timed, kind: type) -> list[Any]:
    return [a for _, a in timed if isinstance(a, kind)]


def dark(t: float = 20.0) -> Timed:
    return [(t, outage(c, t, Cause.UPSTREAM_DOWN)) for c in EAST]


def back(t: float) -> Timed:
    return [(t, recovery(c, t)) for c in EAST]


@pytest.mark.parametrize(("name", "until", "by_hand", "back_at", "told"), [
    ("silenced throughout", 3600.0, None, 600.0, []),
    ("ended by hand while down", 3600.0, 200.0, 600.0, [(200.0, OPEN), (600.0, RESOLVE)]),
    ("ran out while down", 300.0, None, 600.0, [(300.0, OPEN), (600.0, RESOLVE)]),
    ("ended by hand after the recovery", 3600.0, 700.0, 600.0, []),
    ("ran out after the recovery", 650.0, None, 600.0, []),
    ("ran out as it came back (before the tick)", 600.0, None, 600.0, []),
    ("ended by hand as it came back", 3600.0, 600.0, 600.0, []),
    ("ran out inside the grouping window: told as usual", 40.0, None, 600.0, [(50.0, OPEN), (600.0, RESOLVE)]),
])
def test_a_silenced_outage_is_told_when_the_silence_ends_while_it_is_open(
        name: str, until: float, by_hand: float | None, back_at: float, told: list[tuple[float, NotifyKind]]) -> None:
    e = engine()
    e.set_silences((hush(until),))
    script = dark() + back(back_at) + ([(by_hand, unsilence)] if by_hand is not None else [])
    timed = play(e, script, 1000)
    assert said(timed) == told, name
    # the incident and its work order are recorded either way: one order, opened and resolved once
    assert len(of(timed, OpenWorkOrder)) == 1 and len(of(timed, ResolveWorkOrder)) == 1, name
    last = of(timed, IncidentChanged)[-1].incident
    assert last.resolved_at == at(back_at) and last.silenced is (told == []), name  # stored: never told
    assert e.open_incidents() == ()
    if told:
        [(_, opened), (_, resolved)] = sent(timed)
        assert opened.message.title_zh == "【严重】城关镇东关村 8/8 台摄像机离线，疑似上联中断", name  # the usual title
        late = told[0][0] != 50.0
        assert opened.late is late and (LATE_ZH in opened.message.text_zh) is late, name
        assert (LATE_ZH.replace("：", "**：") in opened.message.markdown_zh) is late
        assert (LATE_EN in opened.message.text_en) is late
        assert "静默" not in opened.message.short_zh  # an SMS: the usual short form
        assert resolved.message.title_zh == "【恢复】城关镇东关村 8 台摄像机已恢复在线"


def test_a_camera_the_silence_does_not_cover_joining_tells_the_opening_then() -> None:
    """One camera silenced goes down alone (withheld); a second, not silenced, joins it: the
    incident is no longer all silenced, so its opening is told at the next tick, of the camera the
    silence does not cover alone (a silenced camera is left out of messages: its count too)."""
    e = engine()
    e.set_silences((hush(10 * H, camera=EAST[0]),))
    timed = play(e, [(20.0, outage(EAST[0], 20)), (300.0, outage(EAST[1], 300))], 1000)
    [(t, opened)] = sent(timed)
    assert (t, opened.kind, opened.late) == (300.0, OPEN, True)
    assert opened.message.title_zh == "【一般】摄像机离线：城关镇东关村十字路口"
    assert [u.cameras for u in of(timed, UpdateWorkOrder)] == [2]  # the growth: its order, no update message


def test_growth_while_silenced_follows_the_work_order_and_says_nothing() -> None:
    e = engine()
    e.set_silences((hush(10 * H),))
    timed = play(e, [(20.0, outage(EAST[0], 20)), (300.0, outage(EAST[1], 300))], 1000)
    assert sent(timed) == [] and [u.cameras for u in of(timed, UpdateWorkOrder)] == [2]


def test_updates_escalations_and_reminders_are_withheld_and_the_late_opening_says_it_all() -> None:
    """Silenced for 5 h, the village grows (update withheld) and passes the escalation age (1 h)
    and a reminder's (4 h). The silence runs out at 5 h: one open message with the size now, to the
    default channel and the supervisor's (the level reached), no escalation message after it; the
    next reminder 4 h after it; then its recovery."""
    e = engine()
    e.set_silences((hush(5 * H),))
    script = [(20.0, outage(c, 20)) for c in EAST[:3]] + [(400.0, outage(c, 400)) for c in EAST[3:]] + back(10 * H)
    timed = play(e, script, 10 * H + 60, step=30)
    assert said(timed) == [(5 * H, OPEN), (9 * H, REMINDER), (10 * H, RESOLVE)]
    (_, opened), (_, reminder), _ = sent(timed)
    assert opened.channels == ("default", "supervisor") and opened.late
    # (five network failures in one window, then: judged when told, as for any growth)
    assert opened.message.title_zh == "【严重】城关镇东关村 8/8 台摄像机离线，疑似上联中断" and LATE_ZH in opened.message.text_zh
    assert reminder.channels == ("default", "supervisor")  # the levels reached, as every reminder
    assert of(timed, IncidentChanged)[-1].incident.escalation == 1


def test_an_outage_told_before_the_silence_keeps_its_recovery() -> None:
    """Told at 50 s, then silenced (staff at work on it): its growth meanwhile is withheld; the
    silence over, its recovery is told (its opening was)."""
    e = engine()
    script = [(20.0, outage(EAST[0], 20)), (100.0, lambda e: e.set_silences((hush(1000),))),
              (300.0, outage(EAST[1], 300)), (1200.0, recovery(EAST[0], 1200)), (1200.0, recovery(EAST[1], 1200))]
    timed = play(e, script, 1300)
    assert said(timed) == [(50.0, OPEN), (1200.0, RESOLVE)]
    assert not any(n.late for _, n in sent(timed))


def stored(inc: Incident) -> Incident:
    """*inc* as ``incident_store.load_open_incidents`` gives it back after a restart."""
    return Incident(inc.id, inc.kind, inc.severity, inc.village, inc.device_id, inc.opened_at, inc.start, inc.members,
                    inc.village_total, 0, sent=True, silenced=inc.silenced, escalation=inc.escalation)


@pytest.mark.parametrize(("name", "restart_at", "told_before", "told_after"), [
    ("still silenced; ended by hand after the restart", 150.0, [], [(200.0, OPEN), (600.0, RESOLVE)]),
    ("ended by hand; restarted before a tick told it", 200.0, [], [(200.0, OPEN), (600.0, RESOLVE)]),
    ("restarted after the late opening", 300.0, [(200.0, OPEN)], [(600.0, RESOLVE)]),
    ("restarted after the late opening, back meanwhile", 700.0, [(200.0, OPEN), (600.0, RESOLVE)], []),
])
def test_a_restart_in_between_neither_loses_nor_repeats_the_late_opening(
        name: str, restart_at: float, told_before: list[tuple[float, NotifyKind]],
        told_after: list[tuple[float, NotifyKind]]) -> None:
    """The engine after a restart (a new leader restores the same way) goes on from what the
    store holds: ``silenced`` says the opening is still owed."""
    first = engine()
    first.set_silences((hush(3600),))
    before = play(first, dark() + back(600) + [(200.0, unsilence)], restart_at - 5)
    assert said(before) == told_before, name
    again = engine()
    again.restore(tuple(stored(i) for i in first.open_incidents()), at(restart_at))
    again.set_silences((hush(3600),) if restart_at < 200 else ())  # what the store lists then
    script = [(t, x) for t, x in back(600) + [(200.0, unsilence)] if t >= restart_at]
    after = play(again, script, 1000, start=restart_at)
    assert said(after) == told_after, name


ALL_NIGHT = QuietHours(start=dt.time(9, 0), end=dt.time(11, 0), hold=frozenset(Severity))


@pytest.mark.parametrize(("silenced_at", "told"), [
    (None, [(3600.0, OPEN)]),  # quiet hours over: the held opening is told
    (1000.0, [(5000.0, OPEN)]),  # silenced meanwhile: not released then, told when the silence ends
])
def test_an_opening_held_over_quiet_hours_respects_a_silence_set_meanwhile(
        silenced_at: float | None, told: list[tuple[float, NotifyKind]]) -> None:
    """Quiet hours (every severity held here) until 11:00 local, 3600 s."""
    e = engine(dataclasses.replace(POLICY, escalation=(), quiet=ALL_NIGHT))
    script: Timed = [(20.0, outage(21, 20))]
    if silenced_at is not None:
        silence: Callable[[AlertEngine], None] = lambda e: e.set_silences((hush(5000, camera=21),))  # noqa: E731
        script.append((silenced_at, silence))
    timed = play(e, script, 6000)
    assert said(timed) == told
    assert sent(timed)[0][1].late is (silenced_at is not None)


QUIET_POLICY = dataclasses.replace(POLICY, escalation=(), quiet=ALL_NIGHT)


@pytest.mark.parametrize(("name", "silenced_at", "told"), [
    ("no silence: the recovery alone, after quiet hours", None, [(3600.0, RESOLVE)]),
    # its recovery was withheld by the silence: the held opening is not told alone (of an outage over)
    ("silenced, then back while silenced", 1000.0, []),
])
def test_an_opening_held_over_quiet_hours_is_never_told_alone_of_an_outage_over(
        name: str, silenced_at: float | None, told: list[tuple[float, NotifyKind]]) -> None:
    e = engine(QUIET_POLICY)
    script: Timed = [(20.0, outage(21, 20)), (2000.0, recovery(21, 2000))]
    if silenced_at is not None:
        silence: Callable[[AlertEngine], None] = lambda e: e.set_silences((hush(5000, camera=21),))  # noqa: E731
        script.append((silenced_at, silence))
    assert said(play(e, script, 6000)) == told, name
    assert e.held == [] and e.open_incidents() == ()


@pytest.mark.parametrize("restart_at", [None, 2000.0, 3600.0])
def test_a_late_opening_due_in_quiet_hours_survives_a_restart(restart_at: float | None) -> None:
    """The silence runs out at 1000 s, inside quiet hours (until 3600 s): the opening stays owed,
    in the store, and is told when quiet hours end, by this engine or the one after a restart."""
    first = engine(QUIET_POLICY)
    first.set_silences((hush(1000, camera=21),))
    told = sent(play(first, [(20.0, outage(21, 20))], 6000 if restart_at is None else restart_at - 5))
    if restart_at is not None:
        assert told == [] and [i.silenced for i in first.open_incidents()] == [True]
        again = engine(QUIET_POLICY)
        again.restore(tuple(stored(i) for i in first.open_incidents()), at(restart_at))
        told = sent(play(again, [], 6000, start=restart_at))
    assert [(t, n.kind, n.late) for t, n in told] == [(3600.0, OPEN, True)]


ESCALATE = NotifyKind.ESCALATE


@pytest.mark.parametrize(("name", "until", "back_at", "restart_at", "told"), [
    ("no silence: at 1 h of age (opened at 20 s)", None, None, None, [(60.0, OPEN), (3630.0, ESCALATE)]),
    ("level reached while silenced: told when it ends", 2 * H, None, None, [(60.0, OPEN), (2 * H, ESCALATE)]),
    ("the same across a restart while silenced", 2 * H, None, 1.5 * H, [(60.0, OPEN), (2 * H, ESCALATE)]),
    ("back while silenced: nothing more", 2 * H, 1.5 * H, None, [(60.0, OPEN)]),
])
def test_an_escalation_reached_while_silenced_is_told_when_the_silence_ends(
        name: str, until: float | None, back_at: float | None, restart_at: float | None,
        told: list[tuple[float, NotifyKind]]) -> None:
    """Told at 60 s, then silenced from 100 s: the first escalation level (1 h) is not used up
    unsaid; it goes out once when the silence ends, to that level's channels."""
    silences: tuple[Silence, ...] = (hush(until, camera=21),) if until is not None else ()
    script: Timed = [(20.0, outage(21, 20)), (100.0, lambda e: e.set_silences(silences))]
    script += [(back_at, recovery(21, back_at))] if back_at is not None else []
    e = engine()
    end = restart_at - 30 if restart_at is not None else 3 * H
    timed = play(e, script, end, step=30)
    if restart_at is not None:
        again = engine()
        again.restore(tuple(stored(i) for i in e.open_incidents()), at(restart_at))
        again.set_silences(silences)
        e, timed = again, timed + play(again, [], 3 * H, start=restart_at, step=30)
    assert said(timed) == told, name
    assert [n.channels for _, n in sent(timed) if n.kind is ESCALATE] == [("supervisor",)] * (len(told) - 1)
    assert [i.escalation for i in e.open_incidents()] == ([1] if back_at is None else [])
