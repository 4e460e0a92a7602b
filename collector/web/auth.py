"""Bearer-token checks: writes always need ``settings.http.api_token``; reads only when
``settings.http.open_reads`` is false.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from collector.settings import HttpSettings
from collector.web.common import ApiError, Handler, Middleware

TOKEN_ENV = "CAMWATCH_HTTP__API_TOKEN"
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="camwatch"'}


def _configured(http: HttpSettings) -> str | None:
    token = http.api_token
    return token if token else None


def _presented(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _check(request: web.Request, http: HttpSettings, what: str) -> None:
    expected = _configured(http)
    if expected is None:
        raise ApiError(403, "forbidden", f"API {what} are disabled: no API token is configured "
                       f"(set {TOKEN_ENV} or http.api_token)")
    given = _presented(request)
    if given is None:
        raise ApiError(401, "unauthorized", f"API {what} need 'Authorization: Bearer <token>'", headers=_CHALLENGE)
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise ApiError(401, "unauthorized", "invalid API token", headers=_CHALLENGE)


def require_write(request: web.Request, http: HttpSettings) -> None:
    _check(request, http, "writes")


def require_read(request: web.Request, http: HttpSettings) -> None:
    if not http.open_reads:
        _check(request, http, "reads")


def auth_middleware(http: HttpSettings, open_paths: frozenset[str]) -> Middleware:
    """Reads (GET, HEAD) and writes (anything else) under /api/ checked before the handler runs."""

    @web.middleware
    async def mw(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/api/") and request.path not in open_paths:
            if request.method in ("GET", "HEAD", "OPTIONS"):
                require_read(request, http)
            else:
                require_write(request, http)
        return await handler(request)

    return mw
