"""The `camwatch` console script end to end, in a subprocess, on a real SQLite database."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from collector.cli.inventory_cmds import id_ranges

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "config" / "sample_inventory.csv"
SAMPLE_PASSWORD = "admin123"


def camwatch(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("camwatch", path=str(Path(sys.executable).parent)) or "camwatch"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CAMWATCH_")}
    full_env.update(env or {})
    return subprocess.run([exe, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)


def test_help_lists_commands(tmp_path: Path) -> None:
    r = camwatch(tmp_path, "--help")
    assert r.returncode == 0
    for cmd in ("init", "db", "inventory", "config"):
        assert cmd in r.stdout
    r = camwatch(tmp_path, "inventory", "--help")
    for cmd in ("import", "export", "validate", "summary"):
        assert cmd in r.stdout


def test_init_import_summary_export(tmp_path: Path) -> None:
    r = camwatch(tmp_path, "inventory", "summary")
    assert r.returncode == 3 and "camwatch init" in r.stderr  # environment: no database yet
    r = camwatch(tmp_path, "init")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "camwatch.yaml").exists() and (tmp_path / "camwatch.key").exists() and (tmp_path / "camwatch.db").exists()
    r = camwatch(tmp_path, "inventory", "import", str(SAMPLE), "--dry-run")
    assert r.returncode == 0 and "试运行" in r.stdout
    r = camwatch(tmp_path, "inventory", "summary", "--json")
    assert json.loads(r.stdout)["cameras"] == 0
    r = camwatch(tmp_path, "inventory", "import", str(SAMPLE))
    assert r.returncode == 0, r.stderr
    assert SAMPLE_PASSWORD not in r.stdout + r.stderr
    s = json.loads(camwatch(tmp_path, "inventory", "summary", "--json").stdout)
    assert s["counties"] == 1 and s["cameras"] > 20 and s["planned_points"] > s["built_points"]
    assert sum(t["cameras"] for t in s["per_township"]) == s["cameras"]
    r = camwatch(tmp_path, "inventory", "summary")
    assert "县/区 1" in r.stdout
    r = camwatch(tmp_path, "--lang", "en", "inventory", "summary")
    assert "counties 1" in r.stdout
    r = camwatch(tmp_path, "inventory", "import", str(SAMPLE))
    assert r.returncode == 0 and "无变化" in r.stdout
    out = tmp_path / "out.csv"
    r = camwatch(tmp_path, "inventory", "export", str(out))
    assert r.returncode == 0 and SAMPLE_PASSWORD not in out.read_text(encoding="utf-8-sig")
    r = camwatch(tmp_path, "inventory", "export", str(tmp_path / "with.csv"), "--include-secrets")
    assert SAMPLE_PASSWORD in (tmp_path / "with.csv").read_text(encoding="utf-8-sig")
    r = camwatch(tmp_path, "inventory", "import", "--json", str(out))
    assert json.loads(r.stdout)["cameras"]["unchanged"] == s["cameras"]


def test_bad_file_exit_1_lists_every_row(tmp_path: Path) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    lines = SAMPLE.read_text(encoding="utf-8-sig").splitlines()
    bad = [lines[0]]
    for i, line in enumerate(lines[1:6], start=2):
        cells = line.split(",")
        if i in (3, 5):
            cells[14] = "0"  # RTSP port out of range
        bad.append(",".join(cells))
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(bad) + "\n", encoding="gb18030")
    r = camwatch(tmp_path, "inventory", "import", str(path))
    assert r.returncode == 1
    assert "第 3 行" in r.stderr and "第 5 行" in r.stderr and "RTSP端口" in r.stderr
    assert "未写入任何数据" in r.stderr
    assert json.loads(camwatch(tmp_path, "inventory", "summary", "--json").stdout)["cameras"] == 0
    r = camwatch(tmp_path, "--lang", "en", "inventory", "validate", str(path))
    assert r.returncode == 1 and "row 3" in r.stderr and "row 5" in r.stderr


def test_validate_json_says_what_the_file_holds_not_changes(tmp_path: Path) -> None:
    """``validate`` does not read the database: its JSON counts the file's contents, the same
    before and after the file is imported (import --dry-run --json counts the changes)."""
    assert camwatch(tmp_path, "init").returncode == 0
    before = json.loads(camwatch(tmp_path, "inventory", "validate", "--json", str(SAMPLE)).stdout)
    assert camwatch(tmp_path, "inventory", "import", str(SAMPLE)).returncode == 0
    after = json.loads(camwatch(tmp_path, "inventory", "validate", "--json", str(SAMPLE)).stdout)
    assert before == after and after["ok"] and after["errors"] == 0
    summary = json.loads(camwatch(tmp_path, "inventory", "summary", "--json").stdout)
    assert after["in_file"]["cameras"] == summary["cameras"] > 0 and after["in_file"]["points"] == summary["points"]
    dry = json.loads(camwatch(tmp_path, "inventory", "import", "--dry-run", "--json", str(SAMPLE)).stdout)
    assert dry["cameras"]["added"] == 0 and dry["cameras"]["unchanged"] == summary["cameras"]


def test_bad_config_key_is_one_clear_message(tmp_path: Path) -> None:
    (tmp_path / "camwatch.yaml").write_text("database:\n  uri: x\n", encoding="utf-8")
    r = camwatch(tmp_path, "inventory", "summary")  # (Chinese by default)
    assert r.returncode == 2 and "配置无效" in r.stderr and "database.uri：未知的键" in r.stderr
    assert "Traceback" not in r.stderr and "unknown key" not in r.stderr
    r = camwatch(tmp_path, "--lang", "en", "inventory", "summary")
    assert r.returncode == 2 and "database.uri: unknown key" in r.stderr
    r = camwatch(tmp_path, "inventory", "summary", env={"CAMWATCH_BOGUS": "1"})  # (one message with the file's)
    assert r.returncode == 2 and "CAMWATCH_BOGUS：未知的环境变量" in r.stderr and "database.uri：未知的键" in r.stderr


def test_a_bad_value_from_a_variable_names_the_variable_not_the_file(tmp_path: Path) -> None:
    (tmp_path / "camwatch.yaml").write_text("collector:\n  interval_s: 60\n", encoding="utf-8")
    r = camwatch(tmp_path, "config", "check", env={"CAMWATCH_COLLECTOR__INTERVAL_S": "0"})
    assert r.returncode == 2, r.stderr
    assert "collector.interval_s（来自环境变量 CAMWATCH_COLLECTOR__INTERVAL_S）：应大于 0" in r.stderr
    r = camwatch(tmp_path, "--lang", "en", "config", "check", env={"CAMWATCH_COLLECTOR__INTERVAL_S": "x"})
    assert r.returncode == 2 and "collector.interval_s (from CAMWATCH_COLLECTOR__INTERVAL_S):" in r.stderr
    r = camwatch(tmp_path, "config", "check", env={"CAMWATCH_COLLECTOR__INTERVAL_S": "x"})
    assert "应为数字" in r.stderr


@pytest.mark.parametrize(("url", "zh", "en"), [
    ("mysql://u:secret@h/db", "不支持的数据库 'mysql'：请用 sqlite 或 postgresql", "unsupported database 'mysql'"),
    ("notaurl", "不是数据库网址：'notaurl'", "not a database URL: 'notaurl'"),
    ("postgres//u:secret@h/db", "不是数据库网址：'…@h/db'", "not a database URL: '…@h/db'"),
])
def test_a_bad_database_url_is_a_command_line_mistake(tmp_path: Path, url: str, zh: str, en: str) -> None:
    """Exit 2 (the command line), in the user's language, the password of an unparsable URL not shown."""
    r = camwatch(tmp_path, "--db", url, "inventory", "summary")
    assert r.returncode == 2 and zh in r.stderr and "secret" not in r.stderr, r.stderr
    r = camwatch(tmp_path, "--lang", "en", "--db", url, "inventory", "summary")
    assert r.returncode == 2 and en in r.stderr and "secret" not in r.stderr, r.stderr


