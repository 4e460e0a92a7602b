"""The one console script, ``camwatch``.

Settings, engines and logging are built here, in the entry point, and passed down.
Subcommands live in sibling modules and are attached in :func:`build_cli`.
"""

from __future__ import annotations

import importlib
import sys

import click

from collector.cli.context import CliContext


def _language(ctx: click.Context, value: str | None) -> str | None:
    """``--lang`` / ``CAMWATCH_LANG``: zh or en in any case; a bad value names where it came from."""
    if value is None or value.strip().lower() in ("zh", "en"):
        return None if value is None else value.strip().lower()
    from_env = ctx.get_parameter_source("lang") is click.core.ParameterSource.ENVIRONMENT
    raise click.BadParameter(f"{value!r} is not one of 'zh', 'en'.",
                             param_hint="CAMWATCH_LANG" if from_env else "'--lang'")


# Each command and the module that registers it (tests/collector/test_cli_lazy.py checks the table).
COMMANDS: dict[str, str] = {
    "init": "db_cmds", "db": "db_cmds", "config": "db_cmds", "inventory": "inventory_cmds", "run": "run_cmd",
    "demo": "demo_cmd", "rates": "report_cmds", "coverage": "report_cmds", "exclusion": "report_cmds",
    "report": "reports_group", "alerts": "alerts_cmds", "workorders": "alerts_cmds", "dashboards": "dashboards_cmd",
    "probe": "probe_cmd", "users": "users_cmds", "gb28181": "gb28181_cmds", "replicas": "replicas_cmd",
}
# A module that adds a command to another module's group (``inventory import-catalog``): loaded with it.
EXTENDS: dict[str, str] = {"gb28181_cmds": "inventory_cmds"}
_LOADED: set[str] = set()


class LazyGroup(click.Group):
    """A group whose commands are imported when asked for (all of them for ``--help``)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            _load(COMMANDS[cmd_name])
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_file",
    envvar="CAMWATCH_CONFIG",
    type=click.Path(dir_okay=False),
    default=None,
    help="YAML config file [env CAMWATCH_CONFIG; default ./camwatch.yaml if present]",
)
@click.option(
    "--db",
    "db_url",
    envvar="CAMWATCH_DB",
    default=None,
    help="database URL [env CAMWATCH_DB; default sqlite:///camwatch.db]",
)
@click.option(
    "--lang",
    metavar="[zh|en]",
    envvar="CAMWATCH_LANG",
    default=None,
    callback=lambda ctx, param, value: _language(ctx, value),
    help="language of messages about your data (default zh, or `language` in the config) [env CAMWATCH_LANG]",
)
@click.version_option(package_name="camwatch")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, db_url: str | None, lang: str | None) -> None:
    """camwatch: camera inventory and uptime monitor (雪亮工程 / 技防 cameras)."""
    ctx.obj = CliContext(config_file=config_file, db_url=db_url, lang_override=lang)


def build_cli() -> click.Group:
    """The ``camwatch`` group; each command's module is imported when the command is asked for
    (``camwatch --version`` or ``camwatch rates`` need not load the web console, PyAV, openpyxl...)."""
    return cli


def _load(module: str) -> None:
    """Import a command module and attach its commands (once), with the modules it extends or that
    extend it (:data:`EXTENDS`)."""
    if module in _LOADED:
        return
    _LOADED.add(module)
    if module in EXTENDS:
        _load(EXTENDS[module])
    importlib.import_module(f"collector.cli.{module}").register(cli)
    if module == "alerts_cmds":  # `alerts test` comes from the notifier's module
        from collector.cli import notify_cmds  # lazy: as every command module

        alerts_group = cli.commands["alerts"]
        assert isinstance(alerts_group, click.Group)
        notify_cmds.add_test_command(alerts_group)
    for other, base in EXTENDS.items():
        if base == module:
            _load(other)


def main(argv: list[str] | None = None) -> None:
    # lazy: as build_cli, this package must stay light for collector.cli.context
    from collector.cli.errors import run_main

    run_main(build_cli(), argv)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
