"""The audit log's writer: one row per write (web page, API, ``camwatch users``). Login
throttling and the request key the console's write handlers use are in :mod:`collector.web.audit`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from inventory.models import AuditEntry


async def audit(engine: AsyncEngine, *, actor: str, action: str, obj: str | None = None, detail: str | None = None,
                address: str | None = None, now: dt.datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(AuditEntry).values(
            at=now, actor=actor[:64], action=action[:64], object=None if obj is None else obj[:255],
            detail=None if detail is None else detail[:4000], address=None if address is None else address[:64]))


__all__ = ["audit"]
