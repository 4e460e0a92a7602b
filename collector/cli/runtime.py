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
from inventory.reader import TICK_ROWS
from inventory.secrets import SecretBox, load_key
from probes.redact import redact_url

T = TypeVar("T")

LABELS = {"read": ("读取", "reading"), "parse": ("解析", "parsing"), "write": ("写入", "writing"),
          "export": ("导出", "exporting")}


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
    problem = missing_database(url, lang)
    if problem is not None:
        return problem
    try:
        rev = current_revision(url)
    except Exception as exc:  # noqa: BLE001 - driver errors, in words
        return unusable_database(url, exc, lang)
    if rev != head_revision():
        if en:
            return f"database {display_url(url)} is not initialised or not up to date: run `camwatch init` or `camwatch db upgrade`"
        return f"数据库 {display_url(url)} 未初始化或版本过旧：请先运行 `camwatch init` 或 `camwatch db upgrade`"
    return None


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite database URL (None for PostgreSQL, in-memory or an unparsable URL)."""
    try:
        u = make_url(url)
    except Exception:
        return None
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:") or str(u.database).startswith("file:"):
        return None
    return str(u.database)


def missing_database(url: str, lang: str) -> str | None:
    """The words for a SQLite database file that is not there (camwatch init makes it), or None."""
    path = sqlite_file(url)
    if path is None or os.path.exists(path):
        return None
    if lang == "en":
        return f"database {display_url(url)} does not exist: run `camwatch init` first"
    return f"数据库 {display_url(url)} 不存在：请先运行 `camwatch init`"


def unusable_database(url: str, exc: BaseException, lang: str) -> str:
    """One line on why *exc* stopped the use of the database at *url*: refused, or the server's or
    driver's own words (no SQLAlchemy class name, no link), the password of the URL hidden."""
    en = lang == "en"
    if isinstance(exc, BadDatabaseUrl):
        return str(exc) if en else exc.zh
    if isinstance(exc, DatabaseError):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        if en:
            return f"cannot open database {display_url(url)}: connection refused (is the server running, at this address and port?)"
        return f"无法连接数据库 {display_url(url)}：连接被拒绝（数据库服务是否在运行，地址和端口是否正确？）"
    why = redact_url(failure_reason(exc))  # (the server's words: bad credentials, no such database...)
    if not en:
        why = _zh_reason(exc, why)
    return f"无法连接数据库 {display_url(url)}：{why}" if not en else f"cannot open database {display_url(url)}: {why}"


def _zh_reason(exc: BaseException, why: str) -> str:
    """PostgreSQL's commonest refusals in Chinese (its own words kept after them), by SQLSTATE."""
    state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate", None)
    words = {"3D000": "数据库不存在（请先在 PostgreSQL 中创建它，如 createdb，再运行 camwatch init）",
             "28P01": "用户名或密码错误", "28000": "服务器拒绝该用户登录（pg_hba.conf）",
             "3F000": "search_path 指定的 schema 不存在"}.get(str(state) if state else "")
    return why if words is None else f"{words}（{why}）"


def engine(settings: Settings) -> Any:
    return create_engine(settings.database.url, echo=settings.database.echo)


def progress_factory(enabled: bool, lang: str) -> Callable[[str, int], Callable[[int], None]]:
    def factory(label: str, total: int) -> Callable[[int], None]:
        """A bar for *total* rows (a count without one when the total is not known: negative)."""
        if not enabled or 0 <= total < 2000 or not sys.stderr.isatty():
            return lambda n: None
        from tqdm import tqdm  # lazy: 30 ms, only for a long import on a terminal

        zh, en = LABELS.get(label, (label, label))
        bar = tqdm(total=total if total >= 0 else None, desc=en if lang == "en" else zh,
                   unit="row" if lang == "en" else "行", file=sys.stderr, leave=False, dynamic_ncols=True)

        def tick(n: int) -> None:
            bar.update(n)
            if (bar.n >= total) if total >= 0 else (n < TICK_ROWS):  # (without a total: the last tick is short)
                bar.close()

        return tick

    return factory
