"""Every API route declared once (:data:`API_ROUTES`), and the OpenAPI 3.1 document generated from
those declarations and the body types of :mod:`collector.web.bodies`, served at
``/api/v1/openapi.json``.

The router adds exactly these routes (:func:`collector.web.setup`), the auth middleware takes a
write's action from here, and the handlers read only the query parameters declared here
(:meth:`~collector.web.spec.Route.bound`). Only ``/healthz`` and ``/metrics`` (served by
:mod:`collector.web.server`, outside the API) are described by hand below.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from aiohttp import web

from collector.accounting import Level
from collector.accounting.sql.rate_tables import CoverageLevel, Method
from collector.alerting.workorders import Color
from collector.runtime.camera_state import State
from collector.web import bodies as b
from collector.web import cameras, exclusions, gb28181, proposals, rates, regions, reports, workorders
from collector.web import inputs as i
from collector.web import report_bodies as rb
from collector.web.common import json_response
from collector.web.params import DEFAULT_LIMIT, MAX_LIMIT
from collector.web.principal import Action
from collector.web.spec import Param, Route, Schema, ref, schema_of
from inventory.models import ExclusionStatus
from probes.base import Cause

OPENAPI_PATH = "/api/v1/openapi.json"
READ_SECURITY: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]
WRITE_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]
ERROR_TEXT = {400: "invalid parameter or body field (the message names it)", 401: "missing or invalid bearer token",
              403: "no API token configured, or the principal's role may not do this", 404: "not found",
              409: "not possible in the current state (e.g. already resolved)", 413: "request body too large"}

PAGING = (Param("limit", int, "page size", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT),
          Param("offset", int, "items to skip", default=0, minimum=0))
PERIOD = (Param("from", str, "first day (YYYY-MM-DD, local) or an ISO 8601 date-time; default: start of this month"),
          Param("to", str, "last day (inclusive) or an ISO 8601 date-time; default: now"))


def by_id(what: str) -> Param:
    return Param("id", int, f"{what} id", where="path")


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(_document())


API_ROUTES: tuple[Route, ...] = (
    Route("GET", OPENAPI_PATH, get_openapi, "this document", None),
    Route("GET", "/api/v1/cameras", cameras.list_cameras,
          "monitored cameras and their current state (from memory)", b.CameraPage, (
              Param("state", State, "shown state"), Param("cause", Cause, "offline cause"),
              Param("county", str, "county code"), Param("township", str, "township code"),
              Param("village", str, "village code"), *PAGING), errors=(400,)),
    Route("GET", "/api/v1/cameras/{id}", cameras.get_camera,
          "one camera: state, recent intervals (last 50, each cut by the next), last probe stages", b.CameraDetail,
          (by_id("camera"),), errors=(400, 404)),
    Route("GET", "/api/v1/regions/{code}", regions.get_region,
          "a region with its children: counts by state, online ratio now, coverage now; with from/to, "
          "time-weighted availability over the period with and without exclusions", b.Region,
          (Param("code", str, "county, township or village code", where="path"), *PERIOD), errors=(400, 404)),
    Route("GET", "/api/v1/rates", rates.get_rates, "online rates per row, as `camwatch rates --json`", b.RateTable, (
        Param("level", Level, "rows by", default=Level.TOWNSHIP.value), *PERIOD,
        Param("method", Method, "time-weighted, assessor snapshots at the check times, or intact (online only)",
              default=Method.TIME.value),
        Param("rank", int, "1: add each row's rank (1 = best rate, ties share) and its change against the previous "
              "period (the previous calendar month for a whole month)", default=0, minimum=0, maximum=1)),
          errors=(400,)),
    Route("GET", "/api/v1/coverage", rates.get_coverage, "coverage per township or village, as "
          "`camwatch coverage --json`; now, or over the period when from/to are given", b.CoverageTable,
          (Param("level", CoverageLevel, "rows by", default=CoverageLevel.TOWNSHIP.value), *PERIOD), errors=(400,)),
    Route("GET", "/api/v1/reports/{period}", reports.get_report,
          "a closed month's frozen report (figures, rankings, faults, work orders, exclusions, monitoring "
          "completeness, contract score) with its snapshot hash; for the county or a township in the reader's scope",
          rb.ClosedReport, (Param("period", str, "a closed month, YYYY-MM", where="path"),
                            Param("region", str, "county or township code; default: the reader's first (the county, "
                                  "or a township account's township)")), errors=(400, 404)),
    Route("GET", "/api/v1/gb28181/devices", gb28181.list_gb28181_devices,
          "the GB/T 28181 devices registered to this collector's access platform, with their catalogs, each "
          "channel's verdict and inventory camera; unlisted=true: the devices the inventory does not list (never "
          "counted). Admin and assessor only", gb28181.GbDevicePage,
          (Param("unlisted", bool, "the unlisted devices instead of the listed ones"),), errors=(400,)),
    Route("GET", "/api/v1/exclusions", exclusions.list_exclusions,
          "exclusions (maintenance windows, reported outages)", b.ExclusionPage, (
              Param("camera_id", int, "only this camera's"), Param("region_code", str, "only this region's"),
              Param("active", bool, "in force now (approved, within its period), or not"),
              Param("status", ExclusionStatus, "only this status (proposed: waiting for approval)"), *PAGING),
          errors=(400,)),
    Route("POST", "/api/v1/exclusions", exclusions.add_exclusion, "add an exclusion (approved at once)", b.Exclusion,
          body=i.NewExclusion, errors=(400, 413), status=201, action=Action.APPROVE_EXCLUSION),
    Route("POST", "/api/v1/exclusions/proposals", proposals.add_proposal,
          "propose an exclusion (报备申请) for a camera or a region in your scope; it counts only once approved",
          b.Exclusion, body=i.NewProposal, errors=(400, 413), status=201, action=Action.PROPOSE_EXCLUSION),
    Route("POST", "/api/v1/exclusions/{id}/approve", proposals.approve_proposal,
          "approve a proposed exclusion (it counts from now on, over its whole period)", b.Exclusion,
          (by_id("exclusion"),), body=i.Decision, errors=(400, 404, 409, 413), action=Action.APPROVE_EXCLUSION),
    Route("POST", "/api/v1/exclusions/{id}/reject", proposals.reject_proposal,
          "reject a proposed exclusion, with a note", b.Exclusion,
          (by_id("exclusion"),), body=i.Rejection, errors=(400, 404, 409, 413), action=Action.APPROVE_EXCLUSION),
    Route("DELETE", "/api/v1/exclusions/{id}", exclusions.delete_exclusion,
          "end an exclusion, as `camwatch exclusion end`: one in force ends now (200: the exclusion, status ended, "
          "its elapsed part still excluded); one to come, a proposal or a rejected one is removed (204); one already "
          "over is part of the counted figures: kept (409) unless force=true (204), and never removed while a month "
          "it touches is closed (409 naming the months)", None,
          (by_id("exclusion"), Param("force", bool, "true: remove one already over (its time is then no longer "
                                     "excluded); never in a closed month (camwatch report reopen first)")),
          errors=(400, 404, 409), status=204, action=Action.APPROVE_EXCLUSION),
    Route("GET", "/api/v1/workorders", workorders.list_orders, "work orders (工单) with their colour (三色督办): "
          "green fixed in time, yellow open within the deadline, red overdue; a contractor's: those with one of its "
          "cameras (a village's too)", b.WorkOrderPage, (
              Param("color", Color, "only this colour"), Param("open", bool, "only open ones"), *PAGING),
          errors=(400,)),
    Route("POST", "/api/v1/workorders/{id}/ack", workorders.ack_order, "acknowledge a work order (a contractor: one "
          "all of whose cameras are its own; one shared with another contractor is 403, saying why)", b.WorkOrder,
          (by_id("work order"),), errors=(400, 404, 409), action=Action.ACK_WORKORDER),
    Route("POST", "/api/v1/workorders/{id}/close", workorders.close_order, "close a work order by hand, with a note "
          "(a contractor: as for acknowledging)",
          b.WorkOrder, (by_id("work order"),), body=i.CloseWorkOrder, errors=(400, 404, 409, 413),
          action=Action.CLOSE_WORKORDER),
    Route("GET", "/api/v1/silences", workorders.list_silences, "alert silences in force (all=true: also expired)",
          b.SilencePage, (Param("all", bool, "include expired silences"), *PAGING), errors=(400,)),
    Route("POST", "/api/v1/silences", workorders.add_silence,
          "silence alert messages for a camera or a region until a time", b.Silence, body=i.NewSilence,
          errors=(400, 413), status=201, action=Action.SILENCE),
    Route("DELETE", "/api/v1/silences/{id}", workorders.end_silence, "end a silence now", None,
          (by_id("silence"),), errors=(400, 404), status=204, action=Action.SILENCE),
)
# What each API write needs (collector.web.auth); a write route missing here needs Action.ADMIN.
WRITE_ACTIONS: dict[tuple[str, str], Action] = {(r.method, r.path): r.action for r in API_ROUTES if r.action}
# A route's answers besides its status and ERROR_TEXT's (status: description, body type or None).
OTHER_ANSWERS: dict[tuple[str, str], dict[int, tuple[str, Any]]] = {
    ("DELETE", "/api/v1/exclusions/{id}"): {
        200: ("it was in force: ended now, the exclusion as it is now (status ended, end = now)", b.Exclusion),
        204: ("removed: it had not begun, was never counted (proposed, rejected), or was over and force=true", None),
        409: ("over and counted: kept unless force=true; not even forced while a month it touches is closed "
              "(the message says which; camwatch report reopen first)", b.Error)}}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def operation(route: Route, defs: dict[str, Schema]) -> Schema:
    """The OpenAPI operation of *route*; the schemas of its body types are added to *defs*."""
    if route.path == OPENAPI_PATH:
        answer = _json({"type": "object"}, "OpenAPI 3.1")
    elif route.response is None:
        answer = {"description": route.summary}
    else:
        answer = _json(schema_of(route.response, defs), route.summary)
    errors = {code: _json(ref("Error"), ERROR_TEXT[code]) for code in sorted({*route.errors, 401, 403})}
    op: Schema = {"summary": route.summary, "operationId": route.handler.__name__,
                  "security": [{}] if route.path == OPENAPI_PATH else READ_SECURITY if route.action is None
                  else WRITE_SECURITY}
    if route.action is not None:
        op["x-camwatch-action"] = route.action.value
    if route.params:
        op["parameters"] = [p.openapi() for p in route.params]
    if route.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema_of(route.body, defs)}}}
    answers: dict[int, Schema] = {route.status: answer, **errors}
    for code, (text, body) in OTHER_ANSWERS.get((route.method, route.path), {}).items():
        answers[code] = {"description": text} if body is None else _json(schema_of(body, defs), text)
    op["responses"] = {str(c): v for c, v in sorted(answers.items())}
    if route.path == OPENAPI_PATH:
        op["responses"] = {"200": answer}
    return op


REPLICA_HEALTH = ("this collector as a replica (collector.replicas): its id, the shards it holds (null when alone), "
                  "the live replicas, the leader's id, its coordination_error; while its coordination session is "
                  "lost: coordination_error says why, shards is empty, live_replicas and leader are null (not known)")


def _outside(defs: dict[str, Schema]) -> dict[str, Any]:
    """``/healthz`` and ``/metrics``: served by collector.web.server, outside the route table (by hand)."""
    health: Schema = {"type": "object", "required": ["status", "cameras", "db_pending_writes", "db_error",
                                                     "credentials_unavailable", "started_at"],
                      "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]},
                                     "cameras": {"type": "integer"}, "db_pending_writes": {"type": "integer"},
                                     "db_error": {"type": ["string", "null"]},
                                     "credentials_unavailable": {"type": "integer"},
                                     "started_at": {"type": ["string", "null"], "format": "date-time"},
                                     "rollups": {"type": ["object", "null"]},
                                     # per probe worker process: index, pid, cameras, restarts, last_report_at
                                     "workers": {"type": ["array", "null"], "items": {"type": "object"}},
                                     "replica": {"type": "object", "description": REPLICA_HEALTH, "properties": {
                                         "id": {"type": "string"}, "shards": {"type": ["array", "null"], "items": {
                                             "type": "integer"}}, "live_replicas": {"type": ["integer", "null"]},
                                         "coordination_error": {"type": ["string", "null"]},
                                         "leader": {"type": ["string", "null"]},
                                         "alerts": {"type": ["object", "null"]}}}}}
    defs["Health"] = health
    return {
        "/healthz": {"get": {"summary": "liveness and database health", "security": [{}], "responses": {
            "200": _json(ref("Health"), "healthy"), "503": _json(ref("Health"), "database writes failing")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (text exposition format)", "security": [{}], "responses": {
            "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
    }


@functools.cache
def _document() -> dict[str, Any]:
    defs: dict[str, Schema] = {}
    schema_of(b.Error, defs)
    paths = _outside(defs)
    for route in API_ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = operation(route, defs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "camwatch API", "version": "1",
                 "description": "Camera states, rates (在线率), coverage (覆盖率) and exclusions (报备). "
                                "Times are ISO 8601 in UTC; ratios are 0..1 rounded to 0.0001. "
                                "Errors: {\"error\": {\"code\", \"message\"}}. A query parameter not "
                                "listed for an operation is refused (400)."},
        "paths": paths,
        "components": {"schemas": dict(sorted(defs.items())),
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


def document() -> dict[str, Any]:
    """The OpenAPI document (generated once; a fresh copy on each call)."""
    return copy.deepcopy(_document())


__all__ = ["API_ROUTES", "OPENAPI_PATH", "WRITE_ACTIONS", "document", "get_openapi"]
