"""The flapping digest counts the changes that made a camera flapping (``FlappingChanged.changes``),
not one: a camera flagged after 5 changes reads "上下线 5 次", then one more per change."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.alerting.engine import AlertEngine
from collector.alerting.held import FlapDigest
from collector.alerting.inputs import inputs_of
from collector.alerting.model import Flapping, NotifyKind
from collector.runtime.camera_state import FlappingChanged, Outcome, Policy, State, Status, step
from probes.causes import Cause
from tests.collector.alerts_fixtures import INV, POLICY, at, notes

STATE = Policy(confirm_delays_s=(5.0,), offline_interval_s=15.0, flap_changes=4, flap_window_s=1800.0, midpoint=True)


@pytest.mark.parametrize(("changes", "flapping"), [(6, True), (0, True), (0, False)])
def test_a_flapping_input_carries_its_count(changes: int, flapping: bool) -> None:
    assert inputs_of(7, FlappingChanged(flapping, at(10), changes)) == (Flapping(7, flapping, at(10), changes),)


@pytest.mark.parametrize(("steps", "counted"), [
    ([(0, 1)], 1),
    ([(0, 6)], 6),
    ([(0, 6), (10, 1), (20, 1)], 8),
])
def test_digest_activity_adds_its_count(steps: list[tuple[float, int]], counted: int) -> None:
    d = FlapDigest()
    for t, n in steps:
        d.activity(5, at(t), n)
    assert d.changes == {5: counted} and d.since == at(steps[0][0])


def flap(e: AlertEngine, cid: int) -> list[object]:
    """Camera *cid* goes down and up (one re-probe confirms) until flagged flapping, then stays down."""
    s, out, t, flagged = Status(State.ONLINE, None, at(-60)), [], 0.0, False
    while t < 600:
        t += 10
        ok = not s.state.up and not flagged
        s, evs = step(s, Outcome(at(t), ok, None if ok else Cause.TIMEOUT), STATE)
        for ev in evs:
            flagged = flagged or isinstance(ev, FlappingChanged)
            out += e.on_event(cid, ev)
        out += e.tick(at(t))
    return out


@pytest.mark.parametrize(("lang", "line"), [("zh", "城关镇南庄村村口：上下线 5 次，当前离线"), ("en", "南庄村村口 (城关镇): 5 changes, now offline")])
def test_the_digest_of_a_camera_flagged_after_five_changes_says_five(lang: str, line: str) -> None:
    e = AlertEngine(POLICY, INV)
    digests = notes(flap(e, 21), NotifyKind.DIGEST)
    assert len(digests) == 1
    text = digests[0].message.text(lang)
    assert text.splitlines()[2].endswith(line)
    assert digests[0].at > at(80) and digests[0].at - at(80) <= dt.timedelta(seconds=60)
