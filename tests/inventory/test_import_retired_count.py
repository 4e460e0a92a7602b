"""How many cameras a re-import with row errors says it retires (``--json``'s ``cameras.retired``,
and the retire guard, which weigh the same number): only the cameras certainly gone. A row whose
GB ID or address is wrong may be any stored camera the file does not list otherwise: it holds one
back in its county; a row whose identity is sound but new holds nothing back. Real SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from collector.cli.inventory_cmds import plan_json
from inventory.importer import ImportOutcome
from tests.inventory.helpers import do_import, migrated, snapshot, write_csv
from tests.inventory.test_row_errors_retire import HEAD, N, _rows, _stored

HOST, GB, DATE, COUNTY = 5, 4, 7, 0


def _counts(out: ImportOutcome) -> tuple[int, int]:
    """``--json``'s cameras.retired and points.retired."""
    data = plan_json(out.plan, "zh", out.written)
    cameras, points = data["cameras"], data["points"]
    assert isinstance(cameras, dict) and isinstance(points, dict)
    return cameras["retired"], points["retired"]


def test_a_row_whose_identity_is_wrong_claims_no_retirement(db_url: str, tmp_path: Path) -> None:
    before = _stored(db_url, tmp_path)
    rows = _rows()
    rows[1][HOST] = "127.20.0.2:554"  # row 3, 点2 (no GB ID): which camera it is cannot be told
    rows[2][GB], rows[2][HOST] = "1301230000132", "127.20.0.3:554"  # row 4, 点3: nor this one
    path = write_csv(tmp_path / "hosts.csv", HEAD, rows)
    for dry in (True, False):
        out = do_import(db_url, path, retire_guard=0.2, dry_run=dry)
        assert [(e.row, e.code) for e in out.plan.errors] == [(3, "bad_host"), (4, "gb_length"), (4, "bad_host")]
        assert out.plan.camera_retired == [] and out.plan.point_retired == [] and _counts(out) == (0, 0)
        assert not out.written and snapshot(db_url) == before
    rows[1][HOST], rows[2][GB], rows[2][HOST] = "127.20.0.2", "13012300001320000003", "127.20.0.3"
    out = do_import(db_url, write_csv(tmp_path / "fixed.csv", HEAD, rows), retire_guard=0.2)
    assert out.plan.ok and out.plan.empty and _counts(out) == (0, 0)  # (fixed: nothing was gone)


def test_a_partial_file_counts_the_cameras_certainly_gone(db_url: str, tmp_path: Path) -> None:
    before = _stored(db_url, tmp_path)
    rows = _rows(3)
    rows[1][HOST] = "127.20.0.2:554"  # row 3: one of the 8 cameras the file does not list otherwise
    path = write_csv(tmp_path / "part.csv", HEAD, rows)
    out = do_import(db_url, path, retire_guard=0.2)
    assert [(e.row, e.code) for e in out.plan.errors] == [(3, "bad_host"), (None, "mass_retire")]
    assert _counts(out)[0] == len(out.plan.camera_retired) == 7 and "7/10" in out.plan.errors[-1].render()
    assert not out.written and snapshot(db_url) == before
    out = do_import(db_url, path, dry_run=True)  # (no guard: the same count, only the row's error)
    assert [e.code for e in out.plan.errors] == ["bad_host"] and _counts(out)[0] == 7
    rows[1][HOST] = "127.20.0.2"
    out = do_import(db_url, write_csv(tmp_path / "fixed.csv", HEAD, rows), dry_run=True)
    assert out.plan.ok and sorted(r.name for r in out.plan.camera_retired) == sorted(f"点{i}" for i in range(4, N + 1))


def test_a_new_camera_with_an_error_holds_nothing_back(db_url: str, tmp_path: Path) -> None:
    _stored(db_url, tmp_path)
    new = ["示范县", "城关镇", "东村", "点11", "", "127.20.0.11", "554", "2024-13-45"]  # row 7: a bad date
    out = do_import(db_url, write_csv(tmp_path / "new.csv", HEAD, [*_rows(5), new]), retire_guard=0.2, dry_run=True)
    assert [(e.row, e.code) for e in out.plan.errors] == [(7, "bad_date"), (None, "mass_retire")]
    assert sorted(r.name for r in out.plan.camera_retired) == ["点10", "点6", "点7", "点8", "点9"]
    assert _counts(out)[0] == 5 and "5/10" in out.plan.errors[-1].render()  # (the guard said 4/10)
    new[HOST], new[DATE] = "127.20.0.11:554", "2024-05-01"  # its address wrong: it may be any of the five
    out = do_import(db_url, write_csv(tmp_path / "addr.csv", HEAD, [*_rows(5), new]), retire_guard=0.2, dry_run=True)
    assert [(e.row, e.code) for e in out.plan.errors] == [(7, "bad_host"), (None, "mass_retire")]
    assert _counts(out)[0] == 4 and "4/10" in out.plan.errors[-1].render()


def test_a_row_of_no_known_county_holds_back_in_each(db_url: str, tmp_path: Path) -> None:
    rows = _rows()
    for r in rows[5:]:
        r[COUNTY] = "样板县"  # 点6-点10
    migrated(db_url)
    assert do_import(db_url, write_csv(tmp_path / "all.csv", HEAD, rows)).written
    before = snapshot(db_url)
    rows = [list(r) for r in rows[:8]]  # without 点9 and 点10
    rows[1][COUNTY], rows[1][HOST] = "", "127.20.0.2:554"  # row 3, 点2: its county unknown too
    out = do_import(db_url, write_csv(tmp_path / "two.csv", HEAD, rows), dry_run=True)
    assert [(e.row, e.code) for e in out.plan.errors] == [(3, "required"), (3, "bad_host")]
    # 点2 may be the row's (in 示范县) and so may 点10 (in 样板县): of the three, 点9 is certainly gone
    assert [r.name for r in out.plan.camera_retired] == ["点9"] and _counts(out)[0] == 1
    assert snapshot(db_url) == before
