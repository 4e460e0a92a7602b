"""Who is asking (session cookie, personal token, the configured API token) and whether they may.

The middleware puts a :class:`~collector.web.principal.Principal` (or None) on every request under
``PRINCIPAL_KEY``:

- ``Authorization: Bearer <http.api_token>``: the admin principal ``api-token``;
- ``Authorization: Bearer cwt_...``: the personal token's user (:mod:`collector.web.accounts`);
- else the session cookie's user (:mod:`collector.web.sessions`), if enabled and its password
  unchanged since login.

Then, outside :data:`PUBLIC` paths: a read without a principal passes only under the anonymous
rule (:func:`~collector.web.principal.anonymous_reads`: no account exists and ``http.open_reads``);
otherwise the API answers 401 (403 when no token is configured and no account exists: writes
and closed reads are then disabled) and a page redirects to ``/login``. A write (POST, PUT, PATCH,
DELETE) needs a principal; under ``/api/`` also the action its route declares (403
otherwise). A write authenticated by the session cookie (pages, or the API from a page's script)
must carry the session's CSRF token (403 otherwise). A page's refusal is a :class:`Refused` (the
server shows it as a console page in the reader's language, :mod:`collector.web.server`); the
API's is JSON. Every successful write by a principal gets
an audit row (:mod:`collector.web.audit`). Handlers then scope what they read with
:mod:`collector.web.scope`.

An API write with a body must send it as ``Content-Type: application/json`` (or ``+json``): any
other declared type (``text/plain``, a form: what a page of another site can send without asking)
is answered 415 before the handler reads the body. A body with no type, or the generic
``application/octet-stream`` (some clients' default for raw bytes), is read as JSON.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.settings import HttpSettings
from collector.web import accounts
from collector.web.audit import AUDIT_DETAIL, audit
from collector.web.common import ApiError, Handler, Middleware
from collector.web.principal import PRINCIPAL_KEY, Action, Principal, Role, anonymous_reads, principal_of
from collector.web.sessions import COOKIE, UNSAFE, csrf_ok, load

TOKEN_ENV = "CAMWATCH_HTTP__API_TOKEN"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="camwatch"'}
API_TOKEN_NAME = "api-token"
PUBLIC = frozenset({"/login", "/healthz", "/metrics"})
PUBLIC_PREFIXES = ("/static/",)
CACHE_S = 2.0  # how long a user's principal / "accounts exist" is reused (a disable takes effect within it)

T = TypeVar("T")

# what a refused page says (the server's error pages): the role and the action in words
ROLE_WORDS: dict[str, tuple[str, str]] = {
    Role.ADMIN: ("管理员", "administrator"), Role.ASSESSOR: ("考核人员", "assessor"),
    Role.CONTRACTOR: ("运维单位", "contractor"), Role.TOWNSHIP: ("乡镇领导", "township leader"),
    Role.DUTY: ("值班人员", "duty officer")}
ACTION_WORDS: dict[str, tuple[str, str]] = {
    Action.ACK_WORKORDER: ("确认工单", "acknowledge work orders"),
    Action.CLOSE_WORKORDER: ("关闭工单", "close work orders"),
    Action.PROPOSE_EXCLUSION: ("申请报备", "propose exclusions"),
    Action.APPROVE_EXCLUSION: ("新增、结束或审批报备", "add, end or decide exclusions"),
    Action.SILENCE: ("设置告警静默", "silence alerts"),
    Action.ADMIN: ("执行管理操作", "administer camwatch")}


class Refused(web.HTTPForbidden):
    """A page's 403: *why* is ``csrf`` (the form's token missing or stale), ``login`` (a write
    without a login) or ``action`` (the principal's role may not do *action*). Its plain text (both
    languages) is what a client that is not shown the console's page gets."""

    def __init__(self, why: str, text: str, principal: Principal | None = None, action: Action | None = None) -> None:
        super().__init__(text=text)
        self.why, self.principal, self.action = why, principal, action

    def words(self, lang: str) -> tuple[str, str]:
        """(title, text) of the console's page in *lang*."""
        en = lang == "en"
        if self.why == "csrf":
            return (("Form expired", "The form has expired or lacks its security token (CSRF): go back, reload "
                     "the page and send it again.") if en else
                    ("表单已过期", "表单已过期或缺少安全令牌（CSRF）：请返回、刷新页面后重新提交。"))
        if self.why == "login":
            return ("Please log in first", "Log in to do this.") if en else ("请先登录", "登录后才能执行此操作。")
        p, act = self.principal, ACTION_WORDS.get(self.action or "", ("执行此操作", "do this"))
        if p is None:
            return ("Not allowed", f"You may not {act[1]}.") if en else ("无权操作", f"您无权{act[0]}。")
        role = ROLE_WORDS.get(p.role, (str(p.role), str(p.role)))
        return (("Not allowed", f"The account {p.name} ({role[1]}) may not {act[1]}.") if en else
                ("无权操作", f"账户 {p.name}（{role[0]}）无权{act[0]}。"))


@dataclass
class AuthState:
    """Per application: the settings, the database and short-lived caches."""

    http: HttpSettings
    engine: AsyncEngine
    clock: Callable[[], dt.datetime]
    cache_s: float = CACHE_S
    _cache: dict[object, tuple[float, object]] = field(default_factory=dict)

    async def cached(self, key: object, make: Callable[[], Awaitable[T]]) -> T:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]  # type: ignore[return-value]
        value = await make()
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now + self.cache_s, value)
        return value

    def forget(self) -> None:
        self._cache.clear()

    async def accounts_exist(self) -> bool:
        return await self.cached("accounts_exist", lambda: accounts.accounts_exist(self.engine))


