"""How an API route is declared once: :class:`Route` (method, path, handler, parameters, body and
answer types, error codes, the action a write needs) and :class:`Param` (a typed query or path
parameter), and :func:`schema_of`, the JSON Schema of a body type.

Answer types are ``TypedDict`` classes (:mod:`collector.web.bodies`); the handlers' JSON helpers
return them, so mypy checks the handlers against the very types the OpenAPI document is made of.
Request bodies are pydantic models (:mod:`collector.web.inputs`): the handlers validate with them
and the document's request schemas are theirs.
Fields are annotated with ``Annotated[T, ...]`` for what a Python type cannot say: a ``StrEnum``
class (the allowed values), a :class:`Meta` (extra JSON Schema keywords) or a ``str`` (a
description).
"""

from __future__ import annotations

import re
import types
import typing
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel

from collector.web.common import Handler, bad_param
from collector.web.params import QUERY_NAMES
from collector.web.principal import Action

Schema = dict[str, Any]
_PRIMITIVE: dict[object, str] = {int: "integer", float: "number", str: "string", bool: "boolean", type(None): "null"}
PATH_PARAM = re.compile(r"\{([^}]+)\}")


@dataclass(frozen=True, slots=True)
class Meta:
    """JSON Schema keywords added to an annotated field (``format``, ``minimum``, ...)."""

    keywords: tuple[tuple[str, Any], ...]  # hashable: typing hashes Annotated's metadata


def meta(**keywords: Any) -> Meta:
    return Meta(tuple(keywords.items()))


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _union(members: tuple[Any, ...], defs: dict[str, Schema]) -> Schema:
    if all(m in _PRIMITIVE for m in members):
        return {"type": [_PRIMITIVE[m] for m in members]}
    return {"anyOf": [schema_of(m, defs) for m in members]}


def _annotated(base: Any, extras: tuple[Any, ...], defs: dict[str, Schema]) -> Schema:
    out = dict(schema_of(base, defs))
    for extra in extras:
        if isinstance(extra, type) and issubclass(extra, Enum):
            values: list[Any] = [m.value for m in extra]
            kinds = out.get("type")
            out["enum"] = [*values, None] if isinstance(kinds, list) and "null" in kinds else values
        elif isinstance(extra, Meta):
            out.update(dict(extra.keywords))
        elif isinstance(extra, str):
            out["description"] = extra
        else:
            raise TypeError(f"unknown annotation {extra!r}")
    return out


def _object(td: Any, defs: dict[str, Schema]) -> Schema:
    hints = typing.get_type_hints(td, include_extras=True)
    # read NotRequired from the hints: __required_keys__ misses it under postponed annotations (3.11)
    required = {k for k, v in hints.items() if typing.get_origin(v) is not typing.NotRequired} & td.__required_keys__
    out: Schema = {"type": "object", "properties": {k: schema_of(v, defs) for k, v in hints.items()},
                   "required": [k for k in hints if k in required]}
    if td.__doc__ and not td.__doc__.startswith(td.__name__ + "("):
        out["description"] = " ".join(td.__doc__.split())
    return out


