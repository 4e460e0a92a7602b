"""Login sessions in encrypted cookies, and the CSRF token every form carries.

The cookie (``camwatch_session``) is a Fernet token (aiohttp-session's EncryptedCookieStorage)
holding the user id, a version (a fingerprint of the password hash and of the user's session
generation ``users.session_gen``) and the CSRF token. The version is checked against the database
on every request (cached :data:`collector.web.auth.CACHE_S` seconds): a new password, a disabled
account or a logout (which adds one to the generation) ends every session of the account,
also a copy of the cookie kept after it. HttpOnly, SameSite=Lax, Secure when the request came
over https (directly or ``X-Forwarded-Proto: https`` from a proxy), valid :data:`MAX_AGE` seconds
after login. The key is derived from the secret key (``CAMWATCH_SECRET_KEY`` or
``secrets.key_file``, the one that encrypts camera passwords) so sessions survive a restart;
without one a random key is used and sessions end with the process.

Pages: put ``csrf_token(request)`` in a hidden ``csrf_token`` field of every form (or send it as
``X-CSRF-Token``); the auth middleware refuses any POST/PUT/PATCH/DELETE without it (403).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets

from aiohttp import web
from aiohttp_session import SESSION_KEY, Session, get_session, new_session
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from collector.settings import Settings
from inventory.secrets import load_key

log = logging.getLogger("camwatch.web")
COOKIE = "camwatch_session"
MAX_AGE = 12 * 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def session_key(settings: Settings) -> bytes:
    material = load_key(os.environ, settings.secrets.key_file)
    if not material:
        log.warning("no secret key (CAMWATCH_SECRET_KEY or secrets.key_file): console logins end when camwatch stops")
        return secrets.token_bytes(32)
    return hmac.new(material.encode("utf-8"), b"camwatch web sessions v1", hashlib.sha256).digest()


def is_https(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


class CookieStorage(EncryptedCookieStorage):
    """EncryptedCookieStorage whose cookie is Secure exactly when the request came over https."""

    def __init__(self, key: bytes) -> None:
        super().__init__(key, cookie_name=COOKIE, max_age=MAX_AGE, httponly=True, samesite="Lax")

    async def save_session(self, request: web.Request, response: web.StreamResponse, session: Session) -> None:
        self._cookie_params["secure"] = is_https(request)
        await super().save_session(request, response, session)


async def load(request: web.Request) -> Session:
    return await get_session(request)


def _session(request: web.Request) -> Session:
    session = request.get(SESSION_KEY)
    if session is None:  # the auth middleware loads it for every page request
        raise RuntimeError("no session loaded: is the auth middleware installed?")
    return session  # type: ignore[no-any-return]


def csrf_token(request: web.Request) -> str:
    """The session's CSRF token (made on first use); put it in every form."""
    session = _session(request)
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


async def csrf_ok(request: web.Request) -> bool:
    """Whether an unsafe request carries the session's CSRF token (header or form field)."""
    expected = (await load(request)).get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = (await request.post()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    return isinstance(expected, str) and given is not None and hmac.compare_digest(given.encode(), expected.encode())


async def log_in(request: web.Request, user_id: int, version: str) -> None:
    """A fresh session (new CSRF token) for the user: the old cookie's contents are dropped."""
    session = await new_session(request)
    session.update({"uid": user_id, "ver": version, "csrf": secrets.token_urlsafe(32)})


async def log_out(request: web.Request) -> None:
    (await load(request)).invalidate()


__all__ = ["COOKIE", "CSRF_FIELD", "CSRF_HEADER", "CookieStorage", "csrf_ok", "csrf_token", "log_in", "log_out",
           "session_key"]
