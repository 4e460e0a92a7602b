"""The Prometheus alert rules pass `promtool check rules` and their promtool unit tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

RULES = Path(__file__).resolve().parents[2] / "config" / "prometheus"


def _promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool not found: install Debian's prometheus package (.ci/setup does)"
    return path


def test_rules_are_valid() -> None:
    r = subprocess.run([_promtool(), "check", "rules", str(RULES / "alerts.yml")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 9 rules found" in r.stdout


def test_rule_unit_tests_pass() -> None:
    r = subprocess.run([_promtool(), "test", "rules", str(RULES / "alerts_test.yml")], capture_output=True, text=True,
                       timeout=60, cwd=RULES)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_every_alert_has_a_unit_test() -> None:
    import yaml

    rules = yaml.safe_load((RULES / "alerts.yml").read_text(encoding="utf-8"))
    names = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    tests = yaml.safe_load((RULES / "alerts_test.yml").read_text(encoding="utf-8"))
    tested = {a["alertname"] for t in tests["tests"] for a in t.get("alert_rule_test", []) if a.get("exp_alerts")}
    assert names == tested
