"""Camera state as a pure function: (status, probe outcome, now, policy) -> (status, events).

DESIGN §3: a failure is confirmed by quick re-probes before a camera goes offline; one success
brings it back; flapping (more than N changes in a window) is flagged. ``no_video`` (the stream
opens but carries no picture) is the video tier's verdict: confirmed by its re-probes, and cleared
only by a probe that looked at the video, never by the fast tier's (which does not look). A state interval starts at
the midpoint between the last probe that saw the old state and the first that saw the new one
(``accounting.transition_dating: midpoint``; ``first_probe``: at the first that saw the new one),
never at its confirmation; each change carries half that probe gap as its uncertainty. The
caller keeps the time of the last probe that saw the current state (:func:`saw`) and passes it
in (:class:`Seen`); with none (first probe after a start: the old state is unknown) the change is
dated at the first probe, with no uncertainty.

An exclusion in force does not change a camera's state here: the scheduler keeps probing it and
stores its real state, so rates exist with and without exclusions (it is only *shown* as
excluded, ``CameraSlot.excluded``). ``State.EXCLUDED`` is the state of a camera that left the
monitored inventory (:func:`set_retired`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from probes.base import Cause
from probes.checks import CLOCK

if TYPE_CHECKING:
    from collector.settings import AccountingSettings, CollectorSettings


class State(StrEnum):
    ONLINE = "online"
    DEGRADED = "degraded"
    OFFLINE = "offline"
    UNKNOWN = "unknown"
    EXCLUDED = "excluded"

    @property
    def up(self) -> bool:
        return self in (State.ONLINE, State.DEGRADED)


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules' numbers, taken from the ``collector:`` settings (their defaults live there)."""

    confirm_delays_s: tuple[float, ...]  # one re-probe per delay
    offline_interval_s: float
    flap_changes: int  # more than this many changes ...
    flap_window_s: float  # ... within this window is flapping
    midpoint: bool  # date changes at the probe gap's midpoint (else at the first probe that saw them)

    @classmethod
    def from_settings(cls, c: CollectorSettings, a: AccountingSettings | None = None) -> Policy:
        """*a*: the ``accounting:`` settings (transition dating); None: their defaults."""
        if a is None:
            from collector.settings import AccountingSettings  # lazy: the settings module is not needed to run the rule

            a = AccountingSettings()
        return cls(tuple(c.confirm_delays_s), c.offline_interval_s, c.flap_changes, c.flap_window_s,
                   a.transition_dating == "midpoint")


@dataclass(frozen=True, slots=True)
class Seen:
    """When probes last saw the camera's current state (kept by the caller, see :func:`saw`):
    ``at`` the up/down state (any probe), ``picture_at`` the picture (a video-tier probe)."""

    at: dt.datetime | None = None
    picture_at: dt.datetime | None = None


NOT_SEEN = Seen()


@dataclass(frozen=True, slots=True)
class Pending:
    """Failures seen but not yet confirmed."""

    first_at: dt.datetime
    failures: int
    cause: Cause


@dataclass(frozen=True, slots=True)
class Status:
    state: State = State.UNKNOWN
    cause: Cause | None = None
    since: dt.datetime | None = None
    pending: Pending | None = None
    changes: tuple[dt.datetime, ...] = ()  # recent up/down change times, for flapping
    flapping: bool = False
    video_failed: tuple[str, ...] = ()  # names of failed checks while degraded: VQD checks, then ``clock``


@dataclass(frozen=True, slots=True)
class Outcome:
    """One probe of the fast tier (and, when it ran, of the video tier)."""

    at: dt.datetime  # when the probe started
    ok: bool
    cause: Cause | None = None
    video_failed: tuple[str, ...] | None = None  # None: video not checked by this probe
    clock_failed: bool | None = None  # the clock check; None: the clock not read by this probe
    upstream_up: bool | None = None  # a failure: its parent device checked and answering (False: not); None: not checked


@dataclass(frozen=True, slots=True)
class Changed:
    """A new state interval: it starts at ``start`` (maybe earlier than ``confirmed_at``), known
    to within ``uncertainty_s`` either side (half the probe gap it was dated in)."""

    old: State
    new: State
    cause: Cause | None
    start: dt.datetime
    confirmed_at: dt.datetime
    uncertainty_s: float = 0.0
    upstream_up: bool | None = None  # to offline: the confirming probe's ``Outcome.upstream_up``


