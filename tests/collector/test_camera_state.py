"""Table tests for the camera state machine (pure: statuses, outcomes, times in, statuses and events out)."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.runtime.camera_state import (
    NOT_SEEN,
    Changed,
    FlappingChanged,
    Outcome,
    Pending,
    Policy,
    Seen,
    State,
    Status,
    dated,
    next_delay,
    remember,
    set_retired,
    step,
)
from collector.settings import AccountingSettings, CollectorSettings
from probes.base import Cause

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
P = Policy.from_settings(CollectorSettings())  # the defaults: re-probes after 5 s and 10 s, offline every 15 s
FIRST = Policy.from_settings(CollectorSettings(), AccountingSettings(transition_dating="first_probe"))


def t(s: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=s)


def ok(s: float, video: tuple[str, ...] | None = None) -> Outcome:
    return Outcome(t(s), True, None, video)


def fail(s: float, cause: Cause = Cause.REFUSED) -> Outcome:
    return Outcome(t(s), False, cause)


def run(status: Status, outcomes: list[Outcome]) -> tuple[Status, list[object]]:
    events: list[object] = []
    for o in outcomes:
        status, ev = step(status, o, P)
        events.extend(ev)
    return status, events


ONLINE = Status(State.ONLINE, None, t(-100))
OFFLINE = Status(State.OFFLINE, Cause.REFUSED, t(-100))

CASES = [
    # (name, start, outcomes, final state, final cause, final since, events as (old, new, cause, start, confirmed))
    ("unknown first success", Status(), [ok(0)], State.ONLINE, None, t(0),
     [(State.UNKNOWN, State.ONLINE, None, t(0), t(0))]),
    ("online success stays", ONLINE, [ok(0)], State.ONLINE, None, t(-100), []),
    ("one failure is not an outage", ONLINE, [fail(0)], State.ONLINE, None, t(-100), []),
    ("two failures still pending", ONLINE, [fail(0), fail(5)], State.ONLINE, None, t(-100), []),
    ("failure then success clears", ONLINE, [fail(0), ok(5), fail(65), fail(70)], State.ONLINE, None, t(-100), []),
    ("confirmed outage starts at first failure", ONLINE, [fail(0), fail(5), fail(15, Cause.TIMEOUT)], State.OFFLINE,
     Cause.TIMEOUT, t(0), [(State.ONLINE, State.OFFLINE, Cause.TIMEOUT, t(0), t(15))]),
    ("one success brings it back", OFFLINE, [ok(30)], State.ONLINE, None, t(30),
     [(State.OFFLINE, State.ONLINE, None, t(30), t(30))]),
    ("offline same cause no new interval", OFFLINE, [fail(15), fail(30)], State.OFFLINE, Cause.REFUSED, t(-100), []),
    ("offline cause change opens interval", OFFLINE, [fail(15, Cause.AUTH_FAILED)], State.OFFLINE, Cause.AUTH_FAILED,
     t(15), [(State.OFFLINE, State.OFFLINE, Cause.AUTH_FAILED, t(15), t(15))]),
    ("unknown failures confirmed offline", Status(), [fail(0), fail(5), fail(15)], State.OFFLINE, Cause.REFUSED, t(0),
     [(State.UNKNOWN, State.OFFLINE, Cause.REFUSED, t(0), t(15))]),
    ("video failure degrades", ONLINE, [ok(0, ("black",))], State.DEGRADED, None, t(0),
     [(State.ONLINE, State.DEGRADED, None, t(0), t(0))]),
    ("degraded stays degraded on fast tier", Status(State.DEGRADED, None, t(-5), video_failed=("blur",)), [ok(0)],
     State.DEGRADED, None, t(-5), []),
    ("degraded heals when video passes", Status(State.DEGRADED, None, t(-5), video_failed=("blur",)), [ok(0, ())],
     State.ONLINE, None, t(0), [(State.DEGRADED, State.ONLINE, None, t(0), t(0))]),
    ("degraded camera goes offline", Status(State.DEGRADED, None, t(-5), video_failed=("blur",)),
     [fail(0), fail(5), fail(15)], State.OFFLINE, Cause.REFUSED, t(0),
     [(State.DEGRADED, State.OFFLINE, Cause.REFUSED, t(0), t(15))]),
    ("upstream down is a cause like others", ONLINE, [fail(0, Cause.UPSTREAM_DOWN)] * 1 + [fail(5, Cause.UPSTREAM_DOWN), fail(15, Cause.UPSTREAM_DOWN)],
     State.OFFLINE, Cause.UPSTREAM_DOWN, t(0), [(State.ONLINE, State.OFFLINE, Cause.UPSTREAM_DOWN, t(0), t(15))]),
    ("excluded ignores probes", Status(State.EXCLUDED, None, t(-5)), [fail(0), fail(5), fail(15), ok(20)],
     State.EXCLUDED, None, t(-5), []),
]


@pytest.mark.parametrize(("name", "start", "outcomes", "state", "cause", "since", "events"), CASES, ids=[c[0] for c in CASES])
def test_transitions(name, start, outcomes, state, cause, since, events) -> None:  # type: ignore[no-untyped-def]
    status, evs = run(start, outcomes)
    assert (status.state, status.cause, status.since) == (state, cause, since)
    changed = [(e.old, e.new, e.cause, e.start, e.confirmed_at) for e in evs if isinstance(e, Changed)]
    assert changed == events


@pytest.mark.parametrize(
    ("status", "delay"),
    [
        (ONLINE, None),  # no re-probe: the camera's next regular slot
        (Status(), None),
        (OFFLINE, 15.0),
        (Status(State.ONLINE, pending=Pending(t(0), 1, Cause.REFUSED)), 5.0),
        (Status(State.ONLINE, pending=Pending(t(0), 2, Cause.REFUSED)), 10.0),
    ],
)
def test_next_delay(status: Status, delay: float | None) -> None:
    assert next_delay(status, P) == delay


def test_flapping_flagged_and_cleared() -> None:
    status = ONLINE
    events: list[object] = []
    clock = 0.0
    for _ in range(3):  # 3 outages and 3 recoveries = 6 changes within 30 min
        for d in (0, 5, 15):
            status, ev = step(status, fail(clock + d), P)
            events += ev
        status, ev = step(status, ok(clock + 30), P)
        events += ev
        clock += 120
    flaps = [e for e in events if isinstance(e, FlappingChanged)]
    assert [f.flapping for f in flaps] == [True] and status.flapping
    # quiet for a whole window: cleared
    status, ev = step(status, ok(clock + 1900), P)
    assert status.flapping is False and [e.flapping for e in ev if isinstance(e, FlappingChanged)] == [False]


def test_retired_camera_is_excluded_and_ignores_late_outcomes() -> None:
    s, ev = set_retired(ONLINE, t(0))
    assert s.state is State.EXCLUDED and ev == [Changed(State.ONLINE, State.EXCLUDED, None, t(0), t(0))]
    assert set_retired(s, t(1)) == (s, [])
    pending = Status(State.ONLINE, None, t(-5), Pending(t(-2), 1, Cause.REFUSED))
    s, ev = set_retired(pending, t(10))
    assert (s.state, s.since, s.pending) == (State.EXCLUDED, t(10), None)
    assert step(s, fail(11), P) == (s, []) and step(s, ok(12), P) == (s, [])  # a probe that was in flight


@pytest.mark.parametrize("status, outcome, same", [
    (Status(State.ONLINE, None, t(0)), Outcome(t(60), True), True),  # a healthy camera's minute
    (Status(State.DEGRADED, None, t(0), video_failed=("blur",)), Outcome(t(60), True), True),
    (Status(State.DEGRADED, None, t(0), video_failed=("blur",)), Outcome(t(60), True, None, ("blur",)), True),
    (Status(State.OFFLINE, Cause.REFUSED, t(0)), Outcome(t(15), False, Cause.REFUSED), True),
    # something to clear or count: a new object
    (Status(State.ONLINE, None, t(0), Pending(t(50), 1, Cause.REFUSED)), Outcome(t(60), True), False),
    (Status(State.DEGRADED, None, t(0), video_failed=("blur",)), Outcome(t(60), True, None, ()), False),
    (Status(State.ONLINE, None, t(0), changes=(t(-3600),)), Outcome(t(60), True), False),  # old change pruned
])
def test_steady_state_keeps_the_status_object(status: Status, outcome: Outcome, same: bool) -> None:
    new, events = step(status, outcome, P)
    assert (new is status) is same
    if same:
        assert events == []


def test_dating_policy_from_the_accounting_settings() -> None:
    assert P.midpoint is True and FIRST.midpoint is False


def run_seen(status: Status, outcomes: list[Outcome], policy: Policy = P,
             seen: Seen = NOT_SEEN) -> tuple[Status, Seen, list[Changed]]:
    """Apply outcomes as the scheduler does: the last probe that saw the state kept between steps."""
    events: list[Changed] = []
    for o in outcomes:
        status, ev = step(status, o, policy, seen)
        seen = remember(seen, status, o)
        events.extend(e for e in ev if isinstance(e, Changed))
    return status, seen, events


SEEN_CASES = [
    # (name, start status, seen before, outcomes, policy, events as (old, new, start, uncertainty s))
    ("outage at the midpoint of the last success and the first failure", ONLINE, Seen(t(-60)),
     [fail(0), fail(5), fail(15)], P, [(State.ONLINE, State.OFFLINE, t(-30), 30.0)]),
    ("first_probe dates the outage at the first failure, same uncertainty", ONLINE, Seen(t(-60)),
     [fail(0), fail(5), fail(15)], FIRST, [(State.ONLINE, State.OFFLINE, t(0), 30.0)]),
    ("recovery at the midpoint of the last failure and the first success", ONLINE, Seen(t(-60)),
     [fail(0), fail(5), fail(15), fail(30), ok(45)], P,
     [(State.ONLINE, State.OFFLINE, t(-30), 30.0), (State.OFFLINE, State.ONLINE, t(37.5), 7.5)]),
    ("recovery dated by first_probe at the first success", ONLINE, Seen(t(-60)),
     [fail(0), fail(5), fail(15), fail(30), ok(45)], FIRST,
     [(State.ONLINE, State.OFFLINE, t(0), 30.0), (State.OFFLINE, State.ONLINE, t(45), 7.5)]),
    ("a success between failures restarts the gap", ONLINE, Seen(t(-60)),
     [fail(0), ok(5), fail(65), fail(70), fail(80)], P, [(State.ONLINE, State.OFFLINE, t(35), 30.0)]),
    ("first probe after a start: the old state unknown, dated at the probe", Status(), Seen(),
     [ok(0)], P, [(State.UNKNOWN, State.ONLINE, t(0), 0.0)]),
    ("unknown confirmed offline at its first failure", Status(), Seen(),
     [fail(0), fail(5), fail(15)], P, [(State.UNKNOWN, State.OFFLINE, t(0), 0.0)]),
    ("never before the old state's own start", Status(State.ONLINE, None, t(-10)), Seen(t(-60)),
     [fail(0), fail(5), fail(15)], P, [(State.ONLINE, State.OFFLINE, t(-10), 30.0)]),
    ("cause change while offline at the midpoint", OFFLINE, Seen(t(0)),
     [fail(15, Cause.AUTH_FAILED)], P, [(State.OFFLINE, State.OFFLINE, t(7.5), 7.5)]),
    ("degraded by the video tier: from its last look at the picture", Status(State.ONLINE, None, t(-3600)),
     Seen(t(-5), t(-1800)),
     [ok(0, ("black",))], P, [(State.ONLINE, State.DEGRADED, t(-900), 900.0)]),
    ("picture never looked at since it came up: at the video probe", ONLINE, Seen(t(-5), None),
     [ok(0, ("black",))], P, [(State.ONLINE, State.DEGRADED, t(0), 0.0)]),
    ("degraded heals at the midpoint of two video probes", Status(State.DEGRADED, None, t(-3600), video_failed=("blur",)),
     Seen(t(-30), t(-1800)), [ok(-30), ok(0, ())], P, [(State.DEGRADED, State.ONLINE, t(-900), 900.0)]),
    ("excluded (retired) ignores probes", Status(State.EXCLUDED, None, t(-5)), Seen(t(-5)),
     [fail(0), fail(5), fail(15), ok(20)], P, []),
]


@pytest.mark.parametrize(("name", "start", "seen", "outcomes", "policy", "events"), SEEN_CASES,
                         ids=[c[0] for c in SEEN_CASES])
def test_dating(name, start, seen, outcomes, policy, events) -> None:  # type: ignore[no-untyped-def]
    status, _, evs = run_seen(start, outcomes, policy, seen)
    assert [(e.old, e.new, e.start, e.uncertainty_s) for e in evs] == events
    if evs:
        assert status.since == evs[-1].start


def test_remember_keeps_what_probes_saw() -> None:
    s, seen, _ = run_seen(ONLINE, [ok(0)])
    assert seen == Seen(t(0), None)
    s, seen, _ = run_seen(s, [ok(60, ())], seen=seen)  # a video probe saw the picture too
    assert seen == Seen(t(60), t(60))
    s, seen2, _ = run_seen(s, [fail(120), fail(125)], seen=seen)  # failures being confirmed saw nothing
    assert seen2 is seen
    s, seen, _ = run_seen(s, [fail(135)], seen=seen)  # confirmed: it saw the offline state; no picture
    assert (s.state, seen) == (State.OFFLINE, Seen(t(135), None))
    s, seen, _ = run_seen(s, [fail(150)], seen=seen)
    assert seen == Seen(t(150), None)


@pytest.mark.parametrize(("prev", "first", "since", "policy", "expected"), [
    (None, t(10), t(0), P, (t(10), 0.0)),
    (t(0), t(10), None, P, (t(5), 5.0)),
    (t(0), t(10), None, FIRST, (t(10), 5.0)),
    (t(0), t(10), t(8), P, (t(8), 5.0)),  # clamped to the old state's start
    (t(10), t(10), None, P, (t(10), 0.0)),
    (t(12), t(10), None, P, (t(10), 0.0)),  # a clock step back: no negative gap
])
def test_dated(prev, first, since, policy, expected) -> None:  # type: ignore[no-untyped-def]
    assert dated(prev, first, since, policy) == expected
