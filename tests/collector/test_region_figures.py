"""Right region figures from the first scrape: absent until known (never a wrong 0 or a made-up
target), a state change in the online ratio at once and in the coverage within 30 s, and the
figures summed on a snapshot of the scheduler's cameras, not on the dict the loop changes."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from collector.metrics.exposition import render_text
from collector.metrics.registry import CamwatchCollector, RegionFigures
from collector.runtime.app import SECOND_FIGURES_S, figures_wait
from collector.runtime.camera_state import State, Status
from collector.runtime.figures import compute_figures, coverage_of, live_states, load_stored, with_coverage
from collector.runtime.scheduler import CameraSlot, Scheduler, SchedulerConfig
from collector.settings import CollectorSettings, load_settings
from inventory.db import create_engine
from inventory.lookup import load_monitored
from inventory.secrets import SecretBox
from probes.sim import Behaviour, Fleet, Power
from probes.sim.loopback import LoopbackRange
from tests.collector.test_cli_inventory import SAMPLE_PASSWORD, camwatch
from tests.collector.test_run import _env, _metrics, _wait
from tests.collector.test_stop_restart import _stop
from tests.collector.test_store import with_inventory
from tests.net import free_port, sample_inventory_at

COVERAGE = "camwatch_region_coverage_ratio"
TARGET = "camwatch_region_target_ratio"
ONLINE = "camwatch_region_online_ratio"


def _samples(text: str, name: str) -> dict[str, float]:
    """name{labels} -> value for one family."""
    return {m.group(1): float(m.group(2)) for m in re.finditer(rf"^{name}\{{([^}}]*)\}} (\S+)$", text, re.M)}


async def _scheduler(url: str) -> Scheduler:
    engine = create_engine(url)
    try:
        cams, devices = await load_monitored(engine, SecretBox(None))
    finally:
        await engine.dispose()
    sched = Scheduler(SchedulerConfig.from_settings(CollectorSettings(video=False)), None)
    sched.sync(cams, devices)
    return sched


def _set(slot: CameraSlot, state: State) -> None:
    slot.status = Status(state, None, dt.datetime.now(dt.UTC))


def test_nothing_before_it_is_computed_and_no_coverage_while_a_camera_is_unknown(tmp_path: Path) -> None:
    url = with_inventory(f"sqlite:///{tmp_path / 'camwatch.db'}")
    settings = load_settings(db_url=url, environ={})

    async def go() -> None:
        sched = await _scheduler(url)
        figures = RegionFigures()
        collector = CamwatchCollector(sched, regions=lambda: figures)
        # before the first computation: live counts only; no coverage, availability or target
        text = render_text(collector).decode()
        assert _samples(text, "camwatch_region_cameras")
        built = {m.name: m.samples for m in collector.region_metrics()}  # (client_python's renderer)
        for name in (COVERAGE, TARGET, "camwatch_region_availability_ratio"):
            assert not _samples(text, name) and not built[name], name
        # computed while every camera is unknown (just started): still no coverage, not 0
        engine = create_engine(url)
        try:
            stored = await load_stored(engine, settings, dt.datetime.now(dt.UTC))
        finally:
            await engine.dispose()
        figures = await with_coverage(stored, live_states(sched.slots))
        assert figures.coverage == {} and figures.targets
        assert figures.computed_at is not None and abs((figures.computed_at - dt.datetime.now(dt.UTC)).total_seconds()) < 60
        text = render_text(collector).decode()
        assert not _samples(text, COVERAGE) and set(_samples(text, TARGET).values()) == {0.95}
        # one village known (half its cameras up): its figure appears; the others stay absent
        slots = sorted(sched.slots.values(), key=lambda s: s.cam.id)
        village = slots[0].cam.labels.village
        mine = [s for s in slots if s.cam.labels.village == village]
        for k, s in enumerate(mine):
            _set(s, State.ONLINE if k % 2 == 0 else State.OFFLINE)
        cov = coverage_of(stored, live_states(sched.slots))
        assert set(cov) == {("village", village)}, cov
        assert 0.0 < cov[("village", village)] < 1.0
        # every camera known: every level present; townships count fully covered villages
        for s in slots:
            if s.cam.labels.village != village:
                _set(s, State.ONLINE)
        cov = coverage_of(stored, live_states(sched.slots))
        township = slots[0].cam.labels.township
        villages_of_township = {s.cam.labels.village for s in slots if s.cam.labels.township == township}
        full = sum(1 for v in villages_of_township if cov[("village", v)] == 1.0)
        assert full < len(villages_of_township)  # (ours is half covered)
        assert cov[("township", township)] == full / len(villages_of_township)  # villages, not points
        assert ("county", slots[0].cam.labels.county) in cov and cov[("village", village)] < 1.0

    asyncio.run(go())


def test_figures_are_summed_on_a_snapshot_while_the_loop_changes_the_cameras(tmp_path: Path) -> None:
    """The worker thread sums a copy taken on the loop: the loop may add and drop cameras meanwhile
    (iterating the live dict there raised 'dictionary changed size during iteration')."""
    url = with_inventory(f"sqlite:///{tmp_path / 'camwatch.db'}")
    settings = load_settings(db_url=url, environ={})

    async def go() -> None:
        sched = await _scheduler(url)
        for s in sched.slots.values():
            _set(s, State.ONLINE)
        many = {cid + 1_000_000: slot for cid, slot in sched.slots.items()}
        engine = create_engine(url)
        try:
            stored = await load_stored(engine, settings, dt.datetime.now(dt.UTC))
            expected = coverage_of(stored, live_states(sched.slots))
            assert len(expected) > 10
            for _ in range(5):
                task = asyncio.create_task(compute_figures(engine, settings, dt.datetime.now(dt.UTC), sched.slots))
                while not task.done():  # the loop changes the dict all along
                    sched.slots.update(many)
                    for cid in many:
                        del sched.slots[cid]
                    await asyncio.sleep(0)
                figures = task.result()
                assert figures.coverage == expected
        finally:
            await engine.dispose()

    asyncio.run(go())


def test_first_scrapes_then_a_village_going_dark(tmp_path: Path, loopback: LoopbackRange) -> None:
    """camwatch run (figures_interval_s at its default, 300 s) over the fleet: no scrape ever shows a
    coverage other than the truth (every camera up: its settled value) or a target other than the configured one;
    when a whole village goes dark its online ratio is 0 in the scrape that shows its cameras
    offline, and its coverage 0 within 30 s."""
    assert camwatch(tmp_path, "init").returncode == 0
    sample = sample_inventory_at(tmp_path / "sample.csv", loopback)
    assert camwatch(tmp_path, "inventory", "import", str(sample)).returncode == 0
    port = free_port()
    env = _env(tmp_path, port)
    env.update({"CAMWATCH_COLLECTOR__FIGURES_INTERVAL_S": "300", "CAMWATCH_COLLECTOR__CATCHUP_S": "2"})
    with Fleet(48, base_address=loopback.base_address, password=SAMPLE_PASSWORD) as fleet:
        exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
        proc = subprocess.Popen([exe, "run"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        try:
            seen_cov: dict[str, set[float]] = {}
            seen_tgt: set[float] = set()
            end = time.monotonic() + 40
            text = ""
            while time.monotonic() < end:
                try:
                    text = _metrics(port)
                except OSError:
                    time.sleep(0.05)
                    continue
                for k, v in _samples(text, COVERAGE).items():
                    seen_cov.setdefault(k, set()).add(v)
                seen_tgt |= set(_samples(text, TARGET).values())
                if (text.count("camwatch_camera_up{") >= 48 and len(_samples(text, COVERAGE)) >= 10
                        and not re.search(r'camwatch_region_cameras\{level="county",[^}]*status="unknown"\} [1-9]', text)):
                    break
                time.sleep(0.05)
            final = _samples(text, COVERAGE)
            assert len(final) >= 10 and any(v > 0 for v in final.values())
            # absent, then right: each region's first figure is its true one (never a 0 that is not)
            assert {k: vs for k, vs in seen_cov.items() if vs != {final.get(k)}} == {}
            assert seen_tgt <= {0.95}, seen_tgt
            up = _samples(text, "camwatch_camera_up")
            village = re.search(r'village="(\d+)"', next(iter(up))).group(1)  # type: ignore[union-attr]
            dark = [int(re.search(r'camera="(\d+)"', k).group(1)) - 1 for k in up  # type: ignore[union-attr]
                    if f'village="{village}"' in k]
            key = next(k for k in _samples(text, COVERAGE) if f'region="{village}"' in k and 'level="village"' in k)
            fleet.set_behaviour(dark, Behaviour(power=Power.DOWN))
            offline_at = None
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                text = _metrics(port)
                ups = {k: v for k, v in _samples(text, "camwatch_camera_up").items() if f'village="{village}"' in k}
                online = {k: v for k, v in _samples(text, ONLINE).items() if f'region="{village}"' in k}
                if offline_at is None and ups and all(v == 0.0 for v in ups.values()):
                    offline_at = time.monotonic()
                    assert list(online.values()) == [0.0], online  # the online ratio at once, same scrape
                if offline_at is not None and _samples(text, COVERAGE).get(key) == 0.0:
                    break
                time.sleep(0.2)
            assert offline_at is not None, "the village never went offline"
            assert _samples(text, COVERAGE).get(key) == 0.0
            assert time.monotonic() - offline_at <= 30.0
        finally:
            if proc.poll() is None:
                _stop(proc)
    _wait(lambda: proc.poll() is not None, 5)


@pytest.mark.parametrize(("runs", "every", "wait"), [
    (0, 300.0, SECOND_FIGURES_S),  # the start's run found no interval yet: again once the catch-up is stored
    (1, 300.0, 300.0),
    (7, 300.0, 300.0),
    (0, 20.0, 20.0),  # a short interval is kept as it is
])
def test_the_region_figures_come_again_soon_after_the_start(runs: int, every: float, wait: float) -> None:
    assert figures_wait(runs, every) == wait
