"""Collector replicas on the local PostgreSQL (DESIGN §8, issue 18): real `camwatch run` processes
over the simulated fleet share the cameras by shards; kill -9 of one hands its cameras to the
others with an unknown gap and contiguous intervals; a replica cut off from PostgreSQL (a proxy
the test stops) stops probing; no camera is probed by two replicas (the simulator's counters)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from collector.runtime.shards import balance, shard_of
from inventory.db import create_engine
from inventory.models import StateInterval
from probes.sim import Fleet
from probes.sim.identity import address_for
from probes.sim.loopback import LoopbackRange
from tests.collector.tcp_proxy import TcpProxy
from tests.collector.test_cli_inventory import camwatch
from tests.conftest import fresh_pg_schema
from tests.net import SAMPLE, free_port

# The three-replica test runs the 3,000 cameras on a 10 s interval; the smaller tests here and
# in test_replicas_alerts a 4 s one. REPLICAS_TEST_CAMERAS and REPLICAS_TEST_INTERVAL_S change them by hand.
N = int(os.environ.get("REPLICAS_TEST_CAMERAS", "3000"))
SHARDS = 256
FLEET_INTERVAL_S = float(os.environ.get("REPLICAS_TEST_INTERVAL_S", "10"))
INTERVAL_S = float(os.environ.get("REPLICAS_TEST_INTERVAL_S", "4"))
KEY = {"CAMWATCH_SECRET_KEY": "test-key-material-for-replicas"}
pytestmark = pytest.mark.postgres


def inventory(dest: Path, n: int, base: str) -> Path:
    """*n* cameras at the fleet's addresses, ten per village (camera i+1 is fleet camera i)."""
    lines = SAMPLE.read_text(encoding="utf-8-sig").splitlines()
    head, row = lines[0], lines[1].split(",")
    out = [head]
    for i in range(n):
        r = list(row)
        r[4], r[5] = f"130123101{201 + i // 10:03d}", f"村{i // 10}"
        r[6], r[11] = f"点{i}", f"摄像机{i}"
        r[12] = f"130123000013200{i + 1:05d}"
        r[13] = address_for(i, base)
        r[23] = ""
        out.append(",".join(r))
    dest.write_text("\n".join(out) + "\n", encoding="utf-8-sig")
    return dest


def _env(url: str, port: int, replica: str, interval_s: float = INTERVAL_S) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env.update(KEY)
    env.update({
        "CAMWATCH_DB": url, "CAMWATCH_HTTP__PORT": str(port), "CAMWATCH_LANGUAGE": "en",
        "CAMWATCH_COLLECTOR__REPLICAS": "true", "CAMWATCH_COLLECTOR__REPLICA_ID": replica,
        "CAMWATCH_COLLECTOR__SHARDS": str(SHARDS), "CAMWATCH_COLLECTOR__INTERVAL_S": str(interval_s),
        "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "1", "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": "[0.5, 0.5]",
        "CAMWATCH_COLLECTOR__VIDEO": "false", "CAMWATCH_COLLECTOR__RELOAD_INTERVAL_S": "5",
        "CAMWATCH_COLLECTOR__FIGURES_INTERVAL_S": "60", "CAMWATCH_COLLECTOR__CATCHUP_S": "1",
        "CAMWATCH_PROBE__REACH_TIMEOUT_S": "1", "CAMWATCH_PROBE__RTSP_TIMEOUT_S": "1",
        "CAMWATCH_PROBE__ONVIF_TIMEOUT_S": "1",
    })
    return env


