"""``camwatch inventory import|validate|export|summary``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Sequence
from pathlib import Path

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.cli.context import CliContext
from collector.cli.errors import unwritable
from collector.cli.exitcodes import ENVIRONMENT, USAGE
from collector.cli.runtime import fail, progress_factory, secret_box
from inventory.apply import ApplyError
from inventory.export import ExportError, export_file, export_format_ok
from inventory.fields import FIELDS
from inventory.importer import ImportOutcome, import_file, validate_file
from inventory.messages import Severity
from inventory.plan import Plan
from inventory.rows import format_address
from inventory.secrets import SecretError
from inventory.summary import Summary, summarize

DETAIL_LIMIT = 20
ID_RANGES_SHOWN = 10


def id_ranges(ids: Sequence[int], limit: int = ID_RANGES_SHOWN) -> str:
    """Ids as ranges, ``3-7, 9, 12-40``; after *limit* ranges an ellipsis."""
    spans: list[list[int]] = []
    for i in sorted(ids):
        if spans and i == spans[-1][1] + 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans[:limit])
    return text + (", …" if len(spans) > limit else "")


def _t(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def print_issues(plan: Plan, lang: str) -> None:
    for issue in plan.issues:
        click.echo(issue.render(lang), err=True)


def errors_line(plan: Plan, lang: str) -> str:
    """How many errors, and in how many of the file's data rows (when rows have them)."""
    n, bad, rows = len(plan.errors), plan.rows_with_errors, plan.rows
    if not bad:
        return _t(lang, f"{n} 处错误", f"{n} error(s)")
    return _t(lang, f"{n} 处错误（{rows} 行数据中有 {bad} 行有错误）", f"{n} error(s) in {bad} of {rows} data rows")


def _lines(title: str, items: list[str], verbose: bool, lang: str) -> None:
    if not items:
        return
    click.echo(f"{title}: {len(items)}" if lang == "en" else f"{title}：{len(items)}")
    shown = items if verbose else items[:DETAIL_LIMIT]
    for line in shown:
        click.echo(f"  {line}")
    if len(items) > len(shown):
        click.echo("  " + _t(lang, f"……另有 {len(items) - len(shown)} 项（--verbose 显示全部）", f"... {len(items) - len(shown)} more (--verbose shows all)"))


LEVEL_ZH = {"county": "县/区", "township": "乡镇/街道", "village": "村/社区"}
# The changed fields of a camera or point as the file's headers name them (a stored attribute
# or a column key: 密码 / password, 点位类型 / point_kind...); a region's own.
FIELD_WORDS: dict[str, tuple[str, str]] = {
    **{f.key: (f.zh, f.en) for f in FIELDS}, **{f.stored: (f.zh, f.en) for f in FIELDS if f.stored},
    "retired": ("恢复（曾撤销）", "restored (was retired)"),
}
REGION_FIELD_WORDS = {"name": ("名称", "name"), "parent_code": ("上级区划", "parent region")}


def field_words(names: Sequence[str], lang: str, words: dict[str, tuple[str, str]] = FIELD_WORDS) -> str:
    """Changed fields in the reader's words: the file's header of each (Chinese or English)."""
    shown = [words[n][1 if lang == "en" else 0] if n in words else n for n in names]
    return ", ".join(shown) if lang == "en" else "、".join(shown)


