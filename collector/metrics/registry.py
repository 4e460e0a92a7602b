"""Prometheus metrics as a view of in-memory state (DESIGN §7; the names are a contract).

:class:`CamwatchCollector` reads a :class:`MetricsSource` (the scheduler's camera slots, the
region figures refreshed from the database on a timer, writer and alert counters) and does no
I/O in ``collect()``. The registry is passed in by the entry point. ``/metrics`` itself is
written by the fast renderer of :mod:`collector.metrics.text`, which yields the same families;
both take each family's name, type, help and labels from :mod:`collector.metrics.families`.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.metrics import families as f
from collector.runtime.camera_state import State
from collector.runtime.procstat import ProcessUse
from collector.runtime.scheduler import CameraSlot, Histogram
from inventory.monitored import MonitoredCamera, RegionLabels

DEFAULT_TARGET = 0.95
STATUSES = ("online", "degraded", "offline", "unknown", "excluded")  # values of camwatch_region_cameras{status}
COLORS = ("green", "yellow", "red")  # values of camwatch_work_orders{color}


def _gauge(family: f.Family) -> GaugeMetricFamily:
    return GaugeMetricFamily(family.name, family.help, labels=family.labels)


def _counter(family: f.Family) -> CounterMetricFamily:
    return CounterMetricFamily(family.name, family.help, labels=family.labels)


def camera_label_values(cam: MonitoredCamera) -> tuple[str, ...]:
    lb = cam.labels
    return (str(cam.id), cam.name, lb.village, lb.village_name, lb.township, lb.township_name, lb.county, lb.county_name)


def _coord(v: float | None) -> str:
    return "" if v is None else f"{v:.6f}"


def location_label_values(cam: MonitoredCamera) -> tuple[str, str, str]:
    return (cam.point_name, _coord(cam.lon), _coord(cam.lat))


@dataclass(frozen=True, slots=True)
class RegionFigures:
    """Per-region figures computed from the database on a timer (not per scrape); empty until
    computed, and then absent from /metrics: never a made-up 0 or default."""

    # (level, code) -> name
    names: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # (level, code, window) -> availability ratio
    availability: Mapping[tuple[str, str, str], float] = field(default_factory=dict)
    # (level, code) -> time-weighted rate of the local day so far, summed with the windows above at
    # ``computed_at`` (the console's today bar: the same instant as the month's rate; not exported)
    today: Mapping[tuple[str, str], float] = field(default_factory=dict)
    # (level, code) -> coverage ratio
    coverage: Mapping[tuple[str, str], float] = field(default_factory=dict)
    # (level, code) -> target ratio
    targets: Mapping[tuple[str, str], float] = field(default_factory=dict)
    # (level, code) -> cameras by status (STATUSES order) over the whole fleet: replicas, where this
    # collector's slots are only its shards' cameras (the leader's, :func:`fleet_counts`); None: a
    # lone collector, counted from its own slots at each scrape
    counts: Mapping[tuple[str, str], tuple[int, ...]] | None = None
    # when the availability windows were summed (the web pages say so: they lag the live API by up
    # to ``collector.figures_interval_s``); None: not yet
    computed_at: dt.datetime | None = None


NO_REGIONS = RegionFigures(counts={})
"""What a replica that is not the leader exports of the region families: nothing (DESIGN §8)."""


class MetricsSource(Protocol):
    # read-only members: the scheduler's dicts are Mappings to the renderers
    @property
    def slots(self) -> Mapping[int, CameraSlot]: ...
    @property
    def lateness(self) -> Histogram: ...
    @property
    def probes_total(self) -> Mapping[tuple[str, str], int]: ...
    @property
    def last_sweep_s(self) -> float | None: ...


@dataclass(slots=True)
class SelfCounters:
    alerts_sent: dict[tuple[str, str], int] = field(default_factory=dict)
    # work orders by colour (green/yellow/red), refreshed by the alerting task
    work_orders: dict[str, int] = field(default_factory=dict)
    # what camwatch's processes use, sampled on a timer (collector.runtime.procstat)
    processes: tuple[ProcessUse, ...] = ()


_STATUS_INDEX = {State(s): i for i, s in enumerate(STATUSES)}


def region_counts(slots: Mapping[int, CameraSlot]) -> tuple[dict[tuple[str, str], list[int]], dict[tuple[str, str], str]]:
    """Cameras by status per village, township and county (one dict operation per camera)."""
    # counted by the labels object's identity (one per village, shared by its cameras): hashing
    # the dataclass itself costs a Python call per camera
    excluded = State.EXCLUDED
    labels: dict[int, RegionLabels] = {}
    per_village = Counter((id(labels.setdefault(id(slot.cam.labels), slot.cam.labels)),
                           excluded if slot.excluded else slot.status.state) for slot in slots.values())
    return roll_up(per_village, labels)


def fleet_counts(cameras: Iterable[MonitoredCamera], states: Mapping[int, str], excluded: AbstractSet[int]
                 ) -> tuple[dict[tuple[str, str], tuple[int, ...]], dict[tuple[str, str], str]]:
    """Cameras by status per village, township and county over a whole fleet, with the regions'
    names (pure: run it in a thread): *states* each camera's state now (missing: unknown),
    *excluded* those under an exclusion."""
    labels: dict[int, RegionLabels] = {}
    ex, unknown = State.EXCLUDED, State.UNKNOWN
    per_village = Counter((id(labels.setdefault(id(cam.labels), cam.labels)),
                           ex if cam.id in excluded else State(states.get(cam.id, unknown))) for cam in cameras)
    counts, names = roll_up(per_village, labels)
    return {key: tuple(c) for key, c in counts.items()}, names


def exported(slot: CameraSlot, offline_only: bool) -> bool:
    """Whether a camera's per-camera series are on /metrics (``metrics.per_camera``): every camera,
    or with offline_only those offline or degraded now (not excluded): the ones someone must act on."""
    return not offline_only or (not slot.excluded and slot.status.state in _ATTENTION)


_ATTENTION = frozenset((State.OFFLINE, State.DEGRADED))


def roll_up(per_village: Mapping[tuple[int, State], int], labels: Mapping[int, RegionLabels]
            ) -> tuple[dict[tuple[str, str], list[int]], dict[tuple[str, str], str]]:
    """Counts per (labels object id, status) summed per village, township and county, with names."""
    counts: dict[tuple[str, str], list[int]] = {}
    names: dict[tuple[str, str], str] = {}
    for (lb_id, state), n in per_village.items():
        if not n:
            continue
        lb = labels[lb_id]
        i = _STATUS_INDEX[state]
        for key, name in ((("village", lb.village), lb.village_name), (("township", lb.township), lb.township_name),
                          (("county", lb.county), lb.county_name)):
            c = counts.get(key)
            if c is None:
                c = counts[key] = [0] * len(STATUSES)
                names[key] = name
            c[i] += n
    return counts, names


def online_ratio(c: Sequence[int]) -> float | None:
    up = c[0] + c[1]
    eligible = up + c[2]
    return up / eligible if eligible else None


class CamwatchCollector(Collector):
    def __init__(self, source: MetricsSource, *, regions: Callable[[], RegionFigures] = RegionFigures,
                 pending_writes: Callable[[], int] = lambda: 0, counters: SelfCounters | None = None,
                 replica_id: str = "default", per_camera: str = "all", more: Sequence[Collector] = ()) -> None:
        self.source = source
        self.more = tuple(more)  # more families after camwatch's own (the GB/T 28181 platform's: metrics.gb28181)
        self.offline_only = per_camera == "offline_only"  # metrics.per_camera
        self.replica_id = replica_id
        self.regions = regions
        self.pending_writes = pending_writes
        self.counters = counters or SelfCounters()
        # the fast /metrics renderer's cache (a collector.metrics.text.TextState), kept with the collector
        self.text_state: object = None

    def describe(self) -> Iterator[Metric]:
        return iter(())  # families are dynamic; no eager collect at registration

    def collect(self) -> Iterator[Metric]:
        yield from self.camera_metrics()
        yield from self.region_metrics()
        yield from self.self_metrics()

    def camera_metrics(self) -> Iterator[Metric]:
        """The per-camera families (``families.CAMERA_FAMILIES``, in that order)."""
        up, video, cause, clock, since, dur, loc, checks = (_gauge(family) for family in f.CAMERA_FAMILIES)
        for slot in self.source.slots.values():
            if not exported(slot, self.offline_only):
                continue
            lv = list(camera_label_values(slot.cam))
            loc.add_metric([*lv, *location_label_values(slot.cam)], 1.0)
            st = slot.status
            if slot.excluded:
                pass
            elif st.state.up:
                up.add_metric(lv, 1.0)
                for check in st.video_failed:
                    checks.add_metric([*lv, check], 1.0)
            elif st.state is State.OFFLINE:
                up.add_metric(lv, 0.0)
                if st.cause is not None:
                    cause.add_metric([*lv, st.cause.value], 1.0)
            if slot.video_ok is not None:
                video.add_metric(lv, 1.0 if slot.video_ok else 0.0)
            if st.since is not None:
                since.add_metric(lv, st.since.timestamp())
            last = slot.last
            if last is not None:
                if last.clock_offset_s is not None:
                    clock.add_metric(lv, last.clock_offset_s)
                for stage, seconds in last.stage_durations():
                    dur.add_metric([*lv, stage.value], seconds)
        yield from (up, video, cause, clock, since, dur, loc, checks)

    def region_metrics(self) -> Iterator[Metric]:
        """The per-region families (``families.REGION_FAMILIES``, in that order)."""
        figures = self.regions()
        counts: Mapping[tuple[str, str], Sequence[int]]
        if figures.counts is None:
            counts, names = region_counts(self.source.slots)
        else:
            counts, names = figures.counts, {}
        names = {**names, **figures.names}
        cams, online, avail, cov, tgt = (_gauge(family) for family in f.REGION_FAMILIES)
        for (level, code), c in sorted(counts.items()):
            lv = [level, code, names.get((level, code), "")]
            for status, n in zip(STATUSES, c, strict=True):
                cams.add_metric([*lv, status], float(n))
            ratio = online_ratio(c)
            if ratio is not None:
                online.add_metric(lv, ratio)
        for (level, code, window), v in sorted(figures.availability.items()):
            avail.add_metric([level, code, names.get((level, code), ""), window], v)
        for (level, code), v in sorted(figures.coverage.items()):
            cov.add_metric([level, code, names.get((level, code), "")], v)
        # targets once the figures are computed (a region added since gets the default); before: none
        for level, code in sorted(set(counts) | set(figures.targets)) if figures.targets else ():
            tgt.add_metric([level, code, names.get((level, code), "")], figures.targets.get((level, code), DEFAULT_TARGET))
        yield from (cams, online, avail, cov, tgt)

    def self_metrics(self) -> list[Metric]:
        """camwatch's own families (``families.SELF_FAMILIES``, in that order), then those of the
        collectors in ``more``; small, so the fast renderer writes these very objects."""
        probes = _counter(f.PROBES_TOTAL)
        for (stage, result), n in sorted(self.source.probes_total.items()):
            probes.add_metric([stage, result], float(n))
        sweep = _gauge(f.SWEEP_DURATION)
        if self.source.last_sweep_s is not None:
            sweep.add_metric([], self.source.last_sweep_s)
        h = self.source.lateness
        buckets = []
        acc = 0
        for b, n in zip(h.buckets, h.counts, strict=False):
            acc += n
            buckets.append((repr(float(b)), float(acc)))
        buckets.append(("+Inf", float(h.n)))
        late = HistogramMetricFamily(f.PROBE_LATENESS.name, f.PROBE_LATENESS.help, labels=f.PROBE_LATENESS.labels)
        late.add_metric([], buckets, h.total)
        alerts = _counter(f.ALERTS_SENT_TOTAL)
        for (ch, res), n in sorted(self.counters.alerts_sent.items()):
            alerts.add_metric([ch, res], float(n))
        pending = _gauge(f.DB_PENDING_WRITES)
        pending.add_metric([], float(self.pending_writes()))
        orders = _gauge(f.WORK_ORDERS)
        for color in COLORS:
            orders.add_metric([color], float(self.counters.work_orders.get(color, 0)))
        shard_cameras = _gauge(f.SHARD_CAMERAS)
        shard_cameras.add_metric([], float(len(self.source.slots)))
        replica = _gauge(f.REPLICA_INFO)
        replica.add_metric([self.replica_id], 1.0)
        memory, cpu = _gauge(f.PROCESS_MEMORY), _counter(f.PROCESS_CPU)
        for use in self.counters.processes:
            memory.add_metric([use.process], float(use.resident_bytes))
            cpu.add_metric([use.process], use.cpu_seconds)
        return [probes, sweep, late, alerts, pending, orders, shard_cameras, replica, memory, cpu,
                *(m for c in self.more for m in c.collect())]
