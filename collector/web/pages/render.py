"""Jinja2 rendering of the console's pages: one environment, the words of the request's language,
and the filters every template uses (percentages, local times, durations, colours).

Templates live in ``templates/`` beside this module and are autoescaped; nothing a camera or a
user typed reaches a page unescaped.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web

from collector.web.common import camwatch
from collector.web.pages.i18n import (
    CLOCK_STATE,
    DEGRADED_ANY,
    EXCLUSION_STATUS_WORDS,
    LANG_COOKIE,
    SEVERITY_WORDS,
    STAGE_WORDS,
    STATE_WORDS,
    STATUS_WORDS,
    clock_only,
    pick,
    request_lang,
    word,
)
from collector.web.principal import Principal, principal_of
from collector.web.sessions import csrf_token
from probes.causes import Cause, cause_words
from probes.checks import problem_words
from probes.detail_words import detail_words

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PAGE_SIZE = 50
YELLOW_BAND = 0.02  # below the target by at most this: yellow, else red


def pct(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    return f"{value * 100:.{digits}f}%"


def rate_colour(ratio: float | None, target: float | None) -> str:
    """CSS class of a rate against its target: ok (met), warn (just below), bad, none."""
    if ratio is None or target is None:
        return "none"
    if ratio >= target - 1e-9:
        return "ok"
    return "warn" if ratio >= target - YELLOW_BAND else "bad"


def duration_words(seconds: float, lang: str) -> str:
    """A span's length in its largest units: 1天2小时, 3小时5分钟, 3分钟, 45秒 / 1 d 2 h, 3 h 5 min,
    3 min, 45 s (minutes are dropped once it runs to days; Chinese says 分钟 for a span of minutes)."""
    s = max(0, int(seconds))
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m = rem // 60
    if lang == "en":
        parts = [f"{d} d"] * bool(d) + [f"{h} h"] * bool(h) + [f"{m} min"] * bool(m and not d)
        return " ".join(parts) or f"{s} s"
    parts = [f"{d}天"] * bool(d) + [f"{h}小时"] * bool(h) + [f"{m}分钟"] * bool(m and not d)
    return "".join(parts) or f"{s}秒"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = pct
    return env


ENV = _env()


@dataclass(frozen=True, slots=True)
class View:
    """What a handler needs to render: the language, the time zone, the principal, now."""

    request: web.Request
    lang: str
    tz: ZoneInfo
    principal: Principal | None
    now: dt.datetime
    set_cookie: bool

    def t(self, key: str, **values: object) -> str:
        return word(key, self.lang, **values)

    def when(self, value: dt.datetime | None, seconds: bool = False) -> str:
        if value is None:
            return "—"
        return value.astimezone(self.tz).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")

    def ago(self, value: dt.datetime | None) -> str:
        if value is None:
            return "—"
        return duration_words((self.now - value).total_seconds(), self.lang)

    def lasting(self, value: dt.datetime | None) -> str:
        """How long since *value*, said as lasting: "已持续 5分钟" / "for 5 min"."""
        return "—" if value is None else self.t("lasting", d=self.ago(value))

    def lasted(self, start: dt.datetime, end: dt.datetime) -> str:
        """"历时 5分钟" / "lasted 5 min": a closed span's length."""
        return self.t("lasted", d=duration_words((end - start).total_seconds(), self.lang))

    def zone(self) -> str:
        """The time zone every time on the page is in: "本页时间均为 Asia/Shanghai（UTC+08:00）"."""
        off = self.now.astimezone(self.tz).strftime("%z")
        return self.t("times_in", zone=str(self.tz), offset=f"{off[:3]}:{off[3:]}")

    def seconds(self, value: float) -> str:
        """A signed offset in seconds to 0.1 s ("+599.7 秒"); a tiny one reads 0.0 (never "-0.0")."""
        text = "0.0" if abs(value) < 0.05 else f"{value:+.1f}"
        return f"{text} {self.t('seconds')}"

    def state(self, value: str, checks: Sequence[str] = ()) -> str:
        """A camera's state in words; degraded by its clock alone (*checks*: its failed checks)
        reads 时钟偏差 / "clock offset", not 画面异常 (the state itself stays degraded)."""
        if value == "degraded" and clock_only(checks):
            return CLOCK_STATE[self.lang == "en"]
        return pick(STATE_WORDS, value, self.lang)

    def state_any(self, value: str) -> str:
        """A state said of any camera (a filter's choice, a legend, a past span): degraded is
        the picture's or the clock's (画面或时钟异常)."""
        return DEGRADED_ANY[self.lang == "en"] if value == "degraded" else pick(STATE_WORDS, value, self.lang)

    def left_out(self, excluded: int, unknown: int) -> str:
        """What an "online/cameras · ratio" leaves out: "另有 6 台报备中" / "6 more under an
        exclusion" ("" when nothing is)."""
        parts = [self.t("left_excluded", n=excluded)] * bool(excluded) + [self.t("left_unknown", n=unknown)] * bool(unknown)
        if not parts:
            return ""
        if self.lang == "en":  # "6 more under an exclusion, 2 more of unknown state"
            return ", ".join(parts)
        return self.t("left_out", what="、".join(parts))

    def stage(self, value: str) -> str:
        """A probe stage's name in words (连通 / 取流 / ONVIF / 画面)."""
        return pick(STAGE_WORDS, value, self.lang)

    def detail(self, value: str) -> str:
        """A probe stage's detail: in Chinese its common phrases are translated, the rest shown as it is."""
        return detail_words(value, self.lang)

    def status(self, value: str) -> str:
        return pick(STATUS_WORDS, value, self.lang)

    def xstatus(self, value: str) -> str:
        """An exclusion's status in words (待审批, 已批准, ...)."""
        return pick(EXCLUSION_STATUS_WORDS, value, self.lang)

    def severity(self, value: str) -> str:
        return pick(SEVERITY_WORDS, value, self.lang)

    def cause(self, value: str | Cause | None) -> str:
        if value is None or value == "":
            return "—"
        try:
            return cause_words(Cause(value), self.lang)
        except ValueError:
            return str(value)

    def checks(self, names: tuple[str, ...] | list[str]) -> str:
        return problem_words(list(names), self.lang) if names else "—"

    def url(self, path: str, **query: object) -> str:
        q = {k: v for k, v in query.items() if v not in (None, "")}
        return path + ("?" + urlencode(q) if q else "")

    def query_with(self, **changes: object) -> str:
        """The current URL with some query parameters changed (None drops one)."""
        q: dict[str, Any] = dict(self.request.query)
        for k, v in changes.items():
            if v is None or v == "":
                q.pop(k, None)
            else:
                q[k] = v
        return self.request.path + ("?" + urlencode(q) if q else "")


