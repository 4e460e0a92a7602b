"""`camwatch run` with probe worker processes (collector.workers = 2) against the simulated fleet,
on SQLite and on PostgreSQL: every camera probed by one worker only, its intervals written once
by the collector, a worker killed with -9 started again and its cameras (exactly those of its
shards) unknown from its last report then probed again, /metrics complete, a clean stop."""

from __future__ import annotations

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

import pytest

from collector.runtime.shards import shard_of
from collector.runtime.workers import worker_count
from probes.sim import Fleet
from probes.sim.loopback import LoopbackRange
from tests.collector.test_cli_inventory import camwatch
from tests.collector.test_replicas import KEY, intervals, inventory, probes_per_camera, wait_for
from tests.net import free_port

N = 120
INTERVAL_S = 2.0
SHARDS = 256


def _env(url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env.update(KEY)
    env.update({
        "CAMWATCH_DB": url, "CAMWATCH_HTTP__PORT": str(port), "CAMWATCH_LANGUAGE": "en",
        "CAMWATCH_COLLECTOR__WORKERS": "2", "CAMWATCH_COLLECTOR__SHARDS": str(SHARDS),
        "CAMWATCH_COLLECTOR__INTERVAL_S": str(INTERVAL_S), "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "1",
        "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": "[0.5, 0.5]", "CAMWATCH_COLLECTOR__VIDEO": "false",
        "CAMWATCH_COLLECTOR__RELOAD_INTERVAL_S": "1", "CAMWATCH_COLLECTOR__FIGURES_INTERVAL_S": "60",
        "CAMWATCH_COLLECTOR__CATCHUP_S": "1", "CAMWATCH_PROBE__REACH_TIMEOUT_S": "1",
        "CAMWATCH_PROBE__RTSP_TIMEOUT_S": "1", "CAMWATCH_PROBE__ONVIF_TIMEOUT_S": "1",
    })
    return env


def _get(port: int, path: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return r.read().decode()


def _workers(pid: int) -> dict[int, str]:
    """The collector's child processes that are probe workers: pid -> command line."""
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                cmd = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                continue
            if "collector.runtime.worker_main" in cmd:
                out[int(child)] = cmd
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_worker_count() -> None:
    assert worker_count(3, 10, 2) == 3  # a number as given
    assert worker_count("auto", 0, 8) == 1
    assert worker_count("auto", 19_000, 8) == 1  # one process probes that comfortably
    assert worker_count("auto", 100_000, 2) == 2
    assert worker_count("auto", 100_000, 16) == 5


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path, pg_reason: str | None):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'camwatch.db'}"
        return
    from tests.conftest import fresh_pg_schema

    with fresh_pg_schema(pg_reason) as u:
        yield u


