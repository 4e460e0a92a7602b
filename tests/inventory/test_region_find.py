"""Naming a region by code or by a path of names, on real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from inventory.db import create_engine
from inventory.models import RegionLevel
from inventory.region_find import RegionLookupError, entries, find_region, resolve
from inventory.regions import derive_code
from tests.inventory.helpers import do_import, migrated, write_csv

HEADERS = ["县/区代码", "县/区", "乡镇/街道代码", "乡镇/街道", "村/社区代码", "村/社区", "点位名称", "IP地址"]
ROWS = [
    ["130123", "示范县", "130123101", "柳林乡", "130123101201", "周桥村", "村口", "127.0.0.11"],
    ["130123", "示范县", "130123101", "柳林乡", "130123101202", "东关村", "村口", "127.0.0.12"],
    # the same village name in another township, and a township given by name only
    ["130123", "示范县", "", "城关镇", "", "东关村", "村口", "127.0.0.13"],
]


def _find(url: str, text: str) -> str:
    async def go() -> str:
        engine = create_engine(url)
        try:
            return await find_region(engine, text)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_regions_by_code_or_path(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    assert do_import(db_url, write_csv(tmp_path / "r.csv", HEADERS, ROWS)).written
    chengguan = derive_code(RegionLevel.TOWNSHIP, "130123000000", "城关镇")
    dongguan2 = derive_code(RegionLevel.VILLAGE, chengguan, "东关村")
    assert _find(db_url, "130123101201") == "130123101201"
    assert _find(db_url, "130123101") == "130123101000"  # the short statistical form
    assert _find(db_url, "130123") == "130123000000"
    assert _find(db_url, "柳林乡/周桥村") == "130123101201"
    assert _find(db_url, "示范县/柳林乡/周桥村") == "130123101201"
    assert _find(db_url, " 柳林乡 ／ 周桥村 ") == "130123101201"  # spaces and a full-width slash
    assert _find(db_url, "周桥村") == "130123101201"  # a unique name alone
    assert _find(db_url, "城关镇/东关村") == dongguan2  # a derived code, by its path
    assert _find(db_url, dongguan2) == dongguan2
    assert _find(db_url, "柳林乡") == "130123101000"
    # one name, two villages: both listed with their paths and codes
    with pytest.raises(RegionLookupError) as amb:
        _find(db_url, "东关村")
    zh = amb.value.render("zh")
    assert "2 个区划" in zh and "示范县/柳林乡/东关村 (130123101202)" in zh and f"示范县/城关镇/东关村 ({dongguan2})" in zh
    assert "; " not in zh and "；" in zh and "; " in amb.value.render("en") and "；" not in amb.value.render("en")
    # not found: the near ones are named
    with pytest.raises(RegionLookupError) as near:
        _find(db_url, "柳林乡/周桥")
    assert near.value.code == "region_not_found_near"
    assert "示范县/柳林乡/周桥村 (130123101201)" in near.value.render("en") and "no region '柳林乡/周桥'" in near.value.render("en")
    with pytest.raises(RegionLookupError) as none:
        _find(db_url, "不存在的地方")
    assert none.value.code == "region_not_found" and "乡镇/村" in none.value.render("zh")


def test_paths_are_built_from_parents_and_lists_are_bounded() -> None:
    rows = [("c", "县", None), ("t", "乡", "c")] + [(f"v{i}", "同名村", "t") for i in range(9)]
    regions = entries(rows)
    assert {r.code: r.path for r in regions}["v3"] == ("县", "乡", "同名村")
    with pytest.raises(RegionLookupError) as exc:
        resolve("乡/同名村", regions)
    text = exc.value.render("en")
    assert "names 9 regions" in text and text.count("(v") == 5 and "…" in text
    assert resolve("县/乡", regions) == "t" and resolve("乡", regions) == "t" and resolve("c", regions) == "c"
    # letter case and full-width forms do not matter in names
    assert resolve("ａｂ/Ｘ", entries([("k", "AB", None), ("x", "x", "k")])) == "x"
