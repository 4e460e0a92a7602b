"""Dashboards and recording rules give the same answers with 1 or 3 replicas (DESIGN §8, issue 18
point 4): real `camwatch run` replicas on the local PostgreSQL over the simulated fleet, scraped by
a real Prometheus (Debian ``prometheus``) with config/prometheus/recording.yml. First one replica
holds every shard; then two more join and the shards spread. Every panel query of the dashboards
and every recording rule is evaluated in both phases and compared (values where they do not
depend on time or on which process probed; label sets everywhere). Each replica exports only its
own cameras (the three sets disjoint, their union the fleet); only the leader exports region series."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from collector.runtime.shards import shard_of
from probes.sim import Behaviour, Fleet, Power
from probes.sim.loopback import LoopbackRange
from tests.collector import test_replicas
from tests.collector.test_cli_inventory import camwatch
from tests.collector.test_replicas import KEY, SHARDS, Replica, inventory, pg_url, wait_for  # noqa: F401 - a fixture
from tests.dashboards.queries import RECORDING, panel_queries, recording_rules
from tests.net import free_port

N = int(os.environ.get("METRICS_REPLICAS_TEST_CAMERAS", "300"))  # ten per village
DARK = range(0, 10)  # village 村0: every camera powered down (a dark village)
DOWN = (23, 57, 111, 182, 250)  # offline cameras elsewhere (refused)
pytestmark = pytest.mark.postgres

# queries whose value depends on the time or on which process probed (since when, durations,
# rates, per-process figures): compared by their label sets only
TIME_BOUND = ("availability", "time()", "rate(", "lateness", "duration", "clock_offset", "state_since",
              "state_changes", "sweep", "pending_writes", "probes", "alerts_sent", "work_orders",
              "camwatch_process_")  # (what each process uses: its own memory and CPU)
DROP = {"instance", "job", "__name__"}


class Prometheus:
    """Scrapes the targets of a file it rereads (file_sd): the replicas as they start."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.targets = tmp / "targets.json"
        self.scrape([])
        cfg = tmp / "prometheus.yml"
        cfg.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RECORDING)],
            "scrape_configs": [{"job_name": "camwatch",
                                "file_sd_configs": [{"files": [str(self.targets)], "refresh_interval": "1s"}]}],
        }), encoding="utf-8")
        exe = shutil.which("prometheus")
        assert exe, "prometheus not found: install Debian's prometheus package"
        self.proc = subprocess.Popen(
            [exe, f"--config.file={cfg}", f"--storage.tsdb.path={tmp / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            cwd=tmp, stdout=subprocess.DEVNULL, stderr=(tmp / "prometheus.log").open("wb"))

    def scrape(self, ports: list[int]) -> None:
        tmp = self.targets.with_suffix(".tmp")
        tmp.write_text(json.dumps([{"targets": [f"127.0.0.1:{p}" for p in ports]}]), encoding="utf-8")
        tmp.replace(self.targets)

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.loads(r.read())
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def value(self, expr: str) -> float | None:
        rows = self.query(expr)
        return float(rows[0]["value"][1]) if rows else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


def _answers(prom: Prometheus, exprs: dict[str, str]) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out = {}
    for where, expr in exprs.items():
        rows = prom.query(expr)
        out[where] = {tuple(sorted((k, v) for k, v in r["metric"].items() if k not in DROP)): round(float(r["value"][1]), 9)
                      for r in rows}
    return out


def _queries() -> dict[str, str]:
    """Every panel query (the region variables: all; the camera: one) and every recording rule and
    recorded series."""
    qs = {}
    for q in panel_queries():
        expr = q.expr
        for name, value in (("$county", ".*"), ("$township", ".*"), ("$village", ".*"), ("$camera", "摄像机57")):
            expr = expr.replace(name, value)
        qs[f"{q.dashboard} / {q.panel} / {q.ref}"] = expr
    for record, expr in recording_rules():
        qs[f"rule {record}"] = expr
        qs[f"recorded {record}"] = record
    return qs


def _differ(qs: dict[str, str], one: dict[str, Any], three: dict[str, Any]) -> list[str]:
    """The queries whose answers differ between one and three replicas (label sets only for those
    that depend on time or on which process probed)."""
    differ = []
    for where, expr in qs.items():
        a, b = one[where], three[where]
        if any(word in expr for word in TIME_BOUND):
            same = set(a) == set(b) or where.startswith("camwatch-self")  # per-process series
        else:
            same = a == b
        if not same:
            differ.append(f"{where}: {expr}\n  1 replica:  {sorted(a.items())[:6]}\n  3 replicas: {sorted(b.items())[:6]}")
    return differ


def test_one_or_three_replicas_give_the_same_answers(tmp_path: Path, loopback: LoopbackRange, pg_url: str,  # noqa: F811
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    env = test_replicas._env  # the replicas of test_replicas, with their figures (availability) every 5 s
    monkeypatch.setattr(test_replicas, "_env", lambda *a: {**env(*a), "CAMWATCH_COLLECTOR__FIGURES_INTERVAL_S": "5"})
    assert camwatch(tmp_path, "--db", pg_url, "db", "upgrade").returncode == 0
    csv = inventory(tmp_path / "cameras.csv", N, loopback.base_address)
    r = camwatch(tmp_path, "inventory", "import", str(csv), env={"CAMWATCH_DB": pg_url, **KEY})
    assert r.returncode == 0, r.stderr
    replicas: list[Replica] = []
    prom: Prometheus | None = None
    with Fleet(N, base_address=loopback.base_address) as fleet:
        for i in (*DARK, *DOWN):
            fleet.set_behaviour(i, Behaviour(power=Power.DOWN))
        offline = len(DARK) + len(DOWN)
        try:
            replicas = [Replica(tmp_path, pg_url, "r1")]
            prom = p = Prometheus(tmp_path)
            p.scrape([replicas[0].port])

            def settled(n_targets: int) -> bool:
                """Every camera known on its one target, every offline one with its cause, the
                leader's region counts and coverage there, and nothing of a camera on two targets."""
                return (p.value('count(camwatch_camera_location)') == N
                        and p.value('count(max by (camera) (camwatch_camera_location))') == N
                        and p.value('count(camwatch_camera_up)') == N
                        and p.value('count(camwatch_camera_offline_cause)') == offline
                        and p.value('sum(camwatch_region_cameras{level="county",status="unknown"})') == 0
                        and p.value('sum(camwatch_region_cameras{level="county",status="offline"})') == offline
                        and p.value('count(camwatch_region_coverage_ratio{level="village"})') == N // 10
                        and p.value('count(camwatch_region_availability_ratio{level="township"})') == 4  # windows
                        and p.value('count(count by (instance) (camwatch_replica_info))') == n_targets)

            took = wait_for(lambda: settled(1), 120, "one replica: every camera known, the figures computed")
            time.sleep(3.0)  # the recording rules evaluated on it
            qs = _queries()
            one = _answers(p, qs)
            print(f"\none replica settled after {took:.1f} s; {sum(1 for v in one.values() if v)} of {len(qs)} queries"
                  " with data")

            replicas += [Replica(tmp_path, pg_url, "r2"), Replica(tmp_path, pg_url, "r3")]
            p.scrape([x.port for x in replicas])

            def spread() -> bool:
                sets = [x.shards() for x in replicas]
                return all(sets) and sum(map(len, sets)) == SHARDS and len(set().union(*sets)) == SHARDS

            took = wait_for(spread, 120, "3 replicas share the shards")
            # on a loaded box a shard or the leadership may still move after a settled moment (its
            # cameras unknown until the new owner probes them): the answers count when the fleet is
            # settled before and after they are read (at most 8 tries, each bounded)
            for attempt in range(8):
                took += wait_for(lambda: settled(3), 120, "three replicas: every camera known on one target")
                time.sleep(3.0)
                three = _answers(p, qs)
                differ = _differ(qs, one, three)
                if not differ:
                    break
                print(f"try {attempt + 1}: {len(differ)} answer(s) differ; reading again")
                time.sleep(5.0)
            print(f"three replicas settled {took:.1f} s after joining")

            # each replica exports its own cameras: disjoint sets whose union is the fleet
            owned: dict[str, set[str]] = {}
            for row in p.query("camwatch_camera_location"):
                owned.setdefault(row["metric"]["instance"], set()).add(row["metric"]["camera"])
            assert len(owned) == 3 and sum(map(len, owned.values())) == N and len(set().union(*owned.values())) == N
            for x in replicas:
                mine = {str(c) for c in range(1, N + 1) if shard_of(c, SHARDS) in x.shards()}
                assert owned[f"127.0.0.1:{x.port}"] == mine, x.name
            # region series from one target only: the leader
            leader = {x.health()["replica"]["leader"] for x in replicas}
            assert len(leader) == 1
            lead = next(x for x in replicas if x.name in leader)
            region_targets = {row["metric"]["instance"] for row in p.query("camwatch_region_cameras")}
            assert region_targets == {f"127.0.0.1:{lead.port}"}
            # shard cameras add up to the fleet
            assert p.value("sum(camwatch_shard_cameras)") == N

            differ = _differ(qs, one, three)
            assert not differ, "\n".join(differ)
            # the answers are the fleet's, not empty on both sides
            assert one["operations.json / 离线摄像机 / A"] and one["rule township:camwatch_camera_offline_cause:count"]
            county = next(w for w in qs if w.startswith("operations.json / 全县当前在线率"))
            assert list(one[county].values()) == [round((N - offline) / N, 9)]
            probes = {k: v for k, v in three["recorded stage_result:camwatch_probes:rate1m"].items()}
            assert probes, "no probe rate recorded"
        finally:
            if prom is not None:
                prom.stop()
            for x in replicas:
                x.stop()
            for x in replicas:
                if x.proc.returncode not in (0, None):
                    print(x.log.read_text()[-3000:])
