"""``/api``: the API's OpenAPI document (:mod:`collector.web.openapi`) rendered as a readable page:
each operation with its parameters, body, answer, errors and the action a write needs, then every
schema with its fields. Nothing here is written by hand: the page reads the generated document.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from collector.web.openapi import OPENAPI_PATH, document
from collector.web.pages.render import render, view


def type_text(schema: dict[str, Any]) -> str:
    """A schema in a few words: ``Camera``, ``string | null``, ``[Interval]``, ``online, offline``."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(type_text(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"[{type_text(schema.get('items', {}))}]"
    kinds = schema.get("type", "any")
    text = " | ".join(kinds) if isinstance(kinds, list) else str(kinds)
    if "format" in schema:
        text += f" ({schema['format']})"
    return text


def enum_text(schema: dict[str, Any]) -> str:
    values = schema.get("enum")
    return ", ".join("null" if v is None else str(v) for v in values) if values else ""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: str
    choices: str
    required: bool
    default: str
    description: str


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    summary: str
    action: str
    params: list[Field]
    body: str
    answers: list[tuple[str, str, str]]  # status, schema name (or ""), description


def _answer_type(response: dict[str, Any]) -> str:
    media: list[dict[str, Any]] = list(response.get("content", {}).values())
    return type_text(media[0].get("schema", {})) if media else ""


def _operations(doc: dict[str, Any]) -> list[Operation]:
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            params = [Field(p["name"], p["in"] + " · " + type_text(p["schema"]), enum_text(p["schema"]), p["required"],
                            str(p["schema"].get("default", "")), p.get("description", "")) for p in op.get("parameters", ())]
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            answers = [(status, _answer_type(r), r["description"]) for status, r in op["responses"].items()]
            out.append(Operation(method.upper(), path, op["summary"], op.get("x-camwatch-action", ""), params,
                                 type_text(body) if body else "", answers))
    return out


def _schemas(doc: dict[str, Any]) -> list[tuple[str, str, list[Field]]]:
    out = []
    for name, s in doc["components"]["schemas"].items():
        required = set(s.get("required", ()))
        fields = [Field(k, type_text(v), enum_text(v), k in required, "", v.get("description", ""))
                  for k, v in s.get("properties", {}).items()]
        out.append((name, s.get("description", ""), fields))
    return out


async def api_page(request: web.Request) -> web.Response:
    doc = document()
    return render(view(request), "api.html", {"doc": doc, "json_url": OPENAPI_PATH,
                                              "operations": _operations(doc), "schemas": _schemas(doc)})


__all__ = ["api_page", "type_text"]
