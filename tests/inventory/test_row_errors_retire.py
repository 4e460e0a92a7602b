"""A re-import where some rows have errors: the cameras of those rows are in the file, so the
retire guard does not count them as retired (it reported a mass retirement that was not real,
listed above the row errors); a file that really lists only part of a county still stops, its
row errors first. And a file's rows are counted as the file holds them, errors or not. Real
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from inventory.importer import validate_file
from inventory.messages import Severity
from tests.inventory.helpers import box, do_import, migrated, snapshot, write_csv

HEAD = ["县/区", "乡镇/街道", "村/社区", "点位名称", "国标编码", "IP地址", "RTSP端口", "安装日期"]
N = 10


def _gb(i: int) -> str:
    return f"130123000013200000{i:02d}"


def _rows(keep: int = N) -> list[list[str]]:
    """Ten cameras of one county; the odd ones have a GB ID. The first *keep* of them."""
    return [["示范县", "城关镇", "东村", f"点{i}", _gb(i) if i % 2 else "", f"127.20.0.{i}", "554", "2024-05-01"]
            for i in range(1, keep + 1)]


def _stored(db_url: str, tmp_path: Path) -> dict[str, object]:
    migrated(db_url)
    out = do_import(db_url, write_csv(tmp_path / "all.csv", HEAD, _rows()))
    assert out.written and len(out.plan.camera_new) == N
    return snapshot(db_url)


def test_rows_with_an_error_elsewhere_keep_their_cameras(db_url: str, tmp_path: Path) -> None:
    before = _stored(db_url, tmp_path)
    rows = _rows()
    for r in rows[:6]:
        r[7] = "2024-13-45"  # rows 2-7: a bad date; the camera's identity is sound
    path = write_csv(tmp_path / "dates.csv", HEAD, rows)
    for dry in (True, False):
        out = do_import(db_url, path, retire_guard=0.2, dry_run=dry)
        assert [(e.row, e.code) for e in out.plan.errors] == [(n, "bad_date") for n in range(2, 8)]
        assert out.plan.camera_retired == [] and out.plan.point_retired == []
        assert not out.written and snapshot(db_url) == before
    assert out.plan.rows == N and out.plan.rows_with_errors == 6


def test_rows_with_a_wrong_address_are_found_by_gb_id_or_not_counted(db_url: str, tmp_path: Path) -> None:
    before = _stored(db_url, tmp_path)
    rows = _rows()
    for r in rows[:6]:
        r[5] += ":554"  # rows 2-7: not a host (the port typed into the IP column)
    out = do_import(db_url, write_csv(tmp_path / "hosts.csv", HEAD, rows), retire_guard=0.2)
    assert [(e.row, e.code) for e in out.plan.errors] == [(n, "bad_host") for n in range(2, 8)]
    # cameras 1, 3, 5: found by their GB ID; 2, 4, 6: which stored camera their rows stand for
    # is unknown, so they are not taken for a mass retirement (3 of 10 is over the guard), nor
    # counted as retired at all: three rows may be any three of them (test_import_retired_count.py)
    assert out.plan.camera_retired == [] and out.plan.point_retired == []
    assert snapshot(db_url) == before


def test_a_row_that_fails_across_the_file_keeps_its_camera(db_url: str, tmp_path: Path) -> None:
    _stored(db_url, tmp_path)
    rows = _rows()
    rows[4][4] = rows[2][4]  # row 6 repeats row 4's GB ID: row 6's camera is still in the file
    out = do_import(db_url, write_csv(tmp_path / "dup.csv", HEAD, rows), retire_guard=0.2, dry_run=True)
    assert [(e.row, e.code) for e in out.plan.errors] == [(6, "duplicate_gb_id")]
    assert out.plan.camera_retired == []


def test_a_partial_file_with_row_errors_still_stops_and_says_so_last(db_url: str, tmp_path: Path) -> None:
    before = _stored(db_url, tmp_path)
    rows = _rows(3)
    rows[1][7] = "去年"  # row 3
    rows[2][5] = "127.20.0.3:554"  # row 4: found by its GB ID
    out = do_import(db_url, write_csv(tmp_path / "part.csv", HEAD, rows), retire_guard=0.2)
    assert [(e.row, e.code) for e in out.plan.errors] == [(3, "bad_date"), (4, "bad_host"), (None, "mass_retire")]
    assert out.plan.issues[-1].code == "mass_retire" and "7/10" in out.plan.issues[-1].render()
    assert "7 of 10" in out.plan.issues[-1].render("en")
    assert not out.written and snapshot(db_url) == before


def test_rows_counts_the_files_data_rows_with_errors_or_not(tmp_path: Path) -> None:
    rows = _rows()
    ok = validate_file(write_csv(tmp_path / "ok.csv", HEAD, rows), box())
    assert ok.ok and ok.rows == N and ok.rows_with_errors == 0
    for r in rows:
        r[6] = "0"  # every row: RTSP port out of range
    rows[0][7] = "x"  # row 2 has two errors: one row
    bad = validate_file(write_csv(tmp_path / "bad.csv", HEAD, rows), box())
    assert bad.rows == N and bad.rows_with_errors == N and len(bad.errors) == N + 1
    header = ["县/区", "村/社区", "点位名称", "IP地址"]  # (no township: a header error, not a row's)
    no_col = validate_file(write_csv(tmp_path / "h.csv", header, [r[:1] + r[2:4] + r[5:6] for r in rows]), box())
    assert no_col.rows == N and no_col.rows_with_errors == 0 and [e.code for e in no_col.errors] == ["header_missing"]
    assert all(i.severity is Severity.ERROR for i in bad.issues)
