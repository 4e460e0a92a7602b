"""A password inside a camera's RTSP path (XiongMai ``/user=admin&password=...&channel=1``, or with
``_`` between the parameters; Dahua ``?user=admin&pwd=...``) leaves an export only with
``--include-secrets``; an export written without it imports back without losing the password,
and a masked path that stands for no stored camera is refused. Real SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import zipfile
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select, update

from inventory.db import create_engine
from inventory.importer import validate_file
from inventory.lookup import load_probe_target
from inventory.messages import Severity
from inventory.models import Camera
from probes.base import ProbeResult
from probes.rtsp import probe
from tests.inventory.helpers import box, do_export, do_import, migrated, snapshot, write_csv
from tests.probes.rtsp_servers import ServerConfig, serve_in_thread

HEAD = ["县/区", "乡镇/街道", "村/社区", "点位名称", "摄像机名称", "国标编码", "IP地址", "RTSP端口", "RTSP路径", "用户名", "密码"]
SECRET = "Xm-Path-7731"
PASSWORD = "Cred-5520"
XM = f"/user=admin&password={SECRET}&channel=1&stream=0.sdp"
XM_UNDERSCORE = f"/user=admin_password={SECRET}_channel=1_stream=0.sdp?real_stream"
DAHUA = f"/cam/realmonitor?channel=1&subtype=0&user=admin&pwd={SECRET}"
PLAIN = "/Streaming/Channels/101"
MASKED = {
    XM: "/user=admin&password=***&channel=1&stream=0.sdp",
    XM_UNDERSCORE: "/user=admin_password=***",
    DAHUA: "/cam/realmonitor?channel=1&subtype=0&user=admin&pwd=***",
    PLAIN: PLAIN,
}


def _row(point: str, gb_id: str, host: str, port: int, path: str) -> list[str]:
    return ["示范县", "城关镇", "东关村", point, point, gb_id, host, str(port), path, "admin", PASSWORD]


def _seed(url: str, tmp: Path, xm_port: int = 554) -> dict[tuple[str, int], str]:
    """Four cameras (one with a GB ID, three found by address only); their stored paths by address."""
    rows = [_row("村口", "13012300001320000001", "127.0.0.1", xm_port, XM),
            _row("路口", "", "127.20.0.2", 554, XM_UNDERSCORE),
            _row("学校", "", "127.20.0.3", 554, DAHUA),
            _row("广场", "", "127.20.0.4", 554, PLAIN)]
    out = do_import(migrated(url), write_csv(tmp / "seed.csv", HEAD, rows))
    assert out.written, [i.render() for i in out.plan.errors]
    return {("127.0.0.1", xm_port): XM, ("127.20.0.2", 554): XM_UNDERSCORE, ("127.20.0.3", 554): DAHUA,
            ("127.20.0.4", 554): PLAIN}


def _stored_paths(url: str) -> dict[tuple[str, int], str]:
    async def go() -> dict[tuple[str, int], str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(select(Camera.host, Camera.rtsp_port, Camera.rtsp_path))).all()
        finally:
            await engine.dispose()
        return {(h, p): path for h, p, path in rows}

    return asyncio.run(go())


def _file_text(path: Path) -> str:
    """The file as text: a CSV as it is; an XLSX as its cells, one a line, then every part of the
    workbook as it is stored."""
    if path.suffix == ".csv":
        return path.read_text(encoding="utf-8-sig")
    with zipfile.ZipFile(path) as z:
        blob = b"".join(z.read(n) for n in z.namelist())
    cells = "\n".join(str(v) for row in load_workbook(path).active.iter_rows(values_only=True) for v in row)
    return cells + "\n" + blob.decode("utf-8", "replace")


def _renamed(exported: Path, out: Path, old: str, new: str) -> Path:
    """*exported* (a CSV) with the camera named *old* named *new*."""
    with exported.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index("摄像机名称")
    for r in rows[1:]:
        if r[col] == old:
            r[col] = new
    return write_csv(out, rows[0], rows[1:])


def test_export_masks_a_password_in_the_path_and_include_secrets_keeps_it(db_url: str, tmp_path: Path) -> None:
    _seed(db_url, tmp_path)
    for name in ("plain.csv", "plain.xlsx"):
        p = tmp_path / name
        do_export(db_url, p)
        text = _file_text(p)
        assert SECRET not in text and PASSWORD not in text, name
        for masked in MASKED.values():
            assert masked in text, (name, masked)
    for name in ("secret.csv", "secret.xlsx"):
        p = tmp_path / name
        do_export(db_url, p, include_secrets=True)
        assert p.stat().st_mode & 0o777 == 0o600
        text = _file_text(p)
        for path in (XM, XM_UNDERSCORE, DAHUA):
            assert path in text, (name, path)
        # and that export seeds a fresh database with the real paths
        fresh = f"sqlite:///{tmp_path / (name + '.db')}"
        assert do_import(migrated(fresh), p).written
        assert _stored_paths(fresh) == _stored_paths(db_url)


def test_reimporting_the_masked_export_keeps_the_stored_paths_and_the_probe_works(db_url: str, tmp_path: Path) -> None:
    with serve_in_thread(ServerConfig(auth="digest", user="admin", password=PASSWORD)) as srv:
        stored = _seed(db_url, tmp_path, srv.port)
        before = snapshot(db_url)
        for name in ("masked.csv", "masked.xlsx"):
            p = tmp_path / name
            do_export(db_url, p)
            out = do_import(db_url, p)
            assert out.plan.ok and out.plan.empty and not out.written, [i.render() for i in out.plan.issues]
            assert out.plan.camera_unchanged == 4 and not out.plan.camera_changed
            assert _stored_paths(db_url) == stored  # the real passwords, not ***
            assert snapshot(db_url) == before
        # another cell of the row edited: the stored path stands, only that change is made
        edited = _renamed(tmp_path / "masked.csv", tmp_path / "edited.csv", "路口", "路口东")
        out = do_import(db_url, edited)
        assert out.written and [c.fields for c in out.plan.camera_changed] == [("name",)]
        assert _stored_paths(db_url) == stored
        # the probe takes the stored path: the camera sees the real password in it
        result = asyncio.run(_probe_camera(db_url, "村口"))
        assert result.ok, result.detail
        described = [r.url for r in srv.requests if r.method == "DESCRIBE"]
        assert described and all(u.endswith(XM) for u in described)
        assert SECRET not in repr(result)  # (the result's URL: the path's password masked)


async def _probe_camera(url: str, name: str) -> ProbeResult:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            cid = (await conn.execute(select(Camera.id).where(Camera.name == name))).scalar_one()
        target = await load_probe_target(engine, box(), cid)
    finally:
        await engine.dispose()
    assert SECRET in target.rtsp_path and SECRET not in repr(target)
    return await probe(target)


def test_a_masked_path_for_a_new_camera_or_a_changed_path_is_refused_naming_row_and_column(
        db_url: str, tmp_path: Path) -> None:
    _seed(db_url, tmp_path)
    before = snapshot(db_url)
    rows = [_row("新点", "", "127.20.0.9", 554, MASKED[XM]),  # row 2: a new camera
            _row("学校", "", "127.20.0.3", 554, MASKED[DAHUA].replace("channel=1", "channel=2")),  # row 3: path changed
            _row("村口", "13012300001320000001", "127.0.0.1", 554, MASKED[XM].replace("0.sdp", "1.sdp")),  # row 4: by GB ID
            _row("池塘", "", "127.20.0.10", 554, PLAIN)]  # row 5: fine, yet not written
    out = do_import(db_url, write_csv(tmp_path / "bad.csv", HEAD, rows), retire_missing=False)
    assert not out.written
    assert [(e.row, e.column, e.code) for e in out.plan.errors] == [
        (2, "RTSP路径", "masked_path"), (3, "RTSP路径", "masked_path"), (4, "RTSP路径", "masked_path")]
    zh, en = out.plan.errors[0].render(), out.plan.errors[0].render("en")
    assert zh.startswith("错误：第 2 行，列“RTSP路径”：") and "已在导出时隐去" in zh
    assert en.startswith("error: row 2, column 'RTSP路径': ") and "hidden by an export" in en
    assert snapshot(db_url) == before and _stored_paths(db_url)[("127.20.0.3", 554)] == DAHUA
    # through an RTSP URL column, the error names that column
    head = ["county", "township", "village", "point", "rtsp_url"]
    url_rows = [["示范县", "城关镇", "东关村", "新点", "rtsp://127.20.0.9:554" + MASKED[XM]]]
    out = do_import(db_url, write_csv(tmp_path / "url.csv", head, url_rows), retire_missing=False)
    assert [(e.row, e.column, e.code) for e in out.plan.errors] == [(2, "rtsp_url", "masked_path")]
    assert "column 'rtsp_url'" in out.plan.errors[0].render("en") and SECRET not in out.plan.errors[0].render("en")
    # a masked export into a fresh database: every camera with a password in its path is new there
    exported = tmp_path / "masked.csv"
    do_export(db_url, exported)
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    out = do_import(migrated(fresh), exported)
    assert not out.written and sorted(e.code for e in out.plan.errors) == ["masked_path"] * 3
    assert snapshot(fresh)["cameras"] == {}


def test_a_masked_path_that_fits_two_stored_cameras_is_refused_and_validate_only_warns(
        db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    rows = [_row("一号", "", "127.20.0.5", 554, XM), _row("二号", "", "127.20.0.5", 554, XM.replace(SECRET, "other"))]
    assert do_import(db_url, write_csv(tmp_path / "two.csv", HEAD, rows)).written
    exported = tmp_path / "two-masked.csv"
    do_export(db_url, exported)
    out = do_import(db_url, exported)
    assert not out.written and {e.code for e in out.plan.errors} == {"masked_path_ambiguous"}
    assert "1, 2" in out.plan.errors[0].render("en")
    # inventory validate (no database) cannot settle a masked path: a warning, not an error
    plan = validate_file(exported, box())
    assert plan.ok and [(i.severity, i.code) for i in plan.issues] == [(Severity.WARNING, "masked_path_unchecked")] * 2


def test_a_path_stored_with_the_mask_in_it_imports_back_unchanged(db_url: str, tmp_path: Path) -> None:
    """A path stored with ``password=***`` in it (before imports refused one): its export is that
    path, and it stands for that camera as any other path does."""
    _seed(db_url, tmp_path)

    async def mask_stored() -> None:
        engine = create_engine(db_url)
        try:
            async with engine.begin() as conn:
                await conn.execute(update(Camera).where(Camera.host == "127.20.0.3").values(rtsp_path=MASKED[DAHUA]))
        finally:
            await engine.dispose()

    asyncio.run(mask_stored())
    stored = _stored_paths(db_url)
    exported = tmp_path / "masked.csv"
    do_export(db_url, exported)
    out = do_import(db_url, exported)
    assert out.plan.ok and out.plan.empty and out.plan.camera_unchanged == 4, [i.render() for i in out.plan.issues]
    assert _stored_paths(db_url) == stored
