"""`camwatch run` as a process against the simulated fleet: metrics, SIGTERM, kill -9 and restart."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from itertools import pairwise
from pathlib import Path

from sqlalchemy import select

from inventory.db import create_engine
from inventory.models import StateInterval
from probes.sim import Behaviour, Fleet, Power
from probes.sim.loopback import LoopbackRange
from tests.collector.test_cli_inventory import SAMPLE_PASSWORD, camwatch
from tests.net import free_port, sample_inventory_at


def _env(tmp: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env.update({
        "CAMWATCH_COLLECTOR__INTERVAL_S": "2", "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "0.5",
        "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": "[0.3, 0.3]", "CAMWATCH_COLLECTOR__VIDEO": "false",
        "CAMWATCH_COLLECTOR__RELOAD_INTERVAL_S": "1", "CAMWATCH_HTTP__PORT": str(port),
        "CAMWATCH_COLLECTOR__FIGURES_INTERVAL_S": "1",
        "CAMWATCH_PROBE__REACH_TIMEOUT_S": "1", "CAMWATCH_PROBE__RTSP_TIMEOUT_S": "1", "CAMWATCH_PROBE__ONVIF_TIMEOUT_S": "1",
    })
    return env


def _start(tmp: Path, port: int) -> subprocess.Popen[str]:
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    return subprocess.Popen([exe, "run"], cwd=tmp, env=_env(tmp, port), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return r.read().decode()


def _wait(cond, timeout: float) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < end:
        try:
            if cond():
                return
        except Exception as exc:  # noqa: BLE001 - server not up yet
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"not met within {timeout} s (last error: {last})")


def _intervals(tmp: Path) -> list[tuple[int, str, object, object]]:
    async def go():  # type: ignore[no-untyped-def]
        engine = create_engine(f"sqlite:///{tmp / 'camwatch.db'}")
        try:
            async with engine.connect() as c:
                q = select(StateInterval.camera_id, StateInterval.state, StateInterval.start, StateInterval.end)
                return [tuple(r) for r in (await c.execute(q.order_by(StateInterval.camera_id, StateInterval.start)))]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_run_metrics_sigterm_and_crash_restart(tmp_path: Path, loopback: LoopbackRange) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    sample = sample_inventory_at(tmp_path / "sample.csv", loopback)
    assert camwatch(tmp_path, "inventory", "import", str(sample)).returncode == 0
    port = free_port()  # camwatch run's HTTP port, the same across its restarts
    with Fleet(48, base_address=loopback.base_address, password=SAMPLE_PASSWORD) as fleet:
        fleet.set_behaviour(3, Behaviour(power=Power.DOWN))
        proc = _start(tmp_path, port)
        try:
            _wait(lambda: _metrics(port).count("camwatch_camera_up{") >= 48, 20)
            text = _metrics(port)
            assert 'camwatch_camera_offline_cause{camera="4"' in text and 'cause="refused"' in text
            assert 'camwatch_region_online_ratio{level="county",region="130123000000",region_name="示范县"}' in text
            assert SAMPLE_PASSWORD not in text
            _wait(lambda: 'camwatch_region_availability_ratio{level="county",region="130123000000",region_name="示范县",window="1d"}' in _metrics(port), 10)
            text = _metrics(port)
            assert 'camwatch_region_coverage_ratio{level="township"' in text
            assert 'camwatch_region_target_ratio{level="county",region="130123000000",region_name="示范县"} 0.95' in text
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                health = json.loads(r.read())
            assert health["status"] == "ok" and health["cameras"] == 48
            # the rollup task ran at start (no past midnight with intervals yet: nothing built)
            assert health["rollups"]["last_run_at"] and health["rollups"]["error"] is None
            assert health["workers"] is None  # (48 cameras: probed in this process, collector.workers auto)
            time.sleep(1.5)  # let a batch commit
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        rows = _intervals(tmp_path)
        assert {r[0] for r in rows} == set(range(1, 49))
        assert [r[1] for r in rows if r[0] == 4] == ["offline", "unknown"]  # SIGTERM: unknown from the stop
        # restart, then kill -9, then restart: no overlaps, and the gaps are unknown
        proc = _start(tmp_path, port)
        try:
            _wait(lambda: _metrics(port).count("camwatch_camera_up{") >= 48, 20)
            time.sleep(1.5)
            proc.kill()
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
        time.sleep(1.0)
        proc = _start(tmp_path, port)
        try:
            _wait(lambda: _metrics(port).count("camwatch_camera_up{") >= 48, 20)
            time.sleep(1.5)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    rows = _intervals(tmp_path)
    by_cam: dict[int, list[tuple[int, str, object, object]]] = {}
    for r in rows:
        by_cam.setdefault(r[0], []).append(r)
    for cid, rs in by_cam.items():
        for prev, nxt in pairwise(rs):
            assert prev[3] == nxt[2], (cid, prev, nxt)  # contiguous: no overlap, no hole
        assert rs[-1][3] is None
        assert sum(1 for r in rs if r[1] == "unknown") >= 2, rs  # both restarts left an unknown gap
