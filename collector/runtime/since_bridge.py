"""When a camera's state really began, across camwatch's own stops (a restart, a replica's takeover).

The accounting is honest about a stop: the time camwatch was away is an ``unknown`` interval, and the
camera's state after it is a new interval from the first probe. But a contractor reading "离线 已持续
3分钟" of a camera that has been dark for three days (camwatch restarted three minutes ago) is misled,
and the console's "longest down first" loses its order at every restart. So a camera that was down
(offline or degraded) when camwatch stopped watching it, and is seen in that same state (and cause)
again by the first probes after, is shown down *since the state began before the gap*, with the
gap named (:class:`Bridged`). Any other change ends it. The intervals are not touched.

Only down cameras are bridged (those whose "since" people act on), so this keeps one entry per
camera down at the start, not one per camera.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from collector.runtime.camera_state import Changed, Event, State, Status
from collector.runtime.interval_rows import aware
from inventory.models import StateInterval
from probes.causes import Cause

DOWN = (State.OFFLINE, State.DEGRADED)
VIA_ONLINE = dt.timedelta(minutes=10)
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Before:
    """A camera's state when camwatch stopped watching it: since when, and when the gap began."""

    state: State
    cause: Cause | None
    since: dt.datetime
    gap_from: dt.datetime
    # degraded: when its first probes after the gap said online (the picture not looked at yet: the
    # video tier looks at once when a camera comes back, so a degradation within VIA_ONLINE is the same one)
    online_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Bridged:
    """The state began at ``since``; camwatch did not watch from ``gap_from`` to ``gap_to`` (the first
    probe after the gap, which saw the same state again)."""

    since: dt.datetime
    gap_from: dt.datetime
    gap_to: dt.datetime


def first_change(before: Before, ev: Changed) -> Before | Bridged | None:
    """What the first change after the gap makes of *before*: bridged (the same state seen again),
    still waiting (a degraded camera's probes said online first: the picture is looked at later), or
    nothing (something else)."""
    if ev.old is State.UNKNOWN and ev.new is State.ONLINE and before.state is State.DEGRADED:
        return replace(before, online_at=ev.start)
    same = ev.new is before.state and (ev.cause == before.cause or before.state is State.DEGRADED)
    soon = before.online_at is not None and ev.old is State.ONLINE and ev.start - before.online_at <= VIA_ONLINE
    if same and ((ev.old is State.UNKNOWN and before.online_at is None) or soon):
        return Bridged(before.since, before.gap_from, ev.start)
    return None


class SinceBridge:
    """The cameras down when camwatch stopped watching them, until their first change after it."""

    def __init__(self) -> None:
        self._waiting: dict[int, Before] = {}
        self._bridged: dict[int, Bridged] = {}

    def add(self, before: dict[int, Before], camera_ids: Iterable[int] = ()) -> None:
        """Cameras whose watch had a gap: *before* those down before it; *camera_ids* every camera
        the gap concerned (their earlier bridges are void: they start again)."""
        for cid in camera_ids:
            self._waiting.pop(cid, None)
            self._bridged.pop(cid, None)
        self._waiting.update(before)

    def on_event(self, cid: int, ev: Event) -> None:
        if not isinstance(ev, Changed):
            return
        b = self._waiting.pop(cid, None)
        if b is None:
            self._bridged.pop(cid, None)  # a later change: the state shown began after the gap
            return
        nxt = first_change(b, ev)
        if isinstance(nxt, Before):
            self._waiting[cid] = nxt
        elif nxt is not None:
            self._bridged[cid] = nxt

    def of(self, cid: int, status: Status) -> Bridged | None:
        """The bridge of a camera in *status*, or None (not down across a gap)."""
        b = self._bridged.get(cid)
        if b is None or status.state not in DOWN or status.since != b.gap_to:
            return None
        return b

    def since(self, cid: int, status: Status) -> dt.datetime | None:
        """When the camera's current state began: before the gap when bridged, else its interval's start."""
        b = self.of(cid, status)
        return status.since if b is None else b.since

    def __len__(self) -> int:
        return len(self._waiting) + len(self._bridged)


async def down_before_gap(engine: AsyncEngine, camera_ids: Iterable[int] | None = None) -> dict[int, Before]:
    """The cameras (of *camera_ids*, None: all) whose open interval is the ``unknown`` of a gap in
    the watch and whose interval before it was down: that state, its cause, its start and the gap's."""
    gap, prev = aliased(StateInterval), aliased(StateInterval)
    q = aliased(StateInterval)
    last = (select(q.id).where(q.camera_id == gap.camera_id,
                               or_(q.start < gap.start, and_(q.start == gap.start, q.id < gap.id)))
            .order_by(q.start.desc(), q.id.desc()).limit(1).scalar_subquery())
    stmt = (select(gap.camera_id, gap.start, prev.state, prev.cause, prev.start)
            .join(prev, prev.id == last)
            .where(gap.end.is_(None), gap.state == State.UNKNOWN.value,
                   prev.state.in_([s.value for s in DOWN])))
    ids = None if camera_ids is None else sorted(set(camera_ids))
    out: dict[int, Before] = {}
    async with engine.connect() as conn:
        chunks = [stmt] if ids is None else [stmt.where(gap.camera_id.in_(ids[k:k + CHUNK]))
                                             for k in range(0, len(ids), CHUNK)]
        for s in chunks:
            for cid, gap_from, state, cause, since in await conn.execute(s):
                out[cid] = Before(State(state), _cause(cause), aware(since), aware(gap_from))
    return out


def _cause(value: str | None) -> Cause | None:
    try:
        return None if value is None else Cause(value)
    except ValueError:  # (a cause a later version no longer knows)
        return None


__all__ = ["Before", "Bridged", "SinceBridge", "down_before_gap", "first_change"]
