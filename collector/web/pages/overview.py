"""``/`` 总览 and ``/cameras`` (the camera list alert digests link to).

Figures are the collector's (``App.figures``: time-weighted availability from the daily rollups
and coverage, recomputed every ``collector.figures_interval_s``); current counts come from the
scheduler's in-memory slots; nothing here reads the state intervals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from aiohttp import web

from collector.accounting.ranking import ranks
from collector.alerting import incident_store as store
from collector.alerting.workorders import Color, color
from collector.runtime.camera_state import State
from collector.runtime.scheduler import CameraSlot
from collector.runtime.since_bridge import Bridged, SinceBridge
from collector.web.common import camwatch
from collector.web.pages.derived import derived, regions_of, scope_key
from collector.web.pages.render import View, paginate, rate_colour, render, view
from collector.web.pages.scope import Regions, can_order, readable, region_reads, whole_figures
from probes.causes import Cause


@dataclass(frozen=True, slots=True)
class RegionRow:
    code: str
    name: str
    cameras: int
    online: int
    offline: int
    online_ratio: float | None
    month: float | None
    target: float | None
    colour: str
    coverage: float | None
    fully_covered: int | None  # None (shown "—") when the reader may not see the region whole, as its coverage
    villages: int | None
    rank: int = 0  # among all its siblings with a rate this month (of them: ``of``)
    of: int = 0
    left_out: str = ""  # the cameras the online ratio leaves out, in words ("另有 6 台报备中")


class Counts(NamedTuple):
    """Cameras now: the online ratio is online (degraded too) over online and offline; the
    excluded and unknown ones leave it (what the page says beside "45/51 · 100.00%")."""

    cameras: int
    online: int
    offline: int
    ratio: float | None
    excluded: int
    unknown: int


def now_counts(slots: Iterable[CameraSlot]) -> Counts:
    n = up = down = excluded = 0
    for s in slots:
        n += 1
        st = s.shown
        if st is State.ONLINE or st is State.DEGRADED:
            up += 1
        elif st is State.OFFLINE:
            down += 1
        elif st is State.EXCLUDED:
            excluded += 1
    return Counts(n, up, down, up / (up + down) if up + down else None, excluded, n - up - down - excluded)


def region_rows(v: View, regions: Regions, codes: list[str], level: str, slots: list[CameraSlot]) -> list[RegionRow]:
    """One row per region in *codes* (townships or villages), ranked by this month's rate."""
    app = camwatch(v.request)
    fig = app.figures
    at = 1 if level == "township" else 2
    by: dict[str, list[CameraSlot]] = {}
    for s in slots:
        lb = s.cam.labels
        by.setdefault((lb.county, lb.township, lb.village)[at], []).append(s)
    rows = []
    for code in codes:
        path = regions.path(code)
        whole = whole_figures(v.principal, path)
        n, up, down, ratio, excluded, unknown = now_counts(by.get(code, ()))
        month = fig.availability.get((level, code, "month")) if whole else None
        target = fig.targets.get((level, code))
        kids = [k.code for k in regions.children.get(code, [])] if level == "township" else []
        covs = [c for c in (fig.coverage.get(("village", k)) for k in kids) if c is not None]
        rows.append(RegionRow(code, regions.name(code), n, up, down, ratio, month, target, rate_colour(month, target),
                              fig.coverage.get((level, code)) if whole else None,
                              sum(1 for c in covs if c >= 1.0) if whole else None, len(covs) if whole else None,
                              left_out=v.left_out(excluded, unknown)))
    # ranked among all the region's siblings (a township leader sees their township's county rank,
    # not "1 of the 1 shown"); only the rank and the count are shown of regions out of scope.
    # Equal rates share a rank (1, 2, 2, 4) as `camwatch rates --rank`, the API and the report give
    # it; within a tie the better coverage is listed first. code -> (rank, of, place in the list)
    placed: dict[str, tuple[int, int, int]] = {}
    for parent in {regions.path(code)[-2:-1] for code in codes}:
        siblings = [k.code for k in regions.children.get(parent[0], [])] if parent else codes
        rates = {k: fig.availability.get((level, k, "month")) for k in siblings}
        shared = competition_ranks(rates)
        known = sorted((k for k, m in rates.items() if m is not None),
                       key=lambda k: (shared[k] or 0, -(fig.coverage.get((level, k)) or 0.0), k))
        placed.update({k: (shared[k] or 0, len(known), i) for i, k in enumerate(known)})
    out = []
    for r in rows:
        rank, of, _ = placed.get(r.code, (0, 0, 0)) if r.month is not None else (0, 0, 0)
        out.append(dataclasses.replace(r, rank=rank, of=of))
    return sorted(out, key=lambda r: (r.rank == 0, placed[r.code][2] if r.rank else 0, r.code))


