"""An open work order of several cameras down for different reasons says each reason with its count
(as its alert did), on the orders list and on each camera's page: not one cause for all (a contractor
sent to a port-closed camera to look for a missing picture). Served by a real App probing the
simulated fleet on loopback: two cameras powered down (port closed), one whose stream is gone (404)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.runtime.camera_state import State
from inventory.models import Incident, WorkOrder
from probes.causes import Cause, cause_words
from probes.sim import Behaviour, Fleet
from tests.collector.test_api_support import DOWN, Live, http_fixture, running
from tests.collector.test_web_pages import page
from tests.net import loopback_range

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
GONE = 7  # fleet index: its stream answers 404


async def _stream_gone(engine: AsyncEngine, cams: dict[int, int], fleet: Fleet) -> dt.date:
    await fleet.aset_behaviour([GONE], Behaviour(describe_status=404))
    return dt.date.today()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    with loopback_range(2) as rng:
        async with running((127, rng.first_block, 0, 1), tmp_path_factory.mktemp("causes"), _stream_gone) as value:
            yield value


async def _cause(live: Live, cid: int, timeout: float = 30.0) -> Cause:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        st = live.app.scheduler.slots[cid].status
        if st.state is State.OFFLINE and st.cause is not None:
            return st.cause
        await asyncio.sleep(0.2)
    raise AssertionError(f"camera {cid} not offline: {live.app.scheduler.slots[cid].status}")


async def test_an_open_order_of_mixed_causes_names_each(live: Live, http: aiohttp.ClientSession) -> None:
    ids = [live.cams[i] for i in (*DOWN, GONE)]
    causes = [await _cause(live, cid) for cid in ids]
    assert causes[0] is causes[1] and causes[2] is not causes[0], causes  # two alike, one other
    now = dt.datetime.now(dt.UTC)
    village = live.app.scheduler.slots[ids[0]].cam.labels.village  # (the order's place: the camera page lists its village's)
    async with live.app.engine.begin() as c:
        for key, status in (("o-mixed", "open"), ("o-done", "resolved")):
            await c.execute(insert(Incident).values(
                id=key, kind="outage", severity="major", village_code=village, device_id=None, cause=causes[0].value,
                start=now - dt.timedelta(hours=1), opened_at=now - dt.timedelta(hours=1),
                resolved_at=None if status == "open" else now,
                members=[{"camera": cid, "cause": cause.value, "start": (now - dt.timedelta(hours=1)).isoformat(),
                          "up_at": None, "checks": []} for cid, cause in zip(ids, causes, strict=True)],
                down=3, total=3, silenced=False, escalation=0, updated_at=now))
            await c.execute(insert(WorkOrder).values(
                incident_key=key, camera_id=None, region_code=village, cause=causes[0].value, severity="major",
                status=status, opened_at=now - dt.timedelta(hours=1), deadline=now + dt.timedelta(hours=20),
                resolved_at=None if status == "open" else now, title=f"{key} 3 台离线", cameras=3))
    zh = f"{cause_words(causes[0], 'zh')} 2 台；{cause_words(causes[2], 'zh')} 1 台"
    en = f"{cause_words(causes[0], 'en')}: 2 cameras; {cause_words(causes[2], 'en')}: 1 camera"
    listing = await page(http, live, "/workorders?lang=zh")
    assert zh in listing
    assert en in await page(http, live, "/workorders?lang=en")
    # each camera's page: the order of its village says the same, the port-closed camera's too
    assert zh in await page(http, live, f"/cameras/{ids[0]}?lang=zh")
    # a resolved order keeps its stored cause (the cameras' causes now say nothing of it)
    assert listing.count(zh) == 1
