"""The inventory's 接入方式 column (direct / GB28181 / both): words read, errors naming row and
field, a GB/T 28181 camera without its GB ID refused, and the column's round trip through export."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from inventory.access import Access, parse_access
from inventory.db import create_engine
from inventory.fields import EXPORT_KEYS, header_label
from inventory.models import Camera
from tests.inventory.helpers import do_export, do_import, migrated, snapshot, write_csv

HEAD = ["县/区", "乡镇/街道", "村/社区", "点位名称", "摄像机名称", "国标编码", "接入方式", "IP地址"]


def _row(n: int, access: str, gb: str | None = None) -> list[str]:
    return ["示范县", "城关镇", "东关村", f"点{n}", f"摄像机{n}", gb if gb is not None else f"130123000013200{n:05d}",
            access, f"127.30.0.{n}"]


@pytest.mark.parametrize(("cell", "want"), [
    ("", Access.DIRECT), ("直连", Access.DIRECT), ("direct", Access.DIRECT), (" Direct ", Access.DIRECT),
    ("国标", Access.GB28181), ("GB28181", Access.GB28181), ("GB/T 28181", Access.GB28181),
    ("两者", Access.BOTH), ("both", Access.BOTH), ("直连+国标", Access.BOTH),
    ("rtmp", None), ("国标?", None),
])
def test_access_words(cell: str, want: Access | None) -> None:
    assert parse_access(cell) is want


def test_a_bad_access_is_an_error_naming_row_and_field(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'a.db'}")
    out = do_import(url, write_csv(tmp_path / "in.csv", HEAD, [_row(1, "直连"), _row(2, "卫星")]))
    assert not out.written
    errors = [i for i in out.plan.issues if i.code == "bad_access"]
    assert [(i.row, i.column) for i in errors] == [(3, "接入方式")]
    assert "第 3 行" in errors[0].render("zh") and "卫星" in errors[0].render("zh")
    assert "row 3" in errors[0].render("en") and "direct/GB28181/both" in errors[0].render("en")


def test_gb28181_access_needs_a_gb_id(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'a.db'}")
    out = do_import(url, write_csv(tmp_path / "in.csv", HEAD, [_row(1, "国标", gb=""), _row(2, "直连", gb="")]))
    assert not out.written
    assert [(i.code, i.row, i.column) for i in out.plan.issues if i.severity == "error"] == [
        ("access_needs_gb_id", 2, "国标编码")]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_access_round_trips_through_export(tmp_path: Path, lang: str) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'a.db'}")
    rows = [_row(1, ""), _row(2, "国标"), _row(3, "both")]
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, rows)).written
    before = snapshot(url)
    out = tmp_path / "out.csv"
    do_export(url, out, lang=lang)
    with out.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    col = table[0].index(header_label("access", lang))
    assert "access" in EXPORT_KEYS
    words = {"zh": ["直连", "国标", "两者"], "en": ["direct", "GB28181", "both"]}[lang]
    assert [r[col] for r in table[1:]] == words
    url2 = migrated(f"sqlite:///{tmp_path / 'b.db'}")
    assert do_import(url2, out).written
    assert snapshot(url2) == before
    assert _accesses(url2) == [Access.DIRECT, Access.GB28181, Access.BOTH]


def _accesses(url: str) -> list[Access]:
    async def go() -> list[Access]:
        engine = create_engine(url)
        try:
            async with AsyncSession(engine) as s:
                return list((await s.execute(select(Camera.access).order_by(Camera.id))).scalars())
        finally:
            await engine.dispose()

    return asyncio.run(go())
