"""What an open incident is due for besides changes: escalation by age and reminders, as pure decisions.

A picture incident whose cameras still degraded are all *unseen* (offline, or back and their picture
not checked yet) neither opens nor reminds: its picture is unknown, and the cameras offline are their
outage incident's to tell (a reminder every few hours of a picture nobody can see said nothing).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container, Sequence

from collector.alerting.model import Incident, IncidentKind
from collector.alerting.policy import AlertPolicy


def picture_unseen(inc: Incident, unseen: Sequence[Container[int]]) -> bool:
    """True for a picture incident whose cameras still degraded are all in one of *unseen*."""
    return inc.kind is IncidentKind.PICTURE and all(any(m.camera_id in u for u in unseen) for m in inc.down)


def escalation_due(inc: Incident, now: dt.datetime, p: AlertPolicy) -> int:
    """The escalation level *inc* reaches at *now* when it is a new one (1-based), else 0."""
    age = (now - inc.opened_at).total_seconds()
    reached = sum(1 for lv in p.escalation if age >= lv.after_s)
    return reached if reached > inc.escalation and inc.severity.rank >= p.escalate_min_severity.rank else 0


def reminder_due(inc: Incident, now: dt.datetime, last: dt.datetime, p: AlertPolicy,
                 unseen: Sequence[Container[int]]) -> tuple[str, ...] | None:
    """The channels of *inc*'s reminder due at *now* (last told at *last*: its severity's and those of
    the escalation levels reached), or None: not due, or a picture incident whose cameras are unseen."""
    if p.reminder_interval_s <= 0 or (now - last).total_seconds() < p.reminder_interval_s or picture_unseen(inc, unseen):
        return None
    return channels_reached(inc, p)


def channels_reached(inc: Incident, p: AlertPolicy) -> tuple[str, ...]:
    """*inc*'s severity's channels and those of the escalation levels it reached, each once: where
    a message goes once levels were reached (a reminder; an open message told late, after a silence)."""
    chans = p.channels_for(inc.severity) + tuple(c for lv in p.escalation[:inc.escalation] for c in lv.channels)
    return tuple(dict.fromkeys(chans))


def reminded_by(inc: Incident, now: dt.datetime | None, p: AlertPolicy) -> dt.datetime:
    """When *inc*, taken over after a restart at *now*, counts as last told: the start of the
    current reminder interval of its age (its reminder then was sent, unless camwatch was down),
    so the next reminder keeps its time and a restart is no reason to remind. Its opening
    when *now* is not known or reminders are off."""
    every = dt.timedelta(seconds=p.reminder_interval_s)
    if now is None or not every or now <= inc.opened_at:
        return inc.opened_at
    return inc.opened_at + every * ((now - inc.opened_at) // every)
