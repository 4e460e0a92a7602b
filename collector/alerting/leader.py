"""The alert engine of collector replicas: on the leader only, fed through the database (DESIGN §8).

Every replica writes its cameras' events to ``camera_events`` under its fence
(:mod:`collector.runtime.event_feed`). The leader (:class:`LeaderAlerts`, run while the replica
holds the leader's lock) follows them with a **persisted cursor**: it feeds new rows to a fresh
:class:`~collector.alerting.engine.AlertEngine`, ticks it, and stores in **one transaction** the
incidents and work orders decided, the messages to send (as pending delivery keys,
:mod:`collector.alerting.outbox`) and the cursor; then hands the messages to the notifier, which
claims each right before its post. Every leader transaction first locks the cursor row, then
checks that this replica's coordination session still holds the leader's lock (a deposed leader
writes nothing; a new one waits for a transaction in flight).

**A new leader continues where the old one stopped.** It restores the open incidents (as after a
restart), sends what its predecessor decided but did not post, and replays the events after the
cursor. The cursor is a low-water mark: it never passes the first event of an incident still in
its grouping window (such an incident lives in memory only until it is told), so a leader dying
within the window loses no incident, and the replay rebuilds it. Events replayed that the stored
incidents already reflect change nothing (a member already down, already back); a message decided
again has a known key and is not recorded (nor sent) twice. An opening the old leader held over
quiet hours (in memory, no key yet) is decided again (:mod:`collector.alerting.untold`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from collector.alerting import incident_store as store
from collector.alerting import outbox
from collector.alerting.delivery.message import Outgoing
from collector.alerting.delivery.notifier import Notifier
from collector.alerting.engine import AlertEngine
from collector.alerting.model import Action, Notify
from collector.alerting.policy import AlertPolicy
from collector.alerting.service import outgoing_for
from collector.alerting.untold import untold_openings
from collector.alerting.workorders import work_order_counts
from collector.runtime.camera_state import Changed, Event, FlappingChanged, State
from collector.runtime.shards import LEADER_LOW, LOCK_KEY_SQL
from inventory.models import AlertDelivery, CameraEvent, LeaderCursor, utcnow
from probes.causes import Cause

log = logging.getLogger("camwatch.leader")
CURSOR = "alerts"
KEEP_EVENTS = dt.timedelta(days=7)  # applied events kept this long (for a look back), then pruned
KEEP_DELIVERIES = dt.timedelta(days=62)  # settled delivery keys: far longer than any incident's re-decision
PRUNE_S = 3600.0
LEADER_HELD_SQL = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND pid = :pid"
                   f" AND ((classid::bigint << 32) | objid::bigint) = {LOCK_KEY_SQL.format(low=str(LEADER_LOW))}")


class NotLeader(RuntimeError):
    """This replica does not (or no longer) hold the leader's lock: it must not decide or send."""


def leader_guard(replica: Any) -> outbox.Guard:
    """In a transaction: raise :class:`NotLeader` unless *replica*'s coordination session
    (``collector.runtime.replicas.Replica``) holds the leader's lock now."""
    async def guard(conn: AsyncConnection) -> None:
        if not replica.leader or replica.conn is None:
            raise NotLeader(f"replica {replica.replica_id} is not the leader")
        held = (await conn.execute(text(LEADER_HELD_SQL), {"pid": replica.pid})).scalar()
        if not held:
            raise NotLeader(f"replica {replica.replica_id} lost the leader's lock")
    return guard


def event_of(row: Any) -> Event:
    """The camera_state event of a ``camera_events`` row."""
    if row.kind == "flapping":
        return FlappingChanged(bool(row.flapping), row.at, row.changes or 0)
    return Changed(State(row.old), State(row.new), Cause(row.cause) if row.cause else None, row.start, row.at,
                   upstream_up=row.upstream_up)


