"""Query and path parameters of the API: paging, enum choices, periods; a bad value raises an
:class:`~collector.web.common.ApiError` that names the parameter. Integers are bounded to the
database's 64-bit range (:data:`INT64_MIN`..:data:`INT64_MAX`): a larger one is a 400, never a
500 from the database driver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from aiohttp import web

from collector.accounting import Period
from collector.accounting.timeparse import TimeParseError, parse_period
from collector.web.common import bad_param

DEFAULT_LIMIT = 100
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1  # what a BIGINT (and SQLite's INTEGER) holds
MAX_LIMIT = 1000
E = TypeVar("E", bound=StrEnum)
# the query parameters the route declares (collector.web.spec.Route puts them on the request)
QUERY_NAMES: web.RequestKey[frozenset[str]] = web.RequestKey("camwatch_query_names", frozenset)


def query(request: web.Request, name: str) -> str | None:
    """The raw query parameter *name*; reading one the route's declaration does not name is a bug."""
    declared = request.get(QUERY_NAMES)
    if declared is not None and name not in declared:
        raise RuntimeError(f"{request.method} {request.path}: reads the undeclared query parameter {name!r}")
    return request.query.get(name)


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int

    def apply(self, items: Sequence[Any]) -> dict[str, Any]:
        return {"items": list(items[self.offset:self.offset + self.limit]), "total": len(items),
                "limit": self.limit, "offset": self.offset}


def parse_int(name: str, text: str, lo: int = INT64_MIN, hi: int | None = None) -> int:
    """*text* as an integer in [*lo*, *hi*] (*hi* None: the 64-bit maximum); 400 naming *name*
    otherwise (a value too long to be a 64-bit integer is not repeated whole)."""
    top = INT64_MAX if hi is None else hi
    shown = text if len(text) <= 40 else text[:40] + "…"
    try:
        value = int(text) if len(text) <= 40 else None
    except ValueError:
        value = None
    if value is None:
        if text.strip().lstrip("+-").isdigit():
            raise bad_param(name, f"out of range: {shown!r}")
        raise bad_param(name, f"not an integer: {shown!r}")
    low, high = max(lo, INT64_MIN), min(top, INT64_MAX)
    if not low <= value <= high:
        bound = f"at least {lo}" if hi is None and value < low else f"between {low} and {high}"
        raise bad_param(name, f"must be {bound} (got {value})")
    return value


def int_param(request: web.Request, name: str, default: int, lo: int, hi: int | None) -> int:
    text = query(request, name)
    if text is None or text == "":
        return default
    return parse_int(name, text, lo, hi)


def id_param(request: web.Request, name: str) -> int | None:
    """An optional id (``camera_id=5``): a 64-bit integer, None when not given."""
    text = text_param(request, name)
    return None if text is None else parse_int(name, text)


def page(request: web.Request) -> Page:
    return Page(int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT), int_param(request, "offset", 0, 0, None))


def choice(request: web.Request, name: str, enum: type[E], default: E | None = None,
           allowed: Iterable[E] | None = None) -> E | None:
    """An enum-valued query parameter; unknown values name the parameter and the choices."""
    text = query(request, name)
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
    text = query(request, name)
    return text if text else None


def flag(request: web.Request, name: str) -> bool | None:
    """``true`` or ``false``; None when not given."""
    text = text_param(request, name)
    if text is None:
        return None
    if text not in ("true", "false"):
        raise bad_param(name, f"must be true or false (got {text!r})")
    return text == "true"


def period_param(request: web.Request, tz: str, now: dt.datetime) -> Period | None:
    """``from``/``to`` as the CLI takes them (local dates, end inclusive, or ISO date-times);
    None when neither is given."""
    start, end = text_param(request, "from"), text_param(request, "to")
    if start is None and end is None:
        return None
    return parse_period_params(start, end, tz, now)


def parse_period_params(start: str | None, end: str | None, tz: str, now: dt.datetime) -> Period:
    """``from``/``to`` read as the CLI reads ``--from``/``--to`` (:mod:`collector.accounting.timeparse`)."""
    try:
        return parse_period(start, end, tz, now, names=("from", "to"))
    except TimeParseError as exc:
        raise bad_param(exc.option, exc.detail("en")) from None


def path_int(request: web.Request, name: str) -> int:
    return parse_int(name, request.match_info[name])
