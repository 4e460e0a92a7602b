"""The web console in a real browser: Debian's chromium (headless, through chromium-driver and
selenium) against a real App probing the simulated fleet. Every page is opened at desktop
(1366x900) and phone (390x844) size and saved as a screenshot under the test's directory (also
copied to ``$CAMWATCH_SCREENS_DIR`` when set); the phone-sized pages must not scroll sideways,
the Chinese must render with a CJK font, and the filters' script must work. Then, with accounts
(the last tests: once an account exists nothing is readable without a login), people log in
through /login: a township leader sees only their township and opens an alert's links, a duty
user acknowledges a work order from /workorders, and a form sent without its CSRF token is
refused; a contractor proposes an exclusion from a camera's page (a forged form without its CSRF
token stores nothing) and an assessor approves it, the camera then shown excluded."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select

from collector.alerting import incident_store as store
from collector.alerting.messages import link_for
from collector.alerting.model import Incident as AlertIncident
from collector.alerting.model import IncidentChanged, IncidentKind, Member, OpenWorkOrder, Severity
from collector.reports.model import Kind, ReportPeriod
from collector.reports.periods import containing, previous
from collector.reports.snapshots import close_month
from collector.runtime.camera_state import State
from collector.web import accounts
from collector.web.auth import AUTH_KEY
from collector.web.pages.region import SERIES_KEY
from inventory.models import Camera, Exclusion
from probes.causes import Cause
from tests.collector.test_api_support import DOWN, PASSWORD, Live, live_fixture

pytestmark = pytest.mark.asyncio(loop_scope="module")
live = live_fixture()
SIZES = {"desktop": (1366, 900), "phone": (390, 844)}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def staleness_of(element: WebElement) -> Callable[[object], bool]:
    """Whether *element*'s page was replaced: selenium's own condition, except that Chromium may
    answer "Node with given id does not belong to the document" (not a stale-element error) while
    the next page loads; that counts as replaced too."""
    def gone(_driver: object) -> bool:
        try:
            element.is_enabled()
        except WebDriverException:  # (StaleElementReferenceException among them)
            return True
        return False
    return gone


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
            "workorders": "/workorders", "exclusions": "/exclusions?active=false",
            "reports": f"/reports?period={this_month(live).label}",
            "report-print": f"/reports/print?period={this_month(live).label}", "api": "/api"}


def this_month(live: Live) -> ReportPeriod:
    return containing(Kind.MONTHLY, live.app.clock(), live.app.settings.accounting.timezone)


def no_sideways_scroll(driver: webdriver.Chrome) -> tuple[int, int]:
    return tuple(driver.execute_script(  # type: ignore[return-value]
        "return [document.documentElement.scrollWidth, window.innerWidth]"))


# the tables and their boxes (div.table) wider than they are shown: scrolled sideways inside the page
# (a box meant to be swiped would be marked .scroll-x and say so; there is none)
INNER_OVERFLOW = """
return [...document.querySelectorAll('table, div.table')]
  .filter(e => e.getClientRects().length && !e.parentElement.closest('.scroll-x') && e.scrollWidth > e.clientWidth)
  .map(e => [e.tagName.toLowerCase() + '.' + [...e.classList].join('.'), e.scrollWidth, e.clientWidth]);"""


def inner_overflow(driver: webdriver.Chrome) -> list[tuple[str, int, int]]:
    return [tuple(x) for x in driver.execute_script(INNER_OVERFLOW)]  # type: ignore[misc]


K = TypeVar("K")
T = TypeVar("T")


def each_page(driver: webdriver.Chrome, kind: str, pages: Mapping[K, str], look: Callable[[K], T]) -> dict[K, T]:
    """*pages* (key: URL) opened in turn at the size *kind* ("desktop" or "phone"), each waited for and
    looked at: what *look* says of each key. On a phone no page may scroll sideways, nor any table
    inside it (:data:`INNER_OVERFLOW`). The browser is left at desktop size."""
    size(driver, kind)
    try:
        seen = {}
        for key, url in pages.items():
            driver.get(url)
            loaded(driver)
            if kind == "phone":
                scroll_w, inner_w = no_sideways_scroll(driver)
                assert scroll_w <= inner_w, (key, url, scroll_w, inner_w)
                assert not inner_overflow(driver), (key, url, inner_overflow(driver))
            seen[key] = look(key)
        return seen
    finally:
        size(driver, "desktop")


async def test_every_page_in_chromium_desktop_and_phone(live: Live, chrome: webdriver.Chrome,
                                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    pages = await _data(live)
    out = tmp_path_factory.mktemp("screens")
    base = f"http://127.0.0.1:{live.server.port}"

    def visit() -> list[Path]:
        shots: list[Path] = []
        for kind in ("desktop", "phone"):
            def look(name: str, kind: str = kind) -> Path:
                html = chrome.page_source
                assert "500 Internal" not in html and PASSWORD not in html, (name, kind)
                assert chrome.find_element(By.TAG_NAME, "h1").text.strip(), (name, kind)
                if name == "overview":  # a township leader reads the target and the covered villages on a phone too
                    table = chrome.find_element(By.CSS_SELECTOR, "table.regions").text
                    compact = "目标 95.00%" in table and re.search(r"全覆盖村 \d+/\d+", table) is not None
                    assert compact == (kind == "phone") and "95.00%" in table and "全覆盖村" in table, (kind, table)
                return shoot(chrome, out, f"{name}-{kind}")

            shots += each_page(chrome, kind, {name: base + path for name, path in pages.items()}, look).values()
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


async def test_report_pages_and_the_printed_pdf(live: Live, chrome: webdriver.Chrome,
                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    """/reports of this month (未结) works from its form; last month, closed, printed by the browser
    as offices print it: A4 landscape pages, a page per section, page numbers, 已结 and the
    snapshot's hash in the header. The PDF and its first pages as PNG are kept beside the screenshots."""
    await _data(live)
    tz = live.app.settings.accounting.timezone
    last = previous(containing(Kind.MONTHLY, live.app.clock(), tz))
    snap = await close_month(live.app.engine, live.app.settings, last, live.app.clock())  # done already on the 3rd
    base = f"http://127.0.0.1:{live.server.port}"
    out = tmp_path_factory.mktemp("screens-reports")

    def run() -> bytes:
        size(chrome, "desktop")
        chrome.get(base + f"/reports?period={this_month(live).label}")
        loaded(chrome)
        assert "未结" in chrome.find_element(By.TAG_NAME, "main").text
        # a changed select submits its form (console.js); a click on the button as well would be a
        # second navigation racing the first (a stale <main> read in between: a CI flake)
        Select(chrome.find_element(By.NAME, "period")).select_by_value(last.label)
        WebDriverWait(chrome, 20).until(lambda d: f"period={last.label}" in d.current_url)
        loaded(chrome)
        main = chrome.find_element(By.TAG_NAME, "main").text
        assert "已结" in main and snap.sha256 in main
        shoot(chrome, out, "reports-closed-desktop")
        chrome.find_element(By.PARTIAL_LINK_TEXT, "打印版").click()
        WebDriverWait(chrome, 20).until(lambda d: "/reports/print" in d.current_url)
        loaded(chrome)
        assert chrome.find_elements(By.CSS_SELECTOR, "button[data-print]")
        pdf = chrome.execute_cdp_cmd("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True,
                                                         "displayHeaderFooter": False})
        return base64.b64decode(pdf["data"])

    data = await asyncio.to_thread(run)
    path = out / "report-print.pdf"
    path.write_bytes(data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    assert pages >= 8, info  # a page break before each of the eight sections
    w, h = (float(x) for x in re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())  # type: ignore[union-attr]
    assert abs(w - 841.9) < 1.5 and abs(h - 595.3) < 1.5, info  # A4 landscape, in points
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    first = text.split("\f")[0]
    assert "已结" in first and snap.sha256 in first and "汇总" in first
    flat = [page.replace(" ", "") for page in text.split("\f")]  # pdftotext drops the spaces between CJK glyphs
    assert f"第1/{pages}页" in flat[0] and f"第{pages}/{pages}页" in flat[pages - 1]
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "3", str(path), str(out / "report-print")], check=True)
    pngs = sorted(out.glob("report-print*.png"))
    assert len(pngs) == 3 and all(p.stat().st_size > 5000 for p in pngs)
    copy_to = os.environ.get("CAMWATCH_SCREENS_DIR")
    if copy_to:
        for p in (path, *pngs):
            shutil.copy(p, Path(copy_to) / p.name)


