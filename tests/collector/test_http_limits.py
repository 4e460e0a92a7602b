"""The HTTP side of a running collector has limits, so web clients cannot starve probing.

A real App (SQLite, the fleet simulator on its own loopback range) is held under 2,000 idle
connections while /metrics is scraped and the cameras are probed; a slowloris client is cut off
at the header timeout; oversized heads and bodies are refused. Bounded in count and time.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import aiohttp

from collector.runtime.app import App
from collector.runtime.http_guard import effective_cap
from collector.settings import load_settings
from collector.web.server import build_application
from inventory.db import create_engine
from inventory.secrets import SecretBox
from probes.sim import Fleet
from probes.sim.loopback import LoopbackRange
from tests.inventory.helpers import KEY, do_import, migrated
from tests.net import sample_inventory_at

CAP, HEADER_TIMEOUT, IDLE = 100, 1.5, 2000
TOKEN = "limits-test-token"
PROBES = re.compile(r'^camwatch_probes_total\{[^}]*stage="reach"[^}]*\} (\d+(?:\.\d+)?)$', re.M)


def _settings(url: str):  # type: ignore[no-untyped-def]
    return load_settings(db_url=url, environ={
        "CAMWATCH_COLLECTOR__INTERVAL_S": "1", "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "0.5",
        "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": "[0.2, 0.2]", "CAMWATCH_COLLECTOR__VIDEO": "false",
        "CAMWATCH_HTTP__PORT": "0", "CAMWATCH_PROBE__ONVIF": "false",
        "CAMWATCH_HTTP__MAX_CONNECTIONS": str(CAP), "CAMWATCH_HTTP__HEADER_TIMEOUT_S": str(HEADER_TIMEOUT),
        "CAMWATCH_HTTP__MAX_BODY_BYTES": "4096", "CAMWATCH_HTTP__API_TOKEN": TOKEN,
    })


async def _scrape(port: int) -> tuple[float, str]:
    t0 = time.monotonic()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s, \
            s.get(f"http://127.0.0.1:{port}/metrics") as r:
        assert r.status == 200
        return time.monotonic() - t0, await r.text()


def _reach_probes(text: str) -> float:
    return sum(float(v) for v in PROBES.findall(text))


async def _open_idle(port: int, n: int) -> list[asyncio.StreamWriter]:
    writers: list[asyncio.StreamWriter] = []
    for _ in range(n):
        try:
            _r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
        except (OSError, TimeoutError):
            continue  # the server may reset a connection it cannot take: that is the point
        writers.append(w)
    return writers


def test_idle_connections_do_not_starve_probing_or_metrics(tmp_path: Path, loopback: LoopbackRange) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'h.db'}")
    assert do_import(url, sample_inventory_at(tmp_path / "sample.csv", loopback)).written

    async def go() -> None:
        engine = create_engine(url)
        with Fleet(48, base_address=loopback.base_address, password="admin123"):
            app = App(_settings(url), engine, SecretBox(KEY), http=build_application)
            await app.start()
            try:
                site = app.http_site
                assert site is not None and site.cap == effective_cap(CAP)
                port = site.port
                await asyncio.sleep(2.0)
                base_s, text = await _scrape(port)
                before = _reach_probes(text)
                t0 = time.monotonic()
                idle = await _open_idle(port, IDLE)
                assert site.counter.open <= CAP
                assert site.counter.evicted + site.counter.rejected >= IDLE - CAP - 50
                # scrapes get through while 2,000 idle clients hold (or keep trying for) the slots
                times = []
                for _ in range(5):
                    s, text = await _scrape(port)
                    times.append(s)
                    await asyncio.sleep(0.3)
                assert max(times) < 2.0, times
                elapsed = time.monotonic() - t0
                after = _reach_probes(text)
                # 48 cameras on a 1 s tier: probing went on at (nearly) its full rate
                assert after - before >= 0.7 * 48 * elapsed, (before, after, elapsed)
                states = {s.status.state.value for s in app.scheduler.slots.values()}
                assert "unknown" not in states, states
                for w in idle:
                    w.close()
            finally:
                await app.stop()
                await engine.dispose()

    asyncio.run(asyncio.wait_for(go(), 120))


def test_slow_heads_and_big_requests_are_cut_off(tmp_path: Path, loopback: LoopbackRange) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'h.db'}")

    async def go() -> None:
        engine = create_engine(url)
        app = App(_settings(url), engine, SecretBox(KEY), http=build_application)
        await app.start()
        try:
            assert app.http_site is not None
            port = app.http_site.port
            # slowloris: a request head trickling in one byte at a time is closed at the header timeout
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            t0 = time.monotonic()
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
            closed_after = None
            for i in range(40):
                try:
                    writer.write(b"X-Slow-%d: 1\r\n" % i)
                    await writer.drain()
                    got = await asyncio.wait_for(reader.read(100), 0.25)
                    if got == b"":
                        closed_after = time.monotonic() - t0
                        break
                except TimeoutError:
                    continue
                except (ConnectionResetError, BrokenPipeError):
                    closed_after = time.monotonic() - t0
                    break
            assert closed_after is not None and HEADER_TIMEOUT - 0.2 <= closed_after <= HEADER_TIMEOUT + 1.5, closed_after
            assert app.http_site.counter.timed_out >= 1
            writer.close()
            async with aiohttp.ClientSession() as s:
                async with s.get(f"http://127.0.0.1:{port}/healthz", headers={"X-Big": "a" * 9000}) as r:
                    assert r.status in (400, 431)
                async with s.post(f"http://127.0.0.1:{port}/api/v1/exclusions", data=b"x" * 10_000,
                                  headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}) as r:
                    assert r.status == 413
                async with s.get(f"http://127.0.0.1:{port}/healthz") as r:
                    assert r.status == 200  # and the server is fine
        finally:
            await app.stop()
            await engine.dispose()

    asyncio.run(asyncio.wait_for(go(), 60))


def test_connection_cap_keeps_three_quarters_of_the_files_for_probing() -> None:
    assert effective_cap(1000, 20_000) == 1000
    assert effective_cap(1000, 1024) == 256
    assert effective_cap(5, 2) == 1
