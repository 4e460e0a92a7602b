"""Prometheus metrics as a view of in-memory state (DESIGN §7; the names are a contract).

:class:`CamwatchCollector` reads a :class:`MetricsSource` (the scheduler's camera slots, the
region figures refreshed from the database on a timer, writer and alert counters) and does no
I/O in ``collect()``. The registry is passed in by the entry point.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from collector.camera_state import State
from collector.scheduler import CameraSlot, Histogram
from inventory.lookup import MonitoredCamera, RegionLabels
from probes.kept import KeptResult
from probes.kept import packer

DEFAULT_TARGET = 0.95
CAMERA_LABELS = ("camera", "camera_name", "village", "village_name", "township", "township_name", "county", "county_name")
REGION_LABELS = ("level", "region", "region_name")
LOCATION_LABELS = ("point", "lon", "lat")  # extra labels of camwatch_camera_location (info metric)
LOCATION_DOC = "1 for every camera: its point name and coordinates (lon/lat empty when unknown), for tables and maps"
STATUSES = ("online", "degraded", "offline", "unknown", "excluded")


def camera_label_values(cam: MonitoredCamera) -> tuple[str, ...]:
    lb = cam.labels
    return (str(cam.id), cam.name, lb.village, lb.village_name, lb.township, lb.township_name, lb.county, lb.county_name)


def _coord(v: float | None) -> str:
    return "" if v is None else f"{v:.6f}"


def location_label_values(cam: MonitoredCamera) -> tuple[str, str, str]:
    return (cam.point_name, _coord(cam.lon), _coord(cam.lat))


@dataclass(frozen=True, slots=True)
class RegionFigures:
    """Per-region figures computed from the database on a timer (not per scrape)."""

    # (level, code) -> name
    names: Mapping[tuple[str, str], str] = field(default_factory=dict)
    # (level, code, window) -> availability ratio
    availability: Mapping[tuple[str, str, str], float] = field(default_factory=dict)
    # (level, code) -> coverage ratio
    coverage: Mapping[tuple[str, str], float] = field(default_factory=dict)
    # (level, code) -> target ratio
    targets: Mapping[tuple[str, str], float] = field(default_factory=dict)


class MetricsSource(Protocol):
    slots: Mapping[int, CameraSlot]
    lateness: Histogram
    probes_total: Mapping[tuple[str, str], int]
    last_sweep_s: float | None


@dataclass(slots=True)
class SelfCounters:
    alerts_sent: dict[tuple[str, str], int] = field(default_factory=dict)
    # work orders by colour (green/yellow/red), refreshed by the alerting task
    work_orders: dict[str, int] = field(default_factory=dict)


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


class _LiveCounts:
    """Cameras per (village labels, status), kept up to date by the fast renderer as it remakes a
    camera's lines: a scrape costs one dict update per camera whose status changed."""

    __slots__ = ("per_village", "labels")

    def __init__(self) -> None:
        self.per_village: Counter[tuple[int, State]] = Counter()
        self.labels: dict[int, RegionLabels] = {}

    def add(self, cam: MonitoredCamera, state: State, n: int) -> None:
        lb = cam.labels
        key = (id(lb), state)
        self.labels.setdefault(key[0], lb)  # held here, so its id cannot be reused while counted
        left = self.per_village[key] + n
        if left:
            self.per_village[key] = left
        else:
            del self.per_village[key]
            if len(self.labels) > 2 * len(self.per_village) + 64:  # labels replaced by reloads
                used = {k[0] for k in self.per_village}
                self.labels = {k: v for k, v in self.labels.items() if k in used}


def _online_ratio(c: list[int]) -> float | None:
    up = c[0] + c[1]
    eligible = up + c[2]
    return up / eligible if eligible else None


