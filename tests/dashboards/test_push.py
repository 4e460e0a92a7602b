"""``camwatch dashboards push`` against a small local aiohttp stand-in for the Grafana HTTP API.

Grafana itself cannot be installed on these machines, hence the stand-in: it implements the
endpoints grafana-client calls for a push (folder list and create, dashboard by uid, dashboard
create/update at /api/dashboards/db) the way Grafana answers them, and records every request.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import click
import pytest
from aiohttp import web
from click.testing import CliRunner

from collector.cli import dashboards_cmd
from collector.cli.context import CliContext
from dashboards.build import DASHBOARDS, build_all
from dashboards.push import PushError, folder_uid_for, push
from tests.net import serve_app

TOKEN = "glsa_test-token-123"


@dataclass
class FakeGrafana:
    folders: dict[str, str] = field(default_factory=dict)  # uid -> title
    dashboards: dict[str, dict] = field(default_factory=dict)  # uid -> {"dashboard":..., "folderUid":...}
    requests: list[tuple[str, str]] = field(default_factory=list)
    bodies: list[dict] = field(default_factory=list)

    def app(self) -> web.Application:
        @web.middleware
        async def auth(request: web.Request, handler):  # type: ignore[no-untyped-def]
            self.requests.append((request.method, request.path))
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return web.json_response({"message": "invalid API key"}, status=401)
            return await handler(request)

        async def list_folders(request: web.Request) -> web.Response:
            return web.json_response([{"id": i + 1, "uid": u, "title": t} for i, (u, t) in enumerate(self.folders.items())])

        async def create_folder(request: web.Request) -> web.Response:
            body = await request.json()
            self.bodies.append(body)
            if body["title"] in self.folders.values():
                return web.json_response({"message": "a folder with the same name already exists"}, status=409)
            self.folders[body["uid"]] = body["title"]
            return web.json_response({"id": len(self.folders), "uid": body["uid"], "title": body["title"], "version": 1})

        async def get_dashboard(request: web.Request) -> web.Response:
            found = self.dashboards.get(request.match_info["uid"])
            if found is None:
                return web.json_response({"message": "Dashboard not found"}, status=404)
            return web.json_response({"dashboard": found["dashboard"], "meta": {"folderUid": found["folderUid"], "slug": "x"}})

        async def save_dashboard(request: web.Request) -> web.Response:
            body = await request.json()
            self.bodies.append(body)
            dash = copy.deepcopy(body["dashboard"])
            uid = dash["uid"]
            if body.get("folderUid") not in self.folders:
                return web.json_response({"message": "folder not found"}, status=400)
            old = self.dashboards.get(uid)
            if old is not None and not body.get("overwrite"):
                return web.json_response({"message": "version-mismatch"}, status=412)
            dash["id"] = old["dashboard"]["id"] if old else len(self.dashboards) + 1
            dash["version"] = old["dashboard"]["version"] + 1 if old else 1
            self.dashboards[uid] = {"dashboard": dash, "folderUid": body["folderUid"]}
            return web.json_response({"id": dash["id"], "uid": uid, "status": "success", "version": dash["version"],
                                      "url": f"/d/{uid}/x"})

        app = web.Application(middlewares=[auth])
        app.router.add_get("/api/folders", list_folders)
        app.router.add_post("/api/folders", create_folder)
        app.router.add_get("/api/dashboards/uid/{uid}", get_dashboard)
        app.router.add_post("/api/dashboards/db", save_dashboard)
        return app


@pytest.fixture
async def grafana() -> AsyncIterator[tuple[FakeGrafana, str]]:
    fake = FakeGrafana()
    async with serve_app(fake.app()) as base:
        yield fake, base


def _writes(fake: FakeGrafana) -> list[tuple[str, str]]:
    return [r for r in fake.requests if r[0] != "GET"]


async def test_push_creates_then_changes_nothing(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    uids = tuple(s.uid for s in DASHBOARDS)
    report = await asyncio.to_thread(push, url, TOKEN, "雪亮工程")
    folder_uid = folder_uid_for("雪亮工程")
    assert report.folder_created and report.folder_uid == folder_uid and report.created == uids and not report.updated
    assert _writes(fake) == [("POST", "/api/folders")] + [("POST", "/api/dashboards/db")] * len(uids)
    assert fake.bodies[0] == {"title": "雪亮工程", "uid": folder_uid}
    expected = build_all()
    for body, spec in zip(fake.bodies[1:], DASHBOARDS, strict=True):
        assert body["folderUid"] == folder_uid and body["overwrite"] is True
        assert {k: v for k, v in body["dashboard"].items() if k != "id"} == expected[spec.file]
    stored = copy.deepcopy(fake.dashboards)

    fake.requests.clear()
    again = await asyncio.to_thread(push, url, TOKEN, "雪亮工程")
    assert again.unchanged == uids and not again.created and not again.updated and not again.folder_created
    assert fake.requests == [("GET", "/api/folders")] + [("GET", f"/api/dashboards/uid/{u}") for u in uids]  # only reads
    assert fake.dashboards == stored  # same content, same versions
    assert {fake.dashboards[u]["dashboard"]["version"] for u in uids} == {1}

    # someone edits one dashboard in Grafana: the next push puts the code's version back, only there
    fake.dashboards["camwatch-coverage"]["dashboard"]["title"] = "改过的标题"
    fake.requests.clear()
    third = await asyncio.to_thread(push, url, TOKEN, "雪亮工程")
    assert third.updated == ("camwatch-coverage",) and len(third.unchanged) == len(uids) - 1
    assert _writes(fake) == [("POST", "/api/dashboards/db")]
    assert fake.dashboards["camwatch-coverage"]["dashboard"]["title"] == "覆盖率"
    assert fake.dashboards["camwatch-coverage"]["dashboard"]["version"] == 2


async def test_push_into_an_existing_folder_and_moves_dashboards(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    fake.folders["ops"] = "camwatch"
    await asyncio.to_thread(push, url, TOKEN)  # default folder "camwatch" exists: reused, not created
    assert ("POST", "/api/folders") not in fake.requests
    assert {d["folderUid"] for d in fake.dashboards.values()} == {"ops"}
    fake.folders["other"] = "其他"
    report = await asyncio.to_thread(push, url, TOKEN, "其他")
    assert report.updated == tuple(s.uid for s in DASHBOARDS)  # same content, new folder: moved
    assert {d["folderUid"] for d in fake.dashboards.values()} == {"other"}


async def test_cli_push_reports_and_hides_the_token(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    group = click.Group()
    dashboards_cmd.register(group)

    def run(*args: str) -> object:
        return CliRunner().invoke(group, ["dashboards", "push", "--url", url, *args], obj=CliContext(None, None, "en"))

    r = await asyncio.to_thread(run, "--token", TOKEN, "--folder", "camwatch")
    assert r.exit_code == 0, r.output  # type: ignore[attr-defined]
    assert "created folder camwatch" in r.output and r.output.count("created camwatch-") == len(DASHBOARDS)  # type: ignore[attr-defined]
    r = await asyncio.to_thread(run, "--token", TOKEN)
    assert r.output.count("unchanged ") == len(DASHBOARDS)  # type: ignore[attr-defined]
    r = await asyncio.to_thread(run, "--token", "wrong-token")
    assert r.exit_code == 1 and "401" in r.output and "wrong-token" not in r.output  # type: ignore[attr-defined]
    with pytest.raises(PushError):
        await asyncio.to_thread(push, url, "wrong-token")


def test_unreachable_grafana_is_a_push_error() -> None:
    with pytest.raises(PushError, match="cannot reach Grafana"):
        push("http://127.0.0.1:1", TOKEN, timeout_s=2.0)  # nothing listens on port 1
