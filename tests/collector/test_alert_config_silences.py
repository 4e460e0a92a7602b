"""``camwatch alerts silences`` shows times as ``alerts silence`` did (local, to the minute, with
the zone) and a region's name beside its code."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import click

from collector.alerting import incident_store as store
from inventory.db import create_engine
from inventory.models import utcnow
from tests.collector.test_alerts_cli import _invoke, app  # noqa: F401 - the fixture


def test_silences_read_like_the_silence_command(app: tuple[click.Group, str]) -> None:  # noqa: F811
    group, url = app
    _invoke(group, url, "alerts", "silence", "--region", "130123101201", "--until", "2999-01-01 08:00", "--reason", "施工")
    code, out = _invoke(group, url, "alerts", "silence", "--camera", "1", "--until", "2999-01-02")
    assert code == 0 and out.strip() == "已静默 #2，至 2999-01-03 00:00 +08:00"
    code, out = _invoke(group, url, "alerts", "silences")
    assert (code, out.splitlines()) == (0, ["#1\t区划 130123101201 大前村1\t至 2999-01-01 08:00 +08:00\t施工",
                                            "#2\t摄像机 1\t至 2999-01-03 00:00 +08:00\t"])
    code, out = _invoke(group, url, "--lang", "en", "alerts", "silences")
    assert out.splitlines()[0] == "#1\tregion 130123101201 大前村1\tuntil 2999-01-01 08:00 +08:00\t施工"
    _invoke(group, url, "alerts", "unsilence", "2")
    code, out = _invoke(group, url, "alerts", "silences", "--all")
    # ended by hand: not called expired (the store keeps no mark telling it from one that ran out)
    assert out.splitlines()[0].startswith("#2\t摄像机 1\t至 ") and out.splitlines()[0].endswith("（已结束）\t")
    [_, first] = json.loads(_invoke(group, url, "alerts", "silences", "--all", "--json")[1])
    assert (first["region"], first["region_name"], first["until"]) == ("130123101201", "大前村1", "2999-01-01T08:00:00+08:00")


def test_a_silence_that_ended_reads_ended_and_keeps_its_end(app: tuple[click.Group, str]) -> None:  # noqa: F811
    """One that ran out and one ended by hand both read 已结束 / ended (not 已过期 for the one ended
    by hand); ending one again moves nothing."""
    group, url = app
    now = utcnow()

    async def past() -> None:
        eng = create_engine(url)
        try:
            await store.add_silence(eng, camera_id=1, until=now - dt.timedelta(hours=1), reason="停电",
                                    now=now - dt.timedelta(hours=3))
        finally:
            await eng.dispose()

    asyncio.run(past())
    _invoke(group, url, "alerts", "silence", "--camera", "2", "--until", "2h", "--reason", "施工")
    assert _invoke(group, url, "alerts", "unsilence", "2") == (0, "已解除静默 #2\n")
    code, out = _invoke(group, url, "alerts", "silences", "--all")
    ran_out, by_hand = out.splitlines()
    assert ran_out.startswith("#1\t摄像机 1\t至 ") and ran_out.endswith("（已结束）\t停电")
    assert by_hand.startswith("#2\t摄像机 2\t至 ") and by_hand.endswith("（已结束）\t施工")
    code, out = _invoke(group, url, "--lang", "en", "alerts", "silences", "--all")
    assert out.splitlines()[1].endswith(" (ended)\t施工") and "expired" not in out
    # unsilence of one that ended: still found, its end kept
    assert _invoke(group, url, "--lang", "en", "alerts", "unsilence", "1") == (0, "silence #1 ended\n")
    assert _invoke(group, url, "alerts", "silences", "--all")[1].splitlines()[0] == ran_out
    assert [i["active"] for i in json.loads(_invoke(group, url, "alerts", "silences", "--all", "--json")[1])] == [False, False]
