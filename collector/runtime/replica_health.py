"""What a replica says of itself in ``/healthz`` (DESIGN §8): the truth at the moment it is asked.

While its coordination session is lost (fenced: :meth:`collector.runtime.replicas.Replica._lost`),
or is back but has not counted the replicas again yet, a replica holds no shard, knows neither how
many replicas live nor which one leads (``None``, never the last figures seen) and says why; the
first tick on a session that is back brings them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collector.runtime.replicas import Replica

SESSION_CLOSED = "the coordination session is closed"


@dataclass(frozen=True, slots=True)
class ReplicaHealth:
    coordinated: bool  # its coordination session is open and its last tick on it went through
    shards: tuple[int, ...]  # the shards it holds now, in order
    live: int | None  # the live replicas counted by that tick (None: not known while not coordinated)
    leader: str | None  # the replica holding the leader's lock, as that tick saw it (None: not known)
    leading: bool  # this replica holds the leader's lock
    error: str | None  # why it is not coordinated (None when it is)


def replica_health(rep: Replica) -> ReplicaHealth:
    conn = rep.conn
    if conn is None or conn.is_closed() or rep.last_error is not None:
        return ReplicaHealth(False, (), None, None, False, rep.last_error or SESSION_CLOSED)
    return ReplicaHealth(True, tuple(sorted(rep.owned)), rep.live, rep.leader_id, rep.leader, None)


__all__ = ["ReplicaHealth", "replica_health"]