def loaded(driver: webdriver.Chrome) -> None:
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return document.readyState") == "complete")


def status_of(driver: webdriver.Chrome, path: str) -> int:
    """The HTTP status of a GET of *path* with the browser's cookies (what the page itself hides)."""
    return int(driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0], {redirect: 'manual'}).then(r => done(r.status), () => done(-1));", path))


def log_in(driver: webdriver.Chrome, base: str, name: str, password: str) -> None:
    """Through the login form, as a person would: a page sends you to /login and back."""
    driver.delete_all_cookies()
    driver.get(base + "/workorders")
    loaded(driver)
    assert driver.current_url in (base + "/login?next=/workorders", base + "/login?next=%2Fworkorders"), driver.current_url
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form[action='/login'] button[type=submit]").click()
    WebDriverWait(driver, 20).until(lambda d: d.current_url == base + "/workorders")
    loaded(driver)
    assert name in driver.find_element(By.CSS_SELECTOR, "header .who").text


async def _accounts(live: Live, township: str) -> dict[str, str]:
    """A township leader of *township* and a duty user, with passwords; then nothing is open."""
    now = live.app.clock()
    made = {"leader": "leader-pass-1", "duty": "duty-pass-22"}
    for name, password in made.items():
        if name not in {u.name for u in await accounts.list_users(live.app.engine)}:
            regions = [township] if name == "leader" else []
            await accounts.add_user(live.app.engine, name, "township" if name == "leader" else "duty",
                                    password=password, regions=regions, now=now)
    live.server.app[AUTH_KEY].forget()  # the cached "no account yet"
    return made


