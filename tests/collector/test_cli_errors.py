"""Every user error the issue lists is one line on stderr, in the user's language, naming the
option, file, setting or port and the fix, with its own exit status (collector.cli.exitcodes) and
no traceback. Each case runs `camwatch` as a real subprocess."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from collector.cli import exitcodes
from collector.cli.errors import run_main
from tests.collector.test_cli_inventory import camwatch


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("errors")
    assert camwatch(d, "init").returncode == 0
    return d


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        yield int(s.getsockname()[1])


def one_line(r, status: int, *words: str) -> str:  # type: ignore[no-untyped-def]
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert r.returncode == status, (r.returncode, lines)
    for w in words:
        assert w in lines[0], (w, lines[0])
    return str(lines[0])


def test_exit_statuses_are_distinct() -> None:
    codes = [exitcodes.OK, exitcodes.DATA, exitcodes.USAGE, exitcodes.ENVIRONMENT, exitcodes.PROBE_DEGRADED,
             exitcodes.PROBE_OFFLINE]
    assert len(set(codes)) == len(codes)
    assert set(exitcodes.PROBE_VERDICTS.values()).isdisjoint({exitcodes.DATA, exitcodes.USAGE, exitcodes.ENVIRONMENT})


@pytest.mark.parametrize("lang,words", [("zh", ("已被占用", "http.port", "CAMWATCH_HTTP__PORT")),
                                        ("en", ("is already in use", "change http.port", "CAMWATCH_HTTP__PORT"))])
def test_run_with_its_port_in_use(home: Path, taken_port: int, lang: str, words: tuple[str, ...]) -> None:
    r = camwatch(home, "--lang", lang, "run", env={"CAMWATCH_HTTP__PORT": str(taken_port)})
    one_line(r, exitcodes.ENVIRONMENT, f"127.0.0.1:{taken_port}", *words)


@pytest.mark.parametrize("host", ["no-such-host.invalid", "300.1.1.1"])
def test_run_with_an_invalid_host(home: Path, host: str) -> None:
    r = camwatch(home, "--lang", "en", "run", env={"CAMWATCH_HTTP__HOST": host, "CAMWATCH_HTTP__PORT": "0"})
    one_line(r, exitcodes.ENVIRONMENT, f"http.host {host!r}", "CAMWATCH_HTTP__HOST")
    r = camwatch(home, "run", env={"CAMWATCH_HTTP__HOST": host, "CAMWATCH_HTTP__PORT": "0"})
    one_line(r, exitcodes.ENVIRONMENT, f"http.host “{host}” 不是本机可监听的地址")


@pytest.mark.parametrize("name", ["x.csv", "x.xlsx"])
def test_export_to_a_missing_directory(home: Path, name: str) -> None:
    target = f"/nonexistent/dir/{name}"
    one_line(camwatch(home, "inventory", "export", target), exitcodes.ENVIRONMENT, target, "目录 /nonexistent/dir 不存在")
    one_line(camwatch(home, "--lang", "en", "inventory", "export", target), exitcodes.ENVIRONMENT,
             "directory /nonexistent/dir does not exist")


def test_coverage_from_yesterday(home: Path) -> None:
    one_line(camwatch(home, "coverage", "--from", "yesterday"), exitcodes.USAGE, "--from", "yesterday", "YYYY-MM-DD")


@pytest.mark.parametrize("value", ["0", "nan"])
def test_demo_interval_too_short(home: Path, value: str) -> None:
    one_line(camwatch(home, "demo", "--interval", value), exitcodes.USAGE, "--interval", "至少 1 秒")
    one_line(camwatch(home, "--lang", "en", "demo", "--interval", value), exitcodes.USAGE, "--interval", "at least 1 s")


def test_demo_dir_that_cannot_be_made(home: Path) -> None:
    one_line(camwatch(home, "demo", "--dir", "/proc/nope"), exitcodes.ENVIRONMENT, "/proc/nope", "--dir")
    one_line(camwatch(home, "--lang", "en", "demo", "--dir", "/proc/nope"), exitcodes.ENVIRONMENT,
             "cannot use directory /proc/nope", "choose a writable one with --dir")


def test_demo_with_its_port_in_use(home: Path, taken_port: int) -> None:
    r = camwatch(home, "--lang", "en", "demo", "--dir", str(home / "demo"), "--port", str(taken_port))
    one_line(r, exitcodes.ENVIRONMENT, f"port 127.0.0.1:{taken_port} is already in use", "--port")


def test_click_usage_errors_are_one_line(home: Path) -> None:
    one_line(camwatch(home, "probe"), exitcodes.USAGE, "camwatch probe", "TARGET", "camwatch probe --help")
    one_line(camwatch(home, "--lang", "en", "demo", "--bogus"), exitcodes.USAGE, "--bogus", "see `camwatch demo --help`")
    assert one_line(camwatch(home, "probe", "http://x"), exitcodes.USAGE, "rtsp://").startswith("camwatch: 无效的探测目标")


def test_missing_database_and_unknown_camera(home: Path, tmp_path: Path) -> None:
    one_line(camwatch(tmp_path, "inventory", "summary"), exitcodes.ENVIRONMENT, "camwatch init")
    assert one_line(camwatch(home, "--lang", "en", "probe", "9999"), exitcodes.DATA, "9999") == "camwatch: no camera with id 9999"


@pytest.mark.parametrize("args,zh,en", [
    (("--lang", "fr", "rates"), "'--lang' 的值无效：'fr' 不是 'zh'、'en' 之一", "Invalid value for '--lang'"),
    (("rates", "--methd", "time"), "没有选项 --methd（是要用 '--method' 吗？）", "No such option '--methd'"),
    (("inventory", "import"), "缺少参数 FILE", "Missing argument 'FILE'"),
    (("nosuch",), "没有命令 'nosuch'", "No such command 'nosuch'"),
    (("demo", "--cameras", "5"), "'--cameras' 的值无效：5 不在范围 10<=x<=100000 内", "is not in the range"),
    (("inventory", "import", "a.csv", "extra"), "多余的参数：extra", "unexpected extra argument"),
])
def test_clicks_usage_errors_in_the_users_language(home: Path, args: tuple[str, ...], zh: str, en: str) -> None:
    """click's own usage errors: Chinese by default (its usual ones translated), English when asked."""
    line = one_line(camwatch(home, *args), exitcodes.USAGE, zh, "用法见")
    assert not any(w in line for w in ("Invalid value", "No such", "Missing", "unexpected")), line
    lang_given = args[:2] == ("--lang", "fr")  # (an invalid --lang: the default, Chinese, speaks)
    if not lang_given:
        one_line(camwatch(home, "--lang", "en", *args), exitcodes.USAGE, en, "see `")


