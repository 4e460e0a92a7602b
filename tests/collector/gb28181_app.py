"""The collector with its GB/T 28181 platform on, as ``camwatch run`` builds it (the App with its
HTTP console), and the project's device simulators pointed at its UDP address: what the end-to-end
GB/T 28181 tests start, in one place. Everything stops when the block ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from collector.runtime.app import App
from collector.runtime.gb28181_feed import Gb28181Feed
from collector.settings import Settings
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.secrets import SecretBox
from probes.sim.gb28181_sim import GbSim
from tests.inventory.helpers import KEY


@dataclass
class GbApp:
    app: App
    sims: list[GbSim] = field(default_factory=list)

    @property
    def feed(self) -> Gb28181Feed:
        feed = self.app.gb28181
        assert feed is not None, "gb28181.enabled is off"
        return feed

    @property
    def http_port(self) -> int:
        site = self.app.http_site
        assert site is not None, "no HTTP console"
        return int(site.port)

    async def sim(self, **kw: object) -> GbSim:
        """A started device simulator that registers with this platform (over UDP)."""
        s = self.app.settings.gb28181
        sim = GbSim(self.feed.platform.addresses["udp"], domain=s.domain, server_id=s.server_id, **kw)  # type: ignore[arg-type]
        self.sims.append(sim)
        await sim.start()
        return sim


@contextlib.asynccontextmanager
async def gb_app(url: str, settings: Settings) -> AsyncIterator[GbApp]:
    engine = create_engine(url)
    rig = GbApp(App(settings, engine, SecretBox(KEY), http=build_application))
    await rig.app.start()
    try:
        yield rig
    finally:
        for sim in rig.sims:
            await sim.close()
        await rig.app.stop()
        await engine.dispose()
