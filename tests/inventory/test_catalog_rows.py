"""A GB/T 28181 catalog as inventory rows (`camwatch inventory import-catalog`): IDs validated as
the importer does, containers left out, CivilCode to region cells, and the rows import."""

from __future__ import annotations

from pathlib import Path

import pytest

from inventory.catalog_rows import KEYS, CatalogEntry, KnownRegion, Skipped, catalog_rows, headers, region_cells
from inventory.export import write_csv
from tests.inventory.helpers import do_import, migrated, snapshot

REGIONS = {
    "130123000000": KnownRegion("示范县", None),
    "130123101000": KnownRegion("城关镇", "130123000000"),
    "130123101201": KnownRegion("东关村", "130123101000"),
}


@pytest.mark.parametrize(("civil", "want"), [
    ("130123101201", {"village_code": "130123101201", "village": "东关村", "township_code": "130123101000",
                      "township": "城关镇", "county_code": "130123000000", "county": "示范县"}),
    ("130123101", {"township_code": "130123101000", "township": "城关镇", "county_code": "130123000000",
                   "county": "示范县"}),
    ("130123", {"county_code": "130123000000", "county": "示范县"}),
    ("340200", {"county_code": "340200000000"}),  # a county the inventory does not know: its code only
    ("3402", {}), ("", {}), ("东关村", {}), ("130123000", {}),  # not a division code of its length's level
])
def test_region_cells(civil: str, want: dict[str, str]) -> None:
    assert region_cells(civil, REGIONS) == want


def test_catalog_rows_keep_cameras_and_validate_ids() -> None:
    entries = [
        CatalogEntry("13012300001310000002", "北门", "海康威视", "DS-2CD", "130123101201", "东关村北门"),
        CatalogEntry("13012300001310000001", "村口", "大华", "IPC-1", "130123101201"),
        CatalogEntry("13012300002160000001", "东关村分组"),  # 216: a virtual organisation, not a camera
        CatalogEntry("13012300001180000001", "录像机", parental=True),  # holds others
        CatalogEntry("1301230000131000000X", "坏编号"),
        CatalogEntry("130123000013100000011", "太长"),
    ]
    rows, skipped = catalog_rows(entries, REGIONS)
    assert [r["gb_id"] for r in rows] == ["13012300001310000001", "13012300001310000002"]
    assert rows[0]["point"] == "村口" and rows[1]["point"] == "东关村北门" and rows[1]["name"] == "北门"
    assert rows[1]["vendor"] == "海康威视" and rows[1]["model"] == "DS-2CD" and rows[1]["village"] == "东关村"
    assert {r["access"] for r in rows} == {"国标"} and rows[0]["host"] == rows[0]["rtsp_path"] == ""  # no address: GB28181 only
    assert skipped == [Skipped("13012300001180000001", "parental"), Skipped("130123000013100000011", "gb_length"),
                       Skipped("1301230000131000000X", "gb_not_digits"), Skipped("13012300002160000001", "gb_type")]


def test_the_rows_import(tmp_path: Path) -> None:
    entries = [CatalogEntry(f"13012300001310000{n:03d}", f"摄像机{n}", "大华", "IPC", "130123101201", f"点{n}")
               for n in range(1, 4)]
    rows, _ = catalog_rows(entries, REGIONS)
    path = tmp_path / "catalog.csv"
    write_csv(path, headers("zh"), [[r[k] for k in KEYS] for r in rows])
    url = migrated(f"sqlite:///{tmp_path / 'c.db'}")
    out = do_import(url, path)
    assert out.written, [i.render("en") for i in out.plan.issues]
    cams = snapshot(url)["cameras"]
    assert sorted(v[2] for v in cams.values()) == [e.channel_id for e in entries]
