"""Shared parts of the API tests (no tests here): a live App against the simulated fleet.

Each test module gets its own App for the module: 24 simulated cameras (two powered down) at its
own loopback range, a synthetic county inventory whose hosts are the fleet's addresses, and
scripted intervals for yesterday (so rates over a closed period can be compared with the CLI's
exactly). Also a small JSON Schema validator for checking responses against the OpenAPI document.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestServer
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.runtime.app import App
from collector.settings import Settings, load_settings
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.models import Camera, Exclusion, Point, Region, StateInterval
from inventory.secrets import SecretBox
from inventory.synthetic import KEYS, SyntheticSpec, rows, sim_address
from probes.sim import Behaviour, Fleet, Power
from tests.inventory.helpers import KEY, do_import, migrated, write_csv
from tests.net import loopback_range

N = 24
DOWN = (1, 5)  # fleet indices powered down for the whole run
PASSWORD = "apiSecret-7731"
TOKEN = "t0ken-for-the-api-tests"
TZ = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")
USERINFO = re.compile(r"://[^/\s:@]+:(?!\*\*\*@)[^@\s/]*@")  # user:password@ not redacted


def inventory_csv(path: Path, n: int, base: tuple[int, int, int, int], password: str) -> Path:
    """A synthetic county whose camera i is at the fleet's address i (upstream routers next door)."""
    spec = SyntheticSpec(cameras=n, villages_per_township=3, points_per_village=4, password=password)
    headers, gen = rows(spec)
    h, parent = KEYS.index("host"), KEYS.index("parent")
    routers: dict[str, str] = {}
    out, i = [], 0
    for r in gen:
        if r[h]:
            r[h] = sim_address(i, base)
            name = r[parent].split("@")[0]
            routers.setdefault(name, f"{base[0]}.{base[1] + 1}.0.{len(routers) + 1}")
            r[parent] = f"{name}@{routers[name]}"
            i += 1
        out.append(r)
    return write_csv(path, headers, out)


def api_settings(url: str, **extra: str) -> Settings:
    env = {
        "CAMWATCH_COLLECTOR__INTERVAL_S": "1", "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "0.5",
        "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": "[0.2, 0.2]", "CAMWATCH_COLLECTOR__VIDEO": "false",
        "CAMWATCH_COLLECTOR__RELOAD_INTERVAL_S": "30", "CAMWATCH_HTTP__PORT": "0",
        "CAMWATCH_PROBE__REACH_TIMEOUT_S": "0.5", "CAMWATCH_PROBE__RTSP_TIMEOUT_S": "0.5",
        "CAMWATCH_PROBE__ONVIF_TIMEOUT_S": "1", "CAMWATCH_HTTP__API_TOKEN": TOKEN,
    }
    env.update(extra)
    return load_settings(db_url=url, environ=env)


async def camera_ids(engine: Any, n: int, base: tuple[int, int, int, int]) -> dict[int, int]:
    async with engine.connect() as c:
        by_host = dict((await c.execute(select(Camera.host, Camera.id))).all())
    return {i: by_host[sim_address(i, base)] for i in range(n)}


