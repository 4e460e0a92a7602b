"""Columns a county ledger names its own way. ``端口`` is not taken for the RTSP port (in a ledger it
is often the device's HTTP/SDK port, 80 or 8000): the warning says which of our columns to use, by
their real headers; so for the other near misses. Unambiguous names (口令, 帐号) are aliases. And the
file messages name the file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from inventory.columns import NEAR_MISS, column_for, hint_for
from inventory.fields import BY_KEY
from inventory.importer import validate_file
from inventory.messages import HEADER_HINTS, Issue, Severity
from tests.inventory.helpers import box, do_import, migrated, snapshot, write_csv

HEAD = ["县/区", "乡镇/街道", "村/社区", "点位名称", "IP地址"]
ROW = ["平山县", "城关镇", "东村", "村口", "192.0.2.10"]


def _warnings(tmp_path: Path, extra: list[str]) -> list[Issue]:
    plan = validate_file(write_csv(tmp_path / "f.csv", HEAD + extra, [ROW + ["x"] * len(extra)]), box())
    assert plan.ok, [i.render() for i in plan.errors]
    return [i for i in plan.issues if i.severity is Severity.WARNING]


def test_a_port_column_is_not_taken_but_the_warning_says_which_to_use(tmp_path: Path) -> None:
    [w] = _warnings(tmp_path, ["端口"])
    assert (w.code, w.row, w.column) == ("header_unknown", 1, "端口")  # (the code JSON readers know)
    zh, en = w.message("zh"), w.message("en")
    assert zh.startswith("未识别的列“端口”，已忽略：RTSP 端口请用“RTSP端口”列，ONVIF 端口请用“ONVIF端口”列"), zh
    assert "HTTP" in zh and "8000" in zh
    assert en.startswith("unknown column '端口', ignored: put the RTSP port in a column headed 'RTSP端口' (or 'rtsp_port')")
    assert "'ONVIF端口' (or 'onvif_port')" in en and "not RTSP's 554" in en
    assert column_for("端口") is None and column_for("端口号") is None


@pytest.mark.parametrize(("header", "hint"), [
    ("端口", "port"), ("端口号", "port"), ("Port", "port"), ("端口（默认80）", "port"), ("HTTP端口", "device_port"),
    ("SDK 端口", "device_port"), ("用户", "user"), ("经纬度", "lonlat"), ("坐标", "lonlat"), ("IP地址", None),
    ("品牌型号", None),
])
def test_near_misses_have_a_hint(header: str, hint: str | None) -> None:
    assert hint_for(header) == hint


def test_every_hint_reads_whole_in_both_languages_and_names_real_headers() -> None:
    assert set(NEAR_MISS.values()) == set(HEADER_HINTS)
    for name in NEAR_MISS:
        assert column_for(name) is None, name  # a near miss is never also one of ours
    for code in HEADER_HINTS:
        issue = Issue(Severity.WARNING, "header_unknown", 1, "某列", {"column": "某列", "hint": code})
        zh, en = issue.message("zh"), issue.message("en")
        assert not re.search("[{}]", zh + en), (zh, en)
        named = [q for q in re.findall(r"“([^”]+)”", zh) if q != "某列"]
        assert named and all(BY_KEY[column_for(q) or ""].zh == q for q in named), zh
        # in English: our Chinese header, or the English one (the file may use either)
        pairs = re.findall(r"'([^' ]+)' \(or '([^']+)'\)", en)
        assert [BY_KEY[column_for(a) or ""].en == b for a, b in pairs] == [True] * len(named), en
        assert [a for a, _ in pairs] == named
    # a warning without a hint is as before
    assert Issue(Severity.WARNING, "header_unknown", 1, "某列", {"column": "某列"}).message() == "未识别的列“某列”，已忽略"


def test_unambiguous_login_headers_are_aliases(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'a.db'}")
    for user, password in (("帐号", "口令"), ("登录名", "登录密码")):
        path = write_csv(tmp_path / f"{user}.csv", [*HEAD, user, password], [[*ROW, "admin", f"Pw-{user}"]])
        out = do_import(url, path)
        assert out.plan.ok and not [i for i in out.plan.issues if i.code == "header_unknown"], out.plan.issues
        [cam] = snapshot(url)["cameras"].values()
        assert cam[4:6] == ("admin", f"Pw-{user}")


def test_the_file_messages_name_the_file(tmp_path: Path) -> None:
    garbage = tmp_path / "台账.csv"
    garbage.write_bytes("县/区,乡镇/街道\n".encode("utf-16-le"))  # (UTF-16 without its BOM is not guessed)
    [err] = validate_file(garbage, box()).errors
    assert err.code == "file_encoding" and str(garbage) in err.message() and str(garbage) in err.message("en")
    assert "GB18030" in err.message() and "另存为“CSV UTF-8（逗号分隔）”或 .xlsx" in err.message()
    assert "tried UTF-8, UTF-8 with BOM, UTF-16 with BOM and GB18030/GBK" in err.message("en")
    huge = tmp_path / "huge.csv"
    huge.write_text(",".join(HEAD) + "\n" + ",".join(ROW[:3]) + ',"' + "x" * 200_000 + '",192.0.2.1\n', encoding="utf-8")
    [err] = validate_file(huge, box()).errors
    assert err.code == "file_unreadable" and err.message().startswith(f"无法读取文件 {huge}：")
    assert err.message("en").startswith(f"cannot read {huge}: ")