@pytest.mark.postgres
def test_a_database_that_cannot_be_opened_is_one_line_in_the_servers_words(tmp_path: Path) -> None:
    """The real local PostgreSQL refusing an unknown role, and a closed port on loopback: one
    line each, no SQLAlchemy class name, no link to its docs; exit 3 (the machine is not ready)."""
    from sqlalchemy.engine import make_url  # lazy: only this test

    from tests.net import free_port

    base = make_url(os.environ.get("CAMWATCH_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test"))
    nobody = base.set(username="camwatch_no_such_role").render_as_string(hide_password=False)
    r = camwatch(tmp_path, "--db", nobody, "inventory", "summary")
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 3 and len(lines) == 1, r.stderr
    assert "无法连接数据库" in lines[0] and 'role "camwatch_no_such_role" does not exist' in lines[0]
    assert "sqlalchemy" not in r.stderr and "sqlalche.me" not in r.stderr
    closed = f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    r = camwatch(tmp_path, "--lang", "en", "--db", closed, "inventory", "summary")
    assert r.returncode == 3 and r.stderr.strip().splitlines() == [
        f"camwatch: cannot open database {closed}: connection refused (is the server running, at this address and port?)"]


@pytest.mark.postgres
def test_db_option_postgres(tmp_path: Path, db_url: str) -> None:
    """`--db` and CAMWATCH_DB select the database; here both kinds via the shared fixture."""
    r = camwatch(tmp_path, "--db", db_url, "db", "upgrade")
    assert r.returncode == 0, r.stderr
    key = {"CAMWATCH_SECRET_KEY": "test-key-material"}
    r = camwatch(tmp_path, "inventory", "import", str(SAMPLE), env={"CAMWATCH_DB": db_url, **key})
    assert r.returncode == 0, r.stderr
    s = json.loads(camwatch(tmp_path, "--db", db_url, "inventory", "summary", "--json").stdout)
    assert s["cameras"] > 20