def competition_ranks(rates: Mapping[str, float | None]) -> dict[str, int | None]:
    """The ranks of *rates* by :func:`collector.accounting.ranking.ranks` (the one rule of the CLI,
    the API and the report), the figures' floats read back as the rounded ratios they were."""
    return ranks({k: None if m is None else Decimal(str(m)) for k, m in rates.items()})


@dataclass(frozen=True, slots=True)
class Filters:
    township: str | None
    village: str | None
    cause: str | None
    contractor: str | None
    state: str | None
    flapping: bool


def filters(request: web.Request, default_state: str | None) -> Filters:
    q = request.query
    state = q.get("state", default_state) or None
    return Filters(q.get("township") or None, q.get("village") or None, q.get("cause") or None,
                   q.get("contractor") or None, state if state in {s.value for s in State} else None,
                   q.get("flapping") in ("1", "true"))


def apply(f: Filters, slots: list[CameraSlot]) -> list[CameraSlot]:
    out = []
    want = State(f.state) if f.state else None  # compared by identity: an enum's .value costs over 100k cameras
    for s in slots:
        lb = s.cam.labels
        if ((want is not None and s.shown is not want) or (f.township and lb.township != f.township)
                or (f.village and lb.village != f.village) or (f.contractor and s.cam.contractor != f.contractor)
                or (f.cause and (s.status.cause is None or s.status.cause.value != f.cause))
                or (f.flapping and not s.status.flapping)):
            continue
        out.append(s)
    return out


def village_choices(villages: list[tuple[str, str, str]], f: Filters) -> tuple[list[tuple[str, str, str]], bool]:
    """The village options the filter lists: the chosen township's (or the chosen village's
    township's), else all of them while they are few (a township reader's); over a county of
    thousands of villages none until a township is chosen (listing 18,750 made every overview
    1.5 MB and cost it half a second). Second: whether some were left out."""
    town = f.township
    if town is None and f.village:
        town = next((t for c, _, t in villages if c == f.village), None)
    if town:
        return [x for x in villages if x[2] == town], False
    if len(villages) <= MAX_VILLAGE_OPTIONS:
        return villages, False
    return [], True


def filter_options(v: View, slots: list[CameraSlot], f: Filters) -> dict[str, Any]:
    choices = derived(v.request).get(("choices", scope_key(v.principal), id(slots)), lambda: _choices(slots))
    villages, more = village_choices(choices["villages"], f)
    return {**choices, "villages": villages, "villages_later": more,
            "causes": [(c.value, v.cause(c)) for c in Cause], "states": [(s.value, v.state_any(s.value)) for s in State]}


def _choices(slots: list[CameraSlot]) -> dict[str, Any]:
    towns: dict[str, str] = {}
    villages: dict[str, tuple[str, str]] = {}
    contractors: set[str] = set()
    for s in slots:
        lb = s.cam.labels
        towns[lb.township] = lb.township_name
        villages[lb.village] = (lb.village_name, lb.township)
        if s.cam.contractor:
            contractors.add(s.cam.contractor)
    return {"townships": sorted(towns.items()),
            "villages": sorted(((c, n, t) for c, (n, t) in villages.items()), key=lambda x: x[0]),
            "contractors": sorted(contractors)}


def camera_items(v: View, slots: list[CameraSlot]) -> list[dict[str, Any]]:
    bridge = camwatch(v.request).since_bridge
    out = []
    for s in slots:
        lb = s.cam.labels
        checks = s.failed_checks() if s.shown is State.DEGRADED else ()
        gap = bridge.of(s.cam.id, s.status)
        since = s.status.since if gap is None else gap.since
        out.append({"id": s.cam.id, "name": s.cam.name, "township": lb.township_name, "village": lb.village_name,
                    "village_code": lb.village, "state": s.shown.value, "state_words": v.state(s.shown.value, checks),
                    "cause": v.cause(s.status.cause) if s.shown is State.OFFLINE else (v.checks(checks) if checks else ""),
                    "since": v.when(since), "ago": v.ago(since), "flapping": s.status.flapping,
                    "gap": "" if gap is None else unwatched_words(v, gap), "contractor": s.cam.contractor or ""})
    return out


def unwatched_words(v: View, gap: Bridged) -> str:
    """"其间 12-05 17:00 至 17:05 camwatch 未在监测（状态未知）": the gap a camera's "since" spans."""
    a, b = v.when(gap.gap_from), v.when(gap.gap_to)
    return v.t("unwatched_gap", a=a[5:], b=b[11:] if a[:10] == b[:10] else b[5:])


