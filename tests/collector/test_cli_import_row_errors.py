"""A re-import whose file has rows with errors, as a new user meets it: the row errors come first,
and the cameras of those rows are not reported as a mass retirement (they are in the file); a file
that really lists only part of the county still stops, that said after the row errors. The counts
of ``--json`` say how many data rows the file holds and how many have errors. Words of the file
messages: an undecodable file and a ledger's ``端口`` column. End to end, real SQLite."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "sample_inventory.csv"
LINES = SAMPLE.read_text(encoding="utf-8-sig").splitlines()
DATA = len(LINES) - 1
CAMERAS = sum(1 for line in LINES[1:] if line.split(",")[13])
GB_ID, HOST, INSTALLED = 12, 13, 24


def camwatch(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    return subprocess.run([exe, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _edited(path: Path, lines: list[str], bad_dates: range, bad_hosts: range) -> Path:
    """*lines* with a bad 安装日期 on the data rows *bad_dates* and a port typed into the IP column
    on *bad_hosts* (data rows counted from 2, the header being row 1)."""
    out = [lines[0]]
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split(",")
        if number in bad_dates:
            cells[INSTALLED] = "2020-02-30"
        if number in bad_hosts and cells[HOST]:
            cells[HOST] += ":8554"
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def imported(tmp_path: Path) -> Path:
    assert camwatch(tmp_path, "init").returncode == 0
    assert camwatch(tmp_path, "inventory", "import", str(SAMPLE)).returncode == 0
    return tmp_path


def test_row_errors_are_not_a_mass_retirement(imported: Path) -> None:
    bad = _edited(imported / "bad.csv", LINES, range(2, 22), range(22, 27))  # about half the cameras
    dates = sum(1 for line in LINES[1:21] if line.split(",")[HOST])  # (a point without a camera has no date)
    errors = dates + sum(1 for line in LINES[21:26] if line.split(",")[HOST])
    for args, lang in (((), "zh"), (("--dry-run",), "zh"), (("--dry-run",), "en"), ((), "en")):
        r = camwatch(imported, "--lang", lang, "inventory", "import", str(bad), *args)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(lines) == errors + 1, r.stderr
        assert lines[0].startswith("错误：第 2 行，列“安装日期”" if lang == "zh" else "error: row 2, column '安装日期'"), lines[0]
        assert "--allow-mass-retire" not in r.stderr and "退役" not in r.stderr and "retire" not in r.stderr
    assert lines[-1] == f"camwatch: {errors} error(s) in {errors} of {DATA} data rows; nothing was written"
    r = camwatch(imported, "inventory", "import", str(bad))
    assert r.stderr.strip().splitlines()[-1] == f"camwatch: {errors} 处错误（{DATA} 行数据中有 {errors} 行有错误），未写入任何数据"
    out = json.loads(camwatch(imported, "inventory", "import", "--dry-run", "--json", str(bad)).stdout)
    assert out["rows"] == DATA and out["rows_with_errors"] == errors and not out["ok"] and not out["written"]
    assert out["cameras"]["retired"] == 0 and out["points"]["retired"] == 0
    assert [i["code"] for i in out["issues"]] == ["bad_date"] * dates + ["bad_host"] * (errors - dates)
    summary = json.loads(camwatch(imported, "inventory", "summary", "--json").stdout)
    assert summary["cameras"] == CAMERAS


def test_a_partial_file_with_row_errors_says_the_retirement_last(imported: Path) -> None:
    part = _edited(imported / "part.csv", LINES[:6], range(3, 4), range(0))
    r = camwatch(imported, "inventory", "import", str(part))
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(lines) == 3, r.stderr
    kept = sum(1 for line in LINES[1:6] if line.split(",")[HOST])
    assert lines[0].startswith("错误：第 3 行，列“安装日期”") and f"{CAMERAS - kept}/{CAMERAS}" in lines[1], r.stderr
    assert "--allow-mass-retire" in lines[1]
    out = json.loads(camwatch(imported, "inventory", "import", "--json", str(part)).stdout)
    assert [i["code"] for i in out["issues"]] == ["bad_date", "mass_retire"] and out["rows"] == 5
    assert out["cameras"]["retired"] == CAMERAS - kept  # (the guard's number)


def test_validate_counts_the_files_rows_when_every_row_has_an_error(tmp_path: Path) -> None:
    assert camwatch(tmp_path, "init").returncode == 0  # (the sample has passwords: a key)
    bad = tmp_path / "bad.csv"
    lines = [",".join("东经114" if i == 9 else c for i, c in enumerate(x.split(","))) for x in LINES[1:]]
    bad.write_text("\n".join([LINES[0], *lines]) + "\n", encoding="utf-8")
    r = camwatch(tmp_path, "inventory", "validate", "--json", str(bad))
    out = json.loads(r.stdout)
    assert r.returncode == 1 and out["rows"] == DATA and out["rows_with_errors"] == DATA == out["errors"]
    assert out["in_file"]["cameras"] == 0 and not out["ok"] and out["warnings"] == 0  # (the keys as before)
    r = camwatch(tmp_path, "inventory", "validate", str(bad))
    assert r.stderr.strip().splitlines()[-1] == f"camwatch: {DATA} 处错误（{DATA} 行数据中有 {DATA} 行有错误）"
    good = json.loads(camwatch(tmp_path, "inventory", "validate", "--json", str(SAMPLE)).stdout)
    assert good["rows"] == DATA and good["rows_with_errors"] == 0 and good["ok"]


def test_an_undecodable_file_is_named_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "台账.csv"
    path.write_bytes("县/区,乡镇/街道\n".encode("utf-16-le"))  # (UTF-16 without the BOM Excel writes)
    r = camwatch(tmp_path, "inventory", "validate", str(path))
    assert r.returncode == 1 and str(path) in r.stderr and "GB18030" in r.stderr and "UTF-8" in r.stderr, r.stderr
    assert "另存为" in r.stderr and ".xlsx" in r.stderr
    assert camwatch(tmp_path, "init").returncode == 0
    r = camwatch(tmp_path, "--lang", "en", "inventory", "import", str(path))
    assert r.returncode == 1 and str(path) in r.stderr and "save it as" in r.stderr, r.stderr


def test_a_port_column_says_which_column_to_use(tmp_path: Path) -> None:
    path = tmp_path / "ports.csv"
    path.write_text("县/区,乡镇/街道,村/社区,点位名称,IP地址,端口,口令\n平山县,城关镇,东村,村口,192.0.2.10,8000,\n",
                    encoding="utf-8")
    r = camwatch(tmp_path, "inventory", "validate", str(path))
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip().splitlines() == [
        "警告：第 1 行，列“端口”：未识别的列“端口”，已忽略：RTSP 端口请用“RTSP端口”列，ONVIF 端口请用“ONVIF端口”列"
        "（台账里的“端口”常是设备的 HTTP 或 SDK 端口，如 80、8000，而不是 RTSP 的 554）"], r.stderr
    r = camwatch(tmp_path, "--lang", "en", "inventory", "validate", str(path))
    assert r.stderr.strip().splitlines() == [
        "warning: row 1, column '端口': unknown column '端口', ignored: put the RTSP port in a column headed "
        "'RTSP端口' (or 'rtsp_port') and the ONVIF port in 'ONVIF端口' (or 'onvif_port'); a ledger's '端口' "
        "is often the device's HTTP or SDK port (80, 8000), not RTSP's 554"], r.stderr


def test_json_claims_no_retirement_for_a_row_that_names_no_camera(imported: Path) -> None:
    """A row whose GB ID and address are both wrong may be any camera the file does not list
    otherwise: ``cameras.retired`` does not count one for it; of a partial file it counts the
    cameras certainly gone, the number the guard's message gives."""
    cells = LINES[5].split(",")  # row 6
    cells[GB_ID], cells[HOST] = "", cells[HOST] + ":8554"
    bad = imported / "unknown.csv"
    bad.write_text("\n".join([*LINES[:5], ",".join(cells), *LINES[6:]]) + "\n", encoding="utf-8")
    r = camwatch(imported, "inventory", "import", "--dry-run", "--json", str(bad))
    out = json.loads(r.stdout)
    assert r.returncode == 1 and [i["code"] for i in out["issues"]] == ["bad_host"] and not out["written"]
    assert out["cameras"]["retired"] == 0 and out["points"]["retired"] == 0
    part = imported / "part.csv"
    part.write_text("\n".join([*LINES[:5], ",".join(cells)]) + "\n", encoding="utf-8")
    out = json.loads(camwatch(imported, "inventory", "import", "--json", str(part)).stdout)
    gone = CAMERAS - sum(1 for line in LINES[1:6] if line.split(",")[HOST])
    assert [i["code"] for i in out["issues"]] == ["bad_host", "mass_retire"] and not out["written"]
    assert out["cameras"]["retired"] == gone and f"{gone}/{CAMERAS}" in out["issues"][-1]["message"]
    summary = json.loads(camwatch(imported, "inventory", "summary", "--json").stdout)
    assert summary["cameras"] == CAMERAS
