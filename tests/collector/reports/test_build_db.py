"""Every figure of a report equals ``camwatch rates --json`` / ``coverage --json`` for the same
month, on real SQLite and PostgreSQL; details (faults, work orders, exclusions) from the rows."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from collector.reports.build import build_report, rank
from collector.reports.model import Report
from inventory.db import create_engine
from tests.collector.reports.fleet import cli_json, last_month, seed, settings

NOW = dt.datetime.now(dt.UTC)


def build(url: str, month: Any, now: dt.datetime = NOW) -> Report:
    async def go() -> Report:
        engine = create_engine(url)
        try:
            return await build_report(engine, settings(url), month, now)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def local_days(month: Any) -> tuple[str, str]:
    from zoneinfo import ZoneInfo

    z = ZoneInfo(month.timezone)
    return month.start.astimezone(z).date().isoformat(), (month.end.astimezone(z).date() - dt.timedelta(days=1)).isoformat()


def close(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= 0.0001 + 1e-12)


def test_rank_table() -> None:
    assert rank({"a": 0.9, "b": 0.95, "c": 0.9, "d": None, "e": 0.8}) == {"b": 1, "a": 2, "c": 2, "e": 4}
    assert rank({}) == {}


def test_figures_equal_the_rate_and_coverage_tables(db_url: str) -> None:
    month = last_month(NOW)
    seeded = seed(db_url, month)
    report = build(db_url, month)
    lo, hi = local_days(month)
    span = ("--from", lo, "--to", hi)
    assert report.closed and report.period.label == month.label
    assert len(report.townships) == len(seeded["townships"]) >= 2
    for level, rows in (("county", report.counties), ("township", report.townships)):
        by = {m: {str(r["key"]): r for r in cli_json(db_url, "rates", "--level", level, "--method", m, *span)["rows"]}
              for m in ("time", "intact", "snapshot")}
        assert {r.code for r in rows} == {k for k in by["time"] if k}
        for r in rows:
            t = by["time"][r.code]
            assert close(r.rate, t["ratio"]) and close(r.rate_without_exclusions, t["ratio_without_exclusions"])
            assert r.cameras == t["cameras"] and r.target == t["target"] and r.met == t["compliant"]
            assert close(r.intact_rate, by["intact"][r.code]["ratio"])
            assert close(r.snapshot_rate, by["snapshot"][r.code]["ratio"])
            if "uncertainty_pp" in t:
                assert close(r.uncertainty_pp, t["uncertainty_pp"])
    assert any(r.rate != r.rate_without_exclusions for r in report.townships)  # the exclusions counted
    villages = {r["code"]: r for r in cli_json(db_url, "coverage", "--level", "village", *span)["rows"]}
    assert {v.code for v in report.villages} == set(villages)
    for v in report.villages:
        c = villages[v.code]
        assert (v.planned_points, v.built_points, v.online_points, v.fully_covered) == (
            c["planned_points"], c["built_points"], c["covered_points"], c["fully_covered"])
        assert close(v.coverage, c["ratio"]) and close(v.built_coverage, c["built_ratio"])
    towns = {r["code"]: r for r in cli_json(db_url, "coverage", "--level", "township", *span)["rows"]}
    for r in report.townships:
        c = towns[r.code]
        assert (r.villages, r.fully_covered_villages) == (c["villages"], c["fully_covered"])
        assert close(r.coverage, c["ratio"]) and close(r.built_coverage, c["built_ratio"])
    # ranks and their change as `rates --rank` gives them; the previous month's ranks beside them
    ranked = {str(r["key"]): r for r in cli_json(db_url, "rates", "--rank", *span)["rows"]}
    for r in report.townships:
        assert (r.rank, r.rank_change) == (ranked[r.code]["rank"], ranked[r.code]["rank_change"])
    rated = sorted((r for r in report.townships if r.rate is not None), key=lambda r: -(r.rate or 0))
    assert rated[0].rank == 1 and all(r.previous_rank is not None for r in rated)
    assert all(r.rank_change == (r.previous_rank or 0) - (r.rank or 0) for r in rated)
    # monitoring completeness: the known time of `rates --json`
    rows = {str(r["key"]): r for r in cli_json(db_url, "rates", "--level", "county", *span)["rows"]}
    rows.update(by["time"])
    for c in report.completeness:
        assert abs(c.known_seconds - rows[c.code]["known_s"]) < 1e-3 and c.known_share == rows[c.code]["known_share"]
        assert c.unknown_seconds <= c.window_seconds - c.known_seconds + 1e-3


def test_details(db_url: str) -> None:
    month = last_month(NOW)
    seed(db_url, month)
    report = build(db_url, month)
    assert report.faults, "the random month has cameras over 8 h"
    for f in report.faults:
        assert f.fault_seconds > 8 * 3600
        assert abs(sum(c.seconds for c in f.causes) - f.fault_seconds) < 1e-3, f
        assert list(f.causes) == sorted(f.causes, key=lambda c: -c.seconds)
    assert [o.colour for o in report.work_orders] == ["red", "green", "green", "red", "green", "red"]
    assert report.work_orders[0].acknowledge_seconds == 20 * 60
    assert report.work_orders[0].fix_seconds == 30 * 3600 and report.work_orders[5].fix_seconds is None
    assert [(e.scope, e.reason) for e in report.exclusions] == [("region", "线路检修"), ("camera", "停电报备")]  # not the proposal
    county = report.completeness[0]
    assert county.level == "county" and 0 < (county.known_share or 0) < 1
    assert report.score.deductions and report.score.total < 100
    reds = [d for d in report.score.deductions if d.rule == "red_work_order"]
    assert len(reds) == 3