def view(request: web.Request) -> View:
    app = camwatch(request)
    lang, set_cookie = request_lang(request, app.settings.language)
    return View(request, lang, ZoneInfo(app.settings.accounting.timezone), principal_of(request), app.clock(), set_cookie)


@dataclass(frozen=True, slots=True)
class Paged:
    items: list[Any]
    page: int
    pages: int
    total: int


def paginate(items: list[Any], request: web.Request, size: int = PAGE_SIZE,
             shape: Callable[[list[Any]], list[Any]] | None = None) -> Paged:
    """One page of *items* (``?page=``); *shape* turns only that page's items into what the template shows."""
    try:
        page = max(1, int(request.query.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, math.ceil(len(items) / size))
    page = min(page, pages)
    chosen = items[(page - 1) * size: page * size]
    return Paged(shape(chosen) if shape is not None else chosen, page, pages, len(items))


def render(v: View, template: str, context: Mapping[str, Any], *, status: int = 200) -> web.Response:
    other = "en" if v.lang == "zh" else "zh"
    body = ENV.get_template(template).render(
        v=v, t=v.t, lang=v.lang, user=v.principal, switch_url=v.query_with(lang=other), **context)
    resp = web.Response(text=body, status=status, content_type="text/html", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store",
                                 "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                                            "script-src 'self'; form-action 'self'; frame-ancestors 'none'",
                                 "Referrer-Policy": "same-origin"})
    if v.set_cookie:
        resp.set_cookie(LANG_COOKIE, v.lang, max_age=365 * 86400, httponly=True, samesite="Lax", path="/")
    return resp


def form_token(v: View) -> str:
    """The CSRF token for the page's forms: the session's (a request authenticated by a bearer
    token has no session and needs none); "" when anonymous (no forms are shown)."""
    if v.principal is None or v.request.headers.get("Authorization"):
        return ""
    return csrf_token(v.request)


def path_id(request: web.Request, name: str = "id") -> int | None:
    """The integer id in the page's path, None when it is not one (the page answers 404)."""
    try:
        return int(request.match_info[name])
    except ValueError:
        return None


def not_found_page(v: View) -> web.Response:
    return render(v, "not_found.html", {}, status=404)


def redirect(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)
