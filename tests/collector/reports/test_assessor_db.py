"""An assessor's November 2026 on real SQLite and PostgreSQL (tests/collector/reports/county.py):
the report's figures against the hand computation, a camera retired mid-month (its faults listed
and scored, its time after retirement not "unwatched"), an exclusion across the month's end
(its hours in the month), the close time printed in local time; and the pure rules behind them."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from collector.accounting import CameraRef, CameraTimes, time_from_us
from collector.reports.build import build_report
from collector.reports.completeness import completeness_figures
from collector.reports.details import fault_rows
from collector.reports.model import Report, ReportPeriod
from collector.reports.periods import month_period
from collector.reports.score import score_note, unmonitored
from collector.reports.sheets import overlap_hours
from collector.reports.workbook import workbook_bytes
from inventory.db import create_engine
from tests.collector.reports.county import COUNTY, EAST, SOUTH, WEST, build_county, local
from tests.collector.reports.fleet import cli, settings

NOV = month_period(2026, 11, "Asia/Shanghai")
AT = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)  # the report's "now": November is over
H = 3600.0
S = 1_000_000  # microseconds a second


def report(url: str, month: ReportPeriod = NOV) -> Report:
    async def go() -> Report:
        engine = create_engine(url)
        try:
            return await build_report(engine, settings(url), month, AT)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_november_as_computed_by_hand(db_url: str, tmp_path: Path) -> None:
    ids = build_county(db_url, tmp_path)
    r = report(db_url)
    rows = {x.code: x for x in (*r.counties, *r.townships)}
    # time-weighted: online / (online + offline) hours, exclusions and unknown time left out
    assert rows[EAST].rate == round(2064 / 2112, 4) == 0.9773  # E3's 48 h under the exclusion left out
    assert rows[EAST].rate_without_exclusions == round(2064 / 2160, 4)
    assert rows[WEST].rate == round((720 + 360 + 206 + 714.96) / (720 + 360 + 216 + 720), 4)  # W2 from 11-16, W3 to 11-10
    assert rows[SOUTH].rate == round(2848.8 / 2856, 4)  # S3's unknown day left out
    assert rows[COUNTY].rate == round(6913.76 / 6984, 4) and rows[COUNTY].rate_without_exclusions == round(6913.76 / 7032, 4)
    assert [(t.code, t.rank) for t in sorted(r.townships, key=lambda t: t.rank or 0)] == [(SOUTH, 1), (WEST, 2), (EAST, 3)]
    # coverage: 东二村 and 西二村 have one covered point of two (a point not built; W3 retired)
    assert [(x.code, x.coverage) for x in (*r.counties, *r.townships)] == [
        (COUNTY, round(4 / 6, 4)), (EAST, 0.5), (WEST, 0.5), (SOUTH, 1.0)]

    # faults over 8 h, the month's local days: E2 12 h (not the 4 h of a UTC month); W3 retired since
    assert [(f.camera_id, f.fault_seconds / H) for f in r.faults] == [(ids["E1"], 36.0), (ids["E2"], 12.0), (ids["W3"], 10.0)]
    assert [d.subject for d in r.score.deductions] == [str(ids["E1"]), str(ids["E2"]), str(ids["W3"])]
    assert r.score.total == 97.0

    # completeness: W3's 20 days after retirement are not unwatched time, nor W2's 15 days before
    # it entered monitoring (its first interval, 11-16: no part of its time); S3's day is.
    # 西乡: W1 720 + W2 360 + W3 216 + W4 720 = 2016 h, all known; the county: 东镇 3 × 720 +
    # 西乡 2016 + 南街道 4 × 720 = 7056 h, of which S3's 24 h unknown
    done = {c.code: c for c in r.completeness}
    assert (done[WEST].window_seconds / H, done[WEST].known_seconds / H, done[WEST].unknown_seconds / H) == (2016, 2016, 0)
    assert done[WEST].known_share == 1.0
    assert (done[COUNTY].window_seconds / H, done[COUNTY].unknown_seconds / H) == (7056, 24)
    assert done[EAST].known_share == 1.0
    for c in r.completeness:
        assert c.window_seconds == c.known_seconds + c.unknown_seconds

    # the workbook: the exclusion's hours in November beside its whole span
    wb = load_workbook(io.BytesIO(workbook_bytes(r)))
    ws = wb["报备"]
    head = [c.value for c in ws[2]]
    row = dict(zip(head, [c.value for c in ws[3]], strict=True))
    assert row["时长（小时）"] == 72 and row["其中本期（小时）"] == 48
    faults = wb["故障明细"]
    assert "W3" in [faults.cell(row=i, column=2).value for i in range(3, faults.max_row + 1)]


def test_a_month_not_watched_has_no_coverage(db_url: str, tmp_path: Path) -> None:
    """August: before camwatch's first state (09-01): no rate, no coverage (not 0%) for the county
    as for its townships, no score. No camera had entered monitoring: no camera-time to watch at
    all (window 0, known share None, "—"), not 0 % known."""
    build_county(db_url, tmp_path)
    r = report(db_url, month_period(2026, 8, "Asia/Shanghai"))
    assert [(x.rate, x.coverage) for x in (*r.counties, *r.townships)] == [(None, None)] * 4
    assert [(c.window_seconds, c.known_share) for c in r.completeness] == [(0, None)] * 4
    assert unmonitored(r.completeness) and score_note(r.completeness, "zh") == "本期无监测数据，不计分"


def test_close_and_diff_in_words(db_url: str, tmp_path: Path) -> None:
    """``report close`` prints its time as camwatch prints times (local, with the zone); ``report
    diff`` names the township and the figure and shows rates as percentages."""
    build_county(db_url, tmp_path)
    code, out = cli(db_url, "report", "close", "--month", NOV.label)
    assert code == 0, out
    assert "+08:00" in out and "UTC" not in out, out
    code, out = cli(db_url, "report", "close", "--month", NOV.label, lang="en")
    assert code == 0 and "was already closed" in out and "+08:00" in out, out
    code, out = cli(db_url, "exclusion", "add", "--region", WEST, "--from", "2026-11-05 09:00", "--to", "2026-11-05 16:00",
                    "--reason", "线路检修", "--approver", "李主任")
    assert code == 0, out
    code, out = cli(db_url, "report", "diff", "--month", NOV.label)
    assert code == 0, out
    # 7 h of W1, W3 and W4 (W4's 5.04 h down among them) left out; W2 not installed yet
    was, now = round(2000.96 / 2016, 4), round((2000.96 - 3 * 7 + 5.04) / (2016 - 3 * 7), 4)
    assert f"乡镇/街道 西乡（{WEST}）\t在线率（扣除报备）\t{was:.2%}\t{now:.2%}" in out.splitlines(), out
    assert "报备 西乡" in out


@pytest.mark.parametrize(("start", "end", "hours"), [
    ("2026-11-29 00:00", "2026-12-02 00:00", 48.0),  # across the month's end
    ("2026-10-31 20:00", "2026-11-01 02:00", 2.0),  # across its start (local midnight, 16:00 UTC)
    ("2026-11-05 09:00", "2026-11-05 16:00", 7.0),  # inside
    ("2026-10-01 00:00", "2026-12-31 00:00", 720.0),  # the whole month
    ("2026-12-01 00:00", "2026-12-02 00:00", 0.0),  # after (touching the end)
])
def test_overlap_hours(start: str, end: str, hours: float) -> None:
    assert overlap_hours(local(start), local(end), NOV.start, NOV.end) == hours


def _times(window_h: int, up_h: int, down_h: int) -> CameraTimes:
    t = time_from_us(window_h * 3600 * S, up_h * 3600 * S, 0, down_h * 3600 * S)
    return CameraTimes(t, t)


@pytest.mark.parametrize(("up", "down", "unknown", "want"), [
    (700, 20, 0, (720, 720, 0, 1.0)),
    (1000, 16, 140, (1156, 1016, 140, round(1016 / 1156, 4))),  # (a retired camera's time after: not in its time)
    (0, 0, 0, (0, 0, 0, None)),  # only a camera retired before the period: nothing to watch
    (0, 0, 720, (720, 0, 720, 0.0)),  # nothing watched
])
def test_completeness_figures(up: int, down: int, unknown: int, want: tuple[int, int, int, float | None]) -> None:
    raw = time_from_us((up + down + unknown) * 3600 * S, up * 3600 * S, 0, down * 3600 * S)
    window, known, unk, share = completeness_figures(raw)
    assert (float(window) / 3600, float(known) / 3600, float(unk) / 3600, share) == want


def test_a_retired_camera_keeps_its_faults() -> None:
    cams = [CameraRef(1, 1, "v", "t", "c"), CameraRef(2, 2, "v", "t", "c", retired=True)]
    times = {1: _times(720, 710, 10), 2: _times(720, 206, 10)}
    rows = fault_rows(cams, times=times, causes={}, fault_hours=8, names={})
    assert [f.camera_id for f in rows] == [1, 2]
