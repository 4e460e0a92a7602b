"""What every API handler shares: JSON responses and errors (query parameters: :mod:`collector.web.params`).

Errors are raised as :class:`ApiError` and turned into ``{"error": {"code", "message"}}`` by
:func:`error_middleware`, which also maps aiohttp's own 404/405 and unexpected failures on
``/api/`` paths to the same shape.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal

import aiohttp.typedefs
from aiohttp import web

from collector.runtime.app import App

log = logging.getLogger("camwatch.web")
APP_KEY: web.AppKey[App] = web.AppKey("camwatch", App)
API_PREFIX = "/api/v1"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = aiohttp.typedefs.Middleware


class ApiError(Exception):
    """An error answered as JSON; ``param`` names the offending parameter or field."""

    def __init__(self, status: int, code: str, message: str, *, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = f"{param}: {message}" if param else message
        self.param = param
        self.headers = headers or {}


def bad_param(param: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", message, param=param)


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def _default(value: object) -> object:
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: object) -> str:
    return json.dumps(data, ensure_ascii=False, default=_default)


def json_response(data: object, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=dumps(data), status=status, content_type="application/json", charset="utf-8",
                        headers=headers)


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


def iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).isoformat()


def ratio(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def camwatch(request: web.Request) -> App:
    return request.app[APP_KEY]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/"):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as exc:
        return json_response(error_body(exc.code, exc.message), status=exc.status, headers=exc.headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status, "http_error")
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return json_response(error_body(code, exc.reason), status=exc.status, headers=headers)
    except Exception:
        log.exception("API request %s %s failed", request.method, request.path)
        return json_response(error_body("internal", "internal error (see the collector log)"), status=500)
