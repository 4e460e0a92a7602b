"""An outage's first message waits for the answer of the offline recheck after the grouping window.

The race it closes: the window (30 s) ended on a tick while the camera's recheck due at that very
moment (offline cameras are re-probed every 15 s, counted from the end of their last probe) was
still on its way, so a camera back 16-30 s after its confirmation paged 离线 and, a moment later,
恢复. Each case below scripts one camera's probes the way the scheduler runs them (confirmation,
then a recheck every ``collector.offline_interval_s`` after the last probe ended, a regular
probe moving that chain) and feeds the engine what it would hear, ticking every 5 s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from collector.alerting.engine import AlertEngine
from collector.alerting.model import IncidentKind, Notify, NotifyKind, OpenWorkOrder, PictureProblem, Severity
from collector.alerting.policy import AlertPolicy
from collector.settings import Settings
from probes.causes import Cause
from tests.collector.alerts_fixtures import INV, POLICY, WEST, at, notes, outage, recovery, run

# what `camwatch run` builds with the default settings: window 30 s, an offline recheck's answer 23 s
# (rechecks every 15 s, the longest failing probe before one 3 + 5 s: Settings.recheck_answer_s), grace 5 s
P = dataclasses.replace(POLICY, recheck_s=Settings().recheck_answer_s, recheck_grace_s=5.0)


def probes(confirmed: float, probe_s: float, regular: tuple[float, ...] = ()) -> Iterator[float]:
    """Start times of the probes after the confirming one: each recheck 15 s after the last probe
    ended (a failed probe lasts *probe_s*: 0 refused, 3 s unreachable, 5 s RTSP timeout), unless a
    regular probe (at *regular*) comes first and the chain goes on from it."""
    t = confirmed
    while True:
        nxt = t + probe_s + 15.0
        t = next((r for r in regular if t < r < nxt), nxt)
        yield t


def script(confirmed: float, back: float | None, probe_s: float = 0.0, regular: tuple[float, ...] = (),
           answer_s: float = 0.2, cid: int = 21) -> list[tuple[float, object]]:
    """The engine's inputs for one camera confirmed offline at *confirmed* and back at *back* (None:
    still down): its recovery is seen by the first probe after it and reaches the engine *answer_s*
    later (the probe itself and the way to the engine)."""
    out: list[tuple[float, object]] = [(confirmed, outage(cid, confirmed, Cause.UNREACHABLE))]
    if back is not None:
        seen = next(t for t in probes(confirmed, probe_s, regular) if t >= back)
        out.append((seen + answer_s, recovery(cid, seen)))
    return out


def told(policy: AlertPolicy, inputs: list[tuple[float, object]], until: float = 400.0) -> list[tuple[float, NotifyKind]]:
    acts = run(AlertEngine(policy, INV), inputs, until)
    return [(t, a.kind) for t, a in acts if isinstance(a, Notify)]


OPEN, RESOLVE = NotifyKind.OPEN, NotifyKind.RESOLVE


@pytest.mark.parametrize(("name", "inputs", "expected"), [
    # the reported pattern: refused port, back 16 s after its confirmation; the recheck at 30 s sees it
    ("back 16 s after, seen by the recheck at the window's end", script(0, 16), []),
    ("back 29 s after, unreachable probes (3 s each): seen at 36 s", script(0, 29, probe_s=3), []),
    ("back at the window's end, RTSP timeouts (5 s): seen at 40 s", script(0, 30, probe_s=5), []),
    ("back at 29.9 s, a regular probe at 14 s moved the rechecks: seen at 44 s", script(0, 29.9, regular=(14,)), []),
    ("back at 29.9 s through the leader (answer 1.5 s later)", script(0, 29.9, probe_s=3, answer_s=1.5), []),
    ("back 31 s after, seen at 45 s: still before the message", script(0, 31), []),
    # a regular probe just before the window's end, started before the camera was back, failing by its
    # RTSP timeout (5 s): the next recheck is 15 s after it ended, seen at 49.9 s
    ("back at 29.95 s, a regular probe at 29.9 s timing out", script(0, 29.95, probe_s=5, regular=(29.9,)), []),
    ("the same through the leader (answer 1.5 s later)", script(0, 29.95, probe_s=5, regular=(29.9,), answer_s=1.5), []),
    ("confirmed at 2 s (between ticks), back at 31 s: seen at 32 s", script(2, 31), []),
    # real outages: told one recheck's answer (23 s) and the grace (5 s) after the window, then recovered
    ("still down: due at 58 s, told on the tick at 60 s", script(0, None), [(60.0, OPEN)]),
    ("confirmed at 2 s: due at 60 s, told on that tick", script(2, None), [(60.0, OPEN)]),
    ("back after two minutes", script(0, 120), [(60.0, OPEN), (120.2, RESOLVE)]),
    ("back at 50 s: seen at 60 s, after the message", script(0, 50), [(60.0, OPEN), (60.2, RESOLVE)]),
])
def test_a_camera_back_within_the_window_pages_nothing(name: str, inputs: list[tuple[float, object]],
                                                       expected: list[tuple[float, NotifyKind]]) -> None:
    assert told(P, inputs) == expected, name


def test_without_the_recheck_wait_the_race_pages_twice() -> None:
    """What the rule fixes (recheck_s 0: the first message at the window's end, as before)."""
    assert told(POLICY, script(0, 16)) == [(30.0, OPEN), (30.2, RESOLVE)]
    assert told(P, script(0, 16)) == []


@pytest.mark.parametrize(("kind", "recheck_s", "grace_s", "window_s", "due_s"), [
    (IncidentKind.OUTAGE, 23.0, 5.0, 30.0, 58.0),  # the defaults: 28 s after the window at most
    (IncidentKind.OUTAGE, 0.0, 5.0, 30.0, 30.0),  # no recheck to wait for
    (IncidentKind.OUTAGE, 60.0, 5.0, 30.0, 95.0),  # rechecks as rare as the fast tier's interval
    (IncidentKind.OUTAGE, 15.0, 0.0, 0.0, 15.0),  # no window: still one recheck
    (IncidentKind.PICTURE, 15.0, 5.0, 30.0, 30.0),  # pictures: the video tier's, the window alone
])
def test_open_due(kind: IncidentKind, recheck_s: float, grace_s: float, window_s: float, due_s: float) -> None:
    p = AlertPolicy(group_window_s=window_s, recheck_s=recheck_s, recheck_grace_s=grace_s)
    assert p.open_due(kind, at(0)) == at(due_s)


def test_a_camera_joining_before_the_message_is_in_it_and_one_back_before_it_is_not() -> None:
    e = AlertEngine(P, INV)
    acts = list(e.feed(outage(WEST[0], 0))) + list(e.feed(outage(WEST[1], 10))) + list(e.tick(at(35)))
    acts += e.feed(outage(WEST[2], 40)) + e.feed(recovery(WEST[1], 45))  # joins after the window; one is back
    assert notes(acts) == []
    acts = list(e.tick(at(58)))
    [n] = notes(acts)
    assert n.message.title_zh == "【一般】城关镇西关村 2/3 台摄像机离线"  # the one back is not counted
    [wo] = [a for a in acts if isinstance(a, OpenWorkOrder)]
    assert wo.opened_at == at(0) and wo.cameras == 3  # its work order keeps every camera of the incident


def test_a_rise_in_severity_after_the_message_is_told_at_once() -> None:
    e = AlertEngine(P, INV)
    e.feed(outage(WEST[0], 0, Cause.TIMEOUT))
    e.feed(outage(WEST[1], 100, Cause.TIMEOUT))  # (joins the incident: growth, one window later)
    assert [n.kind for n in notes(e.tick(at(58)))] == [OPEN]
    e.feed(outage(WEST[2], 60, Cause.TIMEOUT))  # the village is dark: critical
    [n] = notes(e.tick(at(60)))
    assert (n.kind, n.severity) == (NotifyKind.UPDATE, Severity.CRITICAL)
    assert n.message.title_zh == "【更新·严重】城关镇西关村 3/3 台摄像机离线"


@pytest.mark.parametrize(("escalation", "tick_s", "kinds"), [
    (True, 3599.0, []),
    (True, 3600.0, [NotifyKind.ESCALATE]),  # by the incident's age, as before: not moved by the wait
    (False, 58.0 + 4 * 3600 - 1, []),
    (False, 58.0 + 4 * 3600, [NotifyKind.REMINDER]),  # 4 h after the open message, as before
])
def test_escalation_and_reminders_keep_their_times(escalation: bool, tick_s: float, kinds: list[NotifyKind]) -> None:
    e = AlertEngine(dataclasses.replace(P, escalation=P.escalation[:1] if escalation else ()), INV)
    e.feed(outage(21, 0))
    assert [n.kind for n in notes(e.tick(at(58)))] == [OPEN]
    assert [n.kind for n in notes(e.tick(at(tick_s)))] == kinds


def test_a_picture_problem_is_told_at_the_window_s_end() -> None:
    e = AlertEngine(P, INV)
    e.feed(PictureProblem(21, ("black",), at(0)))
    assert notes(e.tick(at(25))) == []
    assert [n.kind for n in notes(e.tick(at(30)))] == [OPEN]
