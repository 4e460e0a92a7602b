"""Engine inputs from the camera state machine's events: the one place where a state change
(``collector.runtime.camera_state``) becomes an outage, a recovery, a flapping change or a picture
problem for :class:`collector.alerting.engine.AlertEngine`."""

from __future__ import annotations

from collector.alerting.model import AlertInput, Flapping, Outage, PictureOk, PictureProblem, Recovery
from collector.runtime.camera_state import Changed, Event, FlappingChanged, State
from probes.causes import Cause

# A picture problem ends only when the picture is seen good (degraded -> online) or the camera
# leaves the inventory. Going offline or unknown says nothing of the picture; nor does coming back
# online (the picture is not checked yet: the engine waits for that check, see AlertEngine._recovery).


def inputs_of(camera_id: int, event: Event, checks: tuple[str, ...] = ()) -> tuple[AlertInput, ...]:
    """Engine inputs for one ``camera_state`` event (``checks``: the camera's failed VQD checks, if degraded)."""
    if isinstance(event, FlappingChanged):
        return (Flapping(camera_id, event.flapping, event.at, event.changes),)
    assert isinstance(event, Changed)
    out: list[AlertInput] = []
    at = event.confirmed_at
    if event.new is State.OFFLINE:
        out.append(Outage(camera_id, event.cause or Cause.PROTOCOL_ERROR, event.start, at, event.upstream_up))
    elif (event.old is State.OFFLINE and event.new is not State.UNKNOWN) or (event.new.up and not event.old.up):
        # Back up (also first seen up after a restart), or excluded (maintenance). Going unknown
        # (collector lost the camera) leaves its incident open.
        out.append(Recovery(camera_id, at))
    if (event.old is State.DEGRADED and event.new is State.ONLINE) or (event.new is State.EXCLUDED and event.old is not State.EXCLUDED):
        out.append(PictureOk(camera_id, at))  # after the Recovery; a no-op without a picture incident
    if event.new is State.DEGRADED and event.old is not State.DEGRADED:
        out.append(PictureProblem(camera_id, checks, at))
    return tuple(out)
