"""Every --from/--to/--until of the `camwatch` command reads times one way (collector.accounting.timeparse):
one clear line for a bad one, the end of a day for a day alone, local times with the zone shown."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from collector.cli.notify_cmds import test_message as build_test_message
from collector.cli.report_cmds import rate_lines
from tests.collector.test_cli_inventory import SAMPLE, camwatch

VILLAGE = "130123101201"  # 大前村1 of the sample inventory


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("dates")
    assert camwatch(d, "init").returncode == 0
    assert camwatch(d, "inventory", "import", str(SAMPLE)).returncode == 0
    return d


def one_line_error(r, *starts: str) -> str:  # type: ignore[no-untyped-def]
    assert r.returncode == 2 and "Traceback" not in r.stderr and not r.stdout, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(starts), lines
    assert "+00:00" not in lines[0]  # no UTC instant the user never typed
    return str(lines[0])


def test_a_bad_time_is_one_line_naming_the_option_and_the_formats(county: Path) -> None:
    line = one_line_error(camwatch(county, "coverage", "--from", "yesterday"), "camwatch: --from：“yesterday”无法识别")
    assert "YYYY-MM-DD HH:MM[:SS]" in line and "Unix 时间戳" in line and "Asia/Shanghai" in line
    line = one_line_error(camwatch(county, "--lang", "en", "rates", "--to", "2026-02-30"), "camwatch: --to: '2026-02-30' is not a valid")
    assert "epoch seconds" in line
    one_line_error(camwatch(county, "--lang", "en", "exclusion", "add", "--camera", "1", "--from", "2026-11-20",
                            "--to", "next week", "--reason", "x", "--approver", "y"), "camwatch: --to: 'next week' is not")
    line = one_line_error(camwatch(county, "alerts", "silence", "--camera", "1", "--until", "soon"), "camwatch: --until：“soon”")
    assert "2h" in line
    # a period the wrong way round echoes what was typed
    line = one_line_error(camwatch(county, "--lang", "en", "rates", "--from", "2026-11-05", "--to", "2026-11-01"),
                          "camwatch: --to: --to '2026-11-01' is not after --from '2026-11-05'")
    line = one_line_error(camwatch(county, "--lang", "en", "alerts", "silence", "--camera", "1", "--until", "2020-01-01"),
                          "camwatch: --until: '2020-01-01' (2020-01-02 00:00 +08:00) is not in the future")


def test_a_day_alone_as_the_end_is_the_end_of_that_day_everywhere(county: Path) -> None:
    r = camwatch(county, "exclusion", "add", "--region", VILLAGE, "--from", "2026-11-20", "--to", "2026-11-21",
                 "--reason", "停电报备", "--approver", "张三")
    assert r.returncode == 0, r.stderr
    assert "2026-11-20 00:00 +08:00 — 2026-11-22 00:00 +08:00" in r.stdout  # two days entered naturally: two days
    added = json.loads(camwatch(county, "exclusion", "list", "--json").stdout)[-1]
    assert (added["from"], added["to"]) == ("2026-11-20T00:00:00+08:00", "2026-11-22T00:00:00+08:00")
    r = camwatch(county, "rates", "--from", "2026-11-20", "--to", "2026-11-21")
    assert r.returncode == 0 and "统计区间 2026-11-20 00:00 +08:00 至 2026-11-22 00:00 +08:00" in r.stdout, r.stderr
    # epoch seconds and a zoned ISO time are the same instants
    r = camwatch(county, "rates", "--json", "--from", "1763568000", "--to", "2026-11-22T00:00:00+08:00")
    body = json.loads(r.stdout)
    assert dt.datetime.fromisoformat(body["from"]) == dt.datetime(2025, 11, 19, 16, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(body["to"]) == dt.datetime(2026, 11, 21, 16, tzinfo=dt.UTC)
    end = (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).astimezone(dt.timezone(dt.timedelta(hours=8))).date()
    r = camwatch(county, "alerts", "silence", "--camera", "1", "--until", end.isoformat())
    assert r.returncode == 0 and f"至 {end + dt.timedelta(days=1)} 00:00 +08:00" in r.stdout, r.stderr


def test_coverage_over_a_period_without_data_shows_a_dash_like_rates(county: Path) -> None:
    for level in ("village", "township"):
        r = camwatch(county, "--lang", "en", "coverage", "--level", level, "--from", "2020-01-01", "--to", "2020-01-02")
        assert r.returncode == 0, r.stderr
        rows = [line.split("\t") for line in r.stdout.strip().splitlines()[1:]]
        assert rows and all(row[5] == "—" for row in rows), rows  # the coverage column
        assert any(row[6] != "—" for row in rows)  # built coverage does not need probe data
        body = json.loads(camwatch(county, "coverage", "--level", level, "--from", "2020-01-01", "--to", "2020-01-02",
                                   "--json").stdout)
        assert body["rows"] and all(row["ratio"] is None for row in body["rows"])
    rates = camwatch(county, "--lang", "en", "rates", "--from", "2020-01-01", "--to", "2020-01-02").stdout
    assert [line.split("\t")[3] for line in rates.strip().splitlines()[2:]] == ["—"] * (len(rates.strip().splitlines()) - 2)


def test_the_alert_test_message_shows_local_time_with_the_zone() -> None:
    now = dt.datetime(2026, 11, 23, 0, 0, 5, tzinfo=dt.UTC)
    msg = build_test_message("duty", "zh", now, "Asia/Shanghai")
    assert "2026-11-23 08:00:05 +08:00" in msg.text and "2026-11-23 08:00:05 +08:00" in msg.markdown
    assert "2026-11-23 00:00" not in msg.text


def test_the_rates_header_keeps_the_seconds_of_a_cut_off_given_with_them() -> None:
    """``rates --to "... 20:21:59"`` printed 至 20:21: a cut-off to the second is shown to the second."""
    table = {"from": "2026-12-01T00:00:00+08:00", "to": "2026-12-05T20:21:59+08:00", "method": "time", "rows": []}
    assert rate_lines(table, "zh", "Asia/Shanghai")[0] == "统计区间 2026-12-01 00:00 +08:00 至 2026-12-05 20:21:59 +08:00（按时长加权）"
    table["to"] = "2026-12-05T20:21:00+08:00"
    assert rate_lines(table, "en", "Asia/Shanghai")[0] == "period 2026-12-01 00:00 +08:00 to 2026-12-05 20:21 +08:00 (time)"
