"""``camwatch probe`` against loopback RTSP servers (CliRunner and the real console script)."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from collector.cli import build_cli
from collector.cli.exitcodes import DATA, PROBE_DEGRADED, PROBE_OFFLINE
from collector.cli.probe_cmd import EXIT_CODES, BadTarget, human_lines, parse_rtsp_url, result_json
from probes.base import ProbeResult, ProbeTarget, Stage
from probes.causes import Cause
from probes.checks import VqdName, check_words
from probes.ladder import LadderResult
from probes.sim import Behaviour, Fleet
from tests.collector.probe_cli_support import Check, Device, invoke
from tests.probes.rtsp_servers import RtspTestServer, ServerConfig, free_port, serve_in_thread

PW = "Zx9#secret/pw@1"  # needs percent-encoding in a URL
PW_URL = "Zx9%23secret%2Fpw%401"
KEYS = {"state", "cause", "stages", "clock_offset_s", "failed_checks", "device", "video"}
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def digest_server() -> Iterator[RtspTestServer]:
    with serve_in_thread(ServerConfig(auth="digest", password=PW)) as srv:
        yield srv


def url(srv: RtspTestServer, pw: str = PW_URL) -> str:
    return f"rtsp://admin:{pw}@{srv.host}:{srv.port}/live"


def assert_no_password(*texts: str) -> None:
    for t in texts:
        assert PW not in t and PW_URL not in t and "secret" not in t


def test_online_json(digest_server: RtspTestServer) -> None:
    code, out, err = invoke(url(digest_server), "--json", "--onvif-port", "0")
    assert code == 0, (out, err)
    obj = json.loads(out)  # exactly one object
    assert set(obj) == KEYS
    assert (obj["state"], obj["cause"], obj["device"], obj["video"], obj["clock_offset_s"]) == ("online", None, None, None, None)
    assert [s["stage"] for s in obj["stages"]] == ["reach", "rtsp"]
    for s in obj["stages"]:
        assert set(s) == {"stage", "ok", "ms", "detail"} and s["ok"] is True and s["ms"] >= 0
    assert "H264 1920x1080" in obj["stages"][1]["detail"]
    assert_no_password(out, err)
    assert digest_server.count("DESCRIBE") == 2


def test_online_human_zh_and_en(digest_server: RtspTestServer) -> None:
    code, out, err = invoke(url(digest_server), "--onvif-port", "0")
    assert code == 0
    assert f"rtsp://admin:***@127.0.0.1:{digest_server.port}/live" in out
    assert out.strip().endswith("结论：在线")
    assert " ms " in out
    assert_no_password(out, err)
    code, out, err = invoke(url(digest_server), "--onvif-port", "0", lang="en")
    assert code == 0 and out.strip().endswith("verdict: online")


def test_user_and_password_options(digest_server: RtspTestServer) -> None:
    bare = f"rtsp://{digest_server.host}:{digest_server.port}/live"
    code, out, err = invoke(bare, "--user", "admin", "--password", PW, "--onvif-port", "0", "--json")
    assert code == 0 and json.loads(out)["state"] == "online"
    assert_no_password(out, err)
    # --password overrides the URL's (wrong) password
    code, out, err = invoke(url(digest_server, "nope"), "--password", PW, "--onvif-port", "0")
    assert code == 0


@pytest.mark.parametrize("as_json", [True, False])
def test_wrong_password_offline(digest_server: RtspTestServer, as_json: bool) -> None:
    wrong = "Wr0ng-secret-pass"
    args = [url(digest_server, wrong), "--onvif-port", "0"] + (["--json"] if as_json else [])
    code, out, err = invoke(*args)
    assert code == PROBE_OFFLINE
    assert wrong not in out and wrong not in err
    if as_json:
        obj = json.loads(out)
        assert (obj["state"], obj["cause"]) == ("offline", "auth_failed")
        assert [s["ok"] for s in obj["stages"]] == [True, False]
    else:
        assert f"离线——{Cause.AUTH_FAILED.words()}" in out
        # the collector's back-off means nothing to a one-shot probe; the lockout risk does
        assert "next login attempt" not in out and "锁定账户" in out.splitlines()[-1]


@pytest.mark.parametrize(
    ("cfg", "cause"),
    [
        (ServerConfig(describe_status=453, reason="Not Enough Bandwidth"), Cause.STREAM_UNAVAILABLE),
        (ServerConfig(mode="garbage"), Cause.PROTOCOL_ERROR),
    ],
)
def test_offline_causes(cfg: ServerConfig, cause: Cause) -> None:
    with serve_in_thread(cfg) as srv:
        code, out, _ = invoke(url(srv), "--onvif-port", "0")
    assert code == PROBE_OFFLINE and f"离线——{cause.words()}" in out


def test_refused_and_timeout() -> None:
    code, out, err = invoke(f"rtsp://admin:{PW_URL}@127.0.0.1:{free_port()}/x", "--json")
    assert code == PROBE_OFFLINE and json.loads(out)["cause"] == "refused"
    assert_no_password(out, err)
    with serve_in_thread(ServerConfig(mode="hang")) as srv:
        code, out, _ = invoke(url(srv), "--json", "--timeout", "0.3", "--onvif-port", "0")
    obj = json.loads(out)
    assert code == PROBE_OFFLINE and obj["cause"] == "timeout" and obj["stages"][-1]["ms"] < 1000


@pytest.mark.parametrize(("lang", "detail"), [("zh", "[refused] 连接被拒绝"), ("en", "[refused] connection refused")])
def test_a_stages_detail_is_in_the_users_language(lang: str, detail: str) -> None:
    """A closed port on loopback: the stage line's detail in the reader's words (was English in the
    Chinese output), the JSON's detail as the probe worded it."""
    code, out, _ = invoke(f"rtsp://admin:{PW_URL}@127.0.0.1:{free_port()}/x", lang=lang)
    stage = next(line for line in out.splitlines() if "reach" in line)
    assert code == PROBE_OFFLINE and stage.endswith(detail), out
    code, out, _ = invoke(f"rtsp://admin:{PW_URL}@127.0.0.1:{free_port()}/x", "--json", lang=lang)
    assert json.loads(out)["stages"][0]["detail"] == "connection refused"


