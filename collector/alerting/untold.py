"""Openings a restart must not lose (the single collector's path, ``camwatch run``).

Messages held over quiet hours live in the engine's memory (``AlertEngine.held``), so a restart
before they end would drop an opening that was decided but never sent, and the incident's
recovery would then be the first its on-call staff hear of it. At a restart an unresolved
incident decided told (``sent``), not owed by a silence (``silenced``: told when the silence
ends, :mod:`collector.alerting.withheld`), whose open message never reached a channel (no
``alert_log`` row of its opening sent: :func:`collector.alerting.incident_store.openings_sent`)
has its opening decided again (:meth:`AlertEngine.restore`): held again when quiet hours hold its
severity, else sent at the next tick, to every channel told of it (its severity's and those of
the escalation levels it reached: :func:`collector.alerting.reminders.channels_reached`).

An incident none of whose channels is configured (a demo, a fresh install) is left as it is: no
opening of it can reach a channel, and deciding it again at every restart would say nothing.
An opening that reached its channel and whose log row was not written (the process killed in
between) is sent again: once more rather than never.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from collector.alerting.model import Action, Incident, IncidentChanged, NotifyKind
from collector.alerting.policy import AlertPolicy
from collector.alerting.reminders import channels_reached


def untold_openings(incidents: Iterable[Incident], opened: Collection[str], configured: Collection[str],
                    p: AlertPolicy) -> tuple[str, ...]:
    """The ids of the restored *incidents* whose opening is to be decided again: unresolved, told,
    not owed by a silence, not in *opened* (their opening reached a channel), with a channel in
    *configured*."""
    return tuple(i.id for i in incidents
                 if i.resolved_at is None and i.sent and not i.silenced and i.id not in opened
                 and any(c in configured for c in channels_reached(i, p)))


class RetoldOpenings:
    """The part of :class:`~collector.alerting.engine.AlertEngine` that decides again the openings
    :meth:`~collector.alerting.engine.AlertEngine.restore` found untold (``retell``)."""

    policy: AlertPolicy
    incidents: dict[str, Incident]
    retell: list[str]

    def _untold(self, untold: Collection[str], now: dt.datetime | None) -> None:
        """After :meth:`restore`: the openings of *untold* (open incidents) are decided again, into
        ``held`` at once when quiet hours hold them at *now*, else at the next tick."""
        self.retell = [k for k in untold if k in self.incidents]
        if now is not None:
            self._retell(now, held=True)

    def _retell(self, now: dt.datetime, *, held: bool = False) -> list[Action]:
        """Those openings decided now, as the engine makes an opening (a silence in force withholds
        it and leaves it owed, stored); *held*: only those quiet hours hold now (into ``held``)."""
        hold = self.policy.quiet.holds
        keys = [k for k in self.retell if k in self.incidents and (not held or hold(self.incidents[k].severity, now))]
        self.retell = [k for k in self.retell if k not in keys]
        out: list[Action] = []
        for inc in [self.incidents[k] for k in keys]:
            out += self._emit(inc, NotifyKind.OPEN, now, channels_reached(inc, self.policy))
            out.append(IncidentChanged(self.incidents[inc.id]))
        return out

    # ---- the engine's ----------------------------------------------------------------------
    def _emit(self, inc: Incident, kind: NotifyKind, now: dt.datetime, channels: tuple[str, ...] | None = None, *,
              late: bool = False) -> list[Action]:
        raise NotImplementedError