async def settled(app: App, timeout_s: float = 30.0) -> None:
    """Every camera probed and confirmed, and every transition written."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        slots = app.scheduler.slots.values()
        if slots and all(s.last_at is not None and s.status.state.value != "unknown" and s.status.pending is None
                         for s in slots) and app.writer.pending == 0:
            await asyncio.sleep(1.5)  # one more flush
            if app.writer.pending == 0:
                return
        await asyncio.sleep(0.2)
    raise AssertionError("the fleet did not settle")


@dataclass
class Live:
    app: App
    server: TestServer
    db_url: str
    cams: dict[int, int]
    yesterday: dt.date
    tmp: Path

    def u(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"


def local(d: dt.date, hh: int, mm: int = 0) -> dt.datetime:
    return dt.datetime.combine(d, dt.time(hh, mm), TZ).astimezone(dt.UTC)


@dataclass
class Clock:
    """A clock the test sets (an App's ``clock``)."""

    now: dt.datetime

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class Served:
    """A real App, not started (no probing: the data is the test's own), served on loopback."""

    app: App
    server: TestServer

    def u(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"


@contextlib.asynccontextmanager
async def still_app(tmp: Path, n: int, clock: Clock,
                    script: Callable[[AsyncEngine], Awaitable[T]]) -> AsyncIterator[tuple[Served, str, T]]:
    """A real App on *clock*, not started (no probing), served on a free loopback port: a SQLite file
    in *tmp* migrated, a synthetic county of *n* cameras imported and *script* run on it first.
    Yields the App served, the database URL and what *script* returned."""
    url = f"sqlite:///{tmp / 'camwatch.db'}"
    await asyncio.to_thread(migrated, url)
    assert (await asyncio.to_thread(do_import, url, inventory_csv(tmp / "inv.csv", n, (127, 0, 0, 1), "pw"))).written
    engine = create_engine(url)
    scripted = await script(engine)
    app = App(api_settings(url), engine, SecretBox(KEY), clock=clock, http=build_application)  # not started: no probing
    server = TestServer(build_application(app), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        yield Served(app, server), url, scripted
    finally:
        await server.close()
        await engine.dispose()


async def script_yesterday(engine: Any, cams: dict[int, int], day: dt.date) -> None:
    """Closed intervals for yesterday: every 4th camera offline 08:00-10:00 (over the 09:00 check),
    camera 2 degraded all afternoon, camera 3 unknown in the evening; a maintenance exclusion of
    camera 0's township covers 08:30-09:30."""
    rows_: list[dict[str, Any]] = []
    for i, cid in cams.items():
        cuts = [(0, "online"), (24 * 60, None)]
        if i % 4 == 0:
            cuts = [(0, "online"), (8 * 60, "offline"), (10 * 60, "online"), (24 * 60, None)]
        elif i == 2:
            cuts = [(0, "online"), (12 * 60, "degraded"), (24 * 60, None)]
        elif i == 3:
            cuts = [(0, "online"), (20 * 60, "unknown"), (24 * 60, None)]
        for (a, state), (b, _) in zip(cuts, cuts[1:], strict=False):
            start = local(day, 0) + dt.timedelta(minutes=a)
            rows_.append({"camera_id": cid, "state": state, "cause": "refused" if state == "offline" else None,
                          "start": start, "end": local(day, 0) + dt.timedelta(minutes=b)})
    async with engine.begin() as c:
        await c.execute(insert(StateInterval), rows_)
        tw = (await c.execute(select(Camera.point_id).where(Camera.id == cams[0]))).scalar_one()
        village = (await c.execute(select(Point.village_code).where(Point.id == tw))).scalar_one()
        township = (await c.execute(select(Region.parent_code).where(Region.code == village))).scalar_one()
        await c.execute(insert(Exclusion).values(region_code=township, start=local(day, 8, 30), end=local(day, 9, 30),
                                                 reason="计划维护（停电）", approver="县公安局"))


def live_fixture() -> Any:
    """A module-scoped fixture: the App probing a fleet in a free loopback range (cameras in its
    first /16 block, routers in the second), served on a free port."""

    @pytest_asyncio.fixture(loop_scope="module", scope="module")
    async def live(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Live]:
        with loopback_range(2) as rng:
            async with running((127, rng.first_block, 0, 1), tmp_path_factory.mktemp("api")) as value:
                yield value

    return live


# A test module's own set-up of the running App's data (before it starts): the engine, the camera
# ids (fleet index: id) and the started fleet in; the day its Live is about out. Default: yesterday
# scripted.
Setup = Callable[[AsyncEngine, dict[int, int], Fleet], Awaitable[dt.date]]


async def yesterday_scripted(engine: AsyncEngine, cams: dict[int, int], fleet: Fleet) -> dt.date:
    yesterday = dt.datetime.now(TZ).date() - dt.timedelta(days=1)
    await script_yesterday(engine, cams, yesterday)
    return yesterday


async def unscripted(engine: AsyncEngine, cams: dict[int, int], fleet: Fleet) -> dt.date:
    """No data of the module's own: the database holds the inventory and what the App writes (the
    day: today)."""
    return dt.datetime.now(TZ).date()


@contextlib.asynccontextmanager
async def running(base: tuple[int, int, int, int], tmp: Path, setup: Setup = yesterday_scripted, *,
                  db_url: str | None = None, n: int = N, down: Sequence[int] = DOWN) -> AsyncIterator[Live]:
    """The App probing a fleet of *n* cameras (those at the indices *down* powered down) from *base*,
    served on a free port: the database (*db_url*, else a SQLite file in *tmp*) migrated, the
    inventory imported, *setup* run, every camera settled."""
    url = db_url or f"sqlite:///{tmp / 'camwatch.db'}"
    await asyncio.to_thread(migrated, url)
    outcome = await asyncio.to_thread(do_import, url, inventory_csv(tmp / "inv.csv", n, base, PASSWORD))
    assert outcome.written
    engine = create_engine(url)
    cams = await camera_ids(engine, n, base)
    fleet = Fleet(n, base_address=sim_address(0, base), password=PASSWORD, workers=1)
    await fleet.astart()
    app: App | None = None
    server: TestServer | None = None
    try:
        if down:
            await fleet.aset_behaviour(list(down), Behaviour(power=Power.DOWN))
        day = await setup(engine, cams, fleet)
        app = App(api_settings(url), engine, SecretBox(KEY), http=build_application)
        await app.start()
        server = TestServer(build_application(app), host="127.0.0.1", port=0)
        await server.start_server()
        await settled(app)
        yield Live(app, server, url, cams, day, tmp)
    finally:
        if server is not None:
            await server.close()
        if app is not None:
            await app.stop()
        await fleet.astop()
        await engine.dispose()


def http_fixture() -> Any:
    """A client session per test, on the module's event loop."""

    @pytest_asyncio.fixture(loop_scope="module")
    async def http() -> AsyncIterator[aiohttp.ClientSession]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as s:
            yield s

    return http


async def get(http: aiohttp.ClientSession, live: Live, path: str, status: int = 200, **kw: Any) -> Any:
    async with http.get(live.u(path), **kw) as r:
        text = await r.text()
        assert r.status == status, (path, r.status, text)
        assert r.content_type == "application/json"
        assert PASSWORD not in text
        return json.loads(text)


def error_param(body: dict[str, Any], param: str) -> None:
    assert set(body) == {"error"} and body["error"]["message"].startswith(param + ":"), body


# -- a JSON Schema subset validator (type, enum, properties, required, items, anyOf, $ref) ------------


def validate(value: Any, schema: dict[str, Any], doc: dict[str, Any], where: str = "$") -> None:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return validate(value, doc["components"]["schemas"][name], doc, where)
    if "anyOf" in schema:
        errors = []
        for alt in schema["anyOf"]:
            try:
                validate(value, alt, doc, where)
                return None
            except AssertionError as exc:
                errors.append(str(exc))
        raise AssertionError(f"{where}: matches no alternative: {errors}")
    types = schema.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        kinds = {"string": str, "object": dict, "array": list, "boolean": bool, "null": type(None)}

        def is_(t: str) -> bool:
            if t == "integer":
                return isinstance(value, int) and not isinstance(value, bool)
            if t == "number":
                return isinstance(value, (int, float)) and not isinstance(value, bool)
            return isinstance(value, kinds[t])

        assert any(is_(t) for t in types), f"{where}: {value!r} is not {types}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        assert value >= schema.get("minimum", value) and value <= schema.get("maximum", value), f"{where}: {value} out of range"
    if isinstance(value, dict) and "properties" in schema:
        missing = set(schema.get("required", ())) - set(value)
        assert not missing, f"{where}: missing {missing}"
        extra = set(value) - set(schema["properties"])
        assert not extra, f"{where}: undocumented {extra}"
        for k, v in value.items():
            validate(v, schema["properties"][k], doc, f"{where}.{k}")
    if isinstance(value, list) and "items" in schema:
        for i, v in enumerate(value):
            validate(v, schema["items"], doc, f"{where}[{i}]")
    return None


def response_schema(doc: dict[str, Any], path: str, method: str, status: int) -> dict[str, Any]:
    return doc["paths"][path][method]["responses"][str(status)]["content"]["application/json"]["schema"]


# -- cameras ------------------------------------------------------------------------------------------




async def cli_json(live: Live, *args: str) -> Any:
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env["CAMWATCH_DB"] = live.db_url
    proc = await asyncio.create_subprocess_exec(exe, *args, "--json", cwd=live.tmp, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return json.loads(out)




def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
