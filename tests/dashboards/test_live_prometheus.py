"""Every panel query and every recording rule, evaluated by a real Prometheus (Debian ``prometheus``,
on loopback) that scrapes a running ``camwatch run`` against the simulated fleet: each returns data."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dashboards import metrics
from probes.sim import Behaviour, Fleet, Power
from probes.sim.loopback import LoopbackRange
from tests.collector.test_cli_inventory import SAMPLE_PASSWORD, camwatch
from tests.dashboards.queries import (
    PENDING_METRICS,
    RECORDING,
    Variable,
    metric_names,
    panel_queries,
    recording_rules,
    variables,
)
from tests.net import free_port, sample_inventory_at

# camwatch's and Prometheus's HTTP ports on 127.0.0.1: free ones, chosen by the stack fixture
PORTS = {"camwatch": 0, "prometheus": 0}
CAMERAS = 48  # the cameras of config/sample_inventory.csv, moved into a free loopback range
OFFLINE_INDEX = 3  # camera 4: power down -> offline, cause refused
FLAPPING_INDEX = 5  # camera 6: 3 s up, 3 s down
SKEWED_INDEX = 7  # camera 8: clock 10 minutes ahead -> degraded, failed check clock
DEADLINE_S = 150.0


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    env.update({
        "CAMWATCH_COLLECTOR__INTERVAL_S": "2", "CAMWATCH_COLLECTOR__OFFLINE_INTERVAL_S": "0.5",
        "CAMWATCH_COLLECTOR__CONFIRM_DELAYS_S": "[0.3, 0.3]", "CAMWATCH_COLLECTOR__VIDEO": "true",
        "CAMWATCH_COLLECTOR__VIDEO_INTERVAL_S": "5",
        "CAMWATCH_COLLECTOR__RELOAD_INTERVAL_S": "1", "CAMWATCH_HTTP__PORT": str(PORTS["camwatch"]),
        "CAMWATCH_COLLECTOR__FIGURES_INTERVAL_S": "1",
        "CAMWATCH_PROBE__REACH_TIMEOUT_S": "1", "CAMWATCH_PROBE__RTSP_TIMEOUT_S": "1", "CAMWATCH_PROBE__ONVIF_TIMEOUT_S": "1",
    })
    return env


def _get(url: str, timeout: float = 5.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read()


def _api(path: str, **params: str) -> object:
    body = json.loads(_get(f"http://127.0.0.1:{PORTS['prometheus']}{path}?{urllib.parse.urlencode(params)}"))
    assert body["status"] == "success", body
    return body["data"]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def stack(tmp_path: Path, loopback: LoopbackRange) -> Iterator[Path]:
    """Fleet simulator + ``camwatch run`` + Prometheus scraping it every second with the recording rules."""
    PORTS.update(camwatch=free_port(), prometheus=free_port())
    assert camwatch(tmp_path, "init").returncode == 0
    sample = sample_inventory_at(tmp_path / "sample.csv", loopback)
    assert camwatch(tmp_path, "inventory", "import", str(sample)).returncode == 0
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text(json.dumps({  # JSON is YAML
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RECORDING)],
        "scrape_configs": [{"job_name": "camwatch", "static_configs": [{"targets": [f"127.0.0.1:{PORTS['camwatch']}"]}]}],
    }), encoding="utf-8")
    with Fleet(CAMERAS, base_address=loopback.base_address, password=SAMPLE_PASSWORD) as fleet:
        fleet.set_behaviour(OFFLINE_INDEX, Behaviour(power=Power.DOWN))
        fleet.set_behaviour(FLAPPING_INDEX, Behaviour(flap_up_s=3.0, flap_down_s=3.0))
        fleet.set_behaviour(SKEWED_INDEX, Behaviour(clock_skew_s=600.0))
        exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
        cw = subprocess.Popen([exe, "run"], cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{PORTS['prometheus']}", "--log.level=warn"],
            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("wb"),
        )
        try:
            yield tmp_path
        finally:
            _stop(prom)
            _stop(cw)


def _regex_escape(value: str) -> str:
    """Grafana's regex escaping of a variable value in a Prometheus ``=~`` matcher."""
    return re.sub(r"([\\^$.|?*+()\[\]{}])", r"\\\\\1", value)


def _substitute(expr: str, values: dict[str, str]) -> str:
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace(f"${name}", values[name])
    assert "$" not in expr, expr
    return expr


