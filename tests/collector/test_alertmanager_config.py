"""The shipped Alertmanager configuration is valid and routes as documented (Debian's amtool)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

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
    for name in ("CamwatchCollectorDown", "CamwatchProbesLagging"):
        assert name in text and name in _rule_names()