def test_bad_target() -> None:
    code, out, err = invoke(f"http://admin:{PW_URL}@127.0.0.1/x")
    assert code == 2 and "rtsp://" in err and out == ""
    assert_no_password(out, err)


def test_camera_id_through_inventory_lookup(monkeypatch: pytest.MonkeyPatch, digest_server: RtspTestServer) -> None:
    calls: list[int] = []

    async def probe_target(ctx_obj: object, camera_id: int) -> ProbeTarget:
        calls.append(camera_id)
        if camera_id != 7:
            raise LookupError(camera_id)
        return ProbeTarget(digest_server.host, digest_server.port, "/live", None, "admin", PW, camera_id=7)

    fake = types.ModuleType("collector.cli.targets")
    fake.probe_target = probe_target  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "collector.cli.targets", fake)
    code, out, err = invoke("7", "--json")
    assert code == 0 and json.loads(out)["state"] == "online"
    assert_no_password(out, err)
    code, out, err = invoke("8")
    assert code == DATA and "8" in err
    assert calls == [7, 8]


# -- rendering of results the loopback servers cannot produce (frame stage) ------------------


def test_degraded_rendering_and_exit_code() -> None:
    stages = (
        ProbeResult(Stage.REACH, True, 0.001),
        ProbeResult(Stage.RTSP, True, 0.002, detail="H264"),
        ProbeResult(Stage.FRAME, True, 1.5),
    )
    res = LadderResult("degraded", None, stages, 3.25, Device("Dahua", "IPC", "2.8", "SN9"),
                       (Check("black", True, 0.02), Check("blur", False, 12.5)))
    obj = result_json(res)
    assert obj["video"] == {"checks": {"black": {"ok": True, "score": 0.02}, "blur": {"ok": False, "score": 12.5}}}
    assert obj["device"] == {"vendor": "Dahua", "model": "IPC", "firmware": "2.8", "serial": "SN9"}
    assert obj["clock_offset_s"] == 3.25 and obj["stages"][2]["ms"] == 1500.0
    json.dumps(obj)
    text = "\n".join(human_lines(ProbeTarget("10.1.1.1"), res, "zh"))
    assert "降级" in text and "Dahua" in text and "+3.2" in text
    # the checks in words (not blur or black), each with a verdict word (not a ✓: "信号丢失 ✓" read as "signal lost: yes")
    assert "  画面检测: 黑屏：通过（得分 0.02）；模糊：未通过（得分 12.5）" in text.splitlines()
    assert "  picture checks: black: pass (score 0.02); blurred: FAIL (score 12.5)" in human_lines(
        ProbeTarget("10.1.1.1"), res, "en")
    assert EXIT_CODES[res.state] == 10 and EXIT_CODES["offline"] == 11 and EXIT_CODES["online"] == 0
    off = LadderResult("offline", Cause.NO_VIDEO, stages)
    assert human_lines(ProbeTarget("10.1.1.1"), off, "en")[-1] == "verdict: offline — no video"
    assert text.splitlines()[-1] == f"结论：降级——画面异常：{check_words(VqdName.BLUR)}"