async def test_township_leader_logs_in_sees_only_their_township(live: Live, chrome: webdriver.Chrome,
                                                               tmp_path_factory: pytest.TempPathFactory) -> None:
    pages = await _data(live)
    slots = list(live.app.scheduler.slots.values())
    down = live.app.scheduler.slots[live.cams[DOWN[0]]].cam
    mine = down.labels.township
    theirs = next(s.cam for s in slots if s.cam.labels.township != mine)
    other_names = {s.cam.labels.township_name for s in slots} - {down.labels.township_name}
    assert other_names
    made = await _accounts(live, mine)
    now = live.app.clock()
    fig = live.app.figures
    months = {t: m for t in {s.cam.labels.township for s in slots}
              if (m := fig.availability.get(("township", t, "month"))) is not None}
    assert mine in months and len(months) > 1
    # their township's rank in the county (not "1" of the one township they see); equal rates share
    # a rank (1, 2, 2, 4), as `camwatch rates --rank` and the API give it
    rank = 1 + sum(1 for m in months.values() if m > months[mine])
    # the links an alert message carries (collector.alerting.messages.link_for), for one camera and for many
    base = f"http://127.0.0.1:{live.server.port}"
    one = AlertIncident("o-browser-one", IncidentKind.OUTAGE, Severity.NORMAL, down.labels.village, None, now, now,
                        (Member(down.id, Cause.REFUSED, now),), 4, 0)
    elsewhere = AlertIncident("o-browser-else", IncidentKind.OUTAGE, Severity.NORMAL, theirs.labels.village, None,
                              now, now, (Member(theirs.id, Cause.REFUSED, now),), 4, 0)
    many = AlertIncident("o-browser-1", IncidentKind.OUTAGE, Severity.CRITICAL, down.labels.village, None, now, now,
                         (Member(down.id, Cause.REFUSED, now), Member(live.cams[DOWN[1]], Cause.REFUSED, now)), 4, 0)
    await store.apply_actions(live.app.engine, [  # the one camera's incident as the engine stores it, with its order
        IncidentChanged(one),
        OpenWorkOrder(one.id, f"{down.name} 摄像机离线", down.id, None, None, Cause.REFUSED, Severity.NORMAL, 1,
                      now, now + dt.timedelta(hours=24))], now)
    link_one, link_many, link_else = (link_for(i, base + "/") for i in (one, many, elsewhere))
    assert link_one == f"{base}/cameras/{down.id}" and link_many == base + pages["incident"]
    out = tmp_path_factory.mktemp("screens-login")

    def run() -> None:
        for kind in ("desktop", "phone"):
            size(chrome, kind)
            chrome.delete_all_cookies()
            chrome.get(base + "/")
            loaded(chrome)
            assert "/login" in chrome.current_url and chrome.find_element(By.TAG_NAME, "h1").text == "登录"
            if kind == "phone":
                scroll_w, inner_w = no_sideways_scroll(chrome)
                assert scroll_w <= inner_w, ("login", scroll_w, inner_w)
            shoot(chrome, out, f"login-{kind}")
        size(chrome, "desktop")
        log_in(chrome, base, "leader", made["leader"])
        assert not chrome.find_elements(By.CSS_SELECTOR, "form[action*='/ack']")  # read-only: nothing to act on
        for kind in ("desktop", "phone"):
            size(chrome, kind)
            chrome.get(base + "/")
            loaded(chrome)
            text = chrome.find_element(By.TAG_NAME, "main").text
            assert down.labels.township_name in text and not any(n in chrome.page_source for n in other_names), kind
            # the townships table lists exactly one township, theirs
            towns = [a.text for a in chrome.find_elements(By.CSS_SELECTOR, "main a[href^='/regions/']")
                     if a.get_attribute("href").endswith(f"/regions/{mine}")]
            assert towns, kind
            cell = chrome.find_element(By.CSS_SELECTOR, "table.regions tbody tr td").text
            assert cell.replace(" ", "") == f"{rank}/{len(months)}", cell
            if kind == "phone":
                scroll_w, inner_w = no_sideways_scroll(chrome)
                assert scroll_w <= inner_w, ("overview", scroll_w, inner_w)
            shoot(chrome, out, f"overview-township-{kind}")
        size(chrome, "desktop")
        assert status_of(chrome, f"/regions/{mine}") == 200
        for path in (f"/regions/{theirs.labels.township}", f"/regions/{theirs.labels.village}", f"/cameras/{theirs.id}"):
            assert status_of(chrome, path) == 404, path
        chrome.get(base + f"/regions/{theirs.labels.township}")
        loaded(chrome)
        assert chrome.find_element(By.TAG_NAME, "h1").text == "未找到" and theirs.labels.township_name not in chrome.page_source
        # the alert's links: the camera page (its work order below), the incident page; another township's is 404
        chrome.get(link_one)
        loaded(chrome)
        assert down.name in chrome.find_element(By.TAG_NAME, "h1").text
        main = chrome.find_element(By.TAG_NAME, "main").text
        assert Cause.REFUSED.words("zh") in main and f"{down.name} 摄像机离线" in main and "待处理" in main
        chrome.get(link_many)
        loaded(chrome)
        assert down.name in chrome.find_element(By.TAG_NAME, "main").text
        chrome.get(link_else)
        loaded(chrome)
        assert chrome.find_element(By.TAG_NAME, "h1").text == "未找到" and theirs.name not in chrome.page_source

    await asyncio.to_thread(run)