class CamwatchCollector(Collector):
    def __init__(self, source: MetricsSource, *, regions: Callable[[], RegionFigures] = RegionFigures,
                 pending_writes: Callable[[], int] = lambda: 0, counters: SelfCounters | None = None) -> None:
        self.source = source
        self.regions = regions
        self.pending_writes = pending_writes
        self.counters = counters or SelfCounters()
        # per-camera rendered lines for the fast /metrics path, kept until the slot changes
        self.fragment_cache: dict[int, _Entry] = {}
        self.live_counts = _LiveCounts()  # region counts of the cameras in fragment_cache

    def describe(self) -> Iterator[Metric]:
        return iter(())  # families are dynamic; no eager collect at registration

    def collect(self) -> Iterator[Metric]:
        yield from self._cameras()
        yield from self._regions()
        yield from self._self()

    def _cameras(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("camwatch_camera_up", "1 online or degraded, 0 offline; absent while unknown or excluded", labels=CAMERA_LABELS)
        video = GaugeMetricFamily("camwatch_camera_video_ok", "1 when the last picture checks passed, 0 when not", labels=CAMERA_LABELS)
        cause = GaugeMetricFamily("camwatch_camera_offline_cause", "1 for the current cause while offline", labels=(*CAMERA_LABELS, "cause"))
        clock = GaugeMetricFamily("camwatch_camera_clock_offset_seconds", "camera clock minus ours (ONVIF)", labels=CAMERA_LABELS)
        since = GaugeMetricFamily("camwatch_camera_state_since_timestamp_seconds", "start of the current state (Unix time)", labels=CAMERA_LABELS)
        dur = GaugeMetricFamily("camwatch_camera_probe_duration_seconds", "duration of each stage of the last probe", labels=(*CAMERA_LABELS, "stage"))
        loc = GaugeMetricFamily("camwatch_camera_location", LOCATION_DOC, labels=(*CAMERA_LABELS, *LOCATION_LABELS))
        for slot in self.source.slots.values():
            lv = list(camera_label_values(slot.cam))
            loc.add_metric([*lv, *location_label_values(slot.cam)], 1.0)
            st = slot.status
            if slot.excluded:
                pass
            elif st.state.up:
                up.add_metric(lv, 1.0)
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
        yield from (up, video, cause, clock, since, dur, loc)

    def _regions(self) -> Iterator[Metric]:
        figures = self.regions()
        counts, names = region_counts(self.source.slots)
        names = {**names, **figures.names}
        cams = GaugeMetricFamily("camwatch_region_cameras", "cameras by status", labels=(*REGION_LABELS, "status"))
        online = GaugeMetricFamily("camwatch_region_online_ratio", "online (or degraded) / eligible cameras now", labels=REGION_LABELS)
        for (level, code), c in sorted(counts.items()):
            lv = [level, code, names.get((level, code), "")]
            for status, n in zip(STATUSES, c, strict=True):
                cams.add_metric([*lv, status], float(n))
            ratio = _online_ratio(c)
            if ratio is not None:
                online.add_metric(lv, ratio)
        avail = GaugeMetricFamily("camwatch_region_availability_ratio", "time-weighted online ratio over a window", labels=(*REGION_LABELS, "window"))
        for (level, code, window), v in sorted(figures.availability.items()):
            avail.add_metric([level, code, names.get((level, code), ""), window], v)
        cov = GaugeMetricFamily("camwatch_region_coverage_ratio", "share of planned points covered by an online camera", labels=REGION_LABELS)
        for (level, code), v in sorted(figures.coverage.items()):
            cov.add_metric([level, code, names.get((level, code), "")], v)
        tgt = GaugeMetricFamily("camwatch_region_target_ratio", "contract target of the online ratio", labels=REGION_LABELS)
        for level, code in sorted(set(counts) | set(figures.targets)):
            tgt.add_metric([level, code, names.get((level, code), "")], figures.targets.get((level, code), DEFAULT_TARGET))
        yield from (cams, online, avail, cov, tgt)

    def _self(self) -> Iterator[Metric]:
        probes = CounterMetricFamily("camwatch_probes", "probe stages run, by result", labels=("stage", "result"))
        for (stage, result), n in sorted(self.source.probes_total.items()):
            probes.add_metric([stage, result], float(n))
        sweep = GaugeMetricFamily("camwatch_sweep_duration_seconds", "duration of the last full fast-tier sweep")
        if self.source.last_sweep_s is not None:
            sweep.add_metric([], self.source.last_sweep_s)
        h = self.source.lateness
        buckets = []
        acc = 0
        for b, n in zip(h.buckets, h.counts, strict=False):
            acc += n
            buckets.append((repr(float(b)), float(acc)))
        buckets.append(("+Inf", float(h.n)))
        late = HistogramMetricFamily("camwatch_probe_lateness_seconds", "actual minus planned probe start", buckets=buckets, sum_value=h.total)
        alerts = CounterMetricFamily("camwatch_alerts_sent", "alert deliveries by channel and result", labels=("channel", "result"))
        for (ch, res), n in sorted(self.counters.alerts_sent.items()):
            alerts.add_metric([ch, res], float(n))
        pending = GaugeMetricFamily("camwatch_db_pending_writes", "state intervals waiting to be written")
        pending.add_metric([], float(self.pending_writes()))
        orders = GaugeMetricFamily("camwatch_work_orders", "work orders of the last month by colour (三色督办)", labels=("color",))
        for color in ("green", "yellow", "red"):
            orders.add_metric([color], float(self.counters.work_orders.get(color, 0)))
        yield from (probes, sweep, late, alerts, pending, orders)


# -- fast text exposition ------------------------------------------------------------------------
# prometheus_client builds a Python object per sample, which for 100k cameras (~700k series)
# takes seconds. /metrics uses this renderer instead: the same families as the Collector above
# (a test checks they agree), written straight to text with each camera's label set formatted
# once and cached.

def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _camera_labels(cam: MonitoredCamera) -> bytes:
    return ",".join(f'{k}="{_esc(v)}"' for k, v in zip(CAMERA_LABELS, camera_label_values(cam), strict=True)).encode()


def _num(v: float) -> bytes:
    if v != v:
        return b"NaN"
    if v in (float("inf"), float("-inf")):
        return b"+Inf" if v > 0 else b"-Inf"
    return repr(float(v)).encode()


_STAGE_SUFFIX: dict[str, bytes] = {}


def _stage_suffix(stage: str) -> bytes:
    suffix = _STAGE_SUFFIX.get(stage)
    if suffix is None:
        suffix = _STAGE_SUFFIX.setdefault(stage, f',stage="{stage}"}} '.encode())
    return suffix


def _cause_suffix(cause: str) -> bytes:
    suffix = _CAUSE_SUFFIX.get(cause)
    if suffix is None:
        suffix = _CAUSE_SUFFIX.setdefault(cause, f',cause="{cause}"}} 1.0\n'.encode())
    return suffix


# Stage outlines are shared by the kept results (probes.kept): their label suffixes, by identity.
_OUTLINES: dict[int, tuple[object, tuple[bytes, ...]]] = {}


def _outline_suffixes(outline: tuple[tuple[Any, ...], ...]) -> tuple[bytes, ...]:
    hit = _OUTLINES.get(id(outline))
    if hit is None or hit[0] is not outline:
        if len(_OUTLINES) > 16_384:  # more outlines than probes.kept interns: stay bounded
            _OUTLINES.clear()
        hit = _OUTLINES[id(outline)] = (outline, tuple(_stage_suffix(o[0].value) for o in outline))
    return hit[1]


# A camera's cache entry: what its lines were made from, its lines of each per-camera family
# (up, video, cause, clock, since, durations, location) and its formatted label set.
_Entry = tuple[object, object, object, object, object, tuple[bytes, ...], bytes]


def _entry(slot: CameraSlot, old: _Entry | None) -> _Entry:
    """A camera's lines, remade only for the parts that changed: most scrapes see a new probe
    result (clock offset, stage durations) and nothing else."""
    cam, st, last, video_ok, excluded = slot.cam, slot.status, slot.last, slot.video_ok, slot.excluded
    same_cam = old is not None and old[0] is cam
    if same_cam:
        lb, prev = old[6], old[5]  # type: ignore[index]
        loc = prev[6]
    else:
        lb = _camera_labels(cam)
        loc_lb = ",".join(f'{k}="{_esc(v)}"' for k, v in zip(LOCATION_LABELS, location_label_values(cam), strict=True))
        loc = b"camwatch_camera_location{" + lb + b"," + loc_lb.encode() + b"} 1.0\n"
    if same_cam and old[1] is st and old[4] is excluded:  # type: ignore[index]
        up, cause, since = prev[0], prev[2], prev[4]
    else:
        up = cause = since = b""
        if excluded:
            pass
        elif st.state.up:
            up = b"camwatch_camera_up{" + lb + b"} 1.0\n"
        elif st.state is State.OFFLINE:
            up = b"camwatch_camera_up{" + lb + b"} 0.0\n"
            if st.cause is not None:
                cause = b"camwatch_camera_offline_cause{" + lb + _cause_suffix(st.cause.value)
        if st.since is not None:
            since = b"camwatch_camera_state_since_timestamp_seconds{" + lb + b"} " + _num(st.since.timestamp()) + b"\n"
    if same_cam and old[3] is video_ok:  # type: ignore[index]
        video = prev[1]
    else:
        video = b"" if video_ok is None else b"camwatch_camera_video_ok{" + lb + (b"} 1.0\n" if video_ok else b"} 0.0\n")
    if same_cam and old[2] is last:  # type: ignore[index]
        clock, durations = prev[3], prev[5]
    else:
        clock = durations = b""
        if last is not None:
            if last.clock_offset_s is not None:
                clock = b"".join((b"camwatch_camera_clock_offset_seconds{", lb, b"} ", _num(last.clock_offset_s), b"\n"))
            pieces: list[bytes] = []
            if isinstance(last, KeptResult):  # straight from the packed float32s (as stage_durations rounds them)
                outline = last.outline
                for suffix, d in zip(_outline_suffixes(outline), packer(len(outline)).unpack(last.durations)):
                    pieces += (_DURATION_HEAD, lb, suffix, repr(round(d, 6)).encode(), b"\n")
            else:
                for stage, seconds in last.stage_durations():
                    pieces += (_DURATION_HEAD, lb, _stage_suffix(stage.value), _num(seconds), b"\n")
            durations = b"".join(pieces)
    return (cam, st, last, video_ok, excluded, (up, video, cause, clock, since, durations, loc), lb)


def _shown(entry: _Entry) -> State:
    return State.EXCLUDED if entry[4] else entry[1].state  # type: ignore[attr-defined]


_CAUSE_SUFFIX: dict[str, bytes] = {}
_DURATION_HEAD = b"camwatch_camera_probe_duration_seconds{"


def render_text(collector: CamwatchCollector) -> bytes:
    """The exposition text of everything ``collector.collect()`` yields, fast for the per-camera part."""
    src = collector.source
    cache = collector.fragment_cache
    get = cache.get
    flat: list[bytes] = []  # each camera's 7 family lines in a row; families are every 7th item
    add = flat.extend
    live = collector.live_counts
    for cid, slot in src.slots.items():
        hit = get(cid)
        if (hit is None or hit[2] is not slot.last or hit[1] is not slot.status or hit[0] is not slot.cam
                or hit[3] is not slot.video_ok or hit[4] is not slot.excluded):
            new = cache[cid] = _entry(slot, hit)
            if hit is None or hit[1] is not new[1] or hit[4] is not new[4] or hit[0] is not new[0]:
                if hit is not None:
                    live.add(hit[0], _shown(hit), -1)  # type: ignore[arg-type]
                live.add(slot.cam, _shown(new), 1)
            hit = new
        add(hit[5])
    if len(cache) > len(src.slots):  # cameras gone from the inventory
        for cid in [c for c in cache if c not in src.slots]:
            gone = cache.pop(cid)
            live.add(gone[0], _shown(gone), -1)  # type: ignore[arg-type]
    up, video, cause, clock, since, dur, loc = (flat[k::7] for k in range(7))  # strided copies: no per-item work
    parts: list[bytes] = []
    heads = (
        ("camwatch_camera_up", "1 online or degraded, 0 offline; absent while unknown or excluded", up),
        ("camwatch_camera_video_ok", "1 when the last picture checks passed, 0 when not", video),
        ("camwatch_camera_offline_cause", "1 for the current cause while offline", cause),
        ("camwatch_camera_clock_offset_seconds", "camera clock minus ours (ONVIF)", clock),
        ("camwatch_camera_state_since_timestamp_seconds", "start of the current state (Unix time)", since),
        ("camwatch_camera_probe_duration_seconds", "duration of each stage of the last probe", dur),
        ("camwatch_camera_location", LOCATION_DOC, loc),
    )
    for name, doc, family in heads:  # one join of everything at the end: the text is copied once
        parts.append(f"# HELP {name} {doc}\n# TYPE {name} gauge\n".encode())
        parts += family
    parts.append(_render_regions(collector))
    from prometheus_client.exposition import generate_latest
    from prometheus_client.registry import CollectorRegistry

    class _Self(Collector):
        def collect(self) -> Iterator[Metric]:
            yield from collector._self()

    reg = CollectorRegistry()
    reg.register(_Self())
    parts.append(generate_latest(reg))
    return b"".join(parts)


def _render_regions(collector: CamwatchCollector) -> bytes:
    figures = collector.regions()
    live = collector.live_counts
    counts, names = roll_up(live.per_village, live.labels)
    names = {**names, **figures.names}
    label: dict[tuple[str, str], str] = {}

    def lb(key: tuple[str, str]) -> str:
        text = label.get(key)
        if text is None:
            text = label[key] = f'level="{key[0]}",region="{_esc(key[1])}",region_name="{_esc(names.get(key, ""))}"'
        return text

    cams: list[str] = []
    online: list[str] = []
    for key, c in sorted(counts.items()):
        base = lb(key)
        for status, n in zip(STATUSES, c, strict=True):
            cams.append(f'camwatch_region_cameras{{{base},status="{status}"}} {n}.0\n')
        ratio = _online_ratio(c)
        if ratio is not None:
            online.append(f"camwatch_region_online_ratio{{{base}}} {ratio!r}\n")
    avail = [f'camwatch_region_availability_ratio{{{lb((lv, code))},window="{w}"}} {float(v)!r}\n'
             for (lv, code, w), v in sorted(figures.availability.items())]
    cov = [f"camwatch_region_coverage_ratio{{{lb(k)}}} {float(v)!r}\n" for k, v in sorted(figures.coverage.items())]
    tgt = [f"camwatch_region_target_ratio{{{lb(k)}}} {float(figures.targets.get(k, DEFAULT_TARGET))!r}\n"
           for k in sorted(set(counts) | set(figures.targets))]
    out: list[str] = []
    for name, doc, lines in (
        ("camwatch_region_cameras", "cameras by status", cams),
        ("camwatch_region_online_ratio", "online (or degraded) / eligible cameras now", online),
        ("camwatch_region_availability_ratio", "time-weighted online ratio over a window", avail),
        ("camwatch_region_coverage_ratio", "share of planned points covered by an online camera", cov),
        ("camwatch_region_target_ratio", "contract target of the online ratio", tgt),
    ):
        out.append(f"# HELP {name} {doc}\n# TYPE {name} gauge\n")
        out.extend(lines)
    return "".join(out).encode()
