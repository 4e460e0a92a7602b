"""The HTTP application of ``camwatch run``: ``/metrics``, ``/healthz``, the API and the console pages.

:func:`build_application` is what the entry point hands to :class:`~collector.runtime.app.App`
as its ``http`` factory; the runtime itself knows nothing of routes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from collector.metrics.exposition import keep_ready, render_async, wants_gzip
from collector.runtime.app import App
from collector.runtime.gb28181_feed import Gb28181Feed
from collector.runtime.k8s_slice import LeaderSlice
from collector.runtime.leader_alerts import feed_stats
from collector.runtime.mirror import MirrorScheduler
from collector.web import setup as setup_api
from collector.web.common import APP_KEY
from collector.web.pages import setup_pages


def build_application(app: App) -> web.Application:
    webapp = web.Application(client_max_size=app.settings.http.max_body_bytes)
    webapp[APP_KEY] = app
    webapp.router.add_get("/metrics", _metrics)
    webapp.cleanup_ctx.append(metrics_ready)
    webapp.router.add_get("/healthz", _healthz)
    setup_api(webapp, app)
    setup_pages(webapp)
    return webapp


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
    gz = wants_gzip(request.headers.get("Accept-Encoding", ""))
    body = await render_async(request.app[APP_KEY].collector, gzip=gz)
    headers = {"X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
    if gz:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, content_type="text/plain", charset="utf-8", headers=headers)


async def _healthz(request: web.Request) -> web.Response:
    app = request.app[APP_KEY]
    stats = app.writer.stats()
    ok = stats.last_error is None
    rollups = app.rollups
    pool = app.scheduler.pool if isinstance(app.scheduler, MirrorScheduler) else None  # collector.workers
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
        # replicas on PostgreSQL (DESIGN §8): this one, its shards, the live ones, the leader
        "replica": {
            "id": app.replica_id,
            "shards": sorted(app.replica.owned) if app.replica is not None else None,
            "live_replicas": app.replica.live if app.replica is not None else 1,
            "coordination_error": app.replica.last_error if app.replica is not None else None,
            # the replica running rollups, the month close, alerts and work orders
            "leader": app.replica.leader_id if app.replica is not None else app.replica_id,
            # on the leader: how far it has applied the replicas' camera events (null elsewhere)
            "alerts": feed_stats(app.leader_alerts),
        },
        # the GB/T 28181 platform (gb28181.enabled; of replicas, on the leader): where it listens here
        "gb28181": None if not app.settings.gb28181.enabled else gb28181_health(app.gb28181, app.leader_slice),
    }
    return web.json_response(body, status=200 if ok else 503)


def gb28181_health(feed: Gb28181Feed | None, leader_slice: LeaderSlice | None = None) -> dict[str, object]:
    """/healthz's ``gb28181``: whether the platform runs here, where it listens, devices registered;
    on Kubernetes (``kubernetes_service``) whether the Service sends devices here, or why not."""
    service = None if leader_slice is None else {
        "name": leader_slice.service, "points_here": leader_slice.claimed, "error": leader_slice.error}
    if feed is None:  # a replica that does not lead: the leader hosts it
        return {"platform_here": False, "listening": {}, "registered_devices": None, "kubernetes_service": service}
    p = feed.platform
    return {"platform_here": True, "listening": {t: f"{h}:{port}" for t, (h, port) in p.addresses.items()},
            "registered_devices": sum(1 for d in p.registry.devices() if d.registered), "kubernetes_service": service}


__all__ = ["build_application"]
