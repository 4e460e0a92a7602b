"""What the console says when something is wrong, through the real web app (the seeded month of
``test_web_reports``, not probing): a report period that cannot be read names the form's field in
the reader's words (期间 / period), never the CLI's ``--month``; the period list and the rate's
uncertainty read in the reader's language; an unknown page is the console's 未找到 page (404) and a
trailing slash is sent to the page without it, while ``/api/`` keeps its JSON; a stale form and a
role that may not act get console pages with a link back (the API keeps its JSON)."""

from __future__ import annotations

import html as htmllib
import re

import aiohttp
import pytest

from collector.reports.model import Kind
from collector.reports.periods import PeriodError, parse_label
from collector.web import accounts
from tests.collector.test_web_reports import Site, fetch, http, site, text, token

ON_LOOP = pytest.mark.asyncio(loop_scope="module")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PW = "a-long-enough-password"
__all__ = ["http", "site"]  # the fixtures this module uses


def main_text(html: str) -> str:
    found = re.search(r"<main>(.*)</main>", html, re.S)
    return htmllib.unescape(text(found.group(1) if found else html))


def test_the_cli_keeps_its_option_names() -> None:
    for kind, label, option in ((Kind.MONTHLY, "bad", "--month"), (Kind.QUARTERLY, "2026Q5", "--quarter")):
        with pytest.raises(PeriodError) as err:
            parse_label(kind, label, "Asia/Shanghai")
        assert err.value.words("zh").startswith(f"{option} “{label}”")
    with pytest.raises(PeriodError) as err:
        parse_label(Kind.MONTHLY, "bad", "Asia/Shanghai", option="期间")
    assert err.value.words("zh").startswith("期间 “bad”：月份应写作")


@ON_LOOP
async def test_a_bad_period_names_the_field_in_the_readers_words(site: Site, http: aiohttp.ClientSession) -> None:
    admin = await token(site, "forms-admin", "admin")
    for path, zh in (("/reports?period=bad", "期间 “bad”：月份应写作 YYYY-MM"),
                     ("/reports/workbook?period=bad", "期间 “bad”：月份应写作 YYYY-MM"),
                     ("/reports/print?period=bad", "期间 “bad”：月份应写作 YYYY-MM"),
                     ("/reports?kind=quarterly&period=2026Q5", "期间 “2026Q5”：季度应写作"),
                     ("/reports?period=2030-01", "期间 “2030-01”：该期间尚未开始")):
        _, html = await fetch(http, site, path, 400, headers=admin)
        said = main_text(html)
        assert zh in said and "--" not in said and "period" not in said, (path, said)
    for path, en in (("/reports?period=bad&lang=en", "period 'bad': a month is YYYY-MM"),
                     ("/reports?period=2030-01&lang=en", "period '2030-01': the period has not begun yet")):
        _, html = await fetch(http, site, path, 400, headers=admin)
        said = main_text(html)
        assert en in said and "--month" not in said and "期间" not in said, (path, said)


@ON_LOOP
async def test_period_list_and_uncertainty_in_the_readers_language(site: Site, http: aiohttp.ClientSession) -> None:
    admin = await token(site, "forms-admin", "admin")
    _, en = await fetch(http, site, "/reports?lang=en", headers=admin)
    assert re.search(r">\d{4}-\d{2} · not closed \(to date\)</option>", en), re.findall(r"<option[^>]*>[^<]*", en)
    assert "closed(to date)" not in en
    label = site.month.label
    for path in (f"/reports?period={label}&lang=zh", f"/reports/print?period={label}&lang=zh"):
        _, zh = await fetch(http, site, path, headers=admin)
        assert re.search(r"± \d+\.\d\d 个百分点<", zh), path
        assert not re.search(r"± \d+\.\d\d pp<", zh), path
    _, en_rates = await fetch(http, site, f"/reports?period={label}&lang=en", headers=admin)
    assert re.search(r"± \d+\.\d\d pp<", en_rates) and "百分点" not in en_rates


