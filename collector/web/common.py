"""What every API handler shares: JSON responses, errors, paging and query parameters.

Errors are raised as :class:`ApiError` and turned into ``{"error": {"code", "message"}}`` by
:func:`error_middleware`, which also maps aiohttp's own 404/405 and unexpected failures on
``/api/`` paths to the same shape.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any, TypeVar

import aiohttp.typedefs
from aiohttp import web

from collector.accounting import Period
from collector.accounting.sql.load import parse_period
from collector.runtime.app import App

log = logging.getLogger("camwatch.web")
APP_KEY: web.AppKey[App] = web.AppKey("camwatch", App)
API_PREFIX = "/api/v1"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
E = TypeVar("E", bound=StrEnum)
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


# -- query parameters ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int

    def apply(self, items: Sequence[Any]) -> dict[str, Any]:
        return {"items": list(items[self.offset:self.offset + self.limit]), "total": len(items),
                "limit": self.limit, "offset": self.offset}


def _int(request: web.Request, name: str, default: int, lo: int, hi: int | None) -> int:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise bad_param(name, f"not an integer: {text!r}") from None
    if value < lo or (hi is not None and value > hi):
        bound = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise bad_param(name, f"must be {bound} (got {value})")
    return value


def page(request: web.Request) -> Page:
    return Page(_int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT), _int(request, "offset", 0, 0, None))


def choice(request: web.Request, name: str, enum: type[E], default: E | None = None,
           allowed: Iterable[E] | None = None) -> E | None:
    """An enum-valued query parameter; unknown values name the parameter and the choices."""
    text = request.query.get(name)
    if text is None or text == "":
        return default
    options = list(allowed) if allowed is not None else list(enum)
    for member in options:
        if member.value == text:
            return member
    raise bad_param(name, f"unknown value {text!r} (one of: {', '.join(m.value for m in options)})")


def choice_or(request: web.Request, name: str, enum: type[E], default: E) -> E:
    value = choice(request, name, enum)
    return default if value is None else value


def text_param(request: web.Request, name: str) -> str | None:
    text = request.query.get(name)
    return text if text else None


def period_param(request: web.Request, tz: str, now: dt.datetime) -> Period | None:
    """``from``/``to`` as the CLI takes them (local dates, end inclusive, or ISO date-times);
    None when neither is given."""
    start, end = text_param(request, "from"), text_param(request, "to")
    if start is None and end is None:
        return None
    return parse_period_params(start, end, tz, now)


def parse_period_params(start: str | None, end: str | None, tz: str, now: dt.datetime) -> Period:
    for name, value in (("from", start), ("to", end)):
        if value is None:
            continue
        try:
            parse_period(value if name == "from" else None, value if name == "to" else None, tz, now)
        except ValueError as exc:
            if "ends before it starts" in str(exc):
                continue  # only meaningful together with the other bound
            raise bad_param(name, f"not a date (YYYY-MM-DD) or ISO 8601 date-time: {value!r}") from None
    try:
        return parse_period(start, end, tz, now)
    except ValueError:
        raise bad_param("to", "the period ends before it starts") from None


def path_int(request: web.Request, name: str) -> int:
    text = request.match_info[name]
    try:
        return int(text)
    except ValueError:
        raise bad_param(name, f"not an integer: {text!r}") from None
