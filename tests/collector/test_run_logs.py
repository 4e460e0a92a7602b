"""`camwatch run`'s log is something an operator can follow: the start (cameras, tiers, address),
one summary line per sweep (cameras by state, duration, lateness p99), the unknown gap a start
writes after a crash (cameras, seconds), the stop; as text or as one JSON object per line.
A real collector on loopback against the simulated fleet, its log read from a file."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from probes.sim import Behaviour, Fleet, Power
from probes.sim.loopback import LoopbackRange
from tests.collector.test_cli_inventory import SAMPLE_PASSWORD, camwatch
from tests.collector.test_run import _env, _wait
from tests.net import free_port, sample_inventory_at

CAMERAS = 48
SWEEP = re.compile(r"sweep: (\d+) online, (\d+) degraded, (\d+) offline, (\d+) unknown, (\d+) excluded; "
                   r"([\d.]+) s; lateness p99 <= ([\d.]+ s|inf s|-)")


def _start(tmp: Path, port: int, log: Path, fmt: str) -> subprocess.Popen[bytes]:
    env = _env(tmp, port)
    env["CAMWATCH_LOG_FORMAT"] = fmt
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    with log.open("wb") as fh:
        return subprocess.Popen([exe, "run"], cwd=tmp, env=env, stdout=fh, stderr=subprocess.STDOUT)


def _sweeps(text: str) -> list[tuple[int, ...]]:
    return [tuple(int(float(g)) for g in m.groups()[:6]) for m in SWEEP.finditer(text)]


def test_an_operator_can_follow_the_log(tmp_path: Path, loopback: LoopbackRange) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    sample = sample_inventory_at(tmp_path / "sample.csv", loopback)
    assert camwatch(tmp_path, "inventory", "import", str(sample)).returncode == 0
    port = free_port()
    text_log, json_log = tmp_path / "run1.log", tmp_path / "run2.log"
    with Fleet(CAMERAS, base_address=loopback.base_address, password=SAMPLE_PASSWORD) as fleet:
        fleet.set_behaviour(3, Behaviour(power=Power.DOWN))
        proc = _start(tmp_path, port, text_log, "text")
        try:
            _wait(lambda: len(_sweeps(text_log.read_text())) >= 2, 40)
        finally:
            proc.kill()  # a crash: no stop line, the next start writes the unknown gap
            proc.wait(10)
        text = text_log.read_text()
        assert re.search(rf"INFO camwatch[.\w]*: camwatch running: {CAMERAS} cameras, \d+ upstream device\(s\); "
                         rf"fast tier every 2 s; http://127\.0\.0\.1:{port}/metrics", text), text
        for online, degraded, offline, unknown, excluded, _ in _sweeps(text)[1:]:
            assert online + degraded + offline + unknown + excluded == CAMERAS and offline >= 1, text
        # the first sweep's lateness counts the start's catch-up, and says so; the later ones do not
        lines = [line for line in text.splitlines() if "sweep: " in line]
        assert lines[0].endswith("(since the start: its catch-up included)"), lines[0]
        assert not any("since the start" in line for line in lines[1:]), lines
        assert "camwatch stopped" not in text
        # every text line's time carries its UTC offset; alembic's two lines of every start are gone
        stamped = [ln for ln in text.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d [A-Z]+ ", ln)]
        assert stamped and all(" INFO " in ln or " WARNING " in ln or " ERROR " in ln for ln in stamped), text
        assert "Context impl" not in text and "Will assume transactional DDL" not in text

        time.sleep(1.0)
        crashed = time.time()
        proc = _start(tmp_path, port, json_log, "json")
        try:
            _wait(lambda: len(_sweeps(json_log.read_text())) >= 1, 40)
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)
    assert proc.returncode == 0
    records = [json.loads(line) for line in json_log.read_text().splitlines() if line.strip()]
    assert all(set(r) >= {"ts", "level", "logger", "message"} for r in records)
    messages = [r["message"] for r in records if r["level"] == "INFO"]
    [gap] = [m for m in messages if m.startswith("unknown gap written")]
    found = re.match(r"unknown gap written: (\d+) camera\(s\) unknown from the last heartbeat \S+, (\d+) s before", gap)
    assert found and int(found.group(1)) == CAMERAS, gap
    assert 1 <= int(found.group(2)) <= time.time() - crashed + 10, gap  # at most the heartbeat period before the crash
    assert any(m.startswith(f"camwatch running: {CAMERAS} cameras") for m in messages)
    assert _sweeps("\n".join(messages))
    assert any(m.startswith("camwatch stopped at") and f"{CAMERAS} camera interval(s) closed" in m for m in messages), messages
