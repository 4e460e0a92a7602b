"""The shipped Alertmanager configuration is valid and routes as documented (Debian's amtool)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.net import free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config" / "alertmanager" / "alertmanager.yml"
RULES = ROOT / "config" / "prometheus" / "alerts.yml"


def _amtool(*args: str) -> subprocess.CompletedProcess[str]:
    path = shutil.which("amtool")
    assert path, "amtool not found: install Debian's prometheus-alertmanager package (.ci/setup does)"
    return subprocess.run([path, *args], capture_output=True, text=True, timeout=60)


def test_config_is_valid_and_has_a_receiver_that_sends() -> None:
    r = _amtool("check-config", str(CONFIG))
    assert r.returncode == 0 and "SUCCESS" in r.stdout, r.stdout + r.stderr
    doc = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    default = next(rc for rc in doc["receivers"] if rc["name"] == doc["route"]["receiver"])
    assert any(k.endswith("_configs") and v for k, v in default.items()), "the default receiver sends nowhere"


def _rule_names() -> list[str]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [r["alert"] for g in doc["groups"] for r in g["rules"] if "alert" in r]


@pytest.mark.parametrize(("labels", "receiver"), [
    (["alertname=CamwatchIncident", "severity=critical", "village=周桥村"], "camwatch-delivered"),
    *[([f"alertname={name}", "township=柳林乡"], "oncall") for name in _rule_names()],
])
def test_routes(labels: list[str], receiver: str) -> None:
    r = _amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip() == receiver


def test_inhibit_rules_name_real_alerts() -> None:
    """The collector alerts the inhibit rule names exist in the Prometheus rules."""
    text = CONFIG.read_text(encoding="utf-8")
    for name in ("CamwatchCollectorDown", "CamwatchProbesLagging", "CamwatchVillageDark", "CamwatchCameraDown"):
        assert name in text and name in _rule_names()


def _post(base: str, alerts: list[dict[str, object]]) -> None:
    req = urllib.request.Request(f"{base}/api/v2/alerts", data=json.dumps(alerts).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200


def _inhibited(base: str) -> dict[str, bool]:
    """Each active or inhibited alert's ``alertname/instance/camera`` -> whether it is inhibited."""
    with urllib.request.urlopen(f"{base}/api/v2/alerts?active=true&inhibited=true&silenced=true", timeout=10) as resp:
        out = json.loads(resp.read())
    return {"/".join(a["labels"].get(k, "") for k in ("alertname", "instance", "camera")): bool(a["status"]["inhibitedBy"])
            for a in out}


def _alertmanager(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Debian's Alertmanager with the shipped file on a free local port, answering."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(["prometheus-alertmanager", f"--config.file={CONFIG}", f"--storage.path={tmp_path}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:  # (bounded: 30 s for it to answer)
            try:
                with urllib.request.urlopen(f"{base}/-/ready", timeout=2):
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "alertmanager did not start"
                time.sleep(0.2)
    except BaseException:
        proc.terminate()
        proc.wait(timeout=10)
        raise
    return proc, base


def _wait_for(base: str, want: dict[str, bool]) -> dict[str, bool]:
    got: dict[str, bool] = {}
    for _ in range(50):  # (bounded: inhibition is computed as alerts are read; 10 s at most)
        got = _inhibited(base)
        if got == want:
            break
        time.sleep(0.2)
    return got


def test_one_replica_down_mutes_no_camera_alert_in_a_real_alertmanager(tmp_path: Path) -> None:
    """Debian's Alertmanager with the shipped file (its receivers' URLs are placeholders: nothing
    is delivered): one replica down holds back only its own lag and backlog alerts, never the
    fleet's camera alerts (those carry no instance: the rules take one series per camera)."""
    proc, base = _alertmanager(tmp_path)
    try:
        alert = [("CamwatchCollectorDown", "r1:9850", ""), ("CamwatchProbesLagging", "r1:9850", ""),
                 ("CamwatchDbWritesBacklog", "r1:9850", ""), ("CamwatchProbesLagging", "r2:9850", ""),
                 ("CamwatchCameraDown", "", "C-1")]
        _post(base, [{"labels": {k: v for k, v in (("alertname", n), ("instance", i), ("camera", c), ("township", "柳林乡")) if v}}
                     for n, i, c in alert])
        want = {"CamwatchCollectorDown/r1:9850/": False, "CamwatchProbesLagging/r1:9850/": True,
                "CamwatchDbWritesBacklog/r1:9850/": True, "CamwatchProbesLagging/r2:9850/": False,
                "CamwatchCameraDown//C-1": False}
        assert _wait_for(base, want) == want
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_dark_village_holds_back_its_camera_alerts_in_a_real_alertmanager(tmp_path: Path) -> None:
    """CamwatchVillageDark (labelled with its village, as alerts.yml makes it) inhibits the
    CamwatchCameraDown alerts of the same village only: one message per dark village."""
    proc, base = _alertmanager(tmp_path)
    try:
        where = {"township": "130123101000", "township_name": "城关镇", "county": "130123000000"}
        _post(base, [
            {"labels": {"alertname": "CamwatchVillageDark", "severity": "critical", "level": "village",
                        "region": "130123101201", "village": "130123101201", "village_name": "东关村", **where}},
            *[{"labels": {"alertname": "CamwatchCameraDown", "severity": "warning", "camera": c, "village": v, **where}}
              for c, v in (("C-1", "130123101201"), ("C-2", "130123101201"), ("C-3", "130123101202"))],
        ])
        want = {"CamwatchVillageDark//": False, "CamwatchCameraDown//C-1": True, "CamwatchCameraDown//C-2": True,
                "CamwatchCameraDown//C-3": False}
        assert _wait_for(base, want) == want
    finally:
        proc.terminate()
        proc.wait(timeout=10)
