"""Work-order colours, transitions and deadlines as pure functions of ``now`` (table tests)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from collector.alerting.config import AlertPolicySettings
from collector.alerting.model import Severity
from collector.alerting.policy import DeadlinePolicy
from collector.alerting.workorders import (
    Color,
    OrderStatus,
    Resolution,
    WorkOrder,
    WorkOrderError,
    acknowledge,
    auto_resolve,
    close,
    color,
    work_order_counts,
)
from probes.causes import Cause

T0 = dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC)
H = dt.timedelta(hours=1)
ORDER = WorkOrder(1, "o-x-1", OrderStatus.OPEN, "normal", T0, T0 + 24 * H)


@pytest.mark.parametrize(("order", "now", "expected"), [
    (ORDER, T0, Color.YELLOW),
    (ORDER, T0 + 24 * H, Color.YELLOW),  # at the deadline: still within it
    (ORDER, T0 + 24 * H + dt.timedelta(seconds=1), Color.RED),  # one second past: overdue
    (acknowledge(ORDER, T0 + H), T0 + 23 * H, Color.YELLOW),  # acknowledged is still open
    (acknowledge(ORDER, T0 + H), T0 + 25 * H, Color.RED),
    (auto_resolve(ORDER, T0 + 5 * H), T0 + 100 * H, Color.GREEN),  # fixed in time stays green
    (auto_resolve(ORDER, T0 + 24 * H), T0 + 100 * H, Color.GREEN),
    (auto_resolve(ORDER, T0 + 30 * H), T0 + 30 * H, Color.RED),  # fixed late stays red
    (close(ORDER, T0 + 2 * H, "换电源"), T0 + 3 * H, Color.GREEN),
])
def test_color(order: WorkOrder, now: dt.datetime, expected: Color) -> None:
    assert color(order, now) is expected


def test_colour_changes_exactly_at_the_deadline_for_a_two_hour_order() -> None:
    o = dataclasses.replace(ORDER, deadline=T0 + 2 * H)
    timeline = [(m, color(o, T0 + dt.timedelta(minutes=m))) for m in (0, 60, 119, 120, 121, 600)]
    assert timeline == [(0, Color.YELLOW), (60, Color.YELLOW), (119, Color.YELLOW), (120, Color.YELLOW),
                        (121, Color.RED), (600, Color.RED)]


def test_counts_include_every_colour() -> None:
    orders = [ORDER, auto_resolve(ORDER, T0 + H), auto_resolve(ORDER, T0 + 30 * H), dataclasses.replace(ORDER, deadline=T0)]
    assert work_order_counts(orders, T0 + 2 * H) == {Color.GREEN: 1, Color.YELLOW: 1, Color.RED: 2}
    assert work_order_counts([], T0) == {Color.GREEN: 0, Color.YELLOW: 0, Color.RED: 0}


def test_transitions_and_times() -> None:
    a = acknowledge(ORDER, T0 + dt.timedelta(minutes=12))
    assert a.status is OrderStatus.ACKNOWLEDGED and a.response_s == 720 and a.repair_s is None
    assert acknowledge(a, T0 + 2 * H) == a  # acknowledging twice keeps the first time
    r = auto_resolve(a, T0 + 3 * H)
    assert (r.status, r.resolution, r.repair_s, r.response_s) == (OrderStatus.RESOLVED, Resolution.RECOVERED, 10800, 720)
    assert auto_resolve(r, T0 + 9 * H) == r
    with pytest.raises(WorkOrderError):
        acknowledge(r, T0 + 4 * H)
    with pytest.raises(WorkOrderError):
        close(r, T0 + 4 * H, "note")
    with pytest.raises(WorkOrderError):
        close(ORDER, T0 + 4 * H, "  ")
    c = close(ORDER, T0 + 4 * H, " 已更换路由器 ")
    assert (c.resolution, c.note, c.acknowledged_at) == (Resolution.CLOSED, "已更换路由器", None)


@pytest.mark.parametrize(("cause", "severity", "hours"), [
    (Cause.TIMEOUT, Severity.NORMAL, 24.0),
    (Cause.UPSTREAM_DOWN, Severity.CRITICAL, 2.0),  # a whole village dark
    (None, Severity.LOW, 24.0),
    (Cause.AUTH_FAILED, Severity.NORMAL, 4.0),  # by cause
    (Cause.AUTH_FAILED, Severity.CRITICAL, 2.0),  # the shortest applicable entry wins
])
def test_deadline_policy(cause: Cause | None, severity: Severity, hours: float) -> None:
    p = DeadlinePolicy(by_cause=((Cause.AUTH_FAILED, 4.0),))
    assert p.deadline(T0, cause, severity) == T0 + dt.timedelta(hours=hours)


def test_settings_give_the_same_deadlines() -> None:
    p = AlertPolicySettings(work_order_deadlines={"default_h": 48, "by_cause": {"auth_failed": 4}}).to_policy()
    assert p.deadlines.hours(Cause.TIMEOUT, Severity.NORMAL) == 48
    assert p.deadlines.hours(Cause.AUTH_FAILED, Severity.NORMAL) == 4
    assert p.deadlines.hours(Cause.TIMEOUT, Severity.CRITICAL) == 2


def test_settings_reject_unknown_keys_and_bad_values() -> None:
    from pydantic import ValidationError

    for bad in ({"group_window": 30}, {"timezone": "Mars/Base"}, {"quiet_hours": {"start": "25:00"}},
                {"escalation": [{"after_s": 100, "name": "b", "channels": ["x"]}, {"after_s": 50, "name": "a", "channels": ["y"]}]}):
        with pytest.raises(ValidationError):
            AlertPolicySettings(**bad)  # type: ignore[arg-type]
    assert all(f.description for f in AlertPolicySettings.model_fields.values())