def _tidy(schema: Any) -> Any:
    """A pydantic schema in the document's style: no titles; a union of plain types as a type list."""
    if isinstance(schema, list):
        return [_tidy(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: ({n: _tidy(p) for n, p in v.items()} if k == "properties" else _tidy(v))
           for k, v in schema.items() if k != "title"}
    members = out.get("anyOf")
    if isinstance(members, list) and all(isinstance(m, dict) and set(m) == {"type"} and isinstance(m["type"], str)
                                          for m in members):
        out["type"] = [m["type"] for m in members]
        del out["anyOf"]
    return out


def _model(tp: type[BaseModel], defs: dict[str, Schema]) -> Schema:
    """A request body (:mod:`collector.web.inputs`): its validation schema, as pydantic checks it."""
    name = tp.__name__
    if name not in defs:
        schema = tp.model_json_schema(ref_template="#/components/schemas/{model}", mode="validation")
        for sub, body in schema.pop("$defs", {}).items():
            defs.setdefault(sub, _tidy(body))
        defs[name] = _tidy(schema)
    return ref(name)


def schema_of(tp: Any, defs: dict[str, Schema]) -> Schema:
    """The JSON Schema of *tp*; a TypedDict becomes a ``$ref`` and its schema is put in *defs*."""
    if isinstance(tp, type) and tp in _PRIMITIVE:
        return {"type": _PRIMITIVE[tp]}
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.NotRequired, typing.Required):
        return schema_of(args[0], defs)
    if origin is typing.Annotated:
        return _annotated(args[0], tuple(tp.__metadata__), defs)
    if origin in (typing.Union, types.UnionType):
        return _union(args, defs)
    if origin is list:
        return {"type": "array", "items": schema_of(args[0], defs)}
    if origin is Literal:
        return {"type": "string", "enum": list(args)}
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _model(tp, defs)
    if typing.is_typeddict(tp):
        name = tp.__name__
        if name not in defs:
            defs[name] = {}  # a placeholder while the fields are read (recursive types)
            defs[name] = _object(tp, defs)
        return ref(name)
    raise TypeError(f"no JSON Schema for {tp!r}")


@dataclass(frozen=True, slots=True)
class Param:
    """A query or path parameter. *kind*: ``int``, ``str``, ``bool`` (``true``/``false``) or a
    ``StrEnum`` class (*choices* narrows it)."""

    name: str
    kind: Any
    description: str
    where: Literal["query", "path"] = "query"
    default: object = None
    minimum: int | None = None
    maximum: int | None = None
    choices: tuple[Enum, ...] | None = None

    def schema(self) -> Schema:
        if isinstance(self.kind, type) and issubclass(self.kind, Enum):
            out: Schema = {"type": "string", "enum": [m.value for m in (self.choices or tuple(self.kind))]}
        else:
            out = {"type": _PRIMITIVE[self.kind]}
        extra = {"default": self.default, "minimum": self.minimum, "maximum": self.maximum}
        out.update({k: v for k, v in extra.items() if v is not None})
        return out

    def openapi(self) -> Schema:
        return {"name": self.name, "in": self.where, "required": self.where == "path",
                "schema": self.schema(), "description": self.description}


@dataclass(frozen=True, slots=True)
class Route:
    """One API route: the router adds it and the OpenAPI document describes it, from this alone.

    *response*: the TypedDict of the answer (None: 204 without a body); *body*: the TypedDict of
    the request body; *errors*: the error statuses it may answer besides 401/403; *action*: what
    a write needs (:mod:`collector.web.auth`); reads need none.
    """

    method: str
    path: str
    handler: Handler
    summary: str
    response: Any
    params: tuple[Param, ...] = ()
    body: Any = None
    errors: tuple[int, ...] = ()
    status: int = 200
    action: Action | None = None
    query_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        in_path = set(PATH_PARAM.findall(self.path))
        declared = {p.name for p in self.params if p.where == "path"}
        if in_path != declared:
            raise ValueError(f"{self.method} {self.path}: path parameters {sorted(declared)} != {sorted(in_path)}")
        if (self.method != "GET") != (self.action is not None):
            raise ValueError(f"{self.method} {self.path}: a write declares its action, a read none")
        object.__setattr__(self, "query_names", frozenset(p.name for p in self.params if p.where == "query"))

    def bound(self) -> Handler:
        """The handler as the router calls it: an undeclared query parameter is refused (400), and
        :mod:`collector.web.params` refuses to read one the declaration does not name."""
        route = self

        async def handle(request: web.Request) -> web.StreamResponse:
            unknown = sorted(set(request.query) - route.query_names)
            if unknown:
                allowed = ", ".join(sorted(route.query_names)) or "none"
                raise bad_param(unknown[0], f"unknown parameter (allowed: {allowed})")
            request[QUERY_NAMES] = route.query_names
            return await route.handler(request)

        handle.__name__ = getattr(self.handler, "__name__", "handle")
        return handle


__all__ = ["Meta", "Param", "Route", "Schema", "meta", "ref", "schema_of"]
