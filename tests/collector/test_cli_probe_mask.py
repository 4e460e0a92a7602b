"""``camwatch probe``: the password never shows where a camera may echo it (a stage's detail, a
warning, the device's identity: each withheld whole, :data:`probes.redact.WITHHELD`, never a ``***``
at the password's place), and never touches camwatch's own words, JSON keys or the URL as typed. A
password such as ``off`` used to turn ``"state": "offline"`` into ``"***line"`` and the key
``clock_offset_s`` into ``clock_***set_s``; ``wrong`` turned the verdict into ``*** user name or
password``; ``open`` turned a stage's ``tcp 554 open`` into ``tcp 554 ***``, ``off`` its ``clock
offset`` into ``clock ***set``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from collector.cli.exitcodes import PROBE_OFFLINE
from collector.cli.probe_cmd import human_lines, result_json
from probes.base import ProbeResult, ProbeTarget, Stage
from probes.causes import Cause
from probes.ladder import LadderResult
from probes.redact import WITHHELD
from probes.sim import Auth, Behaviour, Fleet, Reply
from tests.collector.probe_cli_support import Device, invoke
from tests.probes.rtsp_servers import RtspTestServer, ServerConfig, serve_in_thread

ZH_WITHHELD = "（摄像机应答中含其密码，详情不显示）"
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


def test_what_may_echo_the_password_is_still_withheld() -> None:
    """The camera's detail and device field that echo the password are withheld whole (not
    ``credentials refused (***)``); the URL is shown as typed, whatever the password: the user name
    and path are the typist's own (masking them where they equal the password would tell it)."""
    pw = "Zx9-pass"
    stages = (ProbeResult(Stage.REACH, True, 0.001),
              ProbeResult(Stage.RTSP, False, 0.002, Cause.AUTH_FAILED, detail=f"credentials refused ({pw})"))
    res = LadderResult("offline", Cause.AUTH_FAILED, stages, None, Device("Dahua", pw, "2.8", "SN9"))
    obj = result_json(res, pw)
    assert obj["stages"][1]["detail"] == WITHHELD and obj["device"]["model"] == WITHHELD
    assert obj["device"]["vendor"] == "Dahua" and obj["device"]["serial"] == "SN9"
    assert pw not in json.dumps(obj) and "***" not in json.dumps(obj)
    for lang, withheld in (("en", WITHHELD), ("zh", ZH_WITHHELD)):
        lines = human_lines(ProbeTarget("10.1.1.1", 554, "/live/ch1", username="admin", password=pw), res, lang)
        assert lines[0].endswith(" rtsp://admin:***@10.1.1.1:554/live/ch1"), lines
        assert lines[2].endswith(f"[auth_failed] {withheld}") and lines[3].endswith(f": {withheld}"), lines
        assert pw not in "\n".join(lines) and "***" not in "\n".join(lines[1:]), lines
    target = ProbeTarget("10.1.1.1", 554, f"/live/{pw}", username=pw, password=pw)
    lines = human_lines(target, res, "en")
    assert lines[0] == f"probing rtsp://{pw}:***@10.1.1.1:554/live/{pw}", lines  # (as typed)
    assert pw not in "\n".join(lines[1:]) and lines[-2] == "verdict: offline — wrong user name or password", lines


# -- passwords that are words (or numbers) of our own, against the simulator's cameras ---------------

WORDS = ("open", "off", "tcp", "ok")


@pytest.fixture(scope="module", params=WORDS)
def word_fleet(request: pytest.FixtureRequest) -> Iterator[Fleet]:
    """Three cameras with the password *param*: a healthy one, one that echoes the login in its RTSP
    401 (reason phrase, Server header), one that echoes the password in its ONVIF fault."""
    with Fleet(3, workers=1, password=request.param) as fleet:
        fleet.set_behaviour(1, Behaviour(auth=Auth.BASIC, rtsp_reply=Reply.ECHO_CREDENTIALS))
        fleet.set_behaviour(2, Behaviour(onvif_reply=Reply.ECHO_CREDENTIALS))
        yield fleet


def probe_sim(fleet: Fleet, index: int, *args: str, lang: str | None = None) -> tuple[int, str]:
    cam = fleet.camera(index)
    code, out, err = invoke(cam.rtsp_url(with_credentials=True), "--onvif-port", str(cam.onvif_port), *args, lang=lang)
    assert_only_in_our_words(out + err, cam.password)
    return code, out


