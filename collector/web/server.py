"""The HTTP application of ``camwatch run``: ``/metrics``, ``/healthz``, the API and the console pages.

:func:`build_application` is what the entry point hands to :class:`~collector.runtime.app.App`
as its ``http`` factory; the runtime itself knows nothing of routes.

Outside ``/api/``, ``/metrics``, ``/healthz`` and ``/static/`` (which keep their JSON or plain
answers), a path that is not found (or a form's address opened as a page) answers the console's
未找到 page (a ``GET`` whose path only has a trailing slash too many is sent to the path without
it), and a page's refusal (:class:`~collector.web.auth.Refused`: a stale form, a write without a
login, a role that may not) the console's page saying so, in the reader's language, with a link
back (:func:`console_errors`).

``/metrics`` names every camera with its place, state and coordinates: with ``http.metrics_token``
set (``env:NAME``, ``file:PATH`` or the token, resolved when the application is built) it answers
only ``Authorization: Bearer <token>`` (compared in constant time; 401 otherwise, and 503 while the
reference cannot be resolved: closed, never open). ``/healthz`` stays open for the kubelet's and
load balancers' probes: it holds counts and process health, no camera's name, place or state.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator

from aiohttp import web
from yarl import URL

from collector.alerting.delivery.config import SecretError, resolve_secret
from collector.gb28181.verdict import registered_now
from collector.metrics.exposition import keep_ready, render_async, wants_gzip
from collector.runtime.app import App
from collector.runtime.gb28181_feed import Gb28181Feed
from collector.runtime.k8s_slice import LeaderSlice
from collector.runtime.leader_alerts import feed_stats
from collector.runtime.mirror import MirrorScheduler
from collector.runtime.replica_health import replica_health
from collector.web import setup as setup_api
from collector.web.auth import Refused
from collector.web.common import APP_KEY, Handler
from collector.web.pages import setup_pages
from collector.web.pages.render import not_found_page, render, view

log = logging.getLogger("camwatch.web")
PLAIN_PATHS = frozenset({"/metrics", "/healthz"})
PLAIN_PREFIXES = ("/api/", "/static/")
UNRESOLVED = ""  # http.metrics_token is set but could not be read: /metrics answers 503
# http.metrics_token resolved (None: /metrics open)
METRICS_TOKEN: web.AppKey[str | None] = web.AppKey("camwatch_metrics_token", str)


def metrics_token(app: App) -> str | None:
    """``http.metrics_token`` resolved: None when not set; :data:`UNRESOLVED` (logged, naming the
    variable or file, never a value) when its reference cannot be read or what it names is empty.
    Set empty itself (``metrics_token: ""``, ``${TOKEN:-}`` in compose): not set, /metrics open."""
    given = app.settings.http.metrics_token
    if given is None or not given.get_secret_value().strip():
        return None
    try:
        token = resolve_secret(given)
    except SecretError as exc:
        log.error("http.metrics_token: %s: /metrics answers 503 until it can be read (restart after fixing it)", exc)
        return UNRESOLVED
    if token is not None and not token.strip():
        log.error("http.metrics_token is empty: /metrics answers 503")
        return UNRESOLVED
    return None if token is None else token.strip()


def build_application(app: App) -> web.Application:
    webapp = web.Application(client_max_size=app.settings.http.max_body_bytes)
    webapp[APP_KEY] = app
    webapp[METRICS_TOKEN] = metrics_token(app)
    webapp.middlewares.append(console_errors)  # first: around the API's middlewares (sessions, who is asking)
    webapp.router.add_get("/metrics", _metrics)
    webapp.cleanup_ctx.append(metrics_ready)
    webapp.router.add_get("/healthz", _healthz)
    setup_api(webapp, app)
    setup_pages(webapp)
    return webapp


def console_path(path: str) -> bool:
    """Whether errors on *path* are the console's pages (not the API's JSON, not /metrics' text)."""
    return path not in PLAIN_PATHS and not path.startswith(PLAIN_PREFIXES)


@web.middleware
async def console_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not console_path(request.path):
        return await handler(request)
    try:
        return await handler(request)
    except web.HTTPNotFound:
        target = await without_slash(request) if request.method in ("GET", "HEAD") else None
        if target is not None:
            raise web.HTTPMovedPermanently(target) from None
        return not_found_page(view(request))
    except web.HTTPMethodNotAllowed as exc:
        if request.method not in ("GET", "HEAD"):
            raise
        # a form's address opened as a page (e.g. the language link of a form's error page): no such page
        resp = render(view(request), "not_found.html", {}, status=405)
        resp.headers["Allow"] = exc.headers.get("Allow", "")
        return resp
    except Refused as exc:
        return refused_page(request, exc)


async def without_slash(request: web.Request) -> str | None:
    """``/cameras/`` → ``/cameras`` (with the query), when that is a page; else None."""
    path = request.path
    if len(path) < 2 or not path.endswith("/"):
        return None
    target = "/" + path.strip("/")  # (one leading slash: never another host's //address)
    found = await request.app.router.resolve(request.clone(rel_url=URL.build(path=target)))
    if found.http_exception is not None:
        return None
    return target + (f"?{request.query_string}" if request.query_string else "")


def back_link(request: web.Request) -> str:
    """Where the page's link goes back to: the page the form was on (this site's), else the overview."""
    try:
        came = URL(request.headers.get("Referer", ""))
    except ValueError:
        return "/"
    if came.is_absolute() and came.host_port_subcomponent != request.host and came.host != request.host:
        return "/"
    back = came.path_qs if came.path else "/"
    return back if back.startswith("/") and not back.startswith("//") else "/"


