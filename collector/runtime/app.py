"""`camwatch run`: collector, exporter and HTTP in one process, wired from settings.

Built in the entry point: the engine, the secret box, the interval writer, the scheduler and
the web application are created here and passed down; nothing is global.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounting.sql.rollups import RollupTask
from collector.alerting.delivery.notifier import Notifier
from collector.alerting.leader import LeaderAlerts
from collector.alerting.service import AlertService, build_alerting
from collector.metrics.gb28181 import Gb28181Collector
from collector.metrics.registry import NO_REGIONS, CamwatchCollector, RegionFigures, SelfCounters
from collector.runtime.camera_state import Event, State
from collector.runtime.event_feed import EventFeed
from collector.runtime.exclusions import exclusions_in_force
from collector.runtime.figures import COVERAGE_S, StoredFigures, fleet_figures, live_states, load_stored, with_coverage
from collector.runtime.frames import FrameStore
from collector.runtime.gb28181_feed import Gb28181Feed
from collector.runtime.gb28181_relay import VerdictRelay
from collector.runtime.gb28181_replicas import follower, lead_platform
from collector.runtime.gc_tuning import release_free_memory, settle_gc
from collector.runtime.http_guard import GuardedSite, HttpLimits
from collector.runtime.interval_writer import IntervalWriter, recover
from collector.runtime.k8s_slice import InCluster, LeaderSlice
from collector.runtime.ladders import ladder_options
from collector.runtime.leader_alerts import feed_the_leader
from collector.runtime.mirror import MirrorScheduler
from collector.runtime.paths import frames_dir, journal_path
from collector.runtime.procstat import keep_sampled
from collector.runtime.replicas import Replica, default_replica_id, while_leader
from collector.runtime.report_close import ReportCloser
from collector.runtime.scheduler import Scheduler
from collector.runtime.scheduler_config import SchedulerConfig
from collector.runtime.shard_host import ShardCameras
from collector.runtime.since_bridge import SinceBridge
from collector.runtime.workers import WorkerPool, usable_cores, worker_count
from collector.settings import Settings
from inventory.lookup import CredentialReport, inventory_revision, load_monitored
from inventory.models import utcnow
from inventory.monitored import MonitoredCamera, MonitoredDevice, keep_unchanged
from inventory.secrets import SecretBox
from probes.frame import FrameOptions, FramePool

log = logging.getLogger("camwatch.app")
SECOND_FIGURES_S = 60.0  # the region figures again this long after the start (then every figures_interval_s)


def figures_wait(runs: int, every: float) -> float:
    """Seconds from the region figures' run number *runs* (0: the start's) to the next. The second
    comes once the start's catch-up has been stored: the first may find no interval of this run yet
    (on a new database nothing at all, and the pages' month rates stay blank for *every*)."""
    return min(every, SECOND_FIGURES_S) if runs == 0 else every

HttpFactory = Callable[["App"], web.Application]
"""Builds the HTTP application of an App (the entry point passes :func:`collector.web.server.build_application`)."""


@dataclass
class App(ShardCameras):
    settings: Settings
    engine: AsyncEngine
    box: SecretBox
    clock: Callable[[], dt.datetime] = utcnow
    on_event: Callable[[MonitoredCamera, Event], None] | None = None
    writer: IntervalWriter = field(init=False)
    scheduler: Scheduler = field(init=False)
    collector: CamwatchCollector = field(init=False)
    figures: RegionFigures = field(default_factory=RegionFigures)
    counters: SelfCounters = field(default_factory=SelfCounters)
    started_at: dt.datetime | None = None
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    http_site: GuardedSite | None = None
    _frame_pool: FramePool | None = None
    alerting: AlertService | None = None
    notifier: Notifier | None = None
    reloaded_at: dt.datetime | None = None
    rollups: RollupTask | None = None
    closer: ReportCloser | None = None  # closes the previous month on reports.close_day, then delivers it
    gb28181: Gb28181Feed | None = None  # gb28181.enabled: the SIP access platform, its verdicts into the cameras' state
    http: HttpFactory | None = None
    _stored: StoredFigures | None = None
    credentials: CredentialReport = field(default_factory=lambda: CredentialReport(0, {}, ()))
    replica: Replica | None = None  # collector.replicas on PostgreSQL: the shards this process owns (DESIGN §8)
    replica_id: str = ""
    _inventory: tuple[list[MonitoredCamera], list[MonitoredDevice], set[int]] = ([], [], set())
    _revision: int | None = None  # the inventory's revision when it was loaded (inventory.lookup)
    frames: FrameStore | None = None  # collector.keep_frames: each camera's last picture (the video tier's)
    feed: EventFeed | None = None  # replicas: this one's camera events, written for the leader
    leader_alerts: LeaderAlerts | None = None  # replicas: the alert engine, run while this one leads
    in_cluster: InCluster | None = None  # gb28181.kubernetes_service: this pod, the API server
    leader_slice: LeaderSlice | None = None  # ... the Service's EndpointSlice, claimed while this one leads
    # the cameras down when camwatch stopped watching them: shown down since before the gap
    since_bridge: SinceBridge = field(default_factory=SinceBridge)

    def __post_init__(self) -> None:
        c = self.settings.collector
        # a replica writes only under its fence: its changes wait in memory (no journal to replay
        # after a crash: its shards are taken over by then, unknown from their last heartbeat)
        self.replica_id = (c.replica_id or default_replica_id(c.collector_id)) if c.replicas else c.collector_id
        self.writer = IntervalWriter(self.engine, collector_id=self.replica_id, clock=self.clock,
                                     journal=None if c.replicas else journal_path(self.settings))
        if c.replicas:
            self.replica = Replica(self.engine, self.settings.database.url, self, replica_id=self.replica_id,
                                   collector_id=c.collector_id, shards=c.shards,
                                   takeover_s=c.takeover_s or 2 * c.interval_s, clock=self.clock)
            self.writer.fence = self.replica.fence
        # the video tier's frame grabs: worker processes, started on the first grab
        self._frame_pool = FramePool(c.video_concurrency, workers=c.video_workers) if c.video else None
        p = self.settings.probe
        frame = None if self._frame_pool is None else FrameOptions(
            pool=self._frame_pool, live_frames=p.live_frames, live_window_s=p.live_window_s)
        self.alerting, self.notifier = build_alerting(
            self.settings, self.engine, self.counters, self.clock,
            checks_of=lambda cid: self.scheduler.slots[cid].failed_checks() if cid in self.scheduler.slots else (),
            cameras=lambda: (self._inventory[0], self._inventory[1]))  # (all its cameras: no replicas)
        if self.replica is not None:  # alerts on the leader only, its events through the database
            self.feed, self.leader_alerts = feed_the_leader(
                self.settings, self.engine, self.replica, self.writer, self.notifier, self.counters, self.clock,
                checks_of=lambda cid: self.scheduler.slots[cid].failed_checks() if cid in self.scheduler.slots else ())
            self.alerting = None
        sinks = [f for f in (self.on_event, self.alerting.on_event if self.alerting else None,
                             self.feed.on_event if self.feed else None) if f is not None]
        bridge = self.since_bridge.on_event

        def sink(cam: MonitoredCamera, ev: Event) -> None:
            bridge(cam.id, ev)
            for f in sinks:
                f(cam, ev)

        self.scheduler = Scheduler(SchedulerConfig.from_settings(c, accounting=self.settings.accounting), self.writer,
                                   ladder=ladder_options(self.settings, frame), clock=self.clock, on_event=sink)
        self.frames = FrameStore(frames_dir(self.settings)) if c.keep_frames else None
        self.scheduler.on_frame = None if self.frames is None else self.frames.submit
        self.collector = CamwatchCollector(self.scheduler, regions=self.region_figures,
                                           pending_writes=lambda: self.writer.pending, counters=self.counters,
                                           replica_id=self.replica_id, per_camera=self.settings.metrics.per_camera,
                                           more=(Gb28181Collector(lambda: None if self.gb28181 is None else
                                                                  self.gb28181.platform.counts()),)
                                           if self.settings.gb28181.enabled else ())

    def _check_credentials(self, cams: list[MonitoredCamera]) -> None:
        """One log line per (re)load of a changed inventory while stored credentials cannot be resolved (counts, reasons
        and camera ids: never a password or the key); those cameras get no login."""
        was, rep = self.credentials.count, CredentialReport.of(cams)
        self.credentials = rep
        if rep.count:
            why = "; ".join(f"{n}: {reason}" for reason, n in rep.reasons.items())
            ids = ", ".join(str(cid) for cid, _ in rep.examples) + (", ..." if rep.count > len(rep.examples) else "")
            log.warning("credentials unavailable for %d camera(s), probed without login as credential_unavailable "
                        "(%s; cameras %s)", rep.count, why, ids)
        elif was:
            log.info("credentials resolved again for every camera")

    async def reload(self) -> None:
        """The inventory again, when its revision moved (a write to cameras, points, regions or
        devices anywhere); the exclusions in force (they begin and end with time) always."""
        revision = await inventory_revision(self.engine)  # (read first: what loads after is as new)
        changed = revision != self._revision
        if changed:
            cams, devices = await load_monitored(self.engine, self.box)
            cams = keep_unchanged(self._inventory[0], cams)
            self._check_credentials(cams)
            release_free_memory()  # (the rows and the objects of the cameras replaced)
        else:
            cams, devices, _ = self._inventory
        excluded = await exclusions_in_force(self.engine, cams, self.clock())
        if changed or excluded != self._inventory[2]:
            self._inventory = (cams, devices, excluded)
            self._sync()
        self.reloaded_at = self.clock()
        if self.alerting is not None:
            await self.alerting.refresh(inventory=changed)
        if self.leader_alerts is not None:
            await self.leader_alerts.refresh(inventory=changed)
        # taken only once everything above has the change: a failure before (the database away)
        # leaves it to the next reload, which loads it again, the alerting's cameras included
        self._revision = revision
        if changed and self._stored is not None:  # the plan (points, villages, targets) with it, not
            try:  # figures_interval_s later (a new village's 0 % coverage); if it fails, that run will
                await self.refresh_figures()
            except Exception as exc:  # noqa: BLE001 - the database may be away; the figures loop retries
                log.warning("region figures not summed again after the inventory change: %s",
                            str(exc).splitlines()[0][:200])

    async def _reload_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.collector.reload_interval_s)
            try:
                await self.reload()
            except Exception as exc:  # noqa: BLE001 - the database may be away; keep probing
                log.warning("inventory reload failed: %s", str(exc).splitlines()[0][:200])

    async def refresh_figures(self) -> None:
        """Region availability windows and targets from the database (not per scrape), then coverage."""
        self._stored = await load_stored(self.engine, self.settings, self.clock())
        release_free_memory()  # (the previous figures and the rows they were read from)
        await self.refresh_coverage()

    async def refresh_coverage(self) -> None:
        """Coverage from the live states (a snapshot taken here, on the loop; summed in a thread).

        Replicas: the whole fleet's states are the database's open intervals, overlaid with this
        replica's own slots (fresher); the leader also counts the cameras by status over it
        (``RegionFigures.counts``): the region families it alone exports."""
        if self._stored is None:
            return
        if self.replica is None:
            self.figures = await with_coverage(self._stored, live_states(self.scheduler.slots))
        else:
            cams, _, excluded = self._inventory
            self.figures = await fleet_figures(self.engine, self._stored, self.scheduler.slots, cams, excluded,
                                               counted=self.replica.leader)

    def region_figures(self) -> RegionFigures:
        """What /metrics exports of the region families: a lone collector its figures; of replicas
        only the leader, once it has counted the whole fleet as the leader (DESIGN §8: the same
        answers with 1 or N replicas, no region counted twice)."""
        if self.replica is None:
            return self.figures
        if not self.replica.leader or self.figures.counts is None:
            return NO_REGIONS
        return self.figures

    async def _figures_loop(self) -> None:
        """The stored figures every ``collector.figures_interval_s``; coverage every COVERAGE_S
        (a village going dark shows within it). Until the first run /metrics has none of them."""
        loop = asyncio.get_running_loop()
        every = self.settings.collector.figures_interval_s
        due = 0.0
        runs = 0
        while True:
            try:
                if loop.time() >= due:
                    due = loop.time() + figures_wait(runs, every)
                    runs += 1
                    await self.refresh_figures()
                elif self.replica is None or self.replica.leader:  # (a replica's web pages: at the slow pace)
                    await self.refresh_coverage()
                if self.replica is not None and not self.replica.leader and self.figures.counts is not None:
                    self.figures = replace(self.figures, counts=None)  # counted while it led: stale if it leads again
            except Exception as exc:  # noqa: BLE001 - keep the last figures; the database may be away
                log.warning("region figures refresh failed: %s", str(exc).splitlines()[0][:200])
            await asyncio.sleep(min(COVERAGE_S, every))

    async def start(self) -> None:
        self.started_at = self.clock()
        self._revision = await inventory_revision(self.engine)
        cams, devices = await load_monitored(self.engine, self.box)
        self._check_credentials(cams)
        excluded = await exclusions_in_force(self.engine, cams, self.started_at)
        self._inventory = (cams, devices, excluded)
        workers = worker_count(self.settings.collector.workers, len(cams), usable_cores())
        if workers > 1:  # probed in worker processes; this one keeps the writes (collector/runtime/workers.py)
            self.scheduler = MirrorScheduler.of(self.scheduler)
            self.scheduler.pool = WorkerPool(self.settings, workers, self.scheduler)
            self.collector.source = self.scheduler
        if self.replica is not None:  # the shards it can lock, each taken over from its last heartbeat
            await self.replica.start()
        else:
            await self.writer.replay()  # what a previous run journaled while the database was away
            await recover(self.engine, self.settings.collector.collector_id, [c.id for c in cams], self.started_at)
            await self.gap_written(None)
        self._sync()
        self.reloaded_at = self.started_at
        settle_gc()
        if self.notifier is not None:
            await self.notifier.start()
        if self.alerting is not None:
            await self.alerting.start()
        self._tasks = [
            asyncio.create_task(self.writer.run(), name="writer"),
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
            asyncio.create_task(self._reload_loop(), name="reload"),
            asyncio.create_task(self._figures_loop(), name="figures"),
            asyncio.create_task(keep_sampled(self.counters, lambda: self.scheduler), name="processes"),
        ]
        if self.replica is not None:
            self._tasks.append(asyncio.create_task(self.replica.run(), name="replica"))
        self.rollups = RollupTask(self.engine, every_s=self.settings.collector.rollup_interval_s,
                                  clock=self.clock)
        self.closer = ReportCloser(self.engine, self.settings, self.clock)
        for name, job in (("rollups", self.rollups.run), ("report_close", self.closer.run)):
            self._tasks.append(asyncio.create_task(job() if self.replica is None else while_leader(self.replica, name, job),
                                                   name=name))
        if self.alerting is not None:
            self._tasks.append(asyncio.create_task(self.alerting.run(), name="alerting"))
        if self.leader_alerts is not None and self.replica is not None:
            self._tasks.append(asyncio.create_task(while_leader(self.replica, "alerts", self.leader_alerts.run), name="alerts"))
        if self.settings.gb28181.enabled:
            await self._start_gb28181()
        if self.http is not None:
            h = self.settings.http
            limits = HttpLimits(h.max_connections, h.header_timeout_s, h.keepalive_timeout_s)
            self._runner = web.AppRunner(self.http(self), access_log=None, **limits.runner_kwargs())
            await self._runner.setup()
            self.http_site = GuardedSite(self._runner, h.host, h.port, limits)
            await self.http_site.start()
        c = self.settings.collector
        tiers = f"fast tier every {c.interval_s:g} s" + (f", video tier every {c.video_interval_s:g} s" if c.video else "")
        log.info("camwatch running: %d cameras, %d upstream device(s); %s; http://%s:%d/metrics", len(cams), len(devices),
                 tiers, self.settings.http.host, self.settings.http.port)
        if self.replica is not None:
            log.info("replica %s: %d of %d shard(s) held, %d camera(s); %d live replica(s)", self.replica_id,
                     len(self.replica.owned), c.shards, len(self.scheduler.slots), self.replica.live)

    async def _start_gb28181(self) -> None:
        """The SIP platform: here (alone); of replicas on the leader, each one following its
        verdicts for the cameras of its shards (collector/runtime/gb28181_replicas.py)."""
        def feed(relay: VerdictRelay | None = None) -> Gb28181Feed:
            return Gb28181Feed(self.settings.gb28181, self.scheduler, lambda: self._inventory[0], clock=self.clock,
                               engine=self.engine, relay=relay)
        if self.replica is None:
            self.gb28181 = feed()
            return await self.gb28181.start()
        relay, ours = VerdictRelay(self.engine, self.replica_id), follower(
            self.engine, self.settings.gb28181, self.scheduler, self.clock)
        if (service := self.settings.gb28181.kubernetes_service) and self.in_cluster is not None:
            self.leader_slice = LeaderSlice(service, self.in_cluster, self.replica_id)
        self._tasks += [asyncio.create_task(ours.run(), name="gb28181-follow"), asyncio.create_task(while_leader(self.replica,
            "gb28181", lambda: lead_platform(feed, relay, lambda f: setattr(self, "gb28181", f),
                                             lambda: self.replica is not None and self.replica.leader,
                                             self.leader_slice)), name="gb28181")]

    async def stop(self) -> None:
        """Stop probing, then close every camera's interval at this instant (an *unknown* one
        begins) and write the heartbeat there, then the rest."""
        at = self.clock()
        writer = [t for t in self._tasks if t.get_name() == "writer"]
        for t in self._tasks:
            if t not in writer:
                t.cancel()
        for t in self._tasks:
            if t not in writer:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        if self.gb28181 is not None:
            await self.gb28181.close()
        watched = [cid for cid, slot in self.scheduler.slots.items() if slot.status.state is not State.UNKNOWN]
        self.writer.stop_at(watched, at)
        for t in writer:  # its final flush writes them (or journals them while the database is away)
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        log.info("camwatch stopped at %s: %d camera interval(s) closed (unknown from then), %d change(s) pending",
                 at.isoformat(timespec="seconds"), len(watched), self.writer.pending)
        if self.replica is not None:  # after the final write: its shards go with the session
            await self.replica.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self.notifier is not None:
            with contextlib.suppress(Exception):
                await self.notifier.stop()
        if self._frame_pool is not None:
            self._frame_pool.close()
        if self.frames is not None:
            await self.frames.drain()


async def serve(app: App, stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or *stop* is set), then flush and exit cleanly."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    await app.start()
    try:
        await stop.wait()
    finally:
        await app.stop()


__all__ = ["App", "serve"]