def assert_only_in_our_words(text: str, pw: str) -> None:
    """Every occurrence of *pw* in *text* lies inside one of our own words (or a number we measured: a
    port, a time), never where a camera echoed it; nor any percent-encoded form of it."""
    ours = {"tcp", "open", "offset", "offline", "ok"}  # ("ok": a JSON key)
    for m in re.finditer(r"[A-Za-z0-9]+", text):  # (the password is letters or digits: always inside one)
        if pw in m[0]:
            assert m[0] in ours or m[0].isdigit(), (m[0], text)
    assert f"admin:{pw}" not in text and f"{pw}@" not in text and f"password {pw}" not in text, text
    assert not re.search("".join(f"%{b:02x}" for b in pw.encode()), text, re.IGNORECASE), text


def stage_line(out: str, stage: str) -> str:
    return next(line for line in out.splitlines() if line.lstrip(" ✓✗").startswith(stage + " "))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_word_password_leaves_our_stage_words_whole(word_fleet: Fleet, lang: str) -> None:
    cam = word_fleet.camera(0)
    code, out = probe_sim(word_fleet, 0, lang=lang)
    assert code == 0, out
    reach, onvif = stage_line(out, "reach"), stage_line(out, "onvif")
    if lang == "en":
        assert reach.endswith(f"  tcp {cam.rtsp_port} open") and "  clock offset " in onvif, out
        assert out.splitlines()[-1] == "verdict: online"
    else:  # (a masked word left the detail untranslated: "tcp 8554 ***")
        assert reach.endswith(f"  TCP {cam.rtsp_port} 端口可连接") and "  时钟偏差 " in onvif, out
        assert out.splitlines()[-1] == "结论：在线"
    assert f"rtsp://admin:***@{cam.host}:{cam.rtsp_port}{cam.rtsp_path}" in out


def test_a_word_password_leaves_our_json_words_whole(word_fleet: Fleet) -> None:
    cam = word_fleet.camera(0)
    code, out = probe_sim(word_fleet, 0, "--json")
    obj = json.loads(out)
    assert code == 0 and set(obj) == KEYS and obj["state"] == "online", out
    assert obj["stages"][0]["detail"] == f"tcp {cam.rtsp_port} open", out
    assert obj["stages"][2]["detail"].startswith("clock offset "), out


@pytest.mark.parametrize("lang", ["en", "zh", None])
def test_a_word_password_a_camera_echoes_in_its_401_is_withheld(word_fleet: Fleet, lang: str | None) -> None:
    """The 401's reason phrase repeating the login: the RTSP detail withheld whole (it read
    ``login rejected for user/password pair .admin:*** ..admin:***``), the reach detail as ever."""
    cam = word_fleet.camera(1)
    if lang is None:
        code, out = probe_sim(word_fleet, 1, "--json")
        obj = json.loads(out)
        assert code == PROBE_OFFLINE and obj["cause"] == "auth_failed", out
        reach, rtsp = (s["detail"] for s in obj["stages"])
    else:
        code, out = probe_sim(word_fleet, 1, lang=lang)
        assert code == PROBE_OFFLINE, out
        reach, rtsp = stage_line(out, "reach"), stage_line(out, "rtsp")
    assert reach.endswith(f"tcp {cam.rtsp_port} open" if lang != "zh" else f"TCP {cam.rtsp_port} 端口可连接"), out
    if lang is None:
        assert rtsp == WITHHELD, out
    else:
        assert rtsp.endswith(f"[auth_failed] {ZH_WITHHELD if lang == 'zh' else WITHHELD}"), out
    assert "login rejected" not in out and "***" not in out.replace("admin:***@", ""), out


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_word_password_a_camera_echoes_in_its_onvif_fault_is_withheld(word_fleet: Fleet, lang: str) -> None:
    """The ONVIF fault repeating the password 16 times: the stage's detail and the warning withheld
    whole (they read ``config error for password *** *** ...``); the other stages as ever."""
    cam = word_fleet.camera(2)
    code, out = probe_sim(word_fleet, 2, lang=lang)
    assert code == 0, out  # (ONVIF's trouble is a warning)
    withheld = ZH_WITHHELD if lang == "zh" else WITHHELD
    warning = next(line for line in out.splitlines() if line.lstrip().startswith(("warning:", "警告:")))
    assert warning.endswith(f": {withheld}"), out
    assert stage_line(out, "onvif").endswith(f"[onvif_error] {withheld}"), out
    assert stage_line(out, "reach").endswith(f"tcp {cam.rtsp_port} open" if lang == "en" else f"TCP {cam.rtsp_port} 端口可连接"), out
    assert "config error" not in out and "***" not in out.replace("admin:***@", ""), out
    code, out = probe_sim(word_fleet, 2, "--json")
    obj = json.loads(out)
    assert obj["stages"][2]["detail"] == WITHHELD and obj["stages"][0]["detail"] == f"tcp {cam.rtsp_port} open", out
    assert "***" not in out, out


