"""The collector with its GB/T 28181 platform on, as ``camwatch run`` builds it (the App with its
HTTP console), and the project's device simulators pointed at its UDP address: what the end-to-end
GB/T 28181 tests start, in one place. Everything stops when the block ends."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from collector.runtime.app import App
from collector.runtime.gb28181_feed import Gb28181Feed
from collector.settings import Settings, load_settings
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.secrets import SecretBox
from probes.sim.gb28181_sim import GbSim
from tests.inventory.helpers import KEY

TOKEN = "gb-test-token-0123456789"  # the API token of these apps (an admin's)


def gb_settings(url: str, **env: str) -> Settings:
    """The collector on *url* with its console and GB/T 28181 platform on loopback (ports of the
    system's choosing, UDP, keepalives every second, silent 4 s = offline), no video or ONVIF;
    *env*: more settings as ``CAMWATCH_*`` variables, e.g. ``GB28181__AUTH_FAILURES="2"``."""
    return load_settings(db_url=url, environ={
        "CAMWATCH_COLLECTOR__VIDEO": "false", "CAMWATCH_PROBE__ONVIF": "false",
        "CAMWATCH_HTTP__PORT": "0", "CAMWATCH_HTTP__HOST": "127.0.0.1", "CAMWATCH_HTTP__API_TOKEN": TOKEN,
        "CAMWATCH_GB28181__ENABLED": "true", "CAMWATCH_GB28181__HOST": "127.0.0.1", "CAMWATCH_GB28181__PORT": "0",
        "CAMWATCH_GB28181__TRANSPORTS": '["udp"]', "CAMWATCH_GB28181__PASSWORD": "default-Pw-1",
        "CAMWATCH_GB28181__KEEPALIVE_INTERVAL_S": "1", "CAMWATCH_GB28181__KEEPALIVE_TIMEOUT_S": "4",
        **{f"CAMWATCH_{k}": v for k, v in env.items()},
    })


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