class Replica:
    def __init__(self, tmp: Path, url: str, name: str, interval_s: float = INTERVAL_S) -> None:
        self.name, self.port = name, free_port()
        self.log = tmp / f"{name}.log"
        exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
        self.launch([exe, "run"], tmp, _env(url, self.port, name, interval_s))

    def launch(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        """Start the process; kept so that :meth:`health` can start it again on another port."""
        self._argv, self._cwd, self._env = argv, cwd, env
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)

    def _port_taken(self) -> bool:
        """Its HTTP port was taken between :func:`free_port` and its bind (by any process's
        outgoing connection on this busy box): start it again on a new port. A test bug, not
        the product's, which says so in one line and exits as it should."""
        if self.proc.poll() is None or f":{self.port} is already in use" not in self.log.read_text():
            return False
        print(f"{self.name}: port {self.port} taken before it bound it; starting it again")
        self.port = free_port()
        self.launch(self._argv, self._cwd, {**self._env, "CAMWATCH_HTTP__PORT": str(self.port)})
        return True

    def health(self) -> dict[str, Any]:
        if self._port_taken():
            raise ConnectionRefusedError("restarted on another port")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
                return dict(json.loads(r.read()))
        except urllib.error.HTTPError as exc:  # 503 while its database writes fail
            return dict(json.loads(exc.read()))

    def shards(self) -> set[int]:
        return set(self.health()["replica"]["shards"] or ())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def stop_all(replicas: Sequence[Replica]) -> None:
    """Stop every replica (SIGTERM); print the log's end of one that exited badly."""
    for x in replicas:
        x.stop()
    for x in replicas:
        if x.proc.returncode not in (0, -9, None):
            print(x.log.read_text()[-3000:])


