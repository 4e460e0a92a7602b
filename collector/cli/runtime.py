"""Objects the CLI builds from settings and passes down: engine, secret box, progress bars."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click
from sqlalchemy.engine import make_url

from collector.cli.exitcodes import DATA, ENVIRONMENT, USAGE
from collector.settings import Settings
from inventory.db import (
    BadDatabaseUrl,
    DatabaseError,
    create_engine,
    current_revision,
    display_url,
    failure_reason,
    head_revision,
    normalize_url,
)
from inventory.secrets import SecretBox, load_key

T = TypeVar("T")

LABELS = {"parse": ("解析", "parsing"), "write": ("写入", "writing")}


def fail(message: str, code: int = DATA) -> None:
    """One line on stderr, then exit with *code* (collector.cli.exitcodes)."""
    click.echo(f"camwatch: {message}", err=True)
    raise SystemExit(code)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    import uvloop  # lazy: 30 ms, only for the commands that run an event loop

    return uvloop.run(coro)


def secret_box(settings: Settings) -> SecretBox:
    return SecretBox(load_key(os.environ, settings.secrets.key_file))


def check_database(settings: Settings, lang: str) -> None:
    """Fail with a clear message unless the database exists and is migrated to head."""
    try:
        normalize_url(settings.database.url)
    except BadDatabaseUrl as exc:  # (a mistake of the command line or config: not the machine's)
        fail(str(exc) if lang == "en" else exc.zh, USAGE)
    problem = database_problem(settings, lang)
    if problem is not None:
        fail(problem, ENVIRONMENT)


def database_problem(settings: Settings, lang: str) -> str | None:
    """Why the database cannot be used (missing, unreachable, not migrated to head), or None."""
    url = settings.database.url
    en = lang == "en"
    try:
        u = make_url(url)
        missing = u.get_backend_name() == "sqlite" and u.database not in (None, "", ":memory:") and not os.path.exists(u.database)
    except Exception:
        missing = False
    if missing:
        if en:
            return f"database {display_url(url)} does not exist: run `camwatch init` first"
        return f"数据库 {display_url(url)} 不存在：请先运行 `camwatch init`"
    try:
        rev = current_revision(url)
    except DatabaseError as exc:
        return str(exc)
    except ConnectionRefusedError:
        if en:
            return f"cannot open database {display_url(url)}: connection refused (is the server running, at this address and port?)"
        return f"无法连接数据库 {display_url(url)}：连接被拒绝（数据库服务是否在运行，地址和端口是否正确？）"
    except Exception as exc:  # driver errors: bad credentials, no such database... (in the server's words)
        why = failure_reason(exc)
        return f"无法连接数据库 {display_url(url)}：{why}" if not en else f"cannot open database {display_url(url)}: {why}"
    if rev != head_revision():
        if en:
            return f"database {display_url(url)} is not initialised or not up to date: run `camwatch init` or `camwatch db upgrade`"
        return f"数据库 {display_url(url)} 未初始化或版本过旧：请先运行 `camwatch init` 或 `camwatch db upgrade`"
    return None


def engine(settings: Settings) -> Any:
    return create_engine(settings.database.url, echo=settings.database.echo)


def progress_factory(enabled: bool, lang: str) -> Callable[[str, int], Callable[[int], None]]:
    def factory(label: str, total: int) -> Callable[[int], None]:
        if not enabled or total < 2000 or not sys.stderr.isatty():
            return lambda n: None
        from tqdm import tqdm  # lazy: 30 ms, only for a long import on a terminal

        zh, en = LABELS.get(label, (label, label))
        bar = tqdm(total=total, desc=en if lang == "en" else zh, unit="row" if lang == "en" else "行",
                   file=sys.stderr, leave=False, dynamic_ncols=True)

        def tick(n: int) -> None:
            bar.update(n)
            if bar.n >= total:
                bar.close()

        return tick

    return factory
