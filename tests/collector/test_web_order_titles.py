"""Work-order titles are stored in Chinese (what the alert said; exports and the API keep them as
stored) and were shown as stored on the English pages too. An English page now says the title
in English, built from the order's fields: the list, the camera page, the incident page; the
Chinese pages are as they were."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import aiohttp
import click
import pytest
from click.testing import CliRunner
from sqlalchemy import insert

from collector.cli import alerts_cmds, cli
from inventory.models import Incident, WorkOrder
from tests.collector.test_api_support import Live, http_fixture, live_fixture
from tests.collector.test_web_pages import page, slot, visible_text

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()

HAN = re.compile(r"[\u3400-\u9fff\u3010\u3011\uff1a\uff0c]")  # Chinese characters, 【】, full-width ：，


async def test_english_order_pages_show_english_titles(live: Live, http: aiohttp.ClientSession) -> None:
    cam = slot(live, 0).cam
    lb = cam.labels
    assert cam.name.startswith(lb.village_name)  # the synthetic county's cameras are named after their village
    now = dt.datetime.now(dt.UTC)
    stored = {  # key: (camera, cause, severity, cameras, the Chinese title as the engine stores it)
        "o-title-cam": (cam.id, "refused", "normal", 1, f"【一般】摄像机离线：{lb.township_name}{cam.name}"),
        "o-title-uplink": (None, "timeout", "critical", 4,
                           f"【严重】{lb.township_name}{lb.village_name} 4/4 台摄像机离线，疑似上联中断"),
        "p-title-pic": (None, None, "low", 2, f"【提示】{lb.township_name}{lb.village_name} 2/4 台摄像机画面异常：黑屏"),
    }
    async with live.app.engine.begin() as c:
        # the picture incident's failed checks: the English title names them (the Chinese one stored them)
        members = [{"camera": live.cams[i], "cause": None, "start": now.isoformat(), "up_at": None, "checks": ["black"]}
                   for i in (0, 1)]
        await c.execute(insert(Incident).values(
            id="p-title-pic", kind="picture", severity="low", village_code=lb.village, device_id=None, cause=None,
            start=now - dt.timedelta(hours=1), opened_at=now - dt.timedelta(hours=1), resolved_at=None, members=members,
            down=2, total=4, silenced=False, escalation=0, updated_at=now))
        for key, (cid, cause, severity, n, title) in stored.items():
            await c.execute(insert(WorkOrder).values(
                incident_key=key, camera_id=cid, region_code=lb.village, cause=cause, severity=severity, status="open",
                opened_at=now - dt.timedelta(hours=1), deadline=now + dt.timedelta(hours=20), title=title, cameras=n))
    english = [f"[WARNING] camera offline: {cam.name} ({lb.township_name})",
               f"[CRITICAL] {lb.village_name}, {lb.township_name}: 4 cameras offline, suspected uplink failure",
               f"[INFO] {lb.village_name}, {lb.township_name}: 2 cameras with picture problem (black)"]

    for path in ("/workorders", f"/cameras/{cam.id}", "/incidents/p-title-pic"):
        en = await page(http, live, path + "?lang=en")
        for title in english if not path.startswith("/incidents/") else english[2:]:
            assert title in en, (path, title)
        for title in (t for *_, t in stored.values()):
            assert title not in en, (path, title)
        # no Chinese in the orders' title cells but the names of places and cameras
        cells = [cell for key, cell in re.findall(r'<a href="/incidents/([^"]+)">\d+</a></td>\s*<td>([^<]*)', en)
                 if key in stored]
        assert len(cells) == (1 if path.startswith("/incidents/") else 3), path
        names = (cam.name, lb.village_name, lb.township_name)
        for cell in cells:
            for name in names:
                cell = cell.replace(name, "")
            assert not HAN.search(cell), (path, cell)
        assert "摄像机离线" not in visible_text(en) and "台摄像机" not in visible_text(en)

        zh = await page(http, live, path + "?lang=zh")
        for key, (*_, title) in stored.items():
            if not path.startswith("/incidents/") or key == "p-title-pic":
                assert title in zh, (path, title)  # the Chinese page: the stored title, as the alert said it
        assert not any(title in zh for title in english)

    # `camwatch --lang en workorders list` says the same English titles (it printed the stored Chinese)
    cli_en = await asyncio.to_thread(_cli, live.db_url, "--lang", "en", "workorders", "list")
    for title in english:
        assert title in cli_en, (title, cli_en)
    for line in cli_en.splitlines():
        if any(t in line for t in english):
            assert not HAN.search(line.replace(cam.name, "").replace(lb.village_name, "").replace(lb.township_name, "")), line
    cli_zh = await asyncio.to_thread(_cli, live.db_url, "workorders", "list")
    assert all(title in cli_zh for *_, title in stored.values()) and not any(t in cli_zh for t in english)


def _cli(url: str, *args: str) -> str:
    group = click.Group("camwatch", params=cli.params, callback=cli.callback)
    alerts_cmds.register(group)
    r = CliRunner().invoke(group, ["--db", url, *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output
