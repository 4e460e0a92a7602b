"""``camwatch probe``, the console's camera page and the API: what is masked never tells the password.

A ``***`` put where the password matched turned our own words into an oracle: the password ``360``
printed ``H264 640x***``, ``8554`` ``tcp *** open``, ``moving`` the URL's path ``/***``, ``admin`` (the
user name too) ``rtsp://***:***@``. Now a URL is redacted where a password stands only, and a detail
that holds the password is withheld whole (probes.redact.shown_detail, probes.detail_words.safe_detail).
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from collector.cli.exitcodes import PROBE_OFFLINE
from collector.cli.probe_cmd import human_lines, result_json
from collector.web.pages.camera import _unrepeated
from probes.base import ProbeResult, ProbeTarget, Stage
from probes.causes import Cause
from probes.ladder import LadderResult
from probes.redact import WITHHELD
from tests.collector.probe_cli_support import invoke
from tests.probes.rtsp_servers import ServerConfig, serve_in_thread

ZH_WITHHELD = "（摄像机应答中含其密码，详情不显示）"
NEUTRAL = "Qz7-neutral-pw"
_MS = re.compile(r"\s+[\d.]+ ms ")


def _lines(out: str) -> list[str]:
    return [_MS.sub(" <ms> ", line) for line in out.splitlines()]


def _probe(pw: str, lang: str, *args: str) -> tuple[int, str, int, str]:
    with serve_in_thread(ServerConfig(auth="digest", password=pw)) as srv:
        url = f"rtsp://admin:{pw}@{srv.host}:{srv.port}/moving"
        code, out, err = invoke(url, "--onvif-port", "0", *args, lang=lang)
        assert err == "", err
        return code, out, srv.port, srv.host


def _pieces(out: str, port: int) -> list[str]:
    """Passwords a reader could read off our own output: the port, the path, the user name, the
    codec, the picture size, its width and height, a lone letter of it."""
    rtsp = next(line for line in out.splitlines() if line.lstrip(" ✓").startswith("rtsp "))
    size = re.search(r"(\d+)x(\d+)", rtsp)
    assert size is not None, rtsp
    return [str(port), "moving", "admin", "H264", size[0], size[1], size[2], "x"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_output_never_depends_on_the_passwords_value_but_by_withholding_a_detail_whole(lang: str) -> None:
    code, base, port, host = _probe(NEUTRAL, lang)
    assert code == 0, base
    assert f"rtsp://admin:***@{host}:{port}/moving" in base and "H264" in base, base
    withheld = ZH_WITHHELD if lang == "zh" else WITHHELD
    for pw in _pieces(base, port):
        code, out, port2, _ = _probe(pw, lang)
        assert code == 0, (pw, out)
        want, got = _lines(base.replace(str(port), str(port2))), _lines(out)
        assert len(got) == len(want), (pw, out)
        for w, g in zip(want, got, strict=True):
            # a line is as with any other password, or its detail (after the stage, time) is withheld whole
            assert g == w or (g.endswith(f" {withheld}") and g.split(" <ms> ")[0] == w.split(" <ms> ")[0]), (pw, g, w)
        assert "***" not in out.replace("admin:***@", ""), (pw, out)  # (never a mask at the password's place)
        assert f"rtsp://admin:***@{host}:{port2}/moving" in out, (pw, out)  # the user name and path as typed


def test_the_json_too() -> None:
    code, base, port, _ = _probe(NEUTRAL, "en", "--json")
    base_obj = json.loads(base)
    for pw in (str(port), "360", "H264", "open", "admin"):
        code, out, port2, _ = _probe(pw, "en", "--json")
        obj = json.loads(out)
        assert code == 0 and obj["state"] == "online", out
        for b, s in zip(base_obj["stages"], obj["stages"], strict=True):
            assert s["detail"] in (b["detail"].replace(str(port), str(port2)), WITHHELD), (pw, s, b)
        assert "***" not in out, (pw, out)


def test_a_password_that_is_one_of_our_words_leaves_the_detail_shown() -> None:
    """``open``, ``tcp``, ``off``: words of ours (not numbers), kept whole and shown."""
    code, out, port, _ = _probe("open", "en")
    assert code == 0 and f"  tcp {port} open" in out and WITHHELD not in out, out
    stages = (ProbeResult(Stage.REACH, True, 0.001, detail="tcp 554 open"),
              ProbeResult(Stage.RTSP, True, 0.002, detail="H264 1920x1080 digest auth"))
    res = LadderResult("online", None, stages)
    target = ProbeTarget("10.1.1.1", 554, "/live", username="admin", password="554")  # (a number: withheld, all of it)
    assert human_lines(target, res, "zh")[1:3] == [f"  ✓ reach       1.0 ms  {ZH_WITHHELD}", "  ✓ rtsp        2.0 ms  H264 1920x1080，摘要认证"]
    assert [s["detail"] for s in result_json(res, "554")["stages"]] == [WITHHELD, "H264 1920x1080 digest auth"]


ECHO_PW = "S3cret-pw"


@pytest.mark.parametrize(("echo", "code"), [("sdp", 0), ("reason", PROBE_OFFLINE)])
def test_a_login_echoed_in_another_case_is_withheld_whole(echo: str, code: int) -> None:
    """The SDP's encoding name and a 404's reason phrase that repeat the login upper-cased: the whole
    RTSP detail is withheld (no ``H264-admin:***`` telling where the password stood)."""
    token = base64.b64encode(f"admin:{ECHO_PW}".encode()).decode()
    with serve_in_thread(ServerConfig(auth="basic", password=ECHO_PW, echo=echo)) as srv:
        url = f"rtsp://admin:{ECHO_PW}@{srv.host}:{srv.port}/ch1"
        runs = {lang: invoke(url, "--onvif-port", "0", lang=lang) for lang in ("en", "zh")}
        runs["json"] = invoke(url, "--json", "--onvif-port", "0")
    for name, (got, out, err) in runs.items():
        assert got == code, (name, out, err)
        for form in (ECHO_PW, token, "S3cret%2Dpw"):
            assert form.casefold() not in (out + err).casefold(), (name, form, out + err)
        assert "***" not in out.replace("admin:***@", ""), (name, out)
    rtsp_en = next(line for line in runs["en"][1].splitlines() if line.lstrip(" ✓✗").startswith("rtsp "))
    rtsp_zh = next(line for line in runs["zh"][1].splitlines() if line.lstrip(" ✓✗").startswith("rtsp "))
    assert rtsp_en.endswith(WITHHELD) and rtsp_zh.endswith(ZH_WITHHELD), (rtsp_en, rtsp_zh)
    assert json.loads(runs["json"][1])["stages"][1]["detail"] == WITHHELD


def test_the_trickling_server_started_at_once() -> None:
    """A server that writes its reply a byte at a time answered at once: not "after 0.0 s"."""
    # (10 ms a byte: any reply takes a second or more, far beyond the 0.3 s limit on any machine)
    with serve_in_thread(ServerConfig(mode="trickle", delay_s=0.0, trickle_s=0.01)) as srv:
        url = f"rtsp://{srv.host}:{srv.port}/ch1"
        runs = {lang: invoke(url, "--onvif-port", "0", "--timeout", "0.3", lang=lang) for lang in ("en", "zh")}
    en, zh = runs["en"][1], runs["zh"][1]
    assert "too slow" in en, en
    assert "0.0 s" not in en and "started at once, not finished within 0.3 s" in en, en
    assert "0.0 秒" not in zh and "立即开始应答，但 0.3 秒内未完成" in zh, zh


@pytest.mark.parametrize(("detail", "cause", "shown"), [
    ("timeout: RTSP set-up not finished within 10 s", Cause.TIMEOUT, "RTSP set-up not finished within 10 s"),
    ("timeout", Cause.TIMEOUT, ""),
    ("refused: connection refused", Cause.REFUSED, "connection refused"),
    ("timeout: RTSP set-up not finished within 10 s", Cause.NO_VIDEO, "timeout: RTSP set-up not finished within 10 s"),
    ("tcp 554 open", None, "tcp 554 open"),
])
def test_the_camera_page_does_not_say_the_cause_twice(detail: str, cause: Cause | None, shown: str) -> None:
    """无响应（超时）： 超时：RTSP 会话建立 10 秒内未完成 read the cause twice."""
    assert _unrepeated(detail, cause) == shown
