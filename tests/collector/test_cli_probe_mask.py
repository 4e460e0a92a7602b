"""``camwatch probe``: the password is masked where it may be echoed (the camera's words, the user
name, the path), never inside camwatch's own words or JSON keys. A password such as ``off`` used to
turn ``"state": "offline"`` into ``"***line"`` and the key ``clock_offset_s`` into ``clock_***set_s``;
``wrong`` turned the verdict into ``*** user name or password``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from collector.cli.exitcodes import PROBE_OFFLINE
from collector.cli.probe_cmd import human_lines, result_json, secret_mask
from probes.base import ProbeResult, ProbeTarget, Stage
from probes.causes import Cause
from probes.ladder import LadderResult
from tests.collector.test_probe_cli import invoke
from tests.probes.rtsp_servers import RtspTestServer, ServerConfig, serve_in_thread

KEYS = {"state", "cause", "stages", "clock_offset_s", "failed_checks", "device", "video"}


@pytest.fixture
def off_server() -> Iterator[RtspTestServer]:
    with serve_in_thread(ServerConfig(auth="digest", password="off")) as srv:
        yield srv


def test_a_password_inside_our_words_leaves_the_json_whole(off_server: RtspTestServer) -> None:
    url = f"rtsp://admin:off@{off_server.host}:{off_server.port}/live"
    code, out, _ = invoke(url, "--json", "--onvif-port", "0")
    obj = json.loads(out)
    assert code == 0 and set(obj) == KEYS and obj["state"] == "online", out
    bad = f"rtsp://admin:wrong@{off_server.host}:{off_server.port}/live"
    code, out, _ = invoke(bad, "--json", "--onvif-port", "0")
    obj = json.loads(out)
    assert code == PROBE_OFFLINE and set(obj) == KEYS, out
    assert (obj["state"], obj["cause"]) == ("offline", "auth_failed")
    # a one-shot probe keeps no back-off: the collector's "next login attempt" is not in its JSON either
    assert "next login attempt" not in out


@pytest.mark.parametrize(("lang", "verdict"), [
    ("en", "verdict: offline — wrong user name or password"),
    ("zh", f"结论：离线——{Cause.AUTH_FAILED.words('zh')}"),
])
def test_a_password_inside_our_words_leaves_the_verdict_whole(off_server: RtspTestServer, lang: str, verdict: str) -> None:
    bad = f"rtsp://admin:wrong@{off_server.host}:{off_server.port}/live"
    code, out, err = invoke(bad, "--onvif-port", "0", lang=lang)
    assert code == PROBE_OFFLINE and verdict in out.splitlines(), out
    assert f"rtsp://admin:***@{off_server.host}:{off_server.port}/live" in out


@dataclass(frozen=True)
class Device:
    vendor: str
    model: str
    firmware: str
    serial: str


def test_what_may_echo_the_password_is_still_masked() -> None:
    pw = "Zx9-pass"
    stages = (ProbeResult(Stage.REACH, True, 0.001),
              ProbeResult(Stage.RTSP, False, 0.002, Cause.AUTH_FAILED, detail=f"credentials refused ({pw})"))
    res = LadderResult("offline", Cause.AUTH_FAILED, stages, None, Device("Dahua", pw, "2.8", "SN9"))
    mask = secret_mask(pw)
    obj = result_json(res, mask)
    assert obj["stages"][1]["detail"] == "credentials refused (***)" and obj["device"]["model"] == "***"
    assert obj["device"]["vendor"] == "Dahua"
    target = ProbeTarget("10.1.1.1", 554, f"/live/{pw}", username=pw, password=pw)
    text = "\n".join(human_lines(target, res, "en", mask))
    assert pw not in text and "rtsp://***:***@10.1.1.1:554/live/***" in text
    assert text.splitlines()[-2] == "verdict: offline — wrong user name or password"
