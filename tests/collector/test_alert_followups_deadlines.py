"""A work order's repair deadline by cause considers every member's cause: an incident whose causes
are mostly of a long deadline gets the short one of a minority cause (the most urgent wins)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from collector.alerting.engine import AlertEngine
from collector.alerting.model import OpenWorkOrder, Severity, UpdateWorkOrder
from collector.alerting.policy import DeadlinePolicy
from probes.causes import Cause
from tests.collector.alerts_fixtures import INV, POLICY, at, outage, run

DEADLINES = DeadlinePolicy(default_h=24.0, by_severity=((Severity.CRITICAL, 2.0),),
                           by_cause=((Cause.AUTH_FAILED, 4.0), (Cause.STREAM_UNAVAILABLE, 12.0)))
T, A, S, R = Cause.TIMEOUT, Cause.AUTH_FAILED, Cause.STREAM_UNAVAILABLE, Cause.REFUSED


@pytest.mark.parametrize(("causes", "severity", "hours"), [
    ((), Severity.NORMAL, 24.0),  # a picture incident: no cause
    ((None,), Severity.NORMAL, 24.0),
    ((T,), Severity.NORMAL, 24.0),
    ((T, A), Severity.NORMAL, 4.0),  # the minority's short deadline
    ((A, T), Severity.NORMAL, 4.0),  # whatever the order
    ((T, S, A), Severity.NORMAL, 4.0),
    ((T, S), Severity.NORMAL, 12.0),
    ((T, A), Severity.CRITICAL, 2.0),  # the severity's shorter still
])
def test_the_earliest_deadline_of_all_causes(causes: tuple[Cause | None, ...], severity: Severity, hours: float) -> None:
    opened = at(0)
    assert DEADLINES.earliest(opened, causes, severity) == opened + dt.timedelta(hours=hours)


# East village (8 cameras behind one router): too few network failures for a suspected uplink
CASES = {
    "mixed before the open: the open work order has the short deadline": (
        [(0, outage(1, 0, T)), (2, outage(2, 2, T)), (4, outage(3, 4, A))], 4.0, None),
    "a short-deadline cause joins a told incident: its update tightens the deadline": (
        [(0, outage(1, 0, T)), (2, outage(2, 2, T)), (100, outage(3, 100, A))], 24.0, 4.0),
    "a member's cause changes to a short-deadline one while offline": (
        [(0, outage(1, 0, T)), (2, outage(2, 2, R)), (100, outage(2, 100, S))], 24.0, 12.0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_work_order_deadline_follows_the_most_urgent_member_cause(name: str) -> None:
    script, open_h, update_h = CASES[name]
    e = AlertEngine(replace(POLICY, deadlines=DEADLINES), INV)
    acts = [a for _, a in run(e, script, until=200)]
    opened = [a for a in acts if isinstance(a, OpenWorkOrder)]
    assert len(opened) == 1 and opened[0].severity is Severity.NORMAL
    assert opened[0].deadline == opened[0].opened_at + dt.timedelta(hours=open_h)
    updates = [a.deadline for a in acts if isinstance(a, UpdateWorkOrder)]
    if update_h is None:
        assert updates == []
    else:
        assert updates and updates[-1] == opened[0].opened_at + dt.timedelta(hours=update_h)
