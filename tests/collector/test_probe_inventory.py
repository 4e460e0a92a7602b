"""`camwatch probe ID`: a camera from the inventory, probed against the simulated fleet."""

from __future__ import annotations

import json
from pathlib import Path

from probes.sim import Behaviour, Fleet
from probes.sim.loopback import LoopbackRange
from tests.collector.test_cli_inventory import SAMPLE_PASSWORD, camwatch
from tests.net import sample_inventory_at


def test_probe_camera_by_id(tmp_path: Path, loopback: LoopbackRange) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    sample = sample_inventory_at(tmp_path / "sample.csv", loopback)
    assert camwatch(tmp_path, "inventory", "import", str(sample)).returncode == 0
    # The sample inventory's first cameras, moved to a free range, on 8554/8000 like the fleet's.
    with Fleet(3, base_address=loopback.base_address, password=SAMPLE_PASSWORD) as fleet:
        r = camwatch(tmp_path, "probe", "1", "--json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["state"] == "online" and out["cause"] is None
        assert [s["stage"] for s in out["stages"]] == ["reach", "rtsp", "onvif"]
        assert SAMPLE_PASSWORD not in r.stdout + r.stderr
        fleet.set_behaviour(1, Behaviour().with_(describe_status=453))
        r = camwatch(tmp_path, "probe", "2")
        assert r.returncode == 11 and "码流不可用" in r.stdout  # offline
        assert SAMPLE_PASSWORD not in r.stdout + r.stderr
    r = camwatch(tmp_path, "--lang", "en", "probe", "9999")
    assert r.returncode == 1 and "9999" in r.stderr  # no such camera: a data error
