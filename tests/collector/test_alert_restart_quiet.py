"""Quiet hours, escalation and restarts: who is told what.

* an opening held by quiet hours (or decided and never sent) when camwatch restarts is decided
  again from the store: sent once when quiet hours end, to every channel its incident reached;
  an opening that reached a channel (its ``alert_log`` row) is not sent again; nor is anything
  re-decided when no channel is configured (a demo);
* recoveries and updates go to every channel told of the incident (the escalation levels' too);
* after quiet hours each channel gets the most important message held for it: the duty channel
  the opening, the supervisor the escalation; a recovery held says it all, to every channel.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import insert

from collector.alerting.engine import AlertEngine
from collector.alerting.model import Notify, NotifyKind, Outage, Recovery, Severity
from collector.alerting.policy import AlertPolicy, EscalationLevel, QuietHours
from collector.alerting.service import AlertService, outgoing_for
from collector.alerting.untold import untold_openings
from inventory import models as m
from inventory.db import create_engine
from probes.causes import Cause
from tests.collector.alerts_fixtures import EAST, INV, POLICY, at, outage, recovery, run, sample_db

OPEN, UPDATE, RESOLVE, ESCALATE = NotifyKind.OPEN, NotifyKind.UPDATE, NotifyKind.RESOLVE, NotifyKind.ESCALATE
# 09:00-11:00 local, every severity held: T0 (10:00 local) is inside, quiet hours end at 3600 s
MORNING = QuietHours(start=dt.time(9, 0), end=dt.time(11, 0), hold=frozenset(Severity))
SUPERVISOR = EscalationLevel(600.0, "supervisor", ("supervisor",), "主管")
TOWNSHIP = EscalationLevel(1200.0, "township", ("township",), "乡镇")


def told(timed: list[tuple[float, Any]]) -> list[tuple[float, NotifyKind, tuple[str, ...]]]:
    return [(t, a.kind, a.channels) for t, a in timed if isinstance(a, Notify)]


# ---- after quiet hours: per channel, the most important message held for it ------------------

@pytest.mark.parametrize(("name", "levels", "back_at", "released"), [
    ("the duty channel its opening, the supervisor the escalation", (SUPERVISOR,), None,
     [(OPEN, ("default",)), (ESCALATE, ("supervisor",))]),
    ("two levels reached: one escalation to both", (SUPERVISOR, TOWNSHIP), None,
     [(OPEN, ("default",)), (ESCALATE, ("supervisor", "township"))]),
    ("a level naming the duty channel too: the duty channel still gets the opening", (
        dataclasses.replace(SUPERVISOR, channels=("default", "supervisor")),), None,
     [(OPEN, ("default",)), (ESCALATE, ("supervisor",))]),
    ("no escalation: the opening alone", (), None, [(OPEN, ("default",))]),
    ("back during quiet hours: one recovery to every channel anything was held for", (SUPERVISOR, TOWNSHIP), 2000.0,
     [(RESOLVE, ("default", "supervisor", "township"))]),
])
def test_after_quiet_hours_each_channel_gets_what_was_held_for_it(
        name: str, levels: tuple[EscalationLevel, ...], back_at: float | None,
        released: list[tuple[NotifyKind, tuple[str, ...]]]) -> None:
    e = AlertEngine(dataclasses.replace(POLICY, quiet=MORNING, escalation=levels), INV)
    script: list[tuple[float, object]] = [(20.0, outage(21, 20))]
    script += [(back_at, recovery(21, back_at))] if back_at is not None else []
    timed = run(e, script, 3700)
    assert [(t, k, c) for t, k, c in told(timed)] == [(3600.0, k, c) for k, c in released], name
    kinds = [k for k, _ in released]
    notes = [a for _, a in timed if isinstance(a, Notify)]
    if ESCALATE in kinds:  # the supervisor's message says it is an escalation; the duty channel's does not
        assert notes[kinds.index(ESCALATE)].message.title_zh.startswith("【升级·")
        assert "升级" not in notes[kinds.index(OPEN)].message.title_zh
    channels = [c for _, _, cs in told(timed) for c in cs]
    assert len(channels) == len(set(channels))  # one message per channel of the incident


# ---- recoveries and updates: every channel told ----------------------------------------------

def test_an_escalated_incident_recovers_to_the_duty_and_the_escalation_channels() -> None:
    e = AlertEngine(POLICY, INV)  # supervisor at 1 h of age, outside quiet hours
    timed = run(e, [(20.0, outage(21, 20)), (4000.0, recovery(21, 4000))], 4100, step=10)
    assert told(timed) == [(50.0, OPEN, ("default",)), (3620.0, ESCALATE, ("supervisor",)),
                           (4000.0, RESOLVE, ("default", "supervisor"))]


def test_an_update_after_an_escalation_goes_to_the_escalation_channels_too() -> None:
    e = AlertEngine(POLICY, INV)
    script: list[tuple[float, object]] = [(20.0, outage(EAST[0], 20))]
    script += [(4000.0, outage(c, 4000)) for c in EAST[1:3]] + [(5000.0, recovery(c, 5000)) for c in EAST[:3]]
    kinds = [(k, c) for _, k, c in told(run(e, script, 5100, step=10))]
    assert kinds == [(OPEN, ("default",)), (ESCALATE, ("supervisor",)), (UPDATE, ("default", "supervisor")),
                     (RESOLVE, ("default", "supervisor"))]


# ---- restarts: an opening held or unsent is decided again, once -----------------------------

@pytest.fixture
def url(db_url: str) -> str:
    return sample_db(db_url)


QUIET_POLICY = dataclasses.replace(POLICY, quiet=MORNING, escalation=(SUPERVISOR,), reminder_interval_s=0)


class Clock:
    def __init__(self) -> None:
        self.now = at(0)

    def __call__(self) -> dt.datetime:
        return self.now


async def step(svc: AlertService, clock: Clock, t: float, inputs: tuple[Any, ...] = ()) -> list[Notify]:
    """Inputs and a tick of *svc* at *t* s, stored as the collector does; its messages."""
    clock.now = at(t)
    before = len(svc.sent)
    for x in inputs:
        await svc._handle(svc.engine.feed(x))
    await svc._handle(svc.engine.tick(at(t)))
    return svc.sent[before:]


async def restarted(eng: Any, clock: Clock, policy: AlertPolicy, channels: frozenset[str]) -> AlertService:
    svc = AlertService(eng, AlertEngine(policy), clock=clock, channels=channels)
    await svc.start()
    return svc


async def log_sent(eng: Any, notes: list[Notify]) -> None:
    """What the notifier logs for each message delivered (its kind and result as it writes them)."""
    rows = [{"at": n.at, "incident_key": o.incident, "channel": o.channel, "kind": o.kind, "result": "sent",
             "message": o.title} for n in notes for o in outgoing_for(n, "zh", set(n.channels))]
    if not rows:
        return
    async with eng.begin() as conn:
        await conn.execute(insert(m.AlertLog), rows)


def test_an_opening_held_in_quiet_hours_survives_a_restart(url: str) -> None:
    """Held at 50 s, escalated (held) at 620 s, camwatch restarted at 1000 s: the new engine holds
    the opening again and tells it once when quiet hours end, to the duty and the supervisor."""
    async def go() -> None:
        eng = create_engine(url)
        try:
            clock = Clock()
            chans = frozenset({"default", "supervisor"})
            first = await restarted(eng, clock, QUIET_POLICY, chans)
            cam = min(first.engine.inventory.cameras)
            said = await step(first, clock, 20, (Outage(cam, Cause.TIMEOUT, at(5), at(20)),))
            for t in range(25, 1000, 5):
                said += await step(first, clock, t)
            assert said == [] and [n.kind for n in first.engine.held] == [OPEN, ESCALATE]
            second = await restarted(eng, clock, QUIET_POLICY, chans)  # the first one's memory is gone
            assert [(n.kind, n.channels) for n in second.engine.held] == [(OPEN, ("default", "supervisor"))]
            said = []
            for t in range(1000, 4000, 5):
                said += await step(second, clock, t)
            assert [(n.kind, n.channels, n.at) for n in said] == [(OPEN, ("default", "supervisor"), at(3600))]
            await log_sent(eng, said)
            third = await restarted(eng, clock, QUIET_POLICY, chans)  # told and logged: not again
            assert third.engine.held == [] and await step(third, clock, 4000) == []
            said = await step(third, clock, 4100, (Recovery(cam, at(4100)),))
            assert [(n.kind, n.channels) for n in said] == [(RESOLVE, ("default", "supervisor"))]
        finally:
            await eng.dispose()

    asyncio.run(go())


@pytest.mark.parametrize(("name", "logged", "channels", "again"), [
    ("its opening logged as sent: not again", True, frozenset({"default"}), False),
    ("decided, never delivered (queued at the restart): sent at the next tick", False, frozenset({"default"}), True),
    ("no channel configured (a demo): nothing decided again", False, frozenset(), False),
])
def test_an_opening_outside_quiet_hours_is_sent_again_only_when_it_never_reached_a_channel(
        url: str, name: str, logged: bool, channels: frozenset[str], again: bool) -> None:
    policy = dataclasses.replace(POLICY, reminder_interval_s=0)

    async def go() -> None:
        eng = create_engine(url)
        try:
            clock = Clock()
            first = await restarted(eng, clock, policy, channels)
            cam = min(first.engine.inventory.cameras)
            said = await step(first, clock, 20, (Outage(cam, Cause.TIMEOUT, at(5), at(20)),))
            for t in range(25, 100, 5):
                said += await step(first, clock, t)
            assert [n.kind for n in said] == [OPEN]
            if logged:
                await log_sent(eng, said)
            second = await restarted(eng, clock, policy, channels)
            assert second.engine.held == []
            said = []
            for t in range(100, 300, 5):
                said += await step(second, clock, t)
            assert [(n.kind, n.channels, n.at) for n in said] == ([(OPEN, ("default",), at(100))] if again else []), name
            await log_sent(eng, said)
            third = await restarted(eng, clock, policy, channels)  # told (logged) now: not again
            assert await step(third, clock, 300) == []
        finally:
            await eng.dispose()

    asyncio.run(go())


def test_untold_openings_leave_out_the_owed_the_told_and_the_unrouted() -> None:
    e = AlertEngine(POLICY, INV)
    run(e, [(20.0, outage(21, 20))] + [(20.0, outage(c, 20)) for c in EAST] + [(20.0, outage(11, 20))], 60)
    incs = {i.village: i for i in e.open_incidents()}
    south, east, west = incs["130123102201"], incs["130123101201"], incs["130123101202"]
    owed = dataclasses.replace(west, silenced=True)
    assert untold_openings((south, east, owed), {east.id}, {"default"}, POLICY) == (south.id,)
    assert untold_openings((south,), set(), {"other"}, POLICY) == ()
    assert untold_openings((dataclasses.replace(south, escalation=1),), set(), {"supervisor"}, POLICY) == (south.id,)
