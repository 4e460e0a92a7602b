"""The web console: server-rendered pages (Jinja2), Chinese first, every asset served here.

``/`` 总览, ``/cameras`` and ``/cameras/{id}`` (with its last picture, ``/cameras/{id}/frame.jpg``), ``/regions/{code}``, ``/incidents/{id}``,
``/workorders``, ``/exclusions``, ``/exclusions/proposals``, ``/reports`` (with its workbook and printable page), ``/api`` (the API's document, readable) (alert messages link to the camera and incident pages). Pages
read what the API reads (the scheduler's slots, the collector's region figures, the stores) and
show only what the request's principal may read (:mod:`collector.web.pages.scope`). Static
files (one stylesheet, one small script) are under ``/static/``; no CDN, no build step.
"""

from __future__ import annotations

from aiohttp import web

from collector.web.common import Handler
from collector.web.pages import api_page, camera, exclusions_page, orders, overview, proposals_page, region, reports
from collector.web.pages.derived import DERIVED_KEY, Derived
from collector.web.pages.render import STATIC
from collector.web.pages.report_view import LIVE_KEY, LiveReports
from collector.web.pages.series import DailyRates

# (method, path, handler) of every page and form target
PAGE_ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/", overview.overview_page),
    ("GET", "/cameras", overview.cameras_page),
    ("GET", "/cameras/{id}", camera.camera_page),
    ("GET", "/cameras/{id}/frame.jpg", camera.frame_jpeg),
    ("GET", "/regions/{code}", region.region_page),
    ("GET", "/incidents/{id}", orders.incident_page),
    ("GET", "/workorders", orders.workorders_page),
    ("POST", "/workorders/{id}/ack", orders.ack_post),
    ("POST", "/workorders/{id}/close", orders.close_post),
    ("GET", "/exclusions", exclusions_page.exclusions_page),
    ("POST", "/exclusions", exclusions_page.add_post),
    ("POST", "/exclusions/{id}/end", exclusions_page.end_post),
    ("GET", "/exclusions/proposals", proposals_page.proposals_page),
    ("POST", "/exclusions/proposals", proposals_page.propose_post),
    ("POST", "/exclusions/{id}/approve", proposals_page.approve_post),
    ("POST", "/exclusions/{id}/reject", proposals_page.reject_post),
    ("GET", "/reports", reports.reports_page),
    ("GET", "/reports/print", reports.print_page),
    ("GET", "/reports/workbook", reports.workbook_download),
    ("GET", "/api", api_page.api_page),
)
STATIC_PREFIX = "/static/"


def setup_pages(app: web.Application) -> None:
    """Add the console's routes, its static files, its daily-rate cache and its cache of derived
    lists to *app*."""
    series = DailyRates()
    app[region.SERIES_KEY] = series
    app[DERIVED_KEY] = Derived()
    app[LIVE_KEY] = LiveReports()

    async def _close(_: web.Application) -> None:
        await series.close()

    app.on_cleanup.append(_close)
    for method, path, handler in PAGE_ROUTES:
        app.router.add_route(method, path, handler)
    app.router.add_static(STATIC_PREFIX, STATIC, append_version=False)


__all__ = ["PAGE_ROUTES", "STATIC_PREFIX", "setup_pages"]
