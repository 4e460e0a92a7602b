"""What silences withhold, as pure decisions (the engine keeps the state).

A silence in force withholds every message about the incidents it covers (all their cameras still
down: ``AlertEngine._silenced``); incidents and work orders are still recorded. An incident whose
**open** message it withheld is marked ``silenced``: its opening is owed. While it is owed nothing
else is said of it (no update, escalation or reminder, and no recovery message: on-call staff were
never told it began). When no silence covers it any more (ended by hand, ``alerts unsilence`` or
the API, or at its end) while it is still open, its opening is told then, once (:func:`told_late`):
as the incident is then, saying it was withheld, to the channels of the escalation levels its age
has reached as well. The owed flag is stored with the incident (``incidents.silenced``), so a
restart or a new leader tells the opening when its predecessor had not, and a late opening decided
is stored with its delivery key in one transaction: never told twice, never lost.

Messages held over quiet hours are looked at again when released (:func:`unless_silenced`); a
recovery a silence withholds drops what is held of its incident (never an opening alone of an
outage over). A late opening due while quiet hours hold its severity stays owed (stored) until they
end, not held in memory. An escalation level reached while a silence covers the incident is not
used up: it is told when the silence ends, once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import replace

from collector.alerting.model import Incident, Notify, NotifyKind
from collector.alerting.policy import AlertPolicy
from collector.alerting.reminders import escalation_due


def told_late(inc: Incident, judged: Incident, now: dt.datetime, p: AlertPolicy) -> Incident:
    """*inc* (*judged*: with its uplink suspicion decided now) as its late open message tells it at
    *now*: no longer owed, its severity now (never lower than recorded), and the escalation levels
    its age reached (this message tells them: no escalation message follows for those)."""
    sev = max(inc.severity, judged.severity_now(), key=lambda s: s.rank)
    new = replace(judged, severity=sev, silenced=False)
    return replace(new, escalation=max(new.escalation, escalation_due(new, now, p)))


def unless_silenced(released: list[Notify], incidents: Mapping[str, Incident],
                    silenced: Callable[[Incident], bool]) -> tuple[list[Notify], list[Incident]]:
    """Messages released after quiet hours, without those about an open incident a silence covers
    now; with those incidents whose open message was so withheld, marked owed (``silenced``)."""
    out: list[Notify] = []
    owed: list[Incident] = []
    for n in released:
        inc = incidents.get(n.incident_id)
        if inc is None or not silenced(inc):
            out.append(n)
        elif n.kind is NotifyKind.OPEN:
            owed.append(replace(inc, silenced=True))
    return out, owed
