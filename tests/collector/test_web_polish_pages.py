"""The console's wording, rendered through the real web app: a camera page in Chinese names the
probe stages and their common details in Chinese (English with ``?lang=en``), the timeline's
tooltips say the state in words, every page says which time zone its times are in, durations
read as lasting ("已持续 5分"), breadcrumbs end without a separator, a clock offset never reads
"-0.0", and a missing picture says why when the video tier is off."""

from __future__ import annotations

import re

import aiohttp
import pytest

from tests.collector.test_api_support import DOWN, TOKEN, Live, http_fixture, live_fixture
from tests.collector.test_web_pages import page, slot, visible_text

pytestmark = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()
ADMIN = {"Authorization": f"Bearer {TOKEN}"}


def main_text(html: str) -> str:
    """The page's visible text without the header (its language switch is in the other language)."""
    return visible_text(html[html.index("<main>"):])


def crumbs(html: str) -> str:
    m = re.search(r'<nav class="sub">(.*?)</nav>', html, re.S)
    return "" if m is None else visible_text(m.group(1)).strip()


async def test_camera_page_stages_in_the_page_language(live: Live, http: aiohttp.ClientSession) -> None:
    up = slot(live, 0)
    assert up.last is not None and {r.stage.value for r in up.last.stages} >= {"reach", "rtsp"}
    zh = main_text(await page(http, live, f"/cameras/{up.cam.id}", headers=ADMIN))
    assert "连通" in zh and "取流" in zh and "端口可连接" in zh
    assert not re.search(r"\breach\b|\brtsp\b|tcp \d+ open| auth\b|clock offset|backing off", zh), zh
    assert not re.search(r"-0\.0+(?!\d)", zh), zh  # (a negative zero; a real -0.068 s clock offset is fine)
    en = main_text(await page(http, live, f"/cameras/{up.cam.id}?lang=en", headers=ADMIN))
    assert "reach" in en and "RTSP" in en and re.search(r"tcp \d+ open", en) and "连通" not in en
    down = main_text(await page(http, live, f"/cameras/{slot(live, DOWN[0]).cam.id}", headers=ADMIN))
    assert "连通" in down and "连接被拒绝" in down and "connection refused" not in down


async def test_camera_page_tooltips_durations_offset_and_picture(live: Live, http: aiohttp.ClientSession) -> None:
    s = slot(live, 0)  # offline 08:00-10:00 yesterday (the fixture's script)
    html = await page(http, live, f"/cameras/{s.cam.id}", headers=ADMIN)
    titles = re.findall(r"<title>(\d\d-\d\d \d\d:\d\d – \d\d-\d\d \d\d:\d\d [^<]*)</title>", html)
    assert titles and any(t.endswith(" 离线") for t in titles) and all(re.search(r" [\u4e00-\u9fff]+$", t) for t in titles)
    text = main_text(html)
    assert re.search(r"\(已持续 \d+[秒分]", text), text  # since ... (已持续 29秒)
    assert re.search(r"时钟偏差\s+(—|0\.0 秒|[+-]\d+\.\d 秒)", text), text
    assert "暂无画面（未启用视频检测）" in text  # the tests' app runs without the video tier
    en = main_text(await page(http, live, f"/cameras/{s.cam.id}?lang=en", headers=ADMIN))
    assert re.search(r"\(for \d+ (s|min)", en) and "video checks are off" in en
    assert re.search(r"watched for \d+ (d|h|min|s)\b.* of the 30 days", en), en  # the fixture's day and minutes


async def test_offline_table_says_how_long(live: Live, http: aiohttp.ClientSession) -> None:
    text = main_text(await page(http, live, "/", headers=ADMIN))
    assert slot(live, DOWN[0]).cam.name in text and re.search(r"已持续 \d+(秒|分)", text), text
    en = main_text(await page(http, live, "/?lang=en", headers=ADMIN))
    assert re.search(r"for \d+ (s|min)", en)


async def test_breadcrumbs_end_without_a_separator(live: Live, http: aiohttp.ClientSession) -> None:
    lb = slot(live, 0).cam.labels
    for path in (f"/regions/{lb.county}", f"/regions/{lb.township}", f"/regions/{lb.village}", f"/cameras/{slot(live, 0).cam.id}"):
        html = await page(http, live, path, headers=ADMIN)
        trail = crumbs(html)
        assert not trail.endswith("›"), (path, trail)
    assert crumbs(await page(http, live, f"/regions/{lb.county}", headers=ADMIN)) == ""  # the top: no trail
    village = crumbs(await page(http, live, f"/regions/{lb.village}", headers=ADMIN))
    assert re.fullmatch(r"\S+\s+›\s+" + re.escape(lb.township_name), village), village


async def test_every_page_says_its_time_zone(live: Live, http: aiohttp.ClientSession) -> None:
    s = slot(live, 0)
    paths = ["/", "/cameras", f"/cameras/{s.cam.id}", f"/regions/{s.cam.labels.township}", "/workorders", "/exclusions",
             "/exclusions/proposals", "/reports", "/api", "/login", "/cameras/999999"]
    for path in paths:
        zh = await page(http, live, path, status=404 if path == "/cameras/999999" else 200,
                        headers={} if path == "/login" else ADMIN)
        assert "本页时间均为 Asia/Shanghai（UTC+08:00）" in zh, path
        en = await page(http, live, path + "?lang=en", status=404 if path == "/cameras/999999" else 200,
                        headers={} if path == "/login" else ADMIN)
        assert "Times on this page: Asia/Shanghai (UTC+08:00)" in en, path
