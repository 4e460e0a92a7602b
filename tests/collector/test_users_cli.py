"""``camwatch users`` and the account store on SQLite and PostgreSQL: hashes not passwords,
tokens shown once and kept hashed, disable ends tokens, errors one line naming the option."""

from __future__ import annotations

import asyncio
import datetime as dt

from click.testing import CliRunner
from sqlalchemy import select

from collector.cli import build_cli
from collector.web import accounts as acc
from collector.web.audit import USER_LIMIT, locked_until, record_failure, throttle_keys
from inventory.db import create_engine
from inventory.models import ApiToken, AuditEntry, User
from tests.inventory.helpers import migrated


def _cli(url: str, *args: str, stdin: str = "") -> tuple[int, str, str]:
    r = CliRunner().invoke(build_cli(), ["--db", url, *args], input=stdin)
    return r.exit_code, r.stdout, r.stderr


def test_users_commands_and_store(db_url: str) -> None:
    migrated(db_url)
    code, out, _ = _cli(db_url, "users", "add", "boss", "--role", "admin", "--password-stdin", stdin="s3cret-pass\n")
    assert code == 0 and "已添加用户 boss" in out
    code, _, err = _cli(db_url, "--lang", "en", "users", "add", "t", "--role", "township", "--password-stdin",
                        stdin="s3cret-pass\n")
    assert code == 1 and err.strip() == "camwatch: --region: a township account needs at least one region"
    code, _, err = _cli(db_url, "users", "add", "t", "--role", "township", "--region", "无此乡", "--password-stdin",
                        stdin="s3cret-pass\n")
    assert code == 1 and err.startswith("camwatch: --region: '无此乡'") and len(err.strip().splitlines()) == 1
    code, _, err = _cli(db_url, "users", "add", "short", "--role", "duty", "--password-stdin", stdin="abc\n")
    assert code == 1 and "password" in err and "8" in err
    code, _, err = _cli(db_url, "--lang", "en", "users", "add", "same", "--role", "duty", "--password-stdin", stdin="aaaaaaaaaa\n")
    assert code == 1 and "not only spaces or one character repeated" in err, err
    code, out, _ = _cli(db_url, "users", "token", "boss")
    token = out.strip().splitlines()[-1]
    assert code == 0 and token.startswith("cwt_")
    code, out, _ = _cli(db_url, "--lang", "en", "users", "list")
    assert code == 0 and "boss\tadmin\tall" in out

    async def check() -> None:
        engine = create_engine(db_url)
        try:
            async with engine.connect() as c:
                stored = (await c.execute(select(User.password_hash))).scalar_one()
                hashes = [h for (h,) in (await c.execute(select(ApiToken.token_hash))).all()]
                audited = [a for (a,) in (await c.execute(select(AuditEntry.action))).all()]
            assert stored is not None and stored.startswith("$argon2id$") and "s3cret-pass" not in stored
            assert hashes == [acc.token_hash(token)]
            assert audited == ["users add", "users token"]
            now = dt.datetime.now(dt.UTC)
            p = await acc.principal_for_token(engine, token, now)
            assert p is not None and p.name == "boss" and p.reads_all()
            assert await acc.check_login(engine, "boss", "s3cret-pass") is not None
            assert await acc.check_login(engine, "boss", "wrong-pass") is None
            keys = throttle_keys("boss", "127.0.0.9")
            for _ in range(USER_LIMIT - 1):
                await record_failure(engine, keys, now)
            assert await locked_until(engine, keys, now) is None
            await record_failure(engine, keys, now)
            until = await locked_until(engine, keys, now)
            assert until is not None and until > now
        finally:
            await engine.dispose()

    asyncio.run(check())
    code, out, _ = _cli(db_url, "users", "disable", "boss")
    assert code == 0

    async def gone() -> None:
        engine = create_engine(db_url)
        try:
            assert await acc.principal_for_token(engine, token, dt.datetime.now(dt.UTC)) is None
            assert await acc.check_login(engine, "boss", "s3cret-pass") is None
        finally:
            await engine.dispose()

    asyncio.run(gone())
    code, _, err = _cli(db_url, "--lang", "en", "users", "passwd", "nobody", "--password-stdin", stdin="long-enough\n")
    assert code == 1 and err.strip() == "camwatch: NAME: no user 'nobody'"