@ON_LOOP
async def test_unknown_pages_and_trailing_slashes(site: Site, http: aiohttp.ClientSession) -> None:
    admin = await token(site, "forms-admin", "admin")
    for path, target in (("/cameras/", "/cameras"), ("/workorders/?open=false", "/workorders?open=false"),
                         ("/reports/", "/reports"), ("/exclusions/proposals/", "/exclusions/proposals")):
        async with http.get(site.u(path), headers=admin, allow_redirects=False) as r:
            assert r.status == 301 and r.headers["Location"] == target, (path, r.status, r.headers.get("Location"))
    for path in ("/regions", "/incidents", "/no-such-page", "/regions/", "//elsewhere.example/"):
        async with http.get(site.u(path), headers=admin, allow_redirects=False) as r:
            html = await r.text()
            assert r.status == 404 and r.content_type == "text/html", (path, r.status, html[:200])
            assert "未找到" in html and "404: Not Found" not in html and 'href="/"' in html
    async with http.get(site.u("/no-such-page?lang=en"), headers=admin) as r:
        html = await r.text()
        assert r.status == 404 and "Not found" in html and "未找到" not in main_text(html)
    async with http.get(site.u("/workorders/1/close?lang=zh"), headers=admin) as r:  # a form's address as a page
        html = await r.text()
        assert r.status == 405 and "未找到" in html and "Method Not Allowed" not in html and "POST" in r.headers["Allow"]
    async with http.get(site.u("/api/v1/no-such-thing"), headers=admin) as r:
        assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"
    async with http.get(site.u("/api/v1/cameras/"), headers=admin, allow_redirects=False) as r:
        assert r.status == 404 and r.content_type == "application/json"  # the API: no redirect, JSON
    async with http.get(site.u("/static/no-such.css")) as r:
        assert r.status == 404 and "未找到" not in await r.text()


async def _logged_in(site: Site, s: aiohttp.ClientSession, name: str, role: str) -> str:
    """Log *s* in as a new account of *role* through the login form; a CSRF token of its session."""
    await accounts.add_user(site.app.engine, name, role, password=PW, now=site.app.clock())
    async with s.get(site.u("/login")) as r:
        csrf = CSRF.search(await r.text())
        assert csrf
    async with s.post(site.u("/login"), data={"name": name, "password": PW, "csrf_token": csrf.group(1)},
                      allow_redirects=False) as r:
        assert r.status == 303
    async with s.get(site.u("/account")) as r:
        csrf = CSRF.search(await r.text())
        assert csrf
        return csrf.group(1)


@ON_LOOP
async def test_stale_forms_and_refusals_are_console_pages(site: Site) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        csrf = await _logged_in(site, s, "forms-duty", "duty")
        back = site.u("/exclusions?active=false")
        async with s.post(site.u("/exclusions"), data={"csrf_token": "stale", "reason": "x"},
                          headers={"Referer": back}) as r:
            html = await r.text()
            assert r.status == 403 and r.content_type == "text/html", html[:300]
            assert "表单已过期" in main_text(html) and "CSRF" in html and "missing or wrong" not in html
            assert '<a href="/exclusions?active=false">返回</a>' in html
        async with s.post(site.u("/exclusions?lang=en"), data={"csrf_token": "stale"},  # (remembered from now on)
                          headers={"Referer": "http://elsewhere.example/page"}) as r:
            html = await r.text()
            assert r.status == 403 and "Form expired" in html and "表单已过期" not in main_text(html)
            assert '<a href="/">Back</a>' in html  # never back to another site
        async with s.post(site.u("/api/v1/workorders/1/ack")) as r:  # the API keeps its JSON
            assert r.status == 403 and (await r.json())["error"]["code"] == "forbidden"
        # a role that may not: told so before the form is looked at (an empty note is not the point)
        async with s.post(site.u("/workorders/1/close?lang=zh"), data={"csrf_token": csrf, "note": ""},
                          headers={"Referer": site.u("/workorders")}) as r:
            html = await r.text()
            assert r.status == 403 and "无权关闭工单" in main_text(html) and "forms-duty" in html, html[:300]
            assert "may not close" not in html and "必填" not in html and '<a href="/workorders">返回</a>' in html
        async with s.post(site.u("/workorders/1/close?lang=en"), data={"csrf_token": csrf, "note": "x"}) as r:
            html = await r.text()
            assert r.status == 403 and "may not close work orders" in html and "无权" not in main_text(html)
        async with s.post(site.u("/exclusions?lang=zh"), data={"csrf_token": csrf, "reason": "x"}) as r:
            assert r.status == 403 and "无权新增、结束或审批报备" in main_text(await r.text())
    async with aiohttp.ClientSession() as s, s.get(site.u("/metrics")) as r:
        assert r.status == 200 and r.content_type == "text/plain"