@pytest.mark.parametrize("cause", list(Cause))
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_verdict_gives_the_declared_words_of_each_cause(cause: Cause, lang: str) -> None:
    res = LadderResult("offline", cause, (ProbeResult(Stage.REACH, False, 0.001, cause),))
    verdict = next(line for line in human_lines(ProbeTarget("10.1.1.1"), res, lang) if line.startswith(("结论", "verdict")))
    assert verdict.endswith(f" — {cause.words('en')}" if lang == "en" else f"——{cause.words('zh')}")
    assert verdict.count("（") <= 1 and verdict.count("(") <= 1  # never nested: 离线（端口关闭（拒绝连接））


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("rtsp://10.0.0.5/Streaming/Channels/101", ProbeTarget("10.0.0.5", 554, "/Streaming/Channels/101")),
        ("rtsp://u:p%40ss@cam.local:8554", ProbeTarget("cam.local", 8554, "/", username="u", password="p@ss")),
        # a raw "@" in the password: the host is what follows the last "@" before the path (as RTSP clients read it)
        ("rtsp://admin:p@ss@10.0.0.5:8554/x", ProbeTarget("10.0.0.5", 8554, "/x", username="admin", password="p@ss")),
        ("RTSP://u@[::1]:10554/a?b=1", ProbeTarget("::1", 10554, "/a?b=1", username="u")),
    ],
)
def test_parse_rtsp_url(text: str, want: ProbeTarget) -> None:
    got = parse_rtsp_url(text)
    assert got == want and got.password == want.password


@pytest.mark.parametrize(("bad", "reason"), [
    ("http://x/", "scheme"), ("rtsps://x/", "scheme"), ("rtsp:///nohost", "host"), ("rtsp://h:99999/", "port"),
    ("rtsp://h:0/a", "port"), ("rtsp://h:abc/a", "port"), ("rtsp://h/a b", "path"),
    # a raw "/", "#" or "?" in the password: urlsplit would read "admin" as the host
    ("rtsp://admin:12/34@10.0.0.5:554/live", "userinfo"), ("rtsp://admin:ab#cd@10.0.0.5/live", "userinfo"),
    ("rtsp://admin:a?b@10.0.0.5/live", "userinfo"),
    ("rtsp://admin:pa[ss@10.0.0.1/", "host"),  # (urlsplit's "Invalid IPv6 URL": no traceback)
])
def test_parse_rtsp_url_rejects_and_says_why(bad: str, reason: str) -> None:
    with pytest.raises(BadTarget) as caught:
        parse_rtsp_url(bad)
    assert caught.value.reason == reason


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_bad_target_never_shows_what_stands_before_its_last_at(lang: str) -> None:
    """A password with a raw "/" in it (not percent-encoded): refused, and not echoed, in part or whole."""
    code, out, err = invoke("rtsp://admin:Zx9/sec@ret@127.0.0.1:554/live", lang=lang)
    assert code == 2 and out == ""
    assert "rtsp://***@127.0.0.1:554/live" in err and "Zx9" not in err and "sec" not in err and "admin" not in err
    assert ("%2F" in err) and (("百分号编码" in err) if lang == "zh" else ("percent-encoded" in err))


def test_a_camera_id_without_a_database_is_one_line_and_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    code, out, err = _invoke_db(f"sqlite:///{db}", "42")
    assert code == 3 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "camwatch init" in err and not db.exists()