@dataclass
class FeedStats:
    applied: int = 0  # events applied this term
    lag_s: float = 0.0  # last event: from its confirmation on a replica to the leader applying it
    max_lag_s: float = 0.0
    replayed: int = 0  # events applied again at the start of the term (after the stored cursor)


@dataclass
class LeaderAlerts:
    db: AsyncEngine
    policy: AlertPolicy
    replica: str
    language: str = "zh"
    tick_s: float = 5.0
    poll_s: float = 0.5  # how often to look for new events, without a wake
    wake: asyncio.Event | None = None  # set when new events may be there (PostgreSQL's NOTIFY) ...
    idle_poll_s: float = 5.0  # ... and with one, looked for anyway this often
    batch: int = 2000
    clock: Callable[[], dt.datetime] = utcnow
    guard: outbox.Guard | None = None
    notifier: Notifier | None = None
    channels: frozenset[str] = frozenset()  # the configured channels (the notifier's, when there is one)
    counts: dict[str, int] | None = None  # SelfCounters.work_orders: the leader's only
    engine: AlertEngine | None = None  # this term's (None while not the leader)
    position: int = 0  # the last event applied
    settled: int = 0  # the cursor stored
    stats: FeedStats = field(default_factory=FeedStats)
    sent: list[Notify] = field(default_factory=list)  # recent decisions, bounded
    inflight: set[str] = field(default_factory=set)  # keys claimed by this process's notifier, not settled yet
    _first_of: dict[str, int] = field(default_factory=dict)  # incidents not yet told -> their first event
    _refresh: bool = False  # silences and exclusions: read again at the next step
    _reinventory: bool = False  # and the inventory
    _replay_until: int = 0  # the last event id when the term began

    # -- a term ------------------------------------------------------------------------------
    async def begin(self) -> None:
        """Become the leader: restore open incidents, send what the last leader decided and did not
        post, and start after the stored cursor."""
        engine = AlertEngine(self.policy)
        engine.set_inventory(await store.load_inventory(self.db))
        incidents = await store.load_open_incidents(self.db)  # an opening held in the last leader's memory: again
        untold = untold_openings(incidents, await outbox.openings_keyed(self.db), self.channels, self.policy)
        engine.restore(incidents, self.clock(), untold)
        await self._rules(engine)
        now = self.clock()
        async with self.db.begin() as conn:
            pos = await self._lock_cursor(conn, now)
        self.position = self.settled = pos
        self._first_of = {}
        self.stats = FeedStats()
        self.engine = engine
        pending = await outbox.take_over(self.db, self.replica, now, self.guard, self.inflight)
        self._submit(pending)
        self._replay_until = await self._max_id()
        self.stats.replayed = max(0, self._replay_until - pos)
        log.info("replica %s leads the alerts: %d open incident(s) restored, cursor %d (%d event(s) to replay), "
                 "%d message(s) left to send", self.replica, len(engine.incidents), pos, self.stats.replayed, len(pending))

    async def refresh(self, *, inventory: bool = True) -> None:
        """Silences or exclusions changed (and the inventory, when *inventory*): taken at the next step."""
        self._refresh = True
        self._reinventory |= inventory

    async def _rules(self, engine: AlertEngine) -> None:
        now = self.clock()
        engine.set_silences(await store.list_silences(self.db, now))
        engine.set_exclusions(await store.list_exclusions(self.db, now))
        engine.set_acknowledged(await store.acknowledged_orders(self.db))

    async def _max_id(self) -> int:
        async with self.db.connect() as conn:
            return int((await conn.execute(select(func.coalesce(func.max(CameraEvent.id), 0)))).scalar() or 0)

    async def _lock_cursor(self, conn: AsyncConnection, now: dt.datetime) -> int:
        """The stored cursor, its row locked (created at 0 on a first start); then the leader check."""
        q = select(LeaderCursor.position).where(LeaderCursor.name == CURSOR)
        if conn.dialect.name == "postgresql":
            q = q.with_for_update()
        pos = (await conn.execute(q)).scalar()
        if pos is None:
            await conn.execute(insert(LeaderCursor).values(name=CURSOR, position=0, at=now, replica=self.replica))
            pos = 0
        if self.guard is not None:
            await self.guard(conn)
        return int(pos)

    # -- steps -------------------------------------------------------------------------------
    async def step(self, *, tick: bool) -> int:
        """Apply the events after the position (up to ``batch``), tick when asked, store the
        outcome. Returns the events applied."""
        engine = self.engine
        assert engine is not None, "begin() first"
        if self._reinventory:
            self._reinventory = False
            engine.set_inventory(await store.load_inventory(self.db))
        if self._refresh:
            self._refresh = False
            await self._rules(engine)
        async with self.db.connect() as conn:
            rows = (await conn.execute(select(CameraEvent.__table__).where(CameraEvent.id > self.position)
                                       .order_by(CameraEvent.id).limit(self.batch))).all()
        actions: list[Action] = []
        now = self.clock()
        before = set(engine.incidents)
        for r in rows:
            actions.extend(engine.on_event(r.camera_id, event_of(r), tuple(r.checks or ())))
        if rows:
            first = rows[0].id
            self.position = rows[-1].id
            for key, inc in engine.incidents.items():  # forming incidents keep the cursor before them
                if not inc.sent and key not in self._first_of:
                    self._first_of[key] = first if key not in before else self.position + 1
            self.stats.applied += len(rows)
            if self.position > self._replay_until:  # (events replayed at the start of a term are old)
                lag = max(0.0, (now - rows[-1].at).total_seconds())
                self.stats.lag_s, self.stats.max_lag_s = lag, max(self.stats.max_lag_s, lag)
        if tick:
            actions.extend(engine.tick(now))
        for key in [k for k in self._first_of if k not in engine.incidents or engine.incidents[k].sent]:
            del self._first_of[key]
        settled = min([self.position, *(v - 1 for v in self._first_of.values())])
        if actions or settled > self.settled:
            await self._commit(engine, actions, settled, now)
        return len(rows)

    async def _commit(self, engine: AlertEngine, actions: list[Action], settled: int, now: dt.datetime) -> None:
        msgs: list[Outgoing] = []
        names = set(self.channels)
        for a in actions:
            if isinstance(a, Notify):
                self.sent.append(a)
                msgs += outbox.keyed(outgoing_for(a, self.language, names), a, engine.incidents.get(a.incident_id),
                                     self.policy.reminder_interval_s)
        del self.sent[:-1000]
        async with AsyncSession(self.db) as s, s.begin():
            conn = await s.connection()
            await self._lock_cursor(conn, now)
            await store.apply_in(s, actions, now)
            new = await outbox.record(conn, msgs, self.replica, now)
            await conn.execute(update(LeaderCursor).where(LeaderCursor.name == CURSOR)
                               .values(position=max(settled, self.settled), at=now, replica=self.replica))
        self.settled = max(settled, self.settled)
        self._submit(new)

    def _submit(self, msgs: list[Outgoing]) -> None:
        if self.notifier is None:
            return
        for m in msgs:
            if m.channel in self.notifier.senders:
                self.notifier.submit(m)

    async def _count_orders(self) -> None:
        now = self.clock()
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=31)
        orders = await store.list_work_orders(self.db, since=month, cameras=False)
        if self.counts is not None:
            self.counts.update({str(k.value if hasattr(k, "value") else k): v
                                for k, v in work_order_counts(orders, now).items()})

    async def prune(self) -> tuple[int, int]:
        """Applied events older than KEEP_EVENTS and settled delivery keys older than KEEP_DELIVERIES go."""
        now = self.clock()
        async with self.db.begin() as conn:
            ev = (await conn.execute(delete(CameraEvent).where(CameraEvent.id <= self.settled,
                                                               CameraEvent.at < now - KEEP_EVENTS))).rowcount
            dl = (await conn.execute(delete(AlertDelivery).where(
                AlertDelivery.status.in_((outbox.SENT, outbox.FAILED, outbox.IN_DOUBT)),
                AlertDelivery.updated_at < now - KEEP_DELIVERIES))).rowcount
        return ev, dl

    async def run(self) -> None:
        """One term as the leader (cancelled when it ends): begin, then step every ``poll_s``. A
        failed step stored nothing: the term begins again from the stored cursor."""
        loop = asyncio.get_running_loop()
        next_tick = next_count = next_prune = 0.0
        try:
            while True:
                if self.engine is None:
                    try:
                        await self.begin()
                    except Exception as exc:  # noqa: BLE001 - the database may be away, or no longer the leader
                        log.warning("leader alerts cannot start: %s", str(exc).splitlines()[0][:200])
                        await asyncio.sleep(self.poll_s * 4)
                        continue
                    next_tick = next_count = loop.time()
                n = 0
                if self.wake is not None:
                    self.wake.clear()  # (before the read: a notification during it wakes the next wait)
                try:
                    tick = loop.time() >= next_tick
                    n = await self.step(tick=tick)
                    if tick:
                        next_tick = loop.time() + self.tick_s
                    if loop.time() >= next_count:
                        await self._count_orders()
                        next_count = loop.time() + 30
                        self._refresh = True  # silences and exclusions set through the other replicas' pages
                    if loop.time() >= next_prune:
                        next_prune = loop.time() + PRUNE_S
                        ev, dl = await self.prune()
                        if ev or dl:
                            log.info("pruned %d applied camera event(s) and %d settled delivery key(s)", ev, dl)
                except Exception as exc:  # noqa: BLE001 - what the step applied was not stored
                    log.warning("leader alerts: %s (starting again from the stored cursor)", str(exc).splitlines()[0][:200])
                    self.engine = None
                if n < self.batch:
                    await self._idle(next_tick - loop.time())
        finally:
            self.engine = None
            if self.counts is not None:
                self.counts.clear()

    async def _idle(self, until_tick: float) -> None:
        """Between steps: ``poll_s``; with a wake, until it is set, the next tick or ``idle_poll_s``."""
        if self.wake is None:
            await asyncio.sleep(self.poll_s)
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, min(self.idle_poll_s, until_tick))):
                await self.wake.wait()


