"""When an outage is a suspected uplink failure (疑似上联中断): a pure decision on an incident's members.

Only two signs count:

* the parent (upstream) device itself fails: a member has the cause ``upstream_down`` (the
  scheduler found the camera's 4G router / switch / NVR not answering either);
* a burst of network failures: at least ``min_cameras`` **and** at least half of the village's
  cameras failed with a network-class cause (``Cause.network``: unreachable, timeout) within one
  grouping window of each other (by their first failed probe).

A refused port, a wrong password or a broken stream says the camera answered, so the link is up:
such members never count. Nor do flapping cameras, whose changes go into the digest, nor cameras
whose parent device was checked when they failed and answered (``Member.upstream_up``): the
uplink to it is up, the trouble is on the cameras' side (:func:`parent_answered`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from collector.alerting.model import Member
from probes.causes import Cause


def suspected_uplink(members: Iterable[Member], village_total: int, *, flapping: Collection[int] = (),
                     min_cameras: int = 3, window_s: float = 30.0) -> bool:
    """True when *members* (the cameras of one incident still down) point to a failed uplink."""
    live = [m for m in members if m.camera_id not in flapping and m.cause is not None]
    if any(m.cause is Cause.UPSTREAM_DOWN for m in live):
        return True
    starts = sorted(m.start for m in live if m.cause is not None and m.cause.network and m.upstream_up is not True)
    need = max(min_cameras, 1, -(-village_total // 2))  # at least min_cameras and half the village (rounded up)
    if len(starts) < need:
        return False
    window = dt.timedelta(seconds=window_s)
    return any(starts[i + need - 1] - starts[i] <= window for i in range(len(starts) - need + 1))


def parent_answered(members: Iterable[Member]) -> bool:
    """True when *members* (the cameras of an outage still down) failed with a network cause while
    their parent device was checked and answered (and none found it down): the uplink is up, so
    the cameras themselves (their power, cable or the cameras) are suspected, not the uplink."""
    live = [m for m in members if m.cause is not None]
    if any(m.cause is Cause.UPSTREAM_DOWN or m.upstream_up is False for m in live):
        return False
    return any(m.upstream_up is True and m.cause is not None and m.cause.network for m in live)
