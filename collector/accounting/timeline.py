"""One camera's state spans as a clean timeline: sorted, non-overlapping, integer microseconds."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import attrgetter, itemgetter

from collector.accounting.intervals import to_us
from collector.accounting.levels import group_by
from collector.accounting.model import StateSpan

# (start_us, end_us or None while still going, state)
Segment = tuple[int, int | None, str]

SpansByCamera = Mapping[int, Sequence[StateSpan]]
# What the accounting functions take: the spans, or the spans grouped by camera once.
Spans = SpansByCamera | Iterable[StateSpan]

_first = itemgetter(0)
_camera_id: Callable[[StateSpan], int] = attrgetter("camera_id")


def group_spans(spans: Iterable[StateSpan]) -> dict[int, list[StateSpan]]:
    """Spans grouped by camera, once, so per-camera work stays linear in the camera's spans."""
    return group_by(spans, _camera_id)


def as_grouped(spans: Spans) -> SpansByCamera:
    return spans if isinstance(spans, Mapping) else group_spans(spans)


def segments(spans: Iterable[StateSpan], camera_id: int, now_us: int) -> list[Segment]:
    """The camera's spans sorted by start, each cut at the next one's start (a transition opens a
    new interval, so a later-starting span wins an overlap); spans starting after ``now`` dropped;
    other cameras' spans ignored."""
    raw = [
        (to_us(s.start), None if s.end is None else to_us(s.end), s.state)
        for s in spans
        if s.camera_id == camera_id
    ]
    raw.sort(key=_first)  # stable: of two spans with one start, the later given wins
    out: list[Segment] = []
    for i, (start, end, state) in enumerate(raw):
        if start > now_us:
            break
        if i + 1 < len(raw):
            nxt = raw[i + 1][0]
            if nxt <= now_us and (end is None or end > nxt):
                end = nxt
        if end is None or end > start:
            out.append((start, end, state))
    return out