def print_plan(plan: Plan, lang: str, verbose: bool, *, dry_run: bool) -> None:
    en = lang == "en"

    def row(n: int) -> str:
        return f"row {n}: " if en else f"第 {n} 行："

    _lines(_t(lang, "新增区划", "regions to add" if dry_run else "regions added"),
           [f"{r.code} {r.name} ({r.level.value})" if en else f"{r.code} {r.name}（{LEVEL_ZH.get(r.level.value, r.level.value)}）"
            for r in plan.region_new], verbose, lang)
    sep = ": " if en else "："
    _lines(_t(lang, "变更区划", "regions changed"),
           [f"{r.code} {r.name}{sep}{field_words(r.fields, lang, REGION_FIELD_WORDS)}" for r in plan.region_changed], verbose, lang)
    _lines(_t(lang, "新增点位", "points to add" if dry_run else "points added"), [f"{row(p.row)}{p.village_code} {p.name}" for p in plan.point_new], verbose, lang)
    _lines(_t(lang, "变更点位", "points changed"), [f"{p.village_code} {p.name}{sep}{field_words(p.fields, lang)}" for p in plan.point_changed], verbose, lang)
    _lines(_t(lang, "撤销点位", "points retired"), [f"{p.name} ({p.detail})" for p in plan.point_retired], verbose, lang)
    _lines(_t(lang, "新增上联设备", "upstream devices added"), [f"{d.name}@{d.host}" for d in plan.device_new], verbose, lang)
    _lines(_t(lang, "新增摄像机", "cameras to add" if dry_run else "cameras added"),
           [f"{row(c.row)}{c.values.record.name} {format_address(c.values.record.address)}" for c in plan.camera_new], verbose, lang)
    _lines(_t(lang, "变更摄像机", "cameras changed"),
           [f"{row(c.row)}#{c.id} {c.values.record.name}{sep}{field_words(c.fields, lang)}" for c in plan.camera_changed], verbose, lang)
    _lines(_t(lang, "退役摄像机", "cameras retired"), [f"#{r.id} {r.name} {r.detail}" for r in plan.camera_retired], verbose, lang)
    if plan.empty:
        click.echo(_t(lang, f"无变化（{plan.rows} 行，{plan.camera_unchanged} 台摄像机未变）", f"nothing to change ({plan.rows} rows, {plan.camera_unchanged} cameras unchanged)"))


def plan_json(plan: Plan, lang: str, written: bool, added_ids: Sequence[int] = ()) -> dict[str, object]:
    return {
        "ok": plan.ok,
        "written": written,
        "rows": plan.rows,
        "rows_with_errors": plan.rows_with_errors,
        "regions": {"added": len(plan.region_new), "changed": len(plan.region_changed)},
        "points": {"added": len(plan.point_new), "changed": len(plan.point_changed), "retired": len(plan.point_retired)},
        "devices": {"added": len(plan.device_new), "changed": len(plan.device_changed)},
        "cameras": {
            "added": len(plan.camera_new), "changed": len(plan.camera_changed),
            "retired": len(plan.camera_retired), "unchanged": plan.camera_unchanged,
            "added_ids": list(added_ids),
        },
        "issues": [i.as_dict(lang) for i in plan.issues],
    }


def file_json(plan: Plan, lang: str) -> dict[str, object]:
    """``inventory validate --json``: what the file holds (the database is not read, so there are
    no changes to count: see ``import --dry-run --json`` for those)."""
    return {
        "ok": plan.ok,
        "rows": plan.rows,
        "rows_with_errors": plan.rows_with_errors,
        "in_file": {"regions": len(plan.region_new) + len(plan.region_changed),
                    "points": len(plan.point_new) + len(plan.point_changed),
                    "devices": len(plan.device_new) + len(plan.device_changed),
                    "cameras": len(plan.camera_new) + len(plan.camera_changed) + plan.camera_unchanged},
        "errors": len(plan.errors),
        "warnings": sum(1 for i in plan.issues if i.severity is Severity.WARNING),
        "issues": [i.as_dict(lang) for i in plan.issues],
    }


