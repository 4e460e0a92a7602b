"""`camwatch run` stopped by SIGTERM and started again, against the simulated fleet on loopback:
the stop closes every interval and writes the heartbeat at the stop instant; after the start a
catch-up sweep probes every camera within collector.catchup_s, so the unknown gap ends then
(the interval here is 30 s: without the catch-up the gap would last up to 30 s)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
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
from inventory.models import CollectorHeartbeat
from probes.sim import Behaviour, Fleet, Power
from probes.sim.loopback import LoopbackRange
from tests.collector.test_cli_inventory import SAMPLE_PASSWORD, camwatch
from tests.collector.test_run import _env, _intervals, _metrics, _wait
from tests.net import free_port, sample_inventory_at

CATCHUP_S = 3.0
SLACK_S = 2.5  # a probe's own time and its confirmation re-probes on a busy 2-core box


def _start(tmp: Path, port: int) -> subprocess.Popen[str]:
    env = _env(tmp, port)
    env.update({"CAMWATCH_COLLECTOR__INTERVAL_S": "30", "CAMWATCH_COLLECTOR__CATCHUP_S": str(CATCHUP_S)})
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    return subprocess.Popen([exe, "run"], cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _heartbeat(tmp: Path) -> dt.datetime:
    async def go() -> dt.datetime:
        engine = create_engine(f"sqlite:///{tmp / 'camwatch.db'}")
        try:
            async with engine.connect() as c:
                return (await c.execute(select(CollectorHeartbeat.at))).scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _health(port: int) -> dict[str, object]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def _all_known(port: int) -> bool:
    text = _metrics(port)
    return text.count("camwatch_camera_up{") >= 48 and re.search(
        r'camwatch_region_cameras\{level="county",[^}]*status="unknown"\} 0\.0', text) is not None


def _stop(proc: subprocess.Popen[str]) -> tuple[dt.datetime, str]:
    at = dt.datetime.now(dt.UTC)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    return at, out


def _by_camera(tmp: Path) -> dict[int, list[tuple[int, str, dt.datetime, dt.datetime | None]]]:
    out: dict[int, list[tuple[int, str, dt.datetime, dt.datetime | None]]] = {}
    for r in _intervals(tmp):
        out.setdefault(r[0], []).append(r)  # type: ignore[arg-type]
    return out


def _utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def test_sigterm_closes_intervals_at_the_stop_and_the_catch_up_ends_the_gap(tmp_path: Path,
                                                                            loopback: LoopbackRange) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    sample = sample_inventory_at(tmp_path / "sample.csv", loopback)
    assert camwatch(tmp_path, "inventory", "import", str(sample)).returncode == 0
    port = free_port()
    with Fleet(48, base_address=loopback.base_address, password=SAMPLE_PASSWORD) as fleet:
        fleet.set_behaviour(3, Behaviour(power=Power.DOWN))
        proc = _start(tmp_path, port)
        try:
            _wait(lambda: _metrics(port).count("camwatch_camera_up{") >= 48, 30)
            time.sleep(1.0)
            stop_at, out = _stop(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert "camwatch stopped at" in out
        hb = _utc(_heartbeat(tmp_path))
        assert abs((hb - stop_at).total_seconds()) <= 1.0, (hb, stop_at)
        rows = _by_camera(tmp_path)
        assert set(rows) == set(range(1, 49))
        for cid, rs in rows.items():
            *before, last = rs
            assert last[1] == "unknown" and _utc(last[2]) == hb and last[3] is None, (cid, rs)
            assert before and before[-1][1] in ("online", "offline") and _utc(before[-1][3]) == hb, (cid, rs)  # type: ignore[arg-type]

        # the second start: every camera probed within catchup_s, so its unknown gap ends then
        time.sleep(1.0)
        proc = _start(tmp_path, port)
        try:
            _wait(lambda: _health(port)["status"] == "ok", 30)
            started = dt.datetime.fromisoformat(str(_health(port)["started_at"]))
            _wait(lambda: _all_known(port), CATCHUP_S + 15)
            time.sleep(1.0)
            stop2, _ = _stop(proc)
        finally:
            if proc.poll() is None:
                proc.kill()
    rows = _by_camera(tmp_path)
    ends = []
    for cid, rs in rows.items():
        gap = next(r for r in rs if r[1] == "unknown" and _utc(r[2]) == hb)
        assert gap[3] is not None, (cid, rs)  # the first probe after the start ended it
        ends.append((_utc(gap[3]) - started).total_seconds())  # type: ignore[arg-type]
        for prev, nxt in pairwise(rs):
            assert prev[3] == nxt[2], (cid, prev, nxt)  # contiguous
        assert [r[1] for r in rs].count("unknown") == 2  # one per stop, none added by the start
    assert max(ends) <= CATCHUP_S + SLACK_S, sorted(ends)[-5:]
    assert min(ends) >= -0.5  # (the gap does not end before the start)
    # spread, not a burst: the probes of the catch-up cover its span
    assert max(ends) - min(ends) >= CATCHUP_S / 2, sorted(ends)
    assert abs((_utc(_heartbeat(tmp_path)) - stop2).total_seconds()) <= 1.0
