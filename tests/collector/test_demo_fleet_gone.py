"""`camwatch demo` whose simulator dies under it (a worker killed from outside) says so and stops
with a non-zero status, instead of reporting its own dead cameras as a county-wide outage; its
inventory file (camera passwords) is created readable by its owner only."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from collector.cli.demo_county import write_inventory
from collector.cli.demo_place import fleet_gone
from collector.cli.exitcodes import ENVIRONMENT
from probes.sim import Fleet


def _exe() -> str:
    return shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}


def _children(pid: int) -> list[tuple[int, str]]:
    """The processes whose parent is *pid*, with their command lines."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == pid:
            found.append((int(entry.name), cmdline))
    return found


def test_words_name_the_process_and_how_it_ended() -> None:
    assert fleet_gone([(12345, -signal.SIGTERM)], "zh") == "模拟器已退出（进程 12345 被信号 SIGTERM 结束），演示停止"
    assert fleet_gone([(12345, -signal.SIGKILL), (12346, 1)], "en") == (
        "the simulator exited (process 12345 was ended by signal SIGKILL; process 12346 exited with status 1); "
        "the demo stops")


def test_fleet_reports_a_worker_that_ended() -> None:
    with Fleet(2, workers=2) as fleet:
        assert fleet.exited() == []
        victim = fleet.worker_pids[0]
        os.kill(victim, signal.SIGTERM)
        end = time.monotonic() + 10
        while not fleet.exited() and time.monotonic() < end:
            time.sleep(0.05)
        assert fleet.exited() == [(victim, -signal.SIGTERM)]
    assert fleet.exited() == []  # stopped (the other worker cleanly)


def test_inventory_file_is_created_for_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "demo_inventory.csv"
    path.write_text("an earlier demo's file\n")
    path.chmod(0o644)
    write_inventory(path, ["名称", "密码"], [["a", "admin123"]])
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text(encoding="utf-8-sig").splitlines() == ["名称,密码", "a,admin123"]


def test_demo_stops_when_its_simulator_is_killed(tmp_path: Path) -> None:
    workdir = tmp_path / "d"
    proc = subprocess.Popen([_exe(), "demo", "--cameras", "40", "--duration", "120", "--interval", "2",
                             "--dir", str(workdir)],
                            cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    errors: list[str] = []
    readers = [threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True),
               threading.Thread(target=lambda: errors.extend(proc.stderr or ()), daemon=True)]
    for r in readers:
        r.start()
    victim = None
    try:
        end = time.monotonic() + 90
        # started, and the collector has probed the cameras once (the screen shows them online)
        while time.monotonic() < end and proc.poll() is None:
            out = "".join(lines)
            if "camwatch 已启动" in out and re.search(r"^\S+\s+[1-9]\d*\s+\d+\s+\d+\s+\d", out, re.M):
                break
            time.sleep(0.2)
        workers = [pid for pid, cmd in _children(proc.pid) if "probes.sim._worker_main" in cmd]
        assert workers, "".join(lines) + "".join(errors)
        victim = workers[0]
        os.kill(victim, signal.SIGTERM)  # from outside, by its pid
        killed = time.monotonic()
        proc.wait(timeout=30)
        took = time.monotonic() - killed
        for r in readers:
            r.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    out, err = "".join(lines), "".join(errors)
    assert proc.returncode == ENVIRONMENT, out + err
    assert took < 20, took  # (noticed at once; then the collector and the other workers stop)
    assert f"camwatch: 模拟器已退出（进程 {victim} 被信号 SIGTERM 结束），演示停止\n" in err
    assert "Traceback" not in err and "演示已停止" in out
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)  # no worker left behind
    # no outage of the killed worker's cameras was recorded, nor work orders filed for them
    with sqlite3.connect(workdir / "camwatch-demo.db") as db:
        refused = db.execute("SELECT count(DISTINCT camera_id) FROM state_intervals "
                             "WHERE state = 'offline' AND cause = 'refused'").fetchone()[0]
        orders = db.execute("SELECT count(*) FROM work_orders").fetchone()[0]
    assert refused <= 2 and orders <= 1, (refused, orders)  # (the scripted flapping camera, an early outage)