@dataclass(frozen=True, slots=True)
class FlappingChanged:
    flapping: bool
    at: dt.datetime
    changes: int = 0  # up/down changes within the flapping window when flagged (what a digest counts from)


Event = Changed | FlappingChanged


def _flap(status: Status, at: dt.datetime, policy: Policy, counted: bool) -> tuple[Status, list[Event]]:
    if not counted and not status.changes and not status.flapping:
        return status, []  # the steady state of a healthy camera: nothing to count or clear
    window = dt.timedelta(seconds=policy.flap_window_s)
    changes = tuple(t for t in status.changes if at - t < window) + ((at,) if counted else ())
    flapping = status.flapping
    events: list[Event] = []
    if not flapping and len(changes) > policy.flap_changes:
        flapping = True
        events.append(FlappingChanged(True, at, len(changes)))
    elif flapping and not counted and (not changes or at - changes[-1] >= window):
        flapping = False
        events.append(FlappingChanged(False, at))
    if flapping is status.flapping and changes == status.changes:
        return status, events  # nothing changed: keep the object (cheap, and caches keyed on it stay valid)
    return replace(status, changes=changes, flapping=flapping), events


def dated(prev: dt.datetime | None, first: dt.datetime, since: dt.datetime | None,
          policy: Policy) -> tuple[dt.datetime, float]:
    """(start, uncertainty) of a change first seen at *first* whose old state was last seen at
    *prev* (None: not seen since it began): the gap's midpoint (or *first*, by the policy), never
    before *since* (the old state's own start), and half the probe gap."""
    if prev is None or prev >= first:
        return first, 0.0
    half = (first - prev) / 2
    start = prev + half if policy.midpoint else first
    if since is not None and start < since:
        start = since
    return start, half.total_seconds()


def saw(status: Status, outcome: Outcome) -> bool:
    """Whether *outcome* (just applied) saw *status*'s state: a success saw an up state, a
    failure an offline one (a failure still being confirmed saw nothing new)."""
    if outcome.ok:
        return status.state.up
    return status.state is State.OFFLINE and status.pending is None


def remember(seen: Seen, status: Status, outcome: Outcome) -> Seen:
    """*seen* after *outcome* gave *status*: the probe saw its state (:func:`saw`), a video-tier
    probe of an up camera saw its picture; a camera not up has no picture seen."""
    at = outcome.at if saw(status, outcome) else seen.at
    if not status.state.up:
        picture = None
    elif outcome.ok and outcome.video_failed is not None:
        picture = outcome.at
    else:
        picture = seen.picture_at
    if at == seen.at and picture == seen.picture_at:
        return seen
    return Seen(at, picture)


