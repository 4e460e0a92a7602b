"""Only approved (or approved, then ended) exclusions count, on real SQLite and PostgreSQL: a
contractor's proposal waiting for approval, or a rejected one, changes no rate, shows no camera
as excluded and holds back no alert; once approved it does all three."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, update

from collector.accounting import Level, Period
from collector.accounting.sql.camera_times import sql_camera_times
from collector.accounting.sql.load import load_accounting
from collector.accounting.sql.rate_tables import Method, RateQuery, load_rate_table
from collector.alerting.incident_store import list_exclusions
from collector.runtime.exclusions import exclusions_in_force
from inventory.lookup import load_monitored
from inventory.models import Exclusion, ExclusionStatus, StateInterval
from inventory.secrets import SecretBox, generate_key
from tests.collector.test_accounting_sql import T0, inventory_db

DAY = dt.timedelta(days=1)
PERIOD = Period(T0, T0 + 2 * DAY)
NOW = T0 + 2 * DAY


@pytest.mark.parametrize("status, counts", [
    (ExclusionStatus.PROPOSED, False), (ExclusionStatus.REJECTED, False),
    (ExclusionStatus.APPROVED, True), (ExclusionStatus.ENDED, True)])
async def test_only_approved_exclusions_count(db_url: str, status: ExclusionStatus, counts: bool) -> None:
    async with inventory_db(db_url) as (engine, cams):
        cid, village = cams[0].camera_id, cams[0].village
        async with engine.begin() as conn:  # every camera online for two days, the first one offline the first day
            await conn.execute(insert(StateInterval), [
                {"camera_id": c.camera_id, "state": "online", "cause": None, "start": T0, "end": NOW} for c in cams
                if c.camera_id != cid] + [
                {"camera_id": cid, "state": "offline", "cause": "refused", "start": T0, "end": T0 + DAY},
                {"camera_id": cid, "state": "online", "cause": None, "start": T0 + DAY, "end": NOW}])
            await conn.execute(insert(Exclusion).values(  # the camera's offline day, and its village now
                camera_id=cid, start=T0, end=T0 + DAY, reason="停电", approver="", status=status.value,
                proposer="运维甲"))
            await conn.execute(insert(Exclusion).values(
                region_code=village, start=NOW - dt.timedelta(hours=1), end=NOW + DAY, reason="线路改造", approver="",
                status=status.value, proposer="运维甲"))

        data = await load_accounting(engine, PERIOD)
        assert len(data.exclusions) == (2 if counts else 0)
        t = (await sql_camera_times(engine, PERIOD, NOW, exclusions=data.exclusions))[cid]
        assert t.without_exclusions.offline_s == 86_400
        assert t.with_exclusions.offline_s == (0 if counts else 86_400)
        q = RateQuery(Level.CAMERA, Method.TIME, PERIOD, NOW, "Asia/Shanghai", ())
        row = next(r for r in (await load_rate_table(engine, q, default_target=0.95))["rows"] if r["key"] == cid)
        assert row["ratio_without_exclusions"] == 0.5 and row["ratio"] == (1.0 if counts else 0.5)
        town = RateQuery(Level.TOWNSHIP, Method.TIME, PERIOD, NOW, "Asia/Shanghai", ())
        raw = {r["key"]: (r["ratio"], r["ratio_without_exclusions"]) for r in
               (await load_rate_table(engine, town, default_target=0.95))["rows"]}
        assert (raw[cams[0].township][0] > raw[cams[0].township][1]) is counts

        monitored, _ = await load_monitored(engine, SecretBox(generate_key()))
        in_village = {c.id for c in monitored if c.labels.village == village}
        if status is not ExclusionStatus.ENDED:  # an ended one is over by definition; here it is "now"
            assert (await exclusions_in_force(engine, monitored, NOW)) == (in_village if counts else set())
            assert len(await list_exclusions(engine, NOW)) == (1 if counts else 0)

        if not counts:  # approving it makes it count
            async with engine.begin() as conn:
                await conn.execute(update(Exclusion).values(status=ExclusionStatus.APPROVED.value))
            assert len((await load_accounting(engine, PERIOD)).exclusions) == 2
            assert (await exclusions_in_force(engine, monitored, NOW)) == in_village
