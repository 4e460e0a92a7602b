"""The lines of the fast text exposition of ``/metrics`` (DESIGN §7); put together, and gzipped,
by :mod:`collector.metrics.exposition`.

prometheus_client builds a Python object per sample, which for 100k cameras (~800k series) takes
tens of seconds. ``/metrics`` uses this renderer instead: the same families as
:class:`collector.metrics.registry.CamwatchCollector` (a test checks they agree, HELP and TYPE
included), written straight to text. Each camera's lines are cached and remade only for the parts
that changed; the region counts are kept live as lines are remade. camwatch's own few families are
the Collector's :meth:`~collector.metrics.registry.CamwatchCollector.self_metrics`, written by
prometheus_client. Names, types, help texts and label names come from
:mod:`collector.metrics.families`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from collector.metrics import families as f
from collector.metrics.registry import (
    DEFAULT_TARGET,
    STATUSES,
    CamwatchCollector,
    RegionFigures,
    camera_label_values,
    location_label_values,
    online_ratio,
    roll_up,
)
from collector.runtime.camera_state import State
from collector.runtime.scheduler import CameraSlot
from inventory.lookup import MonitoredCamera, RegionLabels
from probes.kept import KeptResult


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


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _header(family: f.Family) -> str:
    doc = family.help.replace("\\", "\\\\").replace("\n", "\\n")  # as prometheus_client escapes HELP
    return f"# HELP {family.name} {doc}\n# TYPE {family.name} {family.kind}\n"


def _extra_label(family: f.Family, common: tuple[str, ...] = f.CAMERA_LABELS) -> str:
    """The one label a family has beyond the camera's (or the region's) labels."""
    (name,) = family.labels[len(common):]
    return name


# What starts each per-camera line: the family's name and the brace of its labels.
_UP_HEAD = f.CAMERA_UP.name.encode() + b"{"
_VIDEO_HEAD = f.CAMERA_VIDEO_OK.name.encode() + b"{"
_CAUSE_HEAD = f.CAMERA_OFFLINE_CAUSE.name.encode() + b"{"
_CLOCK_HEAD = f.CAMERA_CLOCK_OFFSET.name.encode() + b"{"
_SINCE_HEAD = f.CAMERA_STATE_SINCE.name.encode() + b"{"
_DURATION_HEAD = f.CAMERA_PROBE_DURATION.name.encode() + b"{"
_LOCATION_HEAD = f.CAMERA_LOCATION.name.encode() + b"{"
_CHECK_HEAD = f.CAMERA_FAILED_CHECK.name.encode() + b"{"
_CAUSE_LABEL = _extra_label(f.CAMERA_OFFLINE_CAUSE)
_STAGE_LABEL = _extra_label(f.CAMERA_PROBE_DURATION)


def _camera_labels(cam: MonitoredCamera) -> bytes:
    return ",".join(f'{k}="{_esc(v)}"' for k, v in zip(f.CAMERA_LABELS, camera_label_values(cam), strict=True)).encode()


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
        suffix = _STAGE_SUFFIX.setdefault(stage, f',{_STAGE_LABEL}="{stage}"}} '.encode())
    return suffix


def _cause_suffix(cause: str) -> bytes:
    suffix = _CAUSE_SUFFIX.get(cause)
    if suffix is None:
        suffix = _CAUSE_SUFFIX.setdefault(cause, f',{_CAUSE_LABEL}="{cause}"}} 1.0\n'.encode())
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
# (up, video, cause, clock, since, durations, location, failed checks: the order of families.CAMERA_FAMILIES)
# and its formatted label set.
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
        loc_lb = ",".join(f'{k}="{_esc(v)}"' for k, v in zip(f.LOCATION_LABELS, location_label_values(cam), strict=True))
        loc = _LOCATION_HEAD + lb + b"," + loc_lb.encode() + b"} 1.0\n"
    if same_cam and old[1] is st and old[4] is excluded:  # type: ignore[index]
        up, cause, since, checks = prev[0], prev[2], prev[4], prev[7]
    else:
        up = cause = since = checks = b""
        if excluded:
            pass
        elif st.state.up:
            up = _UP_HEAD + lb + b"} 1.0\n"
            if st.video_failed:
                checks = b"".join(_CHECK_HEAD + lb + b',check="' + _esc(c).encode() + b'"} 1.0\n' for c in st.video_failed)
        elif st.state is State.OFFLINE:
            up = _UP_HEAD + lb + b"} 0.0\n"
            if st.cause is not None:
                cause = _CAUSE_HEAD + lb + _cause_suffix(st.cause.value)
        if st.since is not None:
            since = _SINCE_HEAD + lb + b"} " + _num(st.since.timestamp()) + b"\n"
    if same_cam and old[3] is video_ok:  # type: ignore[index]
        video = prev[1]
    else:
        video = b"" if video_ok is None else _VIDEO_HEAD + lb + (b"} 1.0\n" if video_ok else b"} 0.0\n")
    if same_cam and old[2] is last:  # type: ignore[index]
        clock, durations = prev[3], prev[5]
    else:
        clock = durations = b""
        if last is not None:
            offset = last.clock_offset_s  # (unpacked from KeptResult.packed: once)
            if offset is not None:
                clock = b"".join((_CLOCK_HEAD, lb, b"} ", _num(offset), b"\n"))
            pieces: list[bytes] = []
            if isinstance(last, KeptResult):  # straight from the packed float32s (as stage_durations rounds them)
                outline = last.outline
                for suffix, d in zip(_outline_suffixes(outline), last.durations(), strict=True):
                    pieces += (_DURATION_HEAD, lb, suffix, repr(round(d, 6)).encode(), b"\n")
            else:
                for stage, seconds in last.stage_durations():
                    pieces += (_DURATION_HEAD, lb, _stage_suffix(stage.value), _num(seconds), b"\n")
            durations = b"".join(pieces)
    return (cam, st, last, video_ok, excluded, (up, video, cause, clock, since, durations, loc, checks), lb)


def _shown(entry: _Entry) -> State:
    return State.EXCLUDED if entry[4] else entry[1].state  # type: ignore[attr-defined]


_CAUSE_SUFFIX: dict[str, bytes] = {}


class TextState:
    """What the renderer keeps between scrapes: each camera's cache entry and the live counts,
    and the blocks of :mod:`collector.metrics.exposition` (cameras grouped by state and probing
    phase, each block's text deflated apart)."""

    __slots__ = ("cache", "live", "blocks", "buckets", "lock", "pool", "heads", "scraped")

    def __init__(self) -> None:
        self.cache: dict[int, _Entry] = {}
        self.live = _LiveCounts()  # region counts of the cameras in the cache
        self.blocks: dict[str, Any] = {}  # the cuts of the cameras into blocks (exposition._Blocks)
        self.buckets: dict[int, int] = {}  # camera id -> its probing phase bucket
        self.lock = threading.Lock()  # one render at a time (scrapes render in worker threads)
        self.pool: Any = None  # the compressing threads, made at the first gzip scrape
        self.heads: tuple[Any, ...] = ()  # the families' HELP/TYPE lines, deflated once
        self.scraped: tuple[float, bool] | None = None  # the last scrape: its loop time, gzip or not


def text_state(collector: CamwatchCollector) -> TextState:
    state = collector.text_state
    if not isinstance(state, TextState):
        state = collector.text_state = TextState()
    return state


class _Built(Collector):
    """Families already built, for prometheus_client's text writer."""

    def __init__(self, metrics: Iterable[Metric]) -> None:
        self.metrics = list(metrics)

    def collect(self) -> Iterator[Metric]:
        return iter(self.metrics)


_LEVEL, _REGION, _REGION_NAME = f.REGION_LABELS
_STATUS_LABEL = _extra_label(f.REGION_CAMERAS, f.REGION_LABELS)
_WINDOW_LABEL = _extra_label(f.REGION_AVAILABILITY, f.REGION_LABELS)


def render_regions(figures: RegionFigures, live: _LiveCounts) -> bytes:
    """The region families: the cameras by status from *figures* when it has them (a replica's
    leader: the whole fleet), else from the live counts of this collector's own cameras."""
    counts: Mapping[tuple[str, str], Sequence[int]]
    if figures.counts is None:
        counts, names = roll_up(live.per_village, live.labels)
    else:
        counts, names = figures.counts, {}
    names = {**names, **figures.names}
    label: dict[tuple[str, str], str] = {}

    def lb(key: tuple[str, str]) -> str:
        text = label.get(key)
        if text is None:
            text = label[key] = f'{_LEVEL}="{key[0]}",{_REGION}="{_esc(key[1])}",{_REGION_NAME}="{_esc(names.get(key, ""))}"'
        return text

    cams_name, online_name, avail_name, cov_name, tgt_name = (family.name for family in f.REGION_FAMILIES)
    cams: list[str] = []
    online: list[str] = []
    for key, c in sorted(counts.items()):
        base = lb(key)
        for status, n in zip(STATUSES, c, strict=True):
            cams.append(f'{cams_name}{{{base},{_STATUS_LABEL}="{status}"}} {n}.0\n')
        ratio = online_ratio(c)
        if ratio is not None:
            online.append(f"{online_name}{{{base}}} {ratio!r}\n")
    avail = [f'{avail_name}{{{lb((lv, code))},{_WINDOW_LABEL}="{w}"}} {float(v)!r}\n'
             for (lv, code, w), v in sorted(figures.availability.items())]
    cov = [f"{cov_name}{{{lb(k)}}} {float(v)!r}\n" for k, v in sorted(figures.coverage.items())]
    tgt = [f"{tgt_name}{{{lb(k)}}} {float(figures.targets.get(k, DEFAULT_TARGET))!r}\n"
           for k in (sorted(set(counts) | set(figures.targets)) if figures.targets else ())]
    out: list[str] = []
    for family, lines in zip(f.REGION_FAMILIES, (cams, online, avail, cov, tgt), strict=True):
        out.append(_header(family))
        out.extend(lines)
    return "".join(out).encode()


__all__ = ["TextState", "render_regions", "text_state"]
