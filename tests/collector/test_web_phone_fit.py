"""The console read on a 390 px phone and in English, as its users read it (measured in Debian's
chromium, headless, through chromium-driver and selenium), after a look at every page:

- a time ("2026-12-05 17:42") broke inside its date ("2026-12-" / "05 17:42") in a narrow column;
  its date and its clock are now each kept whole (macros.stamp);
- a Chinese header broke inside a word (当前状 / 态); it now breaks between words only;
- a work order's card on a camera page showed its deadline as a bare date: it is labelled (期限：);
- the close form's note field cut its placeholder (what was done (requi…);
- an incident's "涉及摄像机 0/5" read as "no camera involved": it says 离线 0 / 5 台;
- English pages carried Chinese punctuation in our own words (Period：, Proposed by：, （sha256）：);
- the printable report's work orders on a phone: titles two characters a line (the table then
  scrolled inside its box; now every row of the report reads as a card);
- a village's card said "4/6 Points" where its table says "5/6 points";
- the list of all work orders hid its "resolved at" column off a phone's screen (scrolled inside
  its box): on a phone the time is said under the deadline;
- the printable report's summary (710 px in a 374 px box) and the API page's parameter and field
  tables (~490 px) scrolled inside their boxes: the report's rows are cards on a phone, the API's
  parameters and fields too, its answers' three columns wrap. No table of any page is wider than
  its box on a phone (each_page).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from sqlalchemy import insert

from collector.alerting import incident_store as store
from collector.alerting.model import Incident as AlertIncident
from collector.alerting.model import IncidentChanged, IncidentKind, Member, OpenWorkOrder, Severity
from collector.reports.model import Kind
from collector.reports.periods import containing, previous
from collector.reports.snapshots import close_month
from collector.web import accounts
from collector.web.auth import AUTH_KEY
from inventory.models import Exclusion
from probes.causes import Cause
from tests.collector.test_api_support import DOWN, Live, live_fixture
from tests.collector.test_web_browser import _data, chrome, each_page, log_in
from tests.collector.test_web_report_headers import HEADER_LINES, words

pytestmark = pytest.mark.asyncio(loop_scope="module")
live = live_fixture()
__all__ = ["chrome"]  # the module's browser (a fixture)
ADMIN = ("boss", "boss-pass-5555")

# the times (span.nw of macros.stamp) that take more than one line
BROKEN_STAMPS = """
const all = [...document.querySelectorAll('main span.nw')].filter(s => s.getClientRects().length);
return [all.length, all.filter(s => s.getClientRects().length > 1).map(s => s.textContent)];"""

# the close form's note field: its placeholder's width in the field's font, and the room for it
PLACEHOLDER = """
const i = document.querySelector("form[action*='/close'] input[name=note]");
const cs = getComputedStyle(i);
const c = document.createElement('canvas').getContext('2d');
c.font = `${cs.fontStyle} ${cs.fontWeight} ${cs.fontSize} ${cs.fontFamily}`;
return [c.measureText(i.placeholder).width, i.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight)];"""

# the width of the second cell of the printable report's first work order (null: no such row)
TITLE_WIDTH = """
const td = document.querySelector('table.report.orders tbody tr td:nth-child(2)');
return td && td.parentElement.children.length > 1 ? td.getBoundingClientRect().width : null;"""

# our own words followed by Chinese punctuation (data, such as place names, stays Chinese)
CHINESE_PUNCT_AFTER_ENGLISH = re.compile(r"[A-Za-z)][：；（]")


async def _setup(live: Live) -> dict[str, str]:
    pages = await _data(live)  # an incident of two cameras (of the village's four) with its work order
    now = live.app.clock()
    cam = live.app.scheduler.slots[live.cams[DOWN[1]]].cam
    async with live.app.engine.begin() as c:
        await c.execute(insert(Exclusion).values(camera_id=cam.id, start=now, end=now + dt.timedelta(hours=4),
                                                 reason="电力检修停电", approver="", status="proposed", proposer="fixer"))
    # a camera's order, opened and closed an hour ago (the list of all orders says when)
    one = live.app.scheduler.slots[live.cams[0]].cam
    if not [o for o in await store.list_work_orders(live.app.engine) if o.incident_key == "o-fit-done"]:
        inc = AlertIncident("o-fit-done", IncidentKind.OUTAGE, Severity.NORMAL, one.labels.village, None,
                            now - dt.timedelta(hours=2), now - dt.timedelta(hours=2),
                            (Member(one.id, Cause.REFUSED, now - dt.timedelta(hours=2)),), 4, 0)
        await store.apply_actions(live.app.engine, [
            IncidentChanged(inc),
            OpenWorkOrder(inc.id, f"{one.name} 摄像机离线", one.id, None, None, Cause.REFUSED, Severity.NORMAL, 1,
                          now - dt.timedelta(hours=2), now + dt.timedelta(hours=22))], now - dt.timedelta(hours=2))
        oid = next(o.id for o in await store.list_work_orders(live.app.engine) if o.incident_key == "o-fit-done")
        await store.close_order(live.app.engine, oid, now - dt.timedelta(hours=1), "重启了交换机")
    tz = live.app.settings.accounting.timezone
    await close_month(live.app.engine, live.app.settings, previous(containing(Kind.MONTHLY, now, tz)), now)
    if ADMIN[0] not in {u.name for u in await accounts.list_users(live.app.engine)}:
        await accounts.add_user(live.app.engine, ADMIN[0], "admin", password=ADMIN[1], now=now)
    live.server.app[AUTH_KEY].forget()
    lb = cam.labels
    # the month of the work order (opened 3 hours ago): its printable report lists it
    pages["order-month"] = containing(Kind.MONTHLY, now - dt.timedelta(hours=3), tz).label
    pages["last-month"] = previous(containing(Kind.MONTHLY, now, tz)).label
    pages["village"] = f"/regions/{lb.village}"
    return pages


async def test_console_pages_fit_a_phone_in_both_languages(live: Live, chrome: webdriver.Chrome) -> None:
    pages = await _setup(live)
    base = f"http://127.0.0.1:{live.server.port}"
    listed = {"cameras": "/cameras", "workorders": "/workorders", "all-orders": "/workorders?open=false",
              "incident": pages["incident"],
              "camera": pages["camera"], "exclusions": "/exclusions?active=false",
              "proposals": "/exclusions/proposals?status=all"}

    def look(name: str) -> dict[str, object]:
        """What the checks below read of a page, by what it is."""
        n, broken = chrome.execute_script(BROKEN_STAMPS)
        found: dict[str, object] = {
            "stamps": (n, broken), "headers": [(str(t), int(k)) for t, k in chrome.execute_script(HEADER_LINES)],
            "text": chrome.find_element(By.TAG_NAME, "main").text}
        if name == "camera":
            found["label"] = chrome.execute_script(
                "const td = document.querySelector('table.orders.stacked tbody td[data-label]');"
                "return td ? getComputedStyle(td, '::before').content : null;")
        if name == "workorders":
            found["placeholder"] = chrome.execute_script(PLACEHOLDER)
        if name == "all-orders":  # every column on the screen, none swiped to
            found["box"] = chrome.execute_script(
                "const b = document.querySelector('table.orders').parentElement;"
                "return [b.scrollWidth, b.clientWidth];")
        return found

    def run() -> dict[str, object]:
        seen: dict[str, object] = {}
        log_in(chrome, base, *ADMIN)
        for lang in ("zh", "en"):
            for kind in ("phone", "desktop"):
                urls = {name: f"{base}{path}{'&' if '?' in path else '?'}lang={lang}" for name, path in listed.items()}
                for name, found in each_page(chrome, kind, urls, look).items():
                    seen.update({f"{what}-{name}-{lang}-{kind}": value for what, value in found.items()})
        return seen

    seen = await asyncio.to_thread(run)
    for lang in ("zh", "en"):
        for kind in ("phone", "desktop"):
            for name in listed:
                key = f"{name}-{lang}-{kind}"
                n, broken = seen[f"stamps-{key}"]  # type: ignore[misc]
                assert n > 0 and not broken, (key, n, broken)
            # the labelled deadline of the camera page's work-order card, on a phone only
            label = seen[f"label-camera-{lang}-{kind}"]
            if kind == "phone":
                assert label == ('"Deadline: "' if lang == "en" else '"期限："'), label
            else:
                assert label in ("none", "normal"), label
            width, room = seen[f"placeholder-workorders-{lang}-{kind}"]  # type: ignore[misc]
            assert width <= room + 1, (lang, kind, width, room)
        for name in listed:  # a Chinese header breaks between its words only
            headers = seen[f"headers-{name}-zh-phone"]
            broken_headers = [(t, k) for t, k in headers if k > words(t)]  # type: ignore[union-attr]
            assert not broken_headers, (name, broken_headers)
    assert ("当前状态", 1) in seen["headers-incident-zh-phone"]  # type: ignore[operator]
    # the incident's cameras: how many are down now, of how many
    assert re.search(r"涉及摄像机\s+离线 2 / 4 台", str(seen["text-incident-zh-desktop"])), seen["text-incident-zh-desktop"]
    assert re.search(r"Cameras\s+offline 2 / 4 cameras", str(seen["text-incident-en-desktop"]))
    for name in listed:
        text = str(seen[f"text-{name}-en-desktop"])
        assert not CHINESE_PUNCT_AFTER_ENGLISH.findall(text), (name, CHINESE_PUNCT_AFTER_ENGLISH.findall(text))
    for lang, said in (("zh", "完成时间"), ("en", "Resolved at")):
        scroll_w, box_w = seen[f"box-all-orders-{lang}-phone"]  # type: ignore[misc]
        assert scroll_w <= box_w, (lang, scroll_w, box_w)
        assert re.search(said + r" \d{4}-\d\d-\d\d \d\d:\d\d", str(seen[f"text-all-orders-{lang}-phone"])), lang
        assert re.search(said + r"\s", str(seen[f"text-all-orders-{lang}-desktop"]))  # the column's header
    assert "Proposed by: fixer" in str(seen["text-proposals-en-desktop"])
    assert "申请人：fixer" in str(seen["text-proposals-zh-desktop"])


async def test_printable_report_and_village_card_in_english_and_on_a_phone(live: Live, chrome: webdriver.Chrome) -> None:
    pages = await _setup(live)
    base = f"http://127.0.0.1:{live.server.port}"

    def texts(name: str) -> list[str]:
        """The closed report's head (its hash line); the village's cards and table."""
        return [chrome.find_element(By.CSS_SELECTOR, css).text
                for css in (("header.report-head",) if name == "closed" else ("section.cards", "main"))]

    def run() -> dict[str, object]:
        seen: dict[str, object] = {}
        log_in(chrome, base, *ADMIN)
        for lang in ("zh", "en"):
            found = each_page(chrome, "desktop", {"closed": f"{base}/reports/print?period={pages['last-month']}&lang={lang}",
                                                  "village": f"{base}{pages['village']}?lang={lang}"}, texts)
            [seen[f"closed-{lang}"]] = found["closed"]
            seen[f"cards-{lang}"], seen[f"table-{lang}"] = found["village"]
        phone = {lang: f"{base}/reports/print?period={pages['order-month']}&lang={lang}" for lang in ("zh", "en")}
        widths = each_page(chrome, "phone", phone, lambda _: chrome.execute_script(TITLE_WIDTH))
        seen.update({f"title-width-{lang}": width for lang, width in widths.items()})
        return seen

    seen = await asyncio.to_thread(run)
    en, zh = str(seen["closed-en"]), str(seen["closed-zh"])
    assert "Period: " in en and "(sha256): " in en and not CHINESE_PUNCT_AFTER_ENGLISH.findall(en), en
    assert "期间：" in zh and "（sha256）：" in zh, zh
    cards = str(seen["cards-en"])
    assert re.search(r"\d+/\d+ points", cards) and "Points" not in cards, cards
    for lang in ("zh", "en"):  # the work order's title reads in lines of words, not two characters
        width = seen[f"title-width-{lang}"]
        assert width is not None and float(width) >= 150, (lang, width)  # type: ignore[arg-type]


# the API page on a phone: its parameter cards (a cell's label, its visible cells) and its answers' columns
API_CARDS = """
const td = document.querySelector('table.api.params tbody td[data-label]');
const card = td.closest('tr');
return [getComputedStyle(td, '::before').content, getComputedStyle(card).display,
        document.querySelector('table.api.answers').querySelectorAll('thead th').length,
        [...document.querySelectorAll('table.api.params thead')].every(h => !h.getClientRects().length)];"""

# the printable report on a phone: the summary's first row (a card) and its labelled cells
REPORT_CARD = """
const tr = document.querySelector('table.report.summary tbody tr');
return [getComputedStyle(tr).display, tr.querySelector('td.title').textContent.trim(),
        getComputedStyle(tr.querySelector('td[data-label]'), '::before').content,
        tr.querySelector('td.title').getBoundingClientRect().width];"""


async def test_api_page_and_printable_report_fit_a_phone_inside_too(live: Live, chrome: webdriver.Chrome) -> None:
    """No table on these two pages is wider than its box on a 390 px phone (each_page checks every
    table): the report's rows and the API's parameters read as labelled cards. At desktop size
    (and printed on A4) the tables stay tables."""
    pages = await _setup(live)
    base = f"http://127.0.0.1:{live.server.port}"

    def run() -> dict[str, object]:
        log_in(chrome, base, *ADMIN)
        seen: dict[str, object] = {}
        for lang in ("zh", "en"):
            for kind in ("phone", "desktop"):
                urls = {"api": f"{base}/api?lang={lang}",
                        "print": f"{base}/reports/print?period={pages['order-month']}&lang={lang}",
                        "closed": f"{base}/reports/print?period={pages['last-month']}&lang={lang}"}
                found = each_page(chrome, kind, urls, lambda name: chrome.execute_script(
                    API_CARDS if name == "api" else REPORT_CARD))
                seen.update({f"{name}-{lang}-{kind}": value for name, value in found.items()})
        return seen

    seen = await asyncio.to_thread(run)
    for lang, label in (("zh", '"类型："'), ("en", '"Type: "')):
        content, display, answer_cols, hidden = seen[f"api-{lang}-phone"]  # type: ignore[misc]
        assert (content, display, answer_cols, hidden) == (label, "block", 3, True), lang
        assert seen[f"api-{lang}-desktop"][1] == "table-row", lang  # type: ignore[index]
    for name in ("print", "closed"):
        for lang, label in (("zh", '"摄像机数："'), ("en", '"Cameras: "')):
            display, title, content, width = seen[f"{name}-{lang}-phone"]  # type: ignore[misc]
            assert display == "flex" and title and width >= 300, (name, lang, display, title, width)
            assert content == label, (name, lang, content)
            assert seen[f"{name}-{lang}-desktop"][0] == "table-row", (name, lang)  # type: ignore[index]