def wait_for(cond: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll *cond* (errors count as not yet) every 0.2 s; the seconds it took."""
    t0 = time.monotonic()
    last: Exception | None = None
    for _ in range(int(timeout / 0.2) + 1):
        try:
            if cond():
                return time.monotonic() - t0
        except Exception as exc:  # noqa: BLE001 - not up yet
            last = exc
        if time.monotonic() - t0 > timeout:
            break
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s (last error: {last})")


def intervals(url: str) -> dict[int, list[tuple[str, dt.datetime, dt.datetime | None]]]:
    async def go() -> list[Any]:
        engine = create_engine(url)
        try:
            async with engine.connect() as c:
                q = select(StateInterval.camera_id, StateInterval.state, StateInterval.start, StateInterval.end)
                return list(await c.execute(q.order_by(StateInterval.camera_id, StateInterval.start)))
        finally:
            await engine.dispose()

    out: dict[int, list[tuple[str, dt.datetime, dt.datetime | None]]] = {}
    for cid, state, start, end in asyncio.run(go()):
        out.setdefault(cid, []).append((state, start, end))
    return out


def assert_contiguous(rows: dict[int, list[tuple[str, dt.datetime, dt.datetime | None]]]) -> None:
    for cid, ivs in rows.items():
        assert all(e is not None for _, _, e in ivs[:-1]), (cid, ivs)
        for (_, _, end), (_, start, _) in pairwise(ivs):
            assert end == start, f"camera {cid}: gap or overlap {ivs}"


def probes_per_camera(fleet: Fleet, seconds: float, n: int = N) -> dict[int, int]:
    """RTSP connections (one a fast-tier probe) each camera saw in *seconds*."""
    fleet.reset_stats()
    time.sleep(seconds)
    stats = fleet.stats()
    return {i: stats.camera(i).rtsp_connections for i in range(n)}


@pytest.fixture
def pg_url(pg_reason: str | None) -> Iterator[str]:
    with fresh_pg_schema(pg_reason) as url:
        yield url


def via(url: str, port: int) -> str:
    return make_url(url).set(host="127.0.0.1", port=port).render_as_string(hide_password=False)


def prepare_db(tmp: Path, url: str, n: int, base: str) -> None:
    """The schema upgraded and *n* simulated cameras from *base* imported into *url*."""
    assert camwatch(tmp, "--db", url, "db", "upgrade").returncode == 0
    csv = inventory(tmp / "cameras.csv", n, base)
    r = camwatch(tmp, "inventory", "import", str(csv), env={"CAMWATCH_DB": url, **KEY})
    assert r.returncode == 0, r.stderr


def pg_proxy(url: str) -> TcpProxy:
    """A proxy in front of *url*'s server that a test cuts and heals (``via(url, proxy.port)``)."""
    u = make_url(url)
    return TcpProxy((u.host or "127.0.0.1", u.port or 5432))


def test_three_replicas_share_take_over_and_fence(tmp_path: Path, loopback: LoopbackRange, pg_url: str) -> None:
    prepare_db(tmp_path, pg_url, N, loopback.base_address)
    proxy = pg_proxy(pg_url)
    replicas: list[Replica] = []
    with Fleet(N, base_address=loopback.base_address) as fleet:
        try:
            replicas = [Replica(tmp_path, pg_url, "r1", FLEET_INTERVAL_S),
                        Replica(tmp_path, via(pg_url, proxy.port), "r2", FLEET_INTERVAL_S),
                        Replica(tmp_path, pg_url, "r3", FLEET_INTERVAL_S)]
            r2 = replicas[1]

            def balanced() -> bool:
                sets = [x.shards() for x in replicas]
                return (sum(map(len, sets)) == SHARDS and len(set().union(*sets)) == SHARDS
                        and balance(len(s) for s in sets) <= 0.10)

            took = wait_for(balanced, 90, "3 replicas balanced")
            sets = [x.shards() for x in replicas]
            cams = [sum(1 for c in range(1, N + 1) if shard_of(c, SHARDS) in s) for s in sets]
            print(f"\nbalanced after {took:.1f} s: shards {[len(s) for s in sets]}, cameras {cams}")
            if N >= 3000:  # the fleet: its cameras split within ±10% too (not at a few hundred)
                assert balance(cams) <= 0.10, cams
            assert [x.health()["replica"]["live_replicas"] for x in replicas] == [3, 3, 3]
            wait_for(lambda: len({x.health()["replica"]["leader"] for x in replicas}) == 1, 30, "one leader")
            leader = r2.health()["replica"]["leader"]
            assert leader in ("r1", "r2", "r3")
            # kill -9 the leader (unless it is r2, cut off below): r3 when r2 leads
            r3 = replicas[0] if leader == "r1" else replicas[2]
            r1 = replicas[2] if r3 is replicas[0] else replicas[0]
            print(f"leader {leader}; killing {r3.name}")
            # every camera probed, by one replica only (4 intervals: at most 5 connections each)
            seen = probes_per_camera(fleet, 4 * FLEET_INTERVAL_S)
            assert min(seen.values()) >= 2 and max(seen.values()) <= 5, sorted(seen.values())[-5:]

            # kill -9 of r3: its cameras go to r1 and r2
            gone = sets[replicas.index(r3)]
            lost = {c for c in range(1, N + 1) if shard_of(c, SHARDS) in gone}
            killed_at = dt.datetime.now(dt.UTC)
            r3.proc.kill()
            r3.proc.wait(timeout=10)
            took = wait_for(lambda: len(r1.shards() | r2.shards()) == SHARDS, 60, "r3's shards taken over")
            print(f"{r3.name} killed: its {len(gone)} shards held again after {took:.1f} s")
            wait_for(lambda: r1.health()["replica"]["leader"] == r2.health()["replica"]["leader"] != r3.name, 30,
                     "a leader among the survivors")

            def first_probes_after_kill() -> list[float]:
                rows = intervals(pg_url)
                out = []
                for cid in lost:
                    after = [s for state, s, _ in rows[cid] if state != "unknown" and s > killed_at]
                    if not after:
                        raise AssertionError(f"camera {cid} not probed yet")
                    out.append((after[0] - killed_at).total_seconds())
                return out

            wait_for(lambda: bool(first_probes_after_kill()), 60, "r3's cameras probed by the others")
            delays = first_probes_after_kill()
            print(f"{r3.name}'s {len(lost)} cameras probed again {min(delays):.1f}-{max(delays):.1f} s after the kill"
                  f" (interval {FLEET_INTERVAL_S:g} s)")
            assert max(delays) <= 2 * FLEET_INTERVAL_S + 10, "takeover slower than 2 intervals (+10 s for a busy box)"
            rows = intervals(pg_url)
            assert all(any(state == "unknown" for state, _, _ in rows[c]) for c in lost)  # the gap is unknown
            assert_contiguous(rows)
            seen = probes_per_camera(fleet, 4 * FLEET_INTERVAL_S)
            assert min(seen.values()) >= 2 and max(seen.values()) <= 5, sorted(seen.values())[-5:]

            # r2 cut off from PostgreSQL: it stops probing; r1 takes every shard
            proxy.stop()
            wait_for(lambda: not r2.shards() and r2.health()["replica"]["coordination_error"], 30, "r2 fenced")
            wait_for(lambda: len(r1.shards()) == SHARDS, 60, "r1 holds every shard")
            wait_for(lambda: r1.health()["replica"]["leader"] == r1.name, 30, "r1 leads")
            # r2's cameras are first probed by r1's catch-up (within min(catchup_s, interval / 2)) and
            # then at their phases: counted once the catch-up is over (else one more probe in the window)
            time.sleep(FLEET_INTERVAL_S / 2 + 1.0)
            seen = probes_per_camera(fleet, 4 * FLEET_INTERVAL_S)
            assert min(seen.values()) >= 2 and max(seen.values()) <= 5, sorted(seen.values())[-5:]
            r2_pid_alive = r2.proc.poll() is None
            assert r2_pid_alive  # fenced, not dead: it keeps trying to reconnect
            r1.stop()
            assert r1.proc.returncode == 0
            assert_contiguous(intervals(pg_url))
        finally:
            proxy.stop()
            stop_all(replicas)


def test_a_stopped_replica_loses_its_shards_and_writes_nothing_after(tmp_path: Path, loopback: LoopbackRange,
                                                                     pg_url: str) -> None:
    """SIGSTOP (a hung process): the server ends its idle session after takeover_s, the other replica
    takes every shard; after SIGCONT the stopped one finds its session gone, writes nothing of what
    it probed before (fenced) and comes back for its share."""
    n = 60
    prepare_db(tmp_path, pg_url, n, loopback.base_address)
    replicas: list[Replica] = []
    with Fleet(n, base_address=loopback.base_address) as fleet:
        try:
            replicas = [Replica(tmp_path, pg_url, "a"), Replica(tmp_path, pg_url, "b")]
            a, b = replicas
            wait_for(lambda: len(a.shards()) == len(b.shards()) == SHARDS // 2, 90, "2 replicas balanced")
            wait_for(lambda: len({a.health()["replica"]["leader"], b.health()["replica"]["leader"]}) == 1, 30, "a leader")
            listed = replicas_listed(tmp_path, pg_url)
            assert sorted((r["replica"], r["shards"]) for r in listed["replicas"]) == [("a", 128), ("b", 128)], listed
            assert [r["replica"] for r in listed["replicas"] if r["leader"]] == [a.health()["replica"]["leader"]], listed
            assert listed["alone"] is None and listed["shards_held"] == SHARDS
            # a replica's heartbeat is its interval writer's batch: there once its first probes were written
            wait_for(lambda: all(r["heartbeat_at"] for r in replicas_listed(tmp_path, pg_url)["replicas"]), 30,
                     "both replicas' first write batch")
            # run without the replicas' configuration (fewer or more shards): said, and their count taken from the locks
            for here in (16, 1024):
                other = camwatch(tmp_path, "--db", pg_url, "--lang", "en", "replicas", "--json",
                                 env={"CAMWATCH_COLLECTOR__SHARDS": str(here)})
                assert other.returncode == 0, other
                assert f"replicas run with collector.shards = {SHARDS}, but collector.shards is {here} here" in other.stderr
                assert json.loads(other.stdout)["shards"] == SHARDS
            words = camwatch(tmp_path, "--db", pg_url, "replicas", env={**KEY, "CAMWATCH_COLLECTOR__SHARDS": str(SHARDS)})
            assert words.returncode == 0 and "副本 2 个；分片 256 个，已持有 256 个" in words.stdout, words
            b.proc.send_signal(signal.SIGSTOP)
            took = wait_for(lambda: len(a.shards()) == SHARDS, 60, "a holds every shard")
            # b's session ended by the server (a hung replica): listed no more; a holds everything
            wait_for(lambda: [(r["replica"], r["shards"], r["leader"]) for r in replicas_listed(tmp_path, pg_url)["replicas"]]
                     == [("a", SHARDS, True)], 30, "b no longer listed, a leads")
            print(f"\nb stopped: a holds every shard after {took:.1f} s (takeover_s {2 * INTERVAL_S:g} s)")
            seen = probes_per_camera(fleet, 4 * INTERVAL_S, n)
            assert min(seen.values()) >= 2 and max(seen.values()) <= 5, sorted(seen.values())[-5:]
            b.proc.send_signal(signal.SIGCONT)
            took = wait_for(lambda: len(a.shards()) == len(b.shards()) == SHARDS // 2, 90, "balanced again")
            print(f"b continued: balanced again after {took:.1f} s")
            time.sleep(INTERVAL_S)  # the handed-over cameras' catch-up probes done
            seen = probes_per_camera(fleet, 4 * INTERVAL_S, n)
            assert min(seen.values()) >= 2 and max(seen.values()) <= 5, sorted(seen.values())[-5:]
            for x in replicas:
                x.stop()
                assert x.proc.returncode == 0, x.log.read_text()[-3000:]
            assert_contiguous(intervals(pg_url))
            assert "lost its coordination session" in b.log.read_text()
        finally:
            for x in replicas:
                if x.proc.poll() is None:
                    x.proc.send_signal(signal.SIGCONT)
                x.stop()


def test_a_replica_cut_off_from_postgresql_comes_back_for_its_share_when_the_network_heals(
        tmp_path: Path, loopback: LoopbackRange, pg_url: str) -> None:
    """A partition between one replica and PostgreSQL (every connection cut, new ones refused: a
    proxy), then healed: while cut off it holds no shard and probes nothing, the other holds every
    one; once healed its database connections recover by themselves (no restart), it takes its share
    again and its /healthz clears the error; one prober per camera and contiguous intervals all along.
    Its /healthz tells the truth from the moment it is fenced: the error, no shard, and neither a
    count of live replicas nor a leader (not the last ones it saw), until its session is back."""
    n = 60
    prepare_db(tmp_path, pg_url, n, loopback.base_address)
    proxy = pg_proxy(pg_url)
    replicas: list[Replica] = []
    with Fleet(n, base_address=loopback.base_address) as fleet:
        try:
            replicas = [Replica(tmp_path, pg_url, "a"), Replica(tmp_path, via(pg_url, proxy.port), "b")]
            a, b = replicas
            wait_for(lambda: len(a.shards()) == len(b.shards()) == SHARDS // 2, 90, "2 replicas balanced")
            before = [x.health()["replica"] for x in replicas]
            assert [r["live_replicas"] for r in before] == [2, 2] and before[0]["leader"] == before[1]["leader"], before
            proxy.cut()
            wait_for(lambda: b.health()["replica"]["coordination_error"], 30, "b fenced")
            for _ in range(4):  # from that answer on, while cut off
                rep = b.health()["replica"]
                assert rep["coordination_error"] and rep["id"] == "b", rep
                assert not rep["coordination_error"].rstrip().endswith(":"), rep  # (says why: a timeout's message is empty)
                assert (rep["shards"], rep["live_replicas"], rep["leader"], rep["alerts"]) == ([], None, None, None), rep
                time.sleep(0.5)
            took = wait_for(lambda: len(a.shards()) == SHARDS, 60, "a holds every shard")
            print(f"\nb cut off: a holds every shard after {took:.1f} s")
            wait_for(lambda: (a.health()["replica"]["live_replicas"], a.health()["replica"]["leader"]) == (1, "a"), 30,
                     "a counts itself alone and leads")
            assert a.health()["replica"]["coordination_error"] is None
            time.sleep(INTERVAL_S)  # the handed-over cameras' catch-up probes done
            seen = probes_per_camera(fleet, 3 * INTERVAL_S, n)
            assert min(seen.values()) >= 1 and max(seen.values()) <= 4, sorted(seen.values())[-5:]
            proxy.heal()
            healed_at = dt.datetime.now(dt.UTC)
            took = wait_for(lambda: len(a.shards()) == len(b.shards()) == SHARDS // 2, 90, "balanced again")
            b_shards = b.shards()
            wait_for(lambda: not b.health()["replica"]["coordination_error"], 30, "b's error cleared")
            back = b.health()["replica"]
            assert back["live_replicas"] == 2 and back["leader"] == "a" and len(back["shards"]) == SHARDS // 2, back
            print(f"healed: balanced again after {took:.1f} s")
            # b writes again through its own (recovered) pool: its cameras' probes reach the database
            wait_for(lambda: b.health().get("status") == "ok", 30, "b healthy")
            time.sleep(INTERVAL_S)
            seen = probes_per_camera(fleet, 4 * INTERVAL_S, n)
            assert min(seen.values()) >= 2 and max(seen.values()) <= 5, sorted(seen.values())[-5:]
            for x in replicas:
                x.stop()
                assert x.proc.returncode == 0, x.log.read_text()[-3000:]
            rows = intervals(pg_url)
            assert_contiguous(rows)
            # b wrote its cameras again: each one it took back has a known interval begun after the heal
            b_cams = [c for c in rows if shard_of(c, SHARDS) in b_shards]
            assert b_cams
            assert all(any(state == "online" and start > healed_at for state, start, _ in rows[c]) for c in b_cams)
        finally:
            proxy.stop()
            stop_all(replicas)


def test_an_inventory_change_reaches_the_owner_of_each_camera_only(tmp_path: Path, loopback: LoopbackRange,
                                                                    pg_url: str) -> None:
    """A new inventory imported while two replicas run: a retired camera is made excluded once, by
    the replica whose shard it is; a new camera is probed by its shard's owner only; contiguous."""
    n = 60
    prepare_db(tmp_path, pg_url, n, loopback.base_address)
    replicas: list[Replica] = []
    with Fleet(n + 1, base_address=loopback.base_address) as fleet:
        try:
            replicas = [Replica(tmp_path, pg_url, "a"), Replica(tmp_path, pg_url, "b")]
            a, b = replicas
            wait_for(lambda: len(a.shards()) == len(b.shards()) == SHARDS // 2, 90, "2 replicas balanced")
            time.sleep(INTERVAL_S)
            # camera 5 leaves the file (retired by the import), camera 61 (fleet camera 60) joins it
            lines = inventory(tmp_path / "next.csv", n + 1, loopback.base_address).read_text(encoding="utf-8-sig").splitlines()
            (tmp_path / "next.csv").write_text("\n".join(lines[:5] + lines[6:]) + "\n", encoding="utf-8-sig")
            r = camwatch(tmp_path, "inventory", "import", str(tmp_path / "next.csv"), env={"CAMWATCH_DB": pg_url, **KEY})
            assert r.returncode == 0, r.stderr
            ids = dict(asyncio.run(_ids_by_gb(pg_url)))
            gone, new = ids[f"130123000013200{5:05d}"], ids[f"130123000013200{n + 1:05d}"]
            owner = a if shard_of(new, SHARDS) in a.shards() else b

            def settled() -> bool:
                rows = intervals(pg_url)
                return rows[gone][-1][0] == "excluded" and any(state == "online" for state, _, _ in rows.get(new, []))

            wait_for(settled, 30, "camera 5 excluded and the new camera online")
            time.sleep(INTERVAL_S)
            seen = probes_per_camera(fleet, 4 * INTERVAL_S, n + 1)
            assert seen[4] == 0, seen[4]  # the retired camera is probed by nobody
            assert 2 <= seen[n] <= 5, seen[n]  # the new one by one replica
            other = b if owner is a else a
            label = f'camera_name="摄像机{n}"'  # the new camera's series: on its owner's /metrics only
            assert label in metrics_text(owner) and label not in metrics_text(other)
            for x in replicas:
                x.stop()
                assert x.proc.returncode == 0, x.log.read_text()[-3000:]
            rows = intervals(pg_url)
            assert_contiguous(rows)
            assert [state for state, _, _ in rows[gone]].count("excluded") == 1, rows[gone]
            assert rows[gone][-1][2] is None  # excluded from its retirement on (not closed by a stop)
        finally:
            stop_all(replicas)


def metrics_text(r: Replica) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{r.port}/metrics", timeout=10) as resp:
        return str(resp.read().decode())


async def _ids_by_gb(url: str) -> list[tuple[str, int]]:
    from inventory.models import Camera

    engine = create_engine(url)
    try:
        async with engine.connect() as c:
            return [(g, i) for g, i in await c.execute(select(Camera.gb_id, Camera.id))]
    finally:
        await engine.dispose()


def replicas_listed(tmp: Path, url: str) -> dict[str, Any]:
    """``camwatch replicas --json``: the collectors on the database, read from PostgreSQL's locks."""
    r = camwatch(tmp, "--db", url, "replicas", "--json", env={"CAMWATCH_COLLECTOR__SHARDS": str(SHARDS)})
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def test_a_second_run_on_one_sqlite_file_refuses(tmp_path: Path) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    first = subprocess.Popen([exe, "run"], cwd=tmp_path, env={**env, "CAMWATCH_HTTP__PORT": str(free_port())},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: (tmp_path / "camwatch.db.run.lock").exists(), 30, "first run started")
        time.sleep(1.0)
        for extra, words in (({}, "another camwatch run is using the SQLite database"),
                             ({"CAMWATCH_COLLECTOR__REPLICAS": "true"}, "collector.replicas needs PostgreSQL")):
            r = camwatch(tmp_path, "--lang", "en", "run",
                         env={"CAMWATCH_HTTP__PORT": str(free_port()), **extra})
            assert r.returncode == 3, r.stderr
            last = r.stderr.strip().splitlines()[-1]  # (after the start's log lines)
            assert last.startswith("camwatch: ") and words in last, r.stderr
        assert first.poll() is None
        r = camwatch(tmp_path, "--lang", "en", "replicas")
        assert r.returncode == 0 and "a SQLite database runs one collector and no replicas" in r.stdout, r
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=20)


def test_a_lone_collector_and_replicas_never_share_a_postgresql_schema(tmp_path: Path, pg_url: str) -> None:
    assert camwatch(tmp_path, "--db", pg_url, "db", "upgrade").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    port = free_port()
    lone = subprocess.Popen([exe, "run"], cwd=tmp_path, env={**env, "CAMWATCH_DB": pg_url,
                                                              "CAMWATCH_HTTP__PORT": str(port)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).status == 200, 30,
                 "lone collector up")
        for extra, words in (({}, "another camwatch run is using this PostgreSQL database"),
                             ({"CAMWATCH_COLLECTOR__REPLICAS": "true"}, "without collector.replicas")):
            r = camwatch(tmp_path, "--lang", "en", "run",
                         env={"CAMWATCH_DB": pg_url, "CAMWATCH_HTTP__PORT": str(free_port()), **extra})
            last = r.stderr.strip().splitlines()[-1]
            assert r.returncode == 3 and last.startswith("camwatch: ") and words in last, r.stderr
        assert lone.poll() is None
        listed = replicas_listed(tmp_path, pg_url)
        assert listed["replicas"] == [] and listed["alone"] is not None, listed
        said = camwatch(tmp_path, "--db", pg_url, "--lang", "en", "replicas")
        assert said.returncode == 0 and "one collector runs alone (replicas off)" in said.stdout, said
    finally:
        lone.send_signal(signal.SIGTERM)
        lone.wait(timeout=20)
    said = camwatch(tmp_path, "--db", pg_url, "--lang", "en", "replicas")
    assert said.returncode == 0 and "no collector is running" in said.stdout, said


def test_a_replica_with_another_shard_count_refuses_to_join(tmp_path: Path, pg_url: str) -> None:
    """Replicas with different collector.shards put a camera in different shards, so two of them
    could each lock "its" shard and both write it: the second count refuses, in one line, and the
    running replica keeps every shard."""
    assert camwatch(tmp_path, "--db", pg_url, "db", "upgrade").returncode == 0
    a = Replica(tmp_path, pg_url, "a")
    try:
        wait_for(lambda: len(a.shards()) == SHARDS, 60, "a holds every shard")
        other = {**_env(pg_url, free_port(), "b"), "CAMWATCH_COLLECTOR__SHARDS": "1024"}
        exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
        r = subprocess.run([exe, "run"], cwd=tmp_path, env=other, capture_output=True, text=True, timeout=60)
        last = r.stderr.strip().splitlines()[-1]
        assert r.returncode == 3, r.stderr[-2000:]
        assert last.startswith("camwatch: ") and f"collector.shards = {SHARDS}, this one 1024" in last, last
        zh = subprocess.run([exe, "run"], cwd=tmp_path, env={**other, "CAMWATCH_LANGUAGE": "zh"}, capture_output=True,
                            text=True, timeout=60)
        assert zh.returncode == 3 and f"collector.shards 为 {SHARDS}，本副本为 1024" in zh.stderr, zh.stderr[-2000:]
        assert len(a.shards()) == SHARDS and a.health()["replica"]["live_replicas"] == 1
        # the same count joins
        b = Replica(tmp_path, pg_url, "b")
        try:
            wait_for(lambda: len(a.shards()) == len(b.shards()) == SHARDS // 2, 60, "a and b balanced")
        finally:
            b.stop()
    finally:
        a.stop()
