"""The ``camwatch`` group imports a command's module only when the command is asked for."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import click

from collector.cli import COMMANDS, LazyGroup
from tests.inventory.helpers import migrated


def test_the_command_table_names_what_each_module_registers() -> None:
    """Every module of the table, registered into a group of its own, adds exactly the commands the
    table gives it (a command missing from the table would not exist for the user)."""
    for module in sorted(set(COMMANDS.values())):
        group = click.Group()
        importlib.import_module(f"collector.cli.{module}").register(group)
        assert sorted(group.commands) == sorted(c for c, m in COMMANDS.items() if m == module), module


def _modules_after(*args: str) -> set[str]:
    code = ("import sys\nfrom collector.cli import main\ntry:\n    main(list(sys.argv[1:]))\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sys.modules), file=sys.stderr)")
    r = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    return set(r.stderr.split())


def test_version_and_one_commands_help_load_no_other_command() -> None:
    heavy = {"av", "openpyxl", "aiohttp", "collector.web", "collector.cli.probe_cmd", "collector.cli.report_cmds"}
    assert not heavy & _modules_after("--version")
    loaded = _modules_after("replicas", "--help")
    assert "collector.cli.replicas_cmd" in loaded and not {"av", "openpyxl", "collector.cli.probe_cmd"} & loaded


def test_users_commands_load_no_web_console(tmp_path: Path) -> None:
    """``camwatch users`` works on the account store below the web console (collector.accounts):
    adding and listing an account imports neither the console nor aiohttp (~1.6 s more before)."""
    db = f"sqlite:///{tmp_path / 'camwatch.db'}"
    migrated(db)
    code = ("import sys\nfrom collector.cli import main\ntry:\n    main(list(sys.argv[1:]))\nexcept SystemExit as e:\n"
            "    print('exit', e.code)\nprint('\\n'.join(sys.modules), file=sys.stderr)")
    heavy = {"aiohttp", "collector.web", "collector.runtime.app", "collector.cli.report_cmds"}
    for args, stdin, said in ((("users", "add", "boss", "--role", "admin", "--password-stdin"), "s3cret-pass\n", "已添加用户 boss"),
                              (("--lang", "en", "users", "list"), "", "boss\tadmin\tall")):
        r = subprocess.run([sys.executable, "-c", code, "--db", db, *args], input=stdin, capture_output=True, text=True,
                           timeout=120)
        loaded = set(r.stderr.split())
        assert said in r.stdout and "exit" not in r.stdout, r.stdout + r.stderr[-2000:]
        assert "collector.accounts.store" in loaded and not heavy & loaded, heavy & loaded


def test_help_lists_every_command() -> None:
    r = subprocess.run([sys.executable, "-c", "from collector.cli import main; main(['--help'])"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    listed = {line.split()[0] for line in r.stdout.split("Commands:", 1)[1].splitlines() if line.strip()}
    assert listed == set(COMMANDS)
    assert isinstance(importlib.import_module("collector.cli").cli, LazyGroup)


def test_a_command_another_module_adds_to_a_group_is_there() -> None:
    """``inventory import-catalog`` comes from the GB/T 28181 commands' module."""
    r = subprocess.run([sys.executable, "-c", "from collector.cli import main; main(['inventory', 'import-catalog', '--help'])"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "--out" in r.stdout, r.stdout + r.stderr
