"""The metric contract (DESIGN §7): the Collector and the fast /metrics renderer agree, family by
family (HELP, TYPE, every sample), with the one declaration of :mod:`collector.metrics.families`."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from collector.metrics import families
from collector.metrics.exposition import render_text
from collector.metrics.registry import CamwatchCollector, RegionFigures, SelfCounters
from collector.metrics.text import text_state
from collector.runtime.camera_state import State, Status
from collector.runtime.procstat import ProcessUse
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.settings import CollectorSettings
from inventory.models import Lifecycle
from inventory.monitored import MonitoredCamera, RegionLabels
from probes.base import Cause, ProbeResult, ProbeTarget, Stage
from probes.ladder import LadderResult

NOW = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def _samples(text: str) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
    out = set()
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.add((s.name, tuple(sorted(s.labels.items())), s.value))
    return out


Samples = list[tuple[str, tuple[tuple[str, str], ...], float]]


def _families(text: str) -> dict[str, tuple[str, str, Samples]]:
    """Each family of an exposition, in the order written: its HELP line, its TYPE line and its
    samples (name, labels, value), sorted."""
    out: dict[str, tuple[str, str, Samples]] = {}
    for block in re.split(r"(?m)^(?=# HELP )", text):
        if not block:
            continue
        help_line, type_line, *_ = block.splitlines()
        name = help_line.split(" ")[2]
        assert type_line.startswith(f"# TYPE {name} "), block[:200]
        (fam,) = text_string_to_metric_families(block)
        assert name not in out, name
        out[name] = (help_line, type_line, sorted((s.name, tuple(sorted(s.labels.items())), s.value) for s in fam.samples))
    return out


def _both(c: CamwatchCollector) -> tuple[dict[str, tuple[str, str, Samples]], dict[str, tuple[str, str, Samples]]]:
    """The families rendered by the fast renderer and by prometheus_client over the same collector."""
    reg = CollectorRegistry()
    reg.register(c)
    return _families(render_text(c).decode()), _families(generate_latest(reg).decode())


def _scheduler() -> Scheduler:
    async def build() -> Scheduler:
        s = Scheduler(SchedulerConfig.from_settings(CollectorSettings(video=False)), None)
        cams = []
        for i in range(1, 7):
            village = "130123101201" if i <= 3 else "130123101202"
            lb = RegionLabels(village, "东关村" if i <= 3 else '西"关\\村', "130123101000", "城关镇", "130123000000", "示范县")
            cams.append(MonitoredCamera(i, f"摄像机{i}" if i != 2 else '摄像机"2\\号', i, ProbeTarget("127.0.0.1"), None, None, Lifecycle.ACTIVE, lb))
        s.sync(cams, [])
        return s

    s = asyncio.run(build())
    stages = (ProbeResult(Stage.REACH, True, 0.001), ProbeResult(Stage.RTSP, True, 0.0125))
    s.slots[1].status = Status(State.ONLINE, None, NOW)
    s.slots[1].last = LadderResult("online", None, stages, 0.25)
    s.slots[1].video_ok = True
    s.slots[2].status = Status(State.OFFLINE, Cause.AUTH_FAILED, NOW)
    s.slots[2].last = LadderResult("offline", Cause.AUTH_FAILED, stages[:1])
    s.slots[3].status = Status(State.DEGRADED, None, NOW, video_failed=("black",))
    s.slots[3].video_ok = False
    s.slots[4].status = Status(State.EXCLUDED, None, NOW)
    # 5 and 6 stay unknown
    s.probes_total[("reach", "ok")] = 12
    s.probes_total[("rtsp", "fail")] = 2
    s.last_sweep_s = 58.5
    for late in (0.0, 0.02, 0.3, 7.0, 100.0):
        s.lateness.observe(late)
    return s


def _collector(s: Scheduler) -> CamwatchCollector:
    """A collector over ``s`` with a sample in every family."""
    figures = RegionFigures(names={("county", "130123000000"): "示范县"},
                            availability={("township", "130123101000", "1d"): 0.9612, ("village", "130123101202", "month"): 1.0},
                            coverage={("village", "130123101201"): 0.5, ("township", "130123101000"): 0.0},
                            targets={("county", "130123000000"): 0.96})
    counters = SelfCounters({("webhook", "ok"): 3, ("email", "fail"): 1}, {"green": 4, "red": 1},
                            (ProcessUse("collector", 300_000_000, 12.5), ProcessUse("worker-0", 90_000_000, 40.25)))
    return CamwatchCollector(s, regions=lambda: figures, pending_writes=lambda: 7, counters=counters)


def test_both_renderers_write_the_same_whole_families() -> None:
    """HELP, TYPE and every sample of every family (camera, region, self, the histogram), in the
    declared order, on the same state; and again after the fast renderer's cache has been used."""
    c = _collector(_scheduler())
    fast, slow = _both(c)
    assert list(fast) == list(slow) == [f.name for f in families.FAMILIES]
    for name in fast:
        assert fast[name] == slow[name], name
        assert fast[name][2], f"{name}: no sample, so nothing compared"
    assert _both(c)[0] == fast  # cached path


