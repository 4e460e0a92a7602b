"""The HTTP API (``/api/v1/...``) of ``camwatch run``, added to the App's aiohttp application.

Reads come from the scheduler's in-memory state (cameras, current counts) or from the database
through :mod:`collector.accounting.sql.load` (rates, coverage, availability); writes (exclusions) need the
bearer token of ``http.api_token``, a personal token or a login session with the right role
(:mod:`collector.web.auth`); reads are scoped to the principal's regions (:mod:`collector.web.scope`).
The OpenAPI document is at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import session_middleware

from collector.runtime.app import App
from collector.web import account_pages, cameras, exclusions, rates, regions, workorders
from collector.web.auth import AUTH_KEY, AuthState, auth_middleware
from collector.web.common import APP_KEY, Handler, error_middleware
from collector.web.openapi import OPENAPI_PATH, get_openapi
from collector.web.sessions import CookieStorage, session_key

# (method, path, handler): the OpenAPI document describes exactly these.
ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", OPENAPI_PATH, get_openapi),
    ("GET", "/api/v1/cameras", cameras.list_cameras),
    ("GET", "/api/v1/cameras/{id}", cameras.get_camera),
    ("GET", "/api/v1/regions/{code}", regions.get_region),
    ("GET", "/api/v1/rates", rates.get_rates),
    ("GET", "/api/v1/coverage", rates.get_coverage),
    ("GET", "/api/v1/exclusions", exclusions.list_exclusions),
    ("POST", "/api/v1/exclusions", exclusions.add_exclusion),
    ("DELETE", "/api/v1/exclusions/{id}", exclusions.delete_exclusion),
    ("GET", "/api/v1/workorders", workorders.list_orders),
    ("POST", "/api/v1/workorders/{id}/ack", workorders.ack_order),
    ("POST", "/api/v1/workorders/{id}/close", workorders.close_order),
    ("GET", "/api/v1/silences", workorders.list_silences),
    ("POST", "/api/v1/silences", workorders.add_silence),
    ("DELETE", "/api/v1/silences/{id}", workorders.end_silence),
)


def setup(app: web.Application, camwatch_app: App) -> None:
    """Add the API routes and their middlewares (JSON errors, sessions, who is asking) to *app*."""
    app[APP_KEY] = camwatch_app
    state = AuthState(camwatch_app.settings.http, camwatch_app.engine, camwatch_app.clock)
    app[AUTH_KEY] = state
    app.middlewares.append(error_middleware)
    app.middlewares.append(session_middleware(CookieStorage(session_key(camwatch_app.settings))))
    app.middlewares.append(auth_middleware(state, frozenset({OPENAPI_PATH})))
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    account_pages.add_routes(app)  # /login, /logout, /account


__all__ = ["setup", "ROUTES"]
