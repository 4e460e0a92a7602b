"""GB28181-only cameras import without an address (their 20-digit GB ID identifies them), while
direct and both still need one; errors name row and field; re-imports match by GB ID; export
writes an empty address and round-trips; such a camera is never probed directly, and
``camwatch probe`` says why."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from collector.cli import build_cli
from inventory.db import create_engine
from inventory.lookup import load_monitored
from inventory.models import Camera
from tests.inventory.helpers import KEY, box, do_export, do_import, migrated, write_csv

HEAD = ["县/区", "乡镇/街道", "村/社区", "点位名称", "摄像机名称", "国标编码", "接入方式", "IP地址"]
NO_HOST = ["县/区", "乡镇/街道", "村/社区", "点位名称", "摄像机名称", "国标编码", "接入方式"]


def _gb(n: int) -> str:
    return f"130123000013200{n:05d}"


def _row(n: int, access: str, host: str = "", gb: str | None = None) -> list[str]:
    return ["示范县", "城关镇", "东关村", f"点{n}", f"摄像机{n}", _gb(n) if gb is None else gb, access, host]


def _cameras(url: str) -> dict[str | None, tuple[str | None, str]]:
    async def go() -> dict[str | None, tuple[str | None, str]]:
        engine = create_engine(url)
        try:
            async with AsyncSession(engine) as s:
                return {g: (h, str(a)) for g, h, a in (await s.execute(select(Camera.gb_id, Camera.host, Camera.access)))}
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_gb28181_only_cameras_need_no_address(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'a.db'}")
    rows = [_row(1, "国标"), _row(2, "国标"), _row(3, "国标", "127.31.0.3"), _row(4, "直连", "127.31.0.4")]
    out = do_import(url, write_csv(tmp_path / "in.csv", HEAD, rows))
    assert out.written, [i.render("en") for i in out.plan.issues]
    assert _cameras(url) == {_gb(1): (None, "gb28181"), _gb(2): (None, "gb28181"), _gb(3): ("127.31.0.3", "gb28181"),
                             _gb(4): ("127.31.0.4", "direct")}
    # the same file again: matched by GB ID, nothing new, nothing changed
    again = do_import(url, write_csv(tmp_path / "in.csv", HEAD, rows))
    assert not again.plan.camera_new and not again.plan.camera_changed and not again.plan.issues
    assert again.plan.camera_unchanged == 4
    # an address given later is taken; a GB28181-only camera renamed keeps its row (GB ID)
    rows[0] = _row(1, "国标", "127.31.0.1")
    rows[1][4] = "改名"
    out = do_import(url, write_csv(tmp_path / "in.csv", HEAD, rows))
    assert out.written and len(out.plan.camera_changed) == 2 and not out.plan.camera_new
    assert _cameras(url)[_gb(1)] == ("127.31.0.1", "gb28181") and _cameras(url)[_gb(2)] == (None, "gb28181")

    async def monitored() -> dict[str | None, bool]:
        engine = create_engine(url)
        try:
            cams, _ = await load_monitored(engine, box())
        finally:
            await engine.dispose()
        return {c.gb_id: c.probed for c in cams}

    assert asyncio.run(monitored()) == {_gb(1): False, _gb(2): False, _gb(3): False, _gb(4): True}


def test_a_file_without_an_address_column(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'a.db'}")
    rows = [r[:-1] for r in (_row(1, "国标"), _row(2, "GB28181"))]
    out = do_import(url, write_csv(tmp_path / "in.csv", NO_HOST, rows))
    assert out.written, [i.render("en") for i in out.plan.issues]
    assert {h for h, _ in _cameras(url).values()} == {None}
    # ... but a direct camera in it is refused, naming its row and the address column
    out = do_import(url, write_csv(tmp_path / "in.csv", NO_HOST, [*rows, _row(3, "直连")[:-1]]))
    assert not out.written
    errors = [i for i in out.plan.issues if i.severity == "error"]
    assert [(i.code, i.row) for i in errors] == [("camera_without_address", 4)]
    # without the access column every camera is direct: the file needs an address column
    out = do_import(url, write_csv(tmp_path / "in.csv", NO_HOST[:-1], [r[:-1] for r in rows]))
    assert not out.written and [i.code for i in out.plan.issues if i.severity == "error"] == ["header_no_address"]


@pytest.mark.parametrize(("access", "gb", "want"), [
    ("直连", None, ("camera_without_address", 2, "IP地址")),
    ("两者", None, ("camera_without_address", 2, "IP地址")),
    ("国标", "", ("access_needs_gb_id", 2, "国标编码")),
])
def test_errors_name_row_and_field(tmp_path: Path, access: str, gb: str | None, want: tuple[str, int, str]) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'a.db'}")
    out = do_import(url, write_csv(tmp_path / "in.csv", HEAD, [_row(1, access, gb=gb)]))
    assert not out.written
    errors = [i for i in out.plan.issues if i.severity == "error"]
    assert [(i.code, i.row, i.column) for i in errors] == [want]
    zh, en = errors[0].render("zh"), errors[0].render("en")
    assert "第 2 行" in zh and "row 2" in en
    if want[0] == "camera_without_address":
        assert "直连或两者" in zh and "GB28181-only" in en


def test_export_round_trip_and_probe_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'a.db'}")
    assert do_import(url, write_csv(tmp_path / "in.csv", HEAD, [_row(1, "国标"), _row(2, "直连", "127.31.0.2")])).written
    out = tmp_path / "out.csv"
    do_export(url, out, lang="zh")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.reader(fh))
    host = table[0].index("IP地址")
    assert sorted(r[host] for r in table[1:]) == ["", "127.31.0.2"]
    url2 = migrated(f"sqlite:///{tmp_path / 'b.db'}")
    assert do_import(url2, out).written
    assert _cameras(url2) == _cameras(url)
    cid = {g: i for g, i in asyncio.run(_ids(url)).items()}[_gb(1)]
    monkeypatch.setenv("CAMWATCH_SECRET_KEY", KEY)
    r = CliRunner().invoke(build_cli(), ["--db", url, "--lang", "en", "probe", str(cid)])
    assert r.exit_code != 0 and "only over GB/T 28181" in r.output, r.output


async def _ids(url: str) -> dict[str | None, int]:
    engine = create_engine(url)
    try:
        async with AsyncSession(engine) as s:
            return {g: i for i, g in (await s.execute(select(Camera.id, Camera.gb_id)))}
    finally:
        await engine.dispose()
