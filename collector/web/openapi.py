"""The OpenAPI 3.1 document of the HTTP API, served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from collector.accounting import Level
from collector.web.common import json_response
from collector.web.params import DEFAULT_LIMIT, MAX_LIMIT
from collector.web.schemas import CAUSES, SCHEMAS, STATES, Schema, ref

OPENAPI_PATH = "/api/v1/openapi.json"
READ_SECURITY: list[dict[str, list[str]]] = [{}, {"bearerAuth": []}]
WRITE_SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def param(name: str, schema: Schema, description: str, *, where: str = "query", required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema, "description": description}


def ok(schema_name: str, description: str, status: str = "200") -> dict[str, Any]:
    return {status: {"description": description, "content": {"application/json": {"schema": ref(schema_name)}}}}


def errors(*codes: int) -> dict[str, Any]:
    text = {400: "invalid parameter (the message names it)", 401: "missing or invalid bearer token",
            403: "no API token configured (writes, or reads when open_reads is false)", 404: "not found",
            409: "not possible in the current state (e.g. already resolved)", 413: "request body too large"}
    return {str(c): {"description": text[c], "content": {"application/json": {"schema": ref("Error")}}} for c in codes}


PAGING = [param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}, "page size"),
          param("offset", {"type": "integer", "minimum": 0, "default": 0}, "items to skip")]
PERIOD = [param("from", {"type": "string"},
                "first day (YYYY-MM-DD, local) or an ISO 8601 date-time; default: start of this month"),
          param("to", {"type": "string"}, "last day (inclusive) or an ISO 8601 date-time; default: now")]


def read(summary: str, params: list[dict[str, Any]], schema_name: str, *codes: int) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": params, "security": READ_SECURITY,
                    "responses": {**ok(schema_name, summary), **errors(*codes, 401, 403)}}}


def by_id(method: str, summary: str, what: str, responses: dict[str, Any], body: str | None = None) -> dict[str, Any]:
    """A write on one object: ``/{id}`` in the path, a bearer token required."""
    op: dict[str, Any] = {"summary": summary, "security": WRITE_SECURITY,
                          "parameters": [param("id", {"type": "integer"}, f"{what} id", where="path")]}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref(body)}}}
    return {method: {**op, "responses": responses}}


def create(summary: str, body: str, schema_name: str) -> dict[str, Any]:
    """A POST that creates one object (201 with the object)."""
    return {"post": {"summary": summary, "security": WRITE_SECURITY,
                     "requestBody": {"required": True, "content": {"application/json": {"schema": ref(body)}}},
                     "responses": {**ok(schema_name, "created", "201"), **errors(400, 401, 403, 413)}}}


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/healthz": {"get": {"summary": "liveness and database health", "security": [{}], "responses": {
            **ok("Health", "healthy"), "503": {"description": "database writes failing",
                                               "content": {"application/json": {"schema": ref("Health")}}}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics (text exposition format)", "security": [{}], "responses": {
            "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        OPENAPI_PATH: {"get": {"summary": "this document", "security": [{}], "responses": {
            "200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
        "/api/v1/cameras": read("monitored cameras and their current state (from memory)", [
            param("state", {"type": "string", "enum": STATES}, "shown state"),
            param("cause", {"type": "string", "enum": CAUSES}, "offline cause"),
            param("county", {"type": "string"}, "county code"),
            param("township", {"type": "string"}, "township code"),
            param("village", {"type": "string"}, "village code"), *PAGING], "CameraPage", 400),
        "/api/v1/cameras/{id}": read("one camera: state, recent intervals (last 50), last probe stages", [
            param("id", {"type": "integer"}, "camera id", where="path")], "CameraDetail", 400, 404),
        "/api/v1/regions/{code}": read(
            "a region with its children: counts by state, online ratio now, coverage now; with from/to, "
            "time-weighted availability over the period with and without exclusions",
            [param("code", {"type": "string"}, "county, township or village code", where="path"), *PERIOD],
            "Region", 400, 404),
        "/api/v1/rates": read("online rates per row, as `camwatch rates --json`", [
            param("level", {"type": "string", "enum": [lv.value for lv in Level], "default": "township"}, "rows by"),
            *PERIOD,
            param("method", {"type": "string", "enum": ["time", "snapshot", "intact"], "default": "time"},
                  "time-weighted, assessor snapshots at the check times, or intact (online only)")],
            "RateTable", 400),
        "/api/v1/coverage": read("coverage per township or village, as `camwatch coverage --json`; "
                                 "now, or over the period when from/to are given", [
            param("level", {"type": "string", "enum": ["township", "village"], "default": "township"}, "rows by"),
            *PERIOD], "CoverageTable", 400),
        "/api/v1/exclusions": {
            **read("exclusions (maintenance windows, reported outages)", [
                param("camera_id", {"type": "integer"}, "only this camera's"),
                param("region_code", {"type": "string"}, "only this region's"),
                param("active", {"type": "string", "enum": ["true", "false"]}, "in force now, or not"), *PAGING],
                "ExclusionPage", 400),
            **create("add an exclusion", "NewExclusion", "Exclusion"),
        },
        "/api/v1/exclusions/{id}": by_id("delete", "remove an exclusion", "exclusion",
                                         {"204": {"description": "removed"}, **errors(400, 401, 403, 404)}),
        "/api/v1/workorders": read("work orders (工单) with their colour (三色督办): green fixed in time, yellow open "
                                   "within the deadline, red overdue", [
            param("color", {"type": "string", "enum": ["green", "yellow", "red"]}, "only this colour"),
            param("open", {"type": "string", "enum": ["true", "false"]}, "only open ones"), *PAGING],
            "WorkOrderPage", 400),
        "/api/v1/workorders/{id}/ack": by_id("post", "acknowledge a work order", "work order",
                                             {**ok("WorkOrder", "acknowledged"), **errors(400, 401, 403, 404, 409)}),
        "/api/v1/workorders/{id}/close": by_id("post", "close a work order by hand, with a note", "work order",
                                               {**ok("WorkOrder", "closed"), **errors(400, 401, 403, 404, 409, 413)},
                                               body="CloseWorkOrder"),
        "/api/v1/silences": {
            **read("alert silences in force (all=true: also expired)", [
                param("all", {"type": "string", "enum": ["true", "false"]}, "include expired silences"), *PAGING],
                "SilencePage", 400),
            **create("silence alert messages for a camera or a region until a time", "NewSilence", "Silence"),
        },
        "/api/v1/silences/{id}": by_id("delete", "end a silence now", "silence",
                                       {"204": {"description": "ended"}, **errors(400, 401, 403, 404)}),
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "camwatch API", "version": "1",
                 "description": "Camera states, rates (在线率), coverage (覆盖率) and exclusions (报备). "
                                "Times are ISO 8601 in UTC; ratios are 0..1 rounded to 0.0001. "
                                "Errors: {\"error\": {\"code\", \"message\"}}."},
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


async def get_openapi(request: web.Request) -> web.Response:
    return json_response(document())


__all__ = ["OPENAPI_PATH", "document", "get_openapi"]
