"""Console accounts in the database: users, argon2 password hashes, personal API tokens, and the
:class:`~collector.accounts.roles.Principal` each stands for.

Used by the auth middleware (every request), the ``/login`` and ``/account`` pages (through
:mod:`collector.web.accounts`) and the ``camwatch users`` commands, which import it without the
web console. Personal tokens are ``cwt_`` + 43 random URL-safe characters; only
their SHA-256 is stored (a token is as strong as a 256-bit key, so a slow hash adds nothing), and
a token is shown once when made. Passwords: argon2id (argon2-cffi's defaults), at least
:data:`MIN_PASSWORD` characters.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from collector.accounts.roles import Principal, Role
from inventory.models import ApiToken, Region, User

TOKEN_PREFIX = "cwt_"
MIN_PASSWORD = 8
MAX_NAME = 64
TOKEN_TOUCH = dt.timedelta(minutes=5)  # last_used_at is written at most this often
_HASHER = PasswordHasher()
_DUMMY = _HASHER.hash("camwatch-no-such-user")  # unknown names cost as much as known ones


class AccountError(Exception):
    """A refused account change; ``option`` names the CLI option or form field at fault."""

    def __init__(self, option: str, zh: str, en: str) -> None:
        super().__init__(en)
        self.option, self.zh, self.en = option, zh, en

    def words(self, lang: str = "zh") -> str:
        return f"{self.option}: {self.en if lang == 'en' else self.zh}"


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    name: str
    role: Role
    disabled: bool
    regions: tuple[str, ...]
    contractor: str | None
    created_at: dt.datetime
    has_password: bool


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    label: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def password_problem(password: str) -> tuple[str, str] | None:
    """Why *password* is refused (Chinese, English), or None: fewer than :data:`MIN_PASSWORD`
    characters, or no more than one character repeated (eight spaces, ``aaaaaaaa``)."""
    if len(password) < MIN_PASSWORD:
        return f"密码至少 {MIN_PASSWORD} 个字符", f"at least {MIN_PASSWORD} characters"
    if len(set(password)) < 2 or not password.strip():
        return "密码不能只由空格或同一个字符组成", "not only spaces or one character repeated"
    return None


def hash_password(password: str) -> str:
    if (why := password_problem(password)) is not None:
        raise AccountError("password", *why)
    return _HASHER.hash(password)


def password_ok(stored: str | None, password: str) -> bool:
    """Constant work whether or not the user has a hash."""
    try:
        return _HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def session_version(stored: str | None, gen: int = 0) -> str:
    """A fingerprint of the password hash and of the user's session generation (``users.session_gen``)
    kept in the session: a new password, or a logout (:func:`end_sessions`), ends old sessions.
    Generation 0 gives the fingerprint of the hash alone (cookies made before the column came)."""
    material = (stored or "") if not gen else f"{stored or ''}\x00{gen}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


_USER = tuple(User.__table__.c)  # a Core connection gives rows of these, read by attribute


def _row(u: Any) -> UserRow:
    return UserRow(u.id, u.name, Role(u.role), bool(u.disabled), tuple(u.regions or ()), u.contractor,
                   u.created_at, u.password_hash is not None)


async def accounts_exist(engine: AsyncEngine) -> bool:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(User))).scalar_one() > 0


async def _user(conn: AsyncConnection, name: str) -> Any:
    u = (await conn.execute(select(*_USER).where(User.name == name))).first()
    if u is None:
        raise AccountError("NAME", f"没有用户 {name!r}", f"no user {name!r}")
    return u


async def resolve_regions(conn: AsyncConnection, items: Iterable[str]) -> list[str]:
    """Region codes from codes or names; a name may be a path ``乡镇/村`` when a name repeats."""
    regions = (await conn.execute(select(Region.code, Region.name, Region.parent_code))).all()
    by_code = {code: (name, parent) for code, name, parent in regions}
    out: list[str] = []
    for item in items:
        text = item.strip()
        if text in by_code:
            out.append(text)
            continue
        parts = [p for p in text.replace("／", "/").split("/") if p]
        found = [code for code, (name, parent) in by_code.items() if parts and name == parts[-1]
                 and _ancestors_named(by_code, parent, parts[:-1])]
        if len(found) != 1:
            zh = "没有这个行政区划" if not found else f"名称不唯一（{len(found)} 个），请写 上级/名称 或区划代码"
            en = "no such region" if not found else f"{len(found)} regions have this name: give parent/name or the code"
            raise AccountError("--region", f"{text!r}：{zh}", f"{text!r}: {en}")
        out.append(found[0])
    return sorted(set(out))


def _ancestors_named(by_code: dict[str, tuple[str, str | None]], parent: str | None, names: Sequence[str]) -> bool:
    for want in reversed(names):
        if parent is None or parent not in by_code or by_code[parent][0] != want:
            return False
        parent = by_code[parent][1]
    return True


def check_role(role: str, regions: Sequence[str], contractor: str | None) -> Role:
    try:
        r = Role(role)
    except ValueError:
        raise AccountError("--role", f"未知角色 {role!r}（可选：{'、'.join(Role)}）",
                           f"unknown role {role!r} (one of: {', '.join(Role)})") from None
    if r is Role.TOWNSHIP and not regions:
        raise AccountError("--region", "township 角色至少需要一个行政区划", "a township account needs at least one region")
    if r is Role.CONTRACTOR and not contractor:
        raise AccountError("--contractor", "contractor 角色需要运维单位名称", "a contractor account needs its contractor name")
    return r


async def add_user(engine: AsyncEngine, name: str, role: str, *, password: str | None, regions: Sequence[str] = (),
                   contractor: str | None = None, now: dt.datetime) -> int:
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(c.isspace() for c in name):
        raise AccountError("NAME", f"用户名须为 1-{MAX_NAME} 个非空白字符", f"a name is 1-{MAX_NAME} non-space characters")
    stored = hash_password(password) if password is not None else None
    async with engine.begin() as conn:
        codes = await resolve_regions(conn, regions)
        r = check_role(role, codes, contractor)
        if (await conn.execute(select(User.id).where(User.name == name))).first() is not None:
            raise AccountError("NAME", f"用户 {name!r} 已存在", f"user {name!r} exists")
        res = await conn.execute(insert(User).values(name=name, role=r.value, password_hash=stored, disabled=False,
                                                     regions=codes, contractor=contractor or None, created_at=now))
        return int(res.inserted_primary_key[0])  # type: ignore[index]


async def list_users(engine: AsyncEngine) -> list[UserRow]:
    async with engine.connect() as conn:
        return [_row(u) for u in (await conn.execute(select(*_USER).order_by(User.name))).all()]


async def get_user(engine: AsyncEngine, name: str) -> UserRow:
    async with engine.connect() as conn:
        return _row(await _user(conn, name))


async def set_password(engine: AsyncEngine, name: str, password: str) -> None:
    stored = hash_password(password)
    async with engine.begin() as conn:
        u = await _user(conn, name)
        await conn.execute(update(User).where(User.id == u.id)
                           .values(password_hash=stored, session_gen=User.session_gen + 1))


async def end_sessions(engine: AsyncEngine, user_id: int) -> None:
    """End every console session of the user (logout): the cookies' version no longer matches."""
    async with engine.begin() as conn:
        await conn.execute(update(User).where(User.id == user_id).values(session_gen=User.session_gen + 1))


