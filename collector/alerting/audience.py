"""What the alert engine's messages may say: the part of :class:`~collector.alerting.engine.AlertEngine`
that leaves muted cameras out of them and holds escalation of an acknowledged incident.

* A camera under a silence (or an exclusion in force) is left out of an incident's messages:
  their counts, lists and causes (:meth:`Audience._visible`); a change made only by such cameras
  (one joining, one recovering) says nothing; an incident whose every down camera is muted says
  nothing at all (:meth:`Audience._silenced`). The incident record and its work order keep every
  camera.
* An incident whose work order someone acknowledged (已接单, 处理中) is not escalated further while
  its order's deadline has not passed; once it has (the order overdue), escalation resumes and says
  who took the order and when (:meth:`Audience._ack_note`).
* A camera flagged flapping is left out of the messages of a told incident it was in (it goes into
  the digest; never said recovered); a recovery message says the causes as last told
  (:meth:`Audience._worded`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from collector.alerting.messages import local
from collector.alerting.model import CameraInfo, Exclusion, Incident, Inventory, NotifyKind, Silence
from probes.causes import Cause


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """An unresolved work order acknowledged (处理中): its incident, when, by whom (when known), its deadline."""

    incident_id: str
    at: dt.datetime
    deadline: dt.datetime
    by: str = ""


class Audience:
    """Muting and acknowledgements; the engine (a subclass) gives the rest."""

    inventory: Inventory
    silences: tuple[Silence, ...]
    exclusions: tuple[Exclusion, ...]

    flapping: set[int]

    def __init__(self) -> None:
        super().__init__()
        self.acks: dict[str, Acknowledged] = {}
        self.flap_left: set[tuple[str, int]] = set()  # (incident, camera): left a told incident when flagged flapping
        self.told: dict[str, dict[int, Cause | None]] = {}  # each open incident's causes as last told

    def set_acknowledged(self, acks: tuple[Acknowledged, ...]) -> None:
        """The acknowledged unresolved work orders (every one: those not listed are not acknowledged)."""
        self.acks = {a.incident_id: a for a in acks}

    def _muted(self, cam: CameraInfo, now: dt.datetime) -> bool:
        """No message about this camera: a silence or an exclusion in force."""
        return any(s.matches(cam, now) for s in self.silences) or any(x.matches(cam, now) for x in self.exclusions)

    def _muted_id(self, cid: int, now: dt.datetime) -> bool:
        return cid in self.inventory.cameras and self._muted(self.inventory.cameras[cid], now)

    def _silenced(self, inc: Incident, now: dt.datetime) -> bool:
        members = inc.down or inc.members
        return bool(members) and all(self._muted_id(m.camera_id, now) for m in members if m.camera_id in self.inventory.cameras)

    def _visible(self, inc: Incident, now: dt.datetime) -> Incident:
        """*inc* as its messages tell it: without its muted cameras (as it is when every one is muted:
        then nothing is said of it)."""
        shown = tuple(m for m in inc.members if not self._muted_id(m.camera_id, now)
                      and m.camera_id not in self.flapping and (inc.id, m.camera_id) not in self.flap_left)
        if not shown or len(shown) == len(inc.members) or (inc.down and all(m.up_at is not None for m in shown)):
            return inc
        return replace(inc, members=shown, start=min(m.start for m in shown))

    def _worded(self, kind: NotifyKind, shown: Incident) -> Incident:
        """*shown* as a message of *kind* says it: a recovery with the causes last told (a cause seen in
        its last seconds, the cameras answering again behind a router back first, is not the outage's);
        any other message's causes are remembered as told."""
        if kind is not NotifyKind.RESOLVE:
            self.told[shown.id] = {m.camera_id: m.cause for m in shown.members}
            return shown
        told = self.told.pop(shown.id, {})
        self.flap_left = {k for k in self.flap_left if k[0] != shown.id}
        return replace(shown, members=tuple(replace(m, cause=told.get(m.camera_id, m.cause)) for m in shown.members))

    def _escalation_held(self, inc: Incident, now: dt.datetime) -> bool:
        """Someone took *inc*'s work order and its deadline has not passed: no further escalation."""
        ack = self.acks.get(inc.id)
        return ack is not None and now <= ack.deadline

    def _ack_note(self, inc: Incident, tz: str) -> tuple[str, str] | None:
        """What an escalation says of an acknowledged order overdue (Chinese, English), else None."""
        ack = self.acks.get(inc.id)
        if ack is None:
            return None
        when = local(ack.at, tz)
        return (f"已于 {when} 由 {ack.by} 接单，已超期" if ack.by else f"已于 {when} 接单，已超期",
                f"acknowledged at {when}{f' by {ack.by}' if ack.by else ''}, now overdue")
