"""The one console script, ``camwatch``.

Settings, engines and logging are built here, in the entry point, and passed down.
Subcommands live in sibling modules and are attached in :func:`build_cli`.
"""

from __future__ import annotations

import sys

import click

from collector.cli.context import CliContext


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
    type=click.Choice(["zh", "en"]),
    envvar="CAMWATCH_LANG",
    default=None,
    help="language of messages about your data (default zh, or `language` in the config)",
)
@click.version_option(package_name="camwatch")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, db_url: str | None, lang: str | None) -> None:
    """camwatch: camera inventory and uptime monitor (雪亮工程 / 技防 cameras)."""
    ctx.obj = CliContext(config_file=config_file, db_url=db_url, lang_override=lang)


def build_cli() -> click.Group:
    # lazy: importing this package (e.g. for collector.cli.context) must not load every command's stack
    from collector.cli import (
        alerts_cmds,
        dashboards_cmd,
        db_cmds,
        demo_cmd,
        gb28181_cmds,
        inventory_cmds,
        notify_cmds,
        probe_cmd,
        replicas_cmd,
        report_cmds,
        reports_group,
        run_cmd,
        users_cmds,
    )

    for mod in (db_cmds, inventory_cmds, run_cmd, demo_cmd, report_cmds, reports_group, alerts_cmds, dashboards_cmd,
                probe_cmd, users_cmds, gb28181_cmds, replicas_cmd):
        mod.register(cli)
    alerts_group = cli.commands["alerts"]
    assert isinstance(alerts_group, click.Group)
    notify_cmds.add_test_command(alerts_group)
    return cli


def main(argv: list[str] | None = None) -> None:
    # lazy: as build_cli, this package must stay light for collector.cli.context
    from collector.cli.errors import run_main

    run_main(build_cli(), argv)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
