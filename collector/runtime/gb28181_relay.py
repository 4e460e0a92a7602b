"""Verdicts from the leader's GB/T 28181 platform to the replicas owning the cameras (DESIGN §8, §11).

With ``collector.replicas`` one SIP platform runs, on the leader (devices register to one
address). A GB28181-only camera's state is still stepped by the replica that owns its shard (the
one writer of its intervals, under its fence), so the leader writes each verdict for such a
camera to ``gb28181_verdicts`` (one row a camera: its latest) and every replica follows the table
with a cursor on ``seq`` (:class:`collector.runtime.gb28181_replicas.VerdictFollower`).

**Order.** ``seq`` comes from a PostgreSQL sequence at insert; the writer takes one
transaction-level advisory lock (:data:`RELAY_LOW`) first, so values are handed out in commit
order even while two leaders overlap for a moment, and a follower reading ``seq > cursor`` skips
nothing. A camera repeated in one batch is written in order, statement after statement (an
upsert touches a row once per statement).

Only PostgreSQL: SQLite runs a single collector, whose platform steps the cameras itself.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Table, func, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.gb28181.state import GbVerdict
from collector.runtime.shards import LOCK_KEY_SQL
from inventory.models import Gb28181Verdict

log = logging.getLogger("camwatch.gb28181")
RELAY_LOW = 0x4742_0000  # "GB": writers of gb28181_verdicts (transaction-level, see the module doc)
RELAY_LOCK_SQL = f"SELECT pg_advisory_xact_lock({LOCK_KEY_SQL.format(low=str(RELAY_LOW))})"
T: Table = Gb28181Verdict.__table__  # type: ignore[assignment]
CHUNK = 1000
PAGE = 5000


@dataclass(frozen=True, slots=True)
class RelayedVerdict:
    camera_id: int
    verdict: GbVerdict
    at: dt.datetime  # when the verdict holds from (its message, or the deadline passed)
    last_seen: dt.datetime | None  # a keepalive timeout's last sign of life (the outage began between it and
    # ``at``); None: dated at ``at`` itself (a message, an expiry)
    seq: int = 0  # its place in the table (0: not written yet)


def chunks(items: Sequence[RelayedVerdict], size: int = CHUNK) -> list[list[RelayedVerdict]]:
    """*items* in order, cut so that no camera is twice in a chunk and none holds more than *size* (pure)."""
    out: list[list[RelayedVerdict]] = []
    cur: list[RelayedVerdict] = []
    ids: set[int] = set()
    for v in items:
        if v.camera_id in ids or len(cur) >= size:
            out.append(cur)
            cur, ids = [], set()
        cur.append(v)
        ids.add(v.camera_id)
    if cur:
        out.append(cur)
    return out


class VerdictRelay:
    """The leader's side: verdicts wait here and are written in batches (bounded: the oldest dropped)."""

    def __init__(self, engine: AsyncEngine, replica: str, *, max_pending: int = 200_000) -> None:
        self.engine = engine
        self.replica = replica
        self.max_pending = max_pending
        self.queue: collections.deque[RelayedVerdict] = collections.deque()
        self.written = 0
        self.dropped = 0

    def submit(self, v: RelayedVerdict) -> None:
        if len(self.queue) >= self.max_pending:
            self.queue.popleft()
            self.dropped += 1
            if self.dropped in (1, 10, 100, 1000) or self.dropped % 10000 == 0:
                log.error("gb28181 verdict queue full (%d): dropped %d oldest", self.max_pending, self.dropped)
        self.queue.append(v)

    async def flush(self) -> int:
        """Write what waits (one transaction); on failure it stays queued for the next try."""
        batch = list(self.queue)
        if not batch:
            return 0
        ins = postgresql.insert(T).values(seq=func.nextval("gb28181_verdict_seq"))
        stmt = ins.on_conflict_do_update(index_elements=["camera_id"], set_={
            c: ins.excluded[c] for c in ("verdict", "at", "last_seen", "seq", "replica")})
        async with self.engine.begin() as conn:
            await conn.execute(text(RELAY_LOCK_SQL))
            for part in chunks(batch):
                await conn.execute(stmt, [{"camera_id": v.camera_id, "verdict": v.verdict.value, "at": v.at,
                                           "last_seen": v.last_seen, "replica": self.replica} for v in part])
        for _ in batch:
            self.queue.popleft()
        self.written += len(batch)
        return len(batch)


def _rows(result: Iterable[object]) -> list[RelayedVerdict]:
    out = []
    for r in result:
        try:
            verdict = GbVerdict(r.verdict)  # type: ignore[attr-defined]
        except ValueError:  # written by a newer camwatch: not ours to guess
            continue
        out.append(RelayedVerdict(r.camera_id, verdict, r.at, r.last_seen, r.seq))  # type: ignore[attr-defined]
    return out


async def read_since(engine: AsyncEngine, cursor: int, limit: int = PAGE) -> list[RelayedVerdict]:
    """The verdicts written after *cursor*, in order (at most *limit*)."""
    async with engine.connect() as conn:
        res = await conn.execute(select(T).where(T.c.seq > cursor).order_by(T.c.seq).limit(limit))
        return _rows(res)


async def read_for(engine: AsyncEngine, camera_ids: Sequence[int]) -> list[RelayedVerdict]:
    """The latest verdicts of these cameras (those that have one)."""
    out: list[RelayedVerdict] = []
    async with engine.connect() as conn:
        for i in range(0, len(camera_ids), CHUNK):
            res = await conn.execute(select(T).where(T.c.camera_id.in_(camera_ids[i:i + CHUNK])).order_by(T.c.seq))
            out += _rows(res)
    return out


__all__ = ["RELAY_LOW", "RelayedVerdict", "VerdictRelay", "chunks", "read_for", "read_since"]