async def set_disabled(engine: AsyncEngine, name: str, disabled: bool, now: dt.datetime) -> None:
    """Disabling also revokes the user's tokens (and ends sessions: principals of disabled users are None)."""
    async with engine.begin() as conn:
        u = await _user(conn, name)
        await conn.execute(update(User).where(User.id == u.id).values(disabled=disabled))
        if disabled:
            await conn.execute(update(ApiToken).where(ApiToken.user_id == u.id, ApiToken.revoked_at.is_(None))
                               .values(revoked_at=now))


async def check_login(engine: AsyncEngine, name: str, password: str) -> tuple[int, str] | None:
    """(user id, session version) when *password* is right and the user enabled; else None."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(User.id, User.password_hash, User.disabled, User.session_gen)
                                  .where(User.name == name))).first()
    ok = password_ok(row.password_hash if row is not None else None, password)
    if row is None or not ok or row.disabled:
        return None
    return int(row.id), session_version(row.password_hash, int(row.session_gen or 0))


async def create_token(engine: AsyncEngine, user_id: int, label: str, now: dt.datetime) -> str:
    """A new personal token for the user: returned here, never again."""
    label = (label.strip() or "token")[:MAX_NAME]
    token = new_token()
    async with engine.begin() as conn:
        await conn.execute(insert(ApiToken).values(user_id=user_id, token_hash=token_hash(token), label=label,
                                                   created_at=now))
    return token


async def list_tokens(engine: AsyncEngine, user_id: int) -> list[TokenRow]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(ApiToken.id, ApiToken.label, ApiToken.created_at, ApiToken.last_used_at,
                                          ApiToken.revoked_at).where(ApiToken.user_id == user_id)
                                   .order_by(ApiToken.id))).all()
    return [TokenRow(*r) for r in rows]


async def revoke_token(engine: AsyncEngine, user_id: int, token_id: int, now: dt.datetime) -> bool:
    async with engine.begin() as conn:
        res = await conn.execute(update(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id,
                                                        ApiToken.revoked_at.is_(None)).values(revoked_at=now))
    return bool(res.rowcount)


async def _above(conn: AsyncConnection, codes: Iterable[str]) -> frozenset[str]:
    """The codes above *codes* (their parents up to the county)."""
    out: set[str] = set()
    todo = set(codes)
    for _ in range(8):  # county > township > village: a few levels at most
        parents = {p for (p,) in (await conn.execute(select(Region.parent_code).where(Region.code.in_(todo)))).all()
                   if p is not None} - out
        if not parents:
            break
        out |= parents
        todo = parents
    return frozenset(out)


async def _principal(conn: AsyncConnection, u: Any) -> Principal:
    regions = frozenset(u.regions or ())
    return Principal(u.name, Role(u.role), regions, u.contractor, u.id, await _above(conn, regions) - regions)


async def principal_for_user(engine: AsyncEngine, user_id: int, version: str | None) -> Principal | None:
    """The enabled user's principal; None when disabled, gone, or *version* (the session's) is stale."""
    async with engine.connect() as conn:
        u = (await conn.execute(select(*_USER).where(User.id == user_id))).first()
        current = None if u is None else session_version(u.password_hash, int(u.session_gen or 0))
        if u is None or u.disabled or (version is not None and version != current):
            return None
        return await _principal(conn, u)


async def principal_for_token(engine: AsyncEngine, token: str, now: dt.datetime) -> Principal | None:
    """The principal of a personal token; None when unknown, revoked, or its user disabled."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = token_hash(token)
    async with engine.connect() as conn:
        row = (await conn.execute(select(ApiToken.id, ApiToken.token_hash, ApiToken.last_used_at, ApiToken.user_id)
                                  .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None)))).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        u = (await conn.execute(select(*_USER).where(User.id == row.user_id))).first()
        if u is None or u.disabled:
            return None
        principal = await _principal(conn, u)
    if row.last_used_at is None or now - row.last_used_at > TOKEN_TOUCH:
        async with engine.begin() as conn:
            await conn.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
    return principal


__all__ = ["AccountError", "TOKEN_PREFIX", "TokenRow", "UserRow", "accounts_exist", "add_user", "check_login",
           "create_token", "end_sessions", "get_user", "list_tokens", "list_users", "password_problem", "principal_for_token", "principal_for_user",
           "resolve_regions", "revoke_token", "set_disabled", "set_password"]