def test_a_port_554_and_the_password_open_or_tcp() -> None:
    """A camera on port 554 whose password is one of our words: shown; a number (554, and the common
    123456) in a detail withholds it whole, even in our numbers: safety first (but never
    ``tcp *** open``, which tells the password is the port)."""
    stages = (ProbeResult(Stage.REACH, True, 0.001, detail="tcp 554 open"),
              ProbeResult(Stage.RTSP, True, 0.002, detail="H264 1920x1080 digest auth"))
    res = LadderResult("online", None, stages)
    target = ProbeTarget("10.1.1.1", 554, "/live", username="admin", password="554")
    lines = human_lines(target, res, "en")
    assert lines[0] == "probing rtsp://admin:***@10.1.1.1:554/live" and lines[1].endswith(f"  {WITHHELD}"), lines
    assert lines[2].endswith("  H264 1920x1080 digest auth") and human_lines(target, res, "zh")[1].endswith(f"  {ZH_WITHHELD}")
    assert [s["detail"] for s in result_json(res, "554")["stages"]] == [WITHHELD, "H264 1920x1080 digest auth"]
    for pw in ("open", "tcp"):
        target = ProbeTarget("10.1.1.1", 554, "/live", username="admin", password=pw)
        lines = human_lines(target, res, "en")
        assert lines[0] == "probing rtsp://admin:***@10.1.1.1:554/live" and lines[1].endswith("  tcp 554 open"), lines
        assert human_lines(target, res, "zh")[1].endswith("  TCP 554 端口可连接")
        assert result_json(res, pw)["stages"][0]["detail"] == "tcp 554 open"


# -- a camera that echoes the login in another case (the reviewer's ports 8011 and 8019) -------------

ECHO_PW = "S3cret-pw"


@pytest.mark.parametrize(("echo", "code", "en", "zh"), [
    # the SDP's encoding name (upper-cased once): it read "H264-admin:*** basic auth"
    ("sdp", 0, WITHHELD, ZH_WITHHELD),
    # a 404's reason phrase: it read "404 Not Found ADMIN:***"
    ("reason", PROBE_OFFLINE, f"[stream_unavailable] {WITHHELD}", f"[stream_unavailable] {ZH_WITHHELD}"),
])
def test_a_login_echoed_in_another_case_is_withheld_everywhere(echo: str, code: int, en: str, zh: str) -> None:
    import base64

    token = base64.b64encode(f"admin:{ECHO_PW}".encode()).decode()
    with serve_in_thread(ServerConfig(auth="basic", password=ECHO_PW, echo=echo)) as srv:
        url = f"rtsp://admin:{ECHO_PW}@{srv.host}:{srv.port}/ch1"
        runs = {lang: invoke(url, "--onvif-port", "0", lang=lang) for lang in ("en", "zh")}
        runs["json"] = invoke(url, "--json", "--onvif-port", "0")
    for name, (got, out, err) in runs.items():
        assert got == code, (name, out, err)
        for form in (ECHO_PW, token, "S3cret%2Dpw"):
            assert form.casefold() not in (out + err).casefold(), (name, form, out + err)
        assert "***" not in out.replace("admin:***@", ""), (name, out)  # (never a mask at the password's place)
    assert stage_line(runs["en"][1], "rtsp").endswith(f" ms  {en}"), runs["en"][1]
    assert stage_line(runs["zh"][1], "rtsp").endswith(f" ms  {zh}"), runs["zh"][1]
    assert json.loads(runs["json"][1])["stages"][1]["detail"] == WITHHELD, runs["json"][1]
