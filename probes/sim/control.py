"""A small HTTP control API for a running fleet (aiohttp; not on the hot path).

Routes (JSON; camera passwords never appear):

- ``GET  /fleet``                          size, address range, ports
- ``GET  /cameras/{i}``                    one camera and its behaviour
- ``GET  /cameras/{i}/behaviour``          the behaviour
- ``PUT  /cameras/{i}/behaviour``          replace it (missing fields take their defaults)
- ``PATCH /cameras/{i}/behaviour``         change only the given fields
- ``GET  /cameras/{i}/stats``              the camera's request counters
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING, Any, cast

from aiohttp import web

from probes.sim.behaviour import Behaviour, BehaviourError

if TYPE_CHECKING:
    from probes.sim.fleet import Fleet

_FLEET_KEY: web.AppKey[Fleet] = web.AppKey("fleet")


def _index(request: web.Request) -> int:
    fleet = request.app[_FLEET_KEY]
    try:
        index = int(request.match_info["index"])
    except ValueError:
        raise web.HTTPNotFound(text="camera index must be an integer") from None
    if not 0 <= index < fleet.n:
        raise web.HTTPNotFound(text=f"no camera {index}")
    return index


async def _fleet(request: web.Request) -> web.Response:
    fleet = request.app[_FLEET_KEY]
    return web.json_response({
        "cameras": fleet.n, "first_address": fleet.first_address,
        "last_address": fleet.last_address, "rtsp_port": fleet.rtsp_port,
        "onvif_port": fleet.onvif_port, "username": fleet.username,
    })


async def _camera(request: web.Request) -> web.Response:
    fleet = request.app[_FLEET_KEY]
    index = _index(request)
    cam = fleet.camera(index)
    behaviour = await asyncio.to_thread(fleet.behaviour, index)
    return web.json_response({
        "index": cam.index, "host": cam.host, "rtsp_port": cam.rtsp_port,
        "onvif_port": cam.onvif_port, "rtsp_path": cam.rtsp_path, "username": cam.username,
        "behaviour": behaviour.to_json(),
    })


async def _get_behaviour(request: web.Request) -> web.Response:
    fleet = request.app[_FLEET_KEY]
    behaviour = await asyncio.to_thread(fleet.behaviour, _index(request))
    return web.json_response(behaviour.to_json())


async def _change_behaviour(request: web.Request) -> web.Response:
    fleet = request.app[_FLEET_KEY]
    index = _index(request)
    try:
        data: Any = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="body must be JSON") from None
    base = await asyncio.to_thread(fleet.behaviour, index) if request.method == "PATCH" else None
    try:
        behaviour = Behaviour.from_json(data, base=base)
    except (BehaviourError, TypeError) as exc:
        raise web.HTTPBadRequest(text=str(exc)) from None
    await asyncio.to_thread(fleet.set_behaviour, index, behaviour)
    return web.json_response(behaviour.to_json())


async def _stats(request: web.Request) -> web.Response:
    fleet = request.app[_FLEET_KEY]
    index = _index(request)
    stats = (await asyncio.to_thread(fleet.stats, [index])).camera(index)
    out = dataclasses.asdict(stats)
    out["onvif_actions"] = dict(stats.onvif_actions)
    return web.json_response(out)


def make_app(fleet: Fleet) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app[_FLEET_KEY] = fleet
    app.router.add_get("/fleet", _fleet)
    app.router.add_get("/cameras/{index}", _camera)
    app.router.add_get("/cameras/{index}/behaviour", _get_behaviour)
    app.router.add_put("/cameras/{index}/behaviour", _change_behaviour)
    app.router.add_patch("/cameras/{index}/behaviour", _change_behaviour)
    app.router.add_get("/cameras/{index}/stats", _stats)
    return app


class ControlServer:
    """The control API bound to one address; ``port`` is the real port (useful with port 0)."""

    def __init__(self, fleet: Fleet) -> None:
        self._runner = web.AppRunner(make_app(fleet), access_log=None)
        self.host = ""
        self.port = 0

    async def start(self, host: str, port: int) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = cast(asyncio.Server | None, site._server)  # the bound port is only here
        assert server is not None and server.sockets
        self.host, self.port = server.sockets[0].getsockname()[:2]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def close(self) -> None:
        await self._runner.cleanup()
