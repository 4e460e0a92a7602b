"""Quiet hours and the flapping digest: messages the engine holds back and sends later, as pure steps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

from collector.alerting import messages
from collector.alerting.messages import incident_message
from collector.alerting.model import CameraInfo, Incident, Inventory, Notify, NotifyKind, Severity
from collector.alerting.policy import AlertPolicy

_ORDER = (NotifyKind.RESOLVE, NotifyKind.OPEN, NotifyKind.ESCALATE, NotifyKind.UPDATE, NotifyKind.REMINDER)


def release(held: list[Notify], incidents: Mapping[str, Incident], inventory: Inventory, now: dt.datetime,
            policy: AlertPolicy) -> tuple[list[Notify], tuple[str, ...]]:
    """After quiet hours: one message per incident and channel, re-worded *now*, and the digest;
    with the ids of the still-open incidents told now. A held resolve is the one message of its
    incident, to every channel anything was held for; else each channel gets the most important
    message held for it (the duty channel its opening, an escalation level's its escalation), one
    message per kind chosen, to the channels that chose it."""
    by_inc: dict[str, list[Notify]] = {}
    out: list[Notify] = []
    told: list[str] = []
    digest: Notify | None = None
    for n in held:
        if n.kind is NotifyKind.DIGEST:
            digest = n
        else:
            by_inc.setdefault(n.incident_id, []).append(n)
    for key, ns in by_inc.items():
        inc = incidents.get(key)
        for best, channels in _per_channel(ns):
            if inc is not None and best.kind is not NotifyKind.RESOLVE:
                best = replace(best, severity=inc.severity, at=now,
                               message=incident_message(best.kind, inc, inventory, now, policy, late=best.late))
            out.append(replace(best, channels=channels))
        if inc is not None:
            told.append(key)
    if digest is not None:
        out.append(digest)
    return out, tuple(told)


def _per_channel(ns: list[Notify]) -> list[tuple[Notify, tuple[str, ...]]]:
    """One incident's held messages as (message, its channels): a resolve alone to every channel;
    else, per channel, the most important message held for it (the first held of its kind),
    grouped by what was chosen (its kind; an opening told late apart), most important first."""
    every = tuple(dict.fromkeys(c for n in ns for c in n.channels))
    resolve = next((n for n in ns if n.kind is NotifyKind.RESOLVE), None)
    if resolve is not None:
        return [(resolve, every)]
    chosen: dict[tuple[NotifyKind, bool], tuple[Notify, list[str]]] = {}
    for c in every:
        best = min((n for n in ns if c in n.channels), key=lambda n: _ORDER.index(n.kind))
        chosen.setdefault((best.kind, best.late), (best, []))[1].append(c)
    return sorted(((n, tuple(cs)) for n, cs in chosen.values()), key=lambda p: _ORDER.index(p[0].kind))


@dataclass
class FlapDigest:
    """Changes of flapping cameras, told in one digest message at most once per ``digest_window_s``."""

    changes: dict[int, int] = field(default_factory=dict)
    since: dt.datetime | None = None  # first change not yet told
    last: dt.datetime | None = None  # last digest sent

    def activity(self, camera_id: int, at: dt.datetime, n: int = 1) -> None:
        """*n* changes of a flapping camera (when flagged: the changes that made it flapping)."""
        self.changes[camera_id] = self.changes.get(camera_id, 0) + n
        if self.since is None:
            self.since = at

    def take(self, now: dt.datetime, inventory: Inventory, down: Collection[int], flapping: Collection[int],
             muted: Callable[[CameraInfo], bool], policy: AlertPolicy) -> Notify | None:
        """The digest due at *now* (the changes are then forgotten), or None."""
        if self.since is None:
            return None
        due = self.since + dt.timedelta(seconds=policy.group_window_s)
        if self.last is not None:
            due = max(due, self.last + dt.timedelta(seconds=policy.digest_window_s))
        if now < due:
            return None
        items = []
        for cid, n in sorted(self.changes.items()):
            cam = inventory.cameras.get(cid)
            if cam is None or muted(cam):
                continue
            items.append(messages.DigestItem(cam, n, cid in down, cid in flapping))
        self.changes.clear()
        self.since = None
        if not items:
            return None
        self.last = now
        key = f"digest-{now.astimezone(dt.UTC):%Y%m%d%H%M%S}"
        msg = messages.digest_message(tuple(items), now, policy)
        return Notify(key, NotifyKind.DIGEST, Severity.LOW, policy.channels_for(Severity.LOW), msg, now)
