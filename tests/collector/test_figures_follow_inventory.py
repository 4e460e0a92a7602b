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
