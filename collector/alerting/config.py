"""``alerts:`` section of the settings (pydantic), turned into the frozen :class:`AlertPolicy`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from collector.alerting.model import Severity
from collector.alerting.policy import AlertPolicy, DeadlinePolicy, EscalationLevel, QuietHours
from collector.config_types import LocalTime, Problem, TimeZoneName, bilingual
from probes.causes import Cause


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EscalationLevelSettings(_Model):
    after_s: float = Field(gt=0, description="incident age (seconds since confirmation) that reaches this level")
    name: str = Field(min_length=1, description="level name shown in messages (e.g. supervisor, township)")
    label: str = Field("", description="the level's name in Chinese messages (default: its name)")
    channels: list[str] = Field(min_length=1, description="channel names (defined in the notify section) this level goes to")


class QuietHoursSettings(_Model):
    enabled: bool = Field(True, description="hold messages of the held severities during quiet hours")
    start: LocalTime = Field("22:00", description="local start (HH:MM); start after end spans midnight")
    end: LocalTime = Field("07:00", description="local end (HH:MM): held messages go out then, one per incident")
    hold: list[Severity] = Field([Severity.LOW], description="severities held: low, normal, critical")


class WorkOrderDeadlineSettings(_Model):
    default_h: float = Field(24.0, gt=0, description="repair deadline (hours) when nothing more specific applies")
    by_severity: dict[Severity, float] = Field({Severity.CRITICAL: 2.0}, description="deadline hours by severity (critical = a village dark or an upstream device down)")
    by_cause: dict[Cause, float] = Field({}, description="deadline hours by cause (e.g. auth_failed: 4); the shortest applicable entry wins")


class AlertPolicySettings(_Model):
    enabled: bool = Field(True, description="decide and send alerts")
    base_url: str = Field("", description="public URL of the camwatch web pages, for links in messages (e.g. http://camwatch.example:9750)")
    language: Literal["zh", "en"] | None = Field(None, description="zh or en: default language of messages (default: the top-level language)")
    timezone: TimeZoneName = Field("Asia/Shanghai", description="time zone of times in messages and of quiet hours")
    group_window_s: float = Field(30.0, ge=0, description="outages in one village or behind one upstream device within this window make one incident")
    recheck_grace_s: float = Field(5.0, ge=0, description="an outage's first message waits for the grouping window, one offline recheck\n"
                                   "(collector.offline_interval_s plus the longest failing probe, probe.reach_timeout_s + probe.rtsp_timeout_s)\n"
                                   "and this much more: a camera back within the window says nothing")
    notify_on_growth: bool = Field(True, description="send an update when an open incident grows past the size last told (at most one per\n"
                                   "grouping window; a rise in severity always sends one at once)")
    upstream_min_cameras: int = Field(3, ge=1, description="'suspected uplink failure' (critical) without a failed upstream device: at least this many\n"
                                      "cameras and half of a village fail within the grouping window with a network cause (unreachable, timeout)")
    digest_window_s: float = Field(1800.0, gt=0, description="flapping cameras: at most one digest message per window")
    reminder_interval_s: float = Field(14400.0, ge=0, description="remind while an incident stays open (seconds; 0 = off)")
    escalation: list[EscalationLevelSettings] = Field(
        [EscalationLevelSettings(after_s=3600, name="supervisor", label="主管", channels=["supervisor"]),
         EscalationLevelSettings(after_s=86400, name="township", label="乡镇", channels=["township"])],
        description="escalation levels by incident age, each with its own channels",
    )
    escalate_min_severity: Severity = Field(Severity.NORMAL, description="lowest severity that escalates")
    channels: dict[Severity, list[str]] = Field(
        {Severity.LOW: ["default"], Severity.NORMAL: ["default"], Severity.CRITICAL: ["default"]},
        description="channel names per severity for open/update/resolve/reminder/digest messages",
    )
    quiet_hours: QuietHoursSettings = Field(QuietHoursSettings(), description="quiet hours for low-severity messages")
    work_order_deadlines: WorkOrderDeadlineSettings = Field(WorkOrderDeadlineSettings(), description="repair deadlines of work orders")
    max_listed: int = Field(10, gt=0, description="cameras named in one message")
    tick_s: float = Field(5.0, gt=0, description="how often the alert engine checks windows, reminders and escalation")

    @field_validator("escalation")
    @classmethod
    def _ordered(cls, v: list[EscalationLevelSettings]) -> list[EscalationLevelSettings]:
        if [x.after_s for x in v] != sorted(x.after_s for x in v):
            raise bilingual("escalation levels must be in increasing after_s order", "升级级别应按 after_s 从小到大排列")
        return v

    def channel_references(self, *, explicit: bool | None = None) -> list[tuple[str, str]]:
        """(key path, channel name) of every channel these settings send to, in the file's order;
        *explicit* True: only those of keys given (file, variables), False: only defaults'."""
        given = self.model_fields_set
        out: list[tuple[str, str]] = []
        if explicit is None or explicit == ("channels" in given):
            out += [(f"alerts.channels.{getattr(sev, 'value', sev)}.{i}", ch)
                    for sev, chs in self.channels.items() for i, ch in enumerate(chs)]
        if explicit is None or explicit == ("escalation" in given):
            out += [(f"alerts.escalation.{n}.channels.{i}", ch)
                    for n, level in enumerate(self.escalation) for i, ch in enumerate(level.channels)]
        return out

    def to_policy(self, recheck_s: float = 0.0) -> AlertPolicy:
        """*recheck_s*: how long an offline recheck's answer may take (``Settings.recheck_answer_s``),
        which an outage's first message waits for after the grouping window (0: none)."""
        q = self.quiet_hours
        d = self.work_order_deadlines
        return AlertPolicy(
            group_window_s=self.group_window_s, recheck_s=recheck_s, recheck_grace_s=self.recheck_grace_s,
            notify_on_growth=self.notify_on_growth, upstream_min_cameras=self.upstream_min_cameras,
            digest_window_s=self.digest_window_s,
            reminder_interval_s=self.reminder_interval_s,
            escalation=tuple(EscalationLevel(x.after_s, x.name, tuple(x.channels), x.label) for x in self.escalation),
            escalate_min_severity=self.escalate_min_severity,
            channels=tuple((s, tuple(ch)) for s, ch in self.channels.items()),
            quiet=QuietHours(dt.time.fromisoformat(q.start), dt.time.fromisoformat(q.end), self.timezone, frozenset(q.hold), q.enabled),
            deadlines=DeadlinePolicy(d.default_h, tuple(d.by_severity.items()), tuple(d.by_cause.items())),
            base_url=self.base_url, timezone=self.timezone, max_listed=self.max_listed,
        )