def _invoke_db(db_url: str, *args: str) -> tuple[int, str, str]:
    try:
        runner = CliRunner(mix_stderr=False)  # type: ignore[call-arg]  # click < 8.2
    except TypeError:
        runner = CliRunner()
    res = runner.invoke(build_cli(), ["--db", db_url, "probe", *args], catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def _console() -> list[str]:
    script = REPO / ".venv" / "bin" / "camwatch"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from collector.cli import main; main(sys.argv[1:])"]


def test_console_script_exit_codes(digest_server: RtspTestServer) -> None:
    for pw, want in ((PW_URL, 0), ("bad-secret-x", PROBE_OFFLINE)):
        proc = subprocess.run(
            [*_console(), "probe", url(digest_server, pw), "--json", "--onvif-port", "0"],
            capture_output=True, text=True, timeout=60, cwd=REPO,
        )
        assert proc.returncode == want, proc.stderr
        assert set(json.loads(proc.stdout)) == KEYS
        assert_no_password(proc.stdout, proc.stderr)
        assert "bad-secret-x" not in proc.stdout + proc.stderr


def _has_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_url_without_onvif_port_does_not_try_onvif_and_says_so(digest_server: RtspTestServer) -> None:
    code, out, err = invoke(url(digest_server))
    assert code == 0, (out, err)
    assert "未检查 ONVIF" in out and "--onvif-port" in out
    assert " onvif " not in out and "警告" not in out  # no stage tried, no warning
    code, out, err = invoke(url(digest_server), lang="en")
    assert code == 0 and "ONVIF (clock, device identity) not checked" in out
    assert not _has_cjk(out + err)  # one language: no Chinese in the English output
    code, out, _ = invoke(url(digest_server), "--json")
    assert json.loads(out)["clock_offset_s"] is None
    assert [s["stage"] for s in json.loads(out)["stages"]] == ["reach", "rtsp"]


@pytest.fixture(scope="module")
def skewed_fleet() -> Iterator[Fleet]:
    with Fleet(2, workers=1) as f:
        f.set_behaviour(0, Behaviour(clock_skew_s=600.0))
        f.set_behaviour(1, Behaviour(clock_skew_s=30.0))
        yield f


def test_clock_off_by_more_than_the_limit_is_degraded_with_the_offset(skewed_fleet: Fleet) -> None:
    cam = skewed_fleet.camera(0)
    args = (cam.rtsp_url(with_credentials=True), "--onvif-port", str(cam.onvif_port))
    code, out, _ = invoke(*args)
    assert code == PROBE_DEGRADED, out
    assert out.strip().splitlines()[-1] == "结论：降级——时钟偏差 +600 秒"
    code, out, _ = invoke(*args, lang="en")
    assert code == PROBE_DEGRADED and out.strip().splitlines()[-1] == "verdict: degraded — clock offset +600 s"
    code, out, _ = invoke(*args, "--json")
    obj = json.loads(out)
    assert obj["state"] == "degraded" and obj["failed_checks"] == ["clock:+600"]
    assert abs(obj["clock_offset_s"] - 600.0) < 1.0


def test_clock_within_the_limit_is_online(skewed_fleet: Fleet) -> None:
    cam = skewed_fleet.camera(1)
    code, out, _ = invoke(cam.rtsp_url(with_credentials=True), "--onvif-port", str(cam.onvif_port), "--json")
    obj = json.loads(out)
    assert code == 0 and obj["state"] == "online" and obj["failed_checks"] == []
    assert abs(obj["clock_offset_s"] - 30.0) < 1.0


@pytest.mark.parametrize(("target", "shown"), [
    ("rtsp://admin:Secret123", "rtsp://admin:***"),  # the host left out: the password reads as the port
    ("rtsp://admin:Secret123/live", "rtsp://admin:***/live"),
    ("rtsp://10.0.0.1:99999/live", "rtsp://10.0.0.1:99999/live"),  # a port out of range is shown: a typo to see
    ("rtsp://admin:pa[ss@10.0.0.1/", "rtsp://***@10.0.0.1/"),
])
def test_a_bad_target_without_a_host_never_shows_the_password(target: str, shown: str) -> None:
    code, out, err = invoke(target, lang="en")
    assert code == 2 and out == "" and shown in err, err
    assert "Secret123" not in err and "pa[ss" not in err and "Traceback" not in err
