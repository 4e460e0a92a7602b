"""What a collector keeps per camera from the inventory: shared labels and texts, resolved secrets."""

from __future__ import annotations

import asyncio
from pathlib import Path

from inventory.db import create_engine
from inventory.lookup import load_monitored
from tests.inventory.helpers import box, do_import, migrated

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "sample_inventory.csv"


def test_cameras_of_a_village_share_one_labels_object_and_texts(db_url: str) -> None:
    do_import(migrated(db_url), SAMPLE)

    async def go() -> None:
        eng = create_engine(db_url)
        try:
            cams, _ = await load_monitored(eng, box())
        finally:
            await eng.dispose()
        by_village: dict[str, list] = {}
        for c in cams:
            by_village.setdefault(c.labels.village, []).append(c)
        assert len(cams) > len(by_village) >= 2
        for village, group in by_village.items():
            assert village and group[0].labels.township and group[0].labels.county_name
            assert all(c.labels is group[0].labels for c in group)  # one object per village
        paths: dict[str, object] = {}
        for c in cams:
            t = c.target
            assert t.password == "admin123"  # decrypted for probing
            assert paths.setdefault(t.rtsp_path, t.rtsp_path) is t.rtsp_path  # equal paths: one string
        users = {id(c.target.username) for c in cams if c.target.username == "admin"}
        assert len(users) == 1

    asyncio.run(go())