def test_two_workers_probe_write_once_restart_and_stop(tmp_path: Path, loopback: LoopbackRange, url: str) -> None:
    assert camwatch(tmp_path, "--db", url, "db", "upgrade").returncode == 0
    csv = inventory(tmp_path / "cameras.csv", N, loopback.base_address)
    r = camwatch(tmp_path, "inventory", "import", str(csv), env={"CAMWATCH_DB": url, **KEY})
    assert r.returncode == 0, r.stderr
    port = free_port()
    log = tmp_path / "run.log"
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    with Fleet(N, base_address=loopback.base_address) as fleet, log.open("w") as out:
        proc = subprocess.Popen([exe, "run"], cwd=tmp_path, env=_env(url, port), stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: _get(port, "/metrics").count("camwatch_camera_up{") == N
                     and " 0.0\n" not in "".join(x for x in _get(port, "/metrics").splitlines(True)
                                                 if x.startswith("camwatch_camera_up{")), 30, "every camera up")
            workers = _workers(proc.pid)
            assert len(workers) == 2, workers
            # every camera probed, and by one worker only: one probe per interval (two with two probers)
            seen = probes_per_camera(fleet, 2 * INTERVAL_S, N)
            assert min(seen.values()) >= 1, seen
            assert max(seen.values()) <= 3, seen
            text = _get(port, "/metrics")
            assert "camwatch_shard_cameras 120.0" in text
            # each camera's last result, kept by the collector alone (a worker sends it once): after two
            # intervals of reports, every camera still has its stage durations, one line per stage
            reach = [x for x in text.splitlines() if x.startswith("camwatch_camera_probe_duration_seconds{") and 'stage="reach"' in x]
            assert len(reach) == N, len(reach)
            assert 'camwatch_probes_total{result="ok",stage="reach"}' in text, [x for x in text.splitlines() if x.startswith(("camwatch_probe", "camwatch_sweep"))]
            count = [x for x in text.splitlines() if x.startswith("camwatch_probe_lateness_seconds_count")]
            assert count and float(count[0].split()[-1]) >= N, count
            assert KEY["CAMWATCH_SECRET_KEY"] not in log.read_text()

            # kill -9 of one worker: started again, its cameras probed again
            victim = min(workers)
            killed_at = time.time()
            os.kill(victim, signal.SIGKILL)
            wait_for(lambda: len(w := _workers(proc.pid)) == 2 and victim not in w, 15, "worker started again")

            def back() -> bool:
                rows = intervals(url)
                hit = [c for c, ivs in rows.items() if [s for s, _, _ in ivs] == ["online", "unknown", "online"]]
                return len(hit) > 0 and all(ivs[-1][0] == "online" for ivs in rows.values())
            wait_for(back, 20, "the killed worker's cameras probed again")
            assert time.time() - killed_at < 20
            assert _get(port, "/metrics").count("camwatch_camera_up{") == N
            health = json.loads(_get(port, "/healthz"))
            assert health["cameras"] == N
            # each worker: its process, its cameras, its last report, how often it was started again
            ws = sorted(health["workers"], key=lambda w: w["index"])
            assert [w["index"] for w in ws] == [0, 1] and sum(w["cameras"] for w in ws) == N, ws
            assert {w["pid"] for w in ws} == set(_workers(proc.pid)), ws
            assert sorted(w["restarts"] for w in ws) == [0, 1], ws
            assert all(w["last_report_at"] for w in ws), ws

            # what each process uses, from /proc (sampled every 15 s): the collector and both workers
            def used() -> dict[str, tuple[float, float]]:
                out: dict[str, list[float]] = {}
                for line in _get(port, "/metrics").splitlines():
                    for name in ("camwatch_process_resident_memory_bytes{", "camwatch_process_cpu_seconds_total{"):
                        if line.startswith(name):
                            out.setdefault(line.split('process="')[1].split('"')[0], []).append(float(line.split()[-1]))
                return {k: (v[0], v[1]) for k, v in out.items() if len(v) == 2}
            wait_for(lambda: set(used()) == {"collector", "worker-0", "worker-1"}, 20, "process figures")
            for name, (rss, cpu) in used().items():
                assert 10e6 < rss < 2e9 and cpu > 0, (name, rss, cpu)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
        assert code == 0, log.read_text()[-3000:]
    assert not any(_alive(p) for p in workers), workers
    rows = intervals(url)
    assert set(rows) == set(range(1, N + 1))
    restarted = {c for c, ivs in rows.items() if len(ivs) == 4}
    for cid, ivs in rows.items():
        states = [s for s, _, _ in ivs]
        # written once: one interval per change, contiguous, the last one the stop's unknown (open)
        assert states in (["online", "unknown"], ["online", "unknown", "online", "unknown"]), (cid, ivs)
        for (_, _, end), (_, start, _) in pairwise(ivs):
            assert end == start, (cid, ivs)
        assert ivs[-1][2] is None
    # exactly the killed worker's cameras: the shards of one of the two (shard % 2)
    halves = [{c for c in range(1, N + 1) if shard_of(c, SHARDS) % 2 == i} for i in (0, 1)]
    assert restarted in halves, (sorted(restarted), [len(h) for h in halves])
    text = log.read_text()
    assert "probing in 2 worker process(es)" in text and "exited (code -9)" in text


