"""``camwatch alerts silences`` shows times as ``alerts silence`` did (local, to the minute, with
the zone) and a region's name beside its code."""

from __future__ import annotations

import json

import click

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
    assert out.splitlines()[0].startswith("#2\t摄像机 1\t至 ") and out.splitlines()[0].endswith("（已过期）\t")
    [_, first] = json.loads(_invoke(group, url, "alerts", "silences", "--all", "--json")[1])
    assert (first["region"], first["region_name"], first["until"]) == ("130123101201", "大前村1", "2999-01-01T08:00:00+08:00")
