"""`camwatch probe ID`: a camera from the inventory, probed against the simulated fleet."""

from __future__ import annotations

import json
from pathlib import Path

from probes.sim import Behaviour, Fleet
from tests.collector.test_cli_inventory import SAMPLE, SAMPLE_PASSWORD, camwatch


def test_probe_camera_by_id(tmp_path: Path) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    assert camwatch(tmp_path, "inventory", "import", str(SAMPLE)).returncode == 0
    # The sample inventory's first cameras are at 127.20.0.1.. on 8554/8000, like the fleet's.
    with Fleet(3, base_address="127.20.0.1", password=SAMPLE_PASSWORD) as fleet:
        r = camwatch(tmp_path, "probe", "1", "--json")
        assert r.returncode == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["state"] == "online" and out["cause"] is None
        assert [s["stage"] for s in out["stages"]] == ["reach", "rtsp", "onvif"]
        assert SAMPLE_PASSWORD not in r.stdout + r.stderr
        fleet.set_behaviour(1, Behaviour().with_(describe_status=453))
        r = camwatch(tmp_path, "probe", "2")
        assert r.returncode == 2 and "码流不可用" in r.stdout
        assert SAMPLE_PASSWORD not in r.stdout + r.stderr
    r = camwatch(tmp_path, "--lang", "en", "probe", "9999")
    assert r.returncode == 2 and "9999" in r.stderr