def refused_page(request: web.Request, exc: Refused) -> web.Response:
    v = view(request)
    title, text = exc.words(v.lang)
    back = back_link(request)
    context: dict[str, object] = {"title": title, "text": text, "back": back}
    if exc.why == "login":
        context.update(back="/login?" + URL.build(query={"next": back}).query_string, back_text=v.t("login"))
    resp = render(v, "message.html", context, status=403)
    for cookie in exc.headers.getall("Set-Cookie", []):  # (a session the refused request began)
        resp.headers.add("Set-Cookie", cookie)
    return resp


async def metrics_ready(webapp: web.Application) -> AsyncIterator[None]:
    """While the server runs: /metrics prepared between scrapes (:func:`collector.metrics.exposition.keep_ready`)."""
    task = asyncio.create_task(keep_ready(webapp[APP_KEY].collector), name="metrics-ready")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _metrics(request: web.Request) -> web.Response:
    """Rendered in a worker thread; gzipped from pieces kept between scrapes when the client takes
    gzip (Prometheus does): see :mod:`collector.metrics.exposition`."""
    refused = _metrics_refused(request)
    if refused is not None:
        return refused
    gz = wants_gzip(request.headers.get("Accept-Encoding", ""))
    body = await render_async(request.app[APP_KEY].collector, gzip=gz)
    headers = {"X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
    if gz:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, content_type="text/plain", charset="utf-8", headers=headers)


def _metrics_refused(request: web.Request) -> web.Response | None:
    """None when /metrics may answer this request (no token set, or the right bearer token)."""
    expected = request.app.get(METRICS_TOKEN)  # (None: not set, or an application without it)
    if expected is None:
        return None
    if expected == UNRESOLVED:
        return web.Response(status=503, text="http.metrics_token cannot be read (see the collector log)\n")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode()):
        return None
    return web.Response(status=401, text="/metrics needs Authorization: Bearer <http.metrics_token>\n",
                        headers={"WWW-Authenticate": 'Bearer realm="camwatch metrics"'})


async def _healthz(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    stats = app.writer.stats()
    ok = stats.last_error is None
    rollups = app.rollups
    pool = app.scheduler.pool if isinstance(app.scheduler, MirrorScheduler) else None  # collector.workers
    rep = replica_health(app.replica) if app.replica is not None else None
    body = {
        "status": "ok" if ok else "degraded",
        "cameras": len(app.scheduler.slots),
        "db_pending_writes": stats.pending,
        "db_error": stats.last_error,
        # cameras whose stored password cannot be read (no key, wrong key, env variable unset)
        "credentials_unavailable": app.credentials.count,
        "started_at": app.started_at.isoformat() if app.started_at else None,
        # a cache: long-period rates fall back to the intervals while it is behind or failing
        "rollups": None if rollups is None else {
            "built_until": rollups.built_until.isoformat() if rollups.built_until else None,
            "last_run_at": rollups.last_run_at.isoformat() if rollups.last_run_at else None,
            "error": rollups.error,
        },
        # probe worker processes (collector.workers; null: probing in this process)
        "workers": None if pool is None else [
            {"index": w.index, "pid": w.pid, "cameras": w.cameras, "restarts": w.restarts,
             "last_report_at": w.last_report_at.isoformat() if w.last_report_at else None}
            for w in pool.health()],
        # replicas on PostgreSQL (DESIGN §8): this one, its shards, the live ones, the leader; while its
        # coordination session is lost: why, no shard, live replicas and leader null (not known here)
        "replica": {
            "id": app.replica_id,
            "shards": list(rep.shards) if rep is not None else None,
            "live_replicas": rep.live if rep is not None else 1,
            "coordination_error": rep.error if rep is not None else None,
            # the replica running rollups, the month close, alerts and work orders
            "leader": rep.leader if rep is not None else app.replica_id,
            # on the leader: how far it has applied the replicas' camera events (null elsewhere)
            "alerts": feed_stats(app.leader_alerts) if rep is None or rep.leading else None,
        },
        # the GB/T 28181 platform (gb28181.enabled; of replicas, on the leader): where it listens here
        "gb28181": None if not app.settings.gb28181.enabled else gb28181_health(app.gb28181, app.leader_slice),
    }
    return web.json_response(body, status=200 if ok else 503)


def gb28181_health(feed: Gb28181Feed | None, leader_slice: LeaderSlice | None = None) -> dict[str, object]:
    """/healthz's ``gb28181``: whether the platform runs here, where it listens, devices registered
    and alive now (not those whose registration expired or whose keepalives stopped); on
    Kubernetes (``kubernetes_service``) whether the Service sends devices here, or why not."""
    service = None if leader_slice is None else {
        "name": leader_slice.service, "points_here": leader_slice.claimed, "error": leader_slice.error}
    if feed is None:  # a replica that does not lead: the leader hosts it
        return {"platform_here": False, "listening": {}, "registered_devices": None, "kubernetes_service": service}
    p = feed.platform
    return {"platform_here": True, "listening": {t: f"{h}:{port}" for t, (h, port) in p.addresses.items()},
            "registered_devices": registered_now(p.registry.devices(), p.clock(), p.settings),  # (the platform's clock)
            "kubernetes_service": service}


__all__ = ["build_application", "console_errors", "console_path"]