DB_COMMANDS = [("init",), ("db", "upgrade"), ("db", "current")]


@pytest.mark.parametrize("args", [*DB_COMMANDS, ("config", "check")])
def test_a_bad_database_url_stops_the_db_commands_as_a_usage_mistake(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Not exit 3 in English (the machine): exit 2 in the user's words, the password hidden."""
    url = "mysql://u:secret-pw@h/db"
    one_line(camwatch(tmp_path, "--db", url, *args), exitcodes.USAGE, "不支持的数据库 'mysql'：请用 sqlite 或 postgresql")
    r = camwatch(tmp_path, "--lang", "en", "--db", url, *args)
    one_line(r, exitcodes.USAGE, "unsupported database 'mysql'")
    assert "secret-pw" not in r.stdout + r.stderr


@pytest.mark.parametrize("args", DB_COMMANDS)
def test_a_database_that_cannot_be_reached_is_one_line_naming_it(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A closed port on loopback: the URL (password hidden) and what to check, not the driver's
    "[Errno 111] Connect call failed" nor SQLAlchemy's class name and link."""
    from tests.net import free_port  # lazy: only these tests

    url = f"postgresql://camwatch:secret-pw@127.0.0.1:{free_port()}/test"
    shown = url.replace("secret-pw", "***")
    r = camwatch(tmp_path, "--db", url, *args)
    line = one_line(r, exitcodes.ENVIRONMENT, f"无法连接数据库 {shown}：连接被拒绝")
    assert "Errno" not in line and "secret-pw" not in r.stdout + r.stderr
    one_line(camwatch(tmp_path, "--lang", "en", "--db", url, *args), exitcodes.ENVIRONMENT,
             f"cannot open database {shown}: connection refused")


def test_sqlite_database_in_a_missing_directory_or_file(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "x.db"
    for args in (("init",), ("db", "upgrade")):
        line = one_line(camwatch(tmp_path, "--db", f"sqlite:///{missing}", *args), exitcodes.ENVIRONMENT,
                        f"目录 {missing.parent} 不存在")
        assert "sqlite3" not in line and "sqlalche.me" not in line
    # `db current` reads: a mistyped file name is reported, not created empty
    typo = tmp_path / "camwatch-typo.db"
    one_line(camwatch(tmp_path, "--db", f"sqlite:///{typo}", "db", "current"), exitcodes.ENVIRONMENT, "不存在", "camwatch init")
    assert not typo.exists()


@pytest.mark.parametrize("argv,line", [
    (["work"], "camwatch：已中断"),
    (["--lang", "en", "work"], "camwatch: interrupted"),
    (["--db", "sqlite:///x.db", "--lang=en", "work"], "camwatch: interrupted"),
])
def test_ctrl_c_is_one_line_in_the_users_language(capsys: pytest.CaptureFixture[str], argv: list[str], line: str) -> None:
    """Not click's English "Aborted!" with the status of bad data (1): the shell's status for SIGINT."""
    @click.group()
    @click.option("--lang")
    @click.option("--db")
    def group(lang: str | None, db: str | None) -> None:
        pass

    @group.command("work")
    def work() -> None:
        raise KeyboardInterrupt  # (what Ctrl-C raises in the middle of a long import)

    with pytest.raises(SystemExit) as exc:
        run_main(group, argv)
    assert exc.value.code == exitcodes.INTERRUPTED == 130
    assert capsys.readouterr().err.strip().splitlines() == [line]


def test_a_bad_language_names_where_it_came_from(home: Path) -> None:
    """CAMWATCH_LANG=fr was reported as a bad --lang; EN in capitals was refused."""
    one_line(camwatch(home, "rates", env={"CAMWATCH_LANG": "fr"}), exitcodes.USAGE, "CAMWATCH_LANG", "'fr'")
    line = one_line(camwatch(home, "--lang", "fr", "rates"), exitcodes.USAGE, "--lang", "'fr'")
    assert "CAMWATCH_LANG" not in line
    r = camwatch(home, "inventory", "summary", env={"CAMWATCH_LANG": "EN"})
    assert r.returncode == 0 and "cameras" in r.stdout.lower(), r.stdout + r.stderr
