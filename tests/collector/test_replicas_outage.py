"""PostgreSQL away for every replica at once (a server restart or failover: every session ends, new
connections refused for a while), on the local PostgreSQL behind a proxy that the test cuts and
heals: the replicas stop probing while no one can hold a shard, and come back by themselves, the
shards shared again, one leader, one prober per camera and contiguous intervals."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

from probes.sim import Fleet
from probes.sim.loopback import LoopbackRange
from tests.collector.test_replicas import (
    INTERVAL_S,
    SHARDS,
    Replica,
    assert_contiguous,
    intervals,
    pg_proxy,
    pg_url,  # noqa: F401 - the fixture
    prepare_db,
    probes_per_camera,
    stop_all,
    via,
    wait_for,
)

pytestmark = pytest.mark.postgres


def test_every_replica_cut_off_at_once_comes_back_by_itself(tmp_path: Path, loopback: LoopbackRange,
                                                            pg_url: str) -> None:  # noqa: F811
    n = 60
    prepare_db(tmp_path, pg_url, n, loopback.base_address)
    proxy = pg_proxy(pg_url)
    replicas: list[Replica] = []
    with Fleet(n, base_address=loopback.base_address) as fleet:
        try:
            replicas = [Replica(tmp_path, via(pg_url, proxy.port), name) for name in ("a", "b", "c")]
            wait_for(lambda: sorted(len(x.shards()) for x in replicas) == [84, 86, 86], 90, "3 replicas balanced")
            cut_at = dt.datetime.now(dt.UTC)
            proxy.cut()
            wait_for(lambda: all(x.health()["replica"]["coordination_error"] for x in replicas), 30, "all fenced")
            for x in replicas:  # nobody claims a shard or a leader it cannot prove
                rep = x.health()["replica"]
                assert (rep["shards"], rep["leader"]) == ([], None), (x.name, rep)
            time.sleep(1.0)  # probes in flight when the sessions went are done
            seen = probes_per_camera(fleet, 2 * INTERVAL_S, n)
            assert sum(seen.values()) == 0, {c: k for c, k in seen.items() if k}
            healed_at = dt.datetime.now(dt.UTC)
            proxy.heal()
            took = wait_for(lambda: sorted(len(x.shards()) for x in replicas) == [84, 86, 86], 120, "balanced again")
            wait_for(lambda: not any(x.health()["replica"]["coordination_error"] for x in replicas), 30, "errors cleared")
            leaders = {x.health()["replica"]["leader"] for x in replicas}
            assert len(leaders) == 1 and leaders <= {"a", "b", "c"}, leaders
            held = [x.shards() for x in replicas]
            assert set().union(*held) == set(range(SHARDS)) and sum(map(len, held)) == SHARDS, "a shard held twice"
            print(f"\nthe database back for every replica: balanced again after {took:.1f} s")
            wait_for(lambda: all(x.health().get("status") == "ok" for x in replicas), 30, "every replica healthy")
            time.sleep(INTERVAL_S)  # the catch-up probes done
            seen = probes_per_camera(fleet, 4 * INTERVAL_S, n)
            assert min(seen.values()) >= 2 and max(seen.values()) <= 5, sorted(seen.values())[-5:]
            for x in replicas:
                x.stop()
                assert x.proc.returncode == 0, x.log.read_text()[-3000:]
            rows = intervals(pg_url)
            assert_contiguous(rows)
            assert len(rows) == n
            # the outage is on record as unknown for every camera (not online: nobody watched)
            for cid, ivs in rows.items():
                during = [state for state, start, end in ivs if start < healed_at and (end is None or end > cut_at)]
                assert "unknown" in during, (cid, ivs)
                assert all(state == "unknown" for state, start, end in ivs
                           if start >= cut_at + dt.timedelta(seconds=2) and (end is not None and end <= healed_at)), (cid, ivs)
        finally:
            proxy.stop()
            stop_all(replicas)
