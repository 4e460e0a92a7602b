"""Table tests for the camera state machine (pure: statuses, outcomes, times in, statuses and events out)."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.runtime.camera_state import (
    Changed,
    FlappingChanged,
    Outcome,
    Pending,
    Policy,
    State,
    Status,
    next_delay,
    set_retired,
    step,
)
from collector.settings import CollectorSettings
from probes.base import Cause

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
P = Policy.from_settings(CollectorSettings())  # the defaults: re-probes after 5 s and 10 s, offline every 15 s


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