FAR = dt.datetime.max.replace(tzinfo=dt.UTC)
MAX_VILLAGE_OPTIONS = 300


def _by_since(slots: list[CameraSlot], bridge: SinceBridge) -> list[CameraSlot]:
    """Longest down first (down since before a gap in the watch counts from then)."""
    return sorted(slots, key=lambda s: (bridge.since(s.cam.id, s.status) or FAR, s.cam.id))


def readable_slots(v: View) -> list[CameraSlot]:
    """The reader's cameras by id (kept a few seconds: :mod:`collector.web.pages.derived`)."""
    slots = camwatch(v.request).scheduler.slots
    return derived(v.request).get(("readable", scope_key(v.principal), id(slots)), lambda: readable(v.principal, slots))


def cached_rows(v: View, regions: Regions, codes: list[str], level: str, slots: list[CameraSlot]) -> list[RegionRow]:
    """:func:`region_rows`, kept a few seconds per scope and for as long as the same figures."""
    key = ("rows", scope_key(v.principal), level, tuple(codes), id(slots), id(camwatch(v.request).figures))
    return derived(v.request).get(key, lambda: region_rows(v, regions, codes, level, slots))


async def overview_page(request: web.Request) -> web.Response:
    v = view(request)
    app = camwatch(request)
    d, sk = derived(request), scope_key(v.principal)
    regions = await regions_of(request)
    slots = readable_slots(v)
    reads = region_reads(v.principal, regions, slots)  # (a contractor: the townships holding its cameras)
    towns = [r.code for r in regions.of_level("township") if reads(r.code)]
    rows = cached_rows(v, regions, towns, "township", slots)
    f = filters(request, "offline")
    offline = paginate(d.get(("by_since", sk, id(slots), f), lambda: _by_since(apply(f, slots), app.since_bridge)), request,
                       shape=lambda page: camera_items(v, page))
    orders = [o for o in await store.list_work_orders(app.engine, open_only=True)
              if can_order(v.principal, o, app.scheduler.slots, regions)]
    by_colour = {c.value: 0 for c in Color}
    for o in orders:
        by_colour[color(o, v.now).value] += 1
    counts = d.get(("counts", sk, id(slots)), lambda: now_counts(slots))
    return render(v, "overview.html", {
        "rows": rows, "offline": offline, "f": f, "opts": filter_options(v, slots, f), "by_colour": by_colour,
        "total": now_words(v, counts), "at": v.when(v.now),
        "figures_at": app.figures is not None, "figures_note": figures_note(v, app), "month_at": month_as_of(v, app),
    })


def now_words(v: View, c: Counts) -> dict[str, Any]:
    """A page's "online now" card: the counts, and what its ratio leaves out in words."""
    return {"cameras": c.cameras, "online": c.online, "offline": c.offline, "ratio": c.ratio,
            "left_out": v.left_out(c.excluded, c.unknown)}


def figures_note(v: View, app: Any) -> str:
    """What this month's rates are (time-weighted, excluded time left out) and as of when, to the
    second (``camwatch rates --to`` at that time gives them, but for changes recorded after it and
    dated before it: a failure is dated back once confirmed); that they lag the live counts by up
    to ``collector.figures_interval_s`` and that /reports, summed when it is opened, may differ;
    or that they are being summed (a start: nothing shown yet, not a made-up 0)."""
    at = app.figures.computed_at
    if at is None:
        return v.t("month_rate_pending")
    return v.t("month_rate_at", at=v.when(at, seconds=True), every=figures_every(app))


def figures_every(app: Any) -> int:
    """``collector.figures_interval_s`` in whole minutes (at least 1)."""
    return max(1, round(float(app.settings.collector.figures_interval_s) / 60))


def month_as_of(v: View, app: Any) -> str | None:
    """"12-05 19:57": the instant the month's rates were summed to, said beside them (a table's
    header, a card), or None before the first sums."""
    at = app.figures.computed_at
    return None if at is None else v.when(at)[5:]


async def cameras_page(request: web.Request) -> web.Response:
    v = view(request)
    slots = readable_slots(v)
    f = filters(request, None)
    chosen = derived(request).get(("apply", scope_key(v.principal), id(slots), f), lambda: apply(f, slots))
    items = paginate(chosen, request, shape=lambda page: camera_items(v, page))
    return render(v, "cameras.html", {"items": items, "f": f, "opts": filter_options(v, slots, f)})
