"""``/login``, ``/logout`` and ``/account`` (change password, personal API tokens).

Rendered with the console's templates (:mod:`collector.web.pages.render`, ``templates/auth/``).
Every form carries the session's CSRF token (checked by the auth middleware before any handler
here runs). Every password check (a login, a password change, a new API token, which asks for
the current password again) is throttled per user name and per client address
(:mod:`collector.web.audit`: the attempt is reserved before the password is verified, so attempts
sent at once cannot exceed the limit), and every failed or refused check and every login is
written to the audit log (the other writes here get their row from the middleware). A logout
ends the account's sessions on the server (every cookie of it, in every browser:
:func:`collector.accounts.store.end_sessions`), not only this browser's cookie.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from collector.web import accounts
from collector.web.audit import attempt_failed, attempt_succeeded, audit, reserve_attempt, throttle_keys
from collector.web.auth import AUTH_KEY, ROLE_WORDS
from collector.web.common import camwatch
from collector.web.pages.derived import regions_of
from collector.web.pages.render import View, path_id, redirect, render, view
from collector.web.principal import principal_of
from collector.web.sessions import csrf_token, log_in, log_out

WORDS: dict[str, tuple[str, str]] = {
    "title_login": ("登录", "Log in"),
    "name": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "submit_login": ("登录", "Log in"),
    "bad_login": ("用户名或密码错误，或账户已停用", "wrong user name or password, or the account is disabled"),
    "locked": ("登录失败次数过多，请于 {until} 后再试", "too many failed logins: try again after {until}"),
    "title_logout": ("退出登录", "Log out"),
    "submit_logout": ("退出", "Log out"),
    "title_account": ("我的账户", "My account"),
    "role": ("角色", "Role"),
    "regions": ("行政区划", "Regions"),
    "all_regions": ("全县", "Whole county"),
    "contractor": ("运维单位", "Contractor"),
    "change_password": ("修改密码", "Change password"),
    "current_password": ("当前密码", "Current password"),
    "new_password": ("新密码", "New password"),
    "repeat_password": ("再输入一次", "Repeat"),
    "password_changed": ("密码已修改", "Password changed"),
    "password_wrong": ("当前密码不对", "the current password is wrong"),
    "password_locked": ("密码错误次数过多，请于 {until} 后再试", "too many wrong passwords: try again after {until}"),
    "token_password": ("新建令牌需要输入当前密码", "a new token needs the account's current password"),
    "password_mismatch": ("两次输入的新密码不一致", "the new passwords differ"),
    "password_weak": ("新密码不可用：{why}", "the new password is refused: {why}"),
    "tokens": ("个人 API 令牌", "Personal API tokens"),
    "token_label": ("用途", "Label"),
    "created": ("创建", "Created"),
    "last_used": ("最近使用", "Last used"),
    "revoked": ("已吊销", "revoked"),
    "revoke": ("吊销", "Revoke"),
    "new_token": ("新建令牌", "New token"),
    "token_once": ("新令牌只显示这一次，请立即复制保存：", "The new token is shown only this once: copy it now:"),
    "token_usage": ("用法：Authorization: Bearer <令牌>", "Use: Authorization: Bearer <token>"),
    "no_tokens": ("还没有令牌", "no tokens yet"),
    "not_user": ("这是配置的 API 令牌，不是用户账户", "this is the configured API token, not a user account"),
}


def w(v: View, key: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if v.lang == "en" else zh).format(**values)


def _page(v: View, template: str, context: dict[str, Any], status: int = 200) -> web.Response:
    return render(v, template, {"w": lambda key, **kw: w(v, key, **kw), "csrf": _form_token(v), **context},
                  status=status)


def _form_token(v: View) -> str:
    """The session's CSRF token (the login form's too: no principal yet); none for a request made
    with an API token, which has no session (it answered 500)."""
    return "" if v.request.headers.get("Authorization") else csrf_token(v.request)


def safe_next(value: object) -> str:
    """A local path to return to after login (never another site). A browser drops tabs and line
    breaks from a URL and reads a backslash as a slash, so ``/<TAB>/evil.example`` would become
    ``//evil.example``: any control character, space or backslash makes it "/"."""
    if (isinstance(value, str) and value.startswith("/") and not value.startswith("//")
            and not any(c <= " " or c == "\x7f" or c == "\\" for c in value)):
        return value
    return "/"


async def login_form(request: web.Request) -> web.Response:
    v = view(request)
    if principal_of(request) is not None:
        raise redirect(safe_next(request.query.get("next")))
    return _page(v, "auth/login.html", {"next": safe_next(request.query.get("next")), "error": None, "name": ""})


@dataclass(frozen=True, slots=True)
class Checked:
    """A throttled password check: the (user id, session version) when right; else *locked*
    (until when the name or address is locked out: refused unchecked) or neither (wrong)."""

    found: tuple[int, str] | None
    locked: dt.datetime | None = None


async def check_password(request: web.Request, v: View, name: str, password: str, what: str) -> Checked:
    """*password* of the account *name*, checked under the login throttle: the attempt is reserved
    first (refused when locked out), given back when right; a refusal or a wrong password is
    audited as ``<what> refused`` / ``<what> failed``."""
    app = camwatch(request)
    keys = throttle_keys(name, request.remote)
    until = await reserve_attempt(app.engine, keys, v.now)
    if until is not None:
        await audit(app.engine, actor=name or "-", action=f"{what} refused", detail="throttled",
                    address=request.remote, now=v.now)
        return Checked(None, until)
    found = await accounts.check_login(app.engine, name, password)
    if found is None:
        await attempt_failed(app.engine, keys, v.now)
        await audit(app.engine, actor=name or "-", action=f"{what} failed", address=request.remote, now=v.now)
        return Checked(None)
    await attempt_succeeded(app.engine, keys)
    return Checked(found)