def print_summary(s: Summary, lang: str) -> None:
    en = lang == "en"
    click.echo(_t(lang,
                  f"县/区 {s.counties}  乡镇/街道 {s.townships}  村/社区 {s.villages}",
                  f"counties {s.counties}  townships {s.townships}  villages {s.villages}"))
    click.echo(_t(lang,
                  f"点位 {s.points}（规划 {s.planned_points}，已建 {s.built_points}）",
                  f"points {s.points} (planned {s.planned_points}, built {s.built_points})"))
    click.echo(_t(lang,
                  f"摄像机 {s.cameras}（在用 {s.cameras_active}，维护 {s.cameras_maintenance}；另有退役 {s.cameras_retired}）  上联设备 {s.devices}",
                  f"cameras {s.cameras} (active {s.cameras_active}, maintenance {s.cameras_maintenance}; retired {s.cameras_retired})  upstream devices {s.devices}"))
    if not s.per_township:
        return
    click.echo("")
    head = ("county", "township", "code", "villages", "points", "planned", "built", "cameras") if en else ("县/区", "乡镇/街道", "代码", "村", "点位", "规划", "已建", "摄像机")
    click.echo("\t".join(head))
    for t in s.per_township:
        click.echo("\t".join(str(x) for x in (t.county, t.name, t.code, t.villages, t.points, t.planned_points, t.built_points, t.cameras)))


