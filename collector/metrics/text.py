"""The fast text exposition of ``/metrics`` (DESIGN §7).

prometheus_client builds a Python object per sample, which for 100k cameras (~800k series) takes
tens of seconds. ``/metrics`` uses this renderer instead: the same families as
:class:`collector.metrics.registry.CamwatchCollector` (a test checks they agree), written straight to
text. Each camera's lines are cached and remade only for the parts that changed; the region
counts are kept live as lines are remade.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from collector.metrics.registry import (
    CAMERA_LABELS,
    DEFAULT_TARGET,
    LOCATION_DOC,
    LOCATION_LABELS,
    STATUSES,
    CamwatchCollector,
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
            offset = last.clock_offset_s  # (unpacked from KeptResult.packed: once)
            if offset is not None:
                clock = b"".join((b"camwatch_camera_clock_offset_seconds{", lb, b"} ", _num(offset), b"\n"))
            pieces: list[bytes] = []
            if isinstance(last, KeptResult):  # straight from the packed float32s (as stage_durations rounds them)
                outline = last.outline
                for suffix, d in zip(_outline_suffixes(outline), last.durations()):
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


class TextState:
    """What the renderer keeps between scrapes: each camera's cache entry and the live counts."""

    __slots__ = ("cache", "live")

    def __init__(self) -> None:
        self.cache: dict[int, _Entry] = {}
        self.live = _LiveCounts()  # region counts of the cameras in the cache


def text_state(collector: CamwatchCollector) -> TextState:
    state = collector.text_state
    if state is None:
        state = collector.text_state = TextState()
    return state  # type: ignore[no-any-return]


def render_text(collector: CamwatchCollector) -> bytes:
    """The exposition text of everything ``collector.collect()`` yields, fast for the per-camera part."""
    src = collector.source
    state = text_state(collector)
    cache = state.cache
    get = cache.get
    flat: list[bytes] = []  # each camera's 7 family lines in a row; families are every 7th item
    add = flat.extend
    live = state.live
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
    live = text_state(collector).live
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
        ratio = online_ratio(c)
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


__all__ = ["TextState", "render_text", "text_state"]
