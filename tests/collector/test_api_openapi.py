"""The OpenAPI document is generated from the route declarations (collector.web.openapi) and the body
types (collector.web.bodies): every route is documented and every documented route served; a
handler reads exactly the query parameters its declaration names (others are refused, and a
typed one it reads is validated under that name); live answers validate against the schemas."""

from __future__ import annotations

import html
import json
from typing import Annotated, NotRequired, TypedDict

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from collector.reports.model import Kind
from collector.reports.periods import containing, previous
from collector.reports.snapshots import close_month
from collector.runtime.camera_state import State
from collector.web import ROUTES
from collector.web.bodies import Counts
from collector.web.common import error_middleware, json_response
from collector.web.openapi import API_ROUTES, document
from collector.web.params import text_param
from collector.web.spec import Param, Route, meta, schema_of
from tests.collector.test_api_support import (
    TOKEN,
    Live,
    bearer,
    error_param,
    get,
    http_fixture,
    live_fixture,
    response_schema,
    validate,
)

on_module_loop = pytest.mark.asyncio(loop_scope="module")
http = http_fixture()
live = live_fixture()


class _Inner(TypedDict):
    n: int


class _Sample(TypedDict):
    """a sample"""

    state: Annotated[str | None, State, "the state"]
    at: Annotated[str, meta(format="date-time")]
    key: str | int
    inner: _Inner | None
    many: list[_Inner]
    maybe: NotRequired[bool]


def test_schema_of_a_typed_dict() -> None:
    defs: dict[str, dict[str, object]] = {}
    assert schema_of(_Sample, defs) == {"$ref": "#/components/schemas/_Sample"}
    s = defs["_Sample"]
    props = s["properties"]
    assert isinstance(props, dict)
    assert props["state"] == {"type": ["string", "null"], "enum": [*(m.value for m in State), None],
                              "description": "the state"}
    assert props["at"] == {"type": "string", "format": "date-time"}
    assert props["key"] == {"type": ["string", "integer"]}
    assert props["inner"] == {"anyOf": [{"$ref": "#/components/schemas/_Inner"}, {"type": "null"}]}
    assert props["many"] == {"type": "array", "items": {"$ref": "#/components/schemas/_Inner"}}
    assert s["required"] == ["state", "at", "key", "inner", "many"] and s["description"] == "a sample"
    assert defs["_Inner"] == {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}


def test_a_route_declares_its_path_parameters_and_a_write_its_action() -> None:
    async def h(request: web.Request) -> web.Response:
        return json_response({})

    with pytest.raises(ValueError, match="path parameters"):
        Route("GET", "/api/v1/x/{id}", h, "x", None)
    with pytest.raises(ValueError, match="action"):
        Route("POST", "/api/v1/x", h, "x", None)
    assert Route("GET", "/api/v1/x/{id}", h, "x", None, (Param("id", int, "id", where="path"),)).query_names == set()


def test_counts_has_every_state() -> None:
    assert set(Counts.__annotations__) == {"total", *(s.value for s in State)}


def test_document_is_exactly_the_declared_routes() -> None:
    doc = document()
    declared = {(r.method.lower(), r.path) for r in API_ROUTES}
    documented = {(m, p) for p, ops in doc["paths"].items() if p.startswith("/api/") for m in ops}
    assert declared == documented == {(m.lower(), p) for m, p, _ in ROUTES}
    for r in API_ROUTES:
        op = doc["paths"][r.path][r.method.lower()]
        assert [p["name"] for p in op.get("parameters", ())] == [p.name for p in r.params]
        assert str(r.status) in op["responses"] and op["operationId"] == r.handler.__name__
        assert ("requestBody" in op) == (r.body is not None)
    for schema in doc["components"]["schemas"].values():  # every $ref resolves
        for ref in _refs(schema):
            assert ref.rsplit("/", 1)[-1] in doc["components"]["schemas"], ref


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@on_module_loop
async def test_a_handler_cannot_read_an_undeclared_parameter() -> None:
    async def sneaky(request: web.Request) -> web.Response:
        return json_response({"a": text_param(request, "a"), "b": text_param(request, "b")})

    route = Route("GET", "/api/v1/sneaky", sneaky, "reads b, declares a", None, (Param("a", str, "a"),))
    app = web.Application(middlewares=[error_middleware])
    app.router.add_get(route.path, route.bound())
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"http://127.0.0.1:{server.port}/api/v1/sneaky?a=1") as r:
                assert r.status == 500  # the handler's read of 'b' is refused
            async with s.get(f"http://127.0.0.1:{server.port}/api/v1/sneaky?b=1") as r:
                assert r.status == 400 and (await r.json())["error"]["message"].startswith("b: unknown parameter")
    finally:
        await server.close()