def _resolve(vs: list[Variable]) -> dict[str, dict[str, str]]:
    """Each dashboard's variables in order, as Grafana would: ``label_values`` through the series API,
    then "All" for the multi-value region variables and the first value for the camera."""
    out: dict[str, dict[str, str]] = {}
    for v in vs:
        values = out.setdefault(v.dashboard, {})
        series = _api("/api/v1/series", **{"match[]": _substitute(v.selector, values)})
        options = sorted({s[v.label] for s in series if s.get(v.label)})  # type: ignore[union-attr]
        assert options, f"variable ${v.name} of {v.dashboard} has no values"
        if v.multi_all:
            values[v.name] = "(" + "|".join(_regex_escape(o) for o in options) + ")"
        else:
            # a camera whose picture was already checked (the video tier reaches every camera
            # only gradually), so that the detail dashboard's video panel has data
            checked = {s.get(v.label) for s in _api("/api/v1/series", **{"match[]": "camwatch_camera_video_ok"})}  # type: ignore[union-attr]
            values[v.name] = next((o for o in options if o in checked), options[0])
    return out


def _failures(queries: list[tuple[str, str]]) -> list[str]:
    bad = []
    for where, expr in queries:
        data = _api("/api/v1/query", query=expr)
        if not data["result"]:  # type: ignore[index]
            bad.append(f"{where}: {expr}")
    return bad


def test_every_panel_query_and_rule_returns_data(stack: Path) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while True:  # Prometheus up and scraping camwatch with every camera probed
        try:
            up = _api("/api/v1/query", query='count(camwatch_camera_up{camera_name!=""})')
            if up["result"] and float(up["result"][0]["value"][1]) >= CAMERAS - 1:  # type: ignore[index]
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, (stack / "prometheus.log").read_text(errors="replace")[-2000:]
        time.sleep(0.5)

    # the names camwatch really exports (work orders may still be pending; no alert is delivered here)
    expected = metrics.EXPORTED - PENDING_METRICS - {metrics.ALERTS_SENT_TOTAL}
    while True:
        text = _get(f"http://127.0.0.1:{PORTS['camwatch']}/metrics").decode()
        live = {s.name for fam in text_string_to_metric_families(text) for s in fam.samples}
        if expected <= live or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert expected <= live, sorted(expected - live)
    assert SAMPLE_PASSWORD not in text
    loc = [s for fam in text_string_to_metric_families(text) if fam.name == metrics.CAMERA_LOCATION for s in fam.samples]
    assert len(loc) == CAMERAS and all(s.labels["lon"] and s.labels["lat"] and s.labels["point"] for s in loc)

    rules = recording_rules()

    def all_queries() -> list[tuple[str, str]]:
        values = _resolve(variables())
        assert '大前村1' in values["operations.json"]["village"]
        qs = [(f"{q.dashboard} / {q.panel} / {q.ref}", _substitute(q.expr, values.get(q.dashboard, {})))
              for q in panel_queries() if not (metric_names(q.expr) & PENDING_METRICS)]
        assert len(qs) >= 25
        qs += [(f"rule {record}", expr) for record, expr in rules]
        qs += [(f"recorded {record}", record) for record, _ in rules]
        return qs

    queries = all_queries()
    bad = _failures(queries)
    while bad and time.monotonic() < deadline:  # rate()/changes() need a few scrapes; the flapping camera a few flaps
        time.sleep(1.0)
        queries = all_queries()
        bad = _failures(queries)
    assert not bad, "\n".join(bad)

    # the data is the fleet's: the powered-down camera is in the offline table, with its cause and point
    offline = next(e for w, e in queries if "离线摄像机 / A" in w and "label_join" in e)
    rows = _api("/api/v1/query", query=offline)["result"]  # type: ignore[index]
    got = {(r["metric"]["camera"], r["metric"]["cause"]) for r in rows}
    # the powered-down camera, and the flapping one when it happens to be in a down phase
    assert (str(OFFLINE_INDEX + 1), "refused") in got
    assert got <= {(str(OFFLINE_INDEX + 1), "refused"), (str(FLAPPING_INDEX + 1), "refused")}, got
    assert rows[0]["metric"]["point"] and rows[0]["metric"]["region_path"].count(" / ") == 2
    flapping = next(e for w, e in queries if "频繁掉线" in w)
    rows = _api("/api/v1/query", query=flapping)["result"]  # type: ignore[index]
    assert str(FLAPPING_INDEX + 1) in {r["metric"]["camera"] for r in rows}
