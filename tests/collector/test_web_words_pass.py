"""The console's words after a browser pass: a camera degraded by its clock alone reads 时钟偏差 /
"clock offset" (its state, its incident's heading), not 画面异常 (the API keeps ``degraded``);
severities use the alert titles' tags; durations say 分钟; the report's hours read to 0.01 as the
workbook's; the account page names its role and places; form labels are capitalised; and an
"online now" ratio says which cameras it leaves out."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any, cast
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.alerting import incident_store as store
from collector.alerting.messages import SEVERITY_TAG
from collector.alerting.model import Incident as AlertIncident
from collector.alerting.model import IncidentChanged, IncidentKind, Member, Severity
from collector.runtime.camera_state import State
from collector.web.pages.i18n import WORDS
from collector.web.pages.orders import incident_heading
from collector.web.pages.overview import now_counts
from collector.web.pages.render import View, duration_words
from collector.web.pages.report_words import hours
from inventory.models import Exclusion
from probes.sim import Behaviour, Fleet
from tests.collector.test_api_support import TOKEN, Live, http_fixture, running
from tests.collector.test_web_pages import page, slot, token_for, visible_text
from tests.net import loopback_range

ON_LOOP = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
TZ = ZoneInfo("Asia/Shanghai")
ADMIN = {"Authorization": f"Bearer {TOKEN}"}
SKEWED, EXCLUDED = 2, 6  # fleet indices: a camera whose clock is ten minutes ahead; one under an exclusion


def a_view(lang: str) -> View:
    return View(cast(Any, None), lang, TZ, None, dt.datetime(2026, 12, 5, 1, 0, tzinfo=dt.UTC), False)


def test_a_clock_only_camera_reads_clock_offset_and_a_picture_one_bad_picture() -> None:
    zh, en = a_view("zh"), a_view("en")
    for checks in (("clock",), ("clock:+600",), ["clock:-75"]):
        assert zh.state("degraded", checks) == "时钟偏差" and en.state("degraded", checks) == "clock offset"
    for checks in ((), ("black",), ("black", "clock:+600")):  # a picture problem (or none known) stays one
        assert zh.state("degraded", checks) == "画面异常" and en.state("degraded", checks) == "degraded"
    assert zh.state("online", ("clock",)) == "在线" and zh.state("excluded") == "报备中"
    assert zh.state_any("degraded") == "画面或时钟异常" and en.state_any("degraded") == "degraded"  # filters, legends
    assert zh.state_any("offline") == "离线"


def test_a_clock_only_incident_is_headed_clock_offset() -> None:
    start = dt.datetime(2026, 12, 5, 6, 34, tzinfo=dt.UTC)

    def row(*checks: str) -> Any:
        return SimpleNamespace(kind="picture", start=start, down=1,
                               members=[{"camera": 7, "cause": None, "checks": list(checks)}])

    names = {7: "新新屯3池塘"}
    zh, en = a_view("zh"), a_view("en")
    assert incident_heading(zh, row("clock:+600"), "新新屯3", names) == "新新屯3 · 新新屯3池塘 时钟偏差 · 12-05 14:34"
    assert incident_heading(en, row("clock"), "新新屯3", names) == "新新屯3 · 新新屯3池塘: clock offset · 12-05 14:34"
    assert incident_heading(zh, row("black", "clock:+600"), "", names) == "新新屯3池塘 画面异常 · 12-05 14:34"
    assert incident_heading(en, row("black"), "", names) == "新新屯3池塘: bad picture · 12-05 14:34"


def test_severities_are_the_alert_tags_words() -> None:
    zh, en = a_view("zh"), a_view("en")
    for sev, (tag_zh, tag_en) in SEVERITY_TAG.items():
        assert zh.severity(sev.value) == tag_zh and en.severity(sev.value) == tag_en.lower()
    assert [en.severity(s) for s in ("critical", "normal", "low")] == ["critical", "warning", "info"]
    assert [zh.severity(s) for s in ("critical", "normal", "low")] == ["严重", "一般", "提示"]


def test_durations_say_minutes_in_full() -> None:
    cases = {45: ("45秒", "45 s"), 180: ("3分钟", "3 min"), 3 * 3600 + 5 * 60: ("3小时5分钟", "3 h 5 min"),
             2 * 3600: ("2小时", "2 h"), 86400 + 2 * 3600 + 7 * 60: ("1天2小时", "1 d 2 h"), 3 * 86400: ("3天", "3 d")}
    for seconds, (zh, en) in cases.items():
        assert (duration_words(seconds, "zh"), duration_words(seconds, "en")) == (zh, en)
    assert a_view("zh").t("lasting", d=duration_words(180, "zh")) == "已持续 3分钟"


def test_report_hours_read_to_a_hundredth_as_the_workbook() -> None:
    assert (hours(120, "zh"), hours(120, "en")) == ("0.03 小时", "0.03 h")  # a two-minute fix: not 0.0
    assert (hours(9 * 3600, "zh"), hours(5400, "en")) == ("9.00 小时", "1.50 h")
    assert (hours(10, "zh"), hours(10, "en")) == ("<0.01 小时", "<0.01 h")  # some time, not none
    assert hours(0, "zh") == "0.00 小时" and hours(None, "en") == "—"


def test_form_labels_are_capitalised_in_english() -> None:
    for key in ("camera_id", "region_code", "start", "end", "reason", "approver", "scope_hint"):
        assert WORDS[key][1][0].isupper(), (key, WORDS[key][1])
    assert WORDS["camera_id"] == ("摄像机编号", "Camera ID") and WORDS["region_code"] == ("区划代码", "Region code")


def test_what_the_online_ratio_leaves_out() -> None:
    shown = [State.ONLINE] * 45 + [State.DEGRADED] + [State.EXCLUDED] * 4 + [State.UNKNOWN]
    counts = now_counts(cast(Any, SimpleNamespace(shown=s)) for s in shown)
    assert (counts.cameras, counts.online, counts.offline, counts.excluded, counts.unknown) == (51, 46, 0, 4, 1)
    zh, en = a_view("zh"), a_view("en")
    assert zh.left_out(6, 0) == "另有 6 台报备中" and en.left_out(6, 0) == "6 more under an exclusion"
    assert zh.left_out(4, 1) == "另有 4 台报备中、1 台状态未知"
    assert en.left_out(0, 2) == "2 more of unknown state" and zh.left_out(0, 0) == en.left_out(0, 0) == ""


async def _clock_and_exclusion(engine: AsyncEngine, cams: list[int], fleet: Fleet) -> dt.date:
    """The API tests' App (:func:`tests.collector.test_api_support.running`) with one camera's
    clock ten minutes ahead and another under an exclusion now."""
    now = dt.datetime.now(dt.UTC)
    async with engine.begin() as c:
        await c.execute(insert(Exclusion).values(camera_id=cams[EXCLUDED], start=now - dt.timedelta(hours=1),
                                                 end=now + dt.timedelta(days=1), reason="更换立杆", approver="县公安局"))
    await fleet.aset_behaviour([SKEWED], Behaviour(clock_skew_s=600.0))
    return now.astimezone(TZ).date()


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
    with loopback_range(2) as rng:
        async with running((127, rng.first_block, 0, 1), tmp_path_factory.mktemp("words"), _clock_and_exclusion) as value:
            yield value


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", visible_text(html[html.index("<main>"):]))


@ON_LOOP
async def test_a_clock_skewed_camera_on_its_pages(live: Live, http: aiohttp.ClientSession) -> None:
    s = slot(live, SKEWED)
    assert s.shown is State.DEGRADED and s.status.video_failed == ("clock",)
    zh = text_of(await page(http, live, f"/cameras/{s.cam.id}", headers=ADMIN))
    assert f"{s.cam.name} 时钟偏差" in zh and "状态 时钟偏差" in zh and "画面异常" not in zh, zh
    assert "画面或时钟异常" in zh  # the timeline's legend: a past span may be either
    en = text_of(await page(http, live, f"/cameras/{s.cam.id}?lang=en", headers=ADMIN))
    assert f"{s.cam.name} clock offset" in en and "State clock offset" in en, en
    listed = text_of(await page(http, live, "/cameras?state=degraded", headers=ADMIN))
    assert s.cam.name in listed and re.search(r"时钟偏差 时钟偏差 \+(599|600) 秒", listed), listed  # state, then check
    village = text_of(await page(http, live, f"/regions/{s.cam.labels.village}", headers=ADMIN))
    assert f"{s.cam.name} 时钟偏差" in village
    async with http.get(live.u(f"/api/v1/cameras/{s.cam.id}"), headers=ADMIN) as r:
        assert (await r.json())["state"] == "degraded"  # the API's state is unchanged

    now = live.app.clock()
    inc = AlertIncident("w-clock", IncidentKind.PICTURE, Severity.LOW, s.cam.labels.village, None, now, now,
                        (Member(s.cam.id, None, now, checks=("clock:+600",)),), 4, 0)
    await store.apply_actions(live.app.engine, [IncidentChanged(inc)], now)
    zh = text_of(await page(http, live, "/incidents/w-clock", headers=ADMIN))
    assert f"{s.cam.name} 时钟偏差 ·" in zh and "画面异常" not in zh and "级别 提示" in zh, zh
    en = text_of(await page(http, live, "/incidents/w-clock?lang=en", headers=ADMIN))
    assert f"{s.cam.name}: clock offset ·" in en and "bad picture" not in en and "Severity info" in en, en


@ON_LOOP
async def test_the_online_ratio_says_what_it_leaves_out(live: Live, http: aiohttp.ClientSession) -> None:
    lb = slot(live, EXCLUDED).cam.labels
    assert slot(live, EXCLUDED).shown is State.EXCLUDED
    zh = text_of(await page(http, live, "/", headers=ADMIN))
    assert "另有 1 台报备中" in zh, zh
    en = text_of(await page(http, live, f"/regions/{lb.township}?lang=en", headers=ADMIN))
    assert "1 more under an exclusion" in en, en


@ON_LOOP
async def test_the_account_page_names_the_role_and_places(live: Live, http: aiohttp.ClientSession) -> None:
    lb = slot(live, 0).cam.labels
    leader = await token_for(live, "words-leader", "township", regions=[lb.township])
    zh = text_of(await page(http, live, "/account", headers=leader))
    assert "角色 乡镇领导" in zh and f"行政区划 {lb.township_name}" in zh and lb.township not in zh, zh
    html = await page(http, live, "/account?lang=en", headers=leader)
    en = text_of(html)
    assert "Role Township leader" in en and f"Regions {lb.township_name}" in en and "township " not in en, en
    assert f'<a href="/regions/{lb.township}">{lb.township_name}</a>' in html
    duty = await token_for(live, "words-duty", "duty")
    assert "Role Duty officer Regions Whole county" in text_of(await page(http, live, "/account?lang=en", headers=duty))
