"""Replicas: the alert engine, work orders and messages on the leader only (DESIGN §8).

Wiring for :class:`collector.runtime.app.App`: every replica writes its cameras' events to the
database with its interval batches (under its fence); the leader follows them
(:mod:`collector.alerting.leader`). A lone collector keeps the in-memory path
(:mod:`collector.alerting.service`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from collector.alerting.delivery.notifier import Notifier
from collector.alerting.leader import LeaderAlerts, leader_alerts, leader_guard
from collector.metrics.registry import SelfCounters
from collector.runtime.event_feed import EventFeed
from collector.runtime.interval_writer import IntervalWriter
from collector.runtime.journal import IntervalOpen
from collector.runtime.replicas import Replica
from collector.runtime.shards import shard_of
from collector.settings import Settings, console_url

log = logging.getLogger("camwatch.alerting")


def feed_the_leader(settings: Settings, db: AsyncEngine, replica: Replica, writer: IntervalWriter,
                    notifier: Notifier | None, counters: SelfCounters, clock: Callable[[], dt.datetime],
                    checks_of: Callable[[int], tuple[str, ...]]) -> tuple[EventFeed, LeaderAlerts | None]:
    """The replica's event feed (its events written with each interval batch, of the shards the
    batch's fence found held) and, when alerts are on, the leader's alerting (run while it leads)."""
    feed = EventFeed(replica.replica_id, checks_of=checks_of)
    fence, shards = replica.fence, settings.collector.shards

    async def fenced(conn: AsyncConnection, events: list[IntervalOpen], beat: dt.datetime) -> list[IntervalOpen]:
        kept = await fence(conn, events, beat)
        await feed.write(conn, lambda cid: shard_of(cid, shards) in replica.kept)
        return kept

    writer.fence = fenced
    a = settings.alerts
    if not a.enabled:
        return feed, None
    if settings.notify.channels and a.base_url and a.base_url == console_url(settings.http):
        # (any replica serves the incident pages; the one that leads at a message's time may be gone when it is read)
        log.warning("alerts.base_url (%s, unset or set so) is this replica's own console: the links in alert messages "
                    "open the replica that led when they were sent, which no longer answers once it is gone; set "
                    "alerts.base_url to an address that reaches any replica (a load balancer, an Ingress)", a.base_url)
    policy = a.to_policy(settings.recheck_answer_s)  # (the first message waits for an offline recheck's answer)
    la = leader_alerts(policy, db, replica=replica.replica_id, language=a.language or settings.language,
                       tick_s=a.tick_s, clock=clock, guard=leader_guard(replica), notifier=notifier,
                       counts=counters.work_orders)
    la.wake = replica.feed_wake  # (PostgreSQL's NOTIFY: new events read at once, not polled for)
    return feed, la


def feed_stats(la: LeaderAlerts | None) -> dict[str, Any] | None:
    """For /healthz: the leader's progress in the camera events (None: not the leader)."""
    if la is None or la.engine is None:
        return None
    s = la.stats
    return {"cursor": la.settled, "position": la.position, "applied": s.applied, "replayed": s.replayed,
            "lag_s": round(s.lag_s, 3), "max_lag_s": round(s.max_lag_s, 3), "open_incidents": len(la.engine.incidents)}


__all__ = ["feed_stats", "feed_the_leader"]
