"""``camwatch dashboards export DIR`` and ``camwatch dashboards push``: the Grafana dashboards as code."""

from __future__ import annotations

from pathlib import Path

import click

from collector.cli.context import CliContext
from dashboards.export import export
from probes.redact import redact_url


def register(group: click.Group) -> None:
    @group.group("dashboards")
    def dashboards() -> None:
        """Grafana dashboards (运维总览, 覆盖率, 摄像机详情, camwatch 自身): export JSON, push to Grafana."""

    @dashboards.command("export")
    @click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
    @click.pass_obj
    def export_cmd(ctx: CliContext, directory: Path) -> None:
        """Write one JSON file per dashboard into DIRECTORY (for Grafana file provisioning)."""
        en = ctx.lang == "en"
        for path in export(directory):
            click.echo(f"wrote {path}" if en else f"已写入 {path}")

    @dashboards.command("push")
    @click.option("--url", required=True, help="Grafana base URL, e.g. http://grafana:3000")
    @click.option("--token", required=True, envvar="CAMWATCH_GRAFANA_TOKEN",
                  help="Grafana service account token [env CAMWATCH_GRAFANA_TOKEN]")
    @click.option("--folder", default="camwatch", show_default=True, help="Grafana folder to put the dashboards in")
    @click.pass_obj
    def push_cmd(ctx: CliContext, url: str, token: str, folder: str) -> None:
        """Create or update the folder and the dashboards in Grafana (unchanged dashboards are left alone)."""
        # lazy: the Grafana client (requests) costs ~0.17 s of every camwatch start-up
        from dashboards.push import PushError, push

        en = ctx.lang == "en"
        try:
            report = push(url, token, folder)
        except PushError as exc:
            raise click.ClickException(f"{redact_url(url)}: {exc}") from None
        if report.folder_created:
            click.echo(f"created folder {folder}" if en else f"已创建文件夹 {folder}")
        for label_en, label_zh, uids in (("created", "已创建", report.created), ("updated", "已更新", report.updated),
                                         ("unchanged", "未变化", report.unchanged)):
            for uid in uids:
                click.echo(f"{label_en} {uid}" if en else f"{label_zh} {uid}")