def step(status: Status, outcome: Outcome, policy: Policy, seen: Seen = NOT_SEEN) -> tuple[Status, list[Event]]:
    """Apply one probe outcome; *seen*: when probes last saw the current state (see :class:`Seen`).
    A retired camera (:func:`set_retired`) ignores the outcome of a probe that was in flight when
    it left the inventory."""
    if status.state is State.EXCLUDED:
        return status, []
    at = outcome.at
    events: list[Event] = []
    if outcome.ok:
        blind = outcome.video_failed is None  # this probe did not look at the video: a no-video verdict stands
        if blind and status.state is State.OFFLINE and status.cause is Cause.NO_VIDEO:
            return _flap(status, at, policy, counted=False)
        video_failed = _failed_checks(status.video_failed, outcome)
        new = State.DEGRADED if video_failed else State.ONLINE
        keep = video_failed if new is State.DEGRADED else ()
        pending = status.pending if blind and _no_video(status) else None
        if status.pending is pending and status.video_failed == keep:
            cleared = status
        else:
            cleared = replace(status, pending=pending, video_failed=keep)
        if status.state is new:
            s, ev = _flap(cleared, at, policy, counted=False)
            return s, ev
        counted = status.state is State.OFFLINE
        if status.state.up:  # online <-> degraded: the picture's last look (or the clock's: any probe)
            prev = seen.picture_at if outcome.video_failed is not None else seen.at
        else:
            prev = seen.at if status.state is State.OFFLINE else None
        start, unc = dated(prev, at, status.since, policy)
        nxt = replace(cleared, state=new, cause=None, since=start)
        events.append(Changed(status.state, new, None, start, at, unc))
        nxt, ev = _flap(nxt, start, policy, counted=counted)
        return nxt, events + ev

    cause = outcome.cause or Cause.PROTOCOL_ERROR
    if status.state is State.OFFLINE:
        if cause is status.cause:
            s, ev = _flap(status, at, policy, counted=False)
            return s, ev
        # Still offline, for another reason: a new interval so causes are accounted exactly.
        start, unc = dated(seen.at, at, status.since, policy)
        nxt = replace(status, cause=cause, since=start)
        return nxt, [Changed(State.OFFLINE, State.OFFLINE, cause, start, at, unc, outcome.upstream_up)]

    pending = status.pending
    if pending is None:
        pending = Pending(at, 1, cause)
    else:
        pending = Pending(pending.first_at, pending.failures + 1, cause)
    if pending.failures <= len(policy.confirm_delays_s):
        return replace(status, pending=pending), []
    counted = status.state.up
    # the video stopped after the last probe that saw it (not after the last that saw the camera answer)
    last = (seen.picture_at or seen.at) if cause is Cause.NO_VIDEO else seen.at
    start, unc = dated(last if status.state.up else None, pending.first_at, status.since, policy)
    nxt = replace(status, state=State.OFFLINE, cause=cause, since=start, pending=None, video_failed=())
    events.append(Changed(status.state, State.OFFLINE, cause, start, at, unc, outcome.upstream_up))
    nxt, ev = _flap(nxt, start, policy, counted=counted)
    return nxt, events + ev


def _failed_checks(before: tuple[str, ...], outcome: Outcome) -> tuple[str, ...]:
    """The failed checks after a successful probe: what it checked replaces what was known
    (the picture checks by the video tier, the clock by any probe that read it), the rest stays."""
    if outcome.video_failed is None and outcome.clock_failed is None:
        return before
    had_clock = CLOCK in before
    picture = tuple(c for c in before if c != CLOCK) if outcome.video_failed is None else outcome.video_failed
    clock = had_clock if outcome.clock_failed is None else outcome.clock_failed
    after = (*picture, CLOCK) if clock else picture
    return before if after == before else after


def _no_video(status: Status) -> bool:
    """A no-video verdict (DESIGN §3: the video stage's ``no_video``), confirmed or being confirmed:
    only the video tier, which looks at the video, confirms or clears it."""
    if status.state is State.OFFLINE:
        return status.cause is Cause.NO_VIDEO
    return status.pending is not None and status.pending.cause is Cause.NO_VIDEO


def wants_video(status: Status) -> bool:
    """Whether the video tier probes this camera: up, or offline for want of video (its way back)."""
    return status.state.up or (status.state is State.OFFLINE and status.cause is Cause.NO_VIDEO)


def video_delay(status: Status, policy: Policy) -> float | None:
    """Seconds until the camera's next video-tier probe when a no-video verdict is being confirmed
    (the confirmation delays) or stands (the offline interval: its recovery is seen quickly); None:
    its regular video interval."""
    if not _no_video(status):
        return None
    if status.pending is not None:
        return policy.confirm_delays_s[min(status.pending.failures, len(policy.confirm_delays_s)) - 1]
    return policy.offline_interval_s


def next_delay(status: Status, policy: Policy) -> float | None:
    """Seconds until this camera's next re-probe, or None: its next regular (phase-aligned) probe.
    A no-video verdict is the video tier's to confirm or clear (:func:`video_delay`)."""
    if _no_video(status):
        return None
    if status.pending is not None:
        i = min(status.pending.failures, len(policy.confirm_delays_s)) - 1
        return policy.confirm_delays_s[i]
    if status.state is State.OFFLINE:
        return policy.offline_interval_s
    return None


def set_retired(status: Status, at: dt.datetime) -> tuple[Status, list[Event]]:
    """The camera left the monitored inventory (retired): excluded from *at* on (DESIGN §3:
    excluded = an exclusion in force, or retired); the scheduler drops it, so no probe follows."""
    if status.state is State.EXCLUDED:
        return status, []
    return (replace(status, state=State.EXCLUDED, cause=None, since=at, pending=None),
            [Changed(status.state, State.EXCLUDED, None, at, at)])
