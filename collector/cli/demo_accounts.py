"""``camwatch demo``'s console accounts: one per role, each with a random password printed once.

The township account sees the first township of the simulated county; the contractor account
the county's one contractor (``inventory.synthetic`` writes one for every camera).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from collector.web import accounts
from collector.web.principal import Role
from inventory.models import Camera, Region, RegionLevel

WORDS = {
    "title": ("控制台演示账户（密码只显示这一次）：", "console demo accounts (passwords shown only this once):"),
    "row": ("  {role:<10} 用户名 {name:<10} 密码 {password}  {scope}", "  {role:<10} user {name:<10} password {password}  {scope}"),
    "admin": ("管理员，全县", "administrator, whole county"),
    "assessor": ("考核人员：查看全县、审批报备申请", "assessor: reads all, approves or rejects exclusion proposals"),
    "contractor": ("运维单位 {contractor}：确认、关闭其工单，申请报备",
                   "contractor {contractor}: acknowledges and closes its work orders, proposes exclusions"),
    "township": ("乡镇领导，只看 {region}", "township leader, sees only {region}"),
    "duty": ("值班人员：查看全县、确认工单", "duty officer: reads all, acknowledges work orders"),
}


@dataclass(frozen=True, slots=True)
class DemoAccount:
    role: Role
    name: str
    password: str
    scope: str  # words for the printout


def _say(lang: str, key: str, **values: object) -> str:
    zh, en = WORDS[key]
    return (en if lang == "en" else zh).format(**values)


async def create_demo_accounts(engine: AsyncEngine, now: dt.datetime, lang: str = "zh") -> list[DemoAccount]:
    """An account for each role in a freshly imported demo database (random passwords)."""
    async with engine.connect() as conn:
        town = (await conn.execute(select(Region.code, Region.name).where(Region.level == RegionLevel.TOWNSHIP)
                                   .order_by(Region.code).limit(1))).one()
        contractor = (await conn.execute(select(Camera.contractor).where(Camera.contractor.is_not(None))
                                         .order_by(Camera.id).limit(1))).scalar_one()
    plan = [(Role.ADMIN, "admin", {}, _say(lang, "admin")),
            (Role.ASSESSOR, "assessor", {}, _say(lang, "assessor")),
            (Role.CONTRACTOR, "contractor", {"contractor": contractor}, _say(lang, "contractor", contractor=contractor)),
            (Role.TOWNSHIP, "township", {"regions": [town.code]}, _say(lang, "township", region=town.name)),
            (Role.DUTY, "duty", {}, _say(lang, "duty"))]
    made = []
    for role, name, extra, scope in plan:
        password = secrets.token_urlsafe(9)  # 12 characters
        await accounts.add_user(engine, name, role.value, password=password, now=now, **extra)  # type: ignore[arg-type]
        made.append(DemoAccount(role, name, password, scope))
    return made


def render_accounts(made: list[DemoAccount], lang: str = "zh") -> str:
    return "\n".join([_say(lang, "title")] + [_say(lang, "row", role=a.role.value, name=a.name, password=a.password,
                                                    scope=a.scope) for a in made])
