"""A span is cut by its camera's real next span, even when that one lies before the period.

A stale open interval (end NULL, left behind by a crash) is closed by the camera's next interval.
When that next interval ended before the period, a reader that selects only the intervals
overlapping the period sees the stale one run on into the period and counts its state there.
Every reading path (rate tables of each method, coverage, current states, the report's snapshot
rates, per-cause fault split and coverage) must give the figures of the pure rule over *all*
stored spans, on real SQLite and PostgreSQL.

February 2026 in Asia/Shanghai. Per camera (local times):

* ``up``: online Jan 1 (never closed); offline Jan 5 - Jan 31; nothing until online Feb 3 (open).
  Truth in February: unknown until Feb 3, then online. Uncut: online from Feb 1.
* ``fault``: offline (refused) Jan 1, never closed; online Jan 5 - Jan 31; offline (timeout)
  Feb 3 - Feb 10; online from Feb 10. Truth: 7 days offline, all timeout; uncut: 2 more refused.
* ``down``: offline (unreachable) Jan 20, open: all February offline (a real open interval).
* ``cover``: offline (refused) Jan 1, never closed; online Jan 5 - Jan 31; online from Feb 5.
  Truth: 100 % of its known time online (covered); uncut: 4 days offline of 28 (not covered).
* ``excl``: as ``fault`` without its February outage (online from Feb 3), with an exclusion
  Feb 10 - Feb 11 (the cameras an exclusion touches go the pure way in the database sums).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from collector.accounting import (
    CameraRef,
    ExclusionSpan,
    Level,
    Period,
    StateSpan,
    camera_times,
    index_exclusions,
    rates_by,
    snapshot_rates_by,
    to_us,
    village_coverage_over,
)
from collector.accounting.sql.load import current_states, load_accounting
from collector.accounting.sql.rate_tables import CoverageLevel, Method, RateQuery, coverage_table, load_rate_table
from collector.accounting.sql.rollups import build_rollups
from collector.accounting.timeline import segments
from collector.reports.build import build_report
from collector.reports.details import cause_times
from collector.reports.model import Kind
from collector.reports.periods import containing
from collector.reports.snapshot_sums import snapshot_ratios
from collector.settings import load_settings
from inventory.models import Exclusion, StateInterval
from tests.collector.test_accounting_sql import PERIODS, all_exclusions, all_spans, inventory_db, store_random

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
CHECKS = (dt.time(9), dt.time(15), dt.time(21))
DAY_S = 86_400
MONTH = containing(Kind.MONTHLY, dt.datetime(2026, 2, 10, tzinfo=SH), TZ)
P = Period(MONTH.start, MONTH.end)
NOW = dt.datetime(2026, 3, 10, tzinfo=SH)


def local(month: int, day: int) -> dt.datetime:
    return dt.datetime(2026, month, day, tzinfo=SH)


def _row(cid: int, state: str, start: dt.datetime, end: dt.datetime | None, cause: str | None = None) -> dict[str, Any]:
    return {"camera_id": cid, "state": state, "cause": cause, "start": start, "end": end}


def timelines(up: int, fault: int, down: int, cover: int, excl: int) -> list[dict[str, Any]]:
    stale_off = [("offline", local(1, 1), None, "refused"), ("online", local(1, 5), local(1, 31), None)]
    plan: dict[int, list[tuple[str, dt.datetime, dt.datetime | None, str | None]]] = {
        up: [("online", local(1, 1), None, None), ("offline", local(1, 5), local(1, 31), "timeout"),
             ("online", local(2, 3), None, None)],
        fault: [*stale_off, ("offline", local(2, 3), local(2, 10), "timeout"), ("online", local(2, 10), None, None)],
        down: [("offline", local(1, 20), None, "unreachable")],
        cover: [*stale_off, ("online", local(2, 5), None, None)],
        excl: [*stale_off, ("online", local(2, 3), None, None)],
    }
    return [_row(cid, *span) for cid, spans in plan.items() for span in spans]


def overlapping(spans: Sequence[StateSpan], period: Period) -> list[StateSpan]:
    """What the faulty readers read: only the spans overlapping the period."""
    return [s for s in spans if s.start < period.end and (s.end is None or s.end > period.start)]


def _ratio(v: Decimal | None) -> float | None:
    return None if v is None else float(v)


def _pick(cams: Sequence[CameraRef]) -> list[CameraRef]:
    """Five cameras of the township with the most, each at its own point."""
    towns: dict[str, list[CameraRef]] = {}
    for c in sorted(cams, key=lambda c: c.camera_id):
        towns.setdefault(c.township, []).append(c)
    town = max(towns.values(), key=len)
    picked: list[CameraRef] = []
    for c in town:
        if all(c.point_id != p.point_id for p in picked):
            picked.append(c)
    assert len(picked) >= 5
    return picked[:5]


async def test_every_path_cuts_a_stale_span_by_a_span_ended_before_the_period(db_url: str) -> None:
    async with inventory_db(db_url) as (engine, cams):
        up, fault, down, cover, excl_cam = picked = _pick(cams)
        ids = [c.camera_id for c in picked]
        async with engine.begin() as conn:
            await conn.execute(insert(StateInterval), timelines(*ids))
            await conn.execute(insert(Exclusion), [{"camera_id": excl_cam.camera_id, "region_code": None,
                                                    "start": local(2, 10), "end": local(2, 11), "reason": "停电报备",
                                                    "approver": "王科长", "status": "approved"}])
        spans = await all_spans(engine)
        excl: list[ExclusionSpan] = await all_exclusions(engine)
        town, county = up.township, up.county

        # the truth: the pure rule over every stored span
        times = camera_times(cams, spans, excl, P, NOW)
        assert times[up.camera_id].without_exclusions.unknown_s == 2 * DAY_S  # Feb 1 - 3 unknown
        assert times[up.camera_id].without_exclusions.offline_s == 0
        assert times[fault.camera_id].with_exclusions.offline_s == 7 * DAY_S
        assert times[cover.camera_id].with_exclusions.offline_s == 0
        snap = {lv: {r.key: r.ratio for r in snapshot_rates_by(lv, cams, spans, excl, P, NOW, check_times=CHECKS, tz=TZ)}
                for lv in (Level.TOWNSHIP, Level.COUNTY)}
        snap_raw = {r.key: r.ratio for r in snapshot_rates_by(Level.TOWNSHIP, cams, spans, excl, P, NOW, check_times=CHECKS,
                                                              tz=TZ, apply_exclusions=False)}
        # (the spans overlapping February alone give other figures: the data shows the fault)
        uncut = overlapping(spans, P)
        assert camera_times(cams, uncut, excl, P, NOW)[up.camera_id].without_exclusions.unknown_s == 0
        assert {r.key: r.ratio for r in snapshot_rates_by(Level.TOWNSHIP, cams, uncut, excl, P, NOW, check_times=CHECKS,
                                                          tz=TZ)}[town] != snap[Level.TOWNSHIP][town]

        # what load_accounting reads gives the truth's figures
        data = await load_accounting(engine, P)
        pure_data = camera_times(data.cameras, data.spans, data.exclusions, P, NOW)
        assert pure_data == camera_times(data.cameras, spans, excl, P, NOW)

        for built in (False, True):
            if built:  # the time rates from the daily rollups too
                await build_rollups(engine, NOW, lag=dt.timedelta(hours=1))
            # rate tables: time, intact and snapshot, per township and county
            by_level: dict[Level, dict[Method, dict[str, Any]]] = {}
            for level in (Level.TOWNSHIP, Level.COUNTY):
                want = {r.key: r for r in rates_by(level, cams, spans, excl, P, NOW)}
                tables = {m: {str(r["key"]): r for r in (await load_rate_table(
                    engine, RateQuery(level, m, P, NOW, TZ, CHECKS), default_target=0.95))["rows"]}
                    for m in Method}
                by_level[level] = tables
                for key, r in want.items():
                    assert tables[Method.TIME][key]["ratio"] == _ratio(r.ratio), (built, level, key)
                    assert tables[Method.INTACT][key]["ratio"] == _ratio(r.intact_ratio), (built, level, key)
                for key, ratio in snap[level].items():
                    assert tables[Method.SNAPSHOT][key]["ratio"] == _ratio(ratio), (built, level, key)
                    if level is Level.TOWNSHIP:
                        assert tables[Method.SNAPSHOT][key]["ratio_without_exclusions"] == _ratio(snap_raw[key])

            # coverage over the period
            covered = {v.village: v for v in village_coverage_over(data.points, cams,
                                                                  {c: t.with_exclusions for c, t in times.items()})}
            cov = {r["code"]: r for r in coverage_table(data, CoverageLevel.VILLAGE, P, NOW)["rows"]}
            for code, v in covered.items():
                assert cov[code]["covered_points"] == v.covered_points, (built, code)
            assert cov[cover.village]["covered_points"] >= 1

            # the report's snapshot rates (database sums), with and without exclusions
            for x in (excl, []):
                want_t = {r.key: r.ratio for r in snapshot_rates_by(Level.TOWNSHIP, cams, spans, x, P, NOW,
                                                                    check_times=CHECKS, tz=TZ)}
                want_c = {r.key: r.ratio for r in snapshot_rates_by(Level.COUNTY, cams, spans, x, P, NOW,
                                                                    check_times=CHECKS, tz=TZ)}
                towns, counties = await snapshot_ratios(engine, cams, index_exclusions(x), P, NOW, check_times=CHECKS,
                                                        tz=TZ, parents=data.parents)
                assert {k: towns.get(k) for k in want_t} == want_t
                assert counties[county] == want_c[county]

            # the report's per-cause split: the offline time, all of it with its real cause
            causes = await cause_times(engine, P, NOW, cams, index_exclusions(excl))
            assert causes.get(fault.camera_id) == {"timeout": 7 * DAY_S * 1_000_000}
            assert causes.get(down.camera_id) == {"unreachable": 28 * DAY_S * 1_000_000}
            assert not causes.get(up.camera_id) and not causes.get(cover.camera_id) and not causes.get(excl_cam.camera_id)
            assert {c: sum(v.values()) for c, v in causes.items() if sum(v.values())} == {
                c: int(t.with_exclusions.offline_s * 1_000_000) for c, t in times.items() if t.with_exclusions.offline_s}

            # the report: every figure the tables give, faults split by their real causes
            report = await build_report(engine, load_settings(None, db_url=db_url), MONTH, NOW)
            for level, rows in ((Level.TOWNSHIP, report.townships), (Level.COUNTY, report.counties)):
                for r in rows:
                    tables = by_level[level]
                    assert r.snapshot_rate == tables[Method.SNAPSHOT][r.code]["ratio"] == _ratio(snap[level][r.code])
                    assert r.rate == tables[Method.TIME][r.code]["ratio"]
                    assert r.intact_rate == tables[Method.INTACT][r.code]["ratio"]
            row = {r.code: r for r in report.townships}[town]
            assert row.snapshot_rate is not None and row.rate is not None
            town_cov = {r["code"]: r for r in coverage_table(data, CoverageLevel.TOWNSHIP, P, NOW)["rows"]}[town]
            assert row.coverage == town_cov["ratio"] and row.fully_covered_villages == town_cov["fully_covered"]
            villages = {v.code: v for v in report.villages}
            for code, v in covered.items():
                assert villages[code].online_points == v.covered_points, (built, code)
            faults = {f.camera_id: f for f in report.faults}
            assert set(faults) == {fault.camera_id, down.camera_id}
            for f in faults.values():
                assert sum(c.seconds for c in f.causes) == f.fault_seconds
            assert [c.cause for c in faults[fault.camera_id].causes] == ["timeout"]


async def test_current_states_cut_by_a_closed_later_span(db_url: str) -> None:
    """The state now is the camera's latest span's, when still open: a stale open span that a later
    (closed) one cuts is no state now, whatever window the spans were read for."""
    async with inventory_db(db_url) as (engine, cams):
        up, fault, down, cover, excl_cam = _pick(cams)
        async with engine.begin() as conn:
            await conn.execute(insert(StateInterval), timelines(up.camera_id, fault.camera_id, down.camera_id,
                                                                cover.camera_id, excl_cam.camera_id))
        now = local(2, 2)
        for since in (local(1, 3), now, local(1, 10)):
            data = await load_accounting(engine, Period(since, now))
            states = current_states(data, now)
            assert states == {down.camera_id: "offline"}, since
        later = local(2, 6)
        states = current_states(await load_accounting(engine, Period(local(1, 3), later)), later)
        assert states == {up.camera_id: "online", fault.camera_id: "offline", down.camera_id: "offline",
                          cover.camera_id: "online", excl_cam.camera_id: "online"}
        # the coverage now follows them
        rows = coverage_table(await load_accounting(engine, Period(local(1, 3), now)), CoverageLevel.VILLAGE, None, now)
        assert sum(r["covered_points"] for r in rows["rows"]) == 0


async def test_loaded_spans_give_the_figures_of_every_span(db_url: str) -> None:
    """On random timelines (stale open spans, overlaps, ties, gaps): the spans ``load_accounting``
    reads for a period give the same times, snapshot rates and current states as every stored span."""
    async with inventory_db(db_url) as (engine, cams):
        rnd = random.Random(7)
        await store_random(engine, rnd, cams)
        spans = await all_spans(engine)
        excl = await all_exclusions(engine)
        differs = 0
        for period, now in PERIODS:
            data = await load_accounting(engine, period)
            assert len(data.spans) < len(spans)
            want = camera_times(cams, spans, excl, period, now)
            assert camera_times(cams, data.spans, excl, period, now) == want, period
            for x in (excl, []):
                assert snapshot_rates_by(Level.VILLAGE, cams, data.spans, x, period, now) == snapshot_rates_by(
                    Level.VILLAGE, cams, spans, x, period, now), period
            differs += sum(1 for cid, t in camera_times(cams, overlapping(spans, period), excl, period, now).items()
                           if t != want[cid])
            # the state at an instant, from spans read for a window ending there
            end = min(period.end, now)
            truth = {cid: s[-1][2] for cid in {c.camera_id for c in cams}
                     if (s := segments(spans, cid, to_us(end))) and (s[-1][1] is None or s[-1][1] > to_us(end))}
            got = current_states(await load_accounting(engine, Period(min(period.start, end), end)), end)
            assert got == truth, period
        assert differs >= 2  # (stale spans that the overlap alone would count)