def _summary(cwd: Path) -> dict[str, object]:
    r = camwatch(cwd, "inventory", "summary", "--json")
    assert r.returncode == 0, r.stderr
    return dict(json.loads(r.stdout))


def test_import_prints_ids_and_a_partial_file_stops_at_the_guard(tmp_path: Path) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    r = camwatch(tmp_path, "inventory", "import", str(SAMPLE))
    assert r.returncode == 0, r.stderr
    total = _summary(tmp_path)["cameras"]
    assert isinstance(total, int) and total > 20
    assert f"新增摄像机编号：1-{total}（共 {total} 台）" in r.stdout
    lines = SAMPLE.read_text(encoding="utf-8-sig").splitlines()
    partial = tmp_path / "one-village.csv"
    partial.write_text("\n".join(lines[:6]) + "\n", encoding="utf-8")
    kept = sum(1 for line in lines[1:6] if line.split(",")[13])
    gone = total - kept
    r = camwatch(tmp_path, "inventory", "import", str(partial))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"{gone}/{total}" in r.stderr and "--allow-mass-retire" in r.stderr and "未写入任何数据" in r.stderr
    assert _summary(tmp_path)["cameras"] == total
    r = camwatch(tmp_path, "--lang", "en", "inventory", "import", str(partial), "--dry-run")
    assert r.returncode == 1 and f"retire {gone} of {total} cameras" in r.stderr and "--allow-mass-retire" in r.stderr
    r = camwatch(tmp_path, "inventory", "import", str(partial), "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 1 and not out["written"] and [i["code"] for i in out["issues"]] == ["mass_retire"]
    # --no-retire only adds and updates; --allow-mass-retire goes through
    r = camwatch(tmp_path, "inventory", "import", str(partial), "--no-retire")
    assert r.returncode == 0 and "无变化" in r.stdout and _summary(tmp_path)["cameras"] == total
    r = camwatch(tmp_path, "inventory", "import", str(partial), "--allow-mass-retire", "--json")
    out = json.loads(r.stdout)
    assert r.returncode == 0 and out["written"] and out["cameras"]["retired"] == gone and out["cameras"]["added_ids"] == []
    assert _summary(tmp_path)["cameras"] == kept
    # the full file brings them back (no new ids: the retired cameras return)
    r = camwatch(tmp_path, "inventory", "import", str(SAMPLE), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["cameras"]["added_ids"] == []
    # a new camera: its id is printed, and listed by --json
    extra = lines[1].split(",")
    extra[11], extra[12], extra[13] = "新摄像机", "", "127.20.9.9"
    grown = tmp_path / "grown.csv"
    grown.write_text("\n".join([*lines, ",".join(extra)]) + "\n", encoding="utf-8")
    r = camwatch(tmp_path, "--lang", "en", "inventory", "import", str(grown))
    assert r.returncode == 0 and f"ids of the cameras added: {total + 1} (1 in all)" in r.stdout


def test_a_file_without_data_rows_is_an_error_naming_it(tmp_path: Path) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    header = SAMPLE.read_text(encoding="utf-8-sig").splitlines()[0]
    only = tmp_path / "headers-only.csv"
    only.write_text(header + "\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    for path in (only, empty):
        for cmd in ("import", "validate"):
            r = camwatch(tmp_path, "inventory", cmd, str(path))
            assert r.returncode == 1 and str(path) in r.stderr and "Traceback" not in r.stderr, (cmd, r.stderr)
    broken = tmp_path / "broken.xlsx"  # (an .xls or a CSV renamed, a download cut short)
    broken.write_bytes(b"not a zip archive")
    r = camwatch(tmp_path, "inventory", "import", str(broken))
    assert r.returncode == 1 and f"无法读取文件 {broken}：不是有效的 Excel 工作簿" in r.stderr, r.stderr
    r = camwatch(tmp_path, "inventory", "export", str(tmp_path / "out.txt"))
    assert r.returncode == 2 and "不支持的文件类型" in r.stderr and not (tmp_path / "out.txt").exists()


def test_region_options_take_a_path_of_names(tmp_path: Path) -> None:
    assert camwatch(tmp_path, "init").returncode == 0
    assert camwatch(tmp_path, "inventory", "import", str(SAMPLE)).returncode == 0
    r = camwatch(tmp_path, "exclusion", "add", "--region", "城关镇/大前村1", "--from", "2026-11-01 08:00",
                 "--to", "2026-11-01 18:00", "--reason", "停电报备", "--approver", "张三")
    assert r.returncode == 0, r.stderr
    r = camwatch(tmp_path, "exclusion", "list", "--json")
    assert [(x["region"], x["status"]) for x in json.loads(r.stdout)] == [("130123101201", "approved")]
    listed = camwatch(tmp_path, "exclusion", "list").stdout  # added by hand: approved at once, said in words
    assert listed.startswith("#") and "\t已批准\t" in listed and "停电报备" in listed
    r = camwatch(tmp_path, "alerts", "silence", "--region", "示范县/东风镇", "--until", "2h")
    assert r.returncode == 0, r.stderr
    r = camwatch(tmp_path, "alerts", "silences", "--json")
    assert [x["region"] for x in json.loads(r.stdout)] == ["130123102000"]
    # not found: one line naming the near regions, exit status 1
    r = camwatch(tmp_path, "exclusion", "add", "--region", "城关镇/大前村", "--from", "2026-11-01 08:00",
                 "--to", "2026-11-01 18:00", "--reason", "x", "--approver", "y")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "找不到区划“城关镇/大前村”" in r.stderr and "示范县/城关镇/大前村1 (130123101201)" in r.stderr
    assert r.stderr.count("--region") == 1  # names the option it is about
    r = camwatch(tmp_path, "--lang", "en", "alerts", "silence", "--region", "nowhere", "--until", "2h")
    assert r.returncode == 1 and "no region 'nowhere'" in r.stderr
    assert len(json.loads(camwatch(tmp_path, "exclusion", "list", "--json").stdout)) == 1


def test_id_ranges_are_concise() -> None:
    assert id_ranges([7, 3, 4, 5, 9, 10]) == "3-5, 7, 9-10"
    assert id_ranges([1]) == "1" and id_ranges([]) == ""
    assert id_ranges(range(1, 100_001)) == "1-100000"
    assert id_ranges(range(0, 100, 2), limit=3) == "0, 2, 4, …"


def test_a_password_in_an_rtsp_query_is_never_printed(tmp_path: Path) -> None:
    """Dahua-style `?user=admin&password=...` in the RTSP address: hidden in what an import adds,
    in what it retires, and in the errors about the address."""
    assert camwatch(tmp_path, "init").returncode == 0
    head = "县/区,乡镇/街道,村/社区,点位名称,RTSP地址\n"
    url = "rtsp://127.20.0.1:554/cam/realmonitor?channel=1&user=admin&password=Qs-Leak-7"
    one = tmp_path / "one.csv"
    one.write_text(head + f"平山县,平山镇,东关村,村口,{url}\n", encoding="utf-8")
    two = tmp_path / "two.csv"
    two.write_text(head + f"平山县,平山镇,东关村,村口,{url}\n平山县,平山镇,东关村,路口,{url}\n", encoding="utf-8")
    other = tmp_path / "other.csv"
    other.write_text(head + "平山县,平山镇,东关村,路口,rtsp://127.20.0.2/live\n", encoding="utf-8")
    runs = [camwatch(tmp_path, "inventory", "import", str(one), "--dry-run"),
            camwatch(tmp_path, "inventory", "import", str(one), "-v"),
            camwatch(tmp_path, "inventory", "import", str(two)),  # the same address twice: an error naming it
            camwatch(tmp_path, "inventory", "import", str(other), "--allow-mass-retire", "--dry-run")]
    assert [r.returncode for r in runs] == [0, 0, 1, 0], [r.stderr for r in runs]
    assert "password=***" in runs[0].stdout and "password=***" in runs[2].stderr and "password=***" in runs[3].stdout
    for r in runs:
        assert "Qs-Leak-7" not in r.stdout + r.stderr, r.stdout + r.stderr


def test_export_with_secrets_under_another_key_says_so_in_words(tmp_path: Path) -> None:
    """The stored passwords were encrypted with camwatch.key; another key cannot read them: one line
    in the user's language naming the option, exit status 1, no file written."""
    assert camwatch(tmp_path, "init").returncode == 0
    assert camwatch(tmp_path, "inventory", "import", str(SAMPLE)).returncode == 0
    other = {"CAMWATCH_SECRET_KEY": "another-key-material"}
    r = camwatch(tmp_path, "inventory", "export", "out.csv", "--include-secrets", env=other)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        "camwatch: 无法导出密码（--include-secrets）：已存密码无法用当前密钥解密（密钥不对）；未写出 out.csv"]
    r = camwatch(tmp_path, "--lang", "en", "inventory", "export", "out.csv", "--include-secrets", env=other)
    assert r.returncode == 1 and "cannot export the passwords (--include-secrets)" in r.stderr
    assert not (tmp_path / "out.csv").exists() and SAMPLE_PASSWORD not in r.stdout + r.stderr
