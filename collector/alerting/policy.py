"""The alert policy as frozen values (built from ``AlertPolicySettings`` in ``config``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from collector.alerting.model import IncidentKind, Severity
from probes.causes import Cause


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    after_s: float  # incident age (since confirmation) that reaches this level
    name: str
    channels: tuple[str, ...]
    label: str = ""  # the level's name in Chinese messages (else its name)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Messages of the held severities wait until ``end`` (local time); start > end spans midnight."""

    start: dt.time = dt.time(22, 0)
    end: dt.time = dt.time(7, 0)
    timezone: str = "Asia/Shanghai"
    hold: frozenset[Severity] = frozenset({Severity.LOW})
    enabled: bool = True

    def active(self, now: dt.datetime) -> bool:
        if not self.enabled or self.start == self.end:
            return False
        t = now.astimezone(ZoneInfo(self.timezone)).time()
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def holds(self, severity: Severity, now: dt.datetime) -> bool:
        return severity in self.hold and self.active(now)


@dataclass(frozen=True, slots=True)
class DeadlinePolicy:
    """Repair deadline of a work order: the shortest of the entries that apply (cause, severity), else the default."""

    default_h: float = 24.0
    by_severity: tuple[tuple[Severity, float], ...] = ((Severity.CRITICAL, 2.0),)
    by_cause: tuple[tuple[Cause, float], ...] = ()

    def hours(self, cause: Cause | None, severity: Severity) -> float:
        found = [h for s, h in self.by_severity if s is severity] + [h for c, h in self.by_cause if c is cause]
        return min(found) if found else self.default_h

    def deadline(self, opened_at: dt.datetime, cause: Cause | None, severity: Severity) -> dt.datetime:
        return opened_at + dt.timedelta(hours=self.hours(cause, severity))

    def earliest(self, opened_at: dt.datetime, causes: Iterable[Cause | None], severity: Severity) -> dt.datetime:
        """The deadline of an incident whose cameras have these causes: the most urgent of theirs
        (an incident of mostly long-deadline causes gets a minority's short one); none: the default."""
        return min((self.deadline(opened_at, c, severity) for c in causes),
                   default=self.deadline(opened_at, None, severity))


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    group_window_s: float = 30.0
    notify_on_growth: bool = True  # an update when an incident grows past what was told (one per window; severity rises always notify)
    upstream_min_cameras: int = 3  # network failures (and half a village) in one window: a suspected uplink failure
    digest_window_s: float = 1800.0
    reminder_interval_s: float = 4 * 3600.0  # 0 = no reminders
    escalation: tuple[EscalationLevel, ...] = (
        EscalationLevel(3600.0, "supervisor", ("supervisor",), "主管"),
        EscalationLevel(86400.0, "township", ("township",), "乡镇"),
    )
    escalate_min_severity: Severity = Severity.NORMAL
    channels: tuple[tuple[Severity, tuple[str, ...]], ...] = (
        (Severity.LOW, ("default",)), (Severity.NORMAL, ("default",)), (Severity.CRITICAL, ("default",)),
    )
    quiet: QuietHours = field(default_factory=QuietHours)
    deadlines: DeadlinePolicy = field(default_factory=DeadlinePolicy)
    base_url: str = ""
    timezone: str = "Asia/Shanghai"
    max_listed: int = 10  # cameras named in one message
    # a degraded camera back up from offline/unknown: time for its first picture check (the video tier
    # looks at once, within its frame timeout) before its picture incident counts as fixed
    picture_recheck_s: float = 60.0
    # how long an offline recheck's answer may take after the probe before it (the recheck interval and
    # the longest failing probe: ``Settings.recheck_answer_s``; 0: none waited for), and the time more
    # it may take to reach the engine (the interval writer, the way to the leader)
    recheck_s: float = 0.0
    recheck_grace_s: float = 5.0

    def open_due(self, kind: IncidentKind, opened_at: dt.datetime) -> dt.datetime:
        """When an incident opened at *opened_at* is first told: the grouping window's end; an outage
        one offline recheck's answer later, so a camera back within the window is seen back by then
        (a recheck starts ``offline_interval_s`` after the probe before it ended, that probe at most the
        longest failing probe after the window's end: ``recheck_s`` counts both)."""
        wait = self.group_window_s
        if kind is IncidentKind.OUTAGE and self.recheck_s > 0:
            wait += self.recheck_s + self.recheck_grace_s
        return opened_at + dt.timedelta(seconds=wait)

    def channels_for(self, severity: Severity) -> tuple[str, ...]:
        for s, ch in self.channels:
            if s is severity:
                return ch
        return ()