def unknown_channels(refs: Sequence[tuple[str, str]], configured: Sequence[str]) -> list[Problem]:
    """A problem per reference (key path, channel name) to a channel that *configured* lacks."""
    known = ", ".join(configured)
    return [(key, f"no channel named {name}; configured: {known}", f"没有名为 {name} 的通道；已配置：{known}")
            for key, name in refs if name not in configured]


def unrouted_warning(alerts: AlertPolicySettings, configured: Sequence[str]) -> tuple[str, str] | None:
    """(English, Chinese) warning that alerts go to channels not configured, when that is no
    error: none configured at all (a fresh install, a demo: it runs, and says that no message
    will be sent), or the default routes (keys not given) naming other channels than those
    configured (e.g. one e-mail channel for reports). None otherwise."""
    if not alerts.enabled:
        return None
    refs = alerts.channel_references() if not configured else alerts.channel_references(explicit=False)
    names = list(dict.fromkeys(name for _, name in refs if name not in configured))
    if not names:
        return None
    if not configured:
        return (f"alerts are routed to channels that are not configured ({', '.join(names)}): notify.channels is empty, "
                "so no alert message will be sent",
                f"告警发往的通道（{'、'.join(names)}）均未配置：notify.channels 为空，不会发送任何告警消息")
    known = ", ".join(configured)
    return (f"alerts are routed by default to channels that are not configured ({', '.join(names)}): no alert message "
            f"is sent to them; route alerts.channels and alerts.escalation to channels of notify.channels ({known})",
            f"告警默认发往的通道（{'、'.join(names)}）未配置，发往这些通道的告警消息不会发送；请在 alerts.channels 和 "
            f"alerts.escalation 中改用 notify.channels 中的通道（{known}）")
