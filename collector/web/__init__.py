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
from collector.web import account_pages
from collector.web.auth import AUTH_KEY, AuthState, auth_middleware
from collector.web.common import APP_KEY, Handler, error_middleware
from collector.web.openapi import API_ROUTES, OPENAPI_PATH, WRITE_ACTIONS
from collector.web.sessions import CookieStorage, session_key

# (method, path, handler) of every API route, as the router adds them: the declarations of
# collector.web.openapi, which the OpenAPI document is generated from.
ROUTES: tuple[tuple[str, str, Handler], ...] = tuple((r.method, r.path, r.bound()) for r in API_ROUTES)


def setup(app: web.Application, camwatch_app: App) -> None:
    """Add the API routes and their middlewares (JSON errors, sessions, who is asking) to *app*."""
    app[APP_KEY] = camwatch_app
    state = AuthState(camwatch_app.settings.http, camwatch_app.engine, camwatch_app.clock)
    app[AUTH_KEY] = state
    app.middlewares.append(error_middleware)
    app.middlewares.append(session_middleware(CookieStorage(session_key(camwatch_app.settings))))
    app.middlewares.append(auth_middleware(state, frozenset({OPENAPI_PATH}), WRITE_ACTIONS))
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    account_pages.add_routes(app)  # /login, /logout, /account


__all__ = ["setup", "ROUTES", "WRITE_ACTIONS"]