async def test_duty_acknowledges_a_work_order_and_csrf_is_required(live: Live, chrome: webdriver.Chrome) -> None:
    await _data(live)
    down = live.app.scheduler.slots[live.cams[DOWN[0]]].cam
    made = await _accounts(live, down.labels.township)
    order = next(o for o in await store.list_work_orders(live.app.engine, open_only=True) if o.incident_key == "o-browser-1")
    assert order.status.value == "open"
    base = f"http://127.0.0.1:{live.server.port}"
    ack = f"form[action^='/workorders/{order.id}/ack']"

    def forged() -> str:
        """The ack form sent without its CSRF token (as another site's page would send it)."""
        log_in(chrome, base, "duty", made["duty"])
        chrome.execute_script(f"document.querySelector(\"{ack} input[name=csrf_token]\").remove()")
        chrome.find_element(By.CSS_SELECTOR, f"{ack} button").click()
        WebDriverWait(chrome, 20).until(lambda d: f"/workorders/{order.id}/ack" in d.current_url)
        loaded(chrome)
        return str(chrome.find_element(By.TAG_NAME, "body").text)

    refused = await asyncio.to_thread(forged)
    assert "CSRF" in refused and "表单已过期" in refused
    assert {o.id: o for o in await store.list_work_orders(live.app.engine)}[order.id].status.value == "open"

    def acknowledge() -> str:
        chrome.get(base + "/workorders")
        loaded(chrome)
        before = chrome.find_element(By.TAG_NAME, "main")
        chrome.find_element(By.CSS_SELECTOR, f"{ack} button").click()
        WebDriverWait(chrome, 20).until(staleness_of(before))  # redirected to the same address: a new page
        WebDriverWait(chrome, 20).until(lambda d: d.current_url == base + "/workorders")
        loaded(chrome)
        assert not chrome.find_elements(By.CSS_SELECTOR, ack)  # acknowledged: no second ack button
        return str(chrome.find_element(By.TAG_NAME, "main").text)

    listed = await asyncio.to_thread(acknowledge)
    acked = {o.id: o for o in await store.list_work_orders(live.app.engine)}[order.id]
    assert acked.status.value == "acknowledged" and acked.acknowledged_at is not None
    assert "处理中" in listed


