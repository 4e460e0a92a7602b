"""The inventory revision (migration 0013): every write to cameras, points, regions or devices
moves it, whoever writes (an import, plain SQL); reads and writes elsewhere do not. A collector
skips rebuilding its inventory while it stays (collector.runtime.app.App.reload)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import delete, select, text, update

from inventory.db import create_engine
from inventory.lookup import inventory_revision
from inventory.models import Camera, Device, Point, Region, StateInterval
from probes.sim.loopback import LoopbackRange
from tests.inventory.helpers import do_import, migrated
from tests.net import sample_inventory_at


def test_every_inventory_write_moves_the_revision(db_url: str, tmp_path: Path, loopback: LoopbackRange) -> None:
    url = migrated(db_url)

    async def revision() -> int:
        engine = create_engine(url)
        try:
            return await inventory_revision(engine)
        finally:
            await engine.dispose()

    async def write(*statements: object) -> None:
        engine = create_engine(url)
        try:
            async with engine.begin() as c:
                for st in statements:
                    await c.execute(st)  # type: ignore[call-overload]
        finally:
            await engine.dispose()

    async def one(column: object) -> object:
        engine = create_engine(url)
        try:
            async with engine.connect() as c:
                return (await c.execute(select(column).limit(1))).scalar_one()  # type: ignore[call-overload]
        finally:
            await engine.dispose()

    assert asyncio.run(revision()) == 0
    assert do_import(url, sample_inventory_at(tmp_path / "sample.csv", loopback)).written
    seen = [asyncio.run(revision())]
    assert seen[0] > 0, "an import moves it"
    do_import(url, sample_inventory_at(tmp_path / "sample.csv", loopback))  # the same file: nothing written
    cam, point, region = asyncio.run(one(Camera.id)), asyncio.run(one(Point.id)), asyncio.run(one(Region.code))
    steps: list[tuple[str, list[object], bool | None]] = [
        ("nothing written", [], False),
        ("a write elsewhere", [text("INSERT INTO collector_heartbeats (collector_id, started_at, at)"
                                    " VALUES ('x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")], False),
        ("a camera renamed", [update(Camera).where(Camera.id == cam).values(name="改名")], True),
        ("a point renamed", [update(Point).where(Point.id == point).values(name="改名点位")], True),
        ("a region renamed", [update(Region).where(Region.code == region).values(name="改名村")], True),
        ("a device added", [text("INSERT INTO devices (name, host, created_at) VALUES ('交换机', '127.9.9.9', CURRENT_TIMESTAMP)")], True),
        ("a device removed", [delete(Device).where(Device.host == "127.9.9.9")], True),
        ("a camera removed", [delete(StateInterval).where(StateInterval.camera_id == cam),
                              delete(Camera).where(Camera.id == cam)], True),
        ("an update of no row", [update(Camera).where(Camera.id == -1).values(name="无")], None),
    ]
    for what, statements, moves in steps:
        asyncio.run(write(*statements))
        now = asyncio.run(revision())
        if moves is not None:  # (no row updated: PostgreSQL's statement trigger still fires; SQLite's row one not)
            assert (now > seen[-1]) is moves, what
        seen.append(now)
    assert seen == sorted(seen)
