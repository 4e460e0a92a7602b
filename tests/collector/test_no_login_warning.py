"""The collector's warning for a camera whose stored password cannot be read ("no login attempted:
<why>", collector.runtime.ladders.reach_only) reads in Chinese wherever a warning is shown
(``camwatch probe``, the console's camera page: both through probes.detail_words), for every reason
inventory.secrets gives; English stays as it is."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet

from collector.cli.probe_cmd import human_lines
from collector.runtime.ladders import reach_only
from inventory.secrets import SecretBox, SecretError
from probes.base import ProbeTarget
from probes.causes import Cause
from probes.detail_words import detail_words
from probes.ladder import LadderOptions
from tests.probes.detail_english import english_left


def secret_errors() -> dict[str, SecretError]:
    """One real SecretError of each kind, as the inventory's lookup meets it."""
    other = SecretBox(Fernet.generate_key().decode()).store("pw")
    refs = {"no_key": (None, other), "wrong_key": (Fernet.generate_key().decode(), other),
            "env_unset": (None, "env:CAM_PW_7"), "unknown_ref": (None, "plain:pw")}
    out: dict[str, SecretError] = {}
    for kind, (key, ref) in refs.items():
        with pytest.raises(SecretError) as caught:
            SecretBox(key, environ={}).reveal(ref)
        assert caught.value.kind == kind
        out[kind] = caught.value
    return out


ERRORS = secret_errors()


@pytest.fixture(scope="module")
def listening() -> Iterator[int]:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        srv.listen(8)
        yield srv.getsockname()[1]


def warning_of(port: int, why: SecretError) -> tuple[object, str]:
    """reach_only's result for a camera that answers, and its one warning (as the scheduler keeps it)."""
    target = ProbeTarget("127.0.0.1", port, "/live", None)
    res = asyncio.run(reach_only(target, LadderOptions(), str(why)))
    assert (res.state, res.cause) == ("offline", Cause.CREDENTIAL_UNAVAILABLE)
    (w,) = res.warnings
    return res, w


@pytest.mark.parametrize("kind", list(ERRORS))
def test_the_warning_reads_in_chinese(listening: int, kind: str) -> None:
    why = ERRORS[kind]
    res, w = warning_of(listening, why)
    assert w == f"no login attempted: {why}"
    zh = detail_words(w, "zh")
    assert zh.startswith("未尝试登录："), zh
    assert english_left(zh, (why.variable,) if why.variable else ()) == [], zh
    # the reason as inventory.secrets words it for people (less the no-key hint its English does not give)
    assert why.words("zh").partition("（请设置")[0] in zh, zh
    assert detail_words(w, "en") == w
    # camwatch probe's warning line
    lines = human_lines(ProbeTarget("127.0.0.1", listening), res, "zh")
    assert f"  警告: {zh}" in lines, lines
    assert f"  warning: {w}" in human_lines(ProbeTarget("127.0.0.1", listening), res, "en")


def test_how_it_reads() -> None:
    assert detail_words(f"no login attempted: {ERRORS['env_unset']}", "zh") == "未尝试登录：环境变量 CAM_PW_7 未设置"
    assert detail_words(f"no login attempted: {ERRORS['no_key']}", "zh") == "未尝试登录：没有密钥，无法读取已存密码"
