"""``camwatch users add|list|passwd|disable|token``: console accounts (:mod:`collector.accounts`:
the store the web console uses, imported here without the web console itself).

Every change is written to the audit log with the actor ``cli``. A password is read from stdin
with ``--password-stdin`` (first line), else asked twice on a terminal; a token is printed once
and only its hash kept.
"""

from __future__ import annotations

import datetime as dt
import sys

import click
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.accounts import store as accounts
from collector.accounts.audit_log import audit
from collector.accounts.roles import Role
from collector.accounts.store import AccountError
from collector.cli.context import CliContext
from collector.cli.runtime import fail

ROLE_WORDS = {Role.ADMIN: "管理员", Role.ASSESSOR: "考核", Role.CONTRACTOR: "运维单位", Role.TOWNSHIP: "乡镇",
              Role.DUTY: "值班"}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _password(ctx: CliContext, from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            fail(ctx.t("--password-stdin: 标准输入没有密码", "--password-stdin: no password on standard input"))
        return line
    if not sys.stdin.isatty():
        fail(ctx.t("--password-stdin: 非交互运行时请用 --password-stdin 从标准输入给出密码",
                   "--password-stdin: not on a terminal: give the password on standard input with --password-stdin"))
    value: str = click.prompt(ctx.t("密码", "Password"), hide_input=True, confirmation_prompt=True)
    return value


def _run(ctx: CliContext, fn: object) -> object:
    try:
        return ctx.run_db(fn)  # type: ignore[arg-type]
    except AccountError as exc:
        fail(exc.words(ctx.lang))
    return None


def register(group: click.Group) -> None:
    @group.group("users")
    def users() -> None:
        """Console accounts: add, list, change password, disable, make personal API tokens."""

    @users.command("add")
    @click.argument("name")
    @click.option("--role", required=True, type=click.Choice([r.value for r in Role]), help="admin, assessor, contractor, township or duty")
    @click.option("--region", "regions", multiple=True, help="region code or name (乡镇/村 when a name repeats); repeatable")
    @click.option("--contractor", default=None, help="the contractor's name as in the inventory (role contractor)")
    @click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
    @click.pass_obj
    def add_cmd(ctx: CliContext, name: str, role: str, regions: tuple[str, ...], contractor: str | None,
                password_stdin: bool) -> None:
        """Add an account."""
        password = _password(ctx, password_stdin)

        async def go(engine: AsyncEngine) -> int:
            uid = await accounts.add_user(engine, name, role, password=password, regions=regions,
                                          contractor=contractor, now=_now())
            u = await accounts.get_user(engine, name)
            await audit(engine, actor="cli", action="users add", obj=name,
                        detail=f"role={u.role} regions={','.join(u.regions)} contractor={u.contractor or ''}", now=_now())
            return uid

        _run(ctx, go)
        click.echo(ctx.t(f"已添加用户 {name}（{ROLE_WORDS[Role(role)]}）", f"added user {name} ({role})"))

    @users.command("list")
    @click.pass_obj
    def list_cmd(ctx: CliContext) -> None:
        """List the accounts."""
        rows = _run(ctx, accounts.list_users)
        assert isinstance(rows, list)
        if not rows:
            click.echo(ctx.t("还没有用户（camwatch users add NAME --role ROLE）", "no users yet (camwatch users add NAME --role ROLE)"))
            return
        click.echo("\t".join(ctx.t("用户 角色 行政区划 运维单位 状态 创建时间", "name role regions contractor status created").split()))
        for u in rows:
            status = ctx.t("已停用", "disabled") if u.disabled else ctx.t("正常", "active")
            click.echo("\t".join([u.name, u.role.value, ",".join(u.regions) or ctx.t("全县", "all"), u.contractor or "-",
                                  status, u.created_at.strftime("%Y-%m-%d %H:%M")]))

    @users.command("passwd")
    @click.argument("name")
    @click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
    @click.pass_obj
    def passwd_cmd(ctx: CliContext, name: str, password_stdin: bool) -> None:
        """Set a user's password (their sessions end)."""
        password = _password(ctx, password_stdin)

        async def go(engine: AsyncEngine) -> None:
            await accounts.set_password(engine, name, password)
            await audit(engine, actor="cli", action="users passwd", obj=name, now=_now())

        _run(ctx, go)
        click.echo(ctx.t(f"已修改 {name} 的密码", f"password of {name} changed"))

    @users.command("disable")
    @click.argument("name")
    @click.option("--enable", is_flag=True, help="enable the account again instead")
    @click.pass_obj
    def disable_cmd(ctx: CliContext, name: str, enable: bool) -> None:
        """Disable an account: its sessions end and its tokens are revoked (--enable: allow it again)."""

        async def go(engine: AsyncEngine) -> None:
            await accounts.set_disabled(engine, name, not enable, _now())
            await audit(engine, actor="cli", action="users enable" if enable else "users disable", obj=name, now=_now())

        _run(ctx, go)
        click.echo(ctx.t(f"已启用 {name}", f"{name} enabled") if enable else
                   ctx.t(f"已停用 {name}（会话结束，令牌已吊销）", f"{name} disabled (sessions ended, tokens revoked)"))

    @users.command("token")
    @click.argument("name")
    @click.option("--label", default="cli", show_default=True, help="what the token is for")
    @click.pass_obj
    def token_cmd(ctx: CliContext, name: str, label: str) -> None:
        """Make a personal API token for a user and print it (once: only its hash is kept)."""

        async def go(engine: AsyncEngine) -> str:
            u = await accounts.get_user(engine, name)
            if u.disabled:
                raise AccountError("NAME", f"用户 {name!r} 已停用", f"user {name!r} is disabled")
            token = await accounts.create_token(engine, u.id, label, _now())
            await audit(engine, actor="cli", action="users token", obj=name, detail=f"label={label}", now=_now())
            return token

        token = _run(ctx, go)
        click.echo(ctx.t("新的个人 API 令牌（只显示这一次，请妥善保存）：", "new personal API token (shown once, keep it safe):"),
                   err=True)
        click.echo(str(token))
