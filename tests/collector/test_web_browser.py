"""The web console in a real browser: Debian's chromium (headless, through chromium-driver and
selenium) against a real App probing the simulated fleet. Every page is opened at desktop
(1366x900) and phone (390x844) size and saved as a screenshot under the test's directory (also
copied to ``$CAMWATCH_SCREENS_DIR`` when set); the phone-sized pages must not scroll sideways,
the Chinese must render with a CJK font, and the filters' script must work."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from collector.alerting import incident_store as store
from collector.alerting.model import Incident as AlertIncident
from collector.alerting.model import IncidentChanged, IncidentKind, Member, OpenWorkOrder, Severity
from collector.web.pages.region import SERIES_KEY
from probes.causes import Cause
from tests.collector.test_api_support import DOWN, PASSWORD, Live, live_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")
live = live_fixture()
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def browser() -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-dev-shm-usage", "--no-first-run", "--lang=zh-CN", "--window-size=1366,900"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=Service(DRIVER))
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="module")
def chrome() -> Iterator[webdriver.Chrome]:
    driver = browser()
    try:
        yield driver
    finally:
        driver.quit()


def size(driver: webdriver.Chrome, name: str) -> None:
    w, h = SIZES[name]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": name == "phone"})


def shoot(driver: webdriver.Chrome, out: Path, name: str) -> Path:
    """A full-page screenshot (the page's whole height at the current width)."""
    height = int(driver.execute_script("return Math.max(document.body.scrollHeight, window.innerHeight)"))
    w, h = SIZES["phone" if "phone" in name else "desktop"]
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": w, "height": min(max(h, height), 4000), "deviceScaleFactor": 1,
                            "mobile": "phone" in name})
    path = out / f"{name}.png"
    assert driver.save_screenshot(str(path)), name
    size(driver, "phone" if "phone" in name else "desktop")
    copy_to = os.environ.get("CAMWATCH_SCREENS_DIR")
    if copy_to:
        Path(copy_to).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(copy_to) / path.name)
    return path


async def _data(live: Live) -> dict[str, str]:
    """An incident of two cameras with its work order, and the paths of every page."""
    now = live.app.clock()
    cams = [live.app.scheduler.slots[live.cams[i]].cam for i in DOWN]
    inc = AlertIncident("o-browser-1", IncidentKind.OUTAGE, Severity.CRITICAL, cams[0].labels.village, None, now, now,
                        tuple(Member(c.id, Cause.REFUSED, now) for c in cams), 4, 0)
    await store.apply_actions(live.app.engine, [
        IncidentChanged(inc),
        OpenWorkOrder(inc.id, f"{cams[0].labels.village_name} 2/4 台摄像机离线", None, cams[0].labels.village, None,
                      Cause.REFUSED, Severity.CRITICAL, 2, now - dt.timedelta(hours=3), now - dt.timedelta(hours=1))], now)
    await live.app.refresh_figures()
    lb = cams[0].labels
    series = live.server.app[SERIES_KEY]  # the charts' days, all computed before the screenshots
    await series.series(live.app, "township", lb.township, 90)
    if series.task is not None:
        await series.task
    return {"overview": "/", "cameras": "/cameras", "township": f"/regions/{lb.township}",
            "village": f"/regions/{lb.village}", "camera": f"/cameras/{cams[0].id}", "incident": f"/incidents/{inc.id}",
            "workorders": "/workorders", "exclusions": "/exclusions?active=false"}


def no_sideways_scroll(driver: webdriver.Chrome) -> tuple[int, int]:
    return tuple(driver.execute_script(  # type: ignore[return-value]
        "return [document.documentElement.scrollWidth, window.innerWidth]"))


async def test_every_page_in_chromium_desktop_and_phone(live: Live, chrome: webdriver.Chrome,
                                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    pages = await _data(live)
    out = tmp_path_factory.mktemp("screens")
    base = f"http://127.0.0.1:{live.server.port}"

    def visit() -> list[Path]:
        shots = []
        for kind in ("desktop", "phone"):
            size(chrome, kind)
            for name, path in pages.items():
                chrome.get(base + path)
                WebDriverWait(chrome, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")
                html = chrome.page_source
                assert "500 Internal" not in html and PASSWORD not in html, (name, kind)
                assert chrome.find_element(By.TAG_NAME, "h1").text.strip(), (name, kind)
                if kind == "phone":
                    scroll_w, inner_w = no_sideways_scroll(chrome)
                    assert scroll_w <= inner_w, (name, scroll_w, inner_w)
                shots.append(shoot(chrome, out, f"{name}-{kind}"))
        return shots

    shots = await asyncio.to_thread(visit)
    assert len(shots) == 2 * len(pages) and all(p.stat().st_size > 5000 for p in shots)


def cjk_font_renders(driver: Any) -> float:
    """Width of a Chinese string in the page's font against the same string's fallback boxes:
    a missing CJK font draws tofu of one width for every glyph, a real one draws each glyph."""
    return float(driver.execute_script("""
        const c = document.createElement('canvas').getContext('2d');
        c.font = '20px ' + getComputedStyle(document.body).fontFamily;
        return c.measureText('总览在线率').width;"""))


async def test_chinese_renders_and_filters_work(live: Live, chrome: webdriver.Chrome) -> None:
    await _data(live)
    base = f"http://127.0.0.1:{live.server.port}"
    down = live.app.scheduler.slots[live.cams[DOWN[0]]].cam

    def run() -> None:
        size(chrome, "phone")
        chrome.get(base + "/")
        assert chrome.find_element(By.TAG_NAME, "h1").text.startswith("总览")
        assert 80 <= cjk_font_renders(chrome) <= 120  # five glyphs of about 20 px each
        assert chrome.execute_script("return document.fonts.check('20px \"Noto Sans CJK SC\"', '总览')")
        # choosing a township submits the filter form (console.js) and hides other townships' villages
        Select(chrome.find_element(By.NAME, "township")).select_by_value(down.labels.township)
        WebDriverWait(chrome, 20).until(lambda d: f"township={down.labels.township}" in d.current_url)
        villages = chrome.find_elements(By.CSS_SELECTOR, "select[name=village] option[data-parent]")
        shown = {o.get_attribute("value") for o in villages if not o.get_property("hidden")}
        assert down.labels.village in shown
        assert all(o.get_attribute("data-parent") == down.labels.township for o in villages if not o.get_property("hidden"))
        assert chrome.find_elements(By.CSS_SELECTOR, f'a[href="/cameras/{down.id}"]')
        chrome.find_element(By.LINK_TEXT, "English").click()
        WebDriverWait(chrome, 20).until(lambda d: d.find_element(By.TAG_NAME, "h1").text.startswith("Overview"))
        chrome.get(base + "/workorders")  # remembered by the cookie
        assert chrome.find_element(By.TAG_NAME, "h1").text.startswith("Work orders")
        chrome.get(base + "/?lang=zh")

    await asyncio.to_thread(run)
