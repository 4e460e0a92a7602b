"""The dashboards as code: committed JSON in step with the code, valid SDK models, only contract metrics,
recording rules that promtool accepts, Grafana provisioning and the docker compose file."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import yaml
from click.testing import CliRunner
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import dashboard as dm
from prometheus_client.parser import text_string_to_metric_families

from collector.cli import dashboards_cmd
from collector.metrics.exposition import render_text
from collector.metrics.registry import CamwatchCollector, RegionFigures, SelfCounters
from collector.runtime.camera_state import State, Status
from collector.runtime.procstat import ProcessUse
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.settings import CollectorSettings
from dashboards import metrics
from dashboards.build import DASHBOARDS, build_all, render, to_dict
from dashboards.common import DATASOURCE_UID
from dashboards.export import COMMITTED_DIR, export
from inventory.models import Lifecycle
from inventory.monitored import MonitoredCamera, RegionLabels
from probes.base import ProbeResult, ProbeTarget, Stage
from probes.causes import Cause
from probes.ladder import LadderResult
from tests.dashboards.queries import (
    PENDING_METRICS,
    RECORDING,
    ROOT,
    metric_names,
    panel_queries,
    recording_rules,
    selector_names,
    variables,
)

_HAN = re.compile(r"[\u4e00-\u9fff]")


def test_committed_json_matches_the_code(tmp_path: Path) -> None:
    written = export(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in COMMITTED_DIR.glob("*.json")) == sorted(s.file for s in DASHBOARDS)
    for p in written:
        committed = (COMMITTED_DIR / p.name).read_text(encoding="utf-8")
        assert committed == p.read_text(encoding="utf-8"), f"{p.name} drifted: run `camwatch dashboards export dashboards/json`"


def test_cli_export_writes_the_same_files(tmp_path: Path) -> None:
    import click

    group = click.Group()
    dashboards_cmd.register(group)
    from collector.cli.context import CliContext

    r = CliRunner().invoke(group, ["dashboards", "export", str(tmp_path / "out")], obj=CliContext(None, None, "en"))
    assert r.exit_code == 0, r.output
    assert r.output.count("wrote ") == len(DASHBOARDS)
    for spec in DASHBOARDS:
        assert (tmp_path / "out" / spec.file).read_bytes() == (COMMITTED_DIR / spec.file).read_bytes()


def test_every_panel_on_causes_shows_the_declared_words_of_every_cause() -> None:
    panels = [(name, p) for name, data in build_all().items() for p in data["panels"]
              if any("cause" in t.get("expr", "") for t in p.get("targets", []))]
    assert len(panels) >= 2  # the offline table and the causes pie of the operations dashboard
    for name, p in panels:
        [mapping] = p["fieldConfig"]["defaults"]["mappings"]
        shown = {k: v["text"] for k, v in mapping["options"].items()}
        assert shown == {c.value: c.words("zh") for c in Cause}, f"{name}: {p['title']}"


def _subset(ours: object, theirs: object, path: str = "") -> list[str]:
    if isinstance(ours, dict):
        if not isinstance(theirs, dict):
            return [path]
        return [e for k, v in ours.items() for e in (_subset(v, theirs[k], f"{path}.{k}") if k in theirs else [f"{path}.{k}"])]
    if isinstance(ours, list):
        if not isinstance(theirs, list) or len(ours) != len(theirs):
            return [path]
        return [e for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for e in _subset(a, b, f"{path}[{i}]")]
    return [] if ours == theirs else [path]


def test_dashboards_validate_with_the_sdk_models() -> None:
    register_default_plugins()
    expected_types = {"stat", "bargauge", "table", "timeseries", "piechart", "geomap", "state-timeline"}
    seen: set[str] = set()
    for name, data in build_all().items():
        model = dm.Dashboard.from_json(data)
        # decoding through the typed models (panel options by plugin) keeps every field we wrote
        assert _subset(data, to_dict(model)) == [], name
        for panel in model.panels or []:
            assert isinstance(panel, dm.Panel) and panel.type_val in expected_types, panel.type_val
            assert panel.options is None or not isinstance(panel.options, dict), f"{name}: untyped options of {panel.title}"
            assert panel.datasource is None or panel.datasource.uid == "${datasource}"
            for t in panel.targets or []:
                assert t.datasource.uid == "${datasource}"  # type: ignore[attr-defined]
            seen.add(panel.type_val)
            assert panel.title and _HAN.search(panel.title), f"{name}: title not in Chinese: {panel.title}"
            assert panel.grid_pos is not None and panel.grid_pos.x + panel.grid_pos.w <= 24
        assert _HAN.search(model.title) or model.title.startswith("camwatch")
    assert seen == expected_types  # includes the geomap of cameras by state
    titles = {d["title"] for d in build_all().values()}
    assert titles == {"运维总览", "覆盖率", "摄像机详情", "camwatch 自身"}
    assert all(render(d) == render(json.loads(render(d))) for d in build_all().values())


def test_region_variables_are_chained() -> None:
    """The camera dashboards' region variables come from the cameras, chained; the coverage
    dashboard's from the region series (every region of the plan, cameras or not), by level."""
    by_dash: dict[str, list[str]] = {}
    for v in variables():
        by_dash.setdefault(v.dashboard, []).append(v.name)
        if v.dashboard == "coverage.json":
            assert v.selector == f'{metrics.REGION_TARGET}{{level="{v.name}"}}' and v.label == "region_name", v
            continue
        if v.name == "township":
            assert '"$county"' in v.selector and v.label == "township_name"
        if v.name == "village":
            assert '"$county"' in v.selector and '"$township"' in v.selector and v.label == "village_name"
    assert by_dash["operations.json"] == by_dash["coverage.json"] == ["county", "township", "village"]
    assert by_dash["camera.json"] == ["county", "township", "village", "camera"]