async def test_contractor_proposes_an_exclusion_and_an_assessor_approves_it(
        live: Live, chrome: webdriver.Chrome, tmp_path_factory: pytest.TempPathFactory) -> None:
    cam = live.app.scheduler.slots[live.cams[DOWN[1]]].cam
    async with live.app.engine.connect() as c:
        company = (await c.execute(select(Camera.contractor).where(Camera.id == cam.id))).scalar_one()
    now = live.app.clock()
    made = {"fixer": "fixer-pass-333", "judge": "judge-pass-4444"}
    for name, role in (("fixer", "contractor"), ("judge", "assessor")):
        await accounts.add_user(live.app.engine, name, role, password=made[name], now=now,
                                contractor=company if role == "contractor" else None)
    live.server.app[AUTH_KEY].forget()
    base = f"http://127.0.0.1:{live.server.port}"
    out = tmp_path_factory.mktemp("screens-proposals")
    propose = "form[action='/exclusions/proposals'][method=post]"

    def look(path: str, name: str) -> None:
        for kind in ("desktop", "phone"):
            size(chrome, kind)
            chrome.get(base + path)
            loaded(chrome)
            if kind == "phone":
                scroll_w, inner_w = no_sideways_scroll(chrome)
                assert scroll_w <= inner_w, (name, scroll_w, inner_w)
                wide = chrome.execute_script(  # nor a table of proposals inside its box (one card a row)
                    "return [...document.querySelectorAll('table.stacked')].filter("
                    "t => t.parentElement.scrollWidth > t.parentElement.clientWidth + 1).length")
                assert wide == 0, name
            shoot(chrome, out, f"{name}-{kind}")
        size(chrome, "desktop")

    def contractor() -> str:
        log_in(chrome, base, "fixer", made["fixer"])
        look(f"/cameras/{cam.id}", "camera-contractor")
        chrome.get(base + f"/cameras/{cam.id}")
        loaded(chrome)
        chrome.find_element(By.LINK_TEXT, "申请报备").click()
        WebDriverWait(chrome, 20).until(lambda d: "/exclusions/proposals" in d.current_url)
        loaded(chrome)
        assert chrome.find_element(By.CSS_SELECTOR, f"{propose} input[name=camera_id]").get_attribute("value") == str(cam.id)
        chrome.find_element(By.CSS_SELECTOR, f"{propose} textarea[name=reason]").send_keys("电力检修停电（浏览器）")
        look("/exclusions/proposals?camera_id=" + str(cam.id), "proposal-form")
        chrome.get(base + f"/exclusions/proposals?camera_id={cam.id}")
        loaded(chrome)
        chrome.find_element(By.CSS_SELECTOR, f"{propose} textarea[name=reason]").send_keys("电力检修停电（浏览器）")
        chrome.execute_script(f"document.querySelector(\"{propose} input[name=csrf_token]\").remove()")
        chrome.find_element(By.CSS_SELECTOR, f"{propose} button[type=submit]").click()  # forged: no CSRF token
        WebDriverWait(chrome, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: "表单已过期" in d.find_element(By.TAG_NAME, "body").text)
        chrome.get(base + f"/exclusions/proposals?camera_id={cam.id}")
        loaded(chrome)
        chrome.find_element(By.CSS_SELECTOR, f"{propose} textarea[name=reason]").send_keys("电力检修停电（浏览器）")
        chrome.find_element(By.CSS_SELECTOR, f"{propose} button[type=submit]").click()
        WebDriverWait(chrome, 20).until(lambda d: d.current_url == base + "/exclusions/proposals")
        loaded(chrome)
        return str(chrome.find_element(By.TAG_NAME, "main").text)

    listed = await asyncio.to_thread(contractor)
    assert "电力检修停电（浏览器）" in listed and "待审批" in listed and "fixer" in listed
    async with live.app.engine.connect() as c:
        rows = (await c.execute(select(Exclusion).where(Exclusion.reason == "电力检修停电（浏览器）"))).all()
    assert [r.status for r in rows] == ["proposed"]  # one: the forged form stored nothing
    assert live.app.scheduler.slots[cam.id].shown is not State.EXCLUDED

    def assessor() -> str:
        log_in(chrome, base, "judge", made["judge"])
        look("/exclusions/proposals", "proposals-assessor")
        chrome.get(base + "/exclusions/proposals")
        loaded(chrome)
        form = f"form[action='/exclusions/{rows[0].id}/approve']"
        chrome.find_element(By.CSS_SELECTOR, f"{form} input[name=note]").send_keys("同意")
        before = chrome.find_element(By.TAG_NAME, "main")
        chrome.find_element(By.CSS_SELECTOR, f"{form} button").click()
        # the answer redirects to the same address: wait for the page itself to be replaced
        WebDriverWait(chrome, 20).until(staleness_of(before))
        loaded(chrome)
        WebDriverWait(chrome, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: "电力检修停电（浏览器）" not in d.find_element(By.TAG_NAME, "main").text)  # no longer waiting
        look("/exclusions/proposals?status=all", "proposals-decided")
        chrome.get(base + f"/cameras/{cam.id}")
        loaded(chrome)
        return str(chrome.find_element(By.TAG_NAME, "main").text)

    camera = await asyncio.to_thread(assessor)
    assert "已批准" in camera and "电力检修停电（浏览器）" in camera
    async with live.app.engine.connect() as c:
        row = (await c.execute(select(Exclusion).where(Exclusion.id == rows[0].id))).one()
    assert row.status == "approved" and row.decider == "judge" and row.decision_note == "同意"
    assert live.app.scheduler.slots[cam.id].shown is State.EXCLUDED
