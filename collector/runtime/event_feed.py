"""Camera events into the database for the replicas' leader (DESIGN §8, issue 18 point 3).

Every replica's scheduler events (``collector.runtime.camera_state``: changes and flapping flags,
with the failed picture checks of a degraded camera) wait here in memory and are written to
``camera_events`` **in the transaction of the interval writer's batch, under its fence**: only
events of shards the replica still holds are written, and nothing is written twice or lost on a
rollback (rolled-back rows go back in front of the queue). The leader follows the table with a
cursor (:mod:`collector.alerting.leader`).

**Order.** PostgreSQL assigns sequence values at insert, not at commit, so a reader of ``id >
cursor`` could skip a row of a slower transaction that commits later. Writers therefore take one
transaction-level advisory lock (:data:`FEED_LOW`) right before inserting: ids are handed out in
commit order, and a row visible to the leader has every lower id visible too. (SQLite serialises
writers by itself.)

**Wake-up.** On PostgreSQL the same transaction sends a notification on this schema's channel
(:data:`FEED_CHANNEL_SQL`, delivered at commit); the leader listens on its coordination session
and reads the new rows at once, polling only every few seconds in case one was missed.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable

from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from collector.runtime.camera_state import Changed, Event, FlappingChanged
from collector.runtime.shards import LOCK_KEY_SQL
from inventory.models import CameraEvent
from inventory.monitored import MonitoredCamera

log = logging.getLogger("camwatch.feed")
FEED_LOW = 0x4645_0000  # "FE": camera_events writers (transaction-level, see the module doc)
# the NOTIFY channel of this schema's camera events (the leader LISTENs on its coordination
# session and reads at once instead of polling)
FEED_CHANNEL_SQL = "'camwatch_events_' || left(md5(current_schema()), 16)"
# before a batch's rows: the writers' lock, and the notification (one statement: one round trip;
# PostgreSQL sends it at commit, and never when the batch rolls back)
FEED_LOCK_SQL = (f"SELECT pg_advisory_xact_lock({LOCK_KEY_SQL.format(low=str(FEED_LOW))}),"
                 f" pg_notify({FEED_CHANNEL_SQL}, '')")


def event_row(camera_id: int, ev: Event, checks: tuple[str, ...], replica: str) -> dict[str, object]:
    """The ``camera_events`` row of one event (pure)."""
    if isinstance(ev, FlappingChanged):
        return {"camera_id": camera_id, "kind": "flapping", "old": None, "new": None, "cause": None, "start": None,
                "at": ev.at, "flapping": ev.flapping, "checks": None, "replica": replica, "upstream_up": None,
                "changes": ev.changes if ev.flapping else None}
    assert isinstance(ev, Changed)
    return {"camera_id": camera_id, "kind": "changed", "old": ev.old.value, "new": ev.new.value,
            "cause": ev.cause.value if ev.cause else None, "start": ev.start, "at": ev.confirmed_at,
            "flapping": None, "checks": list(checks) or None, "replica": replica, "upstream_up": ev.upstream_up,
            "changes": None}


class EventFeed:
    """The events of one replica waiting for its next write batch (bounded: the oldest dropped, logged)."""

    def __init__(self, replica: str, *, max_pending: int = 200_000,
                 checks_of: Callable[[int], tuple[str, ...]] = lambda cid: ()) -> None:
        self.replica = replica
        self.checks_of = checks_of
        self.max_pending = max_pending
        self.queue: collections.deque[dict[str, object]] = collections.deque()
        self.written = 0
        self.dropped = 0  # not written: the queue overflowed, or their shard was no longer held
        self._void: set[int] = set()  # cameras discarded while a batch was being written (not put back on a rollback)

    def on_event(self, cam: MonitoredCamera, ev: Event) -> None:
        """The scheduler's event sink (with the camera's failed picture checks, from ``checks_of``)."""
        self.submit(cam.id, ev, self.checks_of(cam.id))

    def submit(self, camera_id: int, ev: Event, checks: tuple[str, ...] = ()) -> None:
        if len(self.queue) >= self.max_pending:
            self.queue.popleft()
            self.dropped += 1
            if self.dropped in (1, 10, 100, 1000) or self.dropped % 10000 == 0:
                log.error("camera event queue full (%d): dropped %d oldest event(s)", self.max_pending, self.dropped)
        self.queue.append(event_row(camera_id, ev, checks, self.replica))

    def discard(self, camera_ids: set[int]) -> int:
        """Never write the waiting events of these cameras (nor those of a batch in flight, should it
        roll back): the replica lost their shards; held again later, they are another tenure's."""
        if not camera_ids:
            return 0
        before = len(self.queue)
        self.queue = collections.deque(r for r in self.queue if int(str(r["camera_id"])) not in camera_ids)
        self._void |= camera_ids
        self.dropped += before - len(self.queue)
        return before - len(self.queue)

    async def write(self, conn: AsyncConnection, held: Callable[[int], bool]) -> int:
        """In a write transaction: insert the waiting events of the cameras *held* says are still
        this replica's (the others are dropped: their new owner speaks for them). Back in the queue
        if the transaction rolls back. Returns the rows inserted."""
        self._void = set()  # (a batch before this one has committed or rolled back by now)
        if not self.queue:
            return 0
        taken = list(self.queue)
        self.queue.clear()
        rows = [r for r in taken if held(int(str(r["camera_id"])))]
        if len(rows) < len(taken):
            self.dropped += len(taken) - len(rows)
            log.warning("%d camera event(s) of shards no longer held not written", len(taken) - len(rows))
        if not rows:
            return 0

        def rolled_back(_conn: object) -> None:
            void = self._void
            back = [r for r in rows if int(str(r["camera_id"])) not in void]
            self.dropped += len(rows) - len(back)
            self.queue.extendleft(reversed(back))

        def committed(_conn: object) -> None:
            self.written += len(rows)

        sync = conn.sync_connection
        assert sync is not None
        event.listen(sync, "rollback", rolled_back, once=True)
        event.listen(sync, "commit", committed, once=True)
        if conn.dialect.name == "postgresql":
            await conn.execute(text(FEED_LOCK_SQL))
        await conn.execute(insert(CameraEvent), rows)
        return len(rows)


__all__ = ["FEED_CHANNEL_SQL", "FEED_LOCK_SQL", "FEED_LOW", "EventFeed", "event_row"]