def test_targets_are_the_regions_own_not_a_fixed_number() -> None:
    """Panels compare with camwatch_region_target_ratio, and no title names a fixed target."""
    target_queries = [q for q in panel_queries() if "目标" in q.panel and q.dashboard != "camwatch-self.json"]
    assert target_queries
    for q in panel_queries():
        assert "95%" not in q.panel and "0.95" not in q.expr, q
    below = next(q for q in panel_queries() if q.panel == "低于目标的乡镇")
    assert metrics.REGION_TARGET in below.expr and "on(level, region)" in below.expr
    ranking = [q for q in panel_queries() if q.panel.startswith("乡镇排名")]
    assert any(q.expr.strip().startswith("max by") and metrics.REGION_TARGET in q.expr and metrics.REGION_AVAILABILITY not in q.expr
               for q in ranking)  # the target as its own column
    titles = {p["title"] for d in build_all().values() for p in d.get("panels", [])}  # type: ignore[union-attr]
    assert "乡镇平均点位覆盖率" not in titles and "乡镇平均全覆盖村占比" in titles


def _exported_sample_names() -> set[str]:
    """What camwatch's /metrics renderer emits for a small fleet with every kind of sample present."""
    async def build() -> Scheduler:
        s = Scheduler(SchedulerConfig.from_settings(CollectorSettings(video=False)), None)
        lb = RegionLabels("130123101201", "东关村", "130123101000", "城关镇", "130123000000", "示范县")
        s.sync([MonitoredCamera(i, f"摄像机{i}", i, ProbeTarget("127.0.0.1"), None, None, Lifecycle.ACTIVE, lb, "村口", 114.25, 38.11)
                for i in (1, 2)], [])
        return s

    s = asyncio.run(build())
    now = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
    s.slots[1].status = Status(State.DEGRADED, None, now, video_failed=("clock",))
    s.slots[1].last = LadderResult("online", None, (ProbeResult(Stage.RTSP, True, 0.01),), 0.25)
    s.slots[1].video_ok = True
    s.slots[2].status = Status(State.OFFLINE, Cause.REFUSED, now)
    s.probes_total[("rtsp", "ok")] = 1
    s.last_sweep_s = 1.0
    figures = RegionFigures(availability={("township", "130123101000", "month"): 0.9}, coverage={("village", "130123101201"): 1.0},
                            targets={("county", "130123000000"): 0.95})  # (computed figures: targets are shown)
    c = CamwatchCollector(s, regions=lambda: figures, counters=SelfCounters({("webhook", "ok"): 1}, {},
                                                                            (ProcessUse("collector", 1 << 28, 1.5),)))
    return {smp.name for fam in text_string_to_metric_families(render_text(c).decode()) for smp in fam.samples}


