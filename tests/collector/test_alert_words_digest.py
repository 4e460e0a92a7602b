"""The flapping digest said "1 change, now offline" for a camera that had changed ~6 times: the
engine counts a flapping camera's changes from the moment it is flagged (the flag itself: 1).
The state machine now says how many changes made it flapping (``FlappingChanged.changes``), for
the digest to count from (the engine's side is left to engine.py / inputs.py / held.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from collector.runtime.camera_state import FlappingChanged, Outcome, Policy, State, Status, step
from probes.causes import Cause

T0 = dt.datetime(2026, 12, 5, 1, 18, tzinfo=dt.UTC)
POLICY = Policy(confirm_delays_s=(), offline_interval_s=15.0, flap_changes=4, flap_window_s=1800.0, midpoint=True)


@pytest.mark.parametrize(("flips", "flagged_with"), [(4, None), (5, 5), (6, 5)])
def test_flapping_flag_carries_the_changes_that_made_it(flips: int, flagged_with: int | None) -> None:
    s = Status(State.ONLINE, None, T0)
    flags: list[FlappingChanged] = []
    for i in range(flips):  # down, up, down ... 25 s apart (the tester's 25/25)
        s, ev = step(s, Outcome(T0 + dt.timedelta(seconds=25 * (i + 1)), i % 2 == 1, None if i % 2 else Cause.REFUSED), POLICY)
        flags += [e for e in ev if isinstance(e, FlappingChanged)]
    assert [f.changes for f in flags] == ([] if flagged_with is None else [flagged_with])
