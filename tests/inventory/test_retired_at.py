"""A camera's retirement time (``retired_at``) on real SQLite and PostgreSQL: set when an import
retires it, kept when a later import changes something else of the still-retired camera (the
accounting cuts the camera's time there: moving it later would count the time between as not
watched), set anew when the camera is back in service and retired again."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from pathlib import Path

from sqlalchemy import select

from inventory.db import create_engine
from inventory.models import Camera
from tests.inventory.helpers import do_import, migrated

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "sample_inventory.csv"
GB = "13012300001320000001"  # the sample's first camera


def _with(dest: Path, lifecycle: str, name: str) -> Path:
    lines = SAMPLE.read_text(encoding="utf-8-sig").splitlines()
    head = lines[0].split(",")
    out = [lines[0]]
    for line in lines[1:]:
        row = line.split(",")
        if row[head.index("国标编码")] == GB:
            row[head.index("状态")], row[head.index("摄像机名称")] = lifecycle, name
        out.append(",".join(row))
    dest.write_text("\n".join(out) + "\n", encoding="utf-8-sig")
    return dest


def _camera(url: str) -> tuple[str, str, dt.datetime | None]:
    async def go() -> tuple[str, str, dt.datetime | None]:
        engine = create_engine(url)
        try:
            async with engine.connect() as c:
                row = (await c.execute(select(Camera.lifecycle, Camera.name, Camera.retired_at)
                                       .where(Camera.gb_id == GB))).one()
                return str(row[0]), str(row[1]), row[2]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_a_still_retired_camera_keeps_its_retirement_time(db_url: str, tmp_path: Path) -> None:
    url = migrated(db_url)
    assert do_import(url, SAMPLE).written
    assert _camera(url)[2] is None
    assert do_import(url, _with(tmp_path / "a.csv", "退役", "大前村1村口")).written
    state, _, retired = _camera(url)
    assert state == "retired" and retired is not None
    time.sleep(0.05)  # (a later import's time differs)
    out = do_import(url, _with(tmp_path / "b.csv", "退役", "大前村1村口（已拆）"))
    assert out.written
    assert _camera(url) == ("retired", "大前村1村口（已拆）", retired)  # renamed, retired when it was
    assert do_import(url, _with(tmp_path / "c.csv", "在用", "大前村1村口")).written
    assert _camera(url)[0] == "active" and _camera(url)[2] is None
    time.sleep(0.05)
    assert do_import(url, _with(tmp_path / "d.csv", "退役", "大前村1村口")).written
    again = _camera(url)[2]
    assert again is not None and again > retired