def test_every_declared_family_is_exported_as_declared_and_nothing_else() -> None:
    """Each family's HELP and TYPE are its declaration's; its samples carry its sample names and
    exactly its labels; an empty collector still writes every family's HELP and TYPE."""
    declared = {f.name: f for f in families.FAMILIES}
    assert len(declared) == len(families.FAMILIES)

    async def empty() -> Scheduler:
        return Scheduler(SchedulerConfig.from_settings(CollectorSettings(video=False)), None)

    for c in (_collector(_scheduler()), CamwatchCollector(asyncio.run(empty()))):
        for rendered in _both(c):
            assert set(rendered) == set(declared)
            for name, (help_line, type_line, samples) in rendered.items():
                f = declared[name]
                assert help_line == f"# HELP {name} {f.help}"
                assert type_line == f"# TYPE {name} {f.kind}"
                for sample, labels, _ in samples:
                    assert sample in f.sample_names, (name, sample)
                    extra = ("le",) if sample.endswith("_bucket") and f.kind is families.Kind.HISTOGRAM else ()
                    assert sorted(k for k, _ in labels) == sorted((*f.labels, *extra)), (name, labels)


def test_cached_render_gives_the_same_bytes() -> None:
    c = _collector(_scheduler())
    assert render_text(c) == render_text(c)  # cached path gives the same bytes


def test_fast_renderer_follows_changes() -> None:
    """Its cached lines and live region counts follow new results, transitions, exclusions and
    inventory changes (cameras added, removed, moved to another village) scrape after scrape."""
    s = _scheduler()
    c = CamwatchCollector(s)

    def check(tag: str) -> None:
        reg = CollectorRegistry()
        reg.register(CamwatchCollector(s))
        assert _families(render_text(c).decode()) == _families(generate_latest(reg).decode()), tag

    check("first")
    stages = (ProbeResult(Stage.REACH, True, 0.002), ProbeResult(Stage.RTSP, True, 0.5))
    s.slots[1].last = LadderResult("online", None, stages, -3.5)
    check("new result")
    s.slots[2].status = Status(State.ONLINE, None, NOW + dt.timedelta(minutes=1))
    s.slots[5].status = Status(State.OFFLINE, Cause.TIMEOUT, NOW + dt.timedelta(minutes=1))
    check("transitions")
    s.slots[1].excluded = True
    check("excluded")
    s.slots[1].excluded = False
    s.slots[3].video_ok = None
    check("back, video unknown")

    async def reshape() -> None:
        moved = RegionLabels("130123101203", "南关村", "130123101000", "城关镇", "130123000000", "示范县")
        kept = [slot.cam for cid, slot in s.slots.items() if cid not in (2, 6)]
        cams = [cam if cam.id != 3 else MonitoredCamera(3, "摄像机3", 3, ProbeTarget("127.0.0.1"), None, None,
                                                        Lifecycle.ACTIVE, moved) for cam in kept]
        cams.append(MonitoredCamera(9, "摄像机9", 9, ProbeTarget("127.0.0.1"), None, None, Lifecycle.ACTIVE, moved))
        s.sync(cams, [])

    asyncio.run(reshape())
    check("removed 2 and 6, moved 3, added 9")
    assert sum(text_state(c).live.per_village.values()) == len(s.slots) == 5


def test_contract_values() -> None:
    s = _scheduler()
    c = CamwatchCollector(s, pending_writes=lambda: 3)
    samples = _samples(render_text(c).decode())
    by = {}
    for name, labels, value in samples:
        by.setdefault(name, []).append((dict(labels), value))
    up = {lb["camera"]: v for lb, v in by["camwatch_camera_up"]}
    assert up == {"1": 1.0, "2": 0.0, "3": 1.0}  # unknown (5, 6) and excluded (4) are absent
    assert [lb["cause"] for lb, _ in by["camwatch_camera_offline_cause"]] == ["auth_failed"]
    assert {lb["camera"]: v for lb, v in by["camwatch_camera_video_ok"]} == {"1": 1.0, "3": 0.0}
    assert by["camwatch_camera_clock_offset_seconds"] == [({**by["camwatch_camera_clock_offset_seconds"][0][0]}, 0.25)]
    first = by["camwatch_camera_up"][0][0]
    assert set(first) == {"camera", "camera_name", "village", "village_name", "township", "township_name", "county", "county_name"}
    ratio = {(lb["level"], lb["region"]): v for lb, v in by["camwatch_region_online_ratio"]}
    assert ratio[("village", "130123101201")] == 2 / 3 and ratio[("county", "130123000000")] == 2 / 3
    assert ("village", "130123101202") not in ratio  # no eligible camera: no ratio, not 100%
    names = {lb["region"]: lb["region_name"] for lb, _ in by["camwatch_region_cameras"]}
    assert names["130123101202"] == '西"关\\村'
    cams = {(lb["region"], lb["status"]): v for lb, v in by["camwatch_region_cameras"] if lb["level"] == "township"}
    assert cams[("130123101000", "unknown")] == 2 and cams[("130123101000", "excluded")] == 1
    assert by["camwatch_db_pending_writes"] == [({}, 3.0)]