async def login_submit(request: web.Request) -> web.Response:
    v = view(request)
    app = camwatch(request)
    form = await request.post()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    target = safe_next(form.get("next"))
    checked = await check_password(request, v, name, password, "login")
    if checked.locked is not None:
        return _page(v, "auth/login.html", {"next": target, "name": name,
                                            "error": w(v, "locked", until=v.when(checked.locked, seconds=True))},
                     status=429)
    found = checked.found
    if found is None:
        return _page(v, "auth/login.html", {"next": target, "name": name, "error": w(v, "bad_login")}, status=401)
    await log_in(request, *found)
    await audit(app.engine, actor=name, action="login", address=request.remote, now=v.now)
    raise redirect(target)


async def logout_form(request: web.Request) -> web.Response:
    return _page(view(request), "auth/logout.html", {})


async def logout_submit(request: web.Request) -> web.Response:
    p = principal_of(request)
    if p is not None and p.user_id is not None and not request.headers.get("Authorization"):
        await accounts.end_sessions(camwatch(request).engine, p.user_id)  # a kept copy of the cookie is dead too
        request.app[AUTH_KEY].forget()
    await log_out(request)  # audited by the middleware (POST /logout)
    raise redirect("/login")


async def _account(v: View, *, message: str | None = None, error: str | None = None, token: str | None = None,
                   status: int = 200) -> web.Response:
    p = v.principal
    tokens = [] if p is None or p.user_id is None else await accounts.list_tokens(camwatch(v.request).engine, p.user_id)
    return _page(v, "auth/account.html", {"p": p, "tokens": tokens, "message": message, "error": error,
                                          "new_token": token, **await _who(v)}, status=status)


async def _who(v: View) -> dict[str, Any]:
    """The account's role in words (乡镇领导 / Township leader, not ``township``) and its regions
    by name, each linked to its page (a code no longer in the inventory is shown as it is)."""
    p = v.principal
    if p is None:
        return {"role": "", "places": []}
    zh, en = ROLE_WORDS.get(p.role, (p.role.value, p.role.value))
    regions = await regions_of(v.request) if p.regions else None
    places = [(code, regions.name(code) if regions is not None else code, regions is not None and code in regions.by_code)
              for code in sorted(p.regions)]
    return {"role": en[:1].upper() + en[1:] if v.lang == "en" else zh, "places": places}


async def account(request: web.Request) -> web.Response:
    v = view(request)
    if v.principal is None:
        raise redirect("/login?next=/account")
    return await _account(v)


def _user_id(request: web.Request) -> int:
    p = principal_of(request)
    if p is None or p.user_id is None:
        raise web.HTTPForbidden(text="not a user account / 不是用户账户")
    return p.user_id


async def change_password(request: web.Request) -> web.Response:
    v = view(request)
    app = camwatch(request)
    uid = _user_id(request)
    form = await request.post()
    current, new, again = (str(form.get(k, "")) for k in ("current", "new", "again"))
    assert v.principal is not None
    refused = await _refused(request, v, current, "password change")
    if refused is not None:
        return refused
    if new != again:
        return await _account(v, error=w(v, "password_mismatch"), status=400)
    if (why := accounts.password_problem(new)) is not None:
        return await _account(v, error=w(v, "password_weak", why=why[0] if v.lang == "zh" else why[1]), status=400)
    await accounts.set_password(app.engine, v.principal.name, new)
    request.app[AUTH_KEY].forget()
    found = await accounts.check_login(app.engine, v.principal.name, new)
    if found is not None and found[0] == uid:
        await log_in(request, *found)  # this session goes on; the others end
    return await _account(v, message=w(v, "password_changed"))


async def _refused(request: web.Request, v: View, password: str, what: str) -> web.Response | None:
    """The account page's answer when *password* is not the principal's current one (400; 429
    while locked out), else None."""
    assert v.principal is not None
    checked = await check_password(request, v, v.principal.name, password, what)
    if checked.locked is not None:
        return await _account(v, error=w(v, "password_locked", until=v.when(checked.locked, seconds=True)), status=429)
    if checked.found is None:
        return await _account(v, error=w(v, "password_wrong"), status=400)
    return None


async def create_token(request: web.Request) -> web.Response:
    """A permanent API token outlives every session: it needs the current password again (a
    session cookie or a token alone does not make one)."""
    v = view(request)
    uid = _user_id(request)
    form = await request.post()
    password = str(form.get("password", ""))
    if not password:
        return await _account(v, error=w(v, "token_password"), status=400)
    refused = await _refused(request, v, password, "token")
    if refused is not None:
        return refused
    token = await accounts.create_token(camwatch(request).engine, uid, str(form.get("label", "")), v.now)
    return await _account(v, token=token)


async def revoke_token(request: web.Request) -> web.Response:
    v = view(request)
    uid = _user_id(request)
    tid = path_id(request)
    if tid is None:
        raise web.HTTPNotFound()
    if not await accounts.revoke_token(camwatch(request).engine, uid, tid, v.now):
        raise web.HTTPNotFound()
    request.app[AUTH_KEY].forget()
    raise redirect("/account")


ROUTES = (
    ("GET", "/login", login_form), ("POST", "/login", login_submit),
    ("GET", "/logout", logout_form), ("POST", "/logout", logout_submit),
    ("GET", "/account", account), ("POST", "/account/password", change_password),
    ("POST", "/account/tokens", create_token), ("POST", "/account/tokens/{id}/revoke", revoke_token),
)


def add_routes(app: web.Application) -> None:
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)


__all__ = ["ROUTES", "add_routes", "safe_next"]
