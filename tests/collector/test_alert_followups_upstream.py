""""Upstream device answered" made live: the scheduler's ``Changed.upstream_up`` reaches the alert
engine's members (new cause or not), survives a restart (the stored members) and is written to
``camera_events`` for the replicas' leader; a village whose cameras time out behind a router that
answers is told "上联设备在线，疑似摄像机侧断电或故障", never "疑似上联中断"."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from collector.alerting import incident_store as store
from collector.alerting.engine import AlertEngine
from collector.alerting.inputs import inputs_of
from collector.alerting.leader import event_of
from collector.alerting.model import Incident, IncidentKind, Member, NotifyKind, Outage, Severity
from collector.runtime.camera_state import Changed, FlappingChanged, State
from collector.runtime.event_feed import EventFeed, event_row
from inventory.db import create_engine
from inventory.models import CameraEvent
from probes.causes import Cause
from tests.collector.alerts_fixtures import EAST, INV, POLICY, at, notes, sample_db

ON, OFF = State.ONLINE, State.OFFLINE
ANSWERED = "上联设备在线，疑似摄像机侧断电或故障"
UPLINK = "疑似上联中断"


def down(s: float, up: bool | None, cause: Cause = Cause.TIMEOUT, old: State = ON) -> Changed:
    return Changed(old, OFF, cause, at(s - 3), at(s), 1.5, up)


@pytest.mark.parametrize("up", [True, False, None])
def test_an_outage_input_carries_the_parent_answer(up: bool | None) -> None:
    assert inputs_of(5, down(10, up)) == (Outage(5, Cause.TIMEOUT, at(7), at(10), up),)
    assert inputs_of(5, down(20, up, Cause.UNREACHABLE, OFF)) == (Outage(5, Cause.UNREACHABLE, at(17), at(20), up),)


# East village: 8 cameras behind router 1; five time out within one grouping window
CASES = {
    "router answered: camera-side words, normal": (True, ANSWERED, Severity.NORMAL),
    "router not checked: a burst of timeouts is a suspected uplink failure": (None, UPLINK, Severity.CRITICAL),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_village_timing_out_behind_an_answering_router_is_told_camera_side(name: str) -> None:
    up, words, severity = CASES[name]
    e = AlertEngine(POLICY, INV)
    acts: list[object] = []
    for i, cid in enumerate(EAST[:5]):
        acts += e.on_event(cid, down(i * 2, up))
    for t in range(0, 61, 5):
        acts += e.tick(at(t))
    opens = notes(acts, NotifyKind.OPEN)
    assert len(opens) == 1 and opens[0].severity is severity
    title = opens[0].message.title_zh
    assert title.startswith("【") and "城关镇东关村 5/8 台摄像机离线" in title
    assert words in title and (UPLINK in title) is (up is None)
    if up:
        assert UPLINK not in opens[0].message.text_zh and "东关村-4G路由器（在线）" in opens[0].message.text_zh


def members(e: AlertEngine) -> dict[int, tuple[Cause | None, bool | None]]:
    inc = next(i for i in e.open_incidents() if i.kind is IncidentKind.OUTAGE)
    return {m.camera_id: (m.cause, m.upstream_up) for m in inc.members}


def test_a_members_parent_answer_follows_a_new_cause_and_a_new_answer_alone() -> None:
    e = AlertEngine(POLICY, INV)
    e.on_event(1, down(0, None, Cause.REFUSED))
    assert members(e) == {1: (Cause.REFUSED, None)}
    e.on_event(1, down(10, True, Cause.TIMEOUT, OFF))  # a new cause while offline
    assert members(e) == {1: (Cause.TIMEOUT, True)}
    e.feed(Outage(1, Cause.TIMEOUT, at(7), at(20), False))  # the same cause, the router now silent
    assert members(e) == {1: (Cause.TIMEOUT, False)}
    assert e.down[1].upstream_up is False


def test_the_parent_answer_is_stored_with_each_member_and_restored() -> None:
    m = Member(3, Cause.TIMEOUT, at(0), None, (), True)
    assert store._member_json(m)["upstream_up"] is True
    assert store._member(store._member_json(m)) == m
    old = {"camera": 3, "cause": "timeout", "start": at(0).isoformat(), "up_at": None, "checks": []}
    assert store._member(old).upstream_up is None  # stored before: not known
    inc = Incident("o-x", IncidentKind.OUTAGE, Severity.NORMAL, "130123101201", 1, at(10), at(0),
                   (m, Member(4, Cause.TIMEOUT, at(0), None, (), False)), 8, 8, sent=True)
    e = AlertEngine(POLICY, INV)
    e.restore((inc,))
    assert (e.down[3].upstream_up, e.down[4].upstream_up) == (True, False)


def test_event_rows_carry_the_parent_answer_and_the_flapping_count() -> None:
    assert event_row(3, down(10, True), (), "r1")["upstream_up"] is True
    assert event_row(3, down(10, None), (), "r1")["upstream_up"] is None
    assert event_row(3, Changed(OFF, ON, None, at(9), at(10)), (), "r1")["upstream_up"] is None
    row = event_row(3, FlappingChanged(True, at(10), 6), (), "r1")
    assert (row["changes"], row["upstream_up"]) == (6, None)
    assert event_row(3, down(10, True), (), "r1")["changes"] is None


async def write(engine: Any, feed: EventFeed) -> int:
    async with engine.begin() as conn:
        return await feed.write(conn, lambda cid: True)


@pytest.fixture
def url(db_url: str) -> str:
    return sample_db(db_url)


async def test_camera_events_store_the_parent_answer_and_the_flapping_count(url: str) -> None:
    engine = create_engine(url)
    try:
        feed = EventFeed("r1")
        feed.submit(1, down(10, True))
        feed.submit(2, down(10, False))
        feed.submit(3, down(10, None))
        feed.submit(4, FlappingChanged(True, at(11), 6))
        assert await write(engine, feed) == 4
        async with engine.connect() as conn:
            rows = (await conn.execute(select(CameraEvent.__table__).order_by(CameraEvent.id))).all()
        assert [(r.camera_id, r.upstream_up, r.changes) for r in rows] == [
            (1, True, None), (2, False, None), (3, None, None), (4, None, 6)]
        assert rows[0].at == at(10) and isinstance(rows[0].at, dt.datetime)
    finally:
        await engine.dispose()


@pytest.mark.parametrize("ev", [Changed(ON, OFF, Cause.TIMEOUT, at(7), at(10), 0.0, True), FlappingChanged(True, at(10), 6)])
def test_the_leader_reads_back_what_a_replica_wrote(ev: Changed | FlappingChanged) -> None:
    assert event_of(SimpleNamespace(**event_row(3, ev, (), "r1"))) == ev
