"""What reaches the top of ``camwatch`` becomes one line on stderr with a status of
:mod:`collector.cli.exitcodes`: click's usage errors (its three-line banner folded into one, in
the user's language around click's own words) and an OSError no command turned into words."""

from __future__ import annotations

import errno
import os
import re
import sys

import click

from collector.cli.exitcodes import ENVIRONMENT, INTERRUPTED, USAGE


def user_lang(ctx: click.Context | None) -> str:
    """--lang, CAMWATCH_LANG, or zh; the config file is not read (it may be the mistake)."""
    root = ctx.find_root() if ctx is not None else None
    override = getattr(root.obj, "lang_override", None) if root is not None else None
    if override is None and root is not None:  # (parsed, not yet given to the callback: an unknown command)
        override = root.params.get("lang")
    lang = override or os.environ.get("CAMWATCH_LANG", "zh")
    return "en" if lang == "en" else "zh"


# click's usual usage errors in Chinese (its own words are kept for any other)
_ZH_USAGE: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), zh) for p, zh in (
    (r"No such option:? '?([^'\s]+?)'?\.?\s+Did you mean (.+?)\?$", "没有选项 {0}（是要用 {1} 吗？）"),
    (r"No such option:? '?([^'\s]+?)'?\.?\s+\(Possible options: (.+)\)$", "没有选项 {0}（可用：{1}）"),
    (r"No such option:? '?([^'\s]+?)'?$", "没有选项 {0}"),
    (r"Missing argument '(.+)'$", "缺少参数 {0}"),
    (r"Missing option '(.+)'$", "缺少选项 {0}"),
    (r"No such command '(.+)'$", "没有命令 '{0}'"),
    (r"Got unexpected extra arguments? \((.+)\)$", "多余的参数：{0}"),
    (r"Option '(.+)' requires an argument$", "选项 {0} 需要一个值"),
    (r"Invalid value for (.+?): (.+)$", "{0} 的值无效：{1}"),
))
_ZH_VALUE: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), zh) for p, zh in (
    (r"'(.*)' is not one of (.+?)\.?$", "'{0}' 不是 {1} 之一"),
    (r"'?(.+?)'? is not in the range (.+?)\.?$", "{0} 不在范围 {1} 内"),
    (r"'(.*)' is not a valid integer(?: range)?\.?$", "'{0}' 不是整数"),
    (r"'(.*)' is not a valid float(?: range)?\.?$", "'{0}' 不是数字"),
    (r"'(.*)' is not a valid boolean\.?$", "'{0}' 不是 true/false"),
    (r"(?:File|Path|Directory) '(.+)' does not exist\.?$", "'{0}' 不存在"),
    (r"(?:File|Path) '(.+)' is a directory\.?$", "'{0}' 是目录，应为文件"),
))


def _zh(message: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> str | None:
    for pattern, words in table:
        m = pattern.match(message)
        if m is not None:
            groups = list(m.groups())
            if words.startswith("{0} 的值无效"):  # the value's own reason, translated when known
                groups[1] = _zh(groups[1], _ZH_VALUE) or groups[1]
            return words.format(*(g.replace("', '", "'、'").replace(", ", "、") if i else g
                                  for i, g in enumerate(groups)))
    return None


def usage_line(exc: click.UsageError) -> str:
    ctx = exc.ctx
    command = ctx.command_path if ctx is not None else "camwatch"
    message = " ".join(exc.format_message().split()).rstrip(".")
    if user_lang(ctx) == "en":
        return f"{command}: {message}; see `{command} --help`"
    return f"{command}：{_zh(message, _ZH_USAGE) or message}；用法见 `{command} --help`"


# the system's commonest reasons in Chinese (its English words for the others)
_ZH_ERRNO = {errno.ENOENT: "文件或目录不存在", errno.EACCES: "没有权限", errno.EPERM: "不允许此操作",
             errno.EROFS: "只读文件系统", errno.ENOSPC: "磁盘已满", errno.EISDIR: "这是一个目录",
             errno.ENOTDIR: "路径中有一部分不是目录", errno.EEXIST: "已存在"}


def os_error_line(exc: OSError, lang: str) -> str:
    what = exc.filename if exc.filename is not None else ""
    reason = exc.strerror or str(exc)
    if lang == "en":
        return f"camwatch: {what}: {reason}" if what else f"camwatch: {reason}"
    reason = _ZH_ERRNO.get(exc.errno or 0, reason)
    return f"camwatch: {what}：{reason}" if what else f"camwatch: {reason}"


def _global_lang(argv: list[str] | None) -> str | None:
    """``--lang`` as given before the command (the context that parsed it is gone after Ctrl-C)."""
    args = sys.argv[1:] if argv is None else argv
    for i, arg in enumerate(args):
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.removeprefix("--lang=")
        if not arg.startswith("-") and (i == 0 or args[i - 1] not in ("--config", "--db")):
            return None  # (the command: its options are not the global --lang)
    return None


def run_main(group: click.Group, argv: list[str] | None) -> None:
    """click's standalone handling, except that usage errors and stray OSErrors are one line."""
    try:
        status = group.main(args=argv, prog_name="camwatch", standalone_mode=False)
    except click.UsageError as exc:
        click.echo(usage_line(exc), err=True)
        raise SystemExit(USAGE) from None
    except click.ClickException as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click.Abort:  # (Ctrl-C, or the end of input at a prompt)
        en = (_global_lang(argv) or user_lang(None)) == "en"
        click.echo("camwatch: interrupted" if en else "camwatch：已中断", err=True)
        raise SystemExit(INTERRUPTED) from None
    except OSError as exc:  # the machine, not the code: a path or resource the command could not use
        click.echo(os_error_line(exc, user_lang(None)), err=True)
        raise SystemExit(ENVIRONMENT) from None
    if isinstance(status, int) and status:  # click.exceptions.Exit(n), e.g. ctx.exit(n)
        raise SystemExit(status)


def unwritable(path: str, lang: str) -> str | None:
    """Why a file cannot be written at *path* (its directory missing or read-only), or None."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        zh, en = "目录 {d} 不存在；请先创建它，或换一个输出路径", "directory {d} does not exist; create it or write elsewhere"
    elif not os.access(parent, os.W_OK | os.X_OK):
        zh, en = "目录 {d} 不可写；请换一个输出路径", "directory {d} is not writable; write elsewhere"
    else:
        return None
    return f"{path}: " + (en if lang == "en" else zh).format(d=parent)