async def _paths(live: Live, http: aiohttp.ClientSession) -> dict[str, str]:
    """Each declared path with real ids filled in (a closed month: last month, closed if not yet)."""
    cams = await get(http, live, "/api/v1/cameras?limit=1")
    month = previous(containing(Kind.MONTHLY, live.app.clock(), live.app.settings.accounting.timezone))
    await close_month(live.app.engine, live.app.settings, month, live.app.clock())
    values = {"{id}": str(cams["items"][0]["id"]), "{code}": cams["items"][0]["county"], "{period}": month.label}
    out = {}
    for r in API_ROUTES:
        path = r.path
        for k, v in values.items():
            path = path.replace(k, v)
        out[r.path] = path
    return out


@on_module_loop
async def test_every_route_refuses_an_undeclared_parameter(live: Live, http: aiohttp.ClientSession) -> None:
    paths = await _paths(live, http)
    for r in API_ROUTES:
        async with http.request(r.method, live.u(paths[r.path] + "?no_such_param=1"), headers=bearer(TOKEN)) as resp:
            body = json.loads(await resp.text())
            assert resp.status == 400, (r.method, r.path, resp.status, body)
            error_param(body, "no_such_param")


@on_module_loop
async def test_every_typed_parameter_is_read_under_its_documented_name(live: Live, http: aiohttp.ClientSession) -> None:
    """A bad value of each declared int, bool or enum query parameter is refused naming it: the
    handler reads (and checks) the documented parameter; a good value is answered as documented."""
    doc = document()
    paths = await _paths(live, http)
    checked = 0
    for r in API_ROUTES:
        if r.method != "GET":
            continue
        for p in r.params:
            if p.where != "query" or p.kind is str:
                continue
            error_param(await get(http, live, f"{paths[r.path]}?{p.name}=zz-not-valid", 400), p.name)
            schema = p.schema()
            good = schema.get("enum", ["true"] if p.kind is bool else [str(p.default if p.default is not None else 1)])
            for value in good:
                body = await get(http, live, f"{paths[r.path]}?{p.name}={value}")
                validate(body, response_schema(doc, r.path, "get", 200), doc)
            checked += 1
    assert checked >= 12


@on_module_loop
async def test_live_answers_validate_against_the_generated_schemas(live: Live, http: aiohttp.ClientSession) -> None:
    doc = document()
    paths = await _paths(live, http)
    for r in API_ROUTES:
        if r.method == "GET" and r.response is not None:
            validate(await get(http, live, paths[r.path]), response_schema(doc, r.path, "get", 200), doc)
    served = await get(http, live, "/api/v1/openapi.json")
    assert served == json.loads(json.dumps(doc, ensure_ascii=False))


@on_module_loop
async def test_console_renders_the_document(live: Live, http: aiohttp.ClientSession) -> None:
    """``/api`` lists every operation, its parameters and every schema, in Chinese then English;
    the console's navigation links it."""
    doc = document()
    pages = {}
    for lang in ("zh", "en"):
        async with http.get(live.u(f"/api?lang={lang}")) as r:
            assert r.status == 200 and r.content_type == "text/html"
            pages[lang] = html.unescape(await r.text())
    zh, en = pages["zh"], pages["en"]
    assert "<h1>接口文档</h1>" in zh and "数据结构" in zh and "<h1>API</h1>" in en and "Schemas" in en
    for r in API_ROUTES:
        assert f"{r.method} {r.path}" in zh and r.summary in zh
        assert all(f"<code>{p.name}</code>" in zh for p in r.params)
        if r.action is not None:
            assert f"<code>{r.action.value}</code>" in zh
    for name, schema in doc["components"]["schemas"].items():
        assert f'id="schema-{name}"' in zh
        assert all(f"<code>{k}</code>" in zh for k in schema.get("properties", {}))
    assert 'href="/api/v1/openapi.json"' in zh
    async with http.get(live.u("/?lang=zh")) as r:
        assert r.status == 200 and '<a href="/api">接口文档</a>' in await r.text()