def test_pool_sends_long_lists_in_parts_and_drops_lost_cameras(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool alone, with real worker processes: a camera list longer than one message arrives
    whole, cameras lost are dropped by their worker, a stop collects each worker's last report.
    A worker is sent what probing needs of a camera (address, credentials), not its names."""
    import asyncio

    from collector.runtime import workers as w
    from collector.runtime.mirror import MirrorScheduler
    from collector.runtime.scheduler import Scheduler
    from collector.runtime.scheduler_config import SchedulerConfig
    from collector.runtime.worker_wire import Assign, Report
    from collector.settings import Settings
    from inventory.models import Lifecycle
    from inventory.monitored import MonitoredCamera, RegionLabels
    from probes.base import ProbeTarget

    monkeypatch.setattr(w, "ASSIGN_PART", 30)  # 100 cameras per worker: 4 parts each
    s = Settings(collector={"video": False, "catchup_s": 1})
    lb = RegionLabels("130123101201", "v", "130123101000", "t", "130123000000", "c")
    cams = [MonitoredCamera(i, f"cam{i}", 1000 + i, ProbeTarget("127.0.0.1", 1, "/", None, "u", "pw", i), None, None,
                            Lifecycle.ACTIVE, lb, gb_id=f"130123000013200{i:05d}") for i in range(1, 201)]

    async def go() -> tuple[dict[int, int], dict[int, int], list[bool]]:
        m = MirrorScheduler.of(Scheduler(SchedulerConfig.from_settings(s.collector), None))
        m.pool = w.WorkerPool(s, 2, m)
        post = m.pool._post

        def sent(i: int, msg: object) -> None:
            if isinstance(msg, Assign):
                upserts.extend(msg.upserts)
            post(i, msg)  # type: ignore[arg-type]
        m.pool._post = sent  # type: ignore[method-assign]
        m.sync(cams, [])
        held: dict[int, int] = {}
        finals: list[bool] = []
        take = m.take

        def spy(i: int, rep: Report) -> None:
            held[i] = rep.cameras
            finals.append(rep.final)
            take(i, rep)
        m.take = spy  # type: ignore[method-assign]
        task = asyncio.create_task(m.run())
        for _ in range(300):
            await asyncio.sleep(0.1)
            if sum(held.values()) == 200 and sum(m.probes_total.values()) >= 200:
                break
        first = dict(held)
        m.forget(set(range(1, 21)))
        await asyncio.sleep(1.0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return first, held, finals

    upserts: list[MonitoredCamera] = []
    first, after, finals = asyncio.run(go())
    assert {c.id for c in upserts} == set(range(1, 201))
    assert all(c.target == cams[c.id - 1].target and c.name == "" and c.labels.village == "" for c in upserts)
    assert all(c.point_id == 0 and c.gb_id is None for c in upserts)  # (signalling is the collector's business)
    assert sum(first.values()) == 200 and len(first) == 2
    assert sum(after.values()) == 180
    assert finals.count(True) == 2  # each worker's last report, at the stop


POOL_SCRIPT = """
import asyncio
from collector.runtime import workers as w
from collector.runtime.mirror import MirrorScheduler
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.settings import Settings
from inventory.monitored import MonitoredCamera, RegionLabels
from inventory.models import Lifecycle
from probes.base import ProbeTarget

async def main():
    s = Settings(collector={"video": False})
    lb = RegionLabels("130123101201", "v", "130123101000", "t", "130123000000", "c")
    cams = [MonitoredCamera(i, f"cam{i}", i, ProbeTarget("127.0.0.1", 1, "/", None, "u", "pw", i), None, None,
                            Lifecycle.ACTIVE, lb) for i in range(1, 51)]
    m = MirrorScheduler.of(Scheduler(SchedulerConfig.from_settings(s.collector), None))
    m.pool = w.WorkerPool(s, 2, m)
    m.sync(cams, [])
    await m.run()

asyncio.run(main())
"""


def _stall_run(tmp: Path, base: str, n: int) -> tuple[str, int, Path, str, dict[str, str]]:
    """A SQLite database with *n* cameras at the fleet's addresses, and how to run camwatch on it with
    two workers and collector.worker_stall_s 3 s: (url, HTTP port, log file, executable, environment)."""
    url = f"sqlite:///{tmp / 'camwatch.db'}"
    assert camwatch(tmp, "--db", url, "db", "upgrade").returncode == 0
    csv = inventory(tmp / "cameras.csv", n, base)
    assert camwatch(tmp, "inventory", "import", str(csv), env={"CAMWATCH_DB": url, **KEY}).returncode == 0
    port = free_port()
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    return url, port, tmp / "run.log", exe, {**_env(url, port), "CAMWATCH_COLLECTOR__WORKER_STALL_S": "3"}


def test_a_stopped_worker_is_killed_and_its_cameras_are_not_shown_watched(tmp_path: Path, loopback: LoopbackRange) -> None:
    """A worker that sends nothing (SIGSTOP: hung) would leave its cameras at their last state, as
    if watched: after collector.worker_stall_s it is killed and started again; its cameras are
    unknown from its last report, then probed again."""
    n = 40
    url, port, log, exe, env = _stall_run(tmp_path, loopback.base_address, n)
    with Fleet(n, base_address=loopback.base_address), log.open("w") as out:
        proc = subprocess.Popen([exe, "run"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
        victim = 0
        try:
            wait_for(lambda: _get(port, "/metrics").count("camwatch_camera_up{") == n, 30, "every camera up")
            victim = min(_workers(proc.pid))
            stopped_at = time.time()
            os.kill(victim, signal.SIGSTOP)
            wait_for(lambda: not _alive(victim), 20, "the stopped worker killed")
            took = time.time() - stopped_at
            assert 3 <= took < 10, took
            wait_for(lambda: len(w := _workers(proc.pid)) == 2 and victim not in w, 15, "worker started again")

            def back() -> bool:
                rows = intervals(url)
                hit = [c for c, ivs in rows.items() if [s for s, _, _ in ivs] == ["online", "unknown", "online"]]
                return len(hit) > 0 and all(ivs[-1][0] == "online" for ivs in rows.values())
            wait_for(back, 20, "the stopped worker's cameras unknown, then probed again")
            rows = intervals(url)
            gaps = [ivs[1] for ivs in rows.values() if len(ivs) == 3]
            assert all(start.timestamp() <= stopped_at + 0.5 for _, start, _ in gaps), gaps  # from its last report
            health = json.loads(_get(port, "/healthz"))
            assert sorted(w["restarts"] for w in health["workers"]) == [0, 1], health["workers"]
        finally:
            if victim and _alive(victim):
                os.kill(victim, signal.SIGCONT)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
        assert code == 0, log.read_text()[-3000:]
    assert "sent nothing for" in log.read_text()


def test_workers_stop_probing_while_their_collector_is_stopped(tmp_path: Path, loopback: LoopbackRange) -> None:
    """The collector hung (SIGSTOP): it reads and pings no more, so within collector.worker_stall_s its
    workers stop probing (a replica in that state has lost its shards to the others: its workers
    must not go on probing them). Continued, it starts them again and its cameras come back."""
    n = 40
    url, port, log, exe, env = _stall_run(tmp_path, loopback.base_address, n)
    with Fleet(n, base_address=loopback.base_address) as fleet, log.open("w") as out:
        proc = subprocess.Popen([exe, "run"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
        stopped = False
        try:
            wait_for(lambda: _get(port, "/metrics").count("camwatch_camera_up{") == n, 30, "every camera up")
            workers = _workers(proc.pid)
            os.kill(proc.pid, signal.SIGSTOP)
            stopped = True
            wait_for(lambda: not any(_alive(p) for p in workers), 20, "the workers stopped")
            seen = probes_per_camera(fleet, 2 * INTERVAL_S, n)
            assert max(seen.values()) == 0, seen  # nobody probes for the stopped collector
            os.kill(proc.pid, signal.SIGCONT)
            stopped = False
            wait_for(lambda: len(w := _workers(proc.pid)) == 2 and not set(w) & set(workers), 30, "workers started again")

            def back() -> bool:
                rows = intervals(url)
                return all([s for s, _, _ in ivs] == ["online", "unknown", "online"] for ivs in rows.values())
            wait_for(back, 30, "every camera unknown from its worker's last report, then probed again")
        finally:
            if stopped:
                os.kill(proc.pid, signal.SIGCONT)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=30)
        assert code == 0, log.read_text()[-3000:]
    assert "the collector said nothing for" in log.read_text() or "the collector read nothing for" in log.read_text()


def test_workers_stop_when_the_collector_is_killed(tmp_path: Path) -> None:
    """kill -9 of the collector: its workers see their socket close and stop probing (no orphan prober)."""
    proc = subprocess.Popen([sys.executable, "-c", POOL_SCRIPT], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_for(lambda: len(_workers(proc.pid)) == 2, 30, "two workers")
        children = list(_workers(proc.pid))
        time.sleep(5)  # (started: their imports done, probing)
    finally:
        proc.kill()
        proc.wait()
    wait_for(lambda: not any(_alive(p) for p in children), 45, "workers gone")
    assert proc.stderr is not None and b"collector gone: worker" in proc.stderr.read()


def test_worker_applies_a_change_in_parts_to_its_slots_and_shares_numbers() -> None:
    """A worker keeps its cameras only in its scheduler's slots: a change sent in parts (removals,
    upserts, a camera removed in one part and sent again in a later one) is applied at its last part,
    unchanged cameras keep their objects, and unpickled cameras share their port numbers and ids."""
    import asyncio
    import pickle

    from collector.runtime.scheduler_config import SchedulerConfig
    from collector.runtime.worker_main import Worker
    from collector.runtime.worker_wire import Assign, Hello
    from collector.settings import Settings
    from inventory.models import Lifecycle
    from inventory.monitored import NOWHERE, MonitoredCamera
    from probes.base import ProbeTarget
    from probes.ladder import LadderOptions

    s = Settings(collector={"video": False})
    hello = Hello(SchedulerConfig.from_settings(s.collector), LadderOptions(), None, "WARNING", "text", 0, 1)

    def cam(i: int, port: int = 8554) -> MonitoredCamera:
        return MonitoredCamera(i, "", 0, ProbeTarget("127.0.0.1", port, "/", 8000, "u", "pw", i + 100000), None, None,
                               Lifecycle.ACTIVE, NOWHERE)

    def wire(msg: Assign) -> Assign:  # as the socket carries it
        got = pickle.loads(pickle.dumps(msg, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own bytes
        assert isinstance(got, Assign)
        return got

    async def go() -> None:
        w = Worker(hello, writer=None)  # type: ignore[arg-type]  # (no report is sent here)
        w.assign(wire(Assign(tuple(cam(i) for i in range(1000, 1010)), (), (), more=True)))
        assert w.scheduler.slots == {}  # nothing before the last part
        w.assign(wire(Assign(tuple(cam(i) for i in range(1010, 1020)), (), ())))
        slots = w.scheduler.slots
        assert sorted(slots) == list(range(1000, 1020))
        kept = slots[1005].cam
        ports = {id(sl.cam.target.rtsp_port) for sl in slots.values()} | {id(sl.cam.target.onvif_port) for sl in slots.values()}
        assert len(ports) == 2  # one 8554, one 8000 for every camera
        assert all(sl.cam.target.camera_id == cid + 100000 for cid, sl in slots.items())
        # the next change in parts: 1000-1002 go, 1003 changes its port, 1001 comes back in a later part
        w.assign(wire(Assign((cam(1003, 9554),), (1000, 1001, 1002), None, more=True)))
        assert 1000 not in slots and 1003 in slots and slots[1003].cam.target.rtsp_port == 8554  # (forgotten at once)
        w.assign(wire(Assign((cam(1001),), (), None)))
        assert sorted(slots) == [1001, *range(1003, 1020)]
        assert slots[1003].cam.target.rtsp_port == 9554 and slots[1005].cam is kept

    asyncio.run(go())


def test_a_worker_sends_each_result_once_and_the_collector_keeps_it() -> None:
    """A worker drops a camera's last result once reported (the collector keeps it: no copy in the
    worker); a later report without a new result (a video-tier verdict, a state change) leaves the
    collector's copy in place, and a new result replaces it."""
    import asyncio
    import datetime as dt
    import pickle

    from collector.runtime.mirror import MirrorScheduler
    from collector.runtime.scheduler_config import SchedulerConfig
    from collector.runtime.worker_main import Worker
    from collector.runtime.worker_wire import Assign, Hello, Report
    from collector.settings import Settings
    from inventory.models import Lifecycle
    from inventory.monitored import NOWHERE, MonitoredCamera
    from probes.base import Cause, ProbeResult, ProbeTarget, Stage
    from probes.kept import kept
    from probes.ladder import LadderOptions, LadderResult

    s = Settings(collector={"video": False})
    config = SchedulerConfig.from_settings(s.collector)
    hello = Hello(config, LadderOptions(), None, "WARNING", "text", 0, 1)
    cams = [MonitoredCamera(i, "", 0, ProbeTarget("127.0.0.1", 8554, "/", 8000, "u", "pw", i), None, None,
                            Lifecycle.ACTIVE, NOWHERE) for i in (1, 2)]
    t0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)

    def result(ms: float, at: dt.datetime) -> object:
        return kept(LadderResult("online", None, (ProbeResult(Stage.REACH, True, ms / 1000),), ms / 1000), at)

    def wire(rep: Report) -> Report:  # as the socket carries it
        got = pickle.loads(pickle.dumps(rep, protocol=pickle.HIGHEST_PROTOCOL))  # noqa: S301 - our own bytes
        assert isinstance(got, Report)
        return got

    async def go() -> None:
        w = Worker(hello, writer=None)  # type: ignore[arg-type]  # (reports are made, not sent)
        w.assign(Assign(tuple(cams), (), ()))
        mirror = MirrorScheduler(config, None, ladder=LadderOptions())
        mirror._init_figures()
        mirror.sync(cams, [])
        ws = w.scheduler
        first = result(3.0, t0)
        ws.slots[1].last = first
        ws.dirty.add(1)
        mirror.take(0, wire(w.report()))
        assert ws.slots[1].last is None  # sent: not kept in the worker
        got = mirror.slots[1].last
        assert got is not None and got.durations() == first.durations()  # type: ignore[attr-defined]
        ws.slots[1].video_ok = False  # a change without a new probe result
        ws.dirty.add(1)
        rep = w.report()
        assert rep.deltas[0].last is None and rep.deltas[0].video_ok is False
        mirror.take(0, wire(rep))
        assert mirror.slots[1].last is got and mirror.slots[1].video_ok is False  # the collector's copy kept
        ws.slots[1].last = result(5.0, t0 + dt.timedelta(minutes=1))
        ws.dirty.add(1)
        mirror.take(0, wire(w.report()))
        newer = mirror.slots[1].last
        assert newer is not got and newer is not None and newer.at == t0 + dt.timedelta(minutes=1)
        assert mirror.slots[2].last is None  # never probed: nothing invented
        # the video tier's last failed probe: kept by the worker (only failing cameras), sent with each
        # report of the camera, the collector's copy follows it, and goes once a picture passes
        failed = kept(LadderResult("offline", Cause.NO_VIDEO, (ProbeResult(Stage.FRAME, False, 4.0, Cause.NO_VIDEO,
                                                                           "stalled: no new frame for 4.0 s"),), 4.0), t0)
        ws.slots[1].video_last = failed
        ws.dirty.add(1)
        mirror.take(0, wire(w.report()))
        seen = mirror.slots[1].video_last
        assert seen is not None and [r.detail for r in seen.stages] == ["stalled: no new frame for 4.0 s"]
        assert ws.slots[1].video_last is failed and mirror.slots[1].last is newer
        ws.slots[1].video_last = None
        ws.dirty.add(1)
        mirror.take(0, wire(w.report()))
        assert mirror.slots[1].video_last is None

    asyncio.run(go())