def test_no_query_names_a_metric_camwatch_does_not_export() -> None:
    exported = _exported_sample_names()
    assert exported >= metrics.EXPORTED - PENDING_METRICS, sorted(metrics.EXPORTED - PENDING_METRICS - exported)
    assert PENDING_METRICS <= metrics.EXPORTED  # pending names are still listed in dashboards/metrics.py
    rules = recording_rules()
    assert {r for r, _ in rules} == set(metrics.RECORDED)
    known = metrics.EXPORTED | metrics.RECORDED
    exprs = [(q.panel, q.expr) for q in panel_queries()] + [(f"${v.name}", v.selector) for v in variables()]
    for where, expr in exprs:
        assert metric_names(expr) <= known, (where, expr)
        assert metric_names(expr), (where, expr)
        assert {n for n in selector_names(expr)} <= known, (where, expr)  # e.g. no up{...}
    for record, expr in rules:
        assert metric_names(expr) and metric_names(expr) <= metrics.EXPORTED, (record, expr)


def test_promtool_checks_the_recording_rules() -> None:
    r = subprocess.run(["promtool", "check", "rules", str(RECORDING)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(recording_rules())} rules found" in r.stdout


def test_prometheus_example_scrapes_camwatch_and_loads_the_rules() -> None:
    cfg = yaml.safe_load((ROOT / "config" / "prometheus" / "prometheus.yml").read_text(encoding="utf-8"))
    assert "recording.yml" in cfg["rule_files"]
    job = next(j for j in cfg["scrape_configs"] if j["job_name"] == "camwatch")
    assert job["dns_sd_configs"][0] == {"names": ["camwatch"], "type": "A", "port": 9850}  # every replica


def test_grafana_provisioning_points_at_the_datasource_and_json() -> None:
    ds = yaml.safe_load((ROOT / "config/grafana/provisioning/datasources/camwatch.yml").read_text(encoding="utf-8"))
    (source,) = ds["datasources"]
    assert source["type"] == "prometheus" and source["uid"] == DATASOURCE_UID and source["url"] == "http://prometheus:9090"
    prov = yaml.safe_load((ROOT / "config/grafana/provisioning/dashboards/camwatch.yml").read_text(encoding="utf-8"))
    (provider,) = prov["providers"]
    assert provider["type"] == "file" and provider["options"]["path"] == "/var/lib/grafana/dashboards/camwatch"


def test_docker_compose_structure() -> None:
    """docker cannot run here: check the compose file's structure and that its mounts exist."""
    doc = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    services = doc["services"]
    assert {"db", "camwatch", "prometheus", "alertmanager", "grafana"} <= set(services)
    mounts = {s: [v for v in spec.get("volumes", []) if isinstance(v, str) and v.startswith("./")] for s, spec in services.items()}
    for service, vols in mounts.items():
        for v in vols:
            host = ROOT / v.split(":")[0]
            assert host.exists() or v.startswith("./data:"), (service, v)
    graf = {v.split(":")[1] for v in mounts["grafana"]}
    assert {"/etc/grafana/provisioning", "/var/lib/grafana/dashboards/camwatch"} <= graf
    assert any(v.startswith("./config/prometheus:") for v in mounts["prometheus"])
    assert services["camwatch"]["environment"]["CAMWATCH_DB"].startswith("postgresql://")
    assert services["camwatch"]["depends_on"]["camwatch-migrate"]["condition"] == "service_completed_successfully"
    for spec in services.values():  # published ports stay on the host's loopback
        for p in spec.get("ports", []):
            assert p.startswith("127.0.0.1:"), p
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "password" not in re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "", text).lower().replace("postgres_password", "").replace("admin_password", "")


def test_every_dashboard_reads_the_prometheus_of_its_datasource_variable() -> None:
    """Pushed to any Grafana, the panels follow the ``datasource`` variable (default: camwatch's own)."""
    for name, data in build_all().items():
        first = data["templating"]["list"][0]  # type: ignore[index]
        assert (first["type"], first["name"], first["query"]) == ("datasource", "datasource", "prometheus"), name
        assert first["current"]["value"] == DATASOURCE_UID, name
        assert DATASOURCE_UID not in render(data).replace(f'"value": "{DATASOURCE_UID}"', ""), name
