"""The region figures follow an inventory change at the reload that picks it up (a reviewer saw a
new village's planned points, imported with no camera yet, reach /metrics' coverage only on the next
``figures_interval_s`` run, 5 minutes later, while the CLI and API had it at once). A real App on
SQLite probing the simulated fleet; the change is written to the database as an import writes it."""

from __future__ import annotations

import aiohttp
import pytest
from sqlalchemy import delete

from inventory.models import Point, Region
from inventory.models.fleet import RegionLevel
from tests.collector.test_api_support import Live, http_fixture, live_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()

NEW_VILLAGE = "999999999999"


def _coverage(text: str, code: str) -> float | None:
    for line in text.splitlines():
        if line.startswith("camwatch_region_coverage_ratio{") and f'region="{code}"' in line:
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_a_new_village_with_planned_points_counts_at_the_next_reload(live: Live, http: aiohttp.ClientSession) -> None:
    app = live.app
    await app.refresh_figures()  # as the figures loop did at the start
    township = next(code for (level, code), v in app.figures.coverage.items() if level == "township" and v > 0)
    assert ("village", NEW_VILLAGE) not in app.figures.coverage
    before = app.figures.coverage[("township", township)]
    async with app.engine.begin() as c:
        await c.execute(Region.__table__.insert().values(code=NEW_VILLAGE, name="北下村2", level=RegionLevel.VILLAGE,
                                                         parent_code=township))
        await c.execute(Point.__table__.insert().values(village_code=NEW_VILLAGE, name="北下村2村口", planned=True))
    try:
        await app.reload()  # what the reload loop does every collector.reload_interval_s
        assert app.figures.coverage.get(("village", NEW_VILLAGE)) == 0.0  # planned, nothing built: 0, not absent
        assert app.figures.coverage[("township", township)] < before  # one more village not fully covered
        async with http.get(live.u("/metrics")) as r:
            text = await r.text()
        assert _coverage(text, NEW_VILLAGE) == 0.0
    finally:
        async with app.engine.begin() as c:
            await c.execute(delete(Point).where(Point.village_code == NEW_VILLAGE))
            await c.execute(delete(Region).where(Region.code == NEW_VILLAGE))
        await app.reload()
    assert ("village", NEW_VILLAGE) not in app.figures.coverage  # gone with the region


async def test_a_failure_after_the_inventory_was_read_leaves_the_change_to_the_next_reload(
        live: Live, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reviewer's case: the revision was taken before the alerting had the new cameras, so a
    failure in between (the database away) left the alerting on the old inventory until another
    edit. Now it is taken last; a failed figures refresh after it is only logged. (The failures are
    raised by stand-ins for a database that went away at that moment.)"""
    from inventory.lookup import inventory_revision  # lazy: this test's only use

    app = live.app
    assert app.alerting is not None
    township = next(iter(app.scheduler.slots.values())).cam.labels.township
    async with app.engine.begin() as c:
        await c.execute(Region.__table__.insert().values(code=NEW_VILLAGE, name="北下村2", level=RegionLevel.VILLAGE,
                                                         parent_code=township))
    try:
        moved = await inventory_revision(app.engine)
        seen: list[bool] = []

        async def alerting_away(*, inventory: bool) -> None:
            seen.append(inventory)
            raise OSError("database is away")

        with monkeypatch.context() as m:
            m.setattr(app.alerting, "refresh", alerting_away)
            with pytest.raises(OSError):
                await app.reload()
        assert seen == [True] and app._revision != moved  # not taken: the next reload brings it again
        told: list[bool] = []
        real = app.alerting.refresh

        async def alerting_back(*, inventory: bool) -> None:
            told.append(inventory)
            await real(inventory=inventory)

        async def figures_away() -> None:
            raise OSError("database is away")

        with monkeypatch.context() as m:
            m.setattr(app.alerting, "refresh", alerting_back)
            m.setattr(app, "refresh_figures", figures_away)
            await app.reload()  # the figures' failure is logged, not raised
        assert told == [True] and app._revision == moved
    finally:
        async with app.engine.begin() as c:
            await c.execute(delete(Region).where(Region.code == NEW_VILLAGE))
        await app.reload()
