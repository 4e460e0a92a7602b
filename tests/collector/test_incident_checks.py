"""The failed checks of a picture incident, read from its row's stored members (JSON) by
:mod:`collector.alerting.incident_store`: the one reader of the console's order titles and incident
page and of the reports' work-order sheet. On real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import insert

from collector.alerting.incident_store import incident_checks, member_checks, picture_checks
from inventory.db import create_engine
from inventory.models import Incident
from tests.inventory.helpers import migrated

T = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_checks_of_stored_members() -> None:
    members: list[Any] = [
        {"camera": 1, "checks": ["black", "frozen"]}, {"camera": 2, "checks": ["frozen", "clock"]},
        {"camera": 3}, {"camera": 4, "checks": None}, {"camera": 5, "checks": "black"}, "not a member", None]
    assert incident_checks(members) == ("black", "frozen", "clock")  # each once, in the order met
    assert [member_checks(m) for m in members] == [("black", "frozen"), ("frozen", "clock"), (), (), (), (), ()]
    assert member_checks({"checks": [1, "x"]}) == ("1", "x")
    assert incident_checks(None) == incident_checks({"checks": ["black"]}) == ()


def _incident(key: str, members: list[Any]) -> dict[str, Any]:
    return {"id": key, "kind": "picture", "severity": "warning", "village_code": None, "device_id": None, "cause": None,
            "start": T, "opened_at": T, "resolved_at": None, "members": members, "down": 1, "total": 1}


def test_picture_checks_read_from_the_database(db_url: str) -> None:
    migrated(db_url)

    async def go() -> None:
        engine = create_engine(db_url)
        try:
            rows = [_incident(f"p-{i}", [{"camera": i, "checks": ["black", f"c{i % 3}"]}]) for i in range(620)]
            async with engine.begin() as conn:
                await conn.execute(insert(Incident), [*rows, _incident("p-none", [{"camera": 1}])])
            keys = [f"p-{i}" for i in range(620)] + ["p-none", "p-missing"]
            async with engine.connect() as conn:
                got = await picture_checks(conn, keys)  # (over 500: read in parts)
            assert got == {**{f"p-{i}": ("black", f"c{i % 3}") for i in range(620)}, "p-none": ()}
        finally:
            await engine.dispose()

    asyncio.run(go())
