"""JSON Schemas (OpenAPI 3.1 / JSON Schema 2020-12) of every API body, by name."""

from __future__ import annotations

from typing import Any

from collector.accounting import Level
from collector.runtime.camera_state import State
from probes.base import Cause, Stage

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    """An object with these properties, all required unless listed in *optional*."""
    return {"type": "object", "properties": props, "required": [k for k in props if k not in optional]}


def nullable(s: Schema) -> Schema:
    if "$ref" in s:
        return {"anyOf": [s, {"type": "null"}]}
    return {**s, "type": [s["type"], "null"]}


def array(items: Schema) -> Schema:
    return {"type": "array", "items": items}


def enum(values: list[str], *, null: bool = False) -> Schema:
    return {"type": ["string", "null"], "enum": [*values, None]} if null else {"type": "string", "enum": values}


def paged(item: str) -> Schema:
    return obj({"items": array(ref(item)), "total": INT, "limit": INT, "offset": INT})


STR: Schema = {"type": "string"}
INT: Schema = {"type": "integer"}
NUM: Schema = {"type": "number"}
BOOL: Schema = {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
RATIO: Schema = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
STATES = [s.value for s in State]
CAUSES = [c.value for c in Cause]

CAMERA_PROPS: dict[str, Schema] = {
    "id": INT, "name": STR,
    "state": {**enum(STATES), "description": "shown state: excluded while an exclusion is in force"},
    "probed_state": {**enum(STATES), "description": "the state found by probing, also while excluded"},
    "cause": enum(CAUSES, null=True), "since": nullable(TIME), "flapping": BOOL,
    "village": STR, "village_name": STR, "township": STR, "township_name": STR, "county": STR, "county_name": STR,
    "last_probe_at": nullable(TIME), "video_ok": nullable(BOOL),
}

COUNTS = obj({"total": INT, **{s: INT for s in STATES}})
AVAILABILITY = obj({"from": TIME, "to": TIME, "ratio": RATIO, "ratio_without_exclusions": RATIO,
                    "intact_ratio": RATIO, "intact_ratio_without_exclusions": RATIO})
VILLAGE_COVERAGE = obj({"planned_points": INT, "covered_points": INT, "built_points": INT, "ratio": NUM,
                        "built_ratio": NUM, "fully_covered": BOOL, "fully_built": BOOL})
REGION_COVERAGE = obj({"villages": INT, "fully_covered": INT, "fully_built": INT, "ratio": NUM, "built_ratio": NUM})
COVERAGE_ANY: Schema = {"anyOf": [ref("VillageCoverage"), ref("RegionCoverage"), {"type": "null"}]}

WORK_ORDER_PROPS: dict[str, Schema] = {
    "id": INT, "incident": STR, "title": nullable(STR), "status": {"type": "string", "enum": ["open", "acknowledged", "resolved"]},
    "color": {"type": "string", "enum": ["green", "yellow", "red"]}, "severity": STR, "cause": nullable(STR),
    "camera_id": nullable(INT), "region_code": nullable(STR), "cameras": INT, "opened_at": STR, "deadline": STR,
    "acknowledged_at": nullable(STR), "resolved_at": nullable(STR), "resolution": nullable(STR), "note": nullable(STR),
    "response_s": nullable(NUM), "repair_s": nullable(NUM),
}
SILENCE_PROPS: dict[str, Schema] = {
    "id": INT, "camera_id": nullable(INT), "region_code": nullable(STR), "until": STR, "reason": STR,
}

SCHEMAS: dict[str, Schema] = {
    "Error": obj({"error": obj({"code": STR, "message": STR})}),
    "WorkOrder": obj(WORK_ORDER_PROPS),
    "WorkOrderPage": paged("WorkOrder"),
    "CloseWorkOrder": obj({"note": STR}),
    "Silence": obj(SILENCE_PROPS),
    "SilencePage": paged("Silence"),
    "NewSilence": obj({"camera_id": INT, "region_code": STR, "until": STR, "reason": STR},
                      optional=("camera_id", "region_code", "reason")),
    "Camera": obj(CAMERA_PROPS),
    "CameraPage": paged("Camera"),
    "Interval": obj({"state": enum(STATES), "cause": nullable(STR), "start": TIME, "end": nullable(TIME)}),
    "StageResult": obj({"stage": enum([s.value for s in Stage]), "ok": BOOL, "ms": NUM,
                        "cause": enum(CAUSES, null=True), "detail": STR}),
    "LastProbe": obj({"at": nullable(TIME), "state": enum(["online", "degraded", "offline"]),
                      "cause": enum(CAUSES, null=True), "stages": array(ref("StageResult"))}),
    "CameraDetail": obj({
        **CAMERA_PROPS, "contractor": nullable(STR), "lifecycle": enum(["active", "maintenance", "retired"]),
        "pending": BOOL, "video_failed": array(STR), "recent_intervals": array(ref("Interval")),
        "last_probe": nullable(ref("LastProbe")), "clock_offset_s": nullable(NUM), "warnings": array(STR),
    }),
    "Counts": COUNTS,
    "Availability": AVAILABILITY,
    "VillageCoverage": VILLAGE_COVERAGE,
    "RegionCoverage": REGION_COVERAGE,
    "RegionChild": obj({
        "code": {**STR, "description": "region code, or the camera id for the cameras of a village"},
        "name": STR, "level": enum(["township", "village", "camera"]),
        "state": {**enum(STATES), "description": "cameras only"},
        "cameras": ref("Counts"), "online_ratio": RATIO,
        "availability": nullable(ref("Availability")), "coverage": COVERAGE_ANY,
    }, optional=("state",)),
    "Region": obj({
        "code": STR, "name": STR, "level": enum(["county", "township", "village"]), "parent": nullable(STR),
        "cameras": ref("Counts"), "online_ratio": RATIO,
        "availability": nullable(ref("Availability")), "coverage": COVERAGE_ANY,
        "children_level": enum(["township", "village", "camera"]), "children": array(ref("RegionChild")),
        "at": TIME,
    }),
    "RateRow": obj({"key": {"type": ["string", "integer"]}, "name": STR, "cameras": nullable(INT), "ratio": RATIO,
                    "ratio_without_exclusions": RATIO, "target": NUM, "compliant": nullable(BOOL)}),
    "RateTable": obj({"level": enum([lv.value for lv in Level]), "method": enum(["time", "snapshot", "intact"]),
                      "from": TIME, "to": TIME, "rows": array(ref("RateRow"))}),
    "CoverageRow": obj({"code": STR, "name": STR, "planned_points": INT, "covered_points": INT, "built_points": INT,
                        "villages": INT, "fully_covered": {"type": ["boolean", "integer"]}, "fully_built": INT,
                        "ratio": {**nullable(NUM), "description": "null over a period without data"}, "built_ratio": NUM},
                       optional=("planned_points", "covered_points", "built_points", "villages", "fully_built")),
    "CoverageTable": obj({"level": enum(["township", "village"]), "over_period": BOOL, "rows": array(ref("CoverageRow"))}),
    "Exclusion": obj({"id": INT, "camera_id": nullable(INT), "region_code": nullable(STR), "start": TIME, "end": TIME,
                      "reason": STR, "approver": STR, "created_at": nullable(TIME)}),
    "ExclusionPage": paged("Exclusion"),
    "NewExclusion": {
        **obj({"camera_id": INT, "region_code": STR,
               "start": {**TIME, "description": "ISO 8601; without an offset: accounting.timezone"},
               "end": {**TIME, "description": "after start"}, "reason": STR, "approver": STR},
              optional=("camera_id", "region_code")),
        "additionalProperties": False,
        "description": "exactly one of camera_id and region_code",
    },
    "Health": obj({"status": enum(["ok", "degraded"]), "cameras": INT, "db_pending_writes": INT,
                   "db_error": nullable(STR), "credentials_unavailable": INT, "started_at": nullable(TIME)}),
}
