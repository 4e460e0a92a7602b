"""Which cameras are under an exclusion now (read at the collector's start and each reload)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from inventory.models import Exclusion
from inventory.monitored import MonitoredCamera


async def exclusions_in_force(engine: AsyncEngine, cameras: list[MonitoredCamera], now: dt.datetime) -> set[int]:
    """Camera ids under an exclusion at *now* (camera scope, or any of its regions)."""
    async with engine.connect() as conn:
        rows = (await conn.execute(
            select(Exclusion.camera_id, Exclusion.region_code).where(Exclusion.start <= now, Exclusion.end > now, Exclusion.counted())
        )).all()
    cams = {cid for cid, _ in rows if cid is not None}
    regions = {rc for _, rc in rows if rc is not None}
    if regions:
        for c in cameras:
            lb = c.labels
            if lb.village in regions or lb.township in regions or lb.county in regions:
                cams.add(c.id)
    return cams