def register(group: click.Group) -> None:
    @group.group("inventory")
    def inventory() -> None:
        """Camera inventory: import, validate, export, summary."""

    @inventory.command("import")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="show what would be added, changed and retired; write nothing")
    @click.option("--no-retire", is_flag=True, help="do not retire cameras missing from the file")
    @click.option("--allow-mass-retire", is_flag=True,
                  help="retire them even when more than inventory.retire_guard of a county's cameras would go")
    @click.option("--json", "as_json", is_flag=True, help="print the outcome as JSON")
    @click.option("-v", "--verbose", is_flag=True, help="list every change, not only the first ones")
    @click.pass_obj
    def import_cmd(ctx: CliContext, file: str, dry_run: bool, no_retire: bool, allow_mass_retire: bool,
                   as_json: bool, verbose: bool) -> None:
        """Import cameras and points from a CSV or XLSX file (all or nothing).

        Chinese or English headers; CSV (or .txt, .tsv) in UTF-8 (with or without BOM),
        UTF-16 with BOM (Excel's "Unicode text") or GB18030/GBK, separated by commas,
        tabs or semicolons.
        Any invalid row means nothing is written; every error is listed with its row
        and column, and the exit status is 1. Cameras of the file's counties it no longer
        lists are retired (not with --no-retire); more than inventory.retire_guard of a
        county's cameras only with --allow-mass-retire. The ids of the cameras added are printed.
        """
        s = ctx.settings
        lang = ctx.lang
        box = secret_box(s)
        retire = s.inventory.retire_missing and not no_retire
        guard = None if allow_mass_retire else s.inventory.retire_guard

        def go(eng: AsyncEngine) -> Awaitable[ImportOutcome]:
            return import_file(eng, file, box, dry_run=dry_run, retire_missing=retire, retire_guard=guard,
                               progress=progress_factory(s.inventory.progress and not as_json, lang))

        try:
            outcome = ctx.run_db(go)
        except ApplyError as exc:
            fail(_t(lang, f"数据库拒绝了导入，未写入任何数据：{exc}", f"the database refused the import; nothing was written: {exc}"))
        except SecretError as exc:
            fail(exc.words(lang))
        plan = outcome.plan
        if as_json:
            click.echo(json.dumps(plan_json(plan, lang, outcome.written, outcome.added_ids), ensure_ascii=False, indent=2))
            raise SystemExit(0 if plan.ok else 1)
        print_issues(plan, lang)
        if not plan.ok:
            fail(errors_line(plan, lang) + _t(lang, "，未写入任何数据", "; nothing was written"))
        if dry_run:
            click.echo(_t(lang, "试运行（--dry-run），未写入：", "dry run (--dry-run), nothing written:"))
        print_plan(plan, lang, verbose, dry_run=dry_run)
        if outcome.added_ids:
            ids, n = id_ranges(outcome.added_ids), len(outcome.added_ids)
            click.echo(_t(lang, f"新增摄像机编号：{ids}（共 {n} 台）", f"ids of the cameras added: {ids} ({n} in all)"))
        if outcome.written:
            click.echo(_t(lang, "导入完成。", "import done."))

    @inventory.command("validate")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--json", "as_json", is_flag=True, help="print the issues as JSON")
    @click.pass_obj
    def validate_cmd(ctx: CliContext, file: str, as_json: bool) -> None:
        """Check a file without touching the database; exit status 1 on any error."""
        lang = ctx.lang
        plan = validate_file(file, secret_box(ctx.settings), progress_factory(ctx.settings.inventory.progress and not as_json, lang))
        if as_json:
            click.echo(json.dumps(file_json(plan, lang), ensure_ascii=False, indent=2))
            raise SystemExit(0 if plan.ok else 1)
        print_issues(plan, lang)
        if not plan.ok:
            fail(errors_line(plan, lang))
        warnings = sum(1 for i in plan.issues if i.severity is Severity.WARNING)
        click.echo(_t(lang,
                      f"文件有效：{plan.rows} 行，{len(plan.point_new)} 个点位，{len(plan.camera_new)} 台摄像机，{warnings} 条警告",
                      f"file is valid: {plan.rows} rows, {len(plan.point_new)} points, {len(plan.camera_new)} cameras, {warnings} warning(s)"))

    @inventory.command("export")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--include-secrets", is_flag=True, help="also export camera passwords (in clear text!)")
    @click.option("--encoding", type=click.Choice(["utf-8-sig", "utf-8", "gb18030"]), default="utf-8-sig",
                  show_default=True, help="CSV encoding (utf-8-sig opens correctly in Excel)")
    @click.pass_obj
    def export_cmd(ctx: CliContext, file: str, include_secrets: bool, encoding: str) -> None:
        """Export the inventory to CSV or XLSX (by extension); importable as is."""
        s = ctx.settings
        lang = ctx.lang
        if not export_format_ok(file):  # (a mistake of the command line)
            fail(_t(lang, f"不支持的文件类型 {file}（应为 .csv 或 .xlsx）", f"unsupported file type {file} (use .csv or .xlsx)"),
                 USAGE)
        problem = unwritable(file, lang)
        if problem is not None:
            fail(problem, ENVIRONMENT)

        def go(eng: AsyncEngine) -> Awaitable[int]:
            return export_file(eng, file, lang=lang, include_secrets=include_secrets, box=secret_box(s),
                               encoding=encoding, progress=progress_factory(s.inventory.progress, lang))

        try:
            n = ctx.run_db(go)
        except ExportError as exc:
            fail(str(exc))
        except SecretError as exc:  # (--include-secrets: a stored password this key cannot read)
            fail(_t(lang, f"无法导出密码（--include-secrets）：{exc.words(lang)}；未写出 {file}",
                    f"cannot export the passwords (--include-secrets): {exc.words(lang)}; {file} not written"))
        except UnicodeEncodeError as exc:
            fail(_t(lang, f"无法用 {encoding} 编码写出：{exc.reason}", f"cannot encode as {encoding}: {exc.reason}"))
        except OSError as exc:
            fail(_t(lang, f"无法写出 {file}：{exc.strerror or exc}；请换一个输出路径",
                    f"cannot write {file}: {exc.strerror or exc}; write elsewhere"), ENVIRONMENT)
        click.echo(_t(lang, f"已导出 {n} 行到 {Path(file)}", f"exported {n} rows to {Path(file)}"))
        if include_secrets:
            click.echo(_t(lang, f"注意：{file} 含明文密码（文件权限 0600，仅本人可读），请妥善保管，用后删除",
                          f"note: {file} holds passwords in clear text (mode 0600, owner only); keep it safe, delete it after use"),
                       err=True)

    @inventory.command("summary")
    @click.option("--json", "as_json", is_flag=True, help="print the counts as JSON")
    @click.pass_obj
    def summary_cmd(ctx: CliContext, as_json: bool) -> None:
        """Counts: counties, townships, villages, points, planned points, cameras; per township."""
        summary = ctx.run_db(summarize)
        if as_json:
            click.echo(json.dumps(summary.as_dict(), ensure_ascii=False, indent=2))
        else:
            print_summary(summary, ctx.lang)
