"""The audit log: one row per write (web page, API, ``camwatch users``; written by
:func:`collector.accounts.audit_log.audit`, re-exported here), and login throttling.

Throttling: after :data:`USER_LIMIT` failed logins for one user name, or :data:`ADDRESS_LIMIT`
from one client address, that key is locked out for :data:`LOCKOUT` (doubling with each further
failure, at most :data:`MAX_LOCKOUT`); a successful login clears the user's key. Failures older
than :data:`FORGET` are forgotten. Kept in the database so every collector process sees them.

A password check first *reserves* its attempt (:func:`reserve_attempt`): one statement per key,
``INSERT … ON CONFLICT DO UPDATE … WHERE not locked RETURNING failures`` (SQLite and PostgreSQL
alike), counts the attempt as a failure and locks the key when that reaches the limit, all
before the password is verified. Attempts sent at once therefore queue on the key's row: no more
than the limit are ever checked, the others are refused (429) without being verified, and two
first failures never both insert the row (that answered 500). A right password then gives its
attempt back (:func:`attempt_succeeded`); a wrong one dates its failure (:func:`attempt_failed`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web
from sqlalchemy import case, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from collector.accounts.audit_log import audit as audit  # (re-exported: the writers of the console use it from here)
from inventory.models import LoginThrottle

USER_LIMIT = 5
ADDRESS_LIMIT = 20
LOCKOUT = dt.timedelta(seconds=60)
MAX_LOCKOUT = dt.timedelta(minutes=30)
FORGET = dt.timedelta(hours=1)
# What a write handler says about what it did (e.g. "exclusion #12 proposed: camera 5, ..."): the
# auth middleware's audit row of the write carries it (with the status) as its detail.
AUDIT_DETAIL: web.RequestKey[str] = web.RequestKey("camwatch_audit_detail", str)


def throttle_keys(name: str, address: str | None) -> tuple[str, ...]:
    """The keys an attempt counts against, always in this order (user, then address: attempts
    at once lock the rows in the same order)."""
    keys = [f"user:{name.strip()[:150]}"]
    if address:
        keys.append(f"addr:{address[:150]}")
    return tuple(keys)


async def locked_until(engine: AsyncEngine, keys: tuple[str, ...], now: dt.datetime) -> dt.datetime | None:
    """The latest lock-out end among *keys* still in force, or None."""
    async with engine.connect() as conn:
        rows = (await conn.execute(select(LoginThrottle.locked_until).where(LoginThrottle.key.in_(keys)))).all()
    ends = [u for (u,) in rows if u is not None and u > now]
    return max(ends) if ends else None


def _limit(key: str) -> int:
    return USER_LIMIT if key.startswith("user:") else ADDRESS_LIMIT


def _lock_end(key: str, failures: int, now: dt.datetime) -> dt.datetime | None:
    over = failures - _limit(key)
    return now + min(LOCKOUT * (2 ** min(over, 16)), MAX_LOCKOUT) if over >= 0 else None


async def _count(conn: AsyncConnection, key: str, now: dt.datetime, *, unless_locked: bool) -> bool:
    """One more failure on *key*, and its lock-out when that reaches the limit; False (nothing
    written) when *unless_locked* (a reservation) and the key is locked out now. A reservation does
    not move ``last_at`` (the time failures are forgotten from): a right password gives the attempt
    back and leaves no trace; a wrong one is dated by :func:`attempt_failed`."""
    make: Any = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    ins = make(LoginThrottle).values(key=key, failures=1, last_at=now, locked_until=None)
    failures = case((LoginThrottle.last_at < now - FORGET, 1), else_=LoginThrottle.failures + 1)
    free = LoginThrottle.locked_until.is_(None) | (LoginThrottle.locked_until <= now)
    changes: dict[str, Any] = {"failures": failures} if unless_locked else {"failures": failures, "last_at": now}
    stmt = ins.on_conflict_do_update(index_elements=[LoginThrottle.key], set_=changes,
                                     where=free if unless_locked else None).returning(LoginThrottle.failures)
    row = (await conn.execute(stmt)).first()
    if row is None:
        return False
    # (the row stays locked by this transaction until it ends: no other attempt reads it in between)
    await conn.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                       .values(locked_until=_lock_end(key, int(row.failures), now)))
    return True


async def reserve_attempt(engine: AsyncEngine, keys: tuple[str, ...], now: dt.datetime) -> dt.datetime | None:
    """Count an attempt against every key *before* its password is checked, in one transaction.
    None: reserved (check the password; on success call :func:`attempt_succeeded`). Else the
    lock-out end of a key locked now: refused, nothing counted."""
    async with engine.connect() as conn:
        trans = await conn.begin()
        try:
            for key in keys:
                if not await _count(conn, key, now, unless_locked=True):
                    await trans.rollback()
                    break
            else:
                await trans.commit()
                return None
        except BaseException:
            if trans.is_active:
                await trans.rollback()
            raise
    return await locked_until(engine, keys, now) or now + LOCKOUT


async def attempt_succeeded(engine: AsyncEngine, keys: tuple[str, ...]) -> None:
    """The reserved attempt had the right password: the user's key is cleared, the address's
    count given back, and a lock-out its reservation set lifted (a key is reserved only when not
    locked: the office behind one address is not locked out by its own right logins)."""
    async with engine.begin() as conn:
        for key in keys:
            if key.startswith("user:"):
                await conn.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
                continue
            await conn.execute(update(LoginThrottle).where(LoginThrottle.key == key, LoginThrottle.failures > 0)
                               .values(failures=LoginThrottle.failures - 1, locked_until=None))


async def attempt_failed(engine: AsyncEngine, keys: tuple[str, ...], now: dt.datetime) -> None:
    """The reserved attempt had a wrong password: its failure (counted at the reservation) is dated
    now, from when it is forgotten after :data:`FORGET`."""
    async with engine.begin() as conn:
        await conn.execute(update(LoginThrottle).where(LoginThrottle.key.in_(keys)).values(last_at=now))


async def record_failure(engine: AsyncEngine, keys: tuple[str, ...], now: dt.datetime) -> None:
    """One failure on every key (locked or not), without a reservation."""
    async with engine.begin() as conn:
        for key in keys:
            await _count(conn, key, now, unless_locked=False)


async def clear_failures(engine: AsyncEngine, name: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(LoginThrottle).where(LoginThrottle.key == throttle_keys(name, None)[0]))
