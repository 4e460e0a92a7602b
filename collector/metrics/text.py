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
from collector.runtime.camera_state import State, Status
from collector.runtime.scheduler import CameraSlot
from inventory.monitored import MonitoredCamera, RegionLabels
from probes.kept import KeptResult
from probes.ladder import LadderResult


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


# The village, township and county labels of a camera's lines, made once per labels object (one per
# village, shared by its cameras: inventory.lookup), by identity; the camera's own two are made
# each time its block's lines are (a kept label set per camera cost ~210 B of memory a camera).
_PLACES: dict[int, tuple[RegionLabels, bytes]] = {}


def _camera_labels(cam: MonitoredCamera) -> bytes:
    values = camera_label_values(cam)
    lb = cam.labels
    hit = _PLACES.get(id(lb))
    if hit is None or hit[0] is not lb:
        if len(_PLACES) > 262_144:  # labels replaced by reloads: stay bounded
            _PLACES.clear()
        place = ",".join(f'{k}="{_esc(v)}"' for k, v in zip(f.CAMERA_LABELS[2:], values[2:], strict=True))
        hit = _PLACES[id(lb)] = (lb, place.encode())
    return f'{f.CAMERA_LABELS[0]}="{_esc(values[0])}",{f.CAMERA_LABELS[1]}="{_esc(values[1])}",'.encode() + hit[1]


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


# What a camera's lines are made from: its slot's camera, status, last result, video verdict and
# exclusion, by identity (the scheduler replaces them, never changes them). The renderer keeps
# only this per camera, not the lines (at 100k cameras those were ~2.5 KB a camera) nor its label
# set: they are made again when its block is (see exposition).
_Key = tuple[MonitoredCamera, Status, KeptResult | LadderResult | None, bool | None, bool]
# the families each part of a key feeds (a change of the camera itself: all of them)
FROM_STATUS = (0, 2, 4, 7)  # up, cause, since, failed checks (status, exclusion)
FROM_VIDEO = (1,)
FROM_LAST = (3, 5)  # clock offset, stage durations


def key_of(slot: CameraSlot) -> _Key:
    return (slot.cam, slot.status, slot.last, slot.video_ok, slot.excluded)


def changed_families(old: _Key, new: _Key) -> tuple[int, ...]:
    if old[0] is not new[0]:
        return tuple(range(len(f.CAMERA_FAMILIES)))
    out: tuple[int, ...] = ()
    if old[1] is not new[1] or old[4] is not new[4]:
        out += FROM_STATUS
    if old[3] is not new[3]:
        out += FROM_VIDEO
    if old[2] is not new[2]:
        out += FROM_LAST
    return out


def _up(key: _Key, lb: bytes) -> bytes:
    st = key[1]
    if key[4]:
        return b""
    if st.state.up:
        return _UP_HEAD + lb + b"} 1.0\n"
    return _UP_HEAD + lb + b"} 0.0\n" if st.state is State.OFFLINE else b""


def _video(key: _Key, lb: bytes) -> bytes:
    v = key[3]
    return b"" if v is None else _VIDEO_HEAD + lb + (b"} 1.0\n" if v else b"} 0.0\n")


def _cause(key: _Key, lb: bytes) -> bytes:
    st = key[1]
    if key[4] or st.state is not State.OFFLINE or st.cause is None:
        return b""
    return _CAUSE_HEAD + lb + _cause_suffix(st.cause.value)


def _clock(key: _Key, lb: bytes) -> bytes:
    last = key[2]
    offset = last.clock_offset_s if last is not None else None  # (unpacked from KeptResult.packed)
    return b"" if offset is None else b"".join((_CLOCK_HEAD, lb, b"} ", _num(offset), b"\n"))


def _since(key: _Key, lb: bytes) -> bytes:
    since = key[1].since
    return b"" if since is None else _SINCE_HEAD + lb + b"} " + _num(since.timestamp()) + b"\n"


def _durations(key: _Key, lb: bytes) -> bytes:
    last = key[2]
    if last is None:
        return b""
    pieces: list[bytes] = []
    if isinstance(last, KeptResult):  # straight from the packed float32s (as stage_durations rounds them)
        for suffix, d in zip(_outline_suffixes(last.outline), last.durations(), strict=True):
            pieces += (_DURATION_HEAD, lb, suffix, repr(round(d, 6)).encode(), b"\n")
    else:
        for stage, seconds in last.stage_durations():
            pieces += (_DURATION_HEAD, lb, _stage_suffix(stage.value), _num(seconds), b"\n")
    return b"".join(pieces)


def _location(key: _Key, lb: bytes) -> bytes:
    loc = ",".join(f'{k}="{_esc(v)}"' for k, v in zip(f.LOCATION_LABELS, location_label_values(key[0]), strict=True))
    return _LOCATION_HEAD + lb + b"," + loc.encode() + b"} 1.0\n"


def _checks(key: _Key, lb: bytes) -> bytes:
    st = key[1]
    if key[4] or not st.state.up or not st.video_failed:
        return b""
    return b"".join(_CHECK_HEAD + lb + b',check="' + _esc(c).encode() + b'"} 1.0\n' for c in st.video_failed)


# each per-camera family's lines of one camera (the order of families.CAMERA_FAMILIES)
_RENDER = (_up, _video, _cause, _clock, _since, _durations, _location, _checks)


def columns(keys: Iterable[_Key], families: Sequence[int]) -> list[bytes]:
    """The text of *families* (indexes into families.CAMERA_FAMILIES) for these cameras, in order."""
    out: list[list[bytes]] = [[] for _ in families]
    fns = [(_RENDER[k], out[j]) for j, k in enumerate(families)]
    for key in keys:
        lb = _camera_labels(key[0])
        for fn, acc in fns:
            line = fn(key, lb)
            if line:
                acc.append(line)
    return [b"".join(acc) for acc in out]


def _shown(key: _Key) -> State:
    return State.EXCLUDED if key[4] else key[1].state


_CAUSE_SUFFIX: dict[str, bytes] = {}


class TextState:
    """What the renderer keeps between scrapes: each camera's key (what its lines are made from)
    and the live counts, and the blocks of :mod:`collector.metrics.exposition` (cameras grouped by
    state and probing phase, each block's text deflated apart)."""

    __slots__ = ("cache", "live", "blocks", "lock", "pool", "heads", "scraped", "offline_only")

    def __init__(self) -> None:
        self.cache: dict[int, _Key] = {}
        self.live = _LiveCounts()  # region counts of the cameras in the cache
        self.blocks: dict[str, Any] = {}  # the cuts of the cameras into blocks (exposition._Blocks)
        self.lock = threading.Lock()  # one render at a time (scrapes render in worker threads)
        self.pool: Any = None  # the compressing threads, made at the first gzip scrape
        self.heads: tuple[Any, ...] = ()  # the families' HELP/TYPE lines, deflated once
        self.scraped: tuple[float, bool] | None = None  # the last scrape: its loop time, gzip or not
        self.offline_only: bool | None = None  # metrics.per_camera when the cameras were placed in blocks

    def restart(self, offline_only: bool) -> None:
        """Forget every camera (placed again at the next update), now with *offline_only*."""
        self.cache.clear()
        self.blocks.clear()
        self.live = _LiveCounts()
        self.offline_only = offline_only


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


__all__ = ["TextState", "changed_families", "columns", "key_of", "render_regions", "text_state"]
