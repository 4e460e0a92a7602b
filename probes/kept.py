"""What a scheduler keeps of each camera's last ladder result: small, with shared texts.

A collector holds one last result per camera for as long as it runs (100k cameras in one
process, DESIGN §8), for the metrics and the API. :func:`kept` drops the stage payloads (the
device record, VQD checks, SDP facts: read once by whoever ran the probe), packs its numbers
(when, the clock offset, the stage durations) into one ``bytes`` and shares the rest: the
outline of the stages (stage, verdict, cause, detail) is the same for a county's healthy
cameras of one model, so one copy serves them all. An ONVIF stage's usual detail ("clock offset +0.003 s") is rebuilt from the offset,
so it does not make each camera's outline unique.
"""

from __future__ import annotations

import datetime as dt
import struct
import sys
from dataclasses import dataclass

from probes.base import Cause, ProbeResult, Stage
from probes.ladder import LadderResult, State

# (stage, ok, cause, detail or None: rebuilt from the clock offset) per stage
Outline = tuple[tuple[Stage, bool, Cause | None, str | None], ...]
_OUTLINES: dict[Outline, Outline] = {}
MAX_OUTLINES = 10_000  # distinct outlines shared; beyond that each result keeps its own
_PACKERS: dict[int, struct.Struct] = {}


def _clock_detail(offset: float) -> str:
    return f"clock offset {offset:+.3f} s"


def packer(n: int) -> struct.Struct:
    """The struct of a KeptResult's packed numbers: when (float64 POSIX seconds), the clock
    offset (float64), then n float32 stage durations. NaN stands for None."""
    p = _PACKERS.get(n)
    if p is None:
        p = _PACKERS[n] = struct.Struct(f"<2d{n}f")
    return p


_NAN = float("nan")


def _or_none(v: float) -> float | None:
    return None if v != v else v  # NaN: not known


@dataclass(frozen=True, slots=True)
class KeptResult:
    """A ladder result without payloads; reads like a :class:`~probes.ladder.LadderResult`.

    Its numbers share one ``bytes`` (see :func:`packer`): a float object and a datetime per
    camera cost more than the 16 bytes they take there.
    """

    state: State
    cause: Cause | None
    warnings: tuple[str, ...]
    outline: Outline
    packed: bytes

    @property
    def device(self) -> None:
        return None  # never kept (see the module docstring)

    @property
    def video(self) -> None:
        return None

    @property
    def clock_offset_s(self) -> float | None:
        return _or_none(_HEAD.unpack_from(self.packed)[1])

    @property
    def at(self) -> dt.datetime | None:
        """When the probe started (as given to :func:`kept`)."""
        ts = _HEAD.unpack_from(self.packed)[0]
        return None if ts != ts else dt.datetime.fromtimestamp(ts, dt.UTC)

    def durations(self) -> tuple[float, ...]:
        """The stage durations as stored (float32), in outline order."""
        return packer(len(self.outline)).unpack(self.packed)[2:]

    def _seconds(self) -> tuple[float, ...]:
        # float32 keeps ~7 digits: rounded to the microsecond, as measured
        return tuple(round(d, 6) for d in self.durations())

    def stage_durations(self) -> tuple[tuple[Stage, float], ...]:
        return tuple((o[0], d) for o, d in zip(self.outline, self._seconds(), strict=True))

    @property
    def stages(self) -> tuple[ProbeResult, ...]:
        out = []
        offset = self.clock_offset_s
        for (stage, ok, cause, detail), d in zip(self.outline, self._seconds(), strict=True):
            if detail is None:
                detail = _clock_detail(offset or 0.0)
            out.append(ProbeResult(stage, ok, d, cause, detail))
        return tuple(out)

    @property
    def duration_s(self) -> float:
        return sum(self._seconds())

    def __reduce__(self) -> tuple[object, ...]:
        # unpickled (a probe worker's report to its collector) through _unpickled: shared again
        return (_unpickled, (self.state, self.cause, self.warnings, self.outline, self.packed))


_HEAD = struct.Struct("<2d")


def _shared(outline: Outline) -> Outline:
    """The one copy of *outline* (the first seen, while fewer than MAX_OUTLINES are kept)."""
    shared = _OUTLINES.get(outline)
    if shared is None:
        if len(_OUTLINES) < MAX_OUTLINES:
            _OUTLINES[outline] = outline
        shared = outline
    return shared


def _unpickled(state: State, cause: Cause | None, warnings: tuple[str, ...], outline: Outline,
               packed: bytes) -> KeptResult:
    """A KeptResult read from a pickle: its outline and texts shared again. (Unpickling makes new
    tuples and strings for each message: a collector keeping its workers' results would hold a
    copy of the same outline per report it kept a result of.)"""
    intern = sys.intern
    if warnings:
        warnings = tuple(intern(w) for w in warnings)
    return KeptResult(state, cause, warnings, _shared(outline), packed)


def kept(result: LadderResult, at: dt.datetime | None = None) -> KeptResult:
    """The compact, shared form of *result*, probed at *at* (see the module docstring)."""
    intern = sys.intern
    clock = result.clock_offset_s
    rows = []
    for r in result.stages:
        detail: str | None = r.detail
        if r.stage is Stage.ONVIF and r.ok and clock is not None and detail == _clock_detail(clock):
            detail = None
        else:
            detail = intern(r.detail)
        rows.append((r.stage, r.ok, r.cause, detail))
    shared = _shared(tuple(rows))
    packed = packer(len(shared)).pack(_NAN if at is None else at.timestamp(), _NAN if clock is None else clock,
                                       *(r.duration_s for r in result.stages))
    warnings = tuple(intern(w) for w in result.warnings) if result.warnings else ()
    return KeptResult(result.state, result.cause, warnings, shared, packed)
