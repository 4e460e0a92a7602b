"""/api/v1/workorders and /api/v1/silences over HTTP against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiohttp.test_utils import TestClient, TestServer

from collector.runtime.app import App
from collector.settings import load_settings
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.models import WorkOrder
from inventory.secrets import SecretBox
from tests.collector.test_integration import SAMPLE
from tests.inventory.helpers import KEY, do_import, migrated

TOKEN = "t0ken-for-tests"


def test_work_orders_and_silences(db_url: str) -> None:
    migrated(db_url)
    assert do_import(db_url, SAMPLE).written
    s = load_settings(db_url=db_url, environ={"CAMWATCH_HTTP__API_TOKEN": TOKEN, "CAMWATCH_COLLECTOR__VIDEO": "false"})

    async def go() -> None:
        engine = create_engine(db_url)
        now = dt.datetime.now(dt.UTC)
        async with engine.begin() as c:
            from sqlalchemy import insert

            await c.execute(insert(WorkOrder).values(
                incident_key="inc-1", camera_id=1, cause="refused", severity="normal", status="open",
                opened_at=now - dt.timedelta(hours=30), deadline=now - dt.timedelta(hours=6), title="东关村 村口 离线", cameras=1))
            await c.execute(insert(WorkOrder).values(
                incident_key="inc-2", camera_id=2, cause="refused", severity="normal", status="open",
                opened_at=now - dt.timedelta(hours=1), deadline=now + dt.timedelta(hours=23), title="x", cameras=1))
        app = App(s, engine, SecretBox(KEY), http=build_application)
        client = TestClient(TestServer(build_application(app)))
        await client.start_server()
        auth = {"Authorization": f"Bearer {TOKEN}"}
        try:
            r = await client.get("/api/v1/workorders")
            body = await r.json()
            assert r.status == 200 and body["total"] == 2
            assert {i["incident"]: i["color"] for i in body["items"]} == {"inc-1": "red", "inc-2": "yellow"}
            r = await client.get("/api/v1/workorders", params={"color": "red"})
            assert [i["incident"] for i in (await r.json())["items"]] == ["inc-1"]
            assert (await client.get("/api/v1/workorders", params={"color": "blue"})).status == 400
            oid = next(i["id"] for i in body["items"] if i["incident"] == "inc-2")
            assert (await client.post(f"/api/v1/workorders/{oid}/ack")).status in (401, 403)
            r = await client.post(f"/api/v1/workorders/{oid}/ack", headers=auth)
            assert r.status == 200 and (await r.json())["status"] == "acknowledged"
            r = await client.post(f"/api/v1/workorders/{oid}/close", headers=auth, json={})
            assert r.status == 400 and "note" in (await r.json())["error"]["message"]
            r = await client.post(f"/api/v1/workorders/{oid}/close", headers=auth, json={"note": "换了电源适配器"})
            closed = await r.json()
            assert r.status == 200 and closed["status"] == "resolved" and closed["color"] == "green" and closed["note"] == "换了电源适配器"
            assert (await client.post("/api/v1/workorders/99999/ack", headers=auth)).status == 404
            # silences
            until = (now + dt.timedelta(hours=2)).isoformat()
            r = await client.post("/api/v1/silences", headers=auth, json={"region_code": "130123101201", "until": until, "reason": "停电"})
            assert r.status == 201
            sid = (await r.json())["id"]
            r = await client.get("/api/v1/silences")
            assert [x["id"] for x in (await r.json())["items"]] == [sid]
            r = await client.post("/api/v1/silences", headers=auth, json={"region_code": "nope", "until": until})
            assert r.status == 400
            assert (await client.delete(f"/api/v1/silences/{sid}", headers=auth)).status == 204
            assert (await (await client.get("/api/v1/silences")).json())["items"] == []
        finally:
            await client.close()
            await engine.dispose()

    asyncio.run(go())
