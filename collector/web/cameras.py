"""``/api/v1/cameras`` (from the scheduler's in-memory slots) and ``/api/v1/cameras/{id}``.

A camera's recent intervals are the stored ones, each ``end`` cut at the start of the camera's
next interval (:func:`effective_ends`, the accounting's rule,
:func:`collector.accounting.timeline.segments`): an interval left open by a crash (stored end NULL)
shows where it really ended, and only the camera's current interval has no end.

Nothing here ever returns a camera's host credentials: only ids, names, places and states are
shown, and every free-text probe detail and warning is passed through
:func:`probes.detail_words.safe_detail` with the camera's password: one that holds it is withheld
whole (never a ``***`` at the password's place, which would tell it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from aiohttp import web
from sqlalchemy import select

from collector.runtime.camera_state import State
from collector.runtime.scheduler import CameraSlot
from collector.runtime.since_bridge import SinceBridge
from collector.web.bodies import Camera, CameraDetail, Interval, LastProbe
from collector.web.common import camwatch, iso, json_response
from collector.web.params import choice, page, path_int, text_param
from collector.web.scope import camera_slot, visible
from inventory.models import StateInterval
from probes.causes import Cause
from probes.detail_words import safe_detail
from probes.kept import KeptResult

RECENT_INTERVALS = 50


def camera_json(slot: CameraSlot, bridge: SinceBridge) -> Camera:
    cam, st = slot.cam, slot.status
    lb = cam.labels
    gap = bridge.of(cam.id, st)
    return {
        "id": cam.id,
        "name": cam.name,
        "state": slot.shown.value,
        "probed_state": st.state.value,
        "cause": st.cause.value if st.cause is not None else None,
        "since": iso(st.since),
        "state_since": iso(st.since if gap is None else gap.since),
        "unwatched": None if gap is None else {"start": iso(gap.gap_from) or "", "end": iso(gap.gap_to) or ""},
        "flapping": st.flapping,
        "village": lb.village, "village_name": lb.village_name,
        "township": lb.township, "township_name": lb.township_name,
        "county": lb.county, "county_name": lb.county_name,
        "last_probe_at": iso(slot.last_at),
        "video_ok": slot.video_ok,
    }


def _matches(slot: CameraSlot, state: State | None, cause: Cause | None,
             county: str | None, township: str | None, village: str | None) -> bool:
    lb = slot.cam.labels
    return ((state is None or slot.shown is state)
            and (cause is None or slot.status.cause is cause)
            and (county is None or lb.county == county)
            and (township is None or lb.township == township)
            and (village is None or lb.village == village))


async def list_cameras(request: web.Request) -> web.Response:
    state = choice(request, "state", State)
    cause = choice(request, "cause", Cause)
    county, township, village = (text_param(request, k) for k in ("county", "township", "village"))
    paging = page(request)
    slots = camwatch(request).scheduler.slots
    chosen = [s for _, s in sorted(slots.items()) if _matches(s, state, cause, county, township, village)]
    chosen = visible(request, chosen)
    body = paging.apply(chosen)
    bridge = camwatch(request).since_bridge
    body["items"] = [camera_json(s, bridge) for s in body["items"]]
    return json_response(body)


def _last_probe(slot: CameraSlot, *, video: bool = False) -> LastProbe | None:
    """The fast tier's last probe, or (*video*) the video tier's last one while it fails."""
    last = slot.video_last if video else slot.last
    if last is None:
        return None
    pw = slot.cam.target.password
    return {
        "at": iso(last.at if isinstance(last, KeptResult) else None),
        "state": last.state,
        "cause": last.cause.value if last.cause is not None else None,
        "stages": [{"stage": r.stage.value, "ok": r.ok, "ms": round(r.duration_s * 1000.0, 1),
                    "cause": r.cause.value if r.cause is not None else None, "detail": safe_detail(r.detail, (pw,))}
                   for r in last.stages],
    }


def effective_ends(spans: Sequence[tuple[dt.datetime, dt.datetime | None]], now: dt.datetime
                   ) -> list[dt.datetime | None]:
    """Each span's end cut at the next one's start, for the camera's (start, stored end) spans by
    (start, id), as :func:`collector.accounting.timeline.segments` cuts them: a span is cut only by
    a next one that has started by *now*; a span that starts where its next one does ends there."""
    out: list[dt.datetime | None] = []
    for i, (_, end) in enumerate(spans):
        nxt = spans[i + 1][0] if i + 1 < len(spans) else None
        if nxt is not None and nxt <= now and (end is None or end > nxt):
            end = nxt
        out.append(end)
    return out


async def get_camera(request: web.Request) -> web.Response:
    cid = path_int(request, "id")
    app = camwatch(request)
    slot = camera_slot(request, cid)  # 404 out of the principal's scope too
    async with app.engine.connect() as conn:
        rows = (await conn.execute(
            select(StateInterval.state, StateInterval.cause, StateInterval.start, StateInterval.end)
            .where(StateInterval.camera_id == cid)
            .order_by(StateInterval.start.desc(), StateInterval.id.desc())
            .limit(RECENT_INTERVALS)
        )).all()
    pw = slot.cam.target.password
    last = slot.last
    # each cut by the one after it (the rows oldest first, by (start, id)); listed newest first
    ends = effective_ends([(a, b) for _, _, a, b in reversed(rows)], app.clock())[::-1]
    intervals: list[Interval] = [{"state": s, "cause": c, "start": iso(a) or "", "end": iso(e)}
                                 for (s, c, a, _), e in zip(rows, ends, strict=True)]
    body: CameraDetail = {
        **camera_json(slot, app.since_bridge),
        "contractor": slot.cam.contractor,
        "lifecycle": slot.cam.lifecycle.value,
        "pending": slot.status.pending is not None,
        "video_failed": list(slot.status.video_failed),
        "recent_intervals": intervals,
        "last_probe": _last_probe(slot),
        "last_video_probe": _last_probe(slot, video=True),
        "clock_offset_s": last.clock_offset_s if last is not None else None,
        "warnings": [safe_detail(w, (pw,)) for w in last.warnings] if last is not None else [],
    }
    return json_response(body)
