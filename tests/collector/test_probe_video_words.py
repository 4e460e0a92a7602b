"""``camwatch probe --video`` against GStreamer's RTSP server: the picture checks' line in the reader's
language (每项检测的中文名称, the English words in English; never the checks' code names), each with
its verdict word (通过/未通过, pass/FAIL: not a ✓, "信号丢失 ✓" read as "signal lost: yes") and score as the
JSON gives them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from collector.cli.exitcodes import PROBE_DEGRADED
from probes.checks import CHECK_WORDS, VqdName, check_words
from tests.peers.gst_fixture import PASSWORD, GstServer, gst_server, gst_server_module  # noqa: F401

LABEL = {"zh": "画面检测", "en": "picture checks"}
SEP = {"zh": "；", "en": "; "}
CHECK = {"zh": re.compile(r"(?P<words>.+)：(?P<verdict>通过|未通过)（得分 (?P<score>-?[\d.]+(?:e[+-]?\d+)?|nan|inf)）"),
         "en": re.compile(r"(?P<words>.+): (?P<verdict>pass|FAIL) \(score (?P<score>-?[\d.]+(?:e[+-]?\d+)?|nan|inf)\)")}
VERDICT = {"zh": ("未通过", "通过"), "en": ("FAIL", "pass")}


def probe(lang: str, *args: str) -> tuple[int, str, str]:
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    r = subprocess.run([exe, "--lang", lang, "probe", *args, "--onvif-port", "0"], capture_output=True, text=True,
                       timeout=90, env=env)
    assert PASSWORD not in r.stdout + r.stderr
    return r.returncode, r.stdout, r.stderr


def video_line(out: str, lang: str) -> str:
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith(LABEL[lang] + ":")]
    assert len(lines) == 1, out
    return lines[0].removeprefix(LABEL[lang] + ":").strip()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_black_picture_checks_in_the_readers_words(gst_server: GstServer, lang: str) -> None:  # noqa: F811
    code, js, err = probe(lang, gst_server.url("/black"), "--video", "--json")
    assert code == PROBE_DEGRADED, (js, err)
    checks = json.loads(js)["video"]["checks"]  # (the checks by name, in run_vqd's order)
    assert set(checks) == {n.value for n in VqdName}

    code, out, err = probe(lang, gst_server.url("/black"), "--video")
    assert code == PROBE_DEGRADED, (out, err)
    line = video_line(out, lang)
    # every check by its words, in the same order, with its verdict word and score
    parsed = [CHECK[lang].fullmatch(item) for item in line.split(SEP[lang])]
    assert all(parsed), line
    assert [m["words"] for m in parsed if m] == [check_words(name, lang) for name in checks], line
    # the verdicts are those of the JSON (a run of its own: the scores may differ a little)
    assert [m["verdict"] for m in parsed if m] == [VERDICT[lang][bool(c["ok"])] for c in checks.values()], line
    assert [m["words"] for m in parsed if m and m["verdict"] == VERDICT[lang][0]] == [check_words(VqdName.BLACK, lang)], line
    if lang == "zh":  # no code name (signal_loss, color_cast) nor English word left in Chinese
        assert re.search(r"[A-Za-z]", line) is None, line
        assert f"{CHECK_WORDS[VqdName.SIGNAL_LOSS].zh}：通过（得分 " in line and f"{CHECK_WORDS[VqdName.BLACK].zh}：未通过（得分 " in line
    else:
        assert "signal_loss" not in line and "color_cast" not in line
        assert "signal lost: pass (score " in line and "black: FAIL (score " in line
