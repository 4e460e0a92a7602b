"""Replicas' takeover and write fence in one process, step by step, on the local PostgreSQL (no
timing): shards split and handed over, the unknown gap from the last owner's shard heartbeat, a
change of a shard no longer held never written, a terminated session forgetting every shard (and
the leader's lock, which the other replica then takes).
And a lone collector's restart after replicas: no overlap with what they opened since."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from itertools import pairwise

import asyncpg
import pytest

from collector.runtime.camera_state import State
from collector.runtime.interval_writer import IntervalOpen, IntervalWriter, recover
from collector.runtime.replicas import Replica, pg_connect_args
from collector.runtime.shards import shard_of
from collector.runtime.since_bridge import Before, down_before_gap
from inventory.db import create_engine
from probes.causes import Cause
from tests.collector.test_store import camera_ids, intervals, t, with_inventory
from tests.conftest import fresh_pg_schema

SHARDS = 8


class Host:
    """What App gives a replica: the inventory, and what it watches (recorded)."""

    def __init__(self, ids: list[int], writer: IntervalWriter) -> None:
        self.ids, self.writer = ids, writer
        self.watched = 0
        self.lost: set[int] = set()
        self.let_go_of: set[int] = set()
        self.before_gap: dict[int, Before] = {}  # what App's SinceBridge is given at each takeover

    def camera_ids(self) -> list[int]:
        return self.ids

    def watch(self) -> None:
        self.watched += 1

    async def gap_written(self, camera_ids: set[int]) -> None:
        self.before_gap.update(await down_before_gap(self.writer.engine, camera_ids))

    def lose(self, camera_ids: set[int]) -> None:
        self.lost |= camera_ids

    async def let_go(self, camera_ids: set[int], at: dt.datetime) -> None:
        self.let_go_of |= camera_ids
        for cid in sorted(camera_ids):
            self.writer.submit(IntervalOpen(cid, "unknown", None, at))
        assert await self.writer.flush()


@pytest.fixture
def pg_url(pg_reason: str | None) -> Iterator[str]:
    with fresh_pg_schema(pg_reason) as url:
        yield url


def contiguous(rows: list[tuple[int, str, str | None, dt.datetime, dt.datetime | None]]) -> bool:
    by: dict[int, list[tuple[dt.datetime, dt.datetime | None]]] = {}
    for cid, _, _, start, end in rows:
        by.setdefault(cid, []).append((start, end))
    return all(a[1] == b[0] for ivs in by.values() for a, b in pairwise(ivs)) and all(
        ivs[-1][1] is None for ivs in by.values())


@pytest.mark.postgres
def test_split_handover_fence_and_a_terminated_session(pg_url: str) -> None:
    url = with_inventory(pg_url)

    async def go() -> None:
        engine = create_engine(url)
        now = [t(0)]
        clock = lambda: now[0]  # noqa: E731
        try:
            ids = await camera_ids(engine)
            w1 = IntervalWriter(engine, collector_id="r1", clock=clock)
            w2 = IntervalWriter(engine, collector_id="r2", clock=clock)
            h1, h2 = Host(ids, w1), Host(ids, w2)
            r1 = Replica(engine, url, h1, replica_id="r1", collector_id="default", shards=SHARDS, takeover_s=4, clock=clock)
            r2 = Replica(engine, url, h2, replica_id="r2", collector_id="default", shards=SHARDS, takeover_s=4, clock=clock)
            w1.fence, w2.fence = r1.fence, r2.fence
            await r1.start()
            assert r1.owned == frozenset(range(SHARDS)) and r1.live == 1 and h1.watched == 1
            assert r1.leader and r1.leader_id == "r1"
            for cid in ids:
                w1.submit(IntervalOpen(cid, "online", None, t(1)))
            now[0] = t(5)
            assert await w1.flush()
            assert len(await intervals(engine)) == len(ids)

            # r2 joins: nothing free until r1 lets go of the shards above its share
            await r2.start()
            assert r2.owned == frozenset() and r2.live == 2
            assert not r2.leader and r2.leader_id == "r1"  # one leader
            now[0] = t(10)
            await r1.tick()
            assert len(r1.owned) == SHARDS // 2
            moved = {cid for cid in ids if shard_of(cid, SHARDS) not in r1.owned}
            assert h1.let_go_of == moved
            now[0] = t(12)
            await r2.tick()
            assert r2.owned == frozenset(range(SHARDS)) - r1.owned
            rows = await intervals(engine)
            for cid in moved:  # online until r1 let go, unknown since (r2 found them unknown: no new gap)
                assert [(s, st) for c, s, _, st, _ in rows if c == cid] == [("online", t(1)), ("unknown", t(10))]

            # fence: r1 can no longer write a camera it let go of; its own still go through
            theirs, mine = min(moved), min(set(ids) - moved)
            w1.submit(IntervalOpen(theirs, "offline", "refused", t(13)))
            w1.submit(IntervalOpen(mine, "offline", "refused", t(13)))
            now[0] = t(14)
            assert await w1.flush()
            rows = await intervals(engine)
            assert [st for c, st, *_ in rows if c == theirs] == ["online", "unknown"]
            assert [st for c, st, *_ in rows if c == mine] == ["online", "offline"]

            # r1's session is ended by the server: it forgets every shard; r2 takes them with the gap
            # unknown from r1's last heartbeat for them (t(14), its last batch)
            dsn, settings = pg_connect_args(url)
            admin = await asyncpg.connect(dsn, server_settings=settings)
            try:
                assert await admin.fetchval("SELECT pg_terminate_backend($1)", r1.pid)
            finally:
                await admin.close()
            for _ in range(50):
                if not r1.owned:
                    break
                await asyncio.sleep(0.1)
            assert r1.owned == frozenset() and h1.lost == set(ids) - moved
            w1.submit(IntervalOpen(mine, "online", None, t(20)))  # too late: fenced
            now[0] = t(21)
            assert await w1.flush()
            now[0] = t(30)
            await r2.tick()
            assert r2.owned == frozenset(range(SHARDS)) and r2.live == 1
            assert r2.leader and r2.leader_id == "r2" and not r1.leader  # the leader's lock went with r1's session
            rows = await intervals(engine)
            assert [(st, s) for c, st, _, s, _ in rows if c == mine] == [
                ("online", t(1)), ("offline", t(13)), ("unknown", t(14))]
            assert contiguous(rows)
            # what the console shows of it once seen offline again: down since t(13), not watched from t(14)
            assert h2.before_gap == {mine: Before(State.OFFLINE, Cause.REFUSED, t(13), t(14))}
            await r1.close()
            await r2.close()
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_a_lone_restart_after_replicas_never_overlaps(db_url: str) -> None:
    """Its own heartbeat is older than an interval opened since: that interval is cut at its start."""
    url = with_inventory(db_url)

    async def go() -> None:
        engine = create_engine(url)
        try:
            ids = await camera_ids(engine)
            w = IntervalWriter(engine, collector_id="lone", clock=lambda: t(60))
            w.submit(IntervalOpen(ids[0], "online", None, t(0)))
            await w.flush()  # the lone collector's last heartbeat: t(60)
            later = IntervalWriter(engine, collector_id="replica", clock=lambda: t(500))
            later.submit(IntervalOpen(ids[0], "offline", "refused", t(400)))
            await later.flush()
            await recover(engine, "lone", ids, t(900))
            rows = await intervals(engine, ids[0])
            assert [(st, s) for _, st, _, s, _ in rows] == [("online", t(0)), ("offline", t(400)), ("unknown", t(400))]
            assert contiguous(rows)
        finally:
            await engine.dispose()

    asyncio.run(go())


@pytest.mark.postgres
def test_committed_camera_events_wake_the_leader_and_other_schemas_do_not(pg_url: str, pg_reason: str | None) -> None:
    """LISTEN/NOTIFY: a replica's coordination session is told when any replica commits camera
    events in this schema (not before the commit, not for another schema's), and the leader's
    alerting then reads them at once instead of at its idle poll."""
    from collector.alerting.leader import LeaderAlerts  # lazy: only this test drives the leader
    from collector.runtime.camera_state import Changed, State
    from collector.runtime.event_feed import EventFeed
    from probes.causes import Cause
    from tests.collector.test_leader_alerts import POLICY

    url = with_inventory(pg_url)

    async def go(other_url: str) -> None:
        engine, other = create_engine(url), create_engine(other_url)
        try:
            ids = await camera_ids(engine)
            r = Replica(engine, url, Host(ids, IntervalWriter(engine)), replica_id="r1", collector_id="default",
                        shards=SHARDS, takeover_s=4)
            await r.connect()
            try:
                await asyncio.sleep(0.2)
                r.feed_wake.clear()
                ev = Changed(State.ONLINE, State.OFFLINE, Cause.UNREACHABLE, t(0), t(1))

                async def write(db: object, cid: int) -> None:
                    feed = EventFeed("r2")
                    feed.submit(cid, ev)
                    async with db.begin() as conn:  # type: ignore[attr-defined]
                        assert await feed.write(conn, lambda _cid: True) == 1
                        await asyncio.sleep(0.3)
                        assert not r.feed_wake.is_set(), "told before the commit"

                await write(other, (await camera_ids(other))[0])
                await asyncio.sleep(0.5)
                assert not r.feed_wake.is_set(), "woken by another schema's events"
                await write(engine, ids[0])
                await asyncio.wait_for(r.feed_wake.wait(), 5)

                # the leader's alerting, idle-polling every 60 s, applies a new event when woken
                la = LeaderAlerts(engine, POLICY, "r1", wake=r.feed_wake, idle_poll_s=60.0, tick_s=60.0)
                task = asyncio.create_task(la.run())
                try:
                    for _ in range(100):
                        if la.engine is not None and la.position > 0:
                            break
                        await asyncio.sleep(0.05)
                    first = la.position
                    assert first > 0
                    await asyncio.sleep(0.3)
                    await write(engine, ids[1])
                    for _ in range(60):  # well before the 60 s idle poll
                        if la.position > first:
                            break
                        await asyncio.sleep(0.05)
                    assert la.position > first
                finally:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
            finally:
                await r.close()
        finally:
            await engine.dispose()
            await other.dispose()

    with fresh_pg_schema(pg_reason) as other_url:
        asyncio.run(go(with_inventory(other_url)))
