"""Login, sessions and parameters over real HTTP (a real App on loopback, SQLite and PostgreSQL):

- attempts sent at once cannot get past the login throttle (the reviewer's 19 wrong + 1 right
  password in parallel: all checked, seven 500s), and never answer 500;
- a logout ends the session on the server (a kept copy of the cookie read the API and minted a
  permanent token), and a new API token needs the current password;
- the current password of 修改密码 is throttled and audited like a login;
- ids and periods out of range are a 400, not a 500;
- ``http.metrics_token`` closes /metrics (not /healthz);
- an API write whose body is not declared JSON is a 415.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import func, select

from collector.reports.periods import PeriodError, parse_month, parse_quarter
from collector.runtime.app import App
from collector.web import accounts as acc
from collector.web.audit import USER_LIMIT
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.models import AuditEntry
from inventory.secrets import SecretBox
from tests.collector.test_api_support import TOKEN, api_settings
from tests.inventory.helpers import KEY, migrated

PW = "correct-horse-9"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TIMEOUT = aiohttp.ClientTimeout(total=60)


@contextlib.asynccontextmanager
async def served(url: str, **env: str) -> AsyncIterator[tuple[App, str]]:
    """A real App (not probing) on a free loopback port, its database migrated, two accounts."""
    await asyncio.to_thread(migrated, url)
    engine = create_engine(url)
    now = dt.datetime.now(dt.UTC)
    await acc.add_user(engine, "duty", "duty", password=PW, now=now)
    await acc.add_user(engine, "boss", "admin", password=PW, now=now)
    app = App(api_settings(url, **env), engine, SecretBox(KEY), http=build_application)
    server = TestServer(build_application(app), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield app, f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()
        await engine.dispose()


def client() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=TIMEOUT)


async def form_token(s: aiohttp.ClientSession, url: str) -> str:
    async with s.get(url) as r:
        found = CSRF.search(await r.text())
        assert r.status == 200 and found, r.status
        return found.group(1)


async def log_in(s: aiohttp.ClientSession, base: str, name: str = "duty", password: str = PW) -> int:
    csrf = await form_token(s, base + "/login")
    async with s.post(base + "/login", data={"name": name, "password": password, "csrf_token": csrf},
                      allow_redirects=False) as r:
        return r.status


async def audited(app: App, action: str, actor: str = "duty") -> int:
    async with app.engine.connect() as c:
        return int((await c.execute(select(func.count()).select_from(AuditEntry)
                                    .where(AuditEntry.action == action, AuditEntry.actor == actor))).scalar_one())


def run(coro: object) -> None:
    asyncio.run(asyncio.wait_for(coro, 120))  # type: ignore[arg-type]


# -- 1. the login throttle holds against attempts sent at once ----------------------------------------


def test_parallel_logins_cannot_pass_the_throttle(db_url: str) -> None:
    async def go() -> None:
        async with served(db_url) as (app, base), client() as s:
            csrf = await form_token(s, base + "/login")
            passwords = [f"wrong-guess-{i}" for i in range(19)] + [PW]

            async def attempt(password: str) -> int:
                async with s.post(base + "/login", data={"name": "duty", "password": password, "csrf_token": csrf},
                                  allow_redirects=False) as r:
                    await r.read()
                    return r.status

            statuses = await asyncio.gather(*(attempt(p) for p in passwords))
            seen = collections.Counter(statuses)
            assert set(seen) <= {401, 429, 303}, seen  # never a 500
            checked = seen[401] + seen[303]
            assert checked == USER_LIMIT and seen[429] == len(passwords) - USER_LIMIT, seen
            assert await audited(app, "login failed") == seen[401]
            assert await audited(app, "login refused") == seen[429]
            async with client() as again:
                # the right password now: logged in only if it was among the attempts checked
                assert await log_in(again, base) == (303 if seen[303] else 429)

    run(go())


# -- 2. logout ends the session; a new token needs the password ---------------------------------------


def test_logout_ends_the_session_on_the_server(tmp_path: Path) -> None:
    async def go() -> None:
        async with served(f"sqlite:///{tmp_path / 'camwatch.db'}") as (app, base):
            async with client() as s, client() as other:
                assert await log_in(s, base) == 303
                assert await log_in(other, base) == 303  # the same account in another browser
                csrf = await form_token(s, base + "/account")
                kept = {c.key: c.value for c in s.cookie_jar}
                async with s.post(base + "/logout", data={"csrf_token": csrf}, allow_redirects=False) as r:
                    assert r.status == 303
                for jar_owner in (None, other):
                    async with contextlib.AsyncExitStack() as stack:
                        t = jar_owner or await stack.enter_async_context(client())
                        if jar_owner is None:
                            t.cookie_jar.update_cookies(kept, aiohttp.client.URL(base))
                        async with t.get(base + "/api/v1/cameras") as r:
                            assert r.status == 401, await r.text()
                        async with t.post(base + "/account/tokens", data={"label": "x", "csrf_token": csrf,
                                                                           "password": PW}) as r:
                            assert r.status == 403
                            assert "cwt_" not in await r.text()
            async with client() as s:  # logging in again works
                assert await log_in(s, base) == 303
                async with s.get(base + "/api/v1/cameras") as r:
                    assert r.status == 200

    run(go())


def test_a_new_token_needs_the_current_password(tmp_path: Path) -> None:
    async def go() -> None:
        async with served(f"sqlite:///{tmp_path / 'camwatch.db'}") as (app, base), client() as s:
            assert await log_in(s, base) == 303
            csrf = await form_token(s, base + "/account")
            for given, status in (({}, 400), ({"password": "not-it-at-all"}, 400), ({"password": PW}, 200)):
                async with s.post(base + "/account/tokens", data={"label": "x", "csrf_token": csrf, **given}) as r:
                    page = await r.text()
                    assert r.status == status, (given, r.status)
                    assert ('id="new-token">cwt_' in page) is (status == 200)
            assert await audited(app, "token failed") == 1

    run(go())


# -- 3. 修改密码: the current password is throttled like a login -----------------------------------------


def test_the_current_password_of_a_change_is_throttled(tmp_path: Path) -> None:
    async def go() -> None:
        async with served(f"sqlite:///{tmp_path / 'camwatch.db'}") as (app, base), client() as s:
            assert await log_in(s, base) == 303
            csrf = await form_token(s, base + "/account")
            change = {"csrf_token": csrf, "new": "another-pass-7", "again": "another-pass-7"}
            for i in range(USER_LIMIT):
                async with s.post(base + "/account/password", data={**change, "current": f"guess-{i}-x"}) as r:
                    assert r.status == 400 and "当前密码不对" in await r.text()
            async with s.post(base + "/account/password", data={**change, "current": PW}) as r:
                assert r.status == 429 and "密码错误次数过多" in await r.text()
            assert await audited(app, "password change failed") == USER_LIMIT
            assert await audited(app, "password change refused") == 1
            assert await acc.check_login(app.engine, "duty", PW) is not None  # unchanged
            async with client() as t:
                assert await log_in(t, base) == 429  # the same throttle as the login's

    run(go())


# -- 4. numbers and periods out of range: 400 ---------------------------------------------------------


def test_ids_and_periods_out_of_range_are_a_400(tmp_path: Path) -> None:
    async def go() -> None:
        async with served(f"sqlite:///{tmp_path / 'camwatch.db'}") as (_app, base):
            auth = {"Authorization": f"Bearer {TOKEN}"}
            async with aiohttp.ClientSession(timeout=TIMEOUT, headers=auth) as s:
                for path, param in (("/api/v1/cameras/99999999999999999999", "id"),
                                    ("/api/v1/cameras/9223372036854775808", "id"),
                                    ("/api/v1/workorders/-9223372036854775809/ack", "id"),
                                    ("/api/v1/cameras?offset=9223372036854775808", "offset"),
                                    ("/api/v1/reports/9999-12", "period"),
                                    ("/api/v1/reports/9999Q4", "period")):
                    method = s.post if path.endswith("/ack") else s.get
                    async with method(base + path) as r:
                        body = await r.json()
                        assert r.status == 400 and body["error"]["code"] == "invalid_parameter", (path, body)
                        assert param in body["error"]["message"], (path, body)
                async with s.get(base + "/api/v1/cameras/9223372036854775807") as r:
                    assert r.status == 404  # in range: simply not there
            async with client() as s:
                assert await log_in(s, base) == 303
                for path in ("/reports?period=9999-12", "/reports/print?period=9999-12",
                             "/reports/workbook?period=9999-12"):
                    async with s.get(base + path) as r:
                        assert r.status == 400, (path, r.status)

    run(go())


@pytest.mark.parametrize("text", ["9999-12", "10000-01", "1969-12"])
def test_a_month_outside_the_years_is_a_period_error(text: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_month(text, "Asia/Shanghai")
    if len(text) == 7:
        assert caught.value.words("en") == f"--month {text!r}: the year must be 1970-9998"
        assert caught.value.words() == f"--month “{text}”：年份应在 1970–9998 之间"
    with pytest.raises(PeriodError):
        parse_quarter(text[:4] + "Q4", "Asia/Shanghai")
    assert parse_month("9998-12", "Asia/Shanghai").end.year == 9998  # (16:00 UTC on 31 December)


# -- 5. /metrics behind a token ----------------------------------------------------------------------


def test_metrics_token_closes_metrics_but_not_healthz(tmp_path: Path) -> None:
    secret = tmp_path / "metrics.token"
    secret.write_text("scrape-me-5511\n", encoding="utf-8")

    async def go() -> None:
        url = f"sqlite:///{tmp_path / 'camwatch.db'}"
        async with (served(url, CAMWATCH_HTTP__METRICS_TOKEN=f"file:{secret}") as (_app, base),
                    aiohttp.ClientSession(timeout=TIMEOUT) as s):
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Bearer {TOKEN}"}):
                async with s.get(base + "/metrics", headers=headers) as r:
                    text = await r.text()
                    assert r.status == 401 and "camwatch_camera" not in text, headers
                    assert r.headers["WWW-Authenticate"].startswith("Bearer")
            async with s.get(base + "/metrics", headers={"Authorization": "Bearer scrape-me-5511"}) as r:
                assert r.status == 200 and "camwatch_" in await r.text()
            async with s.get(base + "/healthz") as r:
                assert r.status == 200 and "cameras" in await r.json()
        async with (served(url.replace("camwatch.db", "other.db"),
                           CAMWATCH_HTTP__METRICS_TOKEN=f"file:{tmp_path / 'missing'}") as (_app, base),
                    aiohttp.ClientSession(timeout=TIMEOUT) as s, s.get(base + "/metrics") as r):
            assert r.status == 503  # closed while the token cannot be read
        async with (served(url.replace("camwatch.db", "third.db"), CAMWATCH_HTTP__METRICS_TOKEN="") as (_app, base),
                    aiohttp.ClientSession(timeout=TIMEOUT) as s, s.get(base + "/metrics") as r):
            assert r.status == 200  # set empty (compose's ${TOKEN:-}): not set, open as documented

    run(go())


# -- 6. JSON writes must say they are JSON -----------------------------------------------------------


def test_an_api_write_that_is_not_json_is_a_415(tmp_path: Path) -> None:
    async def go() -> None:
        async with served(f"sqlite:///{tmp_path / 'camwatch.db'}") as (_app, base):
            body = '{"region_code": "x", "start": "2026-01-01", "end": "2026-01-02", "reason": "r", "approver": "a"}'
            async with aiohttp.ClientSession(timeout=TIMEOUT) as s:
                for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
                    async with s.post(base + "/api/v1/exclusions", data=body,
                                      headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": kind}) as r:
                        got = await r.json()
                        assert r.status == 415 and set(got) == {"error"}, got
                        assert got["error"]["code"] == "unsupported_media_type"
                async with s.post(base + "/api/v1/exclusions", data=body,
                                  headers={"Authorization": f"Bearer {TOKEN}",
                                           "Content-Type": "application/json; charset=utf-8"}) as r:
                    assert r.status != 415

    run(go())
