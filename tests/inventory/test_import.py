"""Inventory import and export against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from inventory.messages import Severity
from inventory.secrets import SecretBox
from tests.inventory.helpers import (
    box,
    do_export,
    do_import,
    migrated,
    raw_credentials,
    snapshot,
    write_csv,
    write_xlsx,
)

ZH = ["县/区代码", "县/区", "乡镇/街道代码", "乡镇/街道", "村/社区代码", "村/社区", "点位名称", "点位类型",
      "是否规划", "经度", "纬度", "摄像机名称", "国标编码", "IP地址", "RTSP端口", "RTSP路径", "ONVIF端口",
      "用户名", "密码", "厂商", "型号", "运维单位", "状态", "上联设备", "安装日期"]
PASSWORD = "Hk#Secret-9931"

# 䶮 is in GB18030 but not in GBK: the file must be decoded as GB18030.
ROWS = [
    ["130123", "示范县", "130123101", "城关镇", "130123101201", "东关村", "村口", "出入口", "是", "114.25", "38.11",
     "东关村村口", "13012300001320000001", "127.20.0.1", "554", "/Streaming/Channels/101", "80", "admin", PASSWORD,
     "海康威视", "DS-2CD3T46", "示范县运维公司", "在用", "东关村交换机@127.21.0.1", "2023-05-01"],
    ["130123", "示范县", "130123101", "城关镇", "130123101201", "东关村", "村口", "出入口", "是", "114.25", "38.11",
     "东关村村口2", "", "127.20.0.2", "", "/h264", "", "admin", PASSWORD, "大华", "", "", "", "东关村交换机@127.21.0.1", ""],
    ["130123", "示范县", "130123101", "城关镇", "130123101202", "䶮家庄", "学校门口", "学校", "是", "", "",
     "䶮家庄学校", "13012300001320000003", "127.20.0.3", "8554", "/live", "8000", "admin", PASSWORD, "", "", "", "维护", "", "2022/01/09"],
    # a planned point not yet built
    ["130123", "示范县", "130123101", "城关镇", "130123101202", "䶮家庄", "池塘", "水域", "是", "", "",
     "", "", "", "", "", "", "", "", "", "", "", "", "", ""],
    # a township and village with names only: codes are derived
    ["130123", "示范县", "", "新华乡", "", "前进村", "广场", "", "否", "", "",
     "前进村广场", "", "cam-7.example", "", "", "", "", "", "", "", "", "", "", ""],
]


def _write_zh(tmp: Path, rows: list[list[str]] | None = None, encoding: str = "gb18030") -> Path:
    return write_csv(tmp / "inventory.csv", ZH, ROWS if rows is None else rows, encoding)


def test_gb18030_chinese_csv_imports_everything(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    path = _write_zh(tmp_path)
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("gbk")  # the fixture really needs GB18030
    out = do_import(db_url, path)
    assert out.written and out.plan.ok, [i.render() for i in out.plan.errors]
    snap = snapshot(db_url)
    assert snap["regions"]["130123000000"] == ("示范县", "county", None, False)
    assert snap["regions"]["130123101202"][0] == "䶮家庄"
    derived = [c for c, r in snap["regions"].items() if r[0] in ("新华乡", "前进村")]
    assert len(derived) == 2 and all(snap["regions"][c][3] for c in derived)
    assert len(snap["points"]) == 4
    assert snap["points"][("130123101202", "池塘")] == ("水域", None, None, True, False)
    assert len(snap["cameras"]) == 4
    cam = snap["cameras"][("127.20.0.1", 554, "/Streaming/Channels/101")]
    assert cam[1:6] == ("东关村村口", "13012300001320000001", 80, "admin", PASSWORD)
    assert cam[13] == ("东关村交换机", "127.21.0.1") and cam[14] == dt.date(2023, 5, 1)
    assert snap["cameras"][("127.20.0.3", 8554, "/live")][12] == "maintenance"
    assert snap["cameras"][("cam-7.example", 554, "/")][0] == (derived[1] if snap["regions"][derived[1]][0] == "前进村" else derived[0], "广场")
    assert snap["devices"] == {("东关村交换机", "127.21.0.1")}
    # passwords are encrypted at rest
    refs = raw_credentials(db_url)
    assert all(r is None or (r.startswith("enc:") and PASSWORD not in r) for r in refs)


def test_reimport_changes_nothing(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    path = _write_zh(tmp_path)
    do_import(db_url, path)
    before = snapshot(db_url)
    again = do_import(db_url, path)
    assert again.plan.ok and again.plan.empty and not again.written
    assert again.plan.camera_unchanged == 4
    assert snapshot(db_url) == before


def test_xlsx_with_english_headers_and_rtsp_url(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    headers = ["county", "township", "village", "point", "name", "gb_id", "rtsp_url", "lon", "lat", "installed_on"]
    rows = [
        ["Demo County", "North Town", "Elm Village", "gate", "gate cam", "13012300001320000009",
         "rtsp://admin:p%40ss@127.20.0.9:8554/ch1", 114.5, 38.2, dt.datetime(2024, 3, 2)],
        ["Demo County", "North Town", "Elm Village", "well", "", "", "", "", "", ""],
    ]
    out = do_import(db_url, write_xlsx(tmp_path / "inv.xlsx", headers, rows))
    assert out.written, [i.render("en") for i in out.plan.errors]
    cams = snapshot(db_url)["cameras"]
    cam = cams[("127.20.0.9", 8554, "/ch1")]
    assert cam[1] == "gate cam" and cam[4] == "admin" and cam[5] == "p@ss" and cam[14] == dt.date(2024, 3, 2)
    assert len(snapshot(db_url)["points"]) == 2


def test_xlsx_date_in_a_number_cell_is_excels_serial(tmp_path: Path) -> None:
    """A date column formatted as General shows (and stores) Excel's serial: 45413 is 2024-05-01;
    a number spelled YYYYMMDD stays a date as written; a text "45413" is not taken for one."""
    url = migrated(f"sqlite:///{tmp_path / 'serial.db'}")
    headers = ["县/区", "乡镇/街道", "村/社区", "点位名称", "IP地址", "安装日期"]
    rows: list[list[object]] = [["示范县", "城关镇", "东关村", "村口", "127.20.0.1", 45413],
            ["示范县", "城关镇", "东关村", "路口", "127.20.0.2", 45413.75],
            ["示范县", "城关镇", "东关村", "学校", "127.20.0.3", 20240502]]
    out = do_import(url, write_xlsx(tmp_path / "inv.xlsx", headers, rows))
    assert out.written, [i.render("en") for i in out.plan.errors]
    cams = snapshot(url)["cameras"]
    assert [cams[(f"127.20.0.{i}", 554, "/")][14] for i in (1, 2, 3)] == [
        dt.date(2024, 5, 1), dt.date(2024, 5, 1), dt.date(2024, 5, 2)]
    text = write_csv(tmp_path / "inv.csv", headers, [["示范县", "城关镇", "东关村", "村口", "127.20.0.1", "45413"]])
    assert [e.code for e in do_import(url, text, dry_run=True).plan.errors] == ["bad_date"]


def test_xlsx_numeric_gb_id_is_an_error(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    headers = ["county", "township", "village", "point", "gb_id", "host"]
    rows = [["C", "T", "V", "p", 13012300001320000001.0, "127.0.0.5"]]
    out = do_import(db_url, write_xlsx(tmp_path / "inv.xlsx", headers, rows))
    assert not out.written
    assert [(e.row, e.column, e.code) for e in out.plan.errors] == [(2, "gb_id", "number_gb_id")]


def test_csv_gb_id_saved_by_excel_in_scientific_form_says_so(db_url: str, tmp_path: Path) -> None:
    """A CSV that Excel saved turns a 20-digit GB ID into "1.30123E+19": the same message as a
    numeric cell of a workbook (format the column as text), not the generic one."""
    migrated(db_url)
    headers = ["county", "township", "village", "point", "gb_id", "host"]
    rows = [["C", "T", "V", "p", "1.30123E+19", "127.0.0.5"], ["C", "T", "V", "q", "13012300001320000002", "127.0.0.6"]]
    out = do_import(db_url, write_csv(tmp_path / "inv.csv", headers, rows))
    assert not out.written
    assert [(e.row, e.column, e.code) for e in out.plan.errors] == [(2, "gb_id", "number_gb_id")]
    assert "format the column as text" in out.plan.errors[0].render("en")


def test_export_round_trip_is_exact(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    do_import(db_url, _write_zh(tmp_path))
    original = snapshot(db_url)
    for name in ("export.csv", "export.xlsx"):
        exported = tmp_path / name
        exported.write_bytes(b"an older export")
        exported.chmod(0o644)
        do_export(db_url, exported, include_secrets=True)
        assert exported.stat().st_mode & 0o777 == 0o600  # (passwords in clear text: the owner's only)
        # into the same database: nothing changes
        same = do_import(db_url, exported)
        assert same.plan.ok and same.plan.empty, (name, [i.render() for i in same.plan.issues])
        # into a fresh database: the same inventory
        fresh = f"sqlite:///{tmp_path / (name + '.db')}"
        migrated(fresh)
        assert do_import(fresh, exported).written
        assert snapshot(fresh) == original
        # and exporting again gives the same file content
        again = tmp_path / ("again-" + name)
        do_export(fresh, again, include_secrets=True)
        if name.endswith(".csv"):
            assert again.read_bytes() == exported.read_bytes()


def test_export_never_contains_passwords_by_default(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    do_import(db_url, _write_zh(tmp_path))
    for name in ("plain.csv", "plain.xlsx"):
        p = tmp_path / name
        do_export(db_url, p)
        if name.endswith(".csv"):
            text = p.read_text(encoding="utf-8-sig")
            assert PASSWORD not in text and "密码" not in text.splitlines()[0]
        else:
            import zipfile

            with zipfile.ZipFile(p) as z:
                blob = b"".join(z.read(n) for n in z.namelist())
            assert PASSWORD.encode() not in blob
        # re-importing the password-less export keeps the stored passwords
        assert do_import(db_url, p).plan.empty
    assert snapshot(db_url)["cameras"][("127.20.0.1", 554, "/Streaming/Channels/101")][5] == PASSWORD


def test_bad_rows_write_nothing_and_each_is_named(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    do_import(db_url, _write_zh(tmp_path))
    before = snapshot(db_url)
    rows = [list(r) for r in ROWS]
    rows[0][13] = "300.1.2.3"            # row 2: bad host
    rows[1][14] = "99999"                # row 3: bad port
    rows[2][12] = "1301230000132000003"  # row 4: 19-digit GB ID
    rows[2][9] = "east"                  # row 4: bad longitude too
    rows[4][4] = "130199101201"          # row 6: village outside its county (township derived) -> hierarchy
    rows.append(["130123", "示范县", "130123101", "城关镇", "130123101299", "新村", "路口", "", "也许", "", "",
                 "新村路口", "", "127.20.0.50", "", "", "", "", "", "", "", "", "", "", ""])  # row 7: bad bool
    out = do_import(db_url, _write_zh(tmp_path, rows))
    assert not out.written
    got = {(e.row, e.column, e.code) for e in out.plan.errors}
    assert got >= {
        (2, "IP地址", "bad_host"), (3, "RTSP端口", "bad_port"), (4, "国标编码", "gb_length"),
        (4, "经度", "bad_float"), (7, "是否规划", "bad_bool"),
    }, got
    assert any(e.row == 6 for e in out.plan.errors)
    # every message names its row and column in Chinese by default
    assert all(f"第 {e.row} 行" in e.render() for e in out.plan.errors if e.row)
    assert snapshot(db_url) == before


@pytest.mark.parametrize(
    ("county_code", "township_code", "village_code", "col", "code"),
    [
        ("130123", "130124101", "130124101201", "乡镇/街道代码", "region_parent_mismatch"),
        ("130123", "130123101", "130123102201", "村/社区代码", "region_parent_mismatch"),
        ("130123", "130123101", "130123101", "村/社区代码", "region_code_length"),
        ("130123101", "130123101", "130123101201", "县/区代码", "region_code_length"),
        ("130123", "130123101000", "130123101000", "村/社区代码", "region_code_level"),
        ("130123", "130123101", "13012310120a", "村/社区代码", "region_code_invalid"),
    ],
)
def test_hierarchy_errors(tmp_path: Path, county_code: str, township_code: str, village_code: str, col: str, code: str) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'h.db'}")
    row = ["", "示范县", "", "城关镇", "", "东关村", "村口", "", "", "", "", "", "", "127.0.0.9", "", "", "", "", "", "", "", "", "", "", ""]
    row[0], row[2], row[4] = county_code, township_code, village_code
    out = do_import(url, _write_zh(tmp_path, [row]))
    assert not out.written
    assert (2, col, code) in {(e.row, e.column, e.code) for e in out.plan.errors}


def test_same_code_two_names_and_duplicate_cameras(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'd.db'}")
    rows = [list(ROWS[0]), list(ROWS[0]), list(ROWS[2])]
    rows[1][5] = "西关村"          # same village code, another name
    rows[2][13] = rows[0][13]      # same address as row 2
    rows[2][14], rows[2][15] = rows[0][14], rows[0][15]
    rows[2][12] = rows[0][12]      # and the same GB ID
    out = do_import(url, _write_zh(tmp_path, rows))
    codes = {(e.row, e.code) for e in out.plan.errors}
    assert (3, "region_name_conflict") in codes
    assert (4, "duplicate_gb_id") in codes and (4, "duplicate_address") in codes
    assert not out.written


def test_gb_id_county_mismatch_is_a_warning(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'w.db'}")
    row = list(ROWS[0])
    row[12] = "13010200001320000001"  # centre code of another county
    out = do_import(url, _write_zh(tmp_path, [row]))
    assert out.written
    warn = [i for i in out.plan.issues if i.severity is Severity.WARNING]
    assert [(w.row, w.code) for w in warn] == [(2, "gb_county_mismatch")]


def test_missing_cameras_are_retired_and_dry_run_writes_nothing(db_url: str, tmp_path: Path) -> None:
    migrated(db_url)
    do_import(db_url, _write_zh(tmp_path))
    before = snapshot(db_url)
    smaller = [r for r in ROWS if r[13] != "127.20.0.2"]
    dry = do_import(db_url, _write_zh(tmp_path, smaller), dry_run=True)
    assert [r.detail for r in dry.plan.camera_retired] == ["127.20.0.2:554/h264"]
    assert not dry.written and snapshot(db_url) == before
    keep = do_import(db_url, _write_zh(tmp_path, smaller), retire_missing=False)
    assert keep.plan.empty
    done = do_import(db_url, _write_zh(tmp_path, smaller))
    assert done.written
    assert snapshot(db_url)["cameras"][("127.20.0.2", 554, "/h264")][12] == "retired"
    # the retired camera comes back when the file lists it again
    back = do_import(db_url, _write_zh(tmp_path))
    assert [c.fields for c in back.plan.camera_changed] == [("lifecycle",)]


def test_camera_matched_by_gb_id_moves_address(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'm.db'}")
    do_import(url, _write_zh(tmp_path))
    rows = [list(r) for r in ROWS]
    rows[0][13] = "127.20.0.101"  # re-addressed; the GB ID identifies it
    out = do_import(url, _write_zh(tmp_path, rows))
    assert [c.fields for c in out.plan.camera_changed] == [("host",)] and not out.plan.camera_new
    assert ("127.20.0.101", 554, "/Streaming/Channels/101") in snapshot(url)["cameras"]


def test_utf8_and_bom_and_missing_columns(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'u.db'}")
    for enc in ("utf-8", "utf-8-sig"):
        p = write_csv(tmp_path / f"{enc}.csv", ["县", "乡镇", "村", "点位", "IP"], [["示范县", "城关镇", "东关村", "村口", "127.0.0.8"]], enc)
        out = do_import(url, p)
        assert out.plan.ok
    bad = write_csv(tmp_path / "nohead.csv", ["县", "村", "IP"], [["示范县", "东关村", "127.0.0.8"]])
    out = do_import(url, bad)
    assert [e.code for e in out.plan.errors] == ["header_missing"]
    assert "乡镇/街道" in out.plan.errors[0].render()


def test_passwords_need_a_key(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'k.db'}")
    out = do_import(url, _write_zh(tmp_path), secret=SecretBox(None))
    assert [e.code for e in out.plan.errors] == ["no_secret_key"] and not out.written
    rows = [list(r) for r in ROWS]
    for r in rows:
        if r[18]:
            r[18] = "env:CAM_PASS"
    ok = do_import(url, _write_zh(tmp_path, rows), secret=SecretBox(None))
    assert ok.written and set(raw_credentials(url)) == {"env:CAM_PASS", None}


def test_changed_password_detected_without_leaking(tmp_path: Path) -> None:
    url = migrated(f"sqlite:///{tmp_path / 'p.db'}")
    do_import(url, _write_zh(tmp_path))
    rows = [list(r) for r in ROWS]
    rows[0][18] = "new-password-77"
    out = do_import(url, _write_zh(tmp_path, rows), dry_run=True)
    assert [c.fields for c in out.plan.camera_changed] == [("password",)]
    assert "new-password-77" not in repr(out.plan) and PASSWORD not in repr(out.plan)


def test_validate_file_csv_rows(tmp_path: Path) -> None:
    from inventory.importer import validate_file

    plan = validate_file(_write_zh(tmp_path), box())
    assert plan.ok and len(plan.camera_new) == 4 and len(plan.point_new) == 4
    with (tmp_path / "garbage.csv").open("wb") as fh:
        fh.write(b"\xff\xfe\x00garbage\x81\x30")
    bad = validate_file(tmp_path / "garbage.csv", box())
    assert [e.code for e in bad.errors] == ["file_encoding"]


def test_sample_inventory_in_config_is_valid() -> None:
    from inventory.importer import validate_file

    sample = Path(__file__).resolve().parents[2] / "config" / "sample_inventory.csv"
    plan = validate_file(sample, box())
    assert plan.ok and not plan.issues, [i.render() for i in plan.issues]
    assert len(plan.camera_new) > 20
    with sample.open(encoding="utf-8-sig") as fh:
        assert next(csv.reader(fh))[0] == "县/区代码"
