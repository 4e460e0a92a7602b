"""``/api/v1/rates`` and ``/api/v1/coverage``: the CLI's tables over HTTP."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from collector.accounting import Level
from collector.accounting.sql.load import load_accounting
from collector.accounting.sql.rate_tables import CoverageLevel, Method, RateQuery, coverage_table, load_rate_table
from collector.accounting.timeparse import parse_period
from collector.web.common import camwatch, json_response
from collector.web.params import choice_or, int_param, period_param
from collector.web.scope import filter_rows


def check_times(values: list[str]) -> tuple[dt.time, ...]:
    return tuple(dt.time.fromisoformat(c) for c in values)


async def get_rates(request: web.Request) -> web.Response:
    app = camwatch(request)
    a = app.settings.accounting
    level = choice_or(request, "level", Level, Level.TOWNSHIP)
    method = choice_or(request, "method", Method, Method.TIME)
    now = app.clock()
    period = period_param(request, a.timezone, now) or parse_period(None, None, a.timezone, now)
    rank = int_param(request, "rank", 0, 0, 1) == 1
    q = RateQuery(level, method, period, now, a.timezone, check_times(a.check_times), rank=rank)
    table = await load_rate_table(app.engine, q, default_target=a.target)
    table["rows"] = await filter_rows(request, level.value, table["rows"], "key")  # the principal's scope
    return json_response(table)


async def get_coverage(request: web.Request) -> web.Response:
    app = camwatch(request)
    a = app.settings.accounting
    level = choice_or(request, "level", CoverageLevel, CoverageLevel.TOWNSHIP)
    now = app.clock()
    period = period_param(request, a.timezone, now)
    data = await load_accounting(app.engine, period or parse_period(None, None, a.timezone, now), default_target=a.target)
    table = coverage_table(data, level, period, now, threshold=a.coverage_threshold)
    table["rows"] = await filter_rows(request, level.value, table["rows"], "code")  # the principal's scope
    return json_response(table)
