"""The replicas' leader alerting on SQLite and PostgreSQL (issue 18 point 3): camera events
written in the interval batch's transaction (kept on rollback, fenced by shard), the leader's
cursor (a low-water mark before incidents still in their grouping window) and delivery keys
persisted before sending (pending / sending / in doubt). Leaders follow one another here in one
process, each a fresh :class:`LeaderAlerts` on the same database, as a new replica's would; the
messages go to a real loopback webhook receiver. (The leader's lock is exercised with real
replica processes in test_replicas_alerts.py.)"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select, update

from collector.alerting import incident_store as store
from collector.alerting import outbox
from collector.alerting.delivery.channels import build_senders
from collector.alerting.delivery.config import NotifySettings
from collector.alerting.delivery.message import Outgoing
from collector.alerting.delivery.notifier import Notifier
from collector.alerting.delivery.redact import Redactor
from collector.alerting.leader import LeaderAlerts, leader_alerts
from collector.alerting.model import Notify, NotifyKind, Severity
from collector.alerting.policy import AlertPolicy, QuietHours
from collector.runtime.camera_state import Changed, FlappingChanged, State
from collector.runtime.event_feed import EventFeed
from inventory.db import create_engine
from inventory.models import AlertDelivery, AlertLog, CameraEvent, LeaderCursor
from probes.causes import Cause
from tests.collector.alerts_fixtures import T0, at, sample_db
from tests.collector.notify_receivers import Robots
from tests.net import serve_app

POLICY = AlertPolicy(group_window_s=30.0, reminder_interval_s=0, escalation=(), quiet=QuietHours(enabled=False))



@pytest.fixture
def url(db_url: str) -> str:
    return sample_db(db_url)


@pytest.fixture
async def hook() -> AsyncIterator[tuple[Robots, str]]:
    r = Robots(dingtalk_secret="unused", dingtalk_keyword="unused")
    async with serve_app(r.app()) as base:
        yield r, base + "/hook/t0ken"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


class Leaders:
    """Leaders in turn on one database (each a fresh :class:`LeaderAlerts`, as a new replica's
    would be), on one clock the test sets, sending to the loopback webhook *hook_url* as the
    channel ``hook`` (each its own :class:`Notifier`, or none: a leader that dies before posting)."""

    def __init__(self, url: str, hook_url: str) -> None:
        self.engine = create_engine(url)
        self.clock = Clock()
        self.notify = NotifySettings.model_validate({"channels": [{"name": "hook", "kind": "webhook", "url": hook_url}]})
        self.policy = AlertPolicy(group_window_s=30.0, reminder_interval_s=0, escalation=(),
                                  quiet=QuietHours(enabled=False), channels=tuple((s, ("hook",)) for s in Severity))
        self.notifiers: list[Notifier] = []

    async def leader(self, name: str, *, send: bool = True) -> LeaderAlerts:
        n = None
        if send:
            n = Notifier(build_senders(self.notify, Redactor()), engine=self.engine)
            await n.start()
            self.notifiers.append(n)
        la = leader_alerts(self.policy, self.engine, replica=name, language="en", tick_s=5, clock=self.clock,
                           guard=None, notifier=n, counts={}, channels=frozenset({"hook"}))
        await la.begin()
        return la

    async def drain(self) -> None:
        for n in self.notifiers:
            await n.drain()

    async def close(self) -> None:
        for n in self.notifiers:
            await n.stop()
        await self.engine.dispose()


@pytest.fixture
async def leaders(url: str, hook: tuple[Robots, str]) -> AsyncIterator[Leaders]:
    ls = Leaders(url, hook[1])
    try:
        yield ls
    finally:
        await ls.close()


async def write(engine: Any, feed: EventFeed, held: Any = lambda cid: True) -> int:
    async with engine.begin() as conn:
        return await feed.write(conn, held)


def down(s: float) -> Changed:
    return Changed(State.ONLINE, State.OFFLINE, Cause.UNREACHABLE, at(s - 2), at(s))


def up(s: float) -> Changed:
    return Changed(State.OFFLINE, State.ONLINE, None, at(s - 1), at(s))


async def village(engine: Any) -> list[int]:
    inv = await store.load_inventory(engine)
    name = max(inv.village_counts, key=lambda v: inv.village_counts[v])
    return sorted(c.id for c in inv.cameras.values() if c.village == name)


async def test_events_are_written_in_the_batch_transaction_fenced_and_kept_on_rollback(url: str) -> None:
    engine = create_engine(url)
    try:
        cams = await village(engine)
        feed = EventFeed("r1", checks_of=lambda cid: ("black",))
        feed.submit(cams[0], down(10))
        feed.submit(cams[1], down(10), ("black", "clock:+600"))
        feed.submit(cams[2], FlappingChanged(True, at(11)))
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                assert await feed.write(conn, lambda cid: cid != cams[2]) == 2
                raise RuntimeError("the batch failed")
        assert len(feed.queue) == 2 and feed.dropped == 1  # back for the next batch; the foreign shard's dropped
        async with engine.connect() as conn:
            assert (await conn.execute(select(CameraEvent.id))).all() == []
        feed.submit(cams[3], up(12))
        assert await write(engine, feed) == 3 and not feed.queue and feed.written == 3
        assert await write(engine, feed) == 0
        async with engine.connect() as conn:
            rows = (await conn.execute(select(CameraEvent.__table__).order_by(CameraEvent.id))).all()
        assert [r.camera_id for r in rows] == [cams[0], cams[1], cams[3]]
        assert rows[0].id < rows[1].id < rows[2].id
        assert (rows[1].kind, rows[1].old, rows[1].new, rows[1].cause, rows[1].checks) == (
            "changed", "online", "offline", "unreachable", ["black", "clock:+600"])
        assert rows[0].start == at(8) and rows[0].at == at(10) and rows[0].replica == "r1"
    finally:
        await engine.dispose()


async def test_events_of_shards_lost_are_discarded_even_from_a_batch_that_rolls_back(url: str) -> None:
    """A replica that lost its session drops its unwritten events of those cameras: they are never
    written later (when it holds the shards again, under another tenure), not even when the batch
    carrying them rolls back after the loss."""
    engine = create_engine(url)
    try:
        cams = await village(engine)
        feed = EventFeed("r1")
        feed.submit(cams[0], down(10))
        feed.submit(cams[1], down(10))
        assert feed.discard({cams[1]}) == 1 and [r["camera_id"] for r in feed.queue] == [cams[0]]
        feed.submit(cams[2], down(11))
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                assert await feed.write(conn, lambda cid: True) == 2
                feed.discard({cams[0]})  # the session is lost while this batch is being written
                raise RuntimeError("the batch failed")
        assert [r["camera_id"] for r in feed.queue] == [cams[2]]
        feed.submit(cams[0], up(20))  # held again later: its new events are written
        assert await write(engine, feed) == 2 and feed.dropped == 2
        async with engine.connect() as conn:
            rows = (await conn.execute(select(CameraEvent.camera_id, CameraEvent.new).order_by(CameraEvent.id))).all()
        assert [tuple(r) for r in rows] == [(cams[2], "offline"), (cams[0], "online")]
    finally:
        await engine.dispose()


def test_delivery_keys() -> None:
    from collector.alerting.messages import incident_message
    from collector.alerting.model import Incident, IncidentKind, Inventory, Member

    inc = Incident("o-v-1", IncidentKind.OUTAGE, Severity.NORMAL, "v", None, at(0), at(0),
                   (Member(1, Cause.UNREACHABLE, at(0)), Member(2, Cause.UNREACHABLE, at(0))), 5, 0, escalation=2)
    msg = incident_message(NotifyKind.OPEN, inc, Inventory(), at(0), POLICY)

    def key(kind: NotifyKind, s: float, sev: Severity = Severity.NORMAL) -> str:
        return outbox.delivery_key(Notify(inc.id, kind, sev, ("a",), msg, at(s)), "hook", inc, 3600.0)

    assert key(NotifyKind.OPEN, 40) == key(NotifyKind.OPEN, 90) == "o-v-1:open:hook"
    assert key(NotifyKind.RESOLVE, 40) == "o-v-1:resolve:hook"
    assert key(NotifyKind.UPDATE, 40) == "o-v-1:update:normal:2:hook" != key(NotifyKind.UPDATE, 40, Severity.CRITICAL)
    assert key(NotifyKind.ESCALATE, 40) == "o-v-1:escalate:2:hook"
    assert key(NotifyKind.REMINDER, 3601) == key(NotifyKind.REMINDER, 7199) != key(NotifyKind.REMINDER, 7200)
    m = Outgoing("hook", "t", "x", None, "normal", inc.id, "open", (("a", "b"),), at(1), None, "http://l", "k1")
    assert outbox.from_payload(outbox.to_payload(m)) == m
    sms = Outgoing("sms", "t", "x", None, "normal", inc.id, "open", key="k2", short="t（x），10:00 +08:00起")
    assert outbox.from_payload(outbox.to_payload(sms)) == sms  # a new leader sends the short form too


async def test_leaders_in_turn_lose_no_incident_and_send_nothing_twice(leaders: Leaders, hook: tuple[Robots, str]) -> None:
    rx = hook[0]
    engine, clock, leader = leaders.engine, leaders.clock, leaders.leader

    async def cursor() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(select(LeaderCursor.position))).scalar_one())

    cams = await village(engine)
    feed = EventFeed("r1")
    for cid in cams:  # the whole village goes dark (events of several replicas, in commit order)
        feed.submit(cid, down(10))
    await write(engine, feed)
    # leader A applies them: the incident forms (grouping window); the cursor stays before it
    a = await leader("a")
    await a.step(tick=True)
    assert a.engine is not None and len(a.engine.incidents) == 1 and a.position == len(cams)
    assert await cursor() == 0 == a.settled
    # A dies inside the window; B replays from the cursor and tells the incident once
    b = await leader("b")
    clock.now = at(45)
    await b.step(tick=True)
    assert b.stats.applied == len(cams) and await cursor() == len(cams)
    await leaders.drain()
    opens = [p for p in rx.posts.get("webhook", []) if "resolved" not in p.body["title"].lower()]
    assert len(opens) == 1, [p.body["title"] for p in rx.posts.get("webhook", [])]
    assert str(len(cams)) in opens[0].body["title"] + opens[0].body["message"]
    # C takes over from B: nothing decided again is sent again (same keys)
    c = await leader("c")
    await c.step(tick=True)
    clock.now = at(60)
    await c.step(tick=True)
    assert c.engine is not None and len(c.engine.incidents) == 1 and not c.sent
    # the cameras come back; D decides the resolve but dies before its notifier posts it
    for cid in cams:
        feed.submit(cid, up(70))
    await write(engine, feed)
    clock.now = at(72)
    d = await leader("d", send=False)
    await d.step(tick=True)
    assert [x.kind for x in d.sent] == [NotifyKind.RESOLVE]
    async with engine.connect() as conn:
        rows = dict((await conn.execute(select(AlertDelivery.key, AlertDelivery.status))).all())
    inc = d.sent[0].incident_id
    assert rows == {f"{inc}:open:hook": "sent", f"{inc}:resolve:hook": "pending"}
    # E sends what D left pending, once; a later leader finds nothing to send
    e = await leader("e")
    await e.step(tick=True)
    await leaders.drain()
    titles = [p.body["title"] for p in rx.posts.get("webhook", [])]
    assert len(titles) == 2 and "resolved" in titles[1].lower(), titles
    f = await leader("f")
    clock.now = at(200)
    await f.step(tick=True)
    await leaders.drain()
    assert len(rx.posts["webhook"]) == 2
    async with engine.connect() as conn:
        assert set((await conn.execute(select(AlertDelivery.status))).scalars()) == {"sent"}
        # a post in flight when its leader died: in doubt, never sent again (at most once)
        await conn.execute(update(AlertDelivery).where(AlertDelivery.key == f"{inc}:resolve:hook")
                           .values(status="sending"))
        await conn.commit()
    g = await leader("g")
    await g.step(tick=True)
    await leaders.drain()
    assert len(rx.posts["webhook"]) == 2
    async with engine.connect() as conn:
        assert (await conn.execute(select(AlertDelivery.status).where(
            AlertDelivery.key == f"{inc}:resolve:hook"))).scalar_one() == "in_doubt"
        logged = (await conn.execute(select(AlertLog.result, AlertLog.incident_key))).all()
    assert ("in_doubt", inc) in logged and sum(1 for r, _ in logged if r == "sent") == 2
    orders = await store.list_work_orders(engine)
    assert len(orders) == 1 and orders[0].resolved_at is not None  # one work order, resolved
    # applied events pruned after a week, settled delivery keys after two months; never an unapplied event
    feed.submit(cams[0], down(300))
    await write(engine, feed)
    clock.now = at(8 * 86400)
    assert await g.prune() == (2 * len(cams), 0)
    async with engine.connect() as conn:
        assert len((await conn.execute(select(CameraEvent.id))).all()) == 1
    clock.now = at(63 * 86400)
    assert await g.prune() == (0, 2)


async def test_a_silence_ended_by_hand_tells_the_withheld_opening_once_across_leaders(leaders: Leaders, hook: tuple[Robots, str]) -> None:
    """Two villages silenced go dark: their openings are withheld (stored ``silenced``: owed), no
    delivery key. One silence is ended by hand (``alerts unsilence``) while that village is still
    dark; the leader then (after a leader change) tells its opening once, late, even when it dies
    before posting it; a later leader does not tell it again. When both villages are back, only
    the one told gets a recovery message: the other was never told it began."""
    rx = hook[0]
    engine, clock, leader = leaders.engine, leaders.clock, leaders.leader

    async def drain() -> list[str]:
        await leaders.drain()
        return [p.body["title"] + "\n" + p.body["message"] for p in rx.posts.get("webhook", [])]

    async def keys() -> dict[str, str]:
        async with engine.connect() as conn:
            return dict((await conn.execute(select(AlertDelivery.key, AlertDelivery.status))).all())

    inv = await store.load_inventory(engine)
    ended, kept = sorted(inv.village_counts, key=lambda v: (-inv.village_counts[v], v))[:2]
    cams = {v: sorted(c.id for c in inv.cameras.values() if c.village == v) for v in (ended, kept)}
    hushed = {v: await store.add_silence(engine, region_code=v, until=at(3600), reason="施工", now=T0) for v in cams}
    feed = EventFeed("r1")
    for cid in cams[ended] + cams[kept]:
        feed.submit(cid, down(10))
    await write(engine, feed)
    a = await leader("a")
    await a.step(tick=True)
    clock.now = at(45)
    await a.step(tick=True)  # both opened, both withheld: stored owed, work orders open, nothing to send
    assert await keys() == {} and await drain() == []
    stored = {i.village: i for i in await store.load_open_incidents(engine)}
    assert set(stored) == {ended, kept} and all(i.silenced for i in stored.values())
    assert len(await store.list_work_orders(engine)) == 2
    # `alerts unsilence` while the village is still dark; A is gone, B leads and dies before posting
    assert await store.end_silence(engine, hushed[ended], at(100))
    clock.now = at(110)
    b = await leader("b", send=False)
    await b.step(tick=True)
    late = f"{stored[ended].id}:open:hook"
    assert [(x.kind, x.incident_id, x.late) for x in b.sent] == [(NotifyKind.OPEN, stored[ended].id, True)]
    assert await keys() == {late: "pending"}
    assert not {i.village: i for i in await store.load_open_incidents(engine)}[ended].silenced  # told: stored with its key
    # C sends what B left pending, once, and decides nothing again
    c = await leader("c")
    clock.now = at(115)
    await c.step(tick=True)
    [told] = await drain()
    assert str(len(cams[ended])) in told and "withheld during an alert silence" in told, told
    assert not c.sent and await keys() == {late: "sent"}
    # both villages back: the recovery of the one told, nothing of the other
    for cid in cams[ended] + cams[kept]:
        feed.submit(cid, up(200))
    await write(engine, feed)
    clock.now = at(202)
    await c.step(tick=True)
    await leaders.drain()  # C's post of the recovery done before D leads (else D finds it sending: in doubt)
    d = await leader("d")
    clock.now = at(300)
    await d.step(tick=True)
    posts = await drain()
    assert len(posts) == 2 and "resolved" in posts[1].lower() and str(len(cams[ended])) in posts[1], posts
    assert await keys() == {late: "sent", f"{stored[ended].id}:resolve:hook": "sent"}
    assert await store.load_open_incidents(engine) == ()
    orders = await store.list_work_orders(engine)
    assert len(orders) == 2 and all(o.resolved_at is not None for o in orders)
    # `alerts silences --all`: the one ended by hand ends when it was ended; ending it again moves nothing
    assert await store.end_silence(engine, hushed[ended], at(500))
    ends = {x.id: x.until for x in await store.list_silences(engine, at(300), include_expired=True)}
    assert ends == {hushed[ended]: at(100), hushed[kept]: at(3600)}


async def test_a_claim_is_refused_once_another_leader_took_the_message(url: str) -> None:
    engine = create_engine(url)
    try:
        m = Outgoing("hook", "t", "x", None, "normal", "o-1", "open", key="o-1:open:hook")
        async with engine.begin() as conn:
            assert await outbox.record(conn, [m], "a", T0) == [m]
            assert await outbox.record(conn, [m], "a", T0) == []  # decided again: not recorded twice
        assert await outbox.claim(engine, [m], "a", T0, None) == [m]
        assert await outbox.claim(engine, [m], "b", T0, None) == []  # already being sent
        lone = Outgoing("hook", "t", "x", None, "normal", None, "test")
        assert await outbox.claim(engine, [lone], "b", T0, None) == [lone]  # no key: a lone collector's
        await outbox.settle(engine, [m], False, T0)
        async with engine.connect() as conn:
            assert (await conn.execute(select(AlertDelivery.status))).scalar_one() == "failed"
        assert await outbox.take_over(engine, "c", T0, None) == []
        # a term begun again in the same process leaves its own post in flight alone
        m2 = Outgoing("hook", "t", "x", None, "normal", "o-2", "open", key="o-2:open:hook")
        async with engine.begin() as conn:
            await outbox.record(conn, [m2], "c", T0)
        assert await outbox.claim(engine, [m2], "c", T0, None) == [m2]
        assert await outbox.take_over(engine, "c", T0, None, inflight={m2.key}) == []
        async with engine.connect() as conn:
            assert (await conn.execute(select(AlertDelivery.status).where(AlertDelivery.key == m2.key))).scalar_one() == "sending"
        await outbox.take_over(engine, "d", T0, None)
        async with engine.connect() as conn:
            assert (await conn.execute(select(AlertDelivery.status).where(AlertDelivery.key == m2.key))).scalar_one() == "in_doubt"
    finally:
        await engine.dispose()


class Session:
    """What :func:`leader_guard` reads of a replica: a coordination session of its own (a real
    asyncpg connection here, holding or not holding the leader's lock)."""

    def __init__(self, conn: Any, pid: int) -> None:
        self.replica_id, self.conn, self.pid, self.leader = "zombie", conn, pid, True


@pytest.mark.postgres
async def test_a_deposed_leader_stores_and_sends_nothing(pg_url_fresh: str) -> None:
    import asyncpg

    from collector.alerting.leader import NotLeader, leader_guard
    from collector.runtime.replicas import LEADER_KEY, pg_connect_args

    engine = create_engine(pg_url_fresh)
    dsn, server = pg_connect_args(pg_url_fresh)
    conn = await asyncpg.connect(dsn, server_settings=server)
    try:
        assert await conn.fetchval(f"SELECT pg_try_advisory_lock({LEADER_KEY})")
        held = Session(conn, await conn.fetchval("SELECT pg_backend_pid()"))
        cams = await village(engine)
        feed = EventFeed("r1")
        for cid in cams:
            feed.submit(cid, down(10))
        await write(engine, feed)
        clock = Clock()
        la = leader_alerts(POLICY, engine, replica="zombie", language="en", tick_s=5, clock=clock,
                           guard=leader_guard(held), notifier=None, counts={}, channels=frozenset({"default"}))
        await la.begin()
        clock.now = at(45)
        await la.step(tick=True)  # while it holds the lock: the incident told, stored with its key
        async with engine.connect() as c:
            assert len((await c.execute(select(AlertDelivery.key))).all()) == 1
        # its session ends (a network cut): the lock goes; the replica has not noticed yet
        await conn.close()
        for cid in cams:
            feed.submit(cid, up(60))
        await write(engine, feed)
        clock.now = at(62)
        with pytest.raises(NotLeader):
            await la.step(tick=True)
        m = Outgoing("default", "t", "x", None, "normal", "o-9", "open", key="o-9:open:default")
        async with engine.begin() as c:
            await outbox.record(c, [m], "r1", T0)
        with pytest.raises(NotLeader):
            await outbox.claim(engine, [m], "zombie", T0, leader_guard(held))
        async with engine.connect() as c:
            assert (await c.execute(select(LeaderCursor.position))).scalar_one() == len(cams)  # not moved on
            assert dict((await c.execute(select(AlertDelivery.key, AlertDelivery.status))).all())[m.key] == "pending"
            assert not any(k.endswith(":resolve:default") for k in (await c.execute(select(AlertDelivery.key))).scalars())
    finally:
        if not conn.is_closed():
            await conn.close()
        await engine.dispose()


@pytest.fixture
def pg_url_fresh(pg_reason: str | None) -> Any:
    from tests.conftest import fresh_pg_schema

    with fresh_pg_schema(pg_reason) as u:
        yield sample_db(u)


async def test_an_opening_held_over_quiet_hours_survives_a_leader_change(leaders: Leaders, hook: tuple[Robots, str]) -> None:
    """Quiet hours (09:00-11:00 local, every severity) hold A's opening in memory, no delivery key;
    A is gone, B restores the incident and holds the opening again: sent once when quiet hours end."""
    rx = hook[0]
    engine, clock = leaders.engine, leaders.clock
    leaders.policy = AlertPolicy(group_window_s=30.0, reminder_interval_s=0, escalation=(),
                                 quiet=QuietHours(start=dt.time(9, 0), end=dt.time(11, 0), hold=frozenset(Severity)),
                                 channels=tuple((s, ("hook",)) for s in Severity))
    cams = await village(engine)
    feed = EventFeed("r1")
    for cid in cams:
        feed.submit(cid, down(10))
    await write(engine, feed)
    a = await leaders.leader("a")
    await a.step(tick=True)
    clock.now = at(45)
    await a.step(tick=True)
    assert a.engine is not None and not a.sent and [n.kind for n in a.engine.held] == [NotifyKind.OPEN]
    clock.now = at(100)
    b = await leaders.leader("b")
    assert b.engine is not None and [n.kind for n in b.engine.held] == [NotifyKind.OPEN]
    for t in (200, 3600, 3700):
        clock.now = at(t)
        await b.step(tick=True)
    await leaders.drain()
    assert [x.kind for x in b.sent] == [NotifyKind.OPEN] and len(rx.posts.get("webhook", [])) == 1
    c = await leaders.leader("c")  # its key known: not decided again
    clock.now = at(3800)
    await c.step(tick=True)
    await leaders.drain()
    assert c.engine is not None and c.engine.held == [] and not c.sent and len(rx.posts.get("webhook", [])) == 1