def leader_alerts(policy: AlertPolicy, db: AsyncEngine, *, replica: str, language: str, tick_s: float,
                  clock: Callable[[], dt.datetime], guard: outbox.Guard | None, notifier: Notifier | None,
                  counts: dict[str, int] | None, channels: frozenset[str] | None = None) -> LeaderAlerts:
    """The leader's alerting; wires the notifier's claim and settle to the delivery keys."""
    names = frozenset(notifier.senders) if notifier is not None else frozenset()
    la = LeaderAlerts(db, policy, replica, language=language, tick_s=tick_s, clock=clock, guard=guard,
                      notifier=notifier, channels=names if channels is None else channels, counts=counts)
    if notifier is not None:
        async def claim(batch: Any) -> list[Outgoing]:
            try:
                mine = await outbox.claim(db, batch, replica, clock(), guard)
            except NotLeader:
                log.warning("%d message(s) not sent: this replica no longer leads", len(batch))
                return []
            la.inflight.update(m.key for m in mine if m.key)
            return mine

        async def settle(batch: Any, ok: bool) -> None:
            try:
                await outbox.settle(db, batch, ok, clock())
            finally:
                la.inflight.difference_update(m.key for m in batch if m.key)

        notifier.claim, notifier.settle = claim, settle
    return la


__all__ = ["CURSOR", "FeedStats", "LeaderAlerts", "NotLeader", "event_of", "leader_alerts", "leader_guard"]