AUTH_KEY: web.AppKey[AuthState] = web.AppKey("camwatch_auth", AuthState)


def _presented(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def _from_bearer(state: AuthState, given: str) -> Principal | None:
    expected = state.http.api_token
    if expected and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        return Principal(API_TOKEN_NAME, Role.ADMIN)
    if given.startswith(accounts.TOKEN_PREFIX):
        now = state.clock()
        return await state.cached(("token", accounts.token_hash(given)),
                                  lambda: accounts.principal_for_token(state.engine, given, now))
    return None


async def _from_session(state: AuthState, request: web.Request) -> Principal | None:
    session = await load(request)
    uid, ver = session.get("uid"), session.get("ver")
    if not isinstance(uid, int) or not isinstance(ver, str):
        return None
    principal = await state.cached(("user", uid, ver), lambda: accounts.principal_for_user(state.engine, uid, ver))
    if principal is None:
        session.invalidate()  # disabled, or the password changed: log out
    return principal


def is_public(path: str, open_paths: frozenset[str]) -> bool:
    return path in PUBLIC or path in open_paths or path.startswith(PUBLIC_PREFIXES)


async def _refuse(request: web.Request, state: AuthState, what: str, bad_token: bool) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        if not state.http.api_token and not await state.accounts_exist():
            raise ApiError(403, "forbidden", f"API {what} are disabled: no API token is configured "
                           f"(set {TOKEN_ENV} or http.api_token) and no account exists (camwatch users add)")
        if bad_token:
            raise ApiError(401, "unauthorized", "invalid API token", headers=_CHALLENGE)
        raise ApiError(401, "unauthorized", f"API {what} need 'Authorization: Bearer <token>' or a login",
                       headers=_CHALLENGE)
    if request.method in UNSAFE:
        raise Refused("login", "login required / 需要登录")
    target = request.path_qs
    raise web.HTTPFound("/login?" + urllib.parse.urlencode({"next": target}))


def action_of(request: web.Request, actions: Mapping[tuple[str, str], Action]) -> Action:
    """What the API write needs: its route's declared action (collector.web.openapi), else ADMIN."""
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else request.path
    return actions.get((request.method, canonical), Action.ADMIN)


def forbidden(request: web.Request, message: str, why: str = "action", action: Action | None = None) -> Exception:
    if request.path.startswith("/api/"):
        return ApiError(403, "forbidden", message)
    return Refused(why, message, principal_of(request), action)


def require(request: web.Request, action: Action) -> Principal:
    """The principal, if it may do *action* (pages call this before a write); 403 otherwise."""
    p = principal_of(request)
    if p is None or not p.can(action):
        who = "anonymous" if p is None else f"{p.name} ({p.role})"
        raise forbidden(request, f"{who} may not {action.value.replace('_', ' ')} / 无权执行此操作", action=action)
    return p


def json_only(request: web.Request) -> None:
    """415 for an API write whose body is declared as something other than JSON (a body without a
    type, or typed only as bytes, is read as JSON)."""
    declared = request.headers.get("Content-Type")
    if not request.body_exists or declared is None:
        return
    kind = request.content_type.lower()
    if kind not in ("application/json", "application/octet-stream") and not (
            kind.startswith("application/") and kind.endswith("+json")):
        raise ApiError(415, "unsupported_media_type",
                       f"the request body must be JSON (Content-Type: application/json), not {kind}")


def auth_middleware(state: AuthState, open_paths: frozenset[str],
                    actions: Mapping[tuple[str, str], Action]) -> Middleware:
    @web.middleware
    async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        api = request.path.startswith("/api/")
        write = request.method in UNSAFE
        given = _presented(request)
        principal: Principal | None = None
        if given is not None:
            principal = await _from_bearer(state, given)
        elif COOKIE in request.cookies:
            principal = await _from_session(state, request)
        by_cookie = given is None and principal is not None
        request[PRINCIPAL_KEY] = principal
        if not api and given is None:
            await load(request)  # pages: csrf_token(request) works without awaiting
        if write and (by_cookie or (not api and given is None)) and not await csrf_ok(request):
            raise forbidden(request, "missing or wrong CSRF token / 表单已过期，请刷新页面后重试", "csrf")
        if is_public(request.path, open_paths):
            return await handler(request)  # e.g. the login form: CSRF-checked above, no principal needed
        if principal is None and (write or given is not None
                                  or not anonymous_reads(state.http.open_reads, await state.accounts_exist())):
            return await _refuse(request, state, "writes" if write else "reads", given is not None)
        if write and api:
            require(request, action_of(request, actions))
            json_only(request)
        if not write or principal is None:
            return await handler(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400:  # a page's redirect after a successful form
                await _audit_write(state, request, principal, exc.status)
            raise
        if response.status < 400:
            await _audit_write(state, request, principal, response.status)
        return response

    return mw


async def _audit_write(state: AuthState, request: web.Request, principal: Principal, status: int) -> None:
    resource = request.match_info.route.resource
    canonical = resource.canonical if resource is not None else request.path
    obj = json.dumps(dict(request.match_info), ensure_ascii=False) if request.match_info else None
    said = request.get(AUDIT_DETAIL)
    await audit(state.engine, actor=principal.name, action=f"{request.method} {canonical}", obj=obj,
                detail=f"status {status}" + (f"; {said}" if said else ""), address=request.remote, now=state.clock())


__all__ = ["AUTH_KEY", "AuthState", "PUBLIC", "Refused", "TOKEN_ENV", "action_of", "auth_middleware", "require"]
