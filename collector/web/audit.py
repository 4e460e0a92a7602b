"""The audit log: one row per write (web page, API, ``camwatch users``; written by
:func:`collector.accounts.audit_log.audit`, re-exported here), and login throttling.

Throttling: after :data:`USER_LIMIT` failed logins for one user name, or :data:`ADDRESS_LIMIT`
from one client address, that key is locked out for :data:`LOCKOUT` (doubling with each further
failure, at most :data:`MAX_LOCKOUT`); a successful login clears the user's key. Failures older
than :data:`FORGET` are forgotten. Kept in the database so every collector process sees them.
"""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

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


async def record_failure(engine: AsyncEngine, keys: tuple[str, ...], now: dt.datetime) -> None:
    async with engine.begin() as conn:
        for key in keys:
            row = (await conn.execute(select(LoginThrottle.failures, LoginThrottle.last_at)
                                      .where(LoginThrottle.key == key))).first()
            failures = 1 if row is None or now - row.last_at > FORGET else row.failures + 1
            over = failures - _limit(key)
            until = now + min(LOCKOUT * (2 ** min(over, 16)), MAX_LOCKOUT) if over >= 0 else None
            if row is None:
                await conn.execute(insert(LoginThrottle).values(key=key, failures=failures, last_at=now,
                                                                locked_until=until))
            else:
                await conn.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                                   .values(failures=failures, last_at=now, locked_until=until))


async def clear_failures(engine: AsyncEngine, name: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(LoginThrottle).where(LoginThrottle.key == throttle_keys(name, None)[0]))
