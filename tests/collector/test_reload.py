"""Inventory changes are picked up by a running collector without a restart."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

from collector.runtime.app import App
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.secrets import SecretBox
from probes.sim import Fleet
from probes.sim.loopback import LoopbackRange
from tests.collector.test_integration import settings
from tests.inventory.helpers import KEY, do_import, migrated
from tests.net import sample_inventory_at


def test_new_and_retired_cameras_are_picked_up(tmp_path: Path, loopback: LoopbackRange) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'r.db'}")
    sample = sample_inventory_at(tmp_path / "sample.csv", loopback)
    rows = list(csv.reader(sample.open(encoding="utf-8-sig")))
    head, body = rows[0], rows[1:]
    cams = [r for r in body if r[13]]
    first = tmp_path / "first.csv"
    with first.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows([head] + [r for r in body if r is not cams[-1]])
    assert do_import(url, first).written

    async def go() -> None:
        engine = create_engine(url)
        app = App(settings(url), engine, SecretBox(KEY), http=build_application)
        with Fleet(48, base_address=loopback.base_address, password="admin123"):
            await app.start()
            try:
                hosts = {s.cam.target.host for s in app.scheduler.slots.values()}
                assert cams[-1][13] not in hosts and cams[0][13] in hosts
                # add the last camera and drop the first one, as an edited spreadsheet would
                second = tmp_path / "second.csv"
                with second.open("w", encoding="utf-8-sig", newline="") as fh:
                    csv.writer(fh).writerows([head] + [r for r in body if r is not cams[0]])
                out = await asyncio.to_thread(do_import, url, second)
                assert len(out.plan.camera_new) == 1 and len(out.plan.camera_retired) == 1
                loop = asyncio.get_running_loop()
                end = loop.time() + 10
                while loop.time() < end:
                    hosts = {s.cam.target.host for s in app.scheduler.slots.values()}
                    if cams[-1][13] in hosts and cams[0][13] not in hosts:
                        break
                    await asyncio.sleep(0.2)
                assert cams[-1][13] in hosts and cams[0][13] not in hosts
                new = next(s for s in app.scheduler.slots.values() if s.cam.target.host == cams[-1][13])
                while loop.time() < end and new.last is None:
                    await asyncio.sleep(0.2)
                assert new.last is not None and new.last.state == "online"
            finally:
                await app.stop()
                await engine.dispose()

    asyncio.run(go())
