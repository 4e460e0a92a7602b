"""Cameras split into fixed shards, and what a replica holds of them (DESIGN §8): the pure parts.

A camera's shard is a stable hash of its id (BLAKE2b with its own personalisation, so it is not
correlated with the camera's probing phase, :func:`collector.runtime.slots.phase_of`): the same on
every replica, process and Python version (never Python's ``hash()``). Each replica aims at its
fair share of the shards, ``ceil(shards / live replicas)``: it lets go of what it holds above that
share and tries to lock unheld ones below it (:func:`plan`).

**Lock keys.** A replica holds a shard with a PostgreSQL session-level advisory lock in the
single-``bigint`` key space: the high 32 bits are ``hashtext(current_schema())`` (deployments in
other schemas of the same database never meet), the low 32 bits ``SHARD_TAG | shard``. The
rollup write lock (:func:`collector.accounting.sql.rollups.lock_for_write`) uses the two-``int4``
form, and PostgreSQL keeps the two key spaces apart ("these two key spaces do not overlap"), so a
shard lock can never collide with it. :data:`GUARD_LOW` (same high half) is the instance guard:
held shared by every replica, exclusively by a collector that runs alone on the database;
:data:`LEADER_LOW` the leader's lock, held by one replica; :data:`COUNT_LOW` the replicas' shard count.
In ``pg_locks`` a shard lock shows as ``locktype = 'advisory'``, ``objsubid = 1``,
``objid = SHARD_TAG | shard``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote

MAX_SHARDS = 65_536
SHARD_TAG = 0x5348_0000  # "SH" in the high half of the low 32 bits; the shard in the low 16
GUARD_LOW = 0x4755_0000  # "GU": the instance guard (shared: replicas; exclusive: a single collector)
LEADER_LOW = 0x4C44_0000  # "LD": the leader of the replicas (its jobs: rollups, the month close)
# "SC": held shared by every replica with its shard count (low 16 bits: shards - 1). Replicas with
# different counts map a camera to different shards, so both could lock "its" shard and write it:
# a replica that finds another count held refuses to join (collector.runtime.replicas).
COUNT_LOW = 0x5343_0000

#: the bigint key of a lock whose low 32 bits are the parameter ``:low`` (see the module doc)
LOCK_KEY_SQL = "((CAST(hashtext(current_schema()) AS bigint) << 32) | CAST({low} AS bigint))"
#: ``pg_locks.database`` of this database: advisory locks are the database's own, but ``pg_locks``
#: lists every database's (another camwatch on the same server, schema ``public`` too, must not count)
THIS_DB_SQL = "(SELECT oid FROM pg_database WHERE datname = current_database())"
#: ``pg_locks.classid`` of this schema's locks: the key's high half (an unsigned 32-bit oid there)
CLASSID_SQL = "(CAST(hashtext(current_schema()) AS bigint) & 4294967295)"
#: the shard counts the replicas of this schema run with (the :data:`COUNT_LOW` locks held), one row each
SHARD_COUNTS_SQL = ("SELECT DISTINCT (objid::bigint & 65535) + 1 FROM pg_locks WHERE locktype = 'advisory'"
                    f" AND objsubid = 1 AND granted AND classid::bigint = {CLASSID_SQL} AND database = {THIS_DB_SQL}"
                    f" AND (objid::bigint & 4294901760) = {COUNT_LOW} ORDER BY 1")


_PG_SAFE = "".join(chr(c) for c in range(32, 127) if chr(c) != "%")


def pg_name(text: str) -> str:
    """*text* as an ``application_name`` PostgreSQL keeps whole: it turns every character beyond
    printable ASCII into "?" (two Chinese replica ids would read alike) and keeps 63 bytes, so
    those are percent-encoded (:func:`from_pg_name` reads them back) and the result cut at 63."""
    out, size = [], 0
    for part in (quote(c, safe=_PG_SAFE) for c in text):  # (cut between characters, never in one)
        if size + len(part) > 63:
            break
        out.append(part)
        size += len(part)
    return "".join(out)


def from_pg_name(name: str | None) -> str:
    """The replica id a session's ``application_name`` (:func:`pg_name`) stands for."""
    return unquote(name or "")


def shard_of(camera_id: int, shards: int) -> int:
    """The shard of a camera, in [0, shards): stable across processes and Python versions."""
    d = hashlib.blake2b(str(camera_id).encode(), digest_size=8, person=b"camwatch-shard").digest()
    return int.from_bytes(d, "big") % shards


def shard_low(shard: int) -> int:
    """The low 32 bits of a shard's advisory lock key."""
    if not 0 <= shard < MAX_SHARDS:
        raise ValueError(f"shard {shard} outside [0, {MAX_SHARDS})")
    return SHARD_TAG | shard


def fair_share(shards: int, live: int) -> int:
    """How many shards one of *live* replicas aims at: ceil(shards / live) (all of them alone)."""
    return shards if live <= 1 else math.ceil(shards / live)


def start_of(replica_id: str, shards: int) -> int:
    """Where a replica starts looking for free shards (spread, so replicas rarely race for one)."""
    return shard_of(int.from_bytes(hashlib.blake2b(replica_id.encode(), digest_size=8).digest(), "big"), shards)


@dataclass(frozen=True, slots=True)
class Plan:
    release: tuple[int, ...]  # held above the share: let go (highest first)
    candidates: tuple[int, ...]  # not held by this replica, in the order to try
    want: int  # how many of the candidates to lock (0: none)


def plan(owned: Iterable[int], shards: int, live: int, start: int = 0) -> Plan:
    """What a replica holding *owned* does next, with *live* replicas announced (itself included)."""
    mine = frozenset(owned)
    share = fair_share(shards, max(1, live))
    if len(mine) > share:
        return Plan(tuple(sorted(mine, reverse=True)[: len(mine) - share]), (), 0)
    order = tuple(s for s in ((start + k) % shards for k in range(shards)) if s not in mine)
    return Plan((), order, share - len(mine))


def balance(counts: Iterable[int]) -> float:
    """The largest relative distance from the mean of *counts* (0.0 = perfectly even)."""
    xs = list(counts)
    if not xs or sum(xs) == 0:
        return 0.0
    mean = sum(xs) / len(xs)
    return max(abs(x - mean) for x in xs) / mean


__all__ = ["from_pg_name", "pg_name", "GUARD_LOW", "LEADER_LOW", "LOCK_KEY_SQL", "MAX_SHARDS", "SHARD_TAG", "Plan", "balance", "fair_share", "plan",
           "shard_low", "shard_of", "start_of"]
