"""A work order's title tells the outage at its largest: every camera its incident counted (its
members, those back too), never only those still down.

The case a reviewer saw on the demo: order 7 read "【一般】红旗镇李黄桥5 2/5 台摄像机离线"; one camera
came back, the other's cause changed, the order was re-titled "1/5 台摄像机离线" while its incident
page still said 2 cameras. A recovering camera no longer lowers the title; a growing outage still
raises it; the alert messages themselves keep saying how many are down at the time.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from collector.alerting import incident_store as store
from collector.alerting.engine import AlertEngine
from collector.alerting.model import NotifyKind, OpenWorkOrder, Outage, Recovery, UpdateWorkOrder
from collector.alerting.policy import AlertPolicy
from inventory.db import create_engine
from probes.causes import Cause
from tests.collector.alerts_fixtures import EAST, INV, POLICY, at, notes, outage, recovery, sample_db

EAST_TITLE = "【一般】城关镇东关村 {n}/8 台摄像机离线"


def test_a_member_back_keeps_the_count_and_growth_raises_it() -> None:
    e = AlertEngine(POLICY, INV)
    e.feed(outage(EAST[0], 0, Cause.REFUSED))
    e.feed(outage(EAST[1], 0, Cause.REFUSED))
    acts = e.tick(at(60))
    [wo] = [a for a in acts if isinstance(a, OpenWorkOrder)]
    [opened] = notes(acts, NotifyKind.OPEN)
    assert wo.title == opened.message.title_zh == EAST_TITLE.format(n=2) and wo.cameras == 2

    assert notes(e.feed(recovery(EAST[0], 100))) == []  # one is back: nothing said, the order as it was
    # the other's cause changes while it is still down: its order is brought up to date (deadline,
    # severity) one grouping window later, and its title still counts the camera that is back
    e.feed(Outage(EAST[1], Cause.AUTH_FAILED, at(105), at(120)))
    acts = e.tick(at(150))
    [upd] = [a for a in acts if isinstance(a, UpdateWorkOrder)]
    assert (upd.title, upd.cameras) == (EAST_TITLE.format(n=2), 2)  # was "1/8": lowered by the recovery
    assert notes(acts) == []  # no growth past what was told: no message

    # two more cameras fail: the order grows to the four cameras counted; the update message says
    # how many are down now (three), as it did before
    e.feed(outage(EAST[2], 200, Cause.REFUSED))
    e.feed(outage(EAST[3], 200, Cause.REFUSED))
    acts = e.tick(at(230))
    [upd] = [a for a in acts if isinstance(a, UpdateWorkOrder)]
    assert (upd.title, upd.cameras) == (EAST_TITLE.format(n=4), 4)
    [told] = notes(acts, NotifyKind.UPDATE)
    assert told.message.title_zh == "【更新·一般】城关镇东关村 3/8 台摄像机离线"


def test_a_camera_back_before_the_open_message_is_in_its_order_title_not_in_the_message() -> None:
    e = AlertEngine(POLICY, INV)
    e.feed(outage(EAST[0], 0, Cause.REFUSED))
    e.feed(outage(EAST[1], 5, Cause.REFUSED))
    e.feed(outage(EAST[2], 10, Cause.REFUSED))
    e.feed(recovery(EAST[2], 20))  # back within the window: the message does not count it
    acts = e.tick(at(60))
    [wo] = [a for a in acts if isinstance(a, OpenWorkOrder)]
    [opened] = notes(acts, NotifyKind.OPEN)
    assert opened.message.title_zh == EAST_TITLE.format(n=2)
    assert (wo.title, wo.cameras) == (EAST_TITLE.format(n=3), 3)  # the order: every camera its incident counted


COUNT = re.compile(r" (\d+)/(\d+) 台摄像机离线")


@pytest.fixture
def url(db_url: str) -> str:
    return sample_db(db_url)


def test_the_stored_title_keeps_the_peak_after_a_recovery(url: str) -> None:
    """The same, through the store (SQLite and PostgreSQL): the stored order's title and count."""
    async def go() -> None:
        eng = create_engine(url)
        try:
            inv = await store.load_inventory(eng)
            village = max(inv.village_counts, key=lambda v: inv.village_counts[v])
            cams = sorted(c.id for c in inv.cameras.values() if c.village == village)
            assert len(cams) >= 4
            e = AlertEngine(AlertPolicy(), inv)

            async def step(t: float, *inputs: Outage | Recovery) -> tuple[int, int]:
                acts = [a for i in inputs for a in e.feed(i)] + list(e.tick(at(t)))
                await store.apply_actions(eng, acts, at(t))
                [o] = await store.list_work_orders(eng)
                found = COUNT.search(o.title or "")
                assert found is not None, o.title
                assert int(found[2]) == len(cams)
                return int(found[1]), o.cameras

            refused = [Outage(c, Cause.REFUSED, at(-15), at(0)) for c in cams[:2]]
            assert await step(60, *refused) == (2, 2)
            assert await step(100, Recovery(cams[0], at(100))) == (2, 2)
            assert await step(150, Outage(cams[1], Cause.AUTH_FAILED, at(105), at(120))) == (2, 2)
            assert await step(200, Outage(cams[2], Cause.REFUSED, at(185), at(200))) == (2, 2)  # joined: its order follows later
            assert await step(240) == (3, 3)  # a grouping window after the growth: raised
        finally:
            await eng.dispose()

    asyncio.run(go())
