"""Exclusions (报备) in the alert engine: the part of :class:`~collector.alerting.engine.AlertEngine`
that sets aside the cameras of an exclusion in force (no incident, no message, no work order) and
takes them up when it ends (or is removed): a camera still down, or still degraded, is decided then
as if confirmed then, through the normal grouping window."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from collector.alerting.model import Action, Exclusion, Incident, IncidentKind, Inventory, Outage, PictureProblem


class ExclusionRules:
    """The exclusions' state and steps; the engine (a subclass) gives the rest."""

    inventory: Inventory
    down: dict[int, Outage]

    def __init__(self) -> None:
        self.exclusions: tuple[Exclusion, ...] = ()
        # set aside under an exclusion in force: taken up when it ends (outages: see ``down``)
        self.aside: dict[tuple[IncidentKind, int], PictureProblem | None] = {}

    def set_exclusions(self, exclusions: tuple[Exclusion, ...]) -> None:
        """Exclusions in force or to come (each knows its [start, end); an ended or removed one is
        re-evaluated on the next tick)."""
        self.exclusions = tuple(exclusions)

    def _excluded(self, cid: int, now: dt.datetime) -> bool:
        cam = self.inventory.cameras.get(cid)
        return cam is not None and any(x.matches(cam, now) for x in self.exclusions)

    def _take_up(self, now: dt.datetime) -> list[Action]:
        """What exclusions set aside and are no longer in force: decided now, as if confirmed now."""
        out: list[Action] = []
        for (kind, cid), pic in list(self.aside.items()):
            if self._excluded(cid, now):
                continue
            del self.aside[(kind, cid)]
            if cid not in self.inventory.cameras:
                continue
            if pic is not None:
                out += self._picture(replace(pic, at=now))
            elif (o := self.down.pop(cid, None)) is not None:
                out += self._outage(replace(o, at=now))
        return out

    def _set_aside(self, inc: Incident, now: dt.datetime) -> Incident | None:
        """Before an incident is told: its cameras that came under an exclusion leave it (None: none left)."""
        out = [m for m in inc.members if self._excluded(m.camera_id, now)]
        if not out:
            return inc
        for m in out:
            if m.up_at is None:
                pic = PictureProblem(m.camera_id, m.checks, m.start) if inc.kind is IncidentKind.PICTURE else None
                self.aside[(inc.kind, m.camera_id)] = pic
        kept = tuple(m for m in inc.members if m not in out)
        if not any(m.up_at is None for m in kept):
            self._put(replace(inc, members=kept, resolved_at=now))
            return None
        return self._put(replace(inc, members=kept, start=min(m.start for m in kept)))

    # ---- the engine's ----------------------------------------------------------------------
    def _outage(self, o: Outage) -> list[Action]:
        raise NotImplementedError

    def _picture(self, p: PictureProblem) -> list[Action]:
        raise NotImplementedError

    def _put(self, inc: Incident) -> Incident:
        raise NotImplementedError
