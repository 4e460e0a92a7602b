"""The login throttle as a township office behind one NAT address lives it (collector/web/audit.py):
right logins leave no trace (a typo is forgotten an hour after it, however many right logins came
since), and once the address's lock-out ends, right logins do not lock it again; wrong ones do.
Real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select

from collector.web.audit import ADDRESS_LIMIT, attempt_failed, attempt_succeeded, reserve_attempt, throttle_keys
from inventory.db import create_engine, upgrade
from inventory.models import LoginThrottle

T0 = dt.datetime(2026, 12, 5, 8, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def test_right_logins_leave_no_trace_and_do_not_relock_the_office(db_url: str) -> None:
    upgrade(db_url)

    async def go() -> None:
        engine = create_engine(db_url)
        try:
            async def login(name: str, minutes: float, right: bool) -> bool:
                keys = throttle_keys(name, "10.1.2.3")
                if await reserve_attempt(engine, keys, at(minutes)) is not None:
                    return False  # refused: locked out
                if right:
                    await attempt_succeeded(engine, keys)
                else:
                    await attempt_failed(engine, keys, at(minutes))
                return True

            async def address() -> tuple[int, dt.datetime | None]:
                async with engine.connect() as c:
                    row = (await c.execute(select(LoginThrottle.failures, LoginThrottle.locked_until)
                                           .where(LoginThrottle.key == "addr:10.1.2.3"))).one()
                return int(row[0]), row[1]

            # one typo, then right logins every 30 minutes: the typo is forgotten an hour after it
            assert await login("zhang", 0, right=False)
            for k in range(1, 11):
                assert await login("li", 30 * k, right=True)
            assert (await address())[0] == 0  # the typo forgotten an hour after it, right logins or not
            assert await login("wang", 400, right=False)
            assert (await address())[0] == 1  # forgotten: counted from one again, not two

            # the office reaches the address limit with typos from many people: locked out
            for k in range(ADDRESS_LIMIT - 1):
                assert await login(f"user{k}", 401 + k * 0.01, right=False)
            failures, until = await address()
            assert failures == ADDRESS_LIMIT and until is not None
            assert not await login("zhao", 402, right=True)  # refused while locked
            # the lock-out over: right logins go through and do not lock it again
            later = (until - T0).total_seconds() / 60 + 0.5
            for k in range(5):
                assert await login("zhao", later + k, right=True), k
            assert (await address())[1] is None
            # a wrong one locks it again at once (the count is still at the limit)
            assert await login("qian", later + 10, right=False)
            assert not await login("zhao", later + 10.1, right=True)
        finally:
            await engine.dispose()

    asyncio.run(go())
